// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Handoff: a program's connect() waits (seccomp user notification) while
 * nethook connects the program's own socket to the first proxy, through a
 * copy of its descriptor (pidfd_getfd), and opens the tunnel through the
 * chain on it.  Then connect() returns 0 and the bytes go between the
 * program and the proxy with no relay in between: the same path an
 * LD_PRELOAD proxifier takes, for static and Go programs too.
 *
 * The rules stay in the kernel.  We connect the copy to the first proxy
 * only, never to where the program asked, after writing that destination
 * into the socket's record; the cgroup hook lets the connect go on only
 * when its rules divert that destination, and refuses anything else with
 * EXDEV.  Then we let the program's own connect() run
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE) and it meets the rules as usual.  A
 * socket with no record was not made in the scope (passed in, taken from
 * another process): no hook of ours would run on it, so its connect() is
 * refused.  The proxy's credentials go nowhere but to the proxy.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* tcpi_bytes_received */
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "nh_chain_walk.h"
#include "nh_ev.h"
#include "nh_handoff.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_notif.h"
#include "nh_spec.h"
#include "nh_thread.h"
#include "nh_time.h"
#include "nh_udiag.h"
#include "nh_umode.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* Connects waiting at once; past this they go the relay's way. */
#define HF_MAX_JOBS 4096

/* include/net/tcp_states.h: not in the uapi headers */
#define NH_TCP_CLOSE 7

struct hf_job {
	struct nh_ev ev; /* its socket's handler (nh_ev.h) */
	struct nh_handoff *h;
	struct hf_job *next, *prev;
	uint64_t id; /* the notification */
	uint64_t deadline;
	uint64_t t0; /* the connect to the first hop began */
	int fd; /* our copy of the program's socket */
	int fdnum; /* the program's number for it */
	int nhops; /* the hops it goes through: the chain, or those before
		    * a proxy of it the program asked for (user mode) */
	bool plain; /* user mode: a connect to a target, no tunnel */
	bool direct; /* ... and that target is where it asked (a pass) */
	struct sockaddr_storage to; /* that target */
	int fl; /* its file status flags, given back before the answer */
	bool connecting;
	socklen_t dlen;
	struct sockaddr_storage dst; /* what the program asked for */
	struct nh_sk_info si; /* who: the kernel's record of the socket */
	struct nh_chain_walk walk;
	char name[NH_REPORT_NAME]; /* dst is the resolver's for this name */
};

struct nh_handoff {
	struct nh_handoff_opts o;
	int ep, stop_fd, tick_fd;
	struct nh_notif_ans ans; /* the listener, and the answer's buffer */
	/* their handlers in ep (nh_ev.h); a job's socket has its own */
	struct nh_ev ev_lis, ev_stop, ev_tick;
	bool tick_due; /* the tick fired in this batch: run after it */
	pthread_t th;
	bool th_ok;
	struct seccomp_notif *req;
	size_t req_sz;
	struct hf_job *jobs;
	unsigned int njobs;
	struct nh_umode *um; /* user mode: the rules, DNS, peers */
	struct nh_udiag *ud; /* user mode: open connections, to their end */
	bool watch_direct; /* user mode: TCP connects let go are told too */
	unsigned int ticks;
};

static void answer(struct nh_handoff *h, uint64_t id, int error, bool go_on)
{
	nh_notif_answer(&h->ans, id, 0, error, go_on);
}

static void job_free(struct nh_handoff *h, struct hf_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		h->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	h->njobs--;
	/* the program's descriptor keeps the file open: closing ours alone
	 * would leave it in the epoll set */
	epoll_ctl(h->ep, EPOLL_CTL_DEL, j->fd, NULL);
	close(j->fd);
	free(j);
}

/* The end of a job's connection as the relay would report it. */
static void job_report_fill(const struct nh_handoff *h, const struct hf_job *j,
			    int err, struct nh_relay_report *rep)
{
	struct nh_sk_info si = j->si;
	socklen_t len = sizeof(rep->id.cookie);

	if (!h->um)
		bpf_map_lookup_elem(h->o.sk_info_fd, &j->fd,
				    &si); /* start_ns */
	rep->id.orig = si.orig;
	getsockopt(j->fd, SOL_SOCKET, SO_COOKIE, &rep->id.cookie, &len);
	rep->id.cgroup_id = si.cgroup_id;
	rep->id.start_ns = si.start_ns;
	rep->id.pid = si.pid;
	rep->id.uid = si.uid;
	memcpy(rep->id.comm, si.comm, sizeof(rep->id.comm));
	rep->id.family = si.family;
	rep->end_ns = nh_now_ns();
	rep->err = err;
	rep->handoff = true;
	memcpy(&rep->to, &j->dst, sizeof(j->dst));
	memcpy(rep->name, j->name, sizeof(rep->name));
	if (j->plain) {
		/* user mode: redirected, or let go where it asked */
		rep->to = j->to;
		rep->redirect = !j->direct;
		rep->direct = j->direct;
		return;
	}
	/* a handshake under way when it failed: how, and for how long */
	if (!j->connecting) {
		rep->hs_mode = (uint8_t)j->walk.mode;
		rep->hs_ns = rep->end_ns - j->t0;
	}
}

