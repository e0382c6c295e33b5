// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The IP filter engine: netfilter queues read with libmnl and
 * libnetfilter_queue, rules in nethook's own iptables chains.
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
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <linux/sched.h> /* struct clone_args */
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include "nh_internal.h"
#include "nh_ipf_int.h"
#include "nh_pkt.h"
#include "nh_pcapf.h"

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
	bool in_dispatch;
	bool warned_ro;
	struct nh_ipf_stats stats; /* written by its thread only */
	/* threads > 1 */
	pthread_t thr;
	bool started;
	int epfd, stopfd;
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
	bool registered;
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
	struct nh_ipf_stats xstats; /* counted outside a worker (lock) */
};

static atomic_uint ipf_seq;

/* The worker dispatching on this thread (NULL: none), and the queued
 * packet the callbacks of this thread are running on. */
static __thread struct ipf_worker *tl_w;
static __thread struct nh_pkt *tl_cur;
static __thread bool tl_cur_freed;

/* count n in field: in the worker's own counters on its thread, under
 * the lock elsewhere */
#define STAT_ADD(st, field, n)                             \
	do {                                               \
		if (tl_w && tl_w->st == (st)) {            \
			tl_w->stats.field += (n);          \
		} else {                                   \
			pthread_mutex_lock(&(st)->lock);   \
			(st)->xstats.field += (n);         \
			pthread_mutex_unlock(&(st)->lock); \
		}                                          \
	} while (0)

static struct ipf_worker *queue_worker(struct nh_ipf_state *st, int qnum)
{
	return &st->w[(qnum - st->qbase) % st->nq];
}

static int family_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

/* ---- held packets ---- */

static size_t held_hash(const struct nh_pkt *p, size_t cap)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ull;
	return (size_t)(x >> 20) & (cap - 1);
}

static int held_grow(struct held_set *h)
{
	size_t cap = h->cap ? h->cap * 2 : 256, i, j;
	struct nh_pkt **v;

	/* mostly tombstones: rehashed at the same size, not grown */
	if (h->cap && h->n * 4 < h->cap)
		cap = h->cap;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		if (!h->v[i] || h->v[i] == HELD_TOMB)
			continue;
		for (j = held_hash(h->v[i], cap); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = h->v[i];
	}
	free(h->v);
	h->v = v;
	h->cap = cap;
	h->used = h->n;
	return 0;
}

static int held_add(struct held_set *h, struct nh_pkt *p)
{
	size_t j;

	if ((h->used + 1) * 2 > h->cap && held_grow(h))
		return -ENOMEM;
	for (j = held_hash(p, h->cap); h->v[j] && h->v[j] != HELD_TOMB;
	     j = (j + 1) & (h->cap - 1))
		;
	if (!h->v[j])
		h->used++;
	h->v[j] = p;
	h->n++;
	return 0;
}

static bool held_del(struct held_set *h, struct nh_pkt *p)
{
	size_t j;

	if (!h->cap)
		return false;
	for (j = held_hash(p, h->cap); h->v[j]; j = (j + 1) & (h->cap - 1)) {
		if (h->v[j] == p) {
			h->v[j] = HELD_TOMB;
			h->n--;
			return true;
		}
	}
	return false;
}

/* ---- namespaces ---- */

/* Run fn in the context's namespace (this thread only). */
static int in_ns(struct nh_ipf_state *st, int (*fn)(void *), void *arg)
{
	int self, ret, err;

	if (st->nsfd < 0)
		return fn(arg);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(st->nsfd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET)) {
		/* cannot happen with our own namespace's fd; never go on in
		 * the wrong one */
		abort();
	}
	close(self);
	return ret;
}

/* ---- iptables ---- */

static const char *find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
					    "/bin", "/usr/local/sbin" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/* A fork with the exit signal chosen (0: none, so the parent's SIGCHLD
 * handling, or its ignoring SIGCHLD, never meets the child).  clone3
 * takes its arguments in a struct, the same on every architecture; raw
 * clone's order differs on s390. */
