// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The hop walk through the proxy chain, for the relay and the handoff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "nh_chain_walk.h"
#include "nh_spec.h"

/* The program's first bytes, when some wait: never more than a flight
 * carries, and only what is there now (a server speaks first in many
 * protocols: nothing is waited for). */
static void early_take(struct nh_chain_walk *w, int fd)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	int avail = 0, room;
	ssize_t n;

	if (ioctl(w->early_fd, FIONREAD, &avail) || avail <= 0)
		return;
	if (avail > NH_CHAIN_EARLY_MAX)
		avail = NH_CHAIN_EARLY_MAX;
	/* what the first send window holds beside the request, and half
	 * of it only: a byte past what the path takes at once waits a
	 * round trip for an ack, and the request's reply with it (14,000
	 * bytes did, through dante at 25 ms, where 10 segments should have
	 * gone); what is left follows once the tunnel is open */
	if (!getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) &&
	    ti.tcpi_snd_cwnd && ti.tcpi_snd_mss) {
		room = (int)(ti.tcpi_snd_cwnd * ti.tcpi_snd_mss) / 2 -
		       (int)(w->hs.out_len - w->hs.out_off);
		if (room < avail)
			avail = room;
		if (avail <= 0)
			return;
	}
	w->early.buf = malloc((size_t)avail);
	if (!w->early.buf)
		return;
	n = recv(w->early_fd, w->early.buf, (size_t)avail, MSG_DONTWAIT);
	if (n <= 0) {
		free(w->early.buf);
		w->early.buf = NULL;
		return;
	}
	w->early.len = (uint32_t)n;
}

static void hop_begin(struct nh_chain_walk *w)
{
	struct sockaddr_storage to;
	int next = w->hop + 1;

	if (next < w->nhops) {
		/* a name the hop can carry goes as a name: it resolves it */
		nh_proxy_hs_init_hop(&w->hs, &w->hops[w->hop], &w->hops[next]);
	} else {
		to = w->dst;
		/* a name goes as a name, or not at all: the address the
		 * program had for it is nethook's own, and means nothing
		 * past it */
		nh_proxy_hs_init(&w->hs, &w->hops[w->hop],
				 w->name ? NULL : (void *)&to, w->name,
				 w->port);
	}
	w->mode = NH_PIPE_NONE;
	if (w->hops[w->hop].scheme == NH_PROXY_DIRECT)
		return;
	w->mode = nh_pipe_mode(w->pipe, w->hop);
	if (w->mode >= NH_PIPE_PIPELINED)
		nh_proxy_hs_pipeline(&w->hs);
	/* taken at the first step, when the socket says what fits */
	w->early_want = w->mode == NH_PIPE_OPTIMISTIC && next == w->nhops &&
			w->early_fd >= 0;
	if (w->mode == NH_PIPE_OPTIMISTIC && !w->early_want)
		w->mode = NH_PIPE_PIPELINED;
}

void nh_chain_walk_init(struct nh_chain_walk *w,
			const struct nh_proxy_hop *hops, int nhops,
			const struct sockaddr_storage *dst, const char *name,
			uint16_t port, struct nh_pipe *pipe, int early_fd)
{
	w->hops = hops;
	w->nhops = nhops;
	w->hop = 0;
	w->dst = *dst;
	w->name = name && name[0] ? name : NULL;
	w->port = port;
	w->io.out = w->io.in = 0;
	w->pipe = pipe;
	w->early_fd = early_fd;
	w->early = (struct nh_hs_early){ NULL, 0, 0 };
	w->early_want = false;
	hop_begin(w);
}

void nh_chain_walk_fini(struct nh_chain_walk *w)
{
	if (!w)
		return;
	free(w->early.buf);
	w->early.buf = NULL;
}

bool nh_chain_walk_pipe_failed(struct nh_chain_walk *w, int err,
			       const char *why)
{
	if (w->mode < NH_PIPE_PIPELINED)
		return false;
	if (err != -EPROTO && err != -ECONNRESET && err != -EPIPE)
		return false;
	nh_pipe_failed(w->pipe, w->hop, w->mode, why);
	return !w->early.len;
}

int nh_chain_walk_step(struct nh_chain_walk *w, int fd, char *why, size_t len)
{
	char where[300];
	bool io;
	int r;

	for (;;) {
		if (w->early_want) {
			w->early_want = false;
			early_take(w, fd);
			/* optimistic is what went, not what might have */
			if (!w->early.len)
				w->mode = NH_PIPE_PIPELINED;
		}
		r = nh_hs_io_step(fd, &w->hs, &w->io, &io,
				  w->hop + 1 == w->nhops ? &w->early : NULL);
		if (r == 0)
			return 0;
		if (r < 0)
			break;
		/* this hop's tunnel is open: on to the next */
		if (++w->hop >= w->nhops)
			return 1;
		hop_begin(w);
	}
	if (!io) {
		snprintf(why, len, "%s", nh_proxy_hs_error(&w->hs));
		return r;
	}
	nh_chain_where(w->hops, w->nhops, w->hop, &w->dst, where,
		       sizeof(where));
	snprintf(why, len, "handshake with %s failed: %s", where, strerror(-r));
	return r;
}

bool nh_chain_walk_want_input(const struct nh_chain_walk *w)
{
	return nh_proxy_hs_want_input(&w->hs);
}

void nh_chain_where(const struct nh_proxy_hop *hops, int nhops, int hop,
		    const struct sockaddr_storage *dst, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	if (hop < nhops) {
		nh_proxy_hop_format(&hops[hop], buf, len);
		return;
	}
	ss = *dst;
	nh_sockaddr_format((void *)&ss, buf, len);
}

void nh_chain_connect_failed(const struct nh_proxy_hop *hops, int nhops,
			     const struct sockaddr_storage *dst, int err,
			     char *buf, size_t len)
{
	char where[300];

	nh_chain_where(hops, nhops, 0, dst, where, sizeof(where));
	snprintf(buf, len, "connect to %s failed: %s", where, strerror(err));
}

void nh_chain_timed_out(const struct nh_proxy_hop *hops, int nhops, int hop,
			const struct sockaddr_storage *dst, bool connecting,
			unsigned long long ms, char *buf, size_t len)
{
	char where[300];

	nh_chain_where(hops, nhops, connecting ? 0 : hop, dst, where,
		       sizeof(where));
	snprintf(buf, len, "%s %s timed out after %llu ms",
		 connecting ? "connect to" : "handshake with", where, ms);
}