/*
 * A proxy that resets the tunnel as it opens: if the socket closed before
 * its record said "open", the kernel did not report the end (it would
 * have marked the record ended before storing the state we read).
 */
static bool died_untold(const struct nh_handoff *h, int fd, struct tcp_info *ti)
{
	socklen_t l = sizeof(*ti);
	struct nh_sk_info si;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l) ||
	    ti->tcpi_state != NH_TCP_CLOSE)
		return false;
	return !bpf_map_lookup_elem(h->o.sk_info_fd, &fd, &si) &&
	       si.handoff != NH_HANDOFF_ENDED;
}

/* User mode: the program's getpeername() says where it asked to go,
 * and the connection is watched to its end (nh_udiag.c). */
static void user_opened(struct nh_handoff *h, struct hf_job *j)
{
	struct sockaddr_storage via;
	struct nh_relay_report rep;
	socklen_t vl = sizeof(via);
	uint64_t cookie = nh_sock_cookie(j->fd);

	getpeername(j->fd, (void *)&via, &vl);
	nh_umode_peer_set(h->um, j->fdnum, cookie, NH_UPEER_TUNNEL, &j->dst,
			  &via);
	if (!h->ud)
		return;
	memset(&rep, 0, sizeof(rep));
	job_report_fill(h, j, 0, &rep);
	rep.established = true;
	rep.handoff = false; /* its end is no failure of connect() */
	rep.bytes_unknown = true;
	if (j->plain && !j->direct && h->o.report) {
		/* the redirect itself, as kernel mode tells it at connect */
		struct nh_relay_report at = rep;

		at.kind = NH_REPORT_OPEN;
		h->o.report(h->o.user, &at);
	}
	nh_udiag_add(h->ud, cookie, j->si.family == 6 ? AF_INET6 : AF_INET,
		     &rep);
}

/* The tunnel is open: the program's connect() succeeds.  The kernel's
 * record learns what the handshake took, so its end event counts only
 * the program's bytes. */
static void job_done(struct nh_handoff *h, struct hf_job *j)
{
	struct nh_relay_report rep;
	struct nh_sk_info si;
	struct tcp_info ti;
	bool died = false;
	char hop[128];

	if (h->um) {
		user_opened(h, j);
	} else if (!bpf_map_lookup_elem(h->o.sk_info_fd, &j->fd, &si)) {
		si.hs_out = (uint32_t)j->walk.io.out;
		si.hs_in = (uint32_t)j->walk.io.in;
		si.hs_mode = (__u8)j->walk.mode;
		si.hs_us = (__u32)((nh_now_ns() - j->t0) / 1000ull);
		si.handoff = NH_HANDOFF_OPEN;
		bpf_map_update_elem(h->o.sk_info_fd, &j->fd, &si, BPF_EXIST);
		died = died_untold(h, j->fd, &ti);
	}
	if (died) {
		/* the error stays the program's to read: not taken here */
		memset(&rep, 0, sizeof(rep));
		job_report_fill(h, j, ECONNRESET, &rep);
		rep.established = true;
		rep.bytes_in = ti.tcpi_bytes_received > j->walk.io.in ?
				       ti.tcpi_bytes_received - j->walk.io.in :
				       0;
		nh_proxy_hop_format(&h->o.hops[0], hop, sizeof(hop));
		snprintf(rep.detail, sizeof(rep.detail),
			 "reset by %s as the tunnel opened", hop);
	}
	fcntl(j->fd, F_SETFL, j->fl);
	answer(h, j->id, 0, false);
	job_free(h, j);
	if (died && h->o.report)
		h->o.report(h->o.user, &rep);
}