static pid_t raw_fork(int exit_signal)
{
	struct clone_args ca = { .exit_signal = (__u64)exit_signal };

	return (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
}

/*
 * The tool runs under a waiter of ours, so that its exit status reaches
 * us whatever the caller did with SIGCHLD.  A program that ignores it (a
 * daemon's habit) has the kernel reap its children as they end, status
 * and all.  The waiter is made with no exit signal, which keeps it for
 * waitpid(__WALL); it never execs, since exec restores SIGCHLD as the
 * exit signal.  It waits for the tool with SIGCHLD at its default and
 * ends with the tool's exit status (128 + N if killed by signal N).
 * Both children make only system calls, as after a fork from a threaded
 * program: clone, not glibc's fork with its handlers and locks.
 */
static __attribute__((noreturn)) void ipt_waiter(const char *path,
						 char *const argv[])
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	pid_t pid;
	int st;

	sigaction(SIGCHLD, &dfl, NULL);
	/* it never execs: the pipes' other ends, closed on exec in the
	 * tool, must close here, or the tool never sees its input end */
	close_range(3, ~0U, 0);
	pid = raw_fork(SIGCHLD);
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	if (pid < 0)
		_exit(125);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(125);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * Run "iptables-restore --noflush" (input given) or "iptables-save"
 * (out given) of the family in the namespace nsfd (-1: ours).  The
 * output is malloc'd into *out.  0, or -errno / -EIO with the tool's
 * message logged.
 */
static int run_ipt(const struct nh_logger *lg, int nsfd, int family,
		   const char *input, char **out)
{
	const char *tool = input ? (family == AF_INET6 ? "ip6tables-restore" :
							 "iptables-restore") :
				   (family == AF_INET6 ? "ip6tables-save" :
							 "iptables-save");
	int in[2] = { -1, -1 }, op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	char path[PATH_MAX], errbuf[1024];
	size_t olen = 0, ocap = 0, elen = 0;
	char *obuf = NULL;
	int st, ret = 0;
	ssize_t n;
	pid_t pid;

	if (!find_tool(tool, path, sizeof(path))) {
		nh_logf(lg, LOG_ERR,
			"%s not found: the IP filter needs iptables (nft backend)",
			tool);
		return -ENOENT;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(op, O_CLOEXEC) ||
	    pipe2(ep, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	pid = raw_fork(0);
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		char *argv[4] = { path, NULL, NULL, NULL };

		/* out of the caller's process group: a signal to the group
		 * (^C, timeout(1), a supervisor) that stops the caller must
		 * not kill the tool that removes its rules */
		setpgid(0, 0);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET))
			_exit(126);
		if (input) {
			argv[1] = (char *)"--noflush";
			argv[2] = (char *)"-w";
		}
		dup2(in[0], 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		ipt_waiter(path, argv);
	}
	close(in[0]);
	close(op[1]);
	close(ep[1]);
	in[0] = op[1] = ep[1] = -1;
	if (input) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			n = write(in[1], input + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);
	in[1] = -1;
	for (;;) {
		if (olen + 4096 >= ocap) {
			char *nb = realloc(obuf, ocap ? ocap * 2 : 16384);

			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			obuf = nb;
			ocap = ocap ? ocap * 2 : 16384;
		}
		n = read(op[0], obuf + olen, ocap - olen - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		olen += (size_t)n;
	}
	if (obuf)
		obuf[olen] = '\0';
	while ((n = read(ep[0], errbuf + elen, sizeof(errbuf) - 1 - elen)) >
		       0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			elen += (size_t)n;
	errbuf[elen] = '\0';
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (!ret && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))) {
		errbuf[strcspn(errbuf, "\n")] = '\0';
		nh_logf(lg, LOG_ERR, "%s failed (status %d): %s", tool,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1,
			elen ? errbuf :
			WIFEXITED(st) && WEXITSTATUS(st) == 126 ?
			       "cannot enter the network namespace" :
			       "no message");
		if (input)
			nh_logf(lg, LOG_DEBUG, "its input was:\n%s", input);
		ret = -EIO;
	}
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (op[0] >= 0)
		close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	if (!ret && out)
		*out = obuf;
	else
		free(obuf);
	return ret;
}

/* A growing text buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap : 4096) * 2 + (size_t)n;
			char *s = realloc(b->s, cap);

			if (!s) {
				b->oom = true;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
}

static void chain_name(const struct nh_ipf_state *st, char which, char *buf,
		       size_t len)
{
	snprintf(buf, len, "NH%s-%c", st->id, which);
}

static void queue_target(struct sbuf *b, const struct nh_ipf_state *st,
			 int first)
{
	if (st->nq > 1)
		sb_printf(
			b,
			" -j NFQUEUE --queue-balance %d:%d --queue-cpu-fanout",
			first, first + st->nq - 1);
	else
		sb_printf(b, " -j NFQUEUE --queue-num %d", first);
	if (!(st->flags & NH_IPF_FAIL_CLOSED))
		sb_printf(b, " --queue-bypass");
}

static int queue_num(const struct nh_ipf_state *st, int slot, int dir)
{
	return st->qbase + (slot * 2 + dir) * st->nq;
}

/* The whole rule set of one family, as iptables-restore input. */

/* One queue rule per filter of this family and direction, in the order
 * they were added: a packet goes to the first whose expression matches. */
static void queue_rules(struct sbuf *b, struct nh_ipf_state *st,
			const char *chain, int family, int dir)
{
	struct nh_ipfilter *f;

	for (f = st->filters; f; f = f->next) {
		if (f->removed || f->family != family ||
		    !(dir == DIR_OUT ? f->f.ipf_output != NULL :
				       f->f.ipf_input != NULL))
			continue;
		sb_printf(b, "-A %s", chain);
		if (f->bytecode[0])
			sb_printf(b, " -m bpf --bytecode \"%s\"", f->bytecode);
		queue_target(b, st, queue_num(st, f->slot, dir));
		sb_printf(b, " -m comment --comment \"nethook %s\"\n",
			  f->name ? f->name : "filter");
	}
}

static int build_rules(struct nh_ipf_state *st, int family, bool jumps,
		       struct sbuf *b)
{
	char co[64], cm[64], ci[64];

	chain_name(st, 'O', co, sizeof(co));
	chain_name(st, 'M', cm, sizeof(cm));
	chain_name(st, 'I', ci, sizeof(ci));
	/* raw: outgoing packets, before conntrack */
	sb_printf(b, "*raw\n:%s - [0:0]\n", co);
	sb_printf(b, "-A %s -m mark --mark 0x%x -j RETURN\n", co,
		  st->skip_mark);
	if (st->scope_cgroup)
		sb_printf(b, "-A %s -m cgroup ! --path \"%s\" -j RETURN\n", co,
			  st->cgrel);
	queue_rules(b, st, co, family, DIR_OUT);
	if (jumps)
		sb_printf(b, "-A OUTPUT -j %s\n", co);
	sb_printf(b, "COMMIT\n");
	/* mangle: the connection mark, the MSS clamp, incoming packets */
	sb_printf(b, "*mangle\n:%s - [0:0]\n:%s - [0:0]\n", cm, ci);
	if (st->scope_cgroup) {
		sb_printf(
			b,
			"-A %s -m cgroup --path \"%s\" -j CONNMARK --set-xmark 0x%x/0x%x\n",
			cm, st->cgrel, st->cm_val, st->cm_mask);
		sb_printf(b, "-A %s -m connmark ! --mark 0x%x/0x%x -j RETURN\n",
			  cm, st->cm_val, st->cm_mask);
	}
	sb_printf(
		b,
		"-A %s -p tcp --tcp-flags SYN,RST SYN -m tcpmss --mss %d:65535 -j TCPMSS --set-mss %d\n",
		cm, IPF_MSS + 1, IPF_MSS);
	if (st->tun[0])
		sb_printf(b, "-A %s -i %s -j RETURN\n", ci, st->tun);
	if (st->scope_cgroup)
		sb_printf(b, "-A %s -m connmark ! --mark 0x%x/0x%x -j RETURN\n",
			  ci, st->cm_val, st->cm_mask);
	sb_printf(
		b,
		"-A %s -p tcp --tcp-flags SYN,RST SYN -m tcpmss --mss %d:65535 -j TCPMSS --set-mss %d\n",
		ci, IPF_MSS + 1, IPF_MSS);
	queue_rules(b, st, ci, family, DIR_IN);
	if (jumps) {
		sb_printf(b, "-A OUTPUT -j %s\n", cm);
		sb_printf(b, "-A INPUT -j %s\n", ci);
	}
	sb_printf(b, "COMMIT\n");
	return b->oom ? -ENOMEM : 0;
}

static int install_rules(struct nh_ipf_state *st, int family)
{
	struct sbuf b = { 0 };
	int fi = family_index(family), err;

	err = build_rules(st, family, !st->installed[fi], &b);
	if (!err)
		err = run_ipt(st->lg, st->nsfd, family, b.s, NULL);
	free(b.s);
	if (!err)
		st->installed[fi] = true;
	return err;
}

/* Text to delete chains named by prefix ("NH<id>-") whose owner test
 * says so, from iptables-save output: the jumps, then the chains. */
static int build_removal(const char *save, const char *prefix_only,
			 bool (*dead)(const char *chain), struct sbuf *b,
			 int *nchains)
{
	const char *line = save, *nl;
	char table[32] = "", chain[64];
	bool in_table = false, any = false;
	struct sbuf del = { 0 }, chains = { 0 };

	*nchains = 0;
	for (; line && *line; line = nl ? nl + 1 : NULL) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%.*s", (int)(len - 1),
				 line + 1);
			in_table = true;
			any = false;
			continue;
		}
		if (!in_table)
			continue;
		if (len == 6 && !strncmp(line, "COMMIT", 6)) {
			if (any) {
				sb_printf(b, "*%s\n%.*s%.*sCOMMIT\n", table,
					  (int)del.len, del.s ? del.s : "",
					  (int)chains.len,
					  chains.s ? chains.s : "");
				*nchains += 1;
			}
			del.len = chains.len = 0;
			in_table = false;
			continue;
		}
		if (line[0] == ':' && !strncmp(line + 1, "NH", 2)) {
			size_t cl = strcspn(line + 1, " ");

			snprintf(chain, sizeof(chain), "%.*s",
				 (int)(cl < 63 ? cl : 63), line + 1);
			if ((prefix_only && strncmp(chain, prefix_only,
						    strlen(prefix_only))) ||
			    (dead && !dead(chain)))
				continue;
			sb_printf(&chains, "-F %s\n-X %s\n", chain, chain);
			any = true;
			continue;
		}
		if (!strncmp(line, "-A ", 3)) {
			const char *j = strstr(line, " -j NH");

			if (!j || j > line + len)
				continue;
			j += 4;
			{
				size_t cl = strcspn(j, " \n");

				snprintf(chain, sizeof(chain), "%.*s",
					 (int)(cl < 63 ? cl : 63), j);
			}
			if ((prefix_only && strncmp(chain, prefix_only,
						    strlen(prefix_only))) ||
			    (dead && !dead(chain)))
				continue;
			/* a jump from a built-in chain: delete that rule */
			if (strncmp(line + 3, "NH", 2))
				sb_printf(&del, "-D %.*s\n", (int)(len - 3),
					  line + 3);
		}
	}
	free(del.s);
	free(chains.s);
	return b->oom ? -ENOMEM : 0;
}

/* Remove the chains starting with prefix (or, with dead, every NH chain
 * dead() says is a dead run's) in namespace nsfd.  Count of tables. */
static int remove_chains(const struct nh_logger *lg, int nsfd, int family,
			 const char *prefix, bool (*dead)(const char *))
{
	struct sbuf b = { 0 };
	char *save = NULL;
	int err, n = 0;

	err = run_ipt(lg, nsfd, family, NULL, &save);
	if (err)
		return err;
	err = build_removal(save, prefix, dead, &b, &n);
	if (!err && b.len)
		err = run_ipt(lg, nsfd, family, b.s, NULL);
	free(save);
	free(b.s);
	return err ? err : n;
}

/* ---- netlink queue ---- */

