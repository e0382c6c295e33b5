// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context: one scope (cgroup), its BPF programs, its events. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include "nh_handoff.h"
#include "nh_internal.h"
#include "nh_ipf_int.h" /* IP filter hook */
#include "nh_relay.h"
#include "nh_sflt.h"
#include "nh_spec.h"

struct nh_ctx {
	struct nh_logger lg;
	char cgroup[PATH_MAX];
	bool own_cgroup;
	int cgroup_fd;
	int epfd;
	int stop_fd;
	int tick_fd; /* reads what the kernel queued without a wake-up */
	atomic_bool stop;
	struct nh_run run;
	struct nh_bpf *bpf;
	struct nh_exe_table *exe;
	void (*event)(const struct nh_event *ev, void *user);
	void *event_user;
	unsigned int event_mask;
	int64_t mono_to_real;
	int ncb;
	/* the relay, started by the first NH_RULE_DIVERT */
	struct nh_proxy_hop hops[NH_RELAY_MAX_HOPS];
	int nhops;
	unsigned int connect_timeout_ms, idle_timeout_ms, max_flows;
	struct nh_relay *relay;
	struct nh_handoff *handoff; /* connect() caught with seccomp */
	/* its reports, from its threads to the dispatching one */
	pthread_mutex_t rep_lock;
	struct nh_relay_report *reps;
	unsigned int rep_head, rep_count;
	int rep_fd;
	uint64_t rep_lost;
	/* socket filters */
	unsigned int flags, threads;
	struct nh_sflt_set sflt;
	bool sflt_ready;
	bool user_divert; /* the caller added NH_RULE_DIVERT rules */
	int auto_rule[2]; /* per domain: the divert-all rule filters made */
	unsigned int auto_users[2];
	bool global_attached;
	pthread_mutex_t exe_lock; /* the exe table: relay threads read it */
	/* IP filter hook (nh_ipf.c): its state, made by the first filter */
	struct nh_ipf_state *ipf;
	char *netns;
	bool cgroup_given;
	int lsm; /* BPF LSM runs our programs: -1 not asked yet, 0, 1 */
	bool ping_guarded;
};

#define NH_REPORT_QUEUE 4096
/* how long an event the kernel queued without waking us may wait */
#define NH_TICK_NS (50 * 1000000L)

static atomic_uint ctx_seq;

static int64_t mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll +
	       (r.tv_nsec - m.tv_nsec);
}

/* The executable of pid, copied out under the lock (relay threads read
 * the table too), so no callback runs with the lock held.  1 when only
 * the name could be had. */
static int exe_copy(struct nh_ctx *ctx, uint32_t pid, const char *comm,
		    char *buf, size_t len)
{
	const char *p;
	int partial;

	pthread_mutex_lock(&ctx->exe_lock);
	p = nh_exe_lookup(ctx->exe, pid, comm, &partial);
	snprintf(buf, len, "%s", p ? p : comm);
	pthread_mutex_unlock(&ctx->exe_lock);
	return partial;
}