static void job_fail(struct nh_handoff *h, struct hf_job *j, int err,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* connect() fails with err, and the socket is as before it: unconnected
 * (a program may try again).  The end is ours to report, with why. */
static void job_fail(struct nh_handoff *h, struct hf_job *j, int err,
		     const char *fmt, ...)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct nh_relay_report rep;
	va_list ap;

	memset(&rep, 0, sizeof(rep));
	va_start(ap, fmt);
	vsnprintf(rep.detail, sizeof(rep.detail), fmt, ap);
	va_end(ap);
	job_report_fill(h, j, err, &rep);
	connect(j->fd, &unspec, sizeof(unspec));
	fcntl(j->fd, F_SETFL, j->fl);
	answer(h, j->id, -err, false);
	job_free(h, j);
	if (h->o.report)
		h->o.report(h->o.user, &rep);
}

/* The name the program looked up, when it connects to an address of
 * nethook's resolver: the tunnel asks for the name.  The job keeps a copy,
 * so the address may go to another name once it is open.  -ENOENT when
 * the name is gone. */
static int job_name(const struct nh_handoff *h, struct hf_job *j)
{
	if (!h->o.names || !nh_names_in_pool((const void *)&j->dst))
		return 0;
	return nh_names_lookup(h->o.names, (const void *)&j->dst, false,
			       nh_now_ns() / 1000000000ull, j->name,
			       sizeof(j->name));
}

/* A program that talks to a proxy of the chain itself: through the whole
 * chain the last proxy would be asked to connect to itself.  The relay
 * takes such a connection through the proxies before it. */
static int chain_hop(const struct nh_handoff *h,
		     const struct sockaddr_storage *dst)
{
	int k;

	for (k = 0; k < h->o.nhops; k++)
		if (nh_sockaddr_same((const void *)dst,
				     (const void *)&h->o.hops[k].addr))
			return k;
	return -1;
}

/* The connect to the first hop (or the target) failed with e. */
static void job_connect_failed(struct nh_handoff *h, struct hf_job *j, int e)
{
	char why[400], to[128];

	if (j->direct) {
		/* as the kernel's own end line: the error says it all */
		job_fail(h, j, e, "%s", "");
		return;
	}
	if (j->plain) {
		nh_sockaddr_format((void *)&j->to, to, sizeof(to));
		job_fail(h, j, e, "connect to %s: %s", to, strerror(e));
		return;
	}
	nh_chain_connect_failed(h->o.hops, j->nhops, &j->dst, e, why,
				sizeof(why));
	job_fail(h, j, e, "%s", why);
}

/* Move a job on as far as its socket allows. */
static void job_step(struct nh_handoff *h, struct hf_job *j)
{
	uint32_t events = EPOLLIN;
	const struct sockaddr_in6 *s6 = (const void *)&j->dst;
	const struct sockaddr_in *s4 = (const void *)&j->dst;
	socklen_t len = sizeof(int);
	char why[400];
	int r, e = 0;

	if (j->connecting) {
		getsockopt(j->fd, SOL_SOCKET, SO_ERROR, &e, &len);
		if (e) {
			job_connect_failed(h, j, e);
			return;
		}
		j->connecting = false;
		if (j->plain) {
			job_done(h, j);
			return;
		}
		nh_chain_walk_init(
			&j->walk, h->o.hops, j->nhops, &j->dst, j->name,
			ntohs(j->dst.ss_family == AF_INET6 ? s6->sin6_port :
							     s4->sin_port),
			j->nhops == h->o.nhops ? h->o.pipe : NULL, -1);
	}
	r = nh_chain_walk_step(&j->walk, j->fd, why, sizeof(why));
	if (r < 0) {
		/* the program's socket cannot be tried again: later ones
		 * go one step at a time */
		nh_chain_walk_pipe_failed(&j->walk, r, why);
		job_fail(h, j, -r, "%s", why);
		return;
	}
	if (r > 0) {
		job_done(h, j);
		return;
	}
	/* a request that did not fit waits for room, a reply for bytes */
	if (!nh_chain_walk_want_input(&j->walk))
		events = EPOLLOUT;
	nh_ev_mod(h->ep, j->fd, events, &j->ev);
}

static int on_job(struct nh_ev *ev, uint32_t events)
{
	struct hf_job *j = nh_container_of(ev, struct hf_job, ev);

	(void)events;
	job_step(j->h, j);
	return 0;
}

static bool is_tcp(int fd, int type)
{
	int proto = 0;
	socklen_t l = sizeof(int);

	return type == SOCK_STREAM &&
	       !getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) &&
	       proto == IPPROTO_TCP;
}

