// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The relay's threads: each has its own listeners (SO_REUSEPORT shares the
 * port between them), its own epoll loop, and the flows it accepted.  A
 * connection is admitted only with an original destination the kernel
 * recorded for it: the relay is never an open proxy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "nh_ev.h"
#include "nh_flow.h"
#include "nh_lo.h"
#include "nh_log.h"
#include "nh_relay.h"
#include "nh_spec.h"
#include "nh_thread.h"
#include "nh_time.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define NH_TICK_MS 250

/* A worker's own descriptor, and its handler in the worker's epoll set;
 * the flows' sockets bring theirs (nh_flow.c). */
struct wfd {
	struct nh_ev ev;
	int fd;
	struct nh_worker *w;
};

struct nh_worker {
	struct nh_relay *relay;
	pthread_t thread;
	bool started;
	int epfd;
	struct wfd lis4, lis6, wake, tick;
	struct nh_flow_list flows;
	struct nh_inject_queue q;
	bool q_ready;
	int spare_fd; /* given up to refuse a connection at EMFILE */
	int spare0; /* the first spare: the caller's table has this one */
	bool own_table; /* its descriptors are in a table of its own */
	bool paused; /* listeners unwatched until a tick finds a spare */
};

struct nh_relay {
	struct nh_relay_opts o;
	struct nh_proxy_hop hops[NH_RELAY_MAX_HOPS];
	struct nh_worker *w;
	unsigned int nw;
	struct nh_bpf_addr a4, a6;
	uint64_t netns;
	atomic_bool stop;
	atomic_bool emfile_logged; /* said once, not per connection */
	atomic_uint active;
	/* lines about connections nethook did not divert */
	pthread_mutex_t refused_lock;
	struct nh_ratelim refused;
	char route[NH_RELAY_MAX_HOPS * 80];
	/* own_fds: a worker's table is copied when it starts; start returns
	 * after every copy, so no descriptor the caller opens later (a pipe
	 * to a child, say) stays open in a worker's table */
	sem_t unshared;
	bool sem_ok;
};

static int listen_on(int family, uint16_t port, struct nh_bpf_addr *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = nh_lo_socket(family, SOCK_STREAM, port, 4096, true);

	if (fd < 0)
		return fd;
	getsockname(fd, (void *)&ss, &len);
	nh_addr_from_sockaddr((void *)&ss, bound);
	return fd;
}

static void worker_add(struct nh_worker *w, struct wfd *t, nh_ev_fn fn)
{
	t->ev.fn = fn;
	t->w = w;
	nh_ev_add(w->epfd, t->fd, EPOLLIN, &t->ev);
}

#define NH_REFUSED_BURST 10 /* lines a second about refused outsiders */

static void refused_count(struct nh_relay *r, unsigned int quiet,
			  uint64_t span_ns)
{
	if (quiet)
		nh_logf(r->o.lg, LOG_WARNING,
			"relay: %u more connections not diverted by nethook were refused in the last %.1fs",
			quiet, (double)span_ns / 1e9);
}

/* The connection was not diverted: said, or counted when an outsider
 * makes many (a port scan would write a line each). */
static void refused_say(struct nh_relay *r, const struct sockaddr *peer)
{
	uint64_t now = nh_now_ns(), span;
	unsigned int quiet;
	char who[64];
	bool say;

	pthread_mutex_lock(&r->refused_lock);
	quiet = nh_ratelim_flush(&r->refused, now, false, &span);
	say = nh_ratelim_take(&r->refused, now);
	pthread_mutex_unlock(&r->refused_lock);
	refused_count(r, quiet, span);
	if (!say)
		return;
	nh_sockaddr_format(peer, who, sizeof(who));
	nh_logf(r->o.lg, LOG_WARNING,
		"relay: connection from %s was not diverted by nethook: closed",
		who);
}

/* The count of a period over (or, with force, of the one going on). */
static void refused_flush(struct nh_relay *r, bool force)
{
	uint64_t span;
	unsigned int quiet;

	pthread_mutex_lock(&r->refused_lock);
	quiet = nh_ratelim_flush(&r->refused, nh_now_ns(), force, &span);
	pthread_mutex_unlock(&r->refused_lock);
	refused_count(r, quiet, span);
}