static int nl_open_fn(void *arg)
{
	struct ipf_worker *w = arg;

	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!w->nl)
		return -errno;
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
static int bind_block(struct nh_ipf_state *st)
{
	int n = IPF_MAX_FILTERS * 2 * st->nq, nblocks = 65536 / n - 8;
	unsigned int start = ((unsigned int)getpid() * 7919u +
			      atomic_load(&ipf_seq) * 131u) %
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

/* ---- state ---- */

static int open_state(struct nh_ctx *ctx, struct nh_ipf_state **out)
{
	struct nh_ipf_state **slot = nh_ctx_ipf_slot(ctx);
	struct nh_ipf_state *st;
	const char *ns = nh_ctx_netns(ctx);
	unsigned int seq;
	int err;

	if (*slot) {
		*out = *slot;
		return 0;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->ctx = ctx;
	st->lg = nh_ctx_logger(ctx);
	st->nsfd = st->tunfd = st->lockfd = -1;
	st->rawfd[0] = st->rawfd[1] = -1;
	pthread_mutex_init(&st->lock, NULL);
	seq = atomic_fetch_add(&ipf_seq, 1);
	snprintf(st->id, sizeof(st->id), "%d-%u", (int)getpid(), seq);
	st->skip_mark = 0x4e480000u |
			((unsigned int)getpid() * 16u + seq) % 0xffffu;
	st->cm_mask = 0x7f000000u;
	st->cm_val = (((unsigned int)getpid() + seq * 13u) % 127u + 1u) << 24;
	*slot = st;
	*out = st;
	if (ns) {
		snprintf(st->netns, sizeof(st->netns), "%s", ns);
		st->nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		if (st->nsfd < 0) {
			err = -errno;
			nh_logf(st->lg, LOG_ERR,
				"cannot open network namespace %s: %s", ns,
				strerror(errno));
			return err;
		}
		/* a file, a directory, /dev/null: said now, not by a
		 * setns() that fails later with a bare EINVAL */
		if (ioctl(st->nsfd, NS_GET_NSTYPE) != CLONE_NEWNET) {
			nh_logf(st->lg, LOG_ERR,
				"%s is not a network namespace (such as "
				"/run/netns/NAME or /proc/PID/ns/net)",
				ns);
			return -EINVAL;
		}
	}
	return 0;
}

/* A worker's socket and buffers (its queues are bound later). */
static int worker_open(struct nh_ipf_state *st, struct ipf_worker *w)
{
	int err, i, one = 1, sz = 16 << 20;

	w->rbuf = malloc((size_t)IPF_RECV_BATCH * IPF_RECV_BUF);
	w->sbuf = malloc(IPF_SEND_BUF);
	if (!w->rbuf || !w->sbuf)
		return -ENOMEM;
	for (i = 0; i < IPF_RECV_BATCH; i++) {
		w->iov[i].iov_base = w->rbuf + (size_t)i * IPF_RECV_BUF;
		w->iov[i].iov_len = IPF_RECV_BUF;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	err = in_ns(st, nl_open_fn, w);
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

static void worker_dispatch(struct ipf_worker *w);

/* threads > 1: a worker's loop -- its socket and its stop event */
static void *worker_main(void *arg)
{
	struct ipf_worker *w = arg;
	struct epoll_event ev[2];
	int n, i;

	for (;;) {
		n = epoll_wait(w->epfd, ev, 2, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (ev[i].data.u32 == 1)
				return NULL;
		atomic_store(&w->busy, true);
		worker_dispatch(w);
		atomic_fetch_add(&w->gen, 1);
		atomic_store(&w->busy, false);
	}
	return NULL;
}

static int worker_start(struct ipf_worker *w)
{
	struct epoll_event ee = { .events = EPOLLIN };
	int err;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stopfd < 0)
		return -errno;
	ee.data.u32 = 0;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fd, &ee))
		return -errno;
	ee.data.u32 = 1;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &ee))
		return -errno;
	err = nh_thread_start(&w->thr, worker_main, w);
	if (err)
		return err;
	w->started = true;
	return 0;
}

static void worker_stop(struct ipf_worker *w)
{
	uint64_t one = 1;

	if (!w->started)
		return;
	if (write(w->stopfd, &one, sizeof(one)) < 0) {
		/* cannot fail on a fresh counter */
	}
	pthread_join(w->thr, NULL);
	w->started = false;
}

/* Wait until no worker but the caller's own runs a dispatch that began
 * before this call (a removed filter's callbacks are then done). */
static void workers_quiesce(struct nh_ipf_state *st)
{
	int k;

	if (!st->threaded)
		return;
	for (k = 0; k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];
		unsigned int g = atomic_load(&w->gen);

		if (w == tl_w || !w->started)
			continue;
		while (atomic_load(&w->busy) && atomic_load(&w->gen) == g) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
	}
}