/* A new connection: a socket already connected or connecting gets its
 * EISCONN or EALREADY from the kernel, on its own connect(). */
static bool is_closed(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) &&
	       ti.tcpi_state == NH_TCP_CLOSE;
}

/*
 * A TCP or UDP socket the scope did not make: passed in (SCM_RIGHTS),
 * taken from a process outside (pidfd_getfd), or made after the program
 * left the scope's cgroup.  No hook of ours runs on it, so its connect()
 * would go wherever it asks: refused, and told as a block.
 */
static void refuse_foreign(struct nh_handoff *h, const struct seccomp_notif *q,
			   int fd, int type, const struct sockaddr_storage *dst)
{
	struct nh_relay_report rep;
	struct nh_sk_info si;

	nh_notif_refusal(
		q, fd, type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP, dst,
		EPERM,
		"a socket not made in nethook's scope (passed in or taken from another process): refused",
		&rep);
	memset(&si, 0, sizeof(si));
	if (!nh_notif_identity((pid_t)q->pid, &si.pid, &si.uid, si.comm,
			       sizeof(si.comm))) {
		rep.id.pid = si.pid;
		rep.id.uid = si.uid;
		memcpy(rep.id.comm, si.comm, sizeof(rep.id.comm));
	}
	rep.id.cgroup_id = h->o.cgroup_id;
	answer(h, q->id, -EPERM, false);
	if (h->o.report)
		h->o.report(h->o.user, &rep);
}

/* The first proxy, as the program's socket reaches it: -EAFNOSUPPORT
 * for an IPv6 proxy from an IPv4 socket (the relay, on 127.0.0.1, takes
 * that one in kernel mode). */
static int proxy_addr(const struct nh_handoff *h, int family,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	return nh_sockaddr_for_family(&h->o.hops[0].addr, family, ss, len);
}

/*
 * Ask the kernel to hand this connection off, then connect our copy to
 * the first proxy, and nowhere else.  0: the kernel's rules said yes and
 * the connection is under way (or failed with *err, the proxy's answer);
 * -EXDEV: not ours, the program's own connect() goes on.
 */
static int handoff_ask(struct nh_handoff *h, struct hf_job *j, int *err)
{
	struct sockaddr_storage to;
	struct nh_sk_info si;
	socklen_t tolen;
	int e;

	if (proxy_addr(h, j->dst.ss_family, &to, &tolen) || !is_closed(j->fd))
		return -EXDEV;
	si = j->si;
	nh_addr_from_sockaddr((void *)&j->dst, &si.asked);
	si.handoff = NH_HANDOFF_ASKED;
	if (bpf_map_update_elem(h->o.sk_info_fd, &j->fd, &si, BPF_EXIST))
		return -EXDEV;
	e = connect(j->fd, (void *)&to, tolen) && errno != EINPROGRESS ? errno :
									 0;
	/* the hook ran and said yes, or the question is taken back: a
	 * connect() that failed before the hook (the socket changed under
	 * us) must not leave it for the program's own */
	if (bpf_map_lookup_elem(h->o.sk_info_fd, &j->fd, &j->si))
		return -EXDEV;
	if (j->si.handoff == NH_HANDOFF_ASKED) {
		j->si.handoff = 0;
		bpf_map_update_elem(h->o.sk_info_fd, &j->fd, &j->si, BPF_EXIST);
	}
	if (j->si.handoff != NH_HANDOFF_OPENING) {
		/* connected without the kernel's yes (it cannot be: the
		 * record shows our hooks run on this socket): undone
		 * before a byte is sent */
		if (!e) {
			struct sockaddr unspec = { .sa_family = AF_UNSPEC };

			connect(j->fd, &unspec, sizeof(unspec));
		}
		return -EXDEV;
	}
	*err = e;
	return 0;
}

/* An IPv6-only socket cannot reach an IPv4 proxy; the relay, on ::1,
 * can take it.  (An AF_INET6 address is connect()ed only by an AF_INET6
 * socket.) */
static bool v6only_to_v4(const struct nh_handoff *h, int fd,
			 const struct sockaddr_storage *dst)
{
	int only = 0;
	socklen_t l = sizeof(int);

	if (h->o.hops[0].addr.ss_family != AF_INET ||
	    dst->ss_family != AF_INET6)
		return false;
	return !getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, &l) && only;
}

/* A job for the program's connect() on our copy fd of its socket: it
 * waits for us now.  NULL when out of memory. */
