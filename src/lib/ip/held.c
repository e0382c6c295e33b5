// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packets a callback kept: an open-addressing set of them, so that the
 * teardown can give their verdicts, and the count per queue that keeps
 * batch verdicts from covering them.
 */
#include <errno.h>
#include <stdlib.h>
#include "nh_ip.h"

/* ---- held packets ---- */

static size_t held_hash(const struct nh_pkt *p, size_t cap)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ull;
	return (size_t)(x >> 20) & (cap - 1);
}

static int held_grow(struct held_set *h)
{
	size_t cap = h->cap ? h->cap * 2 : 256, i, j;
	struct nh_pkt **v;

	/* mostly tombstones: rehashed at the same size, not grown */
	if (h->cap && h->n * 4 < h->cap)
		cap = h->cap;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		if (!h->v[i] || h->v[i] == HELD_TOMB)
			continue;
		for (j = held_hash(h->v[i], cap); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = h->v[i];
	}
	free(h->v);
	h->v = v;
	h->cap = cap;
	h->used = h->n;
	return 0;
}

static int held_add(struct held_set *h, struct nh_pkt *p)
{
	size_t j;

	if ((h->used + 1) * 2 > h->cap && held_grow(h))
		return -ENOMEM;
	for (j = held_hash(p, h->cap); h->v[j] && h->v[j] != HELD_TOMB;
	     j = (j + 1) & (h->cap - 1))
		;
	if (!h->v[j])
		h->used++;
	h->v[j] = p;
	h->n++;
	return 0;
}

static bool held_del(struct held_set *h, struct nh_pkt *p)
{
	size_t j;

	if (!h->cap)
		return false;
	for (j = held_hash(p, h->cap); h->v[j]; j = (j + 1) & (h->cap - 1)) {
		if (h->v[j] == p) {
			h->v[j] = HELD_TOMB;
			h->n--;
			return true;
		}
	}
	return false;
}

/* ---- held packets ---- */

/* A queued packet a callback kept: its verdict waits.  The queue's
 * count is raised unless the packet is still counted (counted: it was
 * held before, and is being injected). */
void nh_ipf_held_hold(struct nh_ipf_state *st, struct nh_pkt *pkt, bool counted)
{
	struct ipf_queue *q = &st->q[pkt->q.qnum - st->qbase];
	struct ipf_worker *w = nh_ipf_verdict_gathering(st, pkt->q.qnum);

	/* a batch verdict must not cover it */
	if (w)
		nh_ipf_verdict_flush_plain(w, q, pkt->q.qnum);
	if (!counted)
		atomic_fetch_add(&q->held, 1);
	pthread_mutex_lock(&st->lock);
	st->xstats.held += counted ? 0 : 1;
	held_add(&st->held, pkt);
	pthread_mutex_unlock(&st->lock);
}

/* Out of the held set; true when it was there (still counted). */
bool nh_ipf_held_unhold(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	bool was;

	pthread_mutex_lock(&st->lock);
	was = held_del(&st->held, pkt);
	pthread_mutex_unlock(&st->lock);
	return was;
}

/* Its verdict went: batch verdicts may cover its queue again. */
void nh_ipf_held_uncount(struct nh_ipf_state *st, uint16_t qnum)
{
	struct ipf_queue *q = &st->q[qnum - st->qbase];
	unsigned int v = atomic_load(&q->held);

	while (v && !atomic_compare_exchange_weak(&q->held, &v, v - 1))
		;
}

/* A held packet's owner hook (pkt->q.freed): nh_pkt_free() calls it. */
void nh_ipf_held_freed(struct nh_pkt *pkt)
{
	struct nh_ipf_state *st = pkt->q.queue;
	struct ipf_run *run;
	bool counted;

	if (!st || pkt->q.state != NH_PKT_HELD)
		return;
	run = run_of(pkt);
	if (run) {
		/* in its callback: the verdict is given when it returns */
		run->cur = NULL;
		run->cur_freed = true;
		return;
	}
	counted = nh_ipf_held_unhold(st, pkt);
	nh_ipf_verdict_give(st, pkt, false, NULL);
	if (counted)
		nh_ipf_held_uncount(st, pkt->q.qnum);
	pkt->q.queue = NULL;
}