static int on_record(void *user, void *data, size_t len)
{
	struct nh_ctx *ctx = user;
	const struct nh_bpf_event *be = data;
	char comm[NH_COMM_LEN + 1], exe[NH_PATH_LEN], detail[192];
	struct nh_event ev;

	if (len < sizeof(__u32))
		return 0;
	if (be->type == NH_EV_FORK) {
		const struct nh_bpf_fork_event *fe = data;

		if (len >= sizeof(*fe)) {
			pthread_mutex_lock(&ctx->exe_lock);
			nh_exe_fork(ctx->exe, fe->pid, fe->ppid);
			pthread_mutex_unlock(&ctx->exe_lock);
		}
		return 0;
	}
	if (be->type == NH_EV_EXEC) {
		const struct nh_bpf_proc_event *pe = data;
		char path[PATH_MAX];

		if (len < sizeof(*pe))
			return 0;
		if (nh_exe_join(pe, path, sizeof(path))) {
			/* as given to execve(); relative ones are resolved
			 * through /proc while the process lives */
			memcpy(path, pe->path, NH_PATH_LEN);
			path[NH_PATH_LEN] = '\0';
		}
		pthread_mutex_lock(&ctx->exe_lock);
		nh_exe_exec(ctx->exe, pe->pid, path);
		pthread_mutex_unlock(&ctx->exe_lock);
		return 0;
	}
	if (len < sizeof(*be) || !ctx->event)
		return 0;
	nh_event_from_bpf(be, ctx->mono_to_real, &ev);
	if (ev.sock_family) {
		nh_event_sock_detail(&ev, detail, sizeof(detail));
		ev.detail = detail;
	}
	/* the kernel reports the end of a handed-off connection, and of a
	 * diverted one the program closed before the relay took it */
	if (ev.type == NH_EVENT_END && ev.route == NH_ROUTE_DIVERT &&
	    ctx->relay)
		ev.route_desc = nh_relay_route(ctx->relay);
	if (ev.type == NH_EVENT_END && ev.route == NH_ROUTE_DIVERT &&
	    ev.err == ECONNABORTED)
		ev.detail = "the program closed its connection before the relay took it";
	memcpy(comm, be->comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	ev.comm = comm;
	ev.exe_partial = exe_copy(ctx, be->pid, comm, exe, sizeof(exe));
	ev.exe = exe;
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
	return 0;
}

static int parse_proxy(struct nh_ctx *ctx, const char *proxy)
{
	char why[256] = "";
	int n, i, err;

	if (!proxy || !*proxy)
		return 0;
	n = nh_proxy_chain_parse(proxy, ctx->hops, NH_RELAY_MAX_HOPS, why,
				 sizeof(why));
	if (n < 0) {
		nh_logf(&ctx->lg, LOG_ERR, "proxy: %s", why);
		return n;
	}
	for (i = 0; i < n; i++) {
		/* a hop named to a proxy that can carry names is resolved
		 * by that proxy, where the name may mean something else */
		if (i && nh_proxy_scheme_carries_names(ctx->hops[i - 1].scheme))
			continue;
		err = nh_proxy_hop_resolve(&ctx->hops[i]);
		if (err) {
			/* getaddrinfo's answers, in its words, not as the
			 * errno nh_proxy_hop_resolve() maps them to */
			nh_logf(&ctx->lg, LOG_ERR,
				"proxy: cannot resolve %s: %s",
				ctx->hops[i].host,
				err == -EHOSTUNREACH ? "no address for this name" :
				err == -EAGAIN ?
						       "the resolver did not answer (try again)" :
						       strerror(-err));
			return err;
		}
	}
	/* direct:// alone is a relay with no hop */
	ctx->nhops = n == 1 && ctx->hops[0].scheme == NH_PROXY_DIRECT ? 0 : n;
	return 0;
}

/* From a relay thread: queue it for the dispatching thread. */
static void on_report(void *user, const struct nh_relay_report *rep)
{
	struct nh_ctx *ctx = user;
	uint64_t one = 1;
	bool queued = false;

	pthread_mutex_lock(&ctx->rep_lock);
	if (ctx->reps && ctx->rep_count < NH_REPORT_QUEUE) {
		ctx->reps[(ctx->rep_head + ctx->rep_count) % NH_REPORT_QUEUE] =
			*rep;
		ctx->rep_count++;
		queued = true;
	}
	pthread_mutex_unlock(&ctx->rep_lock);
	if (!queued) {
		__atomic_fetch_add(&ctx->rep_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	if (write(ctx->rep_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}

static void report_event(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	char comm[NH_COMM_LEN + 1], exe[NH_PATH_LEN];
	struct nh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = r->blocked ? NH_EVENT_BLOCK : NH_EVENT_END;
	ev.ts_ns = (uint64_t)((int64_t)r->end_ns + ctx->mono_to_real);
	ev.pid = (pid_t)r->id.pid;
	ev.uid = r->id.uid;
	ev.cgroup_id = r->id.cgroup_id;
	ev.cookie = r->id.cookie;
	ev.proto = r->proto ? r->proto : IPPROTO_TCP;
	nh_addr_to_sockaddr(&r->id.orig, &ev.orig_dst);
	ev.new_dst = r->to.ss_family ? r->to : ev.orig_dst;
	ev.route = r->blocked ? NH_ROUTE_BLOCK : NH_ROUTE_DIVERT;
	ev.route_desc = r->blocked ? NULL : nh_relay_route(ctx->relay);
	ev.bytes_out = r->bytes_out;
	ev.bytes_in = r->bytes_in;
	ev.duration_ns = r->id.start_ns && r->end_ns > r->id.start_ns ?
				 r->end_ns - r->id.start_ns :
				 0;
	ev.established = r->established;
	ev.err = r->err;
	ev.detail = r->detail[0] ? r->detail : NULL;
	memcpy(comm, r->id.comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	ev.comm = comm;
	ev.exe_partial = exe_copy(ctx, r->id.pid, comm, exe, sizeof(exe));
	ev.exe = exe;
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
}

/* A relayed connection that failed: what, for whom, and why. */
static void report_log(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	struct sockaddr_storage ss;
	char dst[64], comm[NH_COMM_LEN + 1];

	nh_addr_to_sockaddr(&r->id.orig, &ss);
	nh_sockaddr_format((const void *)&ss, dst, sizeof(dst));
	memcpy(comm, r->id.comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	nh_logf(&ctx->lg, LOG_NOTICE, "%s: %s (pid %u %s) %s: %s",
		r->handoff ? "handoff" : "relay", dst, r->id.pid, comm,
		r->blocked		       ? "connect() refused" :
		r->handoff && !r->established ? "connect() failed" :
						"reset",
		r->detail);
}

static void reports_dispatch(struct nh_ctx *ctx)
{
	struct nh_relay_report r;
	uint64_t v;

	if (read(ctx->rep_fd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
	/* the kernel's events about these connections come first */
	if (ctx->tick_fd >= 0)
		nh_bpf_poll(ctx->bpf, 0);
	for (;;) {
		pthread_mutex_lock(&ctx->rep_lock);
		if (!ctx->rep_count) {
			pthread_mutex_unlock(&ctx->rep_lock);
			break;
		}
		r = ctx->reps[ctx->rep_head];
		ctx->rep_head = (ctx->rep_head + 1) % NH_REPORT_QUEUE;
		ctx->rep_count--;
		pthread_mutex_unlock(&ctx->rep_lock);
		if (r.err && r.detail[0])
			report_log(ctx, &r);
		if (ctx->event &&
		    (NH_EVENT_MASK(r.blocked ? NH_EVENT_BLOCK : NH_EVENT_END) &
		     ctx->event_mask))
			report_event(ctx, &r);
	}
}

/* For a relay thread. */
static void relay_exe(void *user, uint32_t pid, const char *comm, char *buf,
		      size_t len)
{
	exe_copy(user, pid, comm, buf, len);
}

static int relay_listening(void *user, int fd)
{
	struct nh_ctx *ctx = user;
	int err = nh_bpf_mark_relay(ctx->bpf, fd);

	if (err)
		nh_logf(&ctx->lg, LOG_ERR,
			"cannot mark the relay's listener (sk_storage from user space, Linux 5.2+): %s",
			strerror(-err));
	return err;
}

static int relay_ensure(struct nh_ctx *ctx)
{
	struct nh_relay_opts ro = { 0 };
	struct nh_bpf_addr a4, a6;
	uint64_t netns;
	int err;

	if (ctx->relay)
		return 0;
	ctx->reps = calloc(NH_REPORT_QUEUE, sizeof(*ctx->reps));
	if (!ctx->reps)
		return -ENOMEM;
	ro.hops = ctx->hops;
	ro.nhops = ctx->nhops;
	/* threads 0 or 1: flows, and every callback, on the dispatching
	 * thread; N > 1: N workers */
	ro.inline_loop = ctx->threads <= 1;
	ro.workers = ctx->threads > 1 ? ctx->threads : 1;
	ro.own_fds = ctx->flags & NH_CTX_RELAY_OWN_FDS;
	ro.sflt = &ctx->sflt;
	ro.exe = relay_exe;
	ro.connect_timeout_ms = ctx->connect_timeout_ms;
	ro.idle_timeout_ms = ctx->idle_timeout_ms;
	ro.max_flows = ctx->max_flows;
	ro.flows_map_fd = nh_bpf_flows_fd(ctx->bpf);
	ro.lg = &ctx->lg;
	ro.report = on_report;
	ro.listening = relay_listening;
	ro.user = ctx;
	err = nh_relay_start(&ro, &ctx->relay);
	if (err)
		return err;
	if (ro.inline_loop) {
		struct epoll_event ee = { .events = EPOLLIN, .data.u32 = 4 };

		if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, nh_relay_fd(ctx->relay),
			      &ee))
			return -errno;
	}
	nh_relay_addrs(ctx->relay, &a4, &a6, &netns);
	nh_bpf_set_relay(ctx->bpf, &a4, &a6, (uint32_t)getpid(), netns);
	nh_logf(&ctx->lg, LOG_DEBUG,
		"relay on 127.0.0.1:%u and [::1]:%u via %s", a4.port, a6.port,
		nh_relay_route(ctx->relay));
	return 0;
}

static int scope_cgroup(struct nh_ctx *ctx, const char *want, bool global)
{
	char mnt[PATH_MAX], self[PATH_MAX];
	struct stat st;
	unsigned int seq;
	int err, n;

	if (want) {
		err = nh_cgroup_mount(&ctx->lg, mnt, sizeof(mnt));
		if (err)
			return err;
		if (want[0] != '/' || stat(want, &st) || !S_ISDIR(st.st_mode)) {
			nh_logf(&ctx->lg, LOG_ERR,
				"%s is not a cgroup v2 directory", want);
			return -ENOENT;
		}
		if (!realpath(want, ctx->cgroup) ||
		    strncmp(ctx->cgroup, mnt, strlen(mnt)))
			return -EINVAL;
		if (!strcmp(ctx->cgroup, mnt) && !global) {
			nh_logf(&ctx->lg, LOG_ERR,
				"%s is the cgroup v2 root: hooking it hooks every process on the host, which needs NH_CTX_ALLOW_GLOBAL",
				want);
			return -EPERM;
		}
		return 0;
	}
	err = nh_cgroup_self(&ctx->lg, self, sizeof(self));
	if (err)
		return err;
	seq = atomic_fetch_add(&ctx_seq, 1);
	if (seq == 0)
		n = snprintf(ctx->cgroup, sizeof(ctx->cgroup),
			     "%.3900s/nethook-%d", self, (int)getpid());
	else
		n = snprintf(ctx->cgroup, sizeof(ctx->cgroup),
			     "%.3900s/nethook-%d-%u", self, (int)getpid(), seq);
	if (n >= (int)sizeof(ctx->cgroup) || strlen(self) > 3900)
		return -ENAMETOOLONG;
	/* the run's lock first: another nethook's clean-up takes a
	 * nethook-* cgroup with no live lock for a dead run's, and removes
	 * it (the supervisor is forked before any BPF fd exists) */
	err = nh_run_begin(&ctx->lg, ctx->cgroup, &ctx->run);
	if (err)
		return err;
	err = nh_cgroup_create(ctx->cgroup);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR, "cannot create cgroup %s: %s",
			ctx->cgroup, strerror(-err));
		return err;
	}
	ctx->own_cgroup = true;
	return 0;
}

NH_API int nh_ctx_open(const struct nh_ctx_opts *opts, struct nh_ctx **out)
{
	struct epoll_event ee = { .events = EPOLLIN };
	unsigned int flags = NH_OPT(opts, flags, 0u), mask;
	struct nh_ctx *ctx;
	int err;

	if (!out || (opts && opts->sz < offsetof(struct nh_ctx_opts, cgroup)))
		return nh_err(-EINVAL);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return nh_err(-ENOMEM);
	ctx->cgroup_fd = ctx->epfd = ctx->stop_fd = ctx->rep_fd = -1;
	ctx->tick_fd = -1;
	ctx->run.lock_fd = ctx->run.super_fd = -1;
	ctx->lg.fn = NH_OPT(opts, log, NULL);
	ctx->lg.user = NH_OPT(opts, log_user, NULL);
	ctx->event = NH_OPT(opts, event, NULL);
	ctx->event_user = NH_OPT(opts, event_user, NULL);
	mask = NH_OPT(opts, event_mask, 0u);
	if (!mask)
		mask = NH_EVENT_MASK_DEFAULT;
	if (!ctx->event)
		mask = 0;
	ctx->event_mask = mask;
	ctx->rep_fd = -1;
	pthread_mutex_init(&ctx->rep_lock, NULL);
	pthread_mutex_init(&ctx->exe_lock, NULL);
	ctx->auto_rule[0] = ctx->auto_rule[1] = -1;
	ctx->lsm = -1;
	ctx->flags = flags;
	ctx->threads = NH_OPT(opts, threads, 0u);
	if (nh_sflt_set_init(&ctx->sflt, &ctx->lg)) {
		err = -ENOMEM;
		goto cleanup;
	}
	ctx->sflt_ready = true;
	ctx->connect_timeout_ms = NH_OPT(opts, connect_timeout_ms, 0u);
	ctx->idle_timeout_ms = NH_OPT(opts, idle_timeout_ms, 0u);
	ctx->max_flows = NH_OPT(opts, max_flows, 0u);
	/* IP filter hook: the namespace its rules and queues live in */
	if (NH_OPT(opts, netns, NULL)) {
		ctx->netns = strdup(opts->netns);
		if (!ctx->netns) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	ctx->cgroup_given = NH_OPT(opts, cgroup, NULL) != NULL;
	err = parse_proxy(ctx, NH_OPT(opts, proxy, NULL));
	if (err)
		goto cleanup;
	err = nh_features_check(&ctx->lg, false);
	if (err)
		goto cleanup;
	nh_cleanup(ctx->lg.fn, ctx->lg.user);
	err = scope_cgroup(ctx, NH_OPT(opts, cgroup, NULL),
			   flags & NH_CTX_ALLOW_GLOBAL);
	if (err)
		goto cleanup;
	ctx->cgroup_fd = open(ctx->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->cgroup_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	ctx->exe = nh_exe_table_new();
	if (!ctx->exe) {
		err = -ENOMEM;
		goto cleanup;
	}
	ctx->mono_to_real = mono_to_real();
	err = nh_bpf_open(&ctx->lg, ctx->cgroup_fd, mask,
			  ctx->event ? on_record : NULL, ctx, &ctx->bpf);
	if (err)
		goto cleanup;
	if (ctx->own_cgroup) {
		char dir[PATH_MAX];

		/* nothing runs in the scope yet: no window unhooked */
		err = nh_pin_run_dir(&ctx->lg, ctx->run.id, dir, sizeof(dir));
		if (!err)
			err = nh_bpf_pin(ctx->bpf, dir);
		if (err)
			goto cleanup;
	}
	ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
	ctx->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->epfd < 0 || ctx->stop_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	ee.data.u32 = 0;
	if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->stop_fd, &ee)) {
		err = -errno;
		goto cleanup;
	}
	if (nh_bpf_fd(ctx->bpf) >= 0) {
		struct itimerspec its = { { 0, NH_TICK_NS },
					  { 0, NH_TICK_NS } };

		ee.data.u32 = 1;
		ctx->tick_fd = timerfd_create(CLOCK_MONOTONIC,
					      TFD_CLOEXEC | TFD_NONBLOCK);
		if (ctx->tick_fd < 0 ||
		    timerfd_settime(ctx->tick_fd, 0, &its, NULL) ||
		    epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, nh_bpf_fd(ctx->bpf),
			      &ee)) {
			err = -errno;
			goto cleanup;
		}
		ee.data.u32 = 3;
		if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->tick_fd, &ee)) {
			err = -errno;
			goto cleanup;
		}
	}
	ctx->rep_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ee.data.u32 = 2;
	if (ctx->rep_fd < 0 ||
	    epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->rep_fd, &ee)) {
		err = -errno;
		goto cleanup;
	}
	nh_logf(&ctx->lg, LOG_DEBUG, "scope: cgroup %s", ctx->cgroup);
	*out = ctx;
	return 0;
cleanup:
	nh_ctx_close(ctx);
	return nh_err(err);
}

/* SIGTERM everything in the scope, SIGKILL what is left after grace_ms. */
NH_API int nh_ctx_end_scope(struct nh_ctx *ctx, int grace_ms)
{
	int waited = 0;

	if (!ctx || !ctx->own_cgroup)
		return nh_err(-EINVAL);
	if (nh_cgroup_populated(ctx->cgroup) != 1)
		return 0;
	nh_cgroup_signal(ctx->cgroup, SIGTERM);
	while (nh_cgroup_populated(ctx->cgroup) == 1 && waited < grace_ms) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (nh_cgroup_populated(ctx->cgroup) == 1) {
		nh_logf(&ctx->lg, LOG_INFO,
			"processes left in %s after %d ms: killing them",
			ctx->cgroup, grace_ms);
		nh_cgroup_kill(ctx->cgroup);
	}
	return 1;
}

NH_API void nh_ctx_close(struct nh_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->own_cgroup)
		nh_ctx_end_scope(ctx, 2000);
	nh_ipf_close(ctx->ipf); /* IP filter hook: rules, queues, detach */
	ctx->ipf = NULL;
	nh_handoff_stop(ctx->handoff);
	ctx->handoff = NULL;
	nh_relay_stop(ctx->relay);
	if (ctx->sflt_ready)
		nh_sflt_set_fini(&ctx->sflt); /* sf_unregistered for each */
	nh_bpf_close(ctx->bpf);
	if (ctx->own_cgroup && nh_cgroup_remove(ctx->cgroup, 2000))
		nh_logf(&ctx->lg, LOG_WARNING, "cannot remove cgroup %s: %s",
			ctx->cgroup, strerror(errno));
	nh_run_end(&ctx->run);
	if (ctx->cgroup_fd >= 0)
		close(ctx->cgroup_fd);
	if (ctx->epfd >= 0)
		close(ctx->epfd);
	if (ctx->stop_fd >= 0)
		close(ctx->stop_fd);
	if (ctx->rep_fd >= 0)
		close(ctx->rep_fd);
	if (ctx->tick_fd >= 0)
		close(ctx->tick_fd);
	pthread_mutex_destroy(&ctx->rep_lock);
	pthread_mutex_destroy(&ctx->exe_lock);
	free(ctx->reps);
	nh_exe_table_free(ctx->exe);
	free(ctx->netns);
	free(ctx);
}