/*
 * Who connected: the entry the kernel filed for the program's socket
 * under the client's address and port and the relay's port, taken out of
 * the map whatever happens next, so that it serves one connection only.
 * The peer's address comes from accept() itself, which gives it even for
 * a connection reset while it waited (getpeername() says ENOTCONN then).
 *
 * Why a connection that finds an entry is the program's own, and not an
 * outsider's that took its address and port (any local user can bind a
 * loopback port):
 * - The kernel deletes the entry when the program's socket closes (reset,
 *   aborted, timed out, closed in SYN_SENT), before it frees the port, so
 *   while the entry exists that socket holds the 4-tuple on the client's
 *   side, and TCP lets no other socket connect with the same 4-tuple.
 * - A graceful close leaves the entry: the kernel's TIME_WAIT socket then
 *   holds the 4-tuple in its place, and the relay's side of the
 *   connection holds it on this end until the relay accepts it here.
 * - An outsider's connection made before the program's socket took the
 *   4-tuple (after a TIME_WAIT it outlived) is still the relay's side of
 *   it: the program's SYN meets that connection, not the listener, so the
 *   program's socket is never answered with a SYN-ACK while it lives, and
 *   the kernel marks an entry established only on that SYN-ACK (whose
 *   ACK must match the socket's own initial sequence number).  An entry
 *   not yet established is refused.
 * - Connections are accepted in the order they were made, one listener
 *   per 4-tuple (SO_REUSEPORT hashes it): a connection made after the
 *   program's is accepted after it, and finds the entry gone.
 * - A full map files no entry: the program's connection is then refused
 *   (the kernel ends it with ENOBUFS and says so), never an outsider's
 *   accepted.
 * 0: admitted, id filled; 1: a diverted connection refused, its end
 * reported; -EPERM: not diverted.
 */
