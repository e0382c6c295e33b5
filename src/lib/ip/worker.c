// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The workers: a netlink socket each, with its buffers; with threads > 1
 * a thread each, with its own epoll loop; the receive path that turns
 * queued packets into callbacks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "nh_ip.h"

/* A worker's socket and buffers (its queues are bound later). */
int nh_ipf_worker_open(struct nh_ipf_state *st, struct ipf_worker *w)
{
	int i;

	w->rbuf = malloc((size_t)IPF_RECV_BATCH * IPF_RECV_BUF);
	w->sbuf = malloc(IPF_SEND_BUF);
	if (!w->rbuf || !w->sbuf)
		return -ENOMEM;
	for (i = 0; i < IPF_RECV_BATCH; i++) {
		w->iov[i].iov_base = w->rbuf + (size_t)i * IPF_RECV_BUF;
		w->iov[i].iov_len = IPF_RECV_BUF;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return nh_ipf_nfq_open(st, w);
}

/* threads > 1: the worker's socket has packets */
static int on_sock(struct nh_ev *ev, uint32_t events)
{
	struct ipf_worker *w = nh_container_of(ev, struct ipf_worker, ev_sock);

	(void)events;
	atomic_store(&w->busy, true);
	nh_ipf_worker_dispatch(w);
	atomic_fetch_add(&w->gen, 1);
	atomic_store(&w->busy, false);
	return 0;
}

/* threads > 1: a worker's loop -- its socket and its stop event */
static void *worker_main(void *arg)
{
	struct ipf_worker *w = arg;
	struct epoll_event ev[2];
	int n, i;

	for (;;) {
		n = epoll_wait(w->epfd, ev, 2, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (nh_ev_run(&ev[i]) < 0)
				return NULL;
	}
	return NULL;
}

int nh_ipf_worker_start(struct ipf_worker *w)
{
	int err;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stopfd < 0)
		return -errno;
	w->ev_sock.fn = on_sock;
	w->ev_stop.fn = nh_ev_end;
	err = nh_ev_add(w->epfd, w->fd, EPOLLIN, &w->ev_sock);
	if (!err)
		err = nh_ev_add(w->epfd, w->stopfd, EPOLLIN, &w->ev_stop);
	if (!err)
		err = nh_thread_start(&w->thr, worker_main, w);
	if (err)
		return err;
	w->started = true;
	return 0;
}

void nh_ipf_worker_stop(struct ipf_worker *w)
{
	uint64_t one = 1;

	if (!w->started)
		return;
	if (write(w->stopfd, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh counter */
	}
	pthread_join(w->thr, NULL);
	w->started = false;
}

/* Wait until no worker but the caller's own runs a dispatch that began
 * before this call (a removed filter's callbacks are then done). */
void nh_ipf_workers_quiesce(struct nh_ipf_state *st)
{
	int k;

	if (!st->threaded)
		return;
	for (k = 0; k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];
		unsigned int g = atomic_load(&w->gen);

		if (worker_here(w) || !w->started)
			continue;
		while (atomic_load(&w->busy) && atomic_load(&w->gen) == g) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* ---- receiving ---- */

static int handle_packet(struct ipf_worker *w, const struct nlmsghdr *nlh)
{
	struct nh_ipf_state *st = w->st;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	uint16_t qnum = ntohs(nfg->res_id);
	struct nh_pkt *pkt, *cur;
	struct nh_ipfilter *qf;
	struct ipf_queue *q;
	struct nh_pkt_q qsave;
	struct ipf_run run;
	uint32_t id, skbinfo = 0, caplen;
	uint8_t *data;
	size_t len;
	int r;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return 0;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (qnum < st->qbase ||
	    qnum >= st->qbase + IPF_MAX_FILTERS * 2 * st->nq)
		return 0;
	q = &st->q[qnum - st->qbase];
	w->stats.packets++;
	data = attr[NFQA_PAYLOAD] ? mnl_attr_get_payload(attr[NFQA_PAYLOAD]) :
				    NULL;
	len = attr[NFQA_PAYLOAD] ?
		      mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]) :
		      0;
	qf = __atomic_load_n(&q->f, __ATOMIC_ACQUIRE);
	if (!qf || __atomic_load_n(&qf->removed, __ATOMIC_ACQUIRE) || !len) {
		nh_ipf_verdict_id(st, qnum, id, true, NULL, 0, NULL);
		return 0;
	}
	pkt = malloc(sizeof(*pkt));
	if (!pkt) {
		nh_ipf_verdict_id(st, qnum, id, true, NULL, 0, NULL);
		return 0;
	}
	nh_pkt_init_borrowed(pkt, data, len);
	pkt->q.qnum = qnum;
	pkt->q.id = id;
	pkt->q.state = NH_PKT_HELD;
	pkt->q.queue = st;
	pkt->q.freed = nh_ipf_held_freed;
	pkt->q.dir = (uint8_t)q->dir;
	caplen = attr[NFQA_CAP_LEN] ?
			 ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) :
			 (uint32_t)len;
	pkt->orig_len = caplen;
	if (caplen > len) {
		/* cut by the copy range: read-only */
		pkt->truncated = 1;
		/* counted when larger than a queue can carry at all */
		if (caplen > IPF_COPY_MAX)
			w->stats.truncated++;
	}
	if (attr[NFQA_SKB_INFO])
		skbinfo = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
	pkt->csum_partial = !!(skbinfo & NFQA_SKB_CSUMNOTREADY);
	if (attr[NFQA_MARK])
		pkt->mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (q->dir == DIR_IN && attr[NFQA_IFINDEX_INDEV])
		pkt->ifindex =
			(int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (q->dir == DIR_OUT && attr[NFQA_IFINDEX_OUTDEV])
		pkt->ifindex =
			(int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	run_init(&run, pkt);
	qsave = pkt->q;
	r = nh_ipf_filters_run(st, &run, &pkt, q->dir, qf->family, qf, true,
			       true, &qsave);
	cur = run_end(&run);
	if (r == RUN_TAKEN) {
		if (cur && cur->q.state == NH_PKT_HELD) {
			/* kept for later: its data must outlive the buffer */
			if (nh_pkt_own(cur) < 0) {
				nh_ipf_verdict_id(st, qnum, id, true, NULL, 0,
						  NULL);
				cur->q.state = NH_PKT_DONE;
				cur->q.queue = NULL;
			} else {
				nh_ipf_held_hold(st, cur, false);
			}
		} else if (!cur && run.cur_freed) {
			nh_ipf_verdict_id(st, qnum, id, false, NULL, 0, NULL);
		}
		return 1;
	}
	if (!cur) {
		/* freed by a callback that did not take it */
		nh_ipf_verdict_id(st, qnum, id, false, NULL, 0, NULL);
		return 1;
	}
	if (cur->truncated && cur->dirty && !w->warned_ro) {
		w->warned_ro = true;
		nh_logf(st->lg, LOG_WARNING,
			"IP filter: a truncated packet (%u bytes) is read-only: changes dropped",
			cur->orig_len);
	}
	nh_ipf_verdict_give(st, cur, r == RUN_ACCEPT, NULL);
	nh_pkt_free(cur);
	return 1;
}

/* Read what the worker's queues hold (a bounded amount), give the
 * verdicts in batches. */
int nh_ipf_worker_dispatch(struct ipf_worker *w)
{
	struct nh_ipf_state *st = w->st;
	int n, i, total = 0, ncb = 0, k, nqueues;

	worker_enter(w);
	nqueues = IPF_MAX_FILTERS * 2;
	while (total < IPF_BUDGET) {
		n = recvmmsg(w->fd, w->msgs, IPF_RECV_BATCH, MSG_DONTWAIT,
			     NULL);
		if (n < 0) {
			if (errno == ENOBUFS) {
				nh_logf(st->lg, LOG_WARNING,
					"IP filter: queue messages lost (receive buffer full)");
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)w->iov[i].iov_base;
			size_t len = w->msgs[i].msg_len;

			while (mnl_nlmsg_ok(nlh, (int)len)) {
				if (nlh->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e =
						mnl_nlmsg_get_payload(nlh);

					if (e->error)
						nh_logf(st->lg, LOG_DEBUG,
							"IP filter: verdict refused: %s",
							strerror(-e->error));
				} else if ((nlh->nlmsg_type & 0xff) ==
					   NFQNL_MSG_PACKET) {
					ncb += handle_packet(w, nlh);
				}
				nlh = mnl_nlmsg_next(nlh, (int *)&len);
			}
			total++;
		}
		/* the batch verdicts of this round: the worker's queues are
		 * queue w->idx of each filter and direction */
		for (k = 0; k < nqueues; k++) {
			int qi = k * st->nq + w->idx;

			nh_ipf_verdict_flush_plain(w, &st->q[qi],
						   (uint16_t)(st->qbase + qi));
		}
		nh_ipf_verdict_flush(w);
		if (n < IPF_RECV_BATCH)
			break;
	}
	worker_leave(w);
	return ncb;
}

int nh_ipf_on_queue(struct nh_ev *ev, uint32_t events)
{
	struct nh_ipf_state *st = nh_container_of(ev, struct nh_ipf_state, ev);
	int r;

	(void)events;
	if (!st->engine || st->threaded || !st->w || !st->w[0].nl)
		return 0;
	r = nh_ipf_worker_dispatch(&st->w[0]);
	/* a queue that failed a read is not the end of the context's loop */
	return r > 0 ? r : 0;
}
