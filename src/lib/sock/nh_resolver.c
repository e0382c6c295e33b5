// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The resolver the scope's DNS is diverted to.  It never asks anyone: a
 * name is answered with an address of the pool at once, and the proxy
 * resolves it when the program connects.  So an answer costs a parse, a
 * table lookup and a send, and no query leaves the machine.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "nh_dns_msg.h"
#include "nh_ev.h"
#include "nh_lo.h"
#include "nh_resolver.h"
#include "nh_spec.h"
#include "nh_thread.h"
#include "nh_time.h"

#define RES_BACKLOG 128
#define RES_TCP_MAX 64 /* TCP clients at once: DNS over TCP is rare */
#define RES_TCP_IDLE_NS (10ull * 1000000000ull)
#define RES_TCP_QMAX 1024 /* a longer query is not one we answer */
#define RES_OUT_MAX 4096 /* our answers: a question and two records */
#define RES_BATCH 64 /* datagrams read per wake-up per socket */

enum { S_UDP4, S_UDP6, S_TCP4, S_TCP6, S_N };

struct nh_resolver;

/* Each descriptor of the loop carries its handler (nh_ev.h). */
struct res_sock {
	struct nh_ev ev;
	struct nh_resolver *r;
	int fd;
};

struct res_conn {
	struct nh_ev ev;
	struct nh_resolver *r;
	int fd; /* -1: free */
	uint16_t got;
	uint64_t last;
	uint8_t in[2 + RES_TCP_QMAX];
};

struct nh_resolver {
	struct nh_resolver_opts o;
	int epfd, stop_fd;
	struct nh_ev ev_stop;
	struct res_sock sock[S_N];
	struct nh_bpf_addr a4, a6;
	pthread_t th;
	bool th_ok;
	struct res_conn conn[RES_TCP_MAX];
};

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (void *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void close_socks(struct nh_resolver *r)
{
	int i;

	for (i = 0; i < S_N; i++) {
		if (r->sock[i].fd >= 0)
			close(r->sock[i].fd);
		r->sock[i].fd = -1;
	}
}

/* One port for all four: a free UDP port on 127.0.0.1, then the rest on
 * it; tried again when another program holds it for one of them.  IPv6
 * is optional (a host without ::1). */
static int bind_all(struct nh_resolver *r)
{
	uint16_t port;
	int tries, fd;

	for (tries = 0; tries < 16; tries++) {
		close_socks(r);
		fd = nh_lo_socket(AF_INET, SOCK_DGRAM, 0, RES_BACKLOG, false);
		if (fd < 0)
			return fd;
		r->sock[S_UDP4].fd = fd;
		port = port_of(fd);
		fd = nh_lo_socket(AF_INET, SOCK_STREAM, port, RES_BACKLOG,
				  false);
		if (fd == -EADDRINUSE)
			continue;
		if (fd < 0)
			return fd;
		r->sock[S_TCP4].fd = fd;
		fd = nh_lo_socket(AF_INET6, SOCK_DGRAM, port, RES_BACKLOG,
				  false);
		if (fd == -EADDRINUSE)
			continue;
		if (fd < 0)
			return 0; /* no IPv6 */
		r->sock[S_UDP6].fd = fd;
		fd = nh_lo_socket(AF_INET6, SOCK_STREAM, port, RES_BACKLOG,
				  false);
		if (fd == -EADDRINUSE)
			continue;
		if (fd < 0) {
			close(r->sock[S_UDP6].fd);
			r->sock[S_UDP6].fd = -1;
			return 0;
		}
		r->sock[S_TCP6].fd = fd;
		return 0;
	}
	return -EADDRINUSE;
}

static void report(struct nh_resolver *r, const struct nh_dns_query *q,
		   int rcode, const struct sockaddr_storage *answer)
{
	struct nh_relay_report rep;

	if (!r->o.reports || !r->o.report)
		return;
	memset(&rep, 0, sizeof(rep));
	rep.kind = NH_REPORT_DNS;
	rep.end_ns = nh_now_ns();
	rep.proto = IPPROTO_UDP;
	rep.dns_type = q->qtype;
	rep.dns_rcode = (uint8_t)rcode;
	snprintf(rep.name, sizeof(rep.name), "%s", q->name);
	if (answer)
		rep.to = *answer;
	r->o.report(r->o.user, &rep);
}

/*
 * The answer to one query, in out: its length, or 0 when nothing can be
 * answered (not a query).  max: the most a UDP client takes.
 */
static int answer(struct nh_resolver *r, const uint8_t *msg, size_t len,
		  bool tcp, uint8_t *out, size_t outlen)
{
	struct sockaddr_storage ss = { 0 }, *ans = NULL;
	struct nh_dns_query q;
	struct nh_dns_rr rr = { 0 };
	char name[NH_DNS_NAME_MAX];
	int err, rcode, n = 0, family;
	size_t max;

	err = nh_dns_query_parse(msg, len, &q);
	rcode = nh_dns_query_rcode(err);
	if (rcode < 0)
		return 0; /* not a query: nothing to answer */
	max = tcp ? NH_DNS_TCP_MAX : q.edns_size;
	if (rcode)
		goto build;
	if (q.qclass != NH_DNS_C_IN) {
		rcode = NH_DNS_R_NOTIMP; /* CHAOS, HESIOD: not here */
		goto build;
	}
	rr.ttl = r->o.ttl_s;
	switch (q.qtype) {
	case NH_DNS_T_A:
	case NH_DNS_T_AAAA:
		family = q.qtype == NH_DNS_T_A ? AF_INET : AF_INET6;
		if (!q.name[0]) /* the root has no address */
			break;
		err = nh_names_addr(r->o.names, q.name, family,
				    nh_now_ns() / 1000000000ull, &ss);
		if (err) {
			/* every name held by an open connection */
			rcode = NH_DNS_R_SERVFAIL;
			break;
		}
		rr.type = q.qtype;
		if (family == AF_INET) {
			rr.data = (const void *)&((struct sockaddr_in *)&ss)
					  ->sin_addr;
			rr.len = 4;
		} else {
			rr.data = (const void *)&((struct sockaddr_in6 *)&ss)
					  ->sin6_addr;
			rr.len = 16;
		}
		ans = &ss;
		n = 1;
		break;
	case NH_DNS_T_PTR:
		if (nh_dns_ptr_addr(q.name, &ss) ||
		    nh_names_lookup(r->o.names, (void *)&ss, false,
				    nh_now_ns() / 1000000000ull, name,
				    sizeof(name))) {
			/* not ours: we cannot know, and must not ask */
			rcode = NH_DNS_R_NXDOMAIN;
			break;
		}
		rr.type = NH_DNS_T_PTR;
		rr.name = name;
		n = 1;
		break;
	default:
		break; /* NOERROR, no record: there is nothing of that type */
	}
build:
	n = nh_dns_answer_build(&q, rcode, &rr, n, max, out, outlen);
	if (n <= 0)
		return 0;
	report(r, &q, rcode, ans);
	return n;
}

static void on_udp(struct nh_resolver *r, int fd)
{
	uint8_t in[1500], out[RES_OUT_MAX];
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t got;
	int i, n;

	for (i = 0; i < RES_BATCH; i++) {
		flen = sizeof(from);
		got = recvfrom(fd, in, sizeof(in), 0, (void *)&from, &flen);
		if (got < 0)
			return;
		n = answer(r, in, (size_t)got, false, out, sizeof(out));
		if (n > 0)
			sendto(fd, out, (size_t)n, MSG_DONTWAIT, (void *)&from,
			       flen);
	}
}

static void conn_close(struct nh_resolver *r, struct res_conn *c)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->got = 0;
}

