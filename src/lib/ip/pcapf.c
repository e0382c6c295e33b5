// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pcap-filter expressions for raw IP: libpcap compiles them (DLT_RAW),
 * xt_bpf runs them in the kernel, pcap_offline_filter() in user space.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nh_pcapf.h"

struct nh_pcapf_prog {
	struct bpf_program bpf;
};

/* older libpcap's compiler kept global state: one compile at a time */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static void set_err_count(char *err, size_t errlen, int n)
{
	if (err && errlen)
		snprintf(err, errlen,
			 "the filter needs %d classic BPF instructions; "
			 "xt_bpf takes at most 64",
			 n);
}

int nh_pcapf_prog_new(const char *expr, struct nh_pcapf_prog **out, char *err,
		      size_t errlen)
{
	struct nh_pcapf_prog *prog;
	pcap_t *p;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return -ENOMEM;
	pthread_mutex_lock(&compile_lock);
	p = pcap_open_dead(DLT_RAW, 65535);
	if (!p) {
		pthread_mutex_unlock(&compile_lock);
		free(prog);
		return -ENOMEM;
	}
	r = pcap_compile(p, &prog->bpf, expr ? expr : "", 1,
			 PCAP_NETMASK_UNKNOWN);
	if (r)
		set_err(err, errlen, pcap_geterr(p));
	pcap_close(p);
	pthread_mutex_unlock(&compile_lock);
	if (r) {
		free(prog);
		return -EINVAL;
	}
	*out = prog;
	return 0;
}

void nh_pcapf_prog_free(struct nh_pcapf_prog *prog)
{
	if (!prog)
		return;
	pcap_freecode(&prog->bpf);
	free(prog);
}

int nh_pcapf_prog_len(const struct nh_pcapf_prog *prog)
{
	return prog ? (int)prog->bpf.bf_len : -EINVAL;
}

int nh_pcapf_prog_bytecode(const struct nh_pcapf_prog *prog, char *buf,
			   size_t len)
{
	const struct bpf_insn *in;
	size_t off;
	unsigned int i;
	int n;

	if (!prog || !buf || !len)
		return -EINVAL;
	n = snprintf(buf, len, "%u", prog->bpf.bf_len);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = (size_t)n;
	for (i = 0; i < prog->bpf.bf_len; i++) {
		in = &prog->bpf.bf_insns[i];
		n = snprintf(buf + off, len - off, ",%u %u %u %u", in->code,
			     in->jt, in->jf, in->k);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return 0;
}

int nh_pcapf_match(const struct nh_pcapf_prog *prog, const uint8_t *pkt,
		   size_t len)
{
	struct pcap_pkthdr h;

	if (!prog || (!pkt && len) || len > UINT32_MAX)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	h.caplen = h.len = (uint32_t)len;
	return pcap_offline_filter(&prog->bpf, &h, pkt) ? 1 : 0;
}

int nh_pcapf_compile(const char *expr, char *bytecode, size_t len, int *ninsns,
		     char *err, size_t errlen)
{
	struct nh_pcapf_prog *prog;
	int r, n;

	if (ninsns)
		*ninsns = 0;
	if (!bytecode || !len)
		return -EINVAL;
	bytecode[0] = '\0';
	r = nh_pcapf_prog_new(expr, &prog, err, errlen);
	if (r)
		return r;
	n = nh_pcapf_prog_len(prog);
	if (ninsns)
		*ninsns = n;
	if (n > NH_PCAPF_MAX_INSNS) {
		set_err_count(err, errlen, n);
		r = -E2BIG;
	} else {
		r = nh_pcapf_prog_bytecode(prog, bytecode, len);
	}
	nh_pcapf_prog_free(prog);
	return r;
}

/* ---- coarser kernel programs ---- */

static int is_word_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '(';
}

/*
 * The top-level operators of expr (outside parentheses): their start and
 * end offsets and whether each is an "and".  pcap's "and" and "or" have
 * equal precedence and group to the left, so expr is
 * ((X1 op1 X2) op2 X3) ...  Returns the operator count, -1 when over max.
 */
static int top_ops(const char *e, int *start, int *end, int *is_and, int max)
{
	int depth = 0, n = 0, i, w;

	for (i = 0; e[i]; i++) {
		char c = e[i];
		int prev_ok = i == 0 || e[i - 1] == ' ' || e[i - 1] == '\t' ||
			      e[i - 1] == '\n' || e[i - 1] == ')';

		if (c == '(') {
			depth++;
			continue;
		}
		if (c == ')') {
			depth--;
			continue;
		}
		if (depth)
			continue;
		w = 0;
		if (!strncmp(e + i, "&&", 2) || !strncmp(e + i, "||", 2))
			w = 2;
		else if (prev_ok && !strncmp(e + i, "and", 3) &&
			 is_word_end(e[i + 3]))
			w = 3;
		else if (prev_ok && !strncmp(e + i, "or", 2) &&
			 is_word_end(e[i + 2]))
			w = 2;
		if (!w)
			continue;
		if (n == max)
			return -1;
		start[n] = i;
		end[n] = i + w;
		is_and[n] = c == 'a' || c == '&';
		n++;
		i += w - 1;
	}
	return n;
}

/* bytecode for the text e[a..b) when it compiles within 64 instructions */
static int try_part(const char *e, int a, int b, char *bytecode, size_t len,
		    int *ninsns)
{
	char *part = strndup(e + a, (size_t)(b - a));
	int r;

	if (!part)
		return -ENOMEM;
	r = nh_pcapf_compile(part, bytecode, len, ninsns, NULL, 0);
	free(part);
	return r;
}

#define NH_PCAPF_MAX_OPS 64

int nh_pcapf_plan(const char *expr, char *bytecode, size_t len, int *ninsns,
		  struct nh_pcapf_prog **exact, char *err, size_t errlen)
{
	int start[NH_PCAPF_MAX_OPS], end[NH_PCAPF_MAX_OPS];
	int is_and[NH_PCAPF_MAX_OPS];
	int r, n, k, first, elen;

	if (!exact)
		return -EINVAL;
	*exact = NULL;
	r = nh_pcapf_compile(expr, bytecode, len, ninsns, err, errlen);
	if (r != -E2BIG)
		return r;
	r = nh_pcapf_prog_new(expr, exact, err, errlen);
	if (r)
		return r;
	if (err && errlen)
		err[0] = '\0';
	elen = (int)strlen(expr);
	n = top_ops(expr, start, end, is_and, NH_PCAPF_MAX_OPS);
	/* the trailing run of "and"s: ops first..n-1 */
	first = n;
	while (first > 0 && is_and[first - 1])
		first--;
	/* the longest left side first: X1 .. Xk */
	for (k = n - 1; n > 0 && k >= first; k--) {
		r = try_part(expr, 0, start[k], bytecode, len, ninsns);
		if (r == 0)
			return 1;
		if (r != -E2BIG && r != -EINVAL)
			goto fail;
	}
	/* one operand of the trailing "and"s */
	for (k = n - 1; n > 0 && k >= first; k--) {
		r = try_part(expr, end[k], k + 1 < n ? start[k + 1] : elen,
			     bytecode, len, ninsns);
		if (r == 0)
			return 1;
		if (r != -E2BIG && r != -EINVAL)
			goto fail;
	}
	r = nh_pcapf_compile("", bytecode, len, ninsns, err, errlen);
	if (r == 0)
		return 1;
fail:
	nh_pcapf_prog_free(*exact);
	*exact = NULL;
	return r;
}