static struct hf_job *job_new(struct nh_handoff *h,
			      const struct seccomp_notif *q, int fd,
			      const struct sockaddr_storage *dst,
			      const struct nh_sk_info *si)
{
	struct hf_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->fd = fd;
	j->fdnum = (int)q->data.args[0];
	j->dst = *dst;
	j->si = *si;
	j->nhops = h->o.nhops;
	j->id = q->id;
	j->fl = fcntl(fd, F_GETFL);
	/* the program's file: non-blocking while we hold it */
	if (j->fl < 0 ||
	    (!(j->fl & O_NONBLOCK) && fcntl(fd, F_SETFL, j->fl | O_NONBLOCK))) {
		free(j);
		return NULL;
	}
	j->t0 = nh_now_ns();
	j->deadline = j->t0 + (uint64_t)h->o.timeout_ms * 1000000ull;
	j->ev.fn = on_job;
	j->h = h;
	return j;
}

/* The job waits for its connect, which began with error e (0 or
 * EINPROGRESS: under way). */
static void job_begin(struct nh_handoff *h, struct hf_job *j, int e)
{
	j->connecting = true;
	j->next = h->jobs;
	if (h->jobs)
		h->jobs->prev = j;
	h->jobs = j;
	h->njobs++;
	if (!e && !j->plain && job_name(h, j)) {
		job_fail(
			h, j, EHOSTUNREACH,
			"no name for this address of nethook's resolver any more (forgotten after its TTL, or the table was full)");
		return;
	}
	if (e)
		job_connect_failed(h, j, e);
	else if (nh_ev_add(h->ep, j->fd, EPOLLOUT, &j->ev)) {
		job_fail(h, j, ENOMEM, "epoll: %s", strerror(errno));
	}
}

/* One connect() in kernel mode: ours to open, or on as if we had not
 * looked (the kernel's rules then meet it). */
static void kernel_connect(struct nh_handoff *h, const struct seccomp_notif *q)
{
	struct sockaddr_storage dst;
	struct hf_job *j = NULL;
	struct nh_sk_info si;
	const char *why = NULL;
	socklen_t dlen = 0;
	int fd = -1, e = 0, type;

	if (h->njobs >= HF_MAX_JOBS) {
		why = "too many at once";
		goto go_on;
	}
	/* not IP (a unix socket, say): on at once.  What is read here is
	 * trusted only once the id check in nh_notif_getfd() has passed:
	 * the caller was alive all along, so the pid was not reused */
	if (nh_notif_read_addr((pid_t)q->pid, q->data.args[1], q->data.args[2],
			       &dst, &dlen))
		goto go_on;
	fd = nh_notif_getfd(h->ans.lfd, q, (int)q->data.args[0]);
	if (fd < 0) {
		why = "pidfd_getfd";
		e = -fd;
		goto go_on;
	}
	/* the kernel's record, looked up once: who made the socket, and
	 * that it was made in the scope */
	type = nh_sock_type(fd);
	if ((type == SOCK_STREAM || type == SOCK_DGRAM) &&
	    bpf_map_lookup_elem(h->o.sk_info_fd, &fd, &si)) {
		refuse_foreign(h, q, fd, type, &dst);
		close(fd);
		return;
	}
	if (!is_tcp(fd, type) || v6only_to_v4(h, fd, &dst))
		goto go_on;
	if (chain_hop(h, &dst) >= 0) {
		why = "to a proxy of the chain itself: the relay takes it";
		goto go_on;
	}
	j = job_new(h, q, fd, &dst, &si);
	if (!j) {
		why = "out of memory";
		goto go_on;
	}
	if (handoff_ask(h, j, &e)) {
		/* not diverted, or not a new connection: the program's
		 * own connect() goes on and meets the rules */
		fcntl(fd, F_SETFL, j->fl);
		e = 0;
		goto go_on;
	}
	job_begin(h, j, e);
	return;
go_on:
	if (why)
		nh_logf(h->o.lg, LOG_DEBUG,
			"handoff: pid %u: connect() left to the relay: %s%s%s",
			q->pid, why, e ? ": " : "", e ? strerror(e) : "");
	free(j);
	if (fd >= 0)
		close(fd);
	answer(h, q->id, 0, true);
}

/* User mode: a diverted connect() goes through the chain (or the part of
 * it before a proxy the program asks for itself). */
