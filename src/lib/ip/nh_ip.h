/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The IP filter's own state, shared by the files of src/lib/ip/:
 *
 *   engine.c   a context's IP-filter state: options, start, stats, teardown
 *   ipt.c      the iptables rule text, and running iptables-restore/-save
 *   queue.c    the netlink queue sockets and their queue numbers
 *   worker.c   workers: their threads, epoll loops and receive path
 *   verdict.c  verdicts, batched per worker
 *   held.c     packets a callback kept: the set of them, their verdicts
 *   filter.c   the filters: nh_ipf_addv4/v6, nh_ipf_remove
 *   run.c      running the filters over a packet
 *   ns.c       running in the context's network namespace
 *   inject.c   injection: raw sockets (output) and a tun device (input)
 *   stale.c    removing the chains of dead runs
 *   pkt.c      packets (nh_pkt_*): parser, checksums, constructors
 *   pcapf.c    pcap-filter expressions: kernel bytecode, user-space match
 *   nat.c      rewriting destinations (public: nethook/nat.h)
 *
 * Per context and IP family, in the context's network namespace:
 *
 *   raw OUTPUT    -> NH<pid>-<seq>-O   injected packets (our mark) return;
 *                                      [cgroup scope: other cgroups return];
 *                                      each filter: -m bpf EXPR -j NFQUEUE
 *   mangle OUTPUT -> NH<pid>-<seq>-M   [cgroup scope: CONNMARK from the
 *                                      cgroup]; TCP MSS clamp
 *   mangle INPUT  -> NH<pid>-<seq>-I   [cgroup scope: connmark]; MSS clamp;
 *                                      each filter: -m bpf EXPR -j NFQUEUE
 *
 * Output packets are queued in the raw table, before conntrack, so that a
 * rewritten destination is what conntrack records: replies then belong to
 * the connection (and carry its mark).  A packet goes to the queue of the
 * first filter whose expression matches; later filters run in user space
 * (their expression matched there), so there is one trip to user space
 * per packet whatever the number of filters.
 *
 * Rules are rebuilt whole with iptables-restore --noflush (atomic in the
 * nft backend); nothing but nethook's own chains and its jumps to them is
 * touched.  /run/nethook/ipf-<pid>-<seq> (locked while alive) names the
 * namespace, so that `nethook cleanup` finds a dead run's chains.
 */
#ifndef NH_IP_H
#define NH_IP_H

#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "nethook/ipf.h"
#include "nh_ev.h"
#include "nh_internal.h"
#include "nh_ipf_int.h"
#include "nh_pkt.h"

struct mnl_socket;
struct nlmsghdr;
struct nh_pcapf_prog;

#define IPF_MAX_FILTERS 16 /* per context and family */
#define IPF_MAX_NQ 8 /* queues (and workers) per filter and direction */
#define IPF_BLOCK (IPF_MAX_FILTERS * 2 * IPF_MAX_NQ)
#define IPF_COPY 0xffff /* the kernel caps it at 65531 */
#define IPF_COPY_MAX 65531
#define IPF_QMAXLEN 16384
#define IPF_RECV_BATCH 32
#define IPF_RECV_BUF (65536 + 4096)
#define IPF_SEND_BUF (512 * 1024)
#define IPF_BUDGET 1024 /* packets per dispatch */
#define IPF_MSS 65400 /* full-size packets fit the 65531-byte copy range */
#define IPF_BYTECODE_MAX 2048

enum { DIR_OUT = 0, DIR_IN = 1 };

struct nh_ipfilter {
	struct nh_ipf_state *st;
	struct nh_ipf_filter f;
	char *name, *match;
	int family;
	int slot; /* queue block position */
	int pos; /* order among the context's filters */
	bool removed;
	char bytecode[IPF_BYTECODE_MAX];
	struct nh_pcapf_prog *pf; /* the exact match, in user space */
	bool coarse; /* the kernel matches more than the expression */
	struct nh_ipfilter *next;
};

/* per queue number: which filter and direction, and batching state */
struct ipf_queue {
	struct nh_ipfilter *f; /* written with release, read with acquire */
	int dir;
	/* verdicts pending with callbacks: while not 0, no batch verdict
	 * (it would cover them).  Only the queue's worker raises it from 0;
	 * any thread may lower it, after the held packet's verdict went. */
	atomic_uint held;
	/* the queue's worker only: */
	bool have_plain; /* plain accepts waiting for a batch verdict */
	uint32_t plain_id;
};

