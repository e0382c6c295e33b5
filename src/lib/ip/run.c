// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Running the filters of a packet's family over it, in the order they
 * were added, from the one the kernel matched (or past the injecting
 * one); a callback may keep, free or replace the packet.
 */
#include "nh_ip.h"
#include "nh_pcapf.h"

static bool pkt_matches(struct nh_ipfilter *f, const struct nh_pkt *pkt)
{
	return !f->pf || nh_pcapf_match(f->pf, pkt->data, pkt->len) > 0;
}

static void fill_opts(const struct nh_pkt *pkt, struct nh_ipf_pktopts *o)
{
	o->mark = pkt->mark;
	o->ifindex = pkt->ifindex;
}

/*
 * Run the filters of the packet's family, in order, from `from` (its
 * position) with the user-space match for all but `matched` (the filter
 * the kernel matched).  *pp may be replaced by a callback.  run->cur is
 * the queued packet the callbacks run on (NULL: a new one).
 */
int nh_ipf_filters_run(struct nh_ipf_state *st, struct ipf_run *run,
		       struct nh_pkt **pp, int dir, int family,
		       struct nh_ipfilter *from, bool from_matched,
		       bool from_inclusive, const struct nh_pkt_q *qsave)
{
	struct nh_ipfilter *f;
	bool started = false;

	for (f = __atomic_load_n(&st->filters, __ATOMIC_ACQUIRE); f;
	     f = __atomic_load_n(&f->next, __ATOMIC_ACQUIRE)) {
		struct nh_pkt *before = *pp;
		int r;

		if (!started) {
			if (f != from)
				continue;
			started = true;
			if (!from_inclusive)
				continue;
		}
		if (__atomic_load_n(&f->removed, __ATOMIC_ACQUIRE) ||
		    f->family != family)
			continue;
		if (dir == DIR_OUT ? !f->f.ipf_output : !f->f.ipf_input)
			continue;
		if (!(f == from && from_matched && !f->coarse) &&
		    !pkt_matches(f, *pp))
			continue;
		(*pp)->q.filter_pos = (uint32_t)f->pos;
		if (dir == DIR_OUT) {
			struct nh_ipf_pktopts o;

			fill_opts(*pp, &o);
			r = f->f.ipf_output(f->f.cookie, pp, &o);
			if (r != NH_EJUSTRETURN && *pp)
				(*pp)->mark = o.mark;
		} else {
			struct nh_pkt_info in;
			int off = 0;
			uint8_t proto = 0;

			if (!nh_pkt_parse_ex((*pp)->data, (*pp)->len,
					     NH_PARSE_PARTIAL, &in)) {
				off = in.hdr_len;
				proto = in.proto;
			}
			r = f->f.ipf_input(f->f.cookie, pp, off, proto);
		}
		if (r == NH_EJUSTRETURN)
			return RUN_TAKEN;
		if (!*pp)
			return RUN_DROP;
		if (*pp != before && (*pp)->q.state == NH_PKT_NEW &&
		    (before == run->cur || (run->cur_freed && !run->cur))) {
			/* the callback handed back another packet: it stands
			 * for the queued one (which it freed or kept) */
			(*pp)->q = *qsave;
			(*pp)->q.run = run;
			(*pp)->dirty = (*pp)->modified = 1;
			if (before == run->cur) {
				before->q.state = NH_PKT_NEW;
				before->q.queue = NULL;
				before->q.run = NULL;
			}
			run->cur = *pp;
			run->cur_freed = false;
		} else if (*pp == before && run->cur_freed && !run->cur) {
			return RUN_DROP; /* it freed what it handed back */
		}
		if (r < 0)
			return RUN_DROP;
	}
	return RUN_ACCEPT;
}