static int admit(struct nh_relay *r, int fd, const struct sockaddr *peer,
		 uint16_t rport, struct nh_flow_val *id)
{
	struct nh_relay_report rep = { 0 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct nh_bpf_addr pa;
	struct nh_flow_key k;

	nh_addr_from_sockaddr(peer, &pa);
	memset(&k, 0, sizeof(k));
	memcpy(k.caddr, pa.addr, 16);
	k.cport = pa.port;
	k.rport = rport;
	if (bpf_map_lookup_and_delete_elem(r->o.flows_map_fd, &k, id)) {
		refused_say(r, peer);
		return -EPERM;
	}
	if (!id->established) {
		rep.err = EPERM;
		snprintf(rep.detail, sizeof(rep.detail),
			 "refused: not from the program's socket");
	} else if (fd >= 0 && getpeername(fd, (void *)&ss, &sl)) {
		/* the program reset it while it waited: nothing to relay */
		rep.err = ECONNRESET;
		snprintf(rep.detail, sizeof(rep.detail),
			 "reset by the program before the relay accepted it");
	} else if (fd < 0) {
		rep.err = EMFILE;
		snprintf(rep.detail, sizeof(rep.detail),
			 "relay out of file descriptors");
	} else if (atomic_load(&r->active) >= r->o.max_flows) {
		rep.err = EMFILE;
		snprintf(rep.detail, sizeof(rep.detail),
			 "relay at its limit of %u flows", r->o.max_flows);
	} else {
		return 0;
	}
	rep.id = *id;
	rep.end_ns = nh_now_ns();
	r->o.report(r->o.user, &rep);
	return 1;
}

/*
 * With no descriptor left even to refuse a connection, the listeners stop
 * being watched (level-triggered, they would spin the loop) and the next
 * tick takes them back once a spare is open again.
 */
static void listeners_watch(struct nh_worker *w, bool on)
{
	uint32_t events = on ? EPOLLIN : 0;

	nh_ev_mod(w->epfd, w->lis4.fd, events, &w->lis4.ev);
	if (w->lis6.fd >= 0)
		nh_ev_mod(w->epfd, w->lis6.fd, events, &w->lis6.ev);
	w->paused = !on;
}

static int spare_open(struct nh_worker *w)
{
	if (w->spare_fd < 0)
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return w->spare_fd;
}

/* Out of descriptors: the next connection waiting is reset for real, with
 * the spare descriptor given up for it, and its entry taken out and its
 * end reported like any refused connection's.  1: one refused; 0: none
 * was waiting (accept says EMFILE before it looks); -1: no spare to give. */
static int refuse_one(struct nh_worker *w, int lfd, uint16_t rport)
{
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	struct nh_flow_val id;
	int fd, e;

	if (spare_open(w) < 0)
		return -1;
	close(w->spare_fd);
	w->spare_fd = -1;
	fd = accept4(lfd, (void *)&peer, &pl, SOCK_CLOEXEC);
	e = errno;
	if (fd >= 0) {
		/* before the reset: the program's socket, reset, would take
		 * its entry with it, and its end would go unreported.  No
		 * other descriptor is needed; fd -1 says EMFILE. */
		admit(w->relay, -1, (void *)&peer, rport, &id);
		nh_flow_reset_fd(fd);
	}
	/* another worker may have taken the freed number first */
	if (spare_open(w) < 0)
		return -1;
	if (fd >= 0)
		return 1;
	return e == EAGAIN ? 0 : -1;
}

static void accept_all(struct nh_worker *w, struct wfd *lis)
{
	struct nh_relay *r = w->relay;
	int lfd = lis->fd;
	uint16_t rport = lis == &w->lis4 ? r->a4.port : r->a6.port;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		struct nh_flow_val id;
		int fd = accept4(lfd, (void *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			if (e == EINTR || e == ECONNABORTED)
				continue;
			/* idle flows' pipes first, then a clear word */
			if (nh_flow_fds_short(&w->flows, e))
				continue;
			if (e != EMFILE && e != ENFILE)
				return;
			switch (refuse_one(w, lfd, rport)) {
			case 1:
				continue;
			case -1:
				listeners_watch(w, false);
			}
			return;
		}
		if (admit(r, fd, (void *)&peer, rport, &id)) {
			nh_flow_reset_fd(fd);
			continue;
		}
		atomic_fetch_add(&r->active, 1);
		nh_flow_start(&w->flows, fd, &id);
	}
}

static int on_listen(struct nh_ev *ev, uint32_t events)
{
	struct wfd *lis = nh_container_of(ev, struct wfd, ev);

	(void)events;
	accept_all(lis->w, lis);
	return 0;
}

/* The worker of a wake-up or tick descriptor, its counter read. */
static struct nh_worker *wfd_drain(struct nh_ev *ev)
{
	struct wfd *t = nh_container_of(ev, struct wfd, ev);
	uint64_t v;

	if (read(t->fd, &v, sizeof(v)) < 0) {
		/* nothing pending, or a spurious wake-up: fine */
	}
	return t->w;
}

/* Bytes filters injected from other threads. */
static int on_wake(struct nh_ev *ev, uint32_t events)
{
	(void)events;
	nh_flow_injects(&wfd_drain(ev)->flows);
	return 0;
}

static int on_tick(struct nh_ev *ev, uint32_t events)
{
	struct nh_worker *w = wfd_drain(ev);

	(void)events;
	nh_flow_tick(&w->flows, nh_now_ns());
	refused_flush(w->relay, false);
	if (w->paused && spare_open(w) >= 0)
		listeners_watch(w, true);
	return 0;
}

/* One turn of a worker's loop; the number of events handled.  A flow
 * that ends in it is freed after the turn: its other socket may have an
 * event in the same batch. */
static int worker_step(struct nh_worker *w, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(w->epfd, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++)
		nh_ev_run(&evs[i]);
	nh_flow_reap(&w->flows);
	return n;
}

/*
 * own_fds: the worker's sockets live in a descriptor table of its own
 * (unshare(CLONE_FILES) copies the process's table into one only this
 * thread uses).  A table with one user lets the kernel look descriptors
 * up without taking a reference on each call (fdget), and
 * RLIMIT_NOFILE bounds each table, not the sum: N workers hold N times
 * the flows a hard limit allows one.  The price: the worker's flows must
 * end on the worker, and it cannot see descriptors opened after it began.
 */
static void *worker_main(void *arg)
{
	struct nh_worker *w = arg;
	struct nh_relay *r = w->relay;

	if (r->o.own_fds) {
		if (!unshare(CLONE_FILES))
			w->own_table = true;
		else
			nh_logf(r->o.lg, LOG_INFO,
				"relay: worker shares the descriptor table: %s",
				strerror(errno));
		sem_post(&r->unshared);
	}
	while (!atomic_load(&r->stop))
		if (worker_step(w, -1) < 0)
			break;
	if (w->own_table) {
		/* its table goes with it: flows end, filters detach, here */
		nh_flow_close_all(&w->flows);
		nh_flow_reap(&w->flows);
	}
	return NULL;
}

int nh_relay_fd(const struct nh_relay *r)
{
	return r->o.inline_loop ? r->w[0].epfd : -1;
}

int nh_relay_poll(struct nh_relay *r)
{
	return r->o.inline_loop ? worker_step(&r->w[0], 0) : 0;
}

static void flow_done(void *user, const struct nh_relay_report *rep)
{
	struct nh_relay *r = user;

	atomic_fetch_sub(&r->active, 1);
	r->o.report(r->o.user, rep);
}

static int worker_init(struct nh_relay *r, struct nh_worker *w)
{
	struct itimerspec its = { { 0, NH_TICK_MS * 1000000L },
				  { 0, NH_TICK_MS * 1000000L } };
	int fd;

	w->relay = r;
	w->lis4.fd = w->lis6.fd = w->wake.fd = w->tick.fd = -1;
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->spare0 = w->spare_fd;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	fd = listen_on(AF_INET, r->a4.port, &r->a4);
	if (fd < 0)
		return fd;
	w->lis4.fd = fd;
	/* a host without IPv6 loopback still relays IPv4 */
	fd = listen_on(AF_INET6, r->a6.port, &r->a6);
	if (fd >= 0)
		w->lis6.fd = fd;
	else if (w == r->w)
		memset(&r->a6, 0, sizeof(r->a6));
	w->wake.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->tick.fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->wake.fd < 0 || w->tick.fd < 0 ||
	    timerfd_settime(w->tick.fd, 0, &its, NULL))
		return -errno;
	worker_add(w, &w->lis4, on_listen);
	if (w->lis6.fd >= 0)
		worker_add(w, &w->lis6, on_listen);
	worker_add(w, &w->wake, on_wake);
	worker_add(w, &w->tick, on_tick);
	w->flows.epfd = w->epfd;
	w->flows.hops = r->hops;
	w->flows.nhops = r->o.nhops;
	w->flows.pipe = r->o.pipe;
	w->flows.connect_timeout_ns =
		(uint64_t)r->o.connect_timeout_ms * 1000000ull;
	w->flows.idle_timeout_ns = (uint64_t)r->o.idle_timeout_ms * 1000000ull;
	w->flows.done = flow_done;
	w->flows.user = r;
	w->flows.lg = r->o.lg;
	w->flows.fds_said = &r->emfile_logged;
	w->flows.sflt = r->o.sflt;
	w->flows.exe = r->o.exe;
	w->flows.exe_user = r->o.user;
	w->flows.names = r->o.names;
	if (nh_inject_queue_init(&w->q, w->wake.fd))
		return -ENOMEM;
	w->q_ready = true;
	w->flows.q = &w->q;
	return 0;
}

