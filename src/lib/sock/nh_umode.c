// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * User mode's system calls but connect(): sends to an address and
 * receives from one, on the sockets whose datagrams go to nethook's
 * resolver (or a --redirect target), and getpeername().
 *
 * A send to an address the rules send elsewhere is made here, on a copy
 * of the program's descriptor, to where they send it; a receive on such
 * a socket is read here, and the source the program sees is the address
 * it sent to.  glibc, musl and Go check that source.  The socket itself
 * is the program's: its poll() and its port are real.
 *
 * Nothing here is enforcement: a program that rewrites its arguments
 * between our look and the kernel's, or sends with io_uring (refused by
 * the filter) or through a call we do not catch, can escape.  Kernel
 * mode is what enforces.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "nh_ev.h"
#include "nh_rule_match.h"
#include "nh_spec.h"
#include "nh_time.h"
#include "nh_umode.h"

/* sockets remembered: the oldest entry goes first (memory is taken as
 * they come: calloc'd pages are touched only when used) */
#define UM_PEERS 65536
#define UM_BUCKETS 16384
/* who a thread is: remembered a second, by thread id */
#define UM_WHO 1024
#define UM_WHO_NS 1000000000ull
/* the largest datagram read or sent for a program */
#define UM_DGRAM 65536
/* receives that wait at once */
#define UM_WAITS 1024
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

union um_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct um_peer {
	uint64_t cookie; /* 0: a free slot */
	int fd; /* the program's number for it */
	int kind;
	bool said; /* a refusal of it was told: once per socket */
	int32_t next; /* in its bucket; -1 ends */
	union um_addr orig, via;
};

/* A receive that waits for a datagram. */
struct um_wait {
	struct nh_ev ev;
	struct nh_umode *u;
	struct um_wait *next, *prev;
	struct seccomp_notif q;
	int fd; /* our copy */
	uint64_t deadline; /* 0: none */
	union um_addr orig, via;
};

struct nh_umode {
	struct nh_umode_opts o;
	struct nh_bpf_rule *rules;
	struct um_peer *peer;
	int32_t bucket[UM_BUCKETS];
	uint32_t clock;
	char *buf;
	struct um_wait *waits;
	unsigned int nwaits;
	bool said_abi;
	/* a /proc read costs 12 us a connect: a thread's last answer is
	 * taken again within a second (a thread id reused, or an exec,
	 * within that second may name the one before) */
	struct um_who {
		uint64_t at;
		uint32_t tid, pid, uid;
		char comm[NH_COMM_LEN];
	} who[UM_WHO];
};

static void ss_from(struct sockaddr_storage *ss, const union um_addr *a)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, a,
	       a->sa.sa_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4));
}

static void addr_from(union um_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	memcpy(a, ss,
	       ss->ss_family == AF_INET6 ? sizeof(a->v6) : sizeof(a->v4));
}

int nh_umode_new(const struct nh_umode_opts *o, struct nh_umode **out)
{
	struct nh_umode *u;
	int i;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->o = *o;
	u->peer = calloc(UM_PEERS, sizeof(*u->peer));
	u->buf = malloc(UM_DGRAM);
	u->rules = calloc(o->nrules ? (size_t)o->nrules : 1, sizeof(*u->rules));
	if (!u->peer || !u->buf || !u->rules) {
		nh_umode_free(u);
		return -ENOMEM;
	}
	if (o->nrules)
		memcpy(u->rules, o->rules,
		       (size_t)o->nrules * sizeof(*u->rules));
	for (i = 0; i < UM_BUCKETS; i++)
		u->bucket[i] = -1;
	*out = u;
	return 0;
}