static void user_divert(struct nh_handoff *h, const struct seccomp_notif *q,
			struct hf_job *j, int fam)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	int k = chain_hop(h, &j->dst);

	if (k == 0) {
		/* to the first proxy itself: that is where it goes anyway */
		fcntl(j->fd, F_SETFL, j->fl);
		answer(h, q->id, 0, true);
		close(j->fd);
		free(j);
		return;
	}
	if (k > 0)
		j->nhops = k;
	if (v6only_to_v4(h, j->fd, &j->dst) ||
	    proxy_addr(h, fam, &to, &tolen)) {
		job_begin(h, j, ENETUNREACH);
		return;
	}
	job_begin(h, j,
		  connect(j->fd, (void *)&to, tolen) && errno != EINPROGRESS ?
			  errno :
			  0);
}

/* where user mode sends what goes to the resolver */
static const struct nh_bpf_rule dns_rule = { .action = NH_ACT_DNS };
/* a TCP connect let go where it asked, made by nethook to see its end */
static const struct nh_bpf_rule pass_rule = { .action = NH_ACT_PASS };

/* User mode: one connect(), against the rules kept here. */
static void user_connect(struct nh_handoff *h, const struct seccomp_notif *q)
{
	struct sockaddr_storage dst, to;
	const struct nh_bpf_rule *r;
	struct nh_sk_info si;
	struct hf_job *j;
	socklen_t dlen, tolen;
	int fd, type, proto, fam, e, np;
	bool closed;

	if (nh_notif_read_addr((pid_t)q->pid, q->data.args[1], q->data.args[2],
			       &dst, &dlen))
		return answer(h, q->id, 0, true); /* not IP */
	fd = nh_notif_getfd(h->ans.lfd, q, (int)q->data.args[0]);
	if (fd < 0)
		return answer(h, q->id, 0, true); /* the kernel says why */
	type = nh_sock_type(fd);
	proto = nh_sock_protocol(fd);
	fam = nh_sock_domain(fd);
	np = type == SOCK_DGRAM ? NH_PROTO_UDP : NH_PROTO_TCP;
	/* a new connection; one connected or connecting gets the kernel's
	 * EISCONN or EALREADY from its own connect() */
	closed = type == SOCK_STREAM && is_closed(fd);
	if (type == SOCK_DGRAM &&
	    (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6))
		((struct sockaddr_in *)&dst)->sin_port = 0; /* as UDP port 0 */
	r = nh_umode_rule(h->um, &dst, fam, np);
	if ((!r || r->action == NH_ACT_PASS) && h->watch_direct && closed) {
		/* made here, to be told at its end as kernel mode tells it */
		r = &pass_rule;
	} else if (!r || r->action == NH_ACT_PASS) {
		/* a socket connected elsewhere before is itself again */
		nh_umode_peer_set(h->um, (int)q->data.args[0],
				  nh_sock_cookie(fd), 0, NULL, NULL);
		answer(h, q->id, 0, true);
		goto cleanup;
	}
	if (r->action == NH_ACT_BLOCK && type == SOCK_DGRAM &&
	    nh_names_in_pool((const void *)&dst) &&
	    !nh_umode_target(h->um, &dns_rule, fam, &to, &tolen)) {
		/* getaddrinfo() connects a UDP socket to each answer to sort
		 * them, and sends nothing: that connect() goes on, quietly,
		 * to the resolver, where a datagram would go no further */
		if (!connect(fd, (void *)&to, tolen))
			nh_umode_peer_set(h->um, (int)q->data.args[0],
					  nh_sock_cookie(fd), NH_UPEER_DCONN,
					  &dst, &to);
		answer(h, q->id, 0, false);
		goto cleanup;
	}
	if (r->action == NH_ACT_BLOCK ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (type == SOCK_STREAM && proto != IPPROTO_TCP &&
	     proto != IPPROTO_MPTCP) ||
	    (type == SOCK_DGRAM && r->action == NH_ACT_DIVERT)) {
		e = r->action == NH_ACT_BLOCK ?
			    (r->err ? r->err : ECONNREFUSED) :
			    EPERM;
		nh_umode_refused(
			h->um, q, fd,
			type == SOCK_DGRAM ?
				(proto == IPPROTO_UDP ? IPPROTO_UDP : proto) :
				IPPROTO_TCP,
			&dst, e,
			r->action == NH_ACT_BLOCK ?
				NULL :
			type == SOCK_DGRAM ?
				"a proxy carries no datagrams: UDP is refused (--allow-udp lets it go direct)" :
				"a socket the proxy cannot carry (not TCP or UDP)");
		answer(h, q->id, -e, false);
		goto cleanup;
	}
	if (r == &pass_rule) {
		to = dst;
		tolen = dlen;
	} else if (nh_umode_target(h->um, r, fam, &to, &tolen) &&
		   r->action != NH_ACT_DIVERT) {
		answer(h, q->id, -EAFNOSUPPORT, false);
		goto cleanup;
	}
	if (type == SOCK_DGRAM) {
		/* to the resolver or the target: at once, as UDP connects */
		e = connect(fd, (void *)&to, tolen) ? -errno : 0;
		if (!e)
			nh_umode_peer_set(h->um, (int)q->data.args[0],
					  nh_sock_cookie(fd), NH_UPEER_DCONN,
					  &dst, &to);
		answer(h, q->id, 0, e);
		goto cleanup;
	}
	if (h->njobs >= HF_MAX_JOBS) {
		nh_umode_refused(h->um, q, fd, IPPROTO_TCP, &dst, ENOBUFS,
				 "too many connects waiting at once");
		answer(h, q->id, -ENOBUFS, false);
		goto cleanup;
	}
	if (!closed) {
		answer(h, q->id, 0, true);
		goto cleanup;
	}
	memset(&si, 0, sizeof(si));
	nh_umode_identity(h->um, (pid_t)q->pid, &si.pid, &si.uid, si.comm);
	si.start_ns = nh_now_ns();
	si.cgroup_id = h->o.cgroup_id;
	si.family = fam == AF_INET6 ? 6 : 4;
	nh_addr_from_sockaddr((const void *)&dst, &si.orig);
	j = job_new(h, q, fd, &dst, &si);
	if (!j) {
		answer(h, q->id, -ENOMEM, false);
		goto cleanup;
	}
	if (r->action == NH_ACT_DIVERT &&
	    (!h->o.nhops || h->o.hops[0].scheme == NH_PROXY_DIRECT)) {
		/* direct://: the connection goes where it asked */
		fcntl(fd, F_SETFL, j->fl);
		free(j);
		answer(h, q->id, 0, true);
		goto cleanup;
	}
	if (r->action != NH_ACT_DIVERT) {
		j->plain = true;
		j->direct = r == &pass_rule;
		j->to = to;
		job_begin(h, j,
			  connect(fd, (void *)&to, tolen) &&
					  errno != EINPROGRESS ?
				  errno :
				  0);
		return;
	}
	user_divert(h, q, j, fam);
	return;
cleanup:
	close(fd);
}

