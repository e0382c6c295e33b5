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
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/tcp.h> /* tcpi_bytes_received */
#include <linux/seccomp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "nh_chain_walk.h"
#include "nh_ev.h"
#include "nh_handoff.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_spec.h"
#include "nh_thread.h"
#include "nh_time.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#if defined(__x86_64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NH_AUDIT_ARCH AUDIT_ARCH_I386
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
	int lfd, ep, stop_fd, tick_fd;
	/* their handlers in ep (nh_ev.h); a job's socket has its own */
	struct nh_ev ev_lis, ev_stop, ev_tick;
	bool tick_due; /* the tick fired in this batch: run after it */
	pthread_t th;
	bool th_ok;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_sz, resp_sz;
	struct hf_job *jobs;
	unsigned int njobs;
};

static int seccomp_(unsigned int op, unsigned int flags, void *arg)
{
	return (int)syscall(SYS_seccomp, op, flags, arg);
}

NH_API int nh_handoff_listen(void)
{
#ifdef NH_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		/* another ABI (a 32-bit program): its connects reach the
		 * relay, through the cgroup hook */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NH_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	int fd;

	/* killable only: a signal must not cut a connect() short while we
	 * talk on its socket, or the program could send before the tunnel
	 * is open (Go retries an interrupted connect by polling) */
	fd = seccomp_(SECCOMP_SET_MODE_FILTER,
		      SECCOMP_FILTER_FLAG_NEW_LISTENER |
			      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
		      &prog);
	if (fd < 0 && errno == EINVAL)
		return nh_err(-EOPNOTSUPP);
	if (fd < 0)
		return nh_err(-errno);
	return fd;
#else
	return nh_err(-EOPNOTSUPP);
#endif
}

static int pidfd_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = 0;
	FILE *f;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	fd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	/* before Linux 6.9, only a thread-group leader has a pidfd */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
}

/* The answer: val 0 and error 0 for success, error -errno, or on with
 * the program's own connect(). */
static void answer(struct nh_handoff *h, uint64_t id, int error, bool go_on)
{
	memset(h->resp, 0, h->resp_sz);
	h->resp->id = id;
	h->resp->error = error;
	h->resp->flags = go_on ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
	/* ENOENT: the program was killed meanwhile */
	ioctl(h->lfd, SECCOMP_IOCTL_NOTIF_SEND, h->resp);
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

	bpf_map_lookup_elem(h->o.sk_info_fd, &j->fd, &si); /* start_ns */
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

	if (!bpf_map_lookup_elem(h->o.sk_info_fd, &j->fd, &si)) {
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
static bool chain_hop(const struct nh_handoff *h,
		      const struct sockaddr_storage *dst)
{
	int k;

	for (k = 0; k < h->o.nhops; k++)
		if (nh_sockaddr_same((const void *)dst,
				     (const void *)&h->o.hops[k].addr))
			return true;
	return false;
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
			nh_chain_connect_failed(h->o.hops, h->o.nhops, &j->dst,
						e, why, sizeof(why));
			job_fail(h, j, e, "%s", why);
			return;
		}
		j->connecting = false;
		nh_chain_walk_init(
			&j->walk, h->o.hops, h->o.nhops, &j->dst, j->name,
			ntohs(j->dst.ss_family == AF_INET6 ? s6->sin6_port :
							     s4->sin_port),
			h->o.pipe, -1);
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

/* What the program passed to connect(), read from its memory. */
static int read_dst(pid_t pid, uint64_t ptr, uint64_t len,
		    struct sockaddr_storage *ss, socklen_t *ssl)
{
	struct iovec local = { ss, sizeof(*ss) }, remote;
	ssize_t n;

	if (len < sizeof(struct sockaddr_in) || len > sizeof(*ss))
		return -1;
	remote.iov_base = (void *)(uintptr_t)ptr;
	remote.iov_len = (size_t)len;
	local.iov_len = (size_t)len;
	memset(ss, 0, sizeof(*ss));
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n != (ssize_t)len)
		return -1;
	if (ss->ss_family == AF_INET6 && len < sizeof(struct sockaddr_in6))
		return -1;
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return -1;
	*ssl = (socklen_t)len;
	return 0;
}

/* Who holds a socket the scope did not make, for the block line: from
 * /proc, since the kernel has no record of it. */
static int proc_identity(pid_t tid, struct nh_sk_info *si)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = '\0';
			memcpy(si->comm, line + 6,
			       strnlen(line + 6, sizeof(si->comm) - 1));
		}
		if (!strncmp(line, "Tgid:", 5))
			sscanf(line + 5, "%u", &si->pid);
		else if (!strncmp(line, "Uid:", 4))
			sscanf(line + 4, "%u", &si->uid);
	}
	fclose(f);
	return si->pid ? 0 : -ESRCH;
}

