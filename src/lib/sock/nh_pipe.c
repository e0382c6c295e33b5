// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What each proxy takes, learned by a probe that talks to the proxy and
 * nothing else: nethook's own connection to it (through the hops before
 * it) sends, in one flight, the pipelined request for a tunnel to the
 * proxy itself, then a request of the proxy's own kind as early data.  A
 * proper reply to the flight (a refusal counts: most proxies will not
 * tunnel to themselves) shows the proxy reads past its first step; the
 * nested request's answer coming back through the tunnel shows it relays
 * bytes that came before its reply.  A proxy that reads one step per
 * recv() and drops the rest (microsocks) stalls: a wait derived from the
 * round trip the probe measured ends it.  No program's connection is the
 * test (its bytes cannot be taken back), and no packet of the probe goes
 * anywhere but to the proxy.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "nh_hs_io.h"
#include "nh_pipe.h"
#include "nh_time.h"

#define NH_PIPE_MAX_HOPS 8
/* on top of 4 round trips: a busy proxy, or one whose password check
 * takes its time, is no staller (and the probe delays no program) */
#define NH_PIPE_GRACE_NS (1000ull * 1000000ull)

enum { S_UNKNOWN, S_PROBING, S_STEP, S_PIPE, S_OPT };

struct nh_pipe {
	const struct nh_proxy_hop *hops;
	int nhops;
	uint64_t timeout_ns;
	const struct nh_logger *lg;
	_Atomic int state[NH_PIPE_MAX_HOPS];
	atomic_bool said[NH_PIPE_MAX_HOPS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thr;
	bool thr_on, thr_failed, stop;
	int stopfd; /* wakes a probe's poll() at free */
};

/* 1 ready, 0 out of time, -1 stopped */
static int wait_fd(struct nh_pipe *p, int fd, short ev, uint64_t deadline)
{
	struct pollfd pf[2] = { { .fd = fd, .events = ev },
				{ .fd = p->stopfd, .events = POLLIN } };
	uint64_t now;
	int r;

	for (;;) {
		now = nh_now_ns();
		if (now >= deadline)
			return 0;
		r = poll(pf, 2, (int)((deadline - now) / 1000000ull) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || pf[1].revents)
			return -1;
		if (r > 0)
			return 1;
	}
}

/* One hop's handshake on fd, stepwise, until done (1) or not (-errno). */
static int drive(struct nh_pipe *p, int fd, struct nh_proxy_hs *hs,
		 uint64_t deadline)
{
	struct nh_hs_io_count c = { 0, 0 };
	bool io;
	int r, w;

	for (;;) {
		r = nh_hs_io_step(fd, hs, &c, &io, NULL);
		if (r)
			return r;
		w = wait_fd(p, fd,
			    nh_proxy_hs_want_input(hs) ? POLLIN : POLLOUT,
			    deadline);
		if (w <= 0)
			return w ? -ECANCELED : -ETIMEDOUT;
	}
}

/* A request of the proxy's own kind, sent as early data: its answer, if
 * it comes back, was relayed by the proxy to itself.  *first is the
 * answer's first byte. */
static size_t nested(const struct nh_proxy_hop *hop, uint8_t *buf, char *first)
{
	static const char http[] =
		"CONNECT 0.0.0.0:1 HTTP/1.1\r\nHost: 0.0.0.0:1\r\n\r\n";

	switch (hop->scheme) {
	case NH_PROXY_SOCKS5:
		memcpy(buf, "\x05\x01\x00", 3);
		*first = 5;
		return 3;
	case NH_PROXY_SOCKS4:
	case NH_PROXY_SOCKS4A:
		/* to 0.0.0.0:1: refused, 00 5b */
		memcpy(buf, "\x04\x01\x00\x01\x00\x00\x00\x00\x00", 9);
		*first = 0;
		return 9;
	default:
		memcpy(buf, http, sizeof(http) - 1);
		*first = 'H';
		return sizeof(http) - 1;
	}
}

/* The flight: every byte of the pipelined request, then the nested one. */
static size_t flight(struct nh_proxy_hs *hs, const struct nh_proxy_hop *hop,
		     uint8_t *buf, size_t cap, char *first)
{
	const uint8_t *out;
	size_t n = 0, len;

	while (nh_proxy_hs_output(hs, &out, &len) == 0 && len &&
	       n + len <= cap - 64) {
		memcpy(buf + n, out, len);
		n += len;
		nh_proxy_hs_sent(hs, len);
	}
	return n + nested(hop, buf + n, first);
}

/* A refusal in the proxy's own words: it read the whole flight. */
static bool is_reply(int err)
{
	return err == -ECONNREFUSED || err == -EPERM || err == -ENETUNREACH ||
	       err == -EHOSTUNREACH || err == -ETIMEDOUT ||
	       err == -EOPNOTSUPP || err == -EAFNOSUPPORT;
}

static int send_all(struct nh_pipe *p, int fd, const uint8_t *b, size_t n,
		    uint64_t deadline)
{
	ssize_t s;
	int w;

	while (n) {
		s = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (s < 0 && errno != EAGAIN)
			return -errno;
		if (s > 0) {
			b += s;
			n -= (size_t)s;
			continue;
		}
		w = wait_fd(p, fd, POLLOUT, deadline);
		if (w <= 0)
			return w ? -ECANCELED : -ETIMEDOUT;
	}
	return 0;
}

/* Read the replies to the flight: the state learned, and why in words. */
static int judge(struct nh_pipe *p, int fd, struct nh_proxy_hs *hs, char first,
		 uint64_t wait_ns, char *why, size_t len)
{
	uint64_t deadline = nh_now_ns() + wait_ns;
	uint8_t rb[2048];
	size_t used = 0;
	ssize_t n = 0;
	int r = 0, w;

	for (;;) {
		w = wait_fd(p, fd, POLLIN, deadline);
		if (w < 0)
			return -ECANCELED;
		if (w == 0) {
			snprintf(
				why, len,
				"no reply %s within %llu ms: it stalls on a request in one flight",
				hs->rx_total ? "past the first" : "at all",
				(unsigned long long)(wait_ns / 1000000ull));
			return S_STEP;
		}
		n = recv(fd, rb, sizeof(rb), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			nh_proxy_hs_eof(hs);
			snprintf(why, len, "%s", nh_proxy_hs_error(hs));
			return S_STEP;
		}
		r = nh_proxy_hs_input(hs, rb, (size_t)n, &used);
		if (r)
			break;
	}
	if (r < 0 && !is_reply(r)) {
		/* garbage, a close, or its credentials refused */
		snprintf(why, len, "%s", nh_proxy_hs_error(hs));
		return S_STEP;
	}
	if (r < 0) {
		snprintf(
			why, len,
			"it would not tunnel to itself (%s), so optimistic data could not be tried (?pipeline=on turns it on)",
			nh_proxy_hs_error(hs));
		return S_PIPE;
	}
	/* the tunnel to itself is open: does the nested request answer? */
	while ((size_t)n <= used) {
		w = wait_fd(p, fd, POLLIN, deadline);
		if (w < 0)
			return -ECANCELED;
		n = w ? recv(fd, rb, sizeof(rb), MSG_DONTWAIT) : 0;
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0) {
			snprintf(
				why, len,
				"bytes sent before its reply were not relayed (%s)",
				w ? "it closed" : "no answer came back");
			return S_PIPE;
		}
		used = 0;
	}
	if ((char)rb[used] != first) {
		snprintf(why, len,
			 "bytes sent before its reply came back changed");
		return S_PIPE;
	}
	why[0] = '\0';
	return S_OPT;
}