/* IP filter hook: what nh_ipf.c reads of the context. */
struct nh_ipf_state **nh_ctx_ipf_slot(struct nh_ctx *ctx)
{
	return &ctx->ipf;
}

const struct nh_logger *nh_ctx_logger(struct nh_ctx *ctx)
{
	return &ctx->lg;
}

const char *nh_ctx_netns(const struct nh_ctx *ctx)
{
	return ctx->netns;
}

int nh_ctx_epfd(const struct nh_ctx *ctx)
{
	return ctx->epfd;
}

unsigned int nh_ctx_threads(const struct nh_ctx *ctx)
{
	return ctx->threads;
}

int nh_ctx_cgroup_given(const struct nh_ctx *ctx)
{
	return ctx->cgroup_given;
}

NH_API int nh_ctx_add_pid(struct nh_ctx *ctx, pid_t pid)
{
	int err;

	if (!ctx || pid <= 0)
		return nh_err(-EINVAL);
	err = nh_cgroup_add_pid(ctx->cgroup, pid);
	if (err)
		nh_logf(&ctx->lg, LOG_ERR, "cannot move pid %d into %s: %s",
			(int)pid, ctx->cgroup, strerror(-err));
	return err ? nh_err(err) : 0;
}

NH_API const char *nh_ctx_cgroup(const struct nh_ctx *ctx)
{
	return ctx ? ctx->cgroup : NULL;
}