/* The lock file naming the namespace: what `nethook cleanup` reads. */
static int write_lock(struct nh_ipf_state *st)
{
	char txt[PATH_MAX + 64];
	int n;

	if (mkdir(NH_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	snprintf(st->lock_path, sizeof(st->lock_path), NH_RUN_DIR "/ipf-%s",
		 st->id);
	st->lockfd = open(st->lock_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
	if (st->lockfd < 0 || flock(st->lockfd, LOCK_EX | LOCK_NB))
		return -errno;
	{
		struct stat sb;
		char self[64];

		snprintf(self, sizeof(self), "/proc/%d/ns/net", (int)getpid());
		if (st->nsfd >= 0 ? fstat(st->nsfd, &sb) : stat(self, &sb))
			memset(&sb, 0, sizeof(sb));
		n = snprintf(txt, sizeof(txt), "%s\n%llu:%llu\n", st->netns,
			     (unsigned long long)sb.st_dev,
			     (unsigned long long)sb.st_ino);
	}
	if (write(st->lockfd, txt, (size_t)n) != n)
		return -EIO;
	return 0;
}

/* First filter: the queue sockets, their queues, the lock, the scope,
 * the workers. */
static int start_engine(struct nh_ipf_state *st)
{
	struct epoll_event ee = { .events = EPOLLIN,
				  .data.u32 = NH_IPF_EPOLL_TAG };
	unsigned int threads = nh_ctx_threads(st->ctx);
	int err, k;

	if (st->engine)
		return 0;
	st->threaded = threads > 1;
	st->nq = threads > 1 ?
			 (int)(threads > IPF_MAX_NQ ? IPF_MAX_NQ : threads) :
			 1;
	if ((nh_ctx_cgroup_given(st->ctx) ||
	     (st->flags & NH_IPF_SCOPE_CGROUP)) &&
	    !(st->flags & NH_IPF_SCOPE_NETNS)) {
		char mnt[PATH_MAX];
		const char *cg = nh_ctx_cgroup(st->ctx);
		size_t ml;

		err = nh_cgroup_mount(st->lg, mnt, sizeof(mnt));
		if (err)
			return err;
		ml = strlen(mnt);
		if (!cg || strncmp(cg, mnt, ml))
			return -EINVAL;
		snprintf(st->cgrel, sizeof(st->cgrel), "%s",
			 cg[ml] ? cg + ml : "/");
		if (strchr(st->cgrel, '"'))
			return -EINVAL;
		st->scope_cgroup = true;
	}
	st->w = calloc((size_t)st->nq, sizeof(*st->w));
	if (!st->w)
		return -ENOMEM;
	for (k = 0; k < st->nq; k++) {
		st->w[k].st = st;
		st->w[k].idx = k;
		st->w[k].fd = st->w[k].epfd = st->w[k].stopfd = -1;
	}
	st->engine = true;
	for (k = 0; k < st->nq; k++) {
		err = worker_open(st, &st->w[k]);
		if (err)
			return err;
	}
	err = bind_block(st);
	if (err) {
		nh_logf(st->lg, LOG_ERR, "cannot bind netfilter queues: %s",
			strerror(-err));
		return err;
	}
	err = write_lock(st);
	if (err) {
		nh_logf(st->lg, LOG_ERR, "cannot write %s: %s", st->lock_path,
			strerror(-err));
		return err;
	}
	for (k = 0; k < st->nq; k++)
		fcntl(st->w[k].fd, F_SETFL,
		      fcntl(st->w[k].fd, F_GETFL) | O_NONBLOCK);
	if (st->threaded) {
		for (k = 0; k < st->nq; k++) {
			err = worker_start(&st->w[k]);
			if (err) {
				nh_logf(st->lg, LOG_ERR,
					"IP filter: cannot start a worker: %s",
					strerror(-err));
				return err;
			}
		}
	} else {
		if (epoll_ctl(nh_ctx_epfd(st->ctx), EPOLL_CTL_ADD, st->w[0].fd,
			      &ee))
			return -errno;
		st->registered = true;
	}
	nh_logf(st->lg, LOG_DEBUG,
		"IP filter: queues %d-%d, %d per filter and direction, %s, %s, scope %s%s",
		st->qbase, st->qbase + IPF_MAX_FILTERS * 2 * st->nq - 1, st->nq,
		st->threaded ? "one worker thread each" : "dispatched inline",
		st->flags & NH_IPF_FAIL_CLOSED ? "fail-closed" : "fail-open",
		st->scope_cgroup ? "cgroup " : "netns ",
		st->scope_cgroup ? st->cgrel :
		st->netns[0]	 ? st->netns :
				   "(own)");
	return 0;
}

NH_API int nh_ipf_ctx_set(struct nh_ctx *ctx, unsigned int flags)
{
	struct nh_ipf_state *st;
	int err;

	if (!ctx)
		return nh_err(-EINVAL);
	err = open_state(ctx, &st);
	if (err)
		return nh_err(err);
	if (st->engine) {
		nh_logf(st->lg, LOG_ERR,
			"IP filter options must be set before the first filter");
		return nh_err(-EBUSY);
	}
	st->flags = flags;
	return 0;
}

NH_API int nh_ipf_ctx_copy(struct nh_ctx *ctx, unsigned int bytes)
{
	struct nh_ipf_state *st;
	int err;

	if (!ctx || (bytes && bytes < 60))
		return nh_err(-EINVAL);
	err = open_state(ctx, &st);
	if (err)
		return nh_err(err);
	if (st->engine) {
		nh_logf(st->lg, LOG_ERR,
			"IP filter options must be set before the first filter");
		return nh_err(-EBUSY);
	}
	st->copy_range = bytes > IPF_COPY ? 0 : bytes;
	return 0;
}

/* ---- filters ---- */

static int add_filter(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
		      nh_ipfilter_t *ref, int family)
{
	struct nh_ipf_state *st;
	struct nh_ipfilter *f, **pp;
	bool used[IPF_MAX_FILTERS] = { false };
	char err_txt[256] = "";
	int err, n = 0, ninsns = 0, slot;

	if (!ctx || !filter || !ref ||
	    (!filter->ipf_input && !filter->ipf_output))
		return nh_err(-EINVAL);
	err = open_state(ctx, &st);
	if (!err)
		err = start_engine(st);
	if (err)
		return nh_err(err);
	for (f = st->filters; f; f = f->next)
		if (!f->removed && f->slot >= 0)
			used[f->slot] = true;
	for (slot = 0; slot < IPF_MAX_FILTERS && used[slot]; slot++)
		;
	if (slot == IPF_MAX_FILTERS) {
		nh_logf(st->lg, LOG_ERR,
			"IP filter %s: at most %d filters per context",
			filter->name ? filter->name : "?", IPF_MAX_FILTERS);
		return nh_err(-ENOSPC);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return nh_err(-ENOMEM);
	f->st = st;
	f->f = *filter;
	f->family = family;
	f->slot = slot;
	f->name = filter->name ? strdup(filter->name) : NULL;
	f->match = filter->match && *filter->match ? strdup(filter->match) :
						     NULL;
	if (f->name && (strchr(f->name, '"') || strchr(f->name, '\n'))) {
		free(f->name);
		f->name = NULL;
	}
	if (f->match) {
		struct nh_pcapf_prog *exact = NULL;

		err = nh_pcapf_plan(f->match, f->bytecode, sizeof(f->bytecode),
				    &ninsns, &exact, err_txt, sizeof(err_txt));
		if (err == 1) {
			/* over xt_bpf's 64 instructions: a coarser kernel
			 * match, the exact one here */
			f->coarse = true;
			f->pf = exact;
			err = 0;
			nh_logf(st->lg, LOG_INFO,
				"IP filter %s: \"%s\" needs more than %d BPF instructions: the kernel matches a part of it, the rest is matched in user space",
				f->name ? f->name : "?", f->match,
				NH_PCAPF_MAX_INSNS);
		} else if (!err) {
			err = nh_pcapf_prog_new(f->match, &f->pf, err_txt,
						sizeof(err_txt));
		}
		if (err) {
			nh_logf(st->lg, LOG_ERR,
				"IP filter %s: match \"%s\": %s",
				f->name ? f->name : "?", f->match,
				err_txt[0] ? err_txt : strerror(-err));
			goto fail;
		}
	}
	f->f.name = f->name;
	f->f.match = f->match;
	for (pp = &st->filters; *pp; pp = &(*pp)->next)
		n++;
	f->pos = n;
	/* workers walk the list and read the queues' filters meanwhile */
	__atomic_store_n(pp, f, __ATOMIC_RELEASE);
	{
		int d, k;

		for (d = 0; d < 2; d++)
			for (k = 0; k < st->nq; k++) {
				struct ipf_queue *q =
					&st->q[(slot * 2 + d) * st->nq + k];

				q->dir = d;
				__atomic_store_n(&q->f, f, __ATOMIC_RELEASE);
			}
	}
	err = install_rules(st, family);
	if (err) {
		__atomic_store_n(&f->removed, true, __ATOMIC_SEQ_CST);
		f->slot = -1;
		nh_logf(st->lg, LOG_ERR,
			"IP filter %s: cannot install its rules",
			f->name ? f->name : "?");
		return nh_err(err);
	}
	st->nfilters++;
	nh_logf(st->lg, LOG_DEBUG,
		"IP filter %s added (%s, match \"%s\", %d insns)",
		f->name ? f->name : "?", family == AF_INET6 ? "IPv6" : "IPv4",
		f->match ? f->match : "", ninsns);
	*ref = f;
	return 0;
fail:
	nh_pcapf_prog_free(f->pf);
	free(f->name);
	free(f->match);
	free(f);
	return nh_err(err);
}

NH_API int nh_ipf_addv4(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
			nh_ipfilter_t *filter_ref)
{
	return add_filter(ctx, filter, filter_ref, AF_INET);
}

NH_API int nh_ipf_addv6(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
			nh_ipfilter_t *filter_ref)
{
	return add_filter(ctx, filter, filter_ref, AF_INET6);
}

NH_API int nh_ipf_remove(nh_ipfilter_t f)
{
	struct nh_ipf_state *st;
	int err, d, k, slot;

	if (!f || f->removed)
		return nh_err(-EINVAL);
	st = f->st;
	__atomic_store_n(&f->removed, true, __ATOMIC_SEQ_CST);
	slot = f->slot;
	err = install_rules(st, f->family);
	/* packets already queued for it go on as if it were not there */
	for (d = 0; d < 2; d++)
		for (k = 0; k < st->nq; k++)
			__atomic_store_n(&st->q[(slot * 2 + d) * st->nq + k].f,
					 NULL, __ATOMIC_SEQ_CST);
	f->slot = -1;
	st->nfilters--;
	/* its callbacks running on other workers end first */
	workers_quiesce(st);
	if (f->f.ipf_detach)
		f->f.ipf_detach(f->f.cookie);
	return err ? nh_err(err) : 0;
}

/* ---- verdicts ---- */

/* The worker's gathered verdicts, in one write. */
static void flush_verdicts(struct ipf_worker *w)
{
	if (!w->slen)
		return;
	if (mnl_socket_sendto(w->nl, w->sbuf, w->slen) < 0)
		nh_logf(w->st->lg, LOG_WARNING,
			"IP filter: sending verdicts: %s", strerror(errno));
	w->stats.batches++;
	w->slen = 0;
}

/* Where a verdict of queue qnum is written: the worker's buffer when
 * the worker itself is dispatching on this thread, else *direct (the
 * caller sends it at once). */
static struct ipf_worker *gathering(struct nh_ipf_state *st, int qnum)
{
	struct ipf_worker *w = queue_worker(st, qnum);

	return w == tl_w && w->in_dispatch ? w : NULL;
}

static struct nlmsghdr *verdict_msg(struct ipf_worker *w, int type,
				    uint16_t qnum, size_t payload)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) +
		      MNL_ALIGN(sizeof(struct nfgenmsg)) + 64 + payload + 16;

	if (w->slen + need > IPF_SEND_BUF)
		flush_verdicts(w);
	w->stats.verdict_msgs++;
	return nfq_nlmsg_put((char *)w->sbuf + w->slen, type, qnum);
}

/* Batched accepts of a queue go out before anything that would let a
 * batch verdict cover a held packet.  Its worker only. */
static void flush_plain(struct ipf_worker *w, struct ipf_queue *q,
			uint16_t qnum)
{
	struct nlmsghdr *nlh;

	if (!q->have_plain)
		return;
	nlh = verdict_msg(w, NFQNL_MSG_VERDICT_BATCH, qnum, 0);
	nfq_nlmsg_verdict_put(nlh, (int)q->plain_id, NF_ACCEPT);
	q->have_plain = false;
	w->slen += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_verdict(struct nlmsghdr *nlh, uint32_t id, bool accept,
			const uint8_t *data, size_t len, uint32_t mark)
{
	nfq_nlmsg_verdict_put(nlh, (int)id, accept ? NF_ACCEPT : NF_DROP);
	if (mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	if (data)
		nfq_nlmsg_verdict_put_pkt(nlh, data, (uint32_t)len);
}

/* The verdict of queued packet id: accept (with data when given) or
 * drop.  From any thread. */
static void verdict_id(struct nh_ipf_state *st, uint16_t qnum, uint32_t id,
		       bool accept, const uint8_t *data, size_t len,
		       const struct nh_ipf_pktopts *opts)
{
	struct ipf_queue *q = &st->q[qnum - st->qbase];
	struct ipf_worker *w = gathering(st, qnum);
	uint32_t mark = opts ? opts->mark : 0;
	struct nlmsghdr *nlh;

	if (w) {
		if (accept && !data && !mark && !atomic_load(&q->held)) {
			/* a plain accept: one batch verdict covers them */
			q->have_plain = true;
			q->plain_id = id;
			w->stats.accepted++;
			return;
		}
		nlh = verdict_msg(w, NFQNL_MSG_VERDICT, qnum, data ? len : 0);
		put_verdict(nlh, id, accept, data, len, mark);
		w->slen += MNL_ALIGN(nlh->nlmsg_len);
		if (data)
			w->stats.modified++;
		if (accept)
			w->stats.accepted++;
		else
			w->stats.dropped++;
		return;
	}
	/* from elsewhere: at once, through the queue's socket */
	{
		size_t cap = MNL_SOCKET_BUFFER_SIZE + (data ? len : 0);
		char sbuf[MNL_SOCKET_BUFFER_SIZE], *buf = sbuf;

		if (data && !(buf = malloc(cap))) {
			/* no memory for the changed copy: send it unchanged */
			buf = sbuf;
			data = NULL;
		}
		nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, qnum);
		put_verdict(nlh, id, accept, data, len, mark);
		if (mnl_socket_sendto(queue_worker(st, qnum)->nl, nlh,
				      nlh->nlmsg_len) < 0)
			nh_logf(st->lg, LOG_DEBUG,
				"IP filter: verdict of %u: %s", id,
				strerror(errno));
		if (buf != sbuf)
			free(buf);
		pthread_mutex_lock(&st->lock);
		st->xstats.verdict_msgs++;
		st->xstats.batches++;
		if (data)
			st->xstats.modified++;
		if (accept)
			st->xstats.accepted++;
		else
			st->xstats.dropped++;
		pthread_mutex_unlock(&st->lock);
	}
}

/* The verdict of a packet from a queue, with its data when the callbacks
 * changed it (checksums fixed).  The packet stays the caller's. */
static void give_verdict(struct nh_ipf_state *st, struct nh_pkt *pkt,
			 bool accept, const struct nh_ipf_pktopts *opts)
{
	bool with_data = accept && (pkt->modified || pkt->dirty) &&
			 !pkt->truncated;

	if (with_data && pkt->dirty && nh_pkt_fix_checksums(pkt) < 0)
		nh_logf(st->lg, LOG_DEBUG,
			"IP filter: packet %u: malformed after the callback; sent as it is",
			pkt->q.id);
	verdict_id(st, pkt->q.qnum, pkt->q.id, accept,
		   with_data ? pkt->data : NULL, pkt->len, opts);
	pkt->q.state = NH_PKT_DONE;
	pkt->q.queue = NULL;
}

/* ---- injection of new packets ---- */

static int raw_open_fn(void *arg)
{
	int *fam = arg, fd, one = 1;

	fd = socket(*fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (*fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	return fd;
}

static int send_raw(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	const uint8_t *p = pkt->data;
	struct sockaddr_storage ss;
	socklen_t sl;
	int v = pkt->len ? p[0] >> 4 : 0, fi, fam;
	uint32_t mark = st->skip_mark;

	if (v != 4 && v != 6)
		return -EINVAL;
	fam = v == 6 ? AF_INET6 : AF_INET;
	fi = family_index(fam);
	if (__atomic_load_n(&st->rawfd[fi], __ATOMIC_ACQUIRE) < 0) {
		int fd;

		pthread_mutex_lock(&st->lock);
		if (st->rawfd[fi] >= 0) {
			pthread_mutex_unlock(&st->lock);
			goto have;
		}
		fd = in_ns(st, raw_open_fn, &fam);
		if (fd >= 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
			int e = -errno;

			close(fd);
			fd = e;
		}
		if (fd >= 0)
			__atomic_store_n(&st->rawfd[fi], fd, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&st->lock);
		if (fd < 0)
			return fd;
	}
have:
	memset(&ss, 0, sizeof(ss));
	if (v == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (pkt->len < 20)
			return -EINVAL;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p + 16, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (pkt->len < 40)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p + 24, 16);
		sl = sizeof(*sin6);
	}
	if (sendto(st->rawfd[fi], p, pkt->len, 0, (struct sockaddr *)&ss, sl) <
	    0)
		return -errno;
	return 0;
}

static int tun_open_fn(void *arg)
{
	struct nh_ipf_state *st = arg;
	struct ifreq ifr;
	char path[128];
	int fd, s, err;
	FILE *f;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "nhi%08x",
		 (unsigned int)getpid() * 64u + (st->skip_mark & 0xffffu));
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		close(fd);
		return err;
	}
	snprintf(st->tun, sizeof(st->tun), "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
			ifr.ifr_flags |= IFF_UP;
			ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		close(s);
	}
	/* packets from anywhere arrive through it */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
		 st->tun);
	f = fopen(path, "we");
	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local",
		 st->tun);
	f = fopen(path, "we");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	return fd;
}