/*
 * A worker: one netlink socket bound to its share of the queues (queue k
 * of each filter and direction: worker k), its buffers and counters.
 * threads 0/1: one, dispatched by nh_ctx_dispatch; N > 1: N, each a
 * thread with its own epoll loop.  Verdicts of its queues can only go
 * through its socket: other threads send them there directly (one
 * sendto each), the worker itself gathers them in sbuf.
 */
struct ipf_worker {
	struct nh_ipf_state *st;
	int idx;
	struct mnl_socket *nl;
	uint32_t portid;
	int fd;
	struct mmsghdr msgs[IPF_RECV_BATCH];
	struct iovec iov[IPF_RECV_BATCH];
	uint8_t *rbuf;
	uint8_t *sbuf; /* verdicts gathered, sent in one write */
	size_t slen;
	/* inside a dispatch, on thread `dispatcher` (worker_here()) */
	atomic_bool in_dispatch;
	pthread_t dispatcher;
	bool warned_ro;
	struct nh_ipf_stats stats; /* written by its thread only (no sz) */
	/* threads > 1 */
	pthread_t thr;
	bool started;
	int epfd, stopfd;
	struct nh_ev ev_sock, ev_stop; /* its loop's handlers (nh_ev.h) */
	atomic_bool busy; /* inside a dispatch */
	atomic_uint gen; /* dispatches done */
};

/* held packets: an open-addressing set of pointers */
struct held_set {
	struct nh_pkt **v;
	size_t cap, n, used; /* used: n + tombstones */
};
#define HELD_TOMB ((struct nh_pkt *)1)

struct nh_ipf_state {
	struct nh_ctx *ctx;
	const struct nh_logger *lg;
	char id[40]; /* "<pid>-<seq>" */
	unsigned int seq; /* contexts this process made before this one */
	char netns[PATH_MAX];
	int nsfd; /* -1: the caller's namespace */
	unsigned int flags;
	bool scope_cgroup;
	char cgrel[PATH_MAX]; /* cgroup path relative to the v2 mount */
	uint32_t skip_mark, cm_val, cm_mask;
	int qbase, nq;
	bool engine; /* sockets and queues are there */
	struct ipf_worker *w; /* nq of them */
	bool threaded; /* workers are threads */
	/* dispatched inline: the queue's handler in the context's epoll
	 * set (nh_ev.h) */
	struct nh_ev ev;
	/* held packets, the shared counters, injection sockets */
	pthread_mutex_t lock;
	struct ipf_queue q[IPF_BLOCK];
	struct nh_ipfilter *filters;
	int nfilters;
	bool installed[2]; /* per family: chains and jumps exist */
	int rawfd[2]; /* injection raw sockets, per family */
	int tunfd;
	char tun[IFNAMSIZ];
	int lockfd;
	char lock_path[128];
	uint32_t copy_range; /* 0: whole packets */
	struct held_set held;
	struct nh_ipf_stats xstats; /* counted outside a worker (lock; no
				     * sz) */
};

/*
 * A run of the filters over one packet (run.c), on one thread: the
 * queued packet the callbacks are running on, or NULL with cur_freed
 * when a callback freed it.  Callbacks call nh_pkt_free() and
 * nh_ipf_inject_*() with the packet alone, so the packet points to its
 * run (q.run) while it is the current one; the run lives on the stack
 * of whoever runs the filters, and each packet's q.run is cleared before
 * the run ends.  Only the run's own thread treats the packet as
 * current: a packet a callback passed to another thread is handled there
 * as any held packet.
 */
struct ipf_run {
	struct nh_pkt *cur;
	bool cur_freed;
	pthread_t thread;
};

static inline void run_init(struct ipf_run *run, struct nh_pkt *cur)
{
	run->cur = cur;
	run->cur_freed = false;
	run->thread = pthread_self();
	if (cur)
		cur->q.run = run;
}

/* pkt's run, if pkt is the current packet of a run on this thread */
static inline struct ipf_run *run_of(const struct nh_pkt *pkt)
{
	struct ipf_run *run = pkt->q.run;

	return run && pthread_equal(run->thread, pthread_self()) &&
			       run->cur == pkt ?
		       run :
		       NULL;
}

/* The run is over: its current packet forgets it. */
static inline struct nh_pkt *run_end(struct ipf_run *run)
{
	if (run->cur)
		run->cur->q.run = NULL;
	return run->cur;
}

/* A worker's dispatch, marked so that verdicts of its queues given on
 * its thread are gathered (verdict.c).  Nested calls on one thread end
 * the mark at the innermost end, as before. */
static inline void worker_enter(struct ipf_worker *w)
{
	__atomic_store_n(&w->dispatcher, pthread_self(), __ATOMIC_RELAXED);
	atomic_store_explicit(&w->in_dispatch, true, memory_order_release);
}