NH_API int nh_ctx_fd(const struct nh_ctx *ctx)
{
	return ctx ? ctx->epfd : nh_err(-EINVAL);
}

/* Can lsm_cgroup programs enforce anything on this kernel?  Asked once,
 * and said once, with the reason when not. */
static bool lsm_usable(struct nh_ctx *ctx)
{
	char why[256] = "";
	int err;

	if (ctx->lsm >= 0)
		return ctx->lsm;
	ctx->lsm = nh_features_bpf_lsm(why, sizeof(why));
	err = ctx->lsm ? nh_bpf_lsm_loaded(ctx->bpf) : 0;
	if (err) {
		ctx->lsm = 0;
		snprintf(
			why, sizeof(why),
			"the kernel refused lsm_cgroup programs (Linux 6.0+): %s",
			strerror(-err));
	}
	if (!ctx->lsm)
		nh_logf(&ctx->lg, LOG_INFO, "BPF LSM unavailable: %s", why);
	return ctx->lsm;
}

/* A rule that blocks UDP applies to ICMP ping sockets too; they meet it
 * in connect4/6, but their unconnected sendto() never reaches
 * sendmsg4/6: a program on the scope's egress checks their datagrams. */
static int ping_guard(struct nh_ctx *ctx, const struct nh_bpf_rule *r)
{
	int err;

	if (ctx->ping_guarded || !(r->protos & NH_PROTO_UDP) ||
	    r->action != NH_ACT_BLOCK)
		return 0;
	err = nh_bpf_attach_ping(ctx->bpf, ctx->cgroup_fd);
	if (err)
		return err;
	ctx->ping_guarded = true;
	nh_logf(&ctx->lg, LOG_DEBUG,
		"ping sockets: each datagram checked against the rules (cgroup_skb/egress)");
	return 0;
}