static int sock_type(int fd)
{
	int type = 0;
	socklen_t l = sizeof(int);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) ? -1 : type;
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
	socklen_t len = sizeof(rep.id.cookie);

	memset(&rep, 0, sizeof(rep));
	memset(&si, 0, sizeof(si));
	proc_identity((pid_t)q->pid, &si);
	rep.id.pid = si.pid ? si.pid : q->pid;
	rep.id.uid = si.uid;
	memcpy(rep.id.comm, si.comm, sizeof(rep.id.comm));
	rep.id.cgroup_id = h->o.cgroup_id;
	rep.id.start_ns = rep.end_ns = nh_now_ns();
	rep.id.family = dst->ss_family == AF_INET6 ? 6 : 4;
	nh_addr_from_sockaddr((const void *)dst, &rep.id.orig);
	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &rep.id.cookie, &len);
	rep.proto = type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	rep.err = EPERM;
	rep.blocked = true;
	rep.handoff = true;
	snprintf(rep.detail, sizeof(rep.detail),
		 "a socket not made in nethook's scope (passed in or taken "
		 "from another process): refused");
	answer(h, q->id, -EPERM, false);
	if (h->o.report)
		h->o.report(h->o.user, &rep);
}

/* The first proxy, as the program's socket reaches it: an IPv4 proxy from
 * an IPv6 socket as ::ffff:a.b.c.d.  -EAFNOSUPPORT for an IPv6 proxy
 * from an IPv4 socket (the relay, on 127.0.0.1, takes that one). */
static int proxy_addr(const struct nh_handoff *h, int family,
		      struct sockaddr_storage *ss, socklen_t *len)
{
	const struct sockaddr_storage *p = &h->o.hops[0].addr;
	const struct sockaddr_in *p4 = (const void *)p;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (p->ss_family == family) {
		*len = family == AF_INET ? sizeof(struct sockaddr_in) :
					   sizeof(struct sockaddr_in6);
		memcpy(ss, p, *len);
		return 0;
	}
	if (family != AF_INET6)
		return -EAFNOSUPPORT;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = p4->sin_port;
	s6->sin6_addr.s6_addr[10] = 0xff;
	s6->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&s6->sin6_addr.s6_addr[12], &p4->sin_addr, 4);
	*len = sizeof(*s6);
	return 0;
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

