// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context's life: its scope (cgroup), BPF programs, epoll set and
 * parts, opened and closed; what it says of itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
#include "nh_bpf.h"
#include "nh_cgroup.h"
#include "nh_ctx_int.h"
#include "nh_exe.h"
#include "nh_pipe.h"
#include "nh_features.h"
#include "nh_handoff.h"
#include "nh_log.h"
#include "nh_pin.h"
#include "nh_relay.h"
#include "nh_run.h"

/* how long an event the kernel queued without waking us may wait */
#define NH_TICK_NS (50 * 1000000L)

static atomic_uint ctx_seq;

static int on_stop(struct nh_ev *ev, uint32_t events)
{
	struct nh_ctx *ctx = nh_container_of(ev, struct nh_ctx, ev_stop);
	uint64_t v;

	(void)events;
	if (read(ctx->stop_fd, &v, sizeof(v)) < 0) {
		/* already drained by another dispatcher */
	}
	return 0;
}

static int ring_poll(struct nh_ctx *ctx)
{
	int r = nh_bpf_poll(ctx->bpf, 0);

	return r < 0 ? r : 0;
}

static int on_ring(struct nh_ev *ev, uint32_t events)
{
	(void)events;
	return ring_poll(nh_container_of(ev, struct nh_ctx, ev_ring));
}

static int on_tick(struct nh_ev *ev, uint32_t events)
{
	struct nh_ctx *ctx = nh_container_of(ev, struct nh_ctx, ev_tick);
	uint64_t v;

	(void)events;
	if (read(ctx->tick_fd, &v, sizeof(v)) < 0) {
		/* not expired after all: poll anyway */
	}
	return ring_poll(ctx);
}

static int on_reports(struct nh_ev *ev, uint32_t events)
{
	(void)events;
	return nh_ctx_reports_dispatch(
		nh_container_of(ev, struct nh_ctx, ev_reports));
}

/* The chain, parsed already by the caller or parsed here, then
 * resolved. */
static int chain_take(struct nh_ctx *ctx, const struct nh_ctx_opts *opts)
{
	const struct nh_proxy_chain *given = NH_OPT(opts, proxy_chain, NULL);
	const char *text = NH_OPT(opts, proxy, NULL);
	char why[256] = "";
	int err;

	if (given) {
		ctx->chain = *given;
	} else if (text && *text) {
		err = nh_chain_parse(text, &ctx->chain, why, sizeof(why));
		if (err) {
			nh_logf(&ctx->lg, LOG_ERR, "proxy: %s", why);
			return err;
		}
	} else {
		return 0;
	}
	return nh_chain_resolve(&ctx->chain, &ctx->lg);
}