static void route_format(struct nh_relay *r)
{
	nh_proxy_route_format(r->hops, r->o.nhops, r->route, sizeof(r->route));
}

int nh_relay_start(const struct nh_relay_opts *o, struct nh_relay **out)
{
	struct nh_relay *r;
	socklen_t len = sizeof(uint64_t);
	unsigned int i;
	int err;

	if (o->nhops < 0 || o->nhops > NH_RELAY_MAX_HOPS || !o->report)
		return nh_err(-EINVAL);
	r = calloc(1, sizeof(*r));
	if (!r)
		return nh_err(-ENOMEM);
	r->o = *o;
	pthread_mutex_init(&r->refused_lock, NULL);
	r->refused.burst = NH_REFUSED_BURST;
	r->refused.period_ns = 1000000000ull;
	memcpy(r->hops, o->hops, sizeof(r->hops[0]) * (size_t)o->nhops);
	r->o.hops = r->hops;
	if (!r->o.workers || r->o.inline_loop)
		r->o.workers = 1;
	if (!r->o.connect_timeout_ms)
		r->o.connect_timeout_ms = 10000;
	if (!r->o.max_flows)
		r->o.max_flows = 65536;
	route_format(r);
	r->nw = r->o.workers;
	r->w = calloc(r->nw, sizeof(*r->w));
	if (!r->w) {
		pthread_mutex_destroy(&r->refused_lock);
		free(r);
		return nh_err(-ENOMEM);
	}
	for (i = 0; i < r->nw; i++) {
		r->w[i].epfd = -1;
		r->w[i].lis4.fd = r->w[i].lis6.fd = -1;
		r->w[i].wake.fd = r->w[i].tick.fd = -1;
		r->w[i].spare_fd = r->w[i].spare0 = -1;
	}
	for (i = 0; i < r->nw; i++) {
		err = worker_init(r, &r->w[i]);
		if (err) {
			nh_logf(o->lg, LOG_ERR, "relay: cannot listen: %s",
				strerror(-err));
			goto cleanup;
		}
	}
	for (i = 0; i < r->nw && o->listening; i++) {
		err = o->listening(o->user, r->w[i].lis4.fd);
		if (!err && r->w[i].lis6.fd >= 0)
			err = o->listening(o->user, r->w[i].lis6.fd);
		if (err) {
			nh_logf(o->lg, LOG_ERR, "relay: listener: %s",
				strerror(-err));
			goto cleanup;
		}
	}
	if (getsockopt(r->w[0].lis4.fd, SOL_SOCKET, SO_NETNS_COOKIE, &r->netns,
		       &len)) {
		err = -errno;
		nh_logf(o->lg, LOG_ERR,
			"relay: SO_NETNS_COOKIE (Linux 5.14+): %s",
			strerror(errno));
		goto cleanup;
	}
	if (sem_init(&r->unshared, 0, 0)) {
		err = -errno;
		goto cleanup;
	}
	r->sem_ok = true;
	for (i = 0; i < r->nw && !r->o.inline_loop; i++) {
		err = nh_thread_start(&r->w[i].thread, worker_main, &r->w[i]);
		if (err)
			goto cleanup;
		r->w[i].started = true;
		if (r->o.own_fds)
			while (sem_wait(&r->unshared) && errno == EINTR)
				;
	}
	*out = r;
	return 0;
cleanup:
	nh_relay_free(r);
	return nh_err(err);
}

