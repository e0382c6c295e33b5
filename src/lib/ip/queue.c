// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The netlink queue sockets: one per worker, and the block of queue
 * numbers the context binds to them (libmnl, libnetfilter_queue).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "nh_ip.h"

static int nl_open_fn(void *arg)
{
	struct ipf_worker *w = arg;

	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!w->nl)
		return -errno;
	return 0;
}

int nh_ipf_nfq_open(struct nh_ipf_state *st, struct ipf_worker *w)
{
	int err, one = 1, sz = 16 << 20;

	err = nh_ipf_in_ns(st, nl_open_fn, w);
	if (err)
		return err;
	if (mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	w->portid = mnl_socket_get_portid(w->nl);
	w->fd = mnl_socket_get_fd(w->nl);
	setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(w->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	setsockopt(w->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	return 0;
}

/* Send one config message and wait for its ack (no packets can be on
 * the socket yet: the rules come after, and the worker is not reading). */
static int nl_cfg(struct ipf_worker *w, struct nlmsghdr *nlh)
{
	char buf[8192];
	uint32_t seq = (uint32_t)time(NULL) ^ (uint32_t)random();
	ssize_t n;
	int ret;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(w->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, w->portid, NULL, NULL);
		if (ret <= 0)
			return ret < 0 ? -errno : 0;
	}
}

static int bind_queue(struct nh_ipf_state *st, int qnum)
{
	struct ipf_worker *w = queue_worker(st, qnum);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO;
	int err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (uint32_t)qnum);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	err = nl_cfg(w, nlh);
	if (err)
		return err;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (uint32_t)qnum);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
				 st->copy_range ? (int)st->copy_range :
						  IPF_COPY);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, IPF_QMAXLEN);
	if (!(st->flags & NH_IPF_FAIL_CLOSED))
		flags |= NFQA_CFG_F_FAIL_OPEN;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	return nl_cfg(w, nlh);
}

static void unbind_queue(struct nh_ipf_state *st, int qnum)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, (uint32_t)qnum);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	nl_cfg(queue_worker(st, qnum), nlh);
}

/* A block of queue numbers no one else in the namespace has: nq per
 * filter slot and direction, queue k of each on worker k's socket. */
int nh_ipf_nfq_bind_block(struct nh_ipf_state *st)
{
	int n = IPF_MAX_FILTERS * 2 * st->nq, nblocks = 65536 / n - 8;
	unsigned int start =
		((unsigned int)getpid() * 7919u + (st->seq + 1u) * 131u) %
		(unsigned int)nblocks;
	unsigned int tries, b;
	int i, err = 0;

	for (tries = 0; tries < 32; tries++) {
		b = 8 + (start + tries * 37u) % (unsigned int)nblocks;
		st->qbase = (int)b * n;
		for (i = 0; i < n; i++) {
			err = bind_queue(st, st->qbase + i);
			if (err)
				break;
		}
		if (!err)
			return 0;
		while (--i >= 0)
			unbind_queue(st, st->qbase + i);
		if (err != -EBUSY && err != -EEXIST && err != -EPERM)
			return err;
	}
	return err;
}