static void on_notify(struct nh_handoff *h)
{
	struct seccomp_notif *q = h->req;

	memset(q, 0, h->req_sz);
	if (ioctl(h->ans.lfd, SECCOMP_IOCTL_NOTIF_RECV, q))
		return; /* the caller is gone already */
	if (!h->um)
		return kernel_connect(h, q);
#ifdef NH_AUDIT_ARCH
	if (q->data.arch == NH_AUDIT_ARCH && q->data.nr == __NR_connect)
		return user_connect(h, q);
#endif
	nh_umode_notify(h->um, q);
}

/* Jobs past their deadline fail. */
static void jobs_expire(struct nh_handoff *h)
{
	struct hf_job *j, *next;
	uint64_t now = nh_now_ns(), v;
	char why[400];

	if (read(h->tick_fd, &v, sizeof(v)) < 0) {
		/* a tick is a tick */
	}
	for (j = h->jobs; j; j = next) {
		next = j->next;
		if (now <= j->deadline)
			continue;
		if (j->plain)
			snprintf(why, sizeof(why),
				 "connect timed out after %u ms",
				 h->o.timeout_ms);
		else
			nh_chain_timed_out(h->o.hops, j->nhops, j->walk.hop,
					   &j->dst, j->connecting,
					   h->o.timeout_ms, why, sizeof(why));
		job_fail(h, j, ETIMEDOUT, "%s", why);
	}
}

/* The program's connect() waits: nethook is going, or nobody is left
 * to ask (-EPIPE ends the loop). */
static int on_listener(struct nh_ev *ev, uint32_t events)
{
	struct nh_handoff *h = nh_container_of(ev, struct nh_handoff, ev_lis);

	if (events & (EPOLLHUP | EPOLLERR))
		return -EPIPE;
	on_notify(h);
	return 0;
}

/* Deadlines are checked after the batch: a job it ends may have an
 * event in this batch, and must be there when that runs. */