static int scope_cgroup(struct nh_ctx *ctx, const char *want, bool global)
{
	char mnt[PATH_MAX], self[PATH_MAX];
	struct stat st;
	unsigned int seq;
	int err, n, tries;

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
	/* the run's lock first: another nethook's clean-up takes a
	 * nethook-* cgroup with no live lock for a dead run's, and removes
	 * it (the supervisor is forked before any BPF fd exists).  A lock
	 * of this id already there is a dead run's (nh_run_begin()): the
	 * next id, nethook-PID-SEQ */
	for (tries = 0;; tries++) {
		seq = atomic_fetch_add(&ctx_seq, 1);
		if (seq == 0)
			n = snprintf(ctx->cgroup, sizeof(ctx->cgroup),
				     "%.3900s/nethook-%d", self, (int)getpid());
		else
			n = snprintf(ctx->cgroup, sizeof(ctx->cgroup),
				     "%.3900s/nethook-%d-%u", self,
				     (int)getpid(), seq);
		if (n >= (int)sizeof(ctx->cgroup) || strlen(self) > 3900)
			return -ENAMETOOLONG;
		err = nh_run_begin(&ctx->lg, ctx->cgroup, &ctx->run);
		if (err != -EEXIST || tries == 100)
			break;
	}
	if (err == -EEXIST)
		nh_logf(&ctx->lg, LOG_ERR,
			"cannot lock a run: %s and %d other ids are taken",
			ctx->run.lock_path, tries);
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
	unsigned int flags = NH_OPT(opts, flags, 0u), mask;
	struct nh_ctx *ctx;
	int err;

	if (!out || (opts && opts->sz < offsetof(struct nh_ctx_opts, cgroup)))
		return nh_err(-EINVAL);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return nh_err(-ENOMEM);
	ctx->cgroup_fd = ctx->epfd = ctx->stop_fd = -1;
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
	nh_reports_init(&ctx->reps);
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
	ctx->dns_mode = NH_OPT(opts, dns, 0u);
	ctx->dns_ttl_s = NH_OPT(opts, dns_ttl_s, 0u);
	err = nh_ctx_names_open(ctx, NH_OPT(opts, dns_max_names, 0u));
	if (err)
		goto cleanup;
	/* IP filter hook: the namespace its rules and queues live in */
	if (NH_OPT(opts, netns, NULL)) {
		ctx->netns = strdup(opts->netns);
		if (!ctx->netns) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	ctx->cgroup_given = NH_OPT(opts, cgroup, NULL) != NULL;
	err = chain_take(ctx, opts);
	if (err)
		goto cleanup;
	if (nh_ctx_user(ctx))
		goto loop;
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
	err = nh_bpf_open(&ctx->lg, ctx->cgroup_fd, mask,
			  ctx->event ? nh_ctx_on_record : NULL, ctx, &ctx->bpf);
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
	err = nh_ctx_names_watch(ctx);
	if (err)
		goto cleanup;
loop:
	ctx->exe = nh_exe_table_new();
	if (!ctx->exe) {
		err = -ENOMEM;
		goto cleanup;
	}
	ctx->mono_to_real = nh_ctx_mono_to_real();
	ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
	ctx->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->epfd < 0 || ctx->stop_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = nh_ctx_watch(ctx, ctx->stop_fd, &ctx->ev_stop, on_stop);
	if (err)
		goto cleanup;
	if (ctx->bpf && nh_bpf_fd(ctx->bpf) >= 0) {
		struct itimerspec its = { { 0, NH_TICK_NS },
					  { 0, NH_TICK_NS } };

		ctx->tick_fd = timerfd_create(CLOCK_MONOTONIC,
					      TFD_CLOEXEC | TFD_NONBLOCK);
		if (ctx->tick_fd < 0 ||
		    timerfd_settime(ctx->tick_fd, 0, &its, NULL)) {
			err = -errno;
			goto cleanup;
		}
		err = nh_ctx_watch(ctx, nh_bpf_fd(ctx->bpf), &ctx->ev_ring,
				   on_ring);
		if (!err)
			err = nh_ctx_watch(ctx, ctx->tick_fd, &ctx->ev_tick,
					   on_tick);
		if (err)
			goto cleanup;
	}
	err = nh_reports_open(&ctx->reps);
	if (!err)
		err = nh_ctx_watch(ctx, ctx->reps.fd, &ctx->ev_reports,
				   on_reports);
	if (err)
		goto cleanup;
	if (nh_ctx_user(ctx))
		nh_logf(&ctx->lg, LOG_DEBUG,
			"user mode: no BPF, no cgroup; the program's system calls are caught with seccomp");
	else
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
	/* the IP filter: rules, queues, detach */
	if (ctx->ipf && ctx->ipf_hooks)
		ctx->ipf_hooks->close(ctx->ipf);
	ctx->ipf = NULL;
	nh_handoff_stop(ctx->handoff);
	ctx->handoff = NULL;
	nh_relay_stop(ctx->relay);
	/* the ends of flows open until now, and the kernel's last events:
	 * told before the context goes */
	nh_ctx_reports_dispatch(ctx);
	nh_relay_free(ctx->relay);
	ctx->relay = NULL;
	nh_pipe_free(ctx->pipe); /* after every user of it */
	ctx->pipe = NULL;
	nh_ctx_names_close(ctx);
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
	if (ctx->tick_fd >= 0)
		close(ctx->tick_fd);
	nh_reports_fini(&ctx->reps);
	pthread_mutex_destroy(&ctx->exe_lock);
	explicit_bzero(&ctx->chain, sizeof(ctx->chain)); /* credentials */
	nh_exe_table_free(ctx->exe);
	free(ctx->urules);
	free(ctx->netns);
	free(ctx);
}

/* IP filter hook: what nh_ipf.c reads of the context. */
struct nh_ipf_state **nh_ctx_ipf_slot(struct nh_ctx *ctx,
				      const struct nh_ipf_hooks *hooks)
{
	if (hooks)
		ctx->ipf_hooks = hooks;
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
	/* user mode: the listener follows the process already */
	if (nh_ctx_user(ctx))
		return 0;
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

NH_API int nh_ctx_refuse_unhooked(struct nh_ctx *ctx)
{
	bool all = false;
	int err;

	if (!ctx)
		return nh_err(-EINVAL);
	/* user mode: the caller's seccomp filter is all there is */
	if (nh_ctx_user(ctx))
		return 0;
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

NH_API uint64_t nh_ctx_lost_events(const struct nh_ctx *ctx)
{
	if (!ctx || !ctx->bpf)
		return 0;
	return nh_bpf_lost(ctx->bpf) + nh_reports_lost(&ctx->reps);
}