static void wait_free(struct nh_umode *u, struct um_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		u->waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	u->nwaits--;
	epoll_ctl(u->o.ep, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	free(w);
}

void nh_umode_free(struct nh_umode *u)
{
	if (!u)
		return;
	while (u->waits) {
		nh_notif_answer(u->o.ans, u->waits->q.id, 0, -EINTR, false);
		wait_free(u, u->waits);
	}
	free(u->peer);
	free(u->buf);
	free(u->rules);
	free(u);
}

const struct nh_bpf_rule *nh_umode_rule(const struct nh_umode *u,
					const struct sockaddr_storage *dst,
					int sock_family, int proto)
{
	struct nh_bpf_addr a;
	__u8 p;
	int i;

	if (nh_addr_from_sockaddr((const void *)dst, &a))
		return NULL;
	p = nh_rule_proto((__u8)proto, sock_family == AF_INET6 ? 6 : 4);
	for (i = 0; i < u->o.nrules; i++)
		if (nh_rule_matches(&u->rules[i], a.addr, a.port, p))
			return &u->rules[i];
	return NULL;
}

/* a, as a socket of that family reaches it */
static int addr_for(const struct nh_bpf_addr *a, int sock_family,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_storage sa;

	nh_addr_to_sockaddr(a, &sa);
	return nh_sockaddr_for_family(&sa, sock_family, ss, len);
}

int nh_umode_target(const struct nh_umode *u, const struct nh_bpf_rule *r,
		    int sock_family, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	if (r->action != NH_ACT_DNS)
		return addr_for(&r->target, sock_family, ss, len);
	if (sock_family == AF_INET6 && u->o.dns6.family &&
	    !addr_for(&u->o.dns6, sock_family, ss, len))
		return 0;
	return addr_for(&u->o.dns4, sock_family, ss, len);
}

static uint32_t bucket_of(int fd)
{
	return (uint32_t)fd % UM_BUCKETS;
}

static void peer_unlink(struct nh_umode *u, int32_t k)
{
	int32_t *p = &u->bucket[bucket_of(u->peer[k].fd)];

	while (*p >= 0 && *p != k)
		p = &u->peer[*p].next;
	if (*p == k)
		*p = u->peer[k].next;
	u->peer[k].cookie = 0;
}

static int32_t peer_find(const struct nh_umode *u, int fd, uint64_t cookie)
{
	int32_t k;

	for (k = u->bucket[bucket_of(fd)]; k >= 0; k = u->peer[k].next)
		if (u->peer[k].fd == fd && u->peer[k].cookie == cookie)
			return k;
	return -1;
}

/* Any entry of these kinds (a bit each) under this descriptor number:
 * only then is the descriptor taken and its cookie read. */
static bool peer_any(const struct nh_umode *u, int fd, unsigned int kinds)
{
	int32_t k;

	for (k = u->bucket[bucket_of(fd)]; k >= 0; k = u->peer[k].next)
		if (u->peer[k].fd == fd && (kinds & 1u << u->peer[k].kind))
			return true;
	return false;
}

int nh_umode_identity(struct nh_umode *u, pid_t tid, uint32_t *pid,
		      uint32_t *uid, char comm[NH_COMM_LEN])
{
	struct um_who *w = &u->who[(uint32_t)tid % UM_WHO];
	uint64_t now = nh_now_ns();
	int err;

	if (w->tid == (uint32_t)tid && w->at && now - w->at < UM_WHO_NS) {
		*pid = w->pid;
		*uid = w->uid;
		memcpy(comm, w->comm, NH_COMM_LEN);
		return 0;
	}
	*pid = *uid = 0;
	memset(comm, 0, NH_COMM_LEN);
	err = nh_notif_identity(tid, pid, uid, comm, NH_COMM_LEN);
	if (err)
		return err;
	w->tid = (uint32_t)tid;
	w->pid = *pid;
	w->uid = *uid;
	memcpy(w->comm, comm, NH_COMM_LEN);
	w->at = now;
	return 0;
}

void nh_umode_peer_set(struct nh_umode *u, int fdnum, uint64_t cookie,
		       enum nh_upeer_kind kind,
		       const struct sockaddr_storage *orig,
		       const struct sockaddr_storage *via)
{
	int32_t k = peer_find(u, fdnum, cookie);
	struct um_peer *e;

	if (!cookie)
		return;
	if (k < 0 && !kind)
		return;
	if (k >= 0 && !kind) {
		peer_unlink(u, k);
		return;
	}
	if (k < 0) {
		k = (int32_t)(u->clock++ % UM_PEERS);
		if (u->peer[k].cookie)
			peer_unlink(u, k);
		u->peer[k].fd = fdnum;
		u->peer[k].next = u->bucket[bucket_of(fdnum)];
		u->bucket[bucket_of(fdnum)] = k;
	}
	e = &u->peer[k];
	/* a send to an address from a connected socket leaves it so */
	if (e->cookie == cookie && e->kind == NH_UPEER_DCONN &&
	    kind == NH_UPEER_DGRAM)
		return;
	if (e->cookie != cookie)
		e->said = false;
	e->cookie = cookie;
	e->kind = (int)kind;
	if (orig)
		addr_from(&e->orig, orig);
	if (via)
		addr_from(&e->via, via);
}

/* Was a refusal of this socket told?  From now on it was. */
static bool peer_said(struct nh_umode *u, int fd, uint64_t cookie,
		      const struct sockaddr_storage *dst)
{
	int32_t k = peer_find(u, fd, cookie);
	bool said;

	if (k < 0) {
		/* an entry of no kind: only that it was told */
		nh_umode_peer_set(u, fd, cookie, NH_UPEER_SAID, dst, dst);
		k = peer_find(u, fd, cookie);
		if (k < 0)
			return false;
	}
	said = u->peer[k].said;
	u->peer[k].said = true;
	return said;
}

void nh_umode_refused(struct nh_umode *u, const struct seccomp_notif *q, int fd,
		      int proto, const struct sockaddr_storage *dst, int err,
		      const char *detail)
{
	struct nh_relay_report rep;
	char comm[NH_COMM_LEN] = "";
	uint32_t pid, uid;

	nh_notif_refusal(q, fd, proto, dst, err, detail, &rep);
	if (!nh_umode_identity(u, (pid_t)q->pid, &pid, &uid, comm)) {
		rep.id.pid = pid;
		rep.id.uid = uid;
		memcpy(rep.id.comm, comm, sizeof(rep.id.comm));
	}
	if (u->o.report)
		u->o.report(u->o.user, &rep);
}

static void go_on(struct nh_umode *u, const struct seccomp_notif *q)
{
	nh_notif_answer(u->o.ans, q->id, 0, 0, true);
}

/* Up to UM_DGRAM bytes of the caller's iovecs, gathered into u->buf. */
static ssize_t read_iov(struct nh_umode *u, pid_t pid, uint64_t iov_ptr,
			uint64_t n)
{
	struct iovec iov[64];
	size_t got = 0, i;

	if (n > 64)
		return -EMSGSIZE;
	if (nh_notif_read(pid, iov_ptr, iov, (size_t)n * sizeof(iov[0])))
		return -EFAULT;
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len > UM_DGRAM - got)
			return -EMSGSIZE;
		if (nh_notif_read(pid, (uint64_t)(uintptr_t)iov[i].iov_base,
				  u->buf + got, iov[i].iov_len))
			return -EFAULT;
		got += iov[i].iov_len;
	}
	return (ssize_t)got;
}