NH_API int nh_ctx_refuse_unhooked(struct nh_ctx *ctx)
{
	bool all = false;
	int err;

	if (!ctx)
		return nh_err(-EINVAL);
	if (lsm_usable(ctx)) {
		err = nh_bpf_attach_lsm(ctx->bpf, ctx->cgroup_fd);
		if (!err)
			all = true;
		else
			nh_logf(&ctx->lg, LOG_INFO,
				"BPF LSM: cannot attach lsm_cgroup/socket_create: %s",
				strerror(-err));
	}
	err = nh_bpf_refuse_sockets(ctx->bpf, ctx->cgroup_fd,
				    NH_SOCKPOL_REFUSE);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR,
			"cannot refuse raw and packet sockets: %s",
			strerror(-err));
		return nh_err(err);
	}
	nh_logf(&ctx->lg, LOG_INFO,
		all ? "raw, packet and other sockets the hooks cannot see are refused (EPERM): AF_INET/AF_INET6 in cgroup/sock_create, other families in lsm_cgroup/socket_create" :
		      "raw IP sockets and IP protocols other than TCP, UDP and MPTCP are refused (EPERM) in cgroup/sock_create; other families are not (no BPF LSM)");
	return all ? 1 : 0;
}

NH_API int nh_ctx_add_rule(struct nh_ctx *ctx, const struct nh_rule *rule)
{
	struct nh_bpf_rule r;
	int err;

	if (!ctx || !rule)
		return nh_err(-EINVAL);
	err = nh_rule_compile(rule, &r);
	if (!err && rule->action == NH_RULE_DIVERT) {
		err = relay_ensure(ctx);
		ctx->user_divert = true;
	}
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR, "invalid rule (match \"%s\"): %s",
			rule->match ? rule->match : "", strerror(-err));
		return nh_err(err);
	}
	err = nh_bpf_add_rule(ctx->bpf, &r);
	if (!err)
		err = ping_guard(ctx, &r);
	if (err)
		nh_logf(&ctx->lg, LOG_ERR, "cannot add rule: %s",
			strerror(-err));
	return err;
}