static inline void worker_leave(struct ipf_worker *w)
{
	atomic_store_explicit(&w->in_dispatch, false, memory_order_release);
}

/* Is this thread inside w's dispatch? */
static inline bool worker_here(struct ipf_worker *w)
{
	return atomic_load_explicit(&w->in_dispatch, memory_order_acquire) &&
	       pthread_equal(__atomic_load_n(&w->dispatcher, __ATOMIC_RELAXED),
			     pthread_self());
}

static inline struct ipf_worker *queue_worker(struct nh_ipf_state *st, int qnum)
{
	return &st->w[(qnum - st->qbase) % st->nq];
}

static inline int family_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

/* ---- ns.c ---- */
/* Run fn in the context's namespace (this thread only). */
int nh_ipf_in_ns(struct nh_ipf_state *st, int (*fn)(void *), void *arg);

/* ---- engine.c ---- */
/* The context's state, made on first use. */
int nh_ipf_state_get(struct nh_ctx *ctx, struct nh_ipf_state **out);
/* First filter: the queue sockets, their queues, the lock, the scope,
 * the workers. */
int nh_ipf_engine_start(struct nh_ipf_state *st);

/* ---- ipt.c ---- */
/* (Re)install the family's chains with the current filters. */
int nh_ipf_rules_install(struct nh_ipf_state *st, int family);
/* Remove the chains starting with prefix (or, with dead, every NH chain
 * dead(chain, arg) says is a dead run's) in namespace nsfd.  Count of
 * tables. */
int nh_ipf_rules_remove(const struct nh_logger *lg, int nsfd, int family,
			const char *prefix,
			bool (*dead)(const char *chain, void *arg), void *arg);

/* ---- queue.c ---- */
/* A worker's netlink socket, in the context's namespace. */
int nh_ipf_nfq_open(struct nh_ipf_state *st, struct ipf_worker *w);
/* A block of queue numbers no one else in the namespace has. */
int nh_ipf_nfq_bind_block(struct nh_ipf_state *st);

/* ---- worker.c ---- */
int nh_ipf_worker_open(struct nh_ipf_state *st, struct ipf_worker *w);
int nh_ipf_worker_start(struct ipf_worker *w);
void nh_ipf_worker_stop(struct ipf_worker *w);
/* Read what the worker's queues hold (a bounded amount), give the
 * verdicts in batches.  Callbacks run. */
int nh_ipf_worker_dispatch(struct ipf_worker *w);
/* Dispatched inline: st->ev's handler, run by the context's loop. */
int nh_ipf_on_queue(struct nh_ev *ev, uint32_t events);
/* Wait until no worker but the caller's own runs a dispatch that began
 * before this call (a removed filter's callbacks are then done). */
void nh_ipf_workers_quiesce(struct nh_ipf_state *st);

/* ---- verdict.c ---- */
void nh_ipf_verdict_flush(struct ipf_worker *w);
struct ipf_worker *nh_ipf_verdict_gathering(struct nh_ipf_state *st, int qnum);
void nh_ipf_verdict_flush_plain(struct ipf_worker *w, struct ipf_queue *q,
				uint16_t qnum);
void nh_ipf_verdict_id(struct nh_ipf_state *st, uint16_t qnum, uint32_t id,
		       bool accept, const uint8_t *data, size_t len,
		       const struct nh_ipf_pktopts *opts);
void nh_ipf_verdict_give(struct nh_ipf_state *st, struct nh_pkt *pkt,
			 bool accept, const struct nh_ipf_pktopts *opts);

/* ---- held.c ---- */
void nh_ipf_held_hold(struct nh_ipf_state *st, struct nh_pkt *pkt,
		      bool counted);
bool nh_ipf_held_unhold(struct nh_ipf_state *st, struct nh_pkt *pkt);
void nh_ipf_held_uncount(struct nh_ipf_state *st, uint16_t qnum);
/* A held packet freed: its verdict (a drop) goes now, or, from its own
 * callback, when the callback returns. */
void nh_ipf_held_freed(struct nh_pkt *pkt);

/* ---- run.c ---- */
enum { RUN_ACCEPT, RUN_DROP, RUN_TAKEN };
int nh_ipf_filters_run(struct nh_ipf_state *st, struct ipf_run *run,
		       struct nh_pkt **pp, int dir, int family,
		       struct nh_ipfilter *from, bool from_matched,
		       bool from_inclusive, const struct nh_pkt_q *qsave);

/* ---- inject.c ---- */
int nh_ipf_send_raw(struct nh_ipf_state *st, struct nh_pkt *pkt);
int nh_ipf_send_tun(struct nh_ipf_state *st, struct nh_pkt *pkt);

#endif /* NH_IP_H */