/* What a datagram socket's send to dst comes to: NULL when it goes on
 * as the program made it, else the rule that takes it (answered here
 * when it refuses). */
static const struct nh_bpf_rule *dgram_rule(struct nh_umode *u,
					    const struct seccomp_notif *q,
					    int fd, int fam,
					    struct sockaddr_storage *dst)
{
	const struct nh_bpf_rule *r;
	int proto = nh_sock_protocol(fd), err;
	const char *why;

	/* ping sockets meet the rules as UDP to port 0, as in the kernel */
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		((struct sockaddr_in *)dst)->sin_port = 0;
	r = nh_umode_rule(u, dst, fam, NH_PROTO_UDP);
	if (!r || r->action == NH_ACT_PASS)
		return NULL;
	if (r->action == NH_ACT_DNS || r->action == NH_ACT_REDIRECT)
		return r;
	err = r->action == NH_ACT_BLOCK && r->err ? r->err : EPERM;
	why = r->action == NH_ACT_BLOCK ?
		      NULL :
		      "a proxy carries no datagrams: UDP is refused (--allow-udp lets it go direct)";
	if (!peer_said(u, (int)q->data.args[0], nh_sock_cookie(fd), dst))
		nh_umode_refused(u, q, fd,
				 proto == IPPROTO_ICMP ||
						 proto == IPPROTO_ICMPV6 ?
					 proto :
					 IPPROTO_UDP,
				 dst, err, why);
	nh_notif_answer(u->o.ans, q->id, 0, -err, false);
	return r;
}