NH_API int nh_ctx_dispatch(struct nh_ctx *ctx, int timeout_ms)
{
	struct epoll_event ev[5];
	uint64_t v;
	int n, i, r;

	if (!ctx)
		return nh_err(-EINVAL);
	ctx->ncb = 0;
	n = epoll_wait(ctx->epfd, ev, 5, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : nh_err(-errno);
	/* whatever woke us, or nothing did: read what the kernel queued
	 * without a wake-up, so a caller's timeout bounds the delay too */
	if (!n && ctx->tick_fd >= 0) {
		r = nh_bpf_poll(ctx->bpf, 0);
		if (r < 0)
			return nh_err(r);
	}
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == 2) {
			reports_dispatch(ctx);
			continue;
		}
		if (ev[i].data.u32 == NH_IPF_EPOLL_TAG) { /* IP filter hook */
			r = nh_ipf_dispatch(ctx->ipf);
			if (r > 0)
				ctx->ncb += r;
			continue;
		}
		if (ev[i].data.u32 == 4) {
			r = nh_relay_poll(ctx->relay);
			if (r > 0)
				ctx->ncb += r;
			continue;
		}
		if (ev[i].data.u32 == 3 &&
		    read(ctx->tick_fd, &v, sizeof(v)) < 0) {
			/* not expired after all: poll anyway */
		}
		if (ev[i].data.u32 == 0) {
			if (read(ctx->stop_fd, &v, sizeof(v)) < 0) {
				/* already drained by another dispatcher */
			}
			continue;
		}
		r = nh_bpf_poll(ctx->bpf, 0);
		if (r < 0)
			return nh_err(r);
	}
	return ctx->ncb;
}