static int on_conn_ev(struct nh_ev *ev, uint32_t events);

static void on_accept(struct nh_resolver *r, int lfd)
{
	int fd, i;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < RES_TCP_MAX && r->conn[i].fd >= 0; i++)
			;
		if (i == RES_TCP_MAX) {
			close(fd); /* the client retries, or asks over UDP */
			continue;
		}
		r->conn[i].fd = fd;
		r->conn[i].got = 0;
		r->conn[i].last = nh_now_ns();
		r->conn[i].ev.fn = on_conn_ev;
		r->conn[i].r = r;
		if (nh_ev_add(r->epfd, fd, EPOLLIN, &r->conn[i].ev))
			conn_close(r, &r->conn[i]);
	}
}

/* Queries over TCP: two bytes of length, then the message (RFC 1035
 * 4.2.2); several may come on one connection. */
static void on_conn(struct nh_resolver *r, struct res_conn *c)
{
	uint8_t out[2 + RES_OUT_MAX];
	size_t qlen;
	ssize_t got;
	int n;

	got = recv(c->fd, c->in + c->got, sizeof(c->in) - c->got, 0);
	if (got <= 0) {
		if (got == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(r, c);
		return;
	}
	c->got += (uint16_t)got;
	c->last = nh_now_ns();
	while (c->got >= 2) {
		qlen = (size_t)c->in[0] << 8 | c->in[1];
		if (qlen > RES_TCP_QMAX) {
			conn_close(r, c);
			return;
		}
		if (c->got < 2 + qlen)
			return;
		n = answer(r, c->in + 2, qlen, true, out + 2, sizeof(out) - 2);
		if (n <= 0) {
			conn_close(r, c);
			return;
		}
		out[0] = (uint8_t)(n >> 8);
		out[1] = (uint8_t)n;
		/* a client that does not read its answers loses them */
		if (send(c->fd, out, (size_t)n + 2,
			 MSG_DONTWAIT | MSG_NOSIGNAL) != n + 2) {
			conn_close(r, c);
			return;
		}
		c->got -= (uint16_t)(2 + qlen);
		memmove(c->in, c->in + 2 + qlen, c->got);
	}
}

static void conns_tick(struct nh_resolver *r)
{
	uint64_t now = nh_now_ns();
	int i;

	for (i = 0; i < RES_TCP_MAX; i++)
		if (r->conn[i].fd >= 0 &&
		    now - r->conn[i].last > RES_TCP_IDLE_NS)
			conn_close(r, &r->conn[i]);
}

static int on_udp_ev(struct nh_ev *ev, uint32_t events)
{
	struct res_sock *so = nh_container_of(ev, struct res_sock, ev);

	(void)events;
	on_udp(so->r, so->fd);
	return 0;
}

static int on_accept_ev(struct nh_ev *ev, uint32_t events)
{
	struct res_sock *so = nh_container_of(ev, struct res_sock, ev);

	(void)events;
	on_accept(so->r, so->fd);
	return 0;
}

static int on_conn_ev(struct nh_ev *ev, uint32_t events)
{
	struct res_conn *c = nh_container_of(ev, struct res_conn, ev);

	(void)events;
	/* closed earlier in this batch */
	if (c->fd >= 0)
		on_conn(c->r, c);
	return 0;
}

static void *loop(void *arg)
{
	struct nh_resolver *r = arg;
	struct epoll_event ev[16];
	int i, n;

	for (;;) {
		n = epoll_wait(r->epfd, ev, 16, 1000);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (nh_ev_run(&ev[i]) < 0)
				return NULL;
		conns_tick(r);
	}
	return NULL;
}

static int watch(struct nh_resolver *r, int fd, struct nh_ev *ev, nh_ev_fn fn)
{
	ev->fn = fn;
	return nh_ev_add(r->epfd, fd, EPOLLIN, ev);
}

int nh_resolver_start(const struct nh_resolver_opts *o,
		      struct nh_resolver **out)
{
	struct nh_resolver *r;
	int i, err;

	*out = NULL;
	if (!o->names)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o = *o;
	if (!r->o.ttl_s)
		r->o.ttl_s = 60;
	r->stop_fd = -1;
	for (i = 0; i < S_N; i++)
		r->sock[i].fd = -1;
	for (i = 0; i < RES_TCP_MAX; i++)
		r->conn[i].fd = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->stop_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = bind_all(r);
	if (err) {
		nh_logf(o->lg, LOG_ERR, "resolver: cannot bind on loopback: %s",
			strerror(-err));
		goto cleanup;
	}
	err = watch(r, r->stop_fd, &r->ev_stop, nh_ev_end);
	for (i = 0; i < S_N && !err; i++) {
		if (r->sock[i].fd < 0)
			continue;
		if (o->listening)
			err = o->listening(o->user, r->sock[i].fd);
		r->sock[i].r = r;
		if (!err)
			err = watch(r, r->sock[i].fd, &r->sock[i].ev,
				    i == S_UDP4 || i == S_UDP6 ? on_udp_ev :
								 on_accept_ev);
	}
	if (err)
		goto cleanup;
	r->a4.family = 4;
	r->a4.addr[10] = r->a4.addr[11] = 0xff;
	r->a4.addr[12] = 127;
	r->a4.addr[15] = 1;
	r->a4.port = port_of(r->sock[S_UDP4].fd);
	if (r->sock[S_UDP6].fd >= 0) {
		r->a6.family = 6;
		r->a6.addr[15] = 1;
		r->a6.port = r->a4.port;
	}
	err = nh_thread_start(&r->th, loop, r);
	if (err)
		goto cleanup;
	r->th_ok = true;
	*out = r;
	return 0;
cleanup:
	nh_resolver_free(r);
	return err;
}

void nh_resolver_addrs(const struct nh_resolver *r, struct nh_bpf_addr *v4,
		       struct nh_bpf_addr *v6)
{
	*v4 = r->a4;
	*v6 = r->a6;
}

void nh_resolver_free(struct nh_resolver *r)
{
	uint64_t one = 1;
	int i;

	if (!r)
		return;
	if (r->th_ok) {
		if (write(r->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(r->th, NULL);
		else
			pthread_cancel(r->th);
	}
	for (i = 0; i < RES_TCP_MAX; i++)
		if (r->conn[i].fd >= 0)
			close(r->conn[i].fd);
	close_socks(r);
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	if (r->epfd >= 0)
		close(r->epfd);
	free(r);
}