/* sendto(fd, buf, len, flags, dst, dlen) and sendmsg(fd, msg, flags) to
 * an address: on as made, refused, or made here to where the rule
 * sends it. */
static void on_send(struct nh_umode *u, const struct seccomp_notif *q, bool msg)
{
	pid_t pid = (pid_t)q->pid;
	struct sockaddr_storage dst, to;
	const struct nh_bpf_rule *r;
	struct msghdr mh;
	socklen_t dlen, tolen;
	uint64_t flags = msg ? q->data.args[2] : q->data.args[3];
	ssize_t n;
	int fd, type, fam;

	if (msg) {
		if (nh_notif_read(pid, q->data.args[1], &mh, sizeof(mh)) ||
		    !mh.msg_name ||
		    nh_notif_read_addr(pid, (uint64_t)(uintptr_t)mh.msg_name,
				       mh.msg_namelen, &dst, &dlen))
			return go_on(u, q);
	} else if (nh_notif_read_addr(pid, q->data.args[4], q->data.args[5],
				      &dst, &dlen)) {
		return go_on(u, q);
	}
	fd = nh_notif_getfd(u->o.ans->lfd, q, (int)q->data.args[0]);
	if (fd < 0)
		return go_on(u, q); /* not a descriptor: the kernel says so */
	type = nh_sock_type(fd);
	if (type == SOCK_STREAM && (flags & MSG_FASTOPEN)) {
		nh_umode_refused(
			u, q, fd, IPPROTO_TCP, &dst, EOPNOTSUPP,
			"TCP Fast Open (sendto with MSG_FASTOPEN): not in user mode");
		nh_notif_answer(u->o.ans, q->id, 0, -EOPNOTSUPP, false);
		goto cleanup;
	}
	if (type != SOCK_DGRAM) {
		go_on(u, q);
		goto cleanup;
	}
	fam = nh_sock_domain(fd);
	r = dgram_rule(u, q, fd, fam, &dst);
	if (!r) {
		go_on(u, q);
		goto cleanup;
	}
	if (r->action != NH_ACT_DNS && r->action != NH_ACT_REDIRECT)
		goto cleanup; /* refused */
	if (nh_umode_target(u, r, fam, &to, &tolen)) {
		nh_notif_answer(u->o.ans, q->id, 0, -EAFNOSUPPORT, false);
		goto cleanup;
	}
	if (msg)
		n = read_iov(u, pid, (uint64_t)(uintptr_t)mh.msg_iov,
			     mh.msg_iovlen);
	else if (q->data.args[2] > UM_DGRAM)
		n = -EMSGSIZE;
	else
		n = nh_notif_read(pid, q->data.args[1], u->buf,
				  (size_t)q->data.args[2]) ?
			    -EFAULT :
			    (ssize_t)q->data.args[2];
	if (n >= 0) {
		n = sendto(fd, u->buf, (size_t)n,
			   MSG_DONTWAIT | MSG_NOSIGNAL |
				   (int)(flags & MSG_CONFIRM),
			   (void *)&to, tolen);
		if (n < 0)
			n = -errno;
	}
	if (n >= 0)
		nh_umode_peer_set(u, (int)q->data.args[0], nh_sock_cookie(fd),
				  NH_UPEER_DGRAM, &dst, &to);
	nh_notif_answer(u->o.ans, q->id, n, n < 0 ? (int)n : 0, false);
cleanup:
	close(fd);
}