NH_API int nh_ctx_run(struct nh_ctx *ctx)
{
	int err;

	if (!ctx)
		return nh_err(-EINVAL);
	atomic_store(&ctx->stop, false);
	while (!atomic_load(&ctx->stop)) {
		err = nh_ctx_dispatch(ctx, -1);
		if (err < 0)
			return err;
	}
	return 0;
}

NH_API void nh_ctx_stop(struct nh_ctx *ctx)
{
	uint64_t one = 1;

	if (!ctx)
		return;
	atomic_store(&ctx->stop, true);
	if (write(ctx->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}

NH_API uint64_t nh_ctx_lost_events(const struct nh_ctx *ctx)
{
	if (!ctx || !ctx->bpf)
		return 0;
	return nh_bpf_lost(ctx->bpf) +
	       __atomic_load_n(&ctx->rep_lost, __ATOMIC_RELAXED);
}

static int domain_index(int domain)
{
	return domain == AF_INET ? 0 : domain == AF_INET6 ? 1 : -1;
}

/* A filter on a context with no divert rule of the caller's sees every
 * connection of its domain: a divert-all rule for sockets of that family,
 * made with the first such filter, disabled with the last. */
static int auto_divert(struct nh_ctx *ctx, int domain)
{
	struct nh_rule rule = { .sz = sizeof(rule) };
	struct nh_bpf_rule r;
	int d = domain_index(domain), err;

	if (ctx->user_divert || ctx->auto_users[d]++)
		return 0;
	rule.action = NH_RULE_DIVERT;
	rule.domain = domain;
	err = nh_rule_compile(&rule, &r);
	if (!err)
		err = relay_ensure(ctx);
	if (!err) {
		ctx->auto_rule[d] = nh_bpf_nr_rules(ctx->bpf);
		err = nh_bpf_add_rule(ctx->bpf, &r);
	}
	if (err) {
		ctx->auto_users[d]--;
		ctx->auto_rule[d] = -1;
	}
	return err;
}

static void auto_divert_put(struct nh_ctx *ctx, int domain)
{
	int d = domain_index(domain);

	if (d < 0 || !ctx->auto_users[d] || --ctx->auto_users[d])
		return;
	if (ctx->auto_rule[d] >= 0)
		nh_bpf_rule_disable(ctx->bpf, ctx->auto_rule[d]);
	ctx->auto_rule[d] = -1;
}

/* NH_SFLT_GLOBAL: the same programs on the cgroup v2 root as well. */
static int attach_global(struct nh_ctx *ctx)
{
	char mnt[PATH_MAX];
	int fd, err;

	if (ctx->global_attached)
		return 0;
	err = nh_cgroup_mount(&ctx->lg, mnt, sizeof(mnt));
	if (err)
		return err;
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = nh_bpf_attach_cgroup(ctx->bpf, fd);
	close(fd);
	if (!err) {
		ctx->global_attached = true;
		nh_logf(&ctx->lg, LOG_NOTICE,
			"socket filter attached at the cgroup v2 root %s: every process on the host is hooked",
			mnt);
	}
	return err;
}

NH_API int nh_sflt_register(struct nh_ctx *ctx,
			    const struct nh_sflt_filter *filter, int domain,
			    int type, int protocol)
{
	int err;

	if (!ctx || !filter)
		return nh_err(-EINVAL);
	if (domain_index(domain) < 0) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter %s: domain must be AF_INET or AF_INET6",
			filter->sf_name ? filter->sf_name : "?");
		return nh_err(-EAFNOSUPPORT);
	}
	if (type == SOCK_DGRAM) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter %s: SOCK_DGRAM is not relayed yet",
			filter->sf_name ? filter->sf_name : "?");
		return nh_err(-EOPNOTSUPP);
	}
	if (type != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP)) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter %s: type must be SOCK_STREAM and protocol 0 or IPPROTO_TCP",
			filter->sf_name ? filter->sf_name : "?");
		return nh_err(-EPROTONOSUPPORT);
	}
	if (ctx->handoff) {
		/* a filter sees a connection on the relay, which a handed-off
		 * one never reaches */
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter %s: not with a handoff (nh_ctx_add_handoff)",
			filter->sf_name ? filter->sf_name : "?");
		return nh_err(-EBUSY);
	}
	err = nh_sflt_add(&ctx->sflt, filter, domain,
			  ctx->flags & NH_CTX_ALLOW_GLOBAL);
	if (err)
		return nh_err(err);
	if (filter->sf_flags & NH_SFLT_GLOBAL)
		err = attach_global(ctx);
	if (!err)
		err = auto_divert(ctx, domain);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR, "socket filter %s: %s",
			filter->sf_name ? filter->sf_name : "?",
			strerror(-err));
		nh_sflt_remove(&ctx->sflt, filter->sf_handle);
		return nh_err(err);
	}
	return 0;
}

