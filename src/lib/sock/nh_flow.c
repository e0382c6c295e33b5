// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One diverted connection: connect upstream, open the tunnel hop by hop,
 * then move bytes both ways with splice() through a pipe per direction.
 * The pipe is the only buffer, so a slow reader stops the other side
 * (backpressure) instead of growing memory.  Each direction closes on its
 * own (half-close); the flow ends when both have.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>
#include "nh_chain_walk.h"
#include "nh_ev.h"
#include "nh_flow.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_spec.h"
#include "nh_time.h"

enum { F_CONNECT, F_HANDSHAKE, F_RELAY, F_DEAD };

#define C_EOF 0x1 /* the program finished sending */
#define U_EOF 0x2 /* the destination finished sending */
#define C_SHUT 0x4 /* we shut the program's side for writing */
#define U_SHUT 0x8

#define NH_SPLICE_CHUNK (1 << 16)
#define NH_PIPE_IDLE_NS (1ull * 1000000000ull)

/*
 * An idle connection costs this struct: the descriptors and the state sit
 * in what would be padding (a handler is a pointer, the tags it replaced
 * were ints), so that it is no larger than with tags (744 bytes on
 * x86_64, bench/README.md's memory per idle connection).
 */
struct nh_flow {
	/* the handlers of its sockets, the program's and the upstream one,
	 * in the worker's epoll set */
	struct nh_ev c_ev, u_ev;
	struct nh_flow *prev, *next;
	struct nh_flow_list *l; /* the worker's flows, and its epoll set */
	int p_out[2], p_in[2]; /* program -> destination, and back */
	uint32_t q_out, q_in; /* bytes waiting in each pipe */
	uint64_t bytes_out, bytes_in;
	uint64_t deadline, last;
	struct nh_chain_walk *walk; /* only while the tunnel opens */
	uint64_t up_ns; /* the first connect to the first hop began */
	uint64_t hs_ns; /* and the tunnel was open this much later */
	uint8_t hs_mode; /* NH_HS_*: how it opened */
	bool stepwise; /* tried again, one step per round trip */
	uint8_t state, flags;
	int cfd; /* the program's socket */
	struct nh_flow_val id;
	struct sockaddr_storage to; /* the destination, after the filters */
	bool named; /* a reference on the resolver's address held */
	/* hops walked: all of them, or fewer when the program connects to
	 * a proxy of the chain itself (0: the first, straight) */
	uint8_t upto;
	int ufd; /* upstream: the first hop's, or the destination's */
	struct sockaddr_storage held; /* that address */
	char name[NH_REPORT_NAME]; /* what the proxy is asked for, or "" */
	struct nh_socket *so; /* socket filters attached, or NULL */
	struct nh_pend *pend; /* filters see the bytes: copies, no splice */
};

/* the handlers of a flow's two sockets */
static int on_client(struct nh_ev *ev, uint32_t events);
static int on_up(struct nh_ev *ev, uint32_t events);

/* Bytes on their way out, per direction, when filters see them. */
struct nh_pend {
	uint8_t *buf;
	size_t off, len, cap;
};

#define NH_PEND_MAX (256 * 1024) /* stop reading past this: backpressure */
#define NH_READ_CHUNK (16 * 1024)