/* sendmmsg() with addresses: each must be one the rules let go as
 * made; one they send elsewhere is not made here, and is refused. */
static void on_sendmmsg(struct nh_umode *u, const struct seccomp_notif *q)
{
	pid_t pid = (pid_t)q->pid;
	const struct nh_bpf_rule *r;
	struct sockaddr_storage dst;
	struct mmsghdr mm;
	socklen_t dlen;
	uint64_t i, n = q->data.args[2];
	int fd = -1;

	if (n > 1024)
		n = 1024; /* the kernel's UIO_MAXIOV: more are not sent */
	for (i = 0; i < n; i++) {
		if (nh_notif_read(pid, q->data.args[1] + i * sizeof(mm), &mm,
				  sizeof(mm)))
			break;
		if (!mm.msg_hdr.msg_name ||
		    nh_notif_read_addr(pid,
				       (uint64_t)(uintptr_t)mm.msg_hdr.msg_name,
				       mm.msg_hdr.msg_namelen, &dst, &dlen))
			continue;
		if (fd < 0)
			fd = nh_notif_getfd(u->o.ans->lfd, q,
					    (int)q->data.args[0]);
		if (fd < 0 || nh_sock_type(fd) != SOCK_DGRAM)
			break;
		r = dgram_rule(u, q, fd, nh_sock_domain(fd), &dst);
		if (!r)
			continue;
		if (r->action == NH_ACT_DNS || r->action == NH_ACT_REDIRECT) {
			nh_umode_refused(
				u, q, fd, IPPROTO_UDP, &dst, EOPNOTSUPP,
				"sendmmsg() to an address nethook sends elsewhere: not in user mode (sendto() and sendmsg() are)");
			nh_notif_answer(u->o.ans, q->id, 0, -EOPNOTSUPP, false);
		}
		goto done; /* answered */
	}
	go_on(u, q);
done:
	if (fd >= 0)
		close(fd);
}

/* Our copy of a socket with an entry of these kinds (a bit each), and
 * the entry: NULL (and no copy) when the call goes on as made. */
static struct um_peer *recv_peer(struct nh_umode *u,
				 const struct seccomp_notif *q,
				 unsigned int kinds, int *fd)
{
	int fdnum = (int)q->data.args[0];
	int32_t k;

	*fd = -1;
	if (q->data.args[0] > INT32_MAX || !peer_any(u, fdnum, kinds))
		return NULL;
	*fd = nh_notif_getfd(u->o.ans->lfd, q, fdnum);
	if (*fd < 0)
		return NULL;
	k = peer_find(u, fdnum, nh_sock_cookie(*fd));
	if (k >= 0 && (kinds & 1u << u->peer[k].kind))
		return &u->peer[k];
	close(*fd);
	*fd = -1;
	return NULL;
}