static int send_tun(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	ssize_t n;

	if (__atomic_load_n(&st->tunfd, __ATOMIC_ACQUIRE) < 0) {
		int fd = -1, fi;

		pthread_mutex_lock(&st->lock);
		if (st->tunfd < 0) {
			fd = in_ns(st, tun_open_fn, st);
			if (fd >= 0) {
				/* its packets are not hooked again */
				for (fi = 0; fi < 2; fi++)
					if (st->installed[fi])
						install_rules(st,
							      fi ? AF_INET6 :
								   AF_INET);
				__atomic_store_n(&st->tunfd, fd,
						 __ATOMIC_RELEASE);
			}
		}
		pthread_mutex_unlock(&st->lock);
		if (fd < 0 &&
		    __atomic_load_n(&st->tunfd, __ATOMIC_ACQUIRE) < 0) {
			nh_logf(st->lg, LOG_ERR,
				"IP filter: cannot make a tun device for input injection: %s",
				strerror(-fd));
			return fd;
		}
	}
	n = write(st->tunfd, pkt->data, pkt->len);
	return n < 0 ? -errno : 0;
}

/* ---- running the filters ---- */

enum { RUN_ACCEPT, RUN_DROP, RUN_TAKEN };

static bool pkt_matches(struct nh_ipfilter *f, const struct nh_pkt *pkt)
{
	return !f->pf || nh_pcapf_match(f->pf, pkt->data, pkt->len) > 0;
}