NH_API int nh_sflt_unregister(struct nh_ctx *ctx, nh_sflt_handle handle)
{
	int domain, err;

	if (!ctx)
		return nh_err(-EINVAL);
	domain = nh_sflt_domain(&ctx->sflt, handle);
	err = nh_sflt_remove(&ctx->sflt, handle);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter handle %u: not registered", handle);
		return nh_err(err);
	}
	auto_divert_put(ctx, domain);
	return 0;
}

NH_API int nh_ctx_add_handoff(struct nh_ctx *ctx, int lfd)
{
	struct nh_handoff_opts ho = { 0 };
	struct nh_bpf_addr to;
	struct stat st;
	const char *why = NULL;
	int err;

	if (!ctx || lfd < 0) {
		if (lfd >= 0)
			close(lfd);
		return nh_err(-EINVAL);
	}
	err = -EINVAL;
	if (ctx->handoff) {
		why = "there is one already";
		err = -EBUSY;
	} else if (!ctx->nhops) {
		why = "it needs a proxy to hand connections to (not direct://)";
	} else if (ctx->sflt.head) {
		why = "socket filters see connections on the relay";
		err = -EBUSY;
	} else if (nh_addr_from_sockaddr((void *)&ctx->hops[0].addr, &to)) {
		why = "the first proxy has no address";
	}
	if (why) {
		nh_logf(&ctx->lg, LOG_ERR, "handoff: %s", why);
		close(lfd);
		return nh_err(err);
	}
	err = relay_ensure(ctx);
	if (!err)
		/* its identity without a /proc read per connect */
		err = nh_bpf_attach_create(ctx->bpf, ctx->cgroup_fd);
	if (err) {
		close(lfd);
		return nh_err(err);
	}
	ho.hops = ctx->hops;
	ho.nhops = ctx->nhops;
	ho.timeout_ms = ctx->connect_timeout_ms ? ctx->connect_timeout_ms :
						  10000;
	ho.sk_info_fd = nh_bpf_sk_info_fd(ctx->bpf);
	/* a cgroup's id is its directory's inode number */
	if (!fstat(ctx->cgroup_fd, &st))
		ho.cgroup_id = st.st_ino;
	ho.lg = &ctx->lg;
	ho.report = on_report;
	ho.user = ctx;
	err = nh_handoff_start(&ho, lfd, &ctx->handoff);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR, "handoff: %s", strerror(-err));
		return nh_err(err);
	}
	nh_bpf_set_handoff(ctx->bpf, &to);
	nh_logf(&ctx->lg, LOG_DEBUG, "handoff: connect() of the scope via %s",
		nh_relay_route(ctx->relay));
	return 0;
}