/* One try at a waiting receive: 1 when answered, 0 when it must wait. */
static int recv_try(struct nh_umode *u, const struct seccomp_notif *q, int fd,
		    const union um_addr *orig, const union um_addr *via,
		    bool may_wait)
{
	bool msg = q->data.nr == __NR_recvmsg;
	pid_t pid = (pid_t)q->pid;
	uint64_t flags = msg ? q->data.args[2] : q->data.args[3];
	struct sockaddr_storage from, o;
	socklen_t flen = sizeof(from);
	struct iovec iov[64];
	struct msghdr mh;
	size_t cap = 0, i;
	ssize_t n;
	int mflags;

	if (msg) {
		if (nh_notif_read(pid, q->data.args[1], &mh, sizeof(mh)) ||
		    mh.msg_iovlen > 64 ||
		    nh_notif_read(pid, (uint64_t)(uintptr_t)mh.msg_iov, iov,
				  mh.msg_iovlen * sizeof(iov[0]))) {
			nh_notif_answer(u->o.ans, q->id, 0, -EFAULT, false);
			return 1;
		}
		for (i = 0; i < mh.msg_iovlen; i++)
			cap += iov[i].iov_len;
	} else {
		cap = (size_t)q->data.args[2];
	}
	if (cap > UM_DGRAM)
		cap = UM_DGRAM;
	n = recvfrom(fd, u->buf, cap,
		     MSG_DONTWAIT | (int)(flags & (MSG_PEEK | MSG_TRUNC)),
		     (void *)&from, &flen);
	if (n < 0 && errno == EAGAIN && may_wait && !(flags & MSG_DONTWAIT) &&
	    !(fcntl(fd, F_GETFL) & O_NONBLOCK))
		return 0;
	if (n < 0) {
		nh_notif_answer(u->o.ans, q->id, 0, -errno, false);
		return 1;
	}
	ss_from(&o, via);
	if (nh_sockaddr_same((void *)&from, (void *)&o))
		ss_from(&from, orig);
	mflags = (size_t)n > cap ? MSG_TRUNC : 0;
	i = (size_t)n < cap ? (size_t)n : cap;
	if (msg) {
		struct iovec local = { u->buf, i };

		mh.msg_controllen = 0; /* no ancillary data in user mode */
		mh.msg_flags = mflags;
		if ((i && process_vm_writev(pid, &local, 1, iov, mh.msg_iovlen,
					    0) != (ssize_t)i) ||
		    nh_notif_write_addr(pid, (uint64_t)(uintptr_t)mh.msg_name,
					q->data.args[1] +
						offsetof(struct msghdr,
							 msg_namelen),
					&from) ||
		    nh_notif_write(pid,
				   q->data.args[1] + offsetof(struct msghdr,
							      msg_controllen),
				   &mh.msg_controllen,
				   sizeof(mh.msg_controllen)) ||
		    nh_notif_write(pid,
				   q->data.args[1] +
					   offsetof(struct msghdr, msg_flags),
				   &mh.msg_flags, sizeof(mh.msg_flags)))
			n = -EFAULT;
	} else if (nh_notif_write(pid, q->data.args[1], u->buf, i) ||
		   nh_notif_write_addr(pid, q->data.args[4], q->data.args[5],
				       &from)) {
		n = -EFAULT;
	}
	nh_notif_answer(u->o.ans, q->id, n, n < 0 ? (int)n : 0, false);
	return 1;
}

static int on_wait(struct nh_ev *ev, uint32_t events)
{
	struct um_wait *w = nh_container_of(ev, struct um_wait, ev);

	(void)events;
	if (recv_try(w->u, &w->q, w->fd, &w->orig, &w->via, true))
		wait_free(w->u, w);
	return 0;
}

/* The socket's receive timeout, as a deadline (0: none). */
static uint64_t rcv_deadline(int fd)
{
	struct timeval tv = { 0 };
	socklen_t l = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) ||
	    (!tv.tv_sec && !tv.tv_usec))
		return 0;
	return nh_now_ns() + (uint64_t)tv.tv_sec * 1000000000ull +
	       (uint64_t)tv.tv_usec * 1000ull;
}

/* recvfrom() with an address, recvmsg(): read here when the socket's
 * datagrams come from where nethook sent them. */