static void fill_opts(const struct nh_pkt *pkt, struct nh_ipf_pktopts *o)
{
	o->mark = pkt->mark;
	o->ifindex = pkt->ifindex;
}

/*
 * Run the filters of the packet's family, in order, from `from` (its
 * position) with the user-space match for all but `matched` (the filter
 * the kernel matched).  *pp may be replaced by a callback.  tl_cur is
 * the queued packet the callbacks run on (NULL: a new one).
 */
static int run_filters(struct nh_ipf_state *st, struct nh_pkt **pp, int dir,
		       int family, struct nh_ipfilter *from, bool from_matched,
		       bool from_inclusive, const struct nh_pkt_q *qsave)
{
	struct nh_ipfilter *f;
	bool started = false;

	for (f = __atomic_load_n(&st->filters, __ATOMIC_ACQUIRE); f;
	     f = __atomic_load_n(&f->next, __ATOMIC_ACQUIRE)) {
		struct nh_pkt *before = *pp;
		int r;

		if (!started) {
			if (f != from)
				continue;
			started = true;
			if (!from_inclusive)
				continue;
		}
		if (__atomic_load_n(&f->removed, __ATOMIC_ACQUIRE) ||
		    f->family != family)
			continue;
		if (dir == DIR_OUT ? !f->f.ipf_output : !f->f.ipf_input)
			continue;
		if (!(f == from && from_matched && !f->coarse) &&
		    !pkt_matches(f, *pp))
			continue;
		(*pp)->q.filter_pos = (uint32_t)f->pos;
		if (dir == DIR_OUT) {
			struct nh_ipf_pktopts o;

			fill_opts(*pp, &o);
			r = f->f.ipf_output(f->f.cookie, pp, &o);
			if (r != NH_EJUSTRETURN && *pp)
				(*pp)->mark = o.mark;
		} else {
			struct nh_pkt_info in;
			int off = 0;
			uint8_t proto = 0;

			if (!nh_pkt_parse_ex((*pp)->data, (*pp)->len,
					     NH_PARSE_PARTIAL, &in)) {
				off = in.hdr_len;
				proto = in.proto;
			}
			r = f->f.ipf_input(f->f.cookie, pp, off, proto);
		}
		if (r == NH_EJUSTRETURN)
			return RUN_TAKEN;
		if (!*pp)
			return RUN_DROP;
		if (*pp != before && (*pp)->q.state == NH_PKT_NEW &&
		    (before == tl_cur || (tl_cur_freed && !tl_cur))) {
			/* the callback handed back another packet: it stands
			 * for the queued one (which it freed or kept) */
			(*pp)->q = *qsave;
			(*pp)->dirty = (*pp)->modified = 1;
			if (before == tl_cur) {
				before->q.state = NH_PKT_NEW;
				before->q.queue = NULL;
			}
			tl_cur = *pp;
			tl_cur_freed = false;
		} else if (*pp == before && tl_cur_freed && !tl_cur) {
			return RUN_DROP; /* it freed what it handed back */
		}
		if (r < 0)
			return RUN_DROP;
	}
	return RUN_ACCEPT;
}

/* ---- held packets ---- */

/* A queued packet a callback kept: its verdict waits.  The queue's
 * count is raised unless the packet is still counted (counted: it was
 * held before, and is being injected). */
static void hold(struct nh_ipf_state *st, struct nh_pkt *pkt, bool counted)
{
	struct ipf_queue *q = &st->q[pkt->q.qnum - st->qbase];
	struct ipf_worker *w = gathering(st, pkt->q.qnum);

	/* a batch verdict must not cover it */
	if (w)
		flush_plain(w, q, pkt->q.qnum);
	if (!counted)
		atomic_fetch_add(&q->held, 1);
	pthread_mutex_lock(&st->lock);
	st->xstats.held += counted ? 0 : 1;
	held_add(&st->held, pkt);
	pthread_mutex_unlock(&st->lock);
}

/* Out of the held set; true when it was there (still counted). */
static bool unhold(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	bool was;

	pthread_mutex_lock(&st->lock);
	was = held_del(&st->held, pkt);
	pthread_mutex_unlock(&st->lock);
	return was;
}

/* Its verdict went: batch verdicts may cover its queue again. */
static void uncount(struct nh_ipf_state *st, uint16_t qnum)
{
	struct ipf_queue *q = &st->q[qnum - st->qbase];
	unsigned int v = atomic_load(&q->held);

	while (v && !atomic_compare_exchange_weak(&q->held, &v, v - 1))
		;
}

/* ---- receiving ---- */

static int handle_packet(struct ipf_worker *w, const struct nlmsghdr *nlh)
{
	struct nh_ipf_state *st = w->st;
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	uint16_t qnum = ntohs(nfg->res_id);
	struct nh_pkt *pkt, *cur;
	struct nh_ipfilter *qf;
	struct ipf_queue *q;
	struct nh_pkt_q qsave;
	uint32_t id, skbinfo = 0, caplen;
	uint8_t *data;
	size_t len;
	int r;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return 0;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (qnum < st->qbase ||
	    qnum >= st->qbase + IPF_MAX_FILTERS * 2 * st->nq)
		return 0;
	q = &st->q[qnum - st->qbase];
	w->stats.packets++;
	data = attr[NFQA_PAYLOAD] ? mnl_attr_get_payload(attr[NFQA_PAYLOAD]) :
				    NULL;
	len = attr[NFQA_PAYLOAD] ?
		      mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]) :
		      0;
	qf = __atomic_load_n(&q->f, __ATOMIC_ACQUIRE);
	if (!qf || __atomic_load_n(&qf->removed, __ATOMIC_ACQUIRE) || !len) {
		verdict_id(st, qnum, id, true, NULL, 0, NULL);
		return 0;
	}
	pkt = malloc(sizeof(*pkt));
	if (!pkt) {
		verdict_id(st, qnum, id, true, NULL, 0, NULL);
		return 0;
	}
	nh_pkt_init_borrowed(pkt, data, len);
	pkt->q.qnum = qnum;
	pkt->q.id = id;
	pkt->q.state = NH_PKT_HELD;
	pkt->q.queue = st;
	pkt->q.dir = (uint8_t)q->dir;
	caplen = attr[NFQA_CAP_LEN] ?
			 ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) :
			 (uint32_t)len;
	pkt->orig_len = caplen;
	if (caplen > len) {
		/* cut by the copy range: read-only */
		pkt->truncated = 1;
		/* counted when larger than a queue can carry at all */
		if (caplen > IPF_COPY_MAX)
			w->stats.truncated++;
	}
	if (attr[NFQA_SKB_INFO])
		skbinfo = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
	pkt->csum_partial = !!(skbinfo & NFQA_SKB_CSUMNOTREADY);
	if (attr[NFQA_MARK])
		pkt->mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (q->dir == DIR_IN && attr[NFQA_IFINDEX_INDEV])
		pkt->ifindex =
			(int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (q->dir == DIR_OUT && attr[NFQA_IFINDEX_OUTDEV])
		pkt->ifindex =
			(int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	qsave = pkt->q;
	tl_cur = pkt;
	tl_cur_freed = false;
	r = run_filters(st, &pkt, q->dir, qf->family, qf, true, true, &qsave);
	cur = tl_cur;
	tl_cur = NULL;
	if (r == RUN_TAKEN) {
		if (cur && cur->q.state == NH_PKT_HELD) {
			/* kept for later: its data must outlive the buffer */
			if (nh_pkt_own(cur) < 0) {
				verdict_id(st, qnum, id, true, NULL, 0, NULL);
				cur->q.state = NH_PKT_DONE;
				cur->q.queue = NULL;
			} else {
				hold(st, cur, false);
			}
		} else if (!cur && tl_cur_freed) {
			verdict_id(st, qnum, id, false, NULL, 0, NULL);
		}
		return 1;
	}
	if (!cur) {
		/* freed by a callback that did not take it */
		verdict_id(st, qnum, id, false, NULL, 0, NULL);
		return 1;
	}
	if (cur->truncated && cur->dirty && !w->warned_ro) {
		w->warned_ro = true;
		nh_logf(st->lg, LOG_WARNING,
			"IP filter: a truncated packet (%u bytes) is read-only: changes dropped",
			cur->orig_len);
	}
	give_verdict(st, cur, r == RUN_ACCEPT, NULL);
	nh_pkt_free(cur);
	return 1;
}

/* Read what the worker's queues hold (a bounded amount), give the
 * verdicts in batches. */
static int worker_dispatch_n(struct ipf_worker *w)
{
	struct nh_ipf_state *st = w->st;
	struct ipf_worker *saved = tl_w;
	int n, i, total = 0, ncb = 0, k, nqueues;

	tl_w = w;
	w->in_dispatch = true;
	nqueues = IPF_MAX_FILTERS * 2;
	while (total < IPF_BUDGET) {
		n = recvmmsg(w->fd, w->msgs, IPF_RECV_BATCH, MSG_DONTWAIT,
			     NULL);
		if (n < 0) {
			if (errno == ENOBUFS) {
				nh_logf(st->lg, LOG_WARNING,
					"IP filter: queue messages lost (receive buffer full)");
				continue;
			}
			break;
		}
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			const struct nlmsghdr *nlh =
				(const struct nlmsghdr *)w->iov[i].iov_base;
			size_t len = w->msgs[i].msg_len;

			while (mnl_nlmsg_ok(nlh, (int)len)) {
				if (nlh->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e =
						mnl_nlmsg_get_payload(nlh);

					if (e->error)
						nh_logf(st->lg, LOG_DEBUG,
							"IP filter: verdict refused: %s",
							strerror(-e->error));
				} else if ((nlh->nlmsg_type & 0xff) ==
					   NFQNL_MSG_PACKET) {
					ncb += handle_packet(w, nlh);
				}
				nlh = mnl_nlmsg_next(nlh, (int *)&len);
			}
			total++;
		}
		/* the batch verdicts of this round: the worker's queues are
		 * queue w->idx of each filter and direction */
		for (k = 0; k < nqueues; k++) {
			int qi = k * st->nq + w->idx;

			flush_plain(w, &st->q[qi], (uint16_t)(st->qbase + qi));
		}
		flush_verdicts(w);
		if (n < IPF_RECV_BATCH)
			break;
	}
	w->in_dispatch = false;
	tl_w = saved;
	return ncb;
}