void nh_relay_stop(struct nh_relay *r)
{
	uint64_t one = 1;
	unsigned int i;

	if (!r)
		return;
	atomic_store(&r->stop, true);
	for (i = 0; i < r->nw; i++) {
		struct nh_worker *w = &r->w[i];

		if (w->started) {
			if (write(w->wake.fd, &one, sizeof(one)) < 0) {
				/* full counter: already woken */
			}
			pthread_join(w->thread, NULL);
		}
		/* flows end, and detach their filters, on this thread now */
		if (w->epfd >= 0) {
			nh_flow_close_all(&w->flows);
			nh_flow_reap(&w->flows);
		}
		if (w->q_ready) {
			nh_inject_queue_fini(&w->q);
			w->flows.q = NULL;
			nh_flow_reap(&w->flows);
		}
		if (w->lis4.fd >= 0)
			close(w->lis4.fd);
		if (w->lis6.fd >= 0)
			close(w->lis6.fd);
		if (w->wake.fd >= 0)
			close(w->wake.fd);
		if (w->tick.fd >= 0)
			close(w->tick.fd);
		if (w->epfd >= 0)
			close(w->epfd);
		/* a worker with its own table took its spare with it */
		if (w->own_table ? w->spare0 >= 0 : w->spare_fd >= 0)
			close(w->own_table ? w->spare0 : w->spare_fd);
	}
	if (r->sem_ok)
		sem_destroy(&r->unshared);
	r->sem_ok = false;
	/* the count since the last line, not lost with the relay */
	refused_flush(r, true);
	r->nw = 0; /* stopped: a second stop has nothing to do */
}

void nh_relay_free(struct nh_relay *r)
{
	if (!r)
		return;
	nh_relay_stop(r);
	pthread_mutex_destroy(&r->refused_lock);
	free(r->w);
	free(r);
}

void nh_relay_addrs(const struct nh_relay *r, struct nh_bpf_addr *v4,
		    struct nh_bpf_addr *v6, uint64_t *netns_cookie)
{
	*v4 = r->a4;
	*v6 = r->a6;
	*netns_cookie = r->netns;
}

const char *nh_relay_route(const struct nh_relay *r)
{
	return r->route;
}

unsigned int nh_relay_active(const struct nh_relay *r)
{
	return atomic_load(&r->active);
}
