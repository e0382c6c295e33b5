// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Verdicts: gathered by the worker dispatching on this thread and sent
 * in one write, plain accepts covered by one batch verdict; from any
 * other thread, sent at once through the queue's socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "nh_ip.h"

/* ---- verdicts ---- */

/* The worker's gathered verdicts, in one write. */
void nh_ipf_verdict_flush(struct ipf_worker *w)
{
	if (!w->slen)
		return;
	if (mnl_socket_sendto(w->nl, w->sbuf, w->slen) < 0)
		nh_logf(w->st->lg, LOG_WARNING,
			"IP filter: sending verdicts: %s", strerror(errno));
	w->stats.batches++;
	w->slen = 0;
}

/* Where a verdict of queue qnum is written: the worker's buffer when
 * the worker itself is dispatching on this thread, else *direct (the
 * caller sends it at once). */
struct ipf_worker *nh_ipf_verdict_gathering(struct nh_ipf_state *st, int qnum)
{
	struct ipf_worker *w = queue_worker(st, qnum);

	return worker_here(w) ? w : NULL;
}

static struct nlmsghdr *verdict_msg(struct ipf_worker *w, int type,
				    uint16_t qnum, size_t payload)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) +
		      MNL_ALIGN(sizeof(struct nfgenmsg)) + 64 + payload + 16;

	if (w->slen + need > IPF_SEND_BUF)
		nh_ipf_verdict_flush(w);
	w->stats.verdict_msgs++;
	return nfq_nlmsg_put((char *)w->sbuf + w->slen, type, qnum);
}

/* Batched accepts of a queue go out before anything that would let a
 * batch verdict cover a held packet.  Its worker only. */
void nh_ipf_verdict_flush_plain(struct ipf_worker *w, struct ipf_queue *q,
				uint16_t qnum)
{
	struct nlmsghdr *nlh;

	if (!q->have_plain)
		return;
	nlh = verdict_msg(w, NFQNL_MSG_VERDICT_BATCH, qnum, 0);
	nfq_nlmsg_verdict_put(nlh, (int)q->plain_id, NF_ACCEPT);
	q->have_plain = false;
	w->slen += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_verdict(struct nlmsghdr *nlh, uint32_t id, bool accept,
			const uint8_t *data, size_t len, uint32_t mark)
{
	nfq_nlmsg_verdict_put(nlh, (int)id, accept ? NF_ACCEPT : NF_DROP);
	if (mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (data)
		nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
}

/* The verdict of queued packet id: accept (with data when given) or
 * drop.  From any thread. */
void nh_ipf_verdict_id(struct nh_ipf_state *st, uint16_t qnum, uint32_t id,
		       bool accept, const uint8_t *data, size_t len,
		       const struct nh_ipf_pktopts *opts)
{
	struct ipf_queue *q = &st->q[qnum - st->qbase];
	struct ipf_worker *w = nh_ipf_verdict_gathering(st, qnum);
	uint32_t mark = opts ? opts->mark : 0;
	struct nlmsghdr *nlh;

	if (w) {
		if (accept && !data && !mark && !atomic_load(&q->held)) {
			/* a plain accept: one batch verdict covers them */
			q->have_plain = true;
			q->plain_id = id;
			w->stats.accepted++;
			return;
		}
		nlh = verdict_msg(w, NFQNL_MSG_VERDICT, qnum, data ? len : 0);
		put_verdict(nlh, id, accept, data, len, mark);
		w->slen += MNL_ALIGN(nlh->nlmsg_len);
		if (data)
			w->stats.modified++;
		if (accept)
			w->stats.accepted++;
		else
			w->stats.dropped++;
		return;
	}
	/* from elsewhere: at once, through the queue's socket */
	{
		size_t cap = MNL_SOCKET_BUFFER_SIZE + (data ? len : 0);
		char sbuf[MNL_SOCKET_BUFFER_SIZE], *buf = sbuf;

		if (data && !(buf = malloc(cap))) {
			/* no memory for the changed copy: send it unchanged */
			buf = sbuf;
			data = NULL;
		}
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, qnum);
		put_verdict(nlh, id, accept, data, len, mark);
		if (mnl_socket_sendto(queue_worker(st, qnum)->nl, nlh,
				      nlh->nlmsg_len) < 0)
			nh_logf(st->lg, LOG_DEBUG,
				"IP filter: verdict of %u: %s", id,
				strerror(errno));
		if (buf != sbuf)
			free(buf);
		pthread_mutex_lock(&st->lock);
		st->xstats.verdict_msgs++;
		st->xstats.batches++;
		if (data)
			st->xstats.modified++;
		if (accept)
			st->xstats.accepted++;
		else
			st->xstats.dropped++;
		pthread_mutex_unlock(&st->lock);
	}
}

/* The verdict of a packet from a queue, with its data when the callbacks
 * changed it (checksums fixed).  The packet stays the caller's. */
void nh_ipf_verdict_give(struct nh_ipf_state *st, struct nh_pkt *pkt,
			 bool accept, const struct nh_ipf_pktopts *opts)
{
	bool with_data = accept && (pkt->modified || pkt->dirty) &&
			 !pkt->truncated;

	if (with_data && pkt->dirty && nh_pkt_fix_checksums(pkt) < 0)
		nh_logf(st->lg, LOG_DEBUG,
			"IP filter: packet %u: malformed after the callback; sent as it is",
			pkt->q.id);
	nh_ipf_verdict_id(st, pkt->q.qnum, pkt->q.id, accept,
			  with_data ? pkt->data : NULL, pkt->len, opts);
	pkt->q.state = NH_PKT_DONE;
	pkt->q.queue = NULL;
}