static void worker_dispatch(struct ipf_worker *w)
{
	worker_dispatch_n(w);
}

NH_API int nh_ipf_dispatch(struct nh_ipf_state *st)
{
	if (!st || !st->engine || st->threaded || !st->w || !st->w[0].nl)
		return 0;
	return worker_dispatch_n(&st->w[0]);
}

/* nh_pkt.c calls this when a held packet is freed: drop it.  Exported:
 * a program with its own copy of nh_pkt.c reaches it too. */
NH_API void nh_ipf_pkt_freed(struct nh_pkt *pkt)
{
	struct nh_ipf_state *st = pkt->q.queue;
	bool counted;

	if (!st || pkt->q.state != NH_PKT_HELD)
		return;
	if (pkt == tl_cur) {
		/* in its callback: the verdict is given when it returns */
		tl_cur = NULL;
		tl_cur_freed = true;
		return;
	}
	counted = unhold(st, pkt);
	give_verdict(st, pkt, false, NULL);
	if (counted)
		uncount(st, pkt->q.qnum);
	pkt->q.queue = NULL;
}

static int inject(struct nh_pkt *pkt, nh_ipfilter_t ref, int dir,
		  struct nh_ipf_pktopts *opts)
{
	struct nh_ipf_state *st;
	int r, err = 0, family;
	bool counted = false;

	if (!pkt || !ref) {
		nh_pkt_free(pkt);
		return nh_err(-EINVAL);
	}
	st = ref->st;
	family = ref->family;
	if (pkt->len && (pkt->data[0] >> 4) == 6)
		family = AF_INET6;
	else if (pkt->len && (pkt->data[0] >> 4) == 4)
		family = AF_INET;
	if (pkt == tl_cur)
		tl_cur = NULL; /* handed back from its own callback */
	if (pkt->q.state == NH_PKT_HELD && pkt->q.queue == st) {
		/* stays counted until its verdict went: no batch verdict
		 * can cover it meanwhile */
		counted = unhold(st, pkt);
		if (pkt->q.dir != dir) {
			/* the other way: drop the queued one, send a copy */
			uint16_t qn = pkt->q.qnum;

			give_verdict(st, pkt, false, NULL);
			if (counted)
				uncount(st, qn);
			counted = false;
			pkt->q.state = NH_PKT_NEW;
			pkt->q.queue = NULL;
		}
	} else if (pkt->q.state == NH_PKT_HELD) {
		/* another context's: treat as new */
		nh_ipf_pkt_freed(pkt);
		pkt->q.state = NH_PKT_NEW;
	}
	STAT_ADD(st, injected, 1);
	if (nh_pkt_own(pkt) < 0) {
		/* borrowed data cannot outlive the dispatch, and there is no
		 * memory to copy it: dropped, and the caller told */
		if (pkt->q.state == NH_PKT_HELD) {
			uint16_t qn = pkt->q.qnum;

			give_verdict(st, pkt, false, NULL);
			if (counted)
				uncount(st, qn);
		}
		nh_pkt_free(pkt);
		return nh_err(-ENOMEM);
	}
	{
		struct nh_pkt_q qs = pkt->q;
		struct nh_pkt *saved_cur = tl_cur;
		bool saved_freed = tl_cur_freed;

		tl_cur = pkt->q.state == NH_PKT_HELD ? pkt : NULL;
		tl_cur_freed = false;
		r = run_filters(st, &pkt, dir, family, ref, false, false, &qs);
		if (tl_cur != pkt && tl_cur_freed && r != RUN_TAKEN &&
		    qs.state == NH_PKT_HELD) {
			verdict_id(st, qs.qnum, qs.id, false, NULL, 0, NULL);
			if (counted)
				uncount(st, qs.qnum);
			tl_cur = saved_cur;
			tl_cur_freed = saved_freed;
			return 0;
		}
		if (r == RUN_TAKEN) {
			if (tl_cur && tl_cur->q.state == NH_PKT_HELD) {
				hold(st, tl_cur, counted);
			} else {
				if (!tl_cur && tl_cur_freed &&
				    qs.state == NH_PKT_HELD)
					verdict_id(st, qs.qnum, qs.id, false,
						   NULL, 0, NULL);
				if (counted)
					uncount(st, qs.qnum);
			}
			tl_cur = saved_cur;
			tl_cur_freed = saved_freed;
			return 0;
		}
		tl_cur = saved_cur;
		tl_cur_freed = saved_freed;
	}
	if (pkt->q.state == NH_PKT_HELD) {
		uint16_t qn = pkt->q.qnum;

		give_verdict(st, pkt, r == RUN_ACCEPT, opts);
		if (counted)
			uncount(st, qn);
	} else if (r == RUN_ACCEPT) {
		if (pkt->dirty)
			nh_pkt_fix_checksums(pkt);
		err = dir == DIR_OUT ? send_raw(st, pkt) : send_tun(st, pkt);
		if (err)
			nh_logf(st->lg, LOG_DEBUG, "IP filter: inject_%s: %s",
				dir == DIR_OUT ? "output" : "input",
				strerror(-err));
	}
	nh_pkt_free(pkt);
	return err ? nh_err(err) : 0;
}

NH_API int nh_ipf_inject_output(struct nh_pkt *data, nh_ipfilter_t filter_ref,
				struct nh_ipf_pktopts *options)
{
	return inject(data, filter_ref, DIR_OUT, options);
}