static int on_tick(struct nh_ev *ev, uint32_t events)
{
	struct nh_handoff *h = nh_container_of(ev, struct nh_handoff, ev_tick);

	(void)events;
	h->tick_due = true;
	return 0;
}

static void *loop(void *arg)
{
	struct nh_handoff *h = arg;
	struct epoll_event evs[64];
	int n, i;

	for (;;) {
		n = epoll_wait(h->ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			break;
		h->tick_due = false;
		for (i = 0; i < n; i++)
			if (nh_ev_run(&evs[i]) < 0)
				return NULL;
		if (h->tick_due) {
			jobs_expire(h);
			if (h->um)
				nh_umode_expire(h->um);
			/* once a second: ends within a second of the close */
			if (h->ud && ++h->ticks % 10 == 0)
				nh_udiag_poll(h->ud);
		}
	}
	return NULL;
}

static int watch(int ep, int fd, struct nh_ev *ev, nh_ev_fn fn)
{
	ev->fn = fn;
	return nh_ev_add(ep, fd, EPOLLIN, ev);
}

int nh_handoff_start(const struct nh_handoff_opts *o, int lfd,
		     struct nh_handoff **out)
{
	struct itimerspec it = { { 0, 100000000L }, { 0, 100000000L } };
	struct nh_handoff *h;
	int err;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(lfd);
		return -ENOMEM;
	}
	h->o = *o;
	h->ans.lfd = lfd;
	h->ep = h->stop_fd = h->tick_fd = -1;
	err = -EINVAL;
	/* user mode may have no proxy: its rules redirect and block */
	if (!o->umode && (o->nhops < 1 || o->hops[0].scheme == NH_PROXY_DIRECT))
		goto cleanup;
	err = nh_notif_sizes(&h->req_sz, &h->ans.resp_sz);
	if (err)
		goto cleanup;
	err = -ENOMEM;
	h->req = calloc(1, h->req_sz);
	h->ans.resp = calloc(1, h->ans.resp_sz);
	if (!h->req || !h->ans.resp)
		goto cleanup;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->tick_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (h->ep < 0 || h->stop_fd < 0 || h->tick_fd < 0 ||
	    timerfd_settime(h->tick_fd, 0, &it, NULL)) {
		err = -errno;
		goto cleanup;
	}
	/* Linux 6.6: the program and this thread wake each other on one
	 * CPU (it waits while we work): no cross-CPU wake-up either way */
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP))
		nh_logf(o->lg, LOG_DEBUG, "handoff: no synchronous wake-up: %s",
			strerror(errno));
	if (o->umode) {
		struct nh_umode_opts uo = *o->umode;

		uo.ep = h->ep;
		uo.ans = &h->ans;
		uo.lg = o->lg;
		uo.report = o->report;
		uo.user = o->user;
		err = nh_umode_new(&uo, &h->um);
		if (err)
			goto cleanup;
		h->watch_direct = o->umode->watch_direct;
		err = nh_udiag_new(o->report, o->user, &h->ud);
		if (err)
			nh_logf(o->lg, LOG_NOTICE,
				"user mode: no sock_diag (%s): no end line for connections that opened",
				strerror(-err));
		err = 0;
	}
	err = watch(h->ep, lfd, &h->ev_lis, on_listener);
	if (!err)
		err = watch(h->ep, h->stop_fd, &h->ev_stop, nh_ev_end);
	if (!err)
		err = watch(h->ep, h->tick_fd, &h->ev_tick, on_tick);
	if (err)
		goto cleanup;
	err = nh_thread_start(&h->th, loop, h);
	if (err)
		goto cleanup;
	h->th_ok = true;
	*out = h;
	return 0;
cleanup:
	nh_handoff_stop(h);
	return err;
}

void nh_handoff_stop(struct nh_handoff *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	if (h->th_ok) {
		if (write(h->stop_fd, &one, sizeof(one)) < 0) {
			/* cannot fail on a fresh eventfd */
		}
		pthread_join(h->th, NULL);
	}
	while (h->jobs)
		job_fail(h, h->jobs, ENETUNREACH, "nethook is stopping");
	nh_umode_free(h->um);
	nh_udiag_free(h->ud); /* the ends of what is left, told */
	if (h->ans.lfd >= 0)
		close(h->ans.lfd);
	if (h->ep >= 0)
		close(h->ep);
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	if (h->tick_fd >= 0)
		close(h->tick_fd);
	free(h->req);
	free(h->ans.resp);
	free(h);
}
