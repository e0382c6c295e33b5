// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: pcap-filter expressions (--filter) as nethook compiles
 * them for the kernel (at most 64 instructions, or a coarser program and
 * the exact one for user space), then matched against a packet.  Input:
 * the expression, a NUL byte, the packet.  libpcap looks up in DNS
 * whatever it takes for a host name (even "192"): the target first moves
 * into a network namespace of its own, with no way out, so that no query
 * leaves the machine and each fails at once; and a word that is not one
 * of pcap-filter's becomes a number.
 */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include "fuzz.h"
#include "nh_pcapf.h"

static const char *const words[] = {
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "host", "net", "port",
	"portrange", "src", "dst", "and", "or", "not", "less", "greater",
	"proto", "len", "mask", "broadcast", "multicast", "vlan", "inbound",
	"outbound", "tcpflags", "tcp-syn", "tcp-ack", "tcp-fin", "tcp-rst",
	"icmptype", "icmp-echo", "http", "https", "domain", "ssh", "sctp",
};

/* Words pcap-filter knows stay; any other becomes "7". */
static void no_names(const char *e, char *out, size_t cap)
{
	size_t o = 0, i, k;
	char w[32];

	while (*e && o + sizeof(w) < cap) {
		if (!isalpha((unsigned char)*e)) {
			out[o++] = *e++;
			continue;
		}
		for (k = 0; (isalnum((unsigned char)e[k]) || e[k] == '-') &&
			    k < sizeof(w) - 1;
		     k++)
			w[k] = e[k];
		w[k] = '\0';
		e += k;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (!strcmp(w, words[i]))
				break;
		if (i == sizeof(words) / sizeof(words[0])) {
			out[o++] = '7';
			continue;
		}
		memcpy(out + o, w, k);
		o += k;
	}
	out[o] = '\0';
}

/* No route anywhere: a user namespace lets an unprivileged run have a
 * network namespace too. */
static void no_network(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	CHECK(!unshare(CLONE_NEWNET) || !unshare(CLONE_NEWUSER | CLONE_NEWNET));
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const uint8_t *nul = memchr(d, 0, n);
	struct nh_pcapf_prog *exact = NULL;
	char text[256], expr[256], code[4096], err[256];
	size_t elen = nul ? (size_t)(nul - d) : n;
	int r, ninsns = 0;

	no_network();
	fuzz_text_copy(text, sizeof(text), d, elen);
	no_names(text, expr, sizeof(expr));
	r = nh_pcapf_plan(expr, code, sizeof(code), &ninsns, &exact, err,
			  sizeof(err));
	CHECK(r == 0 || r == 1 || r == -EINVAL || r == -ENOSPC ||
	      r == -ENOMEM);
	if (r < 0) {
		CHECK(r != -EINVAL || err[0]);
		return 0;
	}
	CHECK(ninsns >= 1 && ninsns <= 64);
	CHECK((r == 1) == (exact != NULL));
	if (exact && nul) {
		r = nh_pcapf_match(exact, nul + 1, n - elen - 1);
		CHECK(r == 0 || r == 1);
	}
	nh_pcapf_prog_free(exact);
	return 0;
}