/* One connect(): ours to open, or on as if we had not looked. */
static void on_notify(struct nh_handoff *h)
{
	struct seccomp_notif *q = h->req;
	struct sockaddr_storage dst;
	struct hf_job *j = NULL;
	struct nh_sk_info si;
	const char *why = NULL;
	socklen_t dlen = 0;
	int pfd = -1, fd = -1, e = 0, type;

	memset(q, 0, h->req_sz);
	if (ioctl(h->lfd, SECCOMP_IOCTL_NOTIF_RECV, q))
		return; /* the caller is gone already */
	if (h->njobs >= HF_MAX_JOBS) {
		why = "too many at once";
		goto go_on;
	}
	/* not IP (a unix socket, say): on at once.  What is read here is
	 * trusted only once the id check below has passed: the caller was
	 * alive all along, so the pid was not reused */
	if (read_dst((pid_t)q->pid, q->data.args[1], q->data.args[2], &dst,
		     &dlen))
		goto go_on;
	/* the pidfd first, then the id check: the descriptor taken below is
	 * the caller's */
	pfd = pidfd_of((pid_t)q->pid);
	if (pfd < 0 || ioctl(h->lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &q->id)) {
		why = "pidfd_open";
		e = errno;
		goto go_on;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pfd, (int)q->data.args[0], 0);
	if (fd < 0) {
		why = "pidfd_getfd";
		e = errno;
		goto go_on;
	}
	/* the kernel's record, looked up once: who made the socket, and
	 * that it was made in the scope */
	type = sock_type(fd);
	if ((type == SOCK_STREAM || type == SOCK_DGRAM) &&
	    bpf_map_lookup_elem(h->o.sk_info_fd, &fd, &si)) {
		refuse_foreign(h, q, fd, type, &dst);
		close(fd);
		close(pfd);
		return;
	}
	if (!is_tcp(fd, type) || v6only_to_v4(h, fd, &dst))
		goto go_on;
	if (chain_hop(h, &dst)) {
		why = "to a proxy of the chain itself: the relay takes it";
		goto go_on;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		why = "out of memory";
		goto go_on;
	}
	j->fd = fd;
	j->dst = dst;
	j->si = si;
	j->fl = fcntl(fd, F_GETFL);
	if (j->fl < 0) {
		why = "fcntl";
		e = errno;
		goto go_on;
	}
	/* the program's file: non-blocking while we hold it */
	if (!(j->fl & O_NONBLOCK) && fcntl(fd, F_SETFL, j->fl | O_NONBLOCK)) {
		why = "fcntl";
		e = errno;
		goto go_on;
	}
	/* before the connect to the first proxy, which handoff_ask makes */
	j->t0 = nh_now_ns();
	if (handoff_ask(h, j, &e)) {
		/* not diverted, or not a new connection: the program's
		 * own connect() goes on and meets the rules */
		fcntl(fd, F_SETFL, j->fl);
		e = 0;
		goto go_on;
	}
	close(pfd);
	j->id = q->id;
	j->dlen = dlen;
	j->connecting = true;
	j->deadline = j->t0 + (uint64_t)h->o.timeout_ms * 1000000ull;
	j->ev.fn = on_job;
	j->h = h;
	j->next = h->jobs;
	if (h->jobs)
		h->jobs->prev = j;
	h->jobs = j;
	h->njobs++;
	if (!e && job_name(h, j)) {
		job_fail(
			h, j, EHOSTUNREACH,
			"no name for this address of nethook's resolver any more (forgotten after its TTL, or the table was full)");
		return;
	}
	if (e) {
		char why[400];

		nh_chain_connect_failed(h->o.hops, h->o.nhops, &j->dst, e, why,
					sizeof(why));
		job_fail(h, j, e, "%s", why);
	} else if (nh_ev_add(h->ep, fd, EPOLLOUT, &j->ev)) {
		job_fail(h, j, ENOMEM, "epoll: %s", strerror(errno));
	}
	return;
go_on:
	if (why)
		nh_logf(h->o.lg, LOG_DEBUG,
			"handoff: pid %u: connect() left to the relay: %s%s%s",
			q->pid, why, e ? ": " : "", e ? strerror(e) : "");
	free(j);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	answer(h, q->id, 0, true);
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
		nh_chain_timed_out(h->o.hops, h->o.nhops, j->walk.hop, &j->dst,
				   j->connecting, h->o.timeout_ms, why,
				   sizeof(why));
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
		if (h->tick_due)
			jobs_expire(h);
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
	struct seccomp_notif_sizes sz;
	struct nh_handoff *h;
	int err;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(lfd);
		return -ENOMEM;
	}
	h->o = *o;
	h->lfd = lfd;
	h->ep = h->stop_fd = h->tick_fd = -1;
	err = -EINVAL;
	if (o->nhops < 1 || o->hops[0].scheme == NH_PROXY_DIRECT)
		goto cleanup;
	if (seccomp_(SECCOMP_GET_NOTIF_SIZES, 0, &sz)) {
		err = -errno;
		goto cleanup;
	}
	/* the kernel's structs may be larger than ours */
	h->req_sz = sz.seccomp_notif > sizeof(*h->req) ? sz.seccomp_notif :
							 sizeof(*h->req);
	h->resp_sz = sz.seccomp_notif_resp > sizeof(*h->resp) ?
			     sz.seccomp_notif_resp :
			     sizeof(*h->resp);
	err = -ENOMEM;
	h->req = calloc(1, h->req_sz);
	h->resp = calloc(1, h->resp_sz);
	if (!h->req || !h->resp)
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
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->ep >= 0)
		close(h->ep);
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	if (h->tick_fd >= 0)
		close(h->tick_fd);
	free(h->req);
	free(h->resp);
	free(h);
}