static void on_recv(struct nh_umode *u, const struct seccomp_notif *q)
{
	struct um_peer *e;
	struct um_wait *w;
	int fd;

	/* a tunnel's receives are the program's own: not even looked at */
	e = recv_peer(u, q, 1u << NH_UPEER_DGRAM | 1u << NH_UPEER_DCONN, &fd);
	if (!e)
		return go_on(u, q);
	if (recv_try(u, q, fd, &e->orig, &e->via, u->nwaits < UM_WAITS)) {
		close(fd);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		nh_notif_answer(u->o.ans, q->id, 0, -ENOMEM, false);
		close(fd);
		return;
	}
	w->u = u;
	w->q = *q;
	w->fd = fd;
	w->orig = e->orig;
	w->via = e->via;
	w->deadline = rcv_deadline(fd);
	w->ev.fn = on_wait;
	if (nh_ev_add(u->o.ep, fd, EPOLLIN, &w->ev)) {
		nh_notif_answer(u->o.ans, q->id, 0, -ENOMEM, false);
		close(fd);
		free(w);
		return;
	}
	w->next = u->waits;
	if (u->waits)
		u->waits->prev = w;
	u->waits = w;
	u->nwaits++;
}

static void on_getpeername(struct nh_umode *u, const struct seccomp_notif *q)
{
	struct sockaddr_storage ss;
	struct um_peer *e;
	int fd, err;

	e = recv_peer(u, q, 1u << NH_UPEER_TUNNEL | 1u << NH_UPEER_DCONN, &fd);
	if (!e)
		return go_on(u, q);
	ss_from(&ss, &e->orig);
	err = nh_notif_write_addr((pid_t)q->pid, q->data.args[1],
				  q->data.args[2], &ss);
	close(fd);
	nh_notif_answer(u->o.ans, q->id, 0, err, false);
}

/* exit() or exit_group() of another ABI: i386's 1 and 252, x32's 60
 * and 231 */
static bool foreign_exit(const struct seccomp_data *d)
{
#if defined(__x86_64__)
	if (d->arch == AUDIT_ARCH_I386)
		return d->nr == 1 || d->nr == 252;
	if (d->nr & __X32_SYSCALL_BIT)
		return (d->nr & ~__X32_SYSCALL_BIT) == 60 ||
		       (d->nr & ~__X32_SYSCALL_BIT) == 231;
#endif
	(void)d;
	return false;
}

void nh_umode_notify(struct nh_umode *u, const struct seccomp_notif *q)
{
#ifdef NH_AUDIT_ARCH
	if (q->data.arch != NH_AUDIT_ARCH || (q->data.nr & __X32_SYSCALL_BIT)) {
		/* it may still leave: exit and exit_group go on */
		if (foreign_exit(&q->data))
			return go_on(u, q);
		if (!u->said_abi)
			nh_logf(u->o.lg, LOG_ERR,
				"user mode: pid %u runs another ABI (a 32-bit program): its system calls fail with ENOSYS; kernel mode (as root) follows it",
				q->pid);
		u->said_abi = true;
		nh_notif_answer(u->o.ans, q->id, 0, -ENOSYS, false);
		return;
	}
#endif
	switch (q->data.nr) {
	case __NR_sendto:
		return on_send(u, q, false);
	case __NR_sendmsg:
		return on_send(u, q, true);
	case __NR_sendmmsg:
		return on_sendmmsg(u, q);
	case __NR_recvfrom:
	case __NR_recvmsg:
		return on_recv(u, q);
	case __NR_getpeername:
		return on_getpeername(u, q);
	default:
		return go_on(u, q);
	}
}

void nh_umode_expire(struct nh_umode *u)
{
	struct um_wait *w, *next;
	uint64_t now = nh_now_ns();

	for (w = u->waits; w; w = next) {
		next = w->next;
		if (ioctl(u->o.ans->lfd, SECCOMP_IOCTL_NOTIF_ID_VALID,
			  &w->q.id)) {
			wait_free(u, w); /* its caller is gone */
		} else if (w->deadline && now > w->deadline) {
			nh_notif_answer(u->o.ans, w->q.id, 0, -EAGAIN, false);
			wait_free(u, w);
		}
	}
}
