// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The filters: nh_ipf_addv4/v6 and nh_ipf_remove.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "nh_ip.h"
#include "nh_pcapf.h"

/* ---- filters ---- */

/* The first layout with sz: what a caller must give at least. */
#define IPF_FILTER_SZ0 \
	(offsetof(struct nh_ipf_filter, match) + sizeof(const char *))

static int add_filter(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
		      nh_ipfilter_t *ref, int family)
{
	struct nh_ipf_state *st;
	struct nh_ipfilter *f, **pp;
	bool used[IPF_MAX_FILTERS] = { false };
	char err_txt[256] = "";
	int err, n = 0, ninsns = 0, slot;

	if (!ctx || !filter || !ref || filter->sz < IPF_FILTER_SZ0 ||
	    (!filter->ipf_input && !filter->ipf_output))
		return nh_err(-EINVAL);
	err = nh_ipf_state_get(ctx, &st);
	if (!err)
		err = nh_ipf_engine_start(st);
	if (err)
		return nh_err(err);
	for (f = st->filters; f; f = f->next)
		if (!f->removed && f->slot >= 0)
			used[f->slot] = true;
	for (slot = 0; slot < IPF_MAX_FILTERS && used[slot]; slot++)
		;
	if (slot == IPF_MAX_FILTERS) {
		nh_logf(st->lg, LOG_ERR,
			"IP filter %s: at most %d filters per context",
			filter->name ? filter->name : "?", IPF_MAX_FILTERS);
		return nh_err(-ENOSPC);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return nh_err(-ENOMEM);
	f->st = st;
	f->f = *filter;
	f->family = family;
	f->slot = slot;
	f->name = filter->name ? strdup(filter->name) : NULL;
	f->match = filter->match && *filter->match ? strdup(filter->match) :
						     NULL;
	if (f->name && (strchr(f->name, '"') || strchr(f->name, '\n'))) {
		free(f->name);
		f->name = NULL;
	}
	if (f->match) {
		struct nh_pcapf_prog *exact = NULL;

		err = nh_pcapf_plan(f->match, f->bytecode, sizeof(f->bytecode),
				    &ninsns, &exact, err_txt, sizeof(err_txt));
		if (err == 1) {
			/* over xt_bpf's 64 instructions: a coarser kernel
			 * match, the exact one here */
			f->coarse = true;
			f->pf = exact;
			err = 0;
			nh_logf(st->lg, LOG_INFO,
				"IP filter %s: \"%s\" needs more than %d BPF instructions: the kernel matches a part of it, the rest is matched in user space",
				f->name ? f->name : "?", f->match,
				NH_PCAPF_MAX_INSNS);
		} else if (!err) {
			err = nh_pcapf_prog_new(f->match, &f->pf, err_txt,
						sizeof(err_txt));
		}
		if (err) {
			nh_logf(st->lg, LOG_ERR,
				"IP filter %s: match \"%s\": %s",
				f->name ? f->name : "?", f->match,
				err_txt[0] ? err_txt : strerror(-err));
			goto fail;
		}
	}
	f->f.name = f->name;
	f->f.match = f->match;
	for (pp = &st->filters; *pp; pp = &(*pp)->next)
		n++;
	f->pos = n;
	/* workers walk the list and read the queues' filters meanwhile */
	__atomic_store_n(pp, f, __ATOMIC_RELEASE);
	{
		int d, k;

		for (d = 0; d < 2; d++)
			for (k = 0; k < st->nq; k++) {
				struct ipf_queue *q =
					&st->q[(slot * 2 + d) * st->nq + k];

				q->dir = d;
				__atomic_store_n(&q->f, f, __ATOMIC_RELEASE);
			}
	}
	err = nh_ipf_rules_install(st, family);
	if (err) {
		__atomic_store_n(&f->removed, true, __ATOMIC_SEQ_CST);
		f->slot = -1;
		nh_logf(st->lg, LOG_ERR,
			"IP filter %s: cannot install its rules",
			f->name ? f->name : "?");
		return nh_err(err);
	}
	st->nfilters++;
	nh_logf(st->lg, LOG_DEBUG,
		"IP filter %s added (%s, match \"%s\", %d insns)",
		f->name ? f->name : "?", family == AF_INET6 ? "IPv6" : "IPv4",
		f->match ? f->match : "", ninsns);
	*ref = f;
	return 0;
fail:
	nh_pcapf_prog_free(f->pf);
	free(f->name);
	free(f->match);
	free(f);
	return nh_err(err);
}

NH_API int nh_ipf_addv4(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
			nh_ipfilter_t *filter_ref)
{
	return add_filter(ctx, filter, filter_ref, AF_INET);
}

NH_API int nh_ipf_addv6(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
			nh_ipfilter_t *filter_ref)
{
	return add_filter(ctx, filter, filter_ref, AF_INET6);
}

NH_API int nh_ipf_remove(nh_ipfilter_t f)
{
	struct nh_ipf_state *st;
	int err, d, k, slot;

	if (!f || f->removed)
		return nh_err(-EINVAL);
	st = f->st;
	__atomic_store_n(&f->removed, true, __ATOMIC_SEQ_CST);
	slot = f->slot;
	err = nh_ipf_rules_install(st, f->family);
	/* packets already queued for it go on as if it were not there */
	for (d = 0; d < 2; d++)
		for (k = 0; k < st->nq; k++)
			__atomic_store_n(&st->q[(slot * 2 + d) * st->nq + k].f,
					 NULL, __ATOMIC_SEQ_CST);
	f->slot = -1;
	st->nfilters--;
	/* its callbacks running on other workers end first */
	nh_ipf_workers_quiesce(st);
	if (f->f.ipf_detach)
		f->f.ipf_detach(f->f.cookie);
	return err ? nh_err(err) : 0;
}