/* Connect fd to the first hop and walk it, stepwise, to hops[k]: 0, or
 * -errno (-ECANCELED: stopped). */
static int reach(struct nh_pipe *p, int fd, int k, uint64_t limit)
{
	const struct sockaddr_storage *to = &p->hops[0].addr;
	struct nh_proxy_hs hs;
	socklen_t el = sizeof(int);
	int r, e = 0, i;

	r = connect(fd, (const void *)to,
		    to->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						sizeof(struct sockaddr_in));
	if (r && errno != EINPROGRESS)
		return -errno;
	if (r) {
		r = wait_fd(p, fd, POLLOUT, limit);
		if (r <= 0)
			return r ? -ECANCELED : -ETIMEDOUT;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e)
			return -e;
	}
	for (i = 0; i < k; i++) {
		nh_proxy_hs_init_hop(&hs, &p->hops[i], &p->hops[i + 1]);
		r = drive(p, fd, &hs, limit);
		if (r < 0)
			return r;
	}
	return 0;
}

static int probe(struct nh_pipe *p, int k, char *why, size_t len)
{
	const struct nh_proxy_hop *hop = &p->hops[k];
	uint64_t t0 = nh_now_ns(), limit = t0 + p->timeout_ns, wait_ns;
	uint8_t buf[2048];
	struct nh_proxy_hs hs;
	char first = 0;
	int fd, r, one = 1;
	size_t n;

	fd = socket(p->hops[0].addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return S_STEP;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r = reach(p, fd, k, limit);
	if (r < 0) {
		if (r != -ECANCELED) {
			snprintf(why, len, "the probe could not reach it: %s",
				 strerror(-r));
			r = S_STEP;
		}
		goto cleanup;
	}
	/* the time to reach it is a round trip at least: a proxy that
	 * takes the flight answers well within four */
	wait_ns = 4 * (nh_now_ns() - t0) + NH_PIPE_GRACE_NS;
	if (wait_ns > p->timeout_ns)
		wait_ns = p->timeout_ns;
	/* a tunnel to the hop itself */
	nh_proxy_hs_init_hop(&hs, hop, hop);
	nh_proxy_hs_pipeline(&hs);
	n = flight(&hs, hop, buf, sizeof(buf), &first);
	if (nh_proxy_hs_status(&hs) < 0) {
		snprintf(why, len, "%s", nh_proxy_hs_error(&hs));
		r = S_STEP;
		goto cleanup;
	}
	r = send_all(p, fd, buf, n, limit);
	if (r < 0 && r != -ECANCELED) {
		snprintf(why, len, "sending the probe: %s", strerror(-r));
		r = S_STEP;
	}
	if (!r)
		r = judge(p, fd, &hs, first, wait_ns, why, len);
cleanup:
	close(fd);
	return r;
}

static void say(struct nh_pipe *p, int k, int st, const char *why)
{
	char h[300];

	if (atomic_exchange(&p->said[k], true))
		return;
	nh_proxy_hop_format(&p->hops[k], h, sizeof(h));
	if (st == S_OPT)
		nh_logf(p->lg, LOG_NOTICE,
			"proxy %s takes pipelined handshakes and optimistic data: a tunnel opens in one round trip after TCP's",
			h);
	else if (st == S_PIPE)
		nh_logf(p->lg, LOG_NOTICE,
			"proxy %s takes pipelined handshakes; optimistic data off: %s",
			h, why);
	else
		nh_logf(p->lg, LOG_NOTICE,
			"proxy %s: handshakes one step per round trip: %s", h,
			why);
}

static int probing(struct nh_pipe *p)
{
	int k;

	for (k = 0; k < p->nhops; k++)
		if (atomic_load(&p->state[k]) == S_PROBING)
			return k;
	return -1;
}

static void *probe_main(void *arg)
{
	struct nh_pipe *p = arg;
	char why[256];
	int k, st, was;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && (k = probing(p)) < 0)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		why[0] = '\0';
		st = probe(p, k, why, sizeof(why));
		pthread_mutex_lock(&p->lock);
		if (st < 0)
			break;
		was = S_PROBING;
		/* a real handshake may have failed meanwhile: that wins */
		if (atomic_compare_exchange_strong(&p->state[k], &was, st))
			say(p, k, st, why);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct nh_pipe *nh_pipe_new(const struct nh_proxy_hop *hops, int nhops,
			    unsigned int timeout_ms, const struct nh_logger *lg)
{
	struct nh_pipe *p;
	bool learn = false;
	int k;

	if (nhops > NH_PIPE_MAX_HOPS)
		nhops = NH_PIPE_MAX_HOPS;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->hops = hops;
	p->nhops = nhops;
	p->timeout_ns =
		(uint64_t)(timeout_ms ? timeout_ms : 10000) * 1000000ull;
	p->lg = lg;
	p->stopfd = -1;
	for (k = 0; k < nhops; k++) {
		int st = S_UNKNOWN;

		if (hops[k].scheme == NH_PROXY_DIRECT ||
		    hops[k].pipeline == NH_PROXY_PIPELINE_OFF)
			st = S_STEP;
		else if (hops[k].pipeline == NH_PROXY_PIPELINE_ON)
			st = S_OPT;
		else
			learn = true;
		atomic_init(&p->state[k], st);
		atomic_init(&p->said[k], false);
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (learn)
		p->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return p;
}

/* The probe's thread, made by the first ask (under p->lock): a run
 * whose program never connects has none.  false: it cannot be. */
static bool probe_thread(struct nh_pipe *p)
{
	if (p->thr_on)
		return true;
	if (p->stopfd < 0 || p->thr_failed)
		return false;
	if (pthread_create(&p->thr, NULL, probe_main, p)) {
		p->thr_failed = true;
		return false;
	}
	p->thr_on = true;
	return true;
}

void nh_pipe_free(struct nh_pipe *p)
{
	uint64_t one = 1;

	if (!p)
		return;
	if (p->thr_on) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		if (write(p->stopfd, &one, sizeof(one)) < 0) {
			/* an eventfd write fails only on overflow: woken */
		}
		pthread_join(p->thr, NULL);
	}
	if (p->stopfd >= 0)
		close(p->stopfd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

enum nh_pipe_mode nh_pipe_mode(struct nh_pipe *p, int k)
{
	int st, unknown = S_UNKNOWN;

	if (!p || k < 0 || k >= p->nhops)
		return NH_PIPE_STEPWISE;
	st = atomic_load(&p->state[k]);
	if (st == S_UNKNOWN &&
	    atomic_compare_exchange_strong(&p->state[k], &unknown, S_PROBING)) {
		pthread_mutex_lock(&p->lock);
		if (probe_thread(p))
			pthread_cond_signal(&p->cond);
		else /* no probe: stepwise, which always works */
			atomic_store(&p->state[k], S_STEP);
		pthread_mutex_unlock(&p->lock);
	}
	return st == S_OPT  ? NH_PIPE_OPTIMISTIC :
	       st == S_PIPE ? NH_PIPE_PIPELINED :
			      NH_PIPE_STEPWISE;
}

void nh_pipe_failed(struct nh_pipe *p, int k, enum nh_pipe_mode was,
		    const char *why)
{
	int from, to;
	char h[300];

	if (!p || k < 0 || k >= p->nhops || was < NH_PIPE_PIPELINED ||
	    p->hops[k].pipeline == NH_PROXY_PIPELINE_ON)
		return;
	/* early bytes may be what it failed on: they go first; a flight
	 * without them failed on the flight, whatever was learnt */
	to = was == NH_PIPE_OPTIMISTIC ? S_PIPE : S_STEP;
	from = S_OPT;
	if (!atomic_compare_exchange_strong(&p->state[k], &from, to)) {
		from = S_PIPE;
		if (to == S_PIPE ||
		    !atomic_compare_exchange_strong(&p->state[k], &from, to))
			return;
	}
	nh_proxy_hop_format(&p->hops[k], h, sizeof(h));
	nh_logf(p->lg, LOG_NOTICE,
		"proxy %s: %s off for the rest of the run: %s", h,
		to == S_PIPE ? "optimistic data" : "pipelined handshakes", why);
}