void nh_flow_reset_fd(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void unlink_flow(struct nh_flow_list *l, struct nh_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
}

static void close_pipe(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* The hop walk is only while the tunnel opens: gone with what it took. */
static void walk_drop(struct nh_flow *f)
{
	nh_chain_walk_fini(f->walk);
	free(f->walk);
	f->walk = NULL;
}

/* End the flow: err 0 is a clean close, else both sides are reset. */
static void finish(struct nh_flow_list *l, struct nh_flow *f, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finish(struct nh_flow_list *l, struct nh_flow *f, int err,
		   const char *fmt, ...)
{
	struct nh_relay_report rep;
	va_list ap;

	memset(&rep, 0, sizeof(rep));
	rep.id = f->id;
	rep.end_ns = nh_now_ns();
	rep.bytes_out = f->bytes_out;
	rep.bytes_in = f->bytes_in;
	rep.established = f->state == F_RELAY;
	rep.err = err;
	rep.to = f->to;
	rep.hs_mode = f->hs_mode;
	rep.hs_ns = f->hs_ns;
	/* a handshake under way when it failed: how, and for how long */
	if (f->walk) {
		rep.hs_mode = (uint8_t)f->walk->mode;
		rep.hs_ns = rep.end_ns - f->up_ns;
	}
	memcpy(rep.name, f->name, sizeof(rep.name));
	if (f->named)
		nh_names_put(l->names, (const void *)&f->held);
	f->named = false;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(rep.detail, sizeof(rep.detail), fmt, ap);
		va_end(ap);
	}
	if (f->so)
		nh_sflt_detach(f->so, err);
	if (f->pend) {
		free(f->pend[0].buf);
		free(f->pend[1].buf);
		free(f->pend);
		f->pend = NULL;
	}
	if (err) {
		nh_flow_reset_fd(f->cfd);
		if (f->ufd >= 0)
			nh_flow_reset_fd(f->ufd);
	} else {
		close(f->cfd);
		if (f->ufd >= 0)
			close(f->ufd);
	}
	close_pipe(f->p_out);
	close_pipe(f->p_in);
	walk_drop(f);
	unlink_flow(l, f);
	/* the same epoll batch may still hold an event for the other end:
	 * freed only after it, by nh_flow_reap() */
	f->state = F_DEAD;
	f->next = l->dead;
	l->dead = f;
	l->done(l->user, &rep);
}

static bool socket_busy(struct nh_flow_list *l, struct nh_socket *so)
{
	bool busy;

	if (!so || !l->q)
		return false;
	pthread_mutex_lock(&l->q->lock);
	busy = so->queued != 0;
	pthread_mutex_unlock(&l->q->lock);
	return busy;
}

void nh_flow_reap(struct nh_flow_list *l)
{
	struct nh_flow *f, *keep = NULL;

	while ((f = l->dead)) {
		l->dead = f->next;
		/* an inject still queued points at its socket: later */
		if (socket_busy(l, f->so)) {
			f->next = keep;
			keep = f;
			continue;
		}
		if (f->so) {
			free(f->so->exe);
			free(f->so);
		}
		free(f);
	}
	l->dead = keep;
}

static void watch(struct nh_flow *f, int fd, struct nh_ev *ev)
{
	nh_ev_add(f->l->epfd, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		  ev);
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
					  sizeof(struct sockaddr_in6);
}

static void where(const struct nh_flow_list *l, const struct nh_flow *f,
		  int hop, char *buf, size_t len)
{
	nh_chain_where(l->hops, f->upto, hop, &f->to, buf, len);
}

static int start_connect(struct nh_flow_list *l, struct nh_flow *f)
{
	struct sockaddr_storage to;
	char why[400];
	int one = 1, fd, e;

	if (f->upto)
		to = l->hops[0].addr;
	else
		to = f->to;
	for (;;) {
		fd = socket(to.ss_family,
			    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		e = errno;
		if (fd >= 0 || !nh_flow_fds_short(l, e))
			break;
	}
	if (fd < 0) {
		finish(l, f, e, "relay: socket: %s", strerror(e));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	f->ufd = fd;
	f->deadline = nh_now_ns() + l->connect_timeout_ns;
	if (!f->up_ns)
		f->up_ns = nh_now_ns();
	if (connect(fd, (void *)&to, sa_len(&to)) && errno != EINPROGRESS) {
		e = errno;
		nh_chain_connect_failed(l->hops, f->upto, &f->to, e, why,
					sizeof(why));
		finish(l, f, e, "%s", why);
		return -1;
	}
	watch(f, f->ufd, &f->u_ev);
	return 0;
}

/* Who the socket is, then sf_attach and sf_connect_out: before the relay
 * goes anywhere.  -1 when the flow ended (a filter refused it). */
static int filters_attach(struct nh_flow_list *l, struct nh_flow *f)
{
	struct nh_socket *so = calloc(1, sizeof(*so));
	char why[192], exe[PATH_MAX];
	int err;

	if (!so)
		return 0; /* unfiltered rather than dropped */
	so->set = l->sflt;
	so->q = l->q;
	so->flow = f;
	so->pid = (pid_t)f->id.pid;
	so->uid = f->id.uid;
	so->cookie = f->id.cookie;
	so->cgroup_id = f->id.cgroup_id;
	memcpy(so->comm, f->id.comm, NH_COMM_LEN);
	so->family = f->id.family == 6 ? AF_INET6 : AF_INET;
	so->orig = f->to;
	/* an AF_INET6 socket's IPv4-mapped destination stays IPv6 for it */
	if (so->family == AF_INET6 && so->orig.ss_family == AF_INET) {
		struct nh_bpf_addr a = f->id.orig;

		a.family = 6;
		nh_addr_to_sockaddr(&a, &so->orig);
	}
	so->to = so->orig;
	if (l->nhops && l->hops[0].scheme != NH_PROXY_DIRECT) {
		so->name = f->name;
		so->name_cap = sizeof(f->name);
	}
	so->bytes_out = &f->bytes_out;
	so->bytes_in = &f->bytes_in;
	if (l->exe) {
		l->exe(l->exe_user, f->id.pid, so->comm, exe, sizeof(exe));
		so->exe = strdup(exe);
	}
	if (!nh_sflt_attach(so)) {
		free(so->exe);
		free(so);
		return 0;
	}
	f->so = so;
	err = nh_sflt_connect_out(so, why, sizeof(why));
	if (err) {
		finish(l, f, -err, "%s", why);
		return -1;
	}
	f->to = so->to;
	return 0;
}

/*
 * A connection to an address of nethook's resolver goes by its name, held
 * until the flow ends so that the address is not given to another name
 * meanwhile.  A connection to a proxy of the chain itself (the program
 * uses it too) goes there through the proxies before it only: through
 * the whole chain the last proxy would be asked to connect to itself,
 * which proxies refuse.  -1 when the flow ended.
 */
static int name_or_self(struct nh_flow_list *l, struct nh_flow *f)
{
	char hop[160];
	int err, k;

	f->upto = (uint8_t)l->nhops;
	if (l->names && nh_names_in_pool((const void *)&f->to)) {
		err = nh_names_lookup(l->names, (const void *)&f->to, true,
				      nh_now_ns() / 1000000000ull, f->name,
				      sizeof(f->name));
		if (err) {
			finish(l, f, EHOSTUNREACH,
			       "no name for this address of nethook's resolver any more (forgotten after its TTL, or the table was full)");
			return -1;
		}
		f->named = true;
		f->held = f->to;
		if (!l->nhops || l->hops[0].scheme == NH_PROXY_DIRECT) {
			finish(l, f, EHOSTUNREACH,
			       "the name %s needs a proxy to resolve it",
			       f->name);
			return -1;
		}
		return 0;
	}
	for (k = 0; k < l->nhops; k++)
		if (l->hops[k].scheme != NH_PROXY_DIRECT &&
		    nh_sockaddr_same((const void *)&f->to,
				     (const void *)&l->hops[k].addr))
			break;
	if (k == l->nhops)
		return 0;
	f->upto = (uint8_t)k;
	if (!l->self_said) {
		l->self_said = true;
		nh_proxy_hop_format(&l->hops[k], hop, sizeof(hop));
		nh_logf(l->lg, LOG_NOTICE,
			"relay: a program connects to the proxy %s of the chain itself: %s, not through it",
			hop,
			k ? "through the proxies before it" : "straight to it");
	}
	return 0;
}

void nh_flow_start(struct nh_flow_list *l, int cfd,
		   const struct nh_flow_val *id)
{
	struct nh_flow *f = calloc(1, sizeof(*f));
	int one = 1;

	if (!f) {
		nh_flow_reset_fd(cfd);
		return;
	}
	f->c_ev.fn = on_client;
	f->u_ev.fn = on_up;
	f->cfd = cfd;
	f->ufd = -1;
	f->l = l;
	f->p_out[0] = f->p_out[1] = f->p_in[0] = f->p_in[1] = -1;
	f->id = *id;
	f->state = F_CONNECT;
	f->next = l->head;
	if (l->head)
		l->head->prev = f;
	l->head = f;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	watch(f, f->cfd, &f->c_ev);
	nh_addr_to_sockaddr(&id->orig, &f->to);
	if (name_or_self(l, f))
		return;
	if (l->sflt && nh_sflt_any(l->sflt) && filters_attach(l, f))
		return;
	start_connect(l, f);
}

static int enter_relay(struct nh_flow_list *l, struct nh_flow *f)
{
	if (f->walk) {
		f->hs_mode = (uint8_t)f->walk->mode;
		f->hs_ns = nh_now_ns() - f->up_ns;
		/* the program's bytes that went with the request */
		f->bytes_out += f->walk->early.off;
	}
	walk_drop(f);
	if (f->so && f->so->data) {
		f->pend = calloc(2, sizeof(*f->pend));
		if (!f->pend) {
			finish(l, f, ENOMEM, "relay: out of memory");
			return -1;
		}
	}
	/* the splice pipes come with the first bytes each way (pump()) */
	f->state = F_RELAY;
	f->last = nh_now_ns();
	if (f->so)
		nh_sflt_notify(f->so, NH_SOCK_EVT_CONNECTED, NULL);
	return 0;
}

/* The upstream socket is connected: open the tunnel, or relay now. */
static int connected(struct nh_flow_list *l, struct nh_flow *f)
{
	if (!f->upto || l->hops[0].scheme == NH_PROXY_DIRECT)
		return enter_relay(l, f);
	/* only while the tunnel opens: an open flow holds no handshake */
	f->walk = malloc(sizeof(*f->walk));
	if (!f->walk) {
		finish(l, f, ENOMEM, "relay: out of memory");
		return -1;
	}
	f->state = F_HANDSHAKE;
	/* a filter may have changed the port: the name goes with to's */
	/* filters see every byte the program sends: none go early */
	nh_chain_walk_init(
		f->walk, l->hops, f->upto, &f->to, f->name,
		ntohs(f->to.ss_family == AF_INET6 ?
			      ((struct sockaddr_in6 *)&f->to)->sin6_port :
			      ((struct sockaddr_in *)&f->to)->sin_port),
		f->stepwise ? NULL : l->pipe, f->so ? -1 : f->cfd);
	f->deadline = nh_now_ns() + l->connect_timeout_ns;
	return 0;
}

static int step_connect(struct nh_flow_list *l, struct nh_flow *f)
{
	struct pollfd p = { .fd = f->ufd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	char why[400];
	int e = 0;

	if (poll(&p, 1, 0) <= 0)
		return 1; /* still connecting */
	if (p.revents & (POLLERR | POLLHUP)) {
		getsockopt(f->ufd, SOL_SOCKET, SO_ERROR, &e, &len);
		if (!e)
			e = ECONNREFUSED;
		nh_chain_connect_failed(l->hops, f->upto, &f->to, e, why,
					sizeof(why));
		finish(l, f, e, "%s", why);
		return -1;
	}
	if (!(p.revents & POLLOUT))
		return 1;
	return connected(l, f);
}

/* Talk to the chain until it wants more, is done, or failed. */
static int step_handshake(struct nh_flow_list *l, struct nh_flow *f)
{
	int hop = f->walk->hop, r;
	char why[400];

	r = nh_chain_walk_step(f->walk, f->ufd, why, sizeof(why));
	if (r < 0 && nh_chain_walk_pipe_failed(f->walk, r, why)) {
		/* none of the program's bytes went: again, stepwise */
		walk_drop(f);
		nh_flow_reset_fd(f->ufd);
		f->ufd = -1;
		f->stepwise = true;
		f->state = F_CONNECT;
		return start_connect(l, f) ? -1 : 1;
	}
	if (r < 0) {
		finish(l, f, -r, "%s", why);
		return -1;
	}
	if (r > 0)
		return enter_relay(l, f);
	/* each hop has the whole connect timeout for its handshake */
	if (f->walk->hop != hop)
		f->deadline = nh_now_ns() + l->connect_timeout_ns;
	return 1;
}

/*
 * A pipe only while a direction has bytes to move: an idle flow holds its
 * two sockets and nothing else, so many thousands fit in the descriptor
 * limit.  Created when the source has data (a peek says so), closed again
 * by nh_flow_tick() once the flow has been idle a while.
 */
static int pipe_ready(struct nh_flow_list *l, int src, int p[2])
{
	char b;
	ssize_t n;

	if (p[0] >= 0)
		return 1;
	n = recv(src, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 2; /* the end: no pipe needed for it */
	while (pipe2(p, O_NONBLOCK | O_CLOEXEC)) {
		int e = errno;

		if (!nh_flow_fds_short(l, e))
			return -e;
	}
	return 1;
}

/* Move what can be moved from src to dst through pipe p: refilled while
 * it has room, so reading and writing overlap. */
static int pump(struct nh_flow_list *l, int src, int dst, int p[2], uint32_t *q,
		uint64_t *bytes, uint8_t *flags, uint8_t src_eof,
		uint8_t dst_shut, bool *moved)
{
	ssize_t n;
	bool progress;
	int r;

	do {
		progress = false;
		r = *flags & src_eof ? 0 : pipe_ready(l, src, p);
		if (r < 0)
			return r;
		if (r == 2) {
			*flags |= src_eof;
			r = 0;
		}
		if (r && *q < NH_SPLICE_CHUNK && !(*flags & src_eof)) {
			n = splice(src, NULL, p[1], NULL, NH_SPLICE_CHUNK - *q,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				*q += (uint32_t)n;
				progress = true;
			} else if (n == 0) {
				*flags |= src_eof;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (*q) {
			n = splice(p[0], NULL, dst, NULL, *q,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0) {
				*q -= (uint32_t)n;
				*bytes += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		if (!*q && (*flags & src_eof) && !(*flags & dst_shut)) {
			shutdown(dst, SHUT_WR);
			*flags |= dst_shut;
		}
		if (progress)
			*moved = true;
	} while (progress);
	return 0;
}

static int pend_add(struct nh_pend *p, const void *data, size_t len)
{
	if (p->off && p->off == p->len)
		p->off = p->len = 0;
	if (p->len + len > p->cap) {
		size_t cap = p->cap ? p->cap : NH_READ_CHUNK;
		uint8_t *b;

		while (cap < p->len + len)
			cap *= 2;
		b = realloc(p->buf, cap);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return 0;
}

/* The copying pump, for a socket whose filters see the bytes. */
static int pump_copy(struct nh_flow *f, enum nh_dir dir, bool *moved)
{
	int src = dir == NH_DIR_OUT ? f->cfd : f->ufd;
	int dst = dir == NH_DIR_OUT ? f->ufd : f->cfd;
	uint8_t src_eof = dir == NH_DIR_OUT ? C_EOF : U_EOF;
	uint8_t dst_shut = dir == NH_DIR_OUT ? U_SHUT : C_SHUT;
	uint64_t *bytes = dir == NH_DIR_OUT ? &f->bytes_out : &f->bytes_in;
	struct nh_pend *p = &f->pend[dir];
	uint8_t rbuf[NH_READ_CHUNK];
	struct nh_buf b;
	bool progress;
	ssize_t n;
	int r;

	do {
		progress = false;
		while (p->off < p->len) {
			n = send(dst, p->buf + p->off, p->len - p->off,
				 MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0)
				return -errno;
			p->off += (size_t)n;
			*bytes += (uint64_t)n;
			progress = true;
		}
		if (!(f->flags & src_eof) && p->len - p->off < NH_PEND_MAX) {
			n = recv(src, rbuf, sizeof(rbuf), 0);
			if (n > 0) {
				nh_buf_init(&b, rbuf, (size_t)n);
				r = nh_sflt_data(f->so, dir, -1, &b);
				if (r == 0)
					r = pend_add(p, b.data, b.len);
				nh_buf_fini(&b);
				if (r < 0 && r != NH_EJUSTRETURN)
					return r;
				progress = true;
			} else if (n == 0) {
				f->flags |= src_eof;
				nh_sflt_notify(
					f->so,
					dir == NH_DIR_OUT ?
						NH_SOCK_EVT_SHUTDOWN_OUT :
						NH_SOCK_EVT_SHUTDOWN_IN,
					NULL);
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return -errno;
			}
		}
		/* held bytes come before the end */
		if ((f->flags & src_eof) && p->off == p->len &&
		    !__atomic_load_n(&f->so->held[dir], __ATOMIC_RELAXED) &&
		    !(f->flags & dst_shut)) {
			shutdown(dst, SHUT_WR);
			f->flags |= dst_shut;
		}
		if (progress)
			*moved = true;
	} while (progress);
	return 0;
}

static bool tcp_closed(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) &&
	       ti.tcpi_state == TCP_CLOSE;
}

/* A relayed flow broke: say which side, for the side that reset or timed
 * out is closed already (a proxy killed mid-transfer resets the tunnel
 * when it had bytes unread; when it closed cleanly instead, that is an
 * end nobody can tell from the real one). */
static void relay_failed(struct nh_flow_list *l, struct nh_flow *f, int err)
{
	char w[300];

	if (tcp_closed(f->ufd)) {
		where(l, f, 0, w, sizeof(w));
		finish(l, f, err, "relay: %s by %s", strerror(err), w);
	} else if (tcp_closed(f->cfd)) {
		finish(l, f, err, "relay: %s by the program", strerror(err));
	} else {
		finish(l, f, err, "relay: %s", strerror(err));
	}
}

static void step_relay(struct nh_flow_list *l, struct nh_flow *f)
{
	bool moved = false;
	uint8_t was;
	int err;

	if (f->pend) {
		err = pump_copy(f, NH_DIR_OUT, &moved);
		if (!err)
			err = pump_copy(f, NH_DIR_IN, &moved);
		goto check;
	}
	was = f->flags;
	err = pump(l, f->cfd, f->ufd, f->p_out, &f->q_out, &f->bytes_out,
		   &f->flags, C_EOF, U_SHUT, &moved);
	if (!err)
		err = pump(l, f->ufd, f->cfd, f->p_in, &f->q_in, &f->bytes_in,
			   &f->flags, U_EOF, C_SHUT, &moved);
	/* filters without data callbacks still hear of each side's end */
	if (f->so && (f->flags & C_EOF) && !(was & C_EOF))
		nh_sflt_notify(f->so, NH_SOCK_EVT_SHUTDOWN_OUT, NULL);
	if (f->so && (f->flags & U_EOF) && !(was & U_EOF))
		nh_sflt_notify(f->so, NH_SOCK_EVT_SHUTDOWN_IN, NULL);
check:
	if (err) {
		relay_failed(l, f, -err);
		return;
	}
	if (moved)
		f->last = nh_now_ns();
	if ((f->flags & (U_SHUT | C_SHUT)) == (U_SHUT | C_SHUT))
		finish(l, f, 0, NULL);
}

/* One of the flow's sockets is ready; client: the program's */
static void flow_event(struct nh_flow *f, bool client, uint32_t events)
{
	struct nh_flow_list *l = f->l;

	if (f->state == F_DEAD)
		return;
	if (client && f->state != F_RELAY && (events & (EPOLLERR | EPOLLHUP))) {
		finish(l, f, ECONNABORTED,
		       "the program closed its connection before the tunnel opened");
		return;
	}
	if (f->state == F_CONNECT) {
		/* < 0: the flow is gone; still F_CONNECT: not yet */
		if (step_connect(l, f) < 0 || f->state == F_CONNECT)
			return;
	}
	if (f->state == F_HANDSHAKE && step_handshake(l, f) != 0)
		return;
	if (f->state == F_RELAY)
		step_relay(l, f);
}

static int on_client(struct nh_ev *ev, uint32_t events)
{
	flow_event(nh_container_of(ev, struct nh_flow, c_ev), true, events);
	return 0;
}

static int on_up(struct nh_ev *ev, uint32_t events)
{
	flow_event(nh_container_of(ev, struct nh_flow, u_ev), false, events);
	return 0;
}

void nh_flow_tick(struct nh_flow_list *l, uint64_t now)
{
	struct nh_flow *f = l->head, *next;
	char why[400];

	for (; f; f = next) {
		next = f->next;
		if (f->state != F_RELAY && now > f->deadline) {
			nh_chain_timed_out(
				l->hops, f->upto, f->walk ? f->walk->hop : 0,
				&f->to, f->state == F_CONNECT,
				(unsigned long long)(l->connect_timeout_ns /
						     1000000ull),
				why, sizeof(why));
			finish(l, f, ETIMEDOUT, "%s", why);
		} else if (f->state == F_RELAY && !f->pend &&
			   now - f->last > NH_PIPE_IDLE_NS && !f->q_out &&
			   !f->q_in && (f->p_out[0] >= 0 || f->p_in[0] >= 0)) {
			/* idle: give the pipes back; data brings new ones */
			close_pipe(f->p_out);
			close_pipe(f->p_in);
		}
		if (f->state == F_RELAY && l->idle_timeout_ns &&
		    now - f->last > l->idle_timeout_ns) {
			finish(l, f, ETIMEDOUT, "idle for %llu ms",
			       (unsigned long long)(l->idle_timeout_ns /
						    1000000ull));
		}
	}
}

/* nethook stops with flows open: each still has its end, saying so */
void nh_flow_close_all(struct nh_flow_list *l)
{
	struct nh_flow *f;

	while ((f = l->head))
		finish(l, f, ECONNABORTED, "%s",
		       f->flags & C_EOF ?
			       "nethook stopped: the program had closed, the other side not yet" :
			       "nethook stopped with the connection open");
	nh_flow_reap(l);
}

void nh_flow_injects(struct nh_flow_list *l)
{
	struct nh_inject *it;
	struct nh_buf b;
	struct nh_flow *f;
	size_t held;
	int r;

	while (l->q && (it = nh_inject_take(l->q))) {
		struct nh_socket *so = it->so;

		f = so->flow;
		if (so->dead || f->state != F_RELAY || !f->pend) {
			free(it);
			continue;
		}
		held = __atomic_load_n(&so->held[it->dir], __ATOMIC_RELAXED);
		__atomic_store_n(&so->held[it->dir],
				 held > it->held ? held - it->held : 0,
				 __ATOMIC_RELAXED);
		r = 0;
		if (it->len) {
			nh_buf_init(&b, it->data, it->len);
			r = nh_sflt_data(so, it->dir, it->from, &b);
			if (r == 0)
				r = pend_add(&f->pend[it->dir], b.data, b.len);
			nh_buf_fini(&b);
		}
		free(it);
		if (r < 0 && r != NH_EJUSTRETURN) {
			finish(l, f, -r, "socket filter: %s", strerror(-r));
			continue;
		}
		step_relay(l, f);
	}
}

/* Out of descriptors: give back the pipes of flows with nothing in them,
 * so an idle flow costs its two sockets only.  The number closed. */
int nh_flow_reclaim_pipes(struct nh_flow_list *l)
{
	struct nh_flow *f;
	int n = 0;

	for (f = l->head; f; f = f->next) {
		if (f->state != F_RELAY || f->pend || f->q_out || f->q_in)
			continue;
		if (f->p_out[0] >= 0) {
			close_pipe(f->p_out);
			n += 2;
		}
		if (f->p_in[0] >= 0) {
			close_pipe(f->p_in);
			n += 2;
		}
	}
	return n;
}

/* Out of descriptors (err from a failed call): empty pipes are given back
 * first, and true says try again; else it is said once for the relay. */
bool nh_flow_fds_short(struct nh_flow_list *l, int err)
{
	if (err == EMFILE && nh_flow_reclaim_pipes(l))
		return true;
	if ((err == EMFILE || err == ENFILE) && l->fds_said &&
	    !atomic_exchange(l->fds_said, true))
		nh_logf(l->lg, LOG_ERR,
			"relay: out of file descriptors: new connections are reset (raise the limit: ulimit -n)");
	return false;
}