NH_API int nh_ipf_inject_input(struct nh_pkt *data, nh_ipfilter_t filter_ref)
{
	return inject(data, filter_ref, DIR_IN, NULL);
}

static void stats_add(struct nh_ipf_stats *a, const struct nh_ipf_stats *b)
{
	a->packets += b->packets;
	a->accepted += b->accepted;
	a->modified += b->modified;
	a->dropped += b->dropped;
	a->held += b->held;
	a->injected += b->injected;
	a->batches += b->batches;
	a->verdict_msgs += b->verdict_msgs;
	a->truncated += b->truncated;
}

NH_API int nh_ipf_get_stats(struct nh_ctx *ctx, struct nh_ipf_stats *out)
{
	struct nh_ipf_state *st;

	if (!ctx || !out)
		return nh_err(-EINVAL);
	st = *nh_ctx_ipf_slot(ctx);
	memset(out, 0, sizeof(*out));
	if (st) {
		int k;

		pthread_mutex_lock(&st->lock);
		*out = st->xstats;
		pthread_mutex_unlock(&st->lock);
		/* the workers' own: read while they may run (counters only) */
		for (k = 0; st->w && k < st->nq; k++)
			stats_add(out, &st->w[k].stats);
	}
	return 0;
}

/* ---- teardown ---- */

void nh_ipf_close(struct nh_ipf_state *st)
{
	struct nh_ipfilter *f, *next;
	char prefix[64];
	size_t i;
	int fi, k;

	if (!st)
		return;
	/* the workers first: from here on this thread alone runs */
	for (k = 0; st->w && k < st->nq; k++)
		worker_stop(&st->w[k]);
	snprintf(prefix, sizeof(prefix), "NH%s-", st->id);
	for (fi = 0; fi < 2; fi++)
		if (st->installed[fi] &&
		    remove_chains(st->lg, st->nsfd, fi ? AF_INET6 : AF_INET,
				  prefix, NULL) < 0)
			nh_logf(st->lg, LOG_WARNING,
				"IP filter: could not remove chains %s* (nethook cleanup will)",
				prefix);
	/* packets the callbacks still hold go on unchanged; their structs
	 * stay the callers' to free */
	for (k = 0; st->w && k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];
		struct ipf_worker *saved = tl_w;
		int j;

		if (!w->nl)
			continue;
		tl_w = w;
		w->in_dispatch = true;
		for (i = 0; i < st->held.cap; i++) {
			struct nh_pkt *p = st->held.v[i];

			if (!p || p == HELD_TOMB ||
			    queue_worker(st, p->q.qnum) != w)
				continue;
			give_verdict(st, p, true, NULL);
			p->q.queue = NULL;
			p->q.state = NH_PKT_DONE;
		}
		for (j = 0; j < IPF_MAX_FILTERS * 2; j++) {
			int qi = j * st->nq + w->idx;

			flush_plain(w, &st->q[qi], (uint16_t)(st->qbase + qi));
		}
		flush_verdicts(w);
		w->in_dispatch = false;
		tl_w = saved;
	}
	for (f = st->filters; f; f = next) {
		next = f->next;
		if (!f->removed && f->f.ipf_detach)
			f->f.ipf_detach(f->f.cookie);
		nh_pcapf_prog_free(f->pf);
		free(f->name);
		free(f->match);
		free(f);
	}
	for (k = 0; st->w && k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];

		if (w->nl)
			mnl_socket_close(w->nl);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->stopfd >= 0)
			close(w->stopfd);
		free(w->rbuf);
		free(w->sbuf);
	}
	free(st->w);
	for (fi = 0; fi < 2; fi++)
		if (st->rawfd[fi] >= 0)
			close(st->rawfd[fi]);
	if (st->tunfd >= 0)
		close(st->tunfd);
	if (st->nsfd >= 0)
		close(st->nsfd);
	if (st->lockfd >= 0) {
		unlink(st->lock_path);
		close(st->lockfd);
	}
	free(st->held.v);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* ---- cleanup of dead runs ---- */

/* the dead run being cleaned: its lock is held by the cleaner */
static __thread char cleaning[40];

/* "NH<pid>-<seq>-X": is that run gone? */
static bool chain_dead(const char *chain)
{
	char lock[128];
	long pid;
	char *end;
	int fd;

	if (strncmp(chain, "NH", 2))
		return false;
	pid = strtol(chain + 2, &end, 10);
	if (end == chain + 2 || *end != '-' || pid <= 0)
		return false;
	{
		/* "<pid>-<seq>" */
		char *e2;
		long seq = strtol(end + 1, &e2, 10);

		if (e2 == end + 1 || *e2 != '-')
			return false;
		snprintf(lock, sizeof(lock), NH_RUN_DIR "/ipf-%ld-%ld", pid,
			 seq);
		if (cleaning[0] &&
		    !strcmp(lock + sizeof(NH_RUN_DIR "/ipf-") - 1, cleaning))
			return true;
	}
	fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0;

		close(fd);
		return !busy;
	}
	/* no lock file: alive only if the process is */
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

static int clean_ns(const struct nh_logger *lg, int nsfd, const char *what)
{
	int n = 0, r, fi, err = 0;

	for (fi = 0; fi < 2; fi++) {
		r = remove_chains(lg, nsfd, fi ? AF_INET6 : AF_INET, NULL,
				  chain_dead);
		if (r < 0)
			err = r;
		if (r > 0) {
			nh_logf(lg, LOG_INFO,
				"removed IP filter chains of dead runs (%s) in %s",
				fi ? "IPv6" : "IPv4", what);
			n += r;
		}
	}
	return err ? err : n;
}

static bool same_ns(int fd, unsigned long long dev, unsigned long long ino)
{
	struct stat sb;

	return fd >= 0 && !fstat(fd, &sb) &&
	       (unsigned long long)sb.st_dev == dev &&
	       (unsigned long long)sb.st_ino == ino;
}

/* The namespace a dead run used: its path, ours, or one under
 * /run/netns with the same inode.  -1 when it is gone. */
static int find_ns(const char *path, unsigned long long dev,
		   unsigned long long ino, bool *ours)
{
	char p[PATH_MAX];
	struct dirent *de;
	int fd;
	DIR *d;

	*ours = false;
	if (path[0]) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (!ino || same_ns(fd, dev, ino)))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (same_ns(fd, dev, ino)) {
		*ours = true;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	d = opendir("/run/netns");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (same_ns(fd, dev, ino)) {
			closedir(d);
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return -1;
}

/* Each /run/nethook/ipf-* whose owner is gone names the namespace its
 * chains are in: remove every dead run's chains there. */
NH_API int nh_ipf_cleanup_stale(const struct nh_logger *lg)
{
	char path[300], txt[PATH_MAX + 64];
	struct dirent *de;
	int n = 0, fd, nsfd;
	DIR *d;

	d = opendir(NH_RUN_DIR);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long long dev = 0, ino = 0;
		char *l2;
		int r;
		ssize_t len;
		bool ours;

		if (strncmp(de->d_name, "ipf-", 4))
			continue;
		snprintf(path, sizeof(path), NH_RUN_DIR "/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd); /* alive */
			continue;
		}
		len = read(fd, txt, sizeof(txt) - 1);
		txt[len > 0 ? len : 0] = '\0';
		l2 = strchr(txt, '\n');
		if (l2) {
			*l2++ = '\0';
			if (sscanf(l2, "%llu:%llu", &dev, &ino) != 2)
				dev = ino = 0;
		}
		snprintf(cleaning, sizeof(cleaning), "%s", de->d_name + 4);
		nsfd = find_ns(txt, dev, ino, &ours);
		r = 0;
		if (nsfd >= 0) {
			r = clean_ns(lg, ours ? -1 : nsfd,
				     txt[0] ? txt :
				     ours   ? "this network namespace" :
					      "its network namespace");
			if (r > 0)
				n++;
			close(nsfd);
		}
		cleaning[0] = '\0';
		/* kept for another try when the rules could not be removed */
		if (r >= 0)
			unlink(path);
		close(fd);
	}
	closedir(d);
	return n;
}
