// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context's rules, and its relay: started by the first rule that
 * diverts (or the first socket filter, or the handoff). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "nh_pipe.h"
#include "nh_bpf.h"
#include "nh_ctx_int.h"
#include "nh_log.h"
#include "nh_relay.h"
#include "nh_rule.h"

_Static_assert(NH_CHAIN_MAX_HOPS <= NH_RELAY_MAX_HOPS,
	       "the relay takes every hop a chain can have");

/* For a relay thread. */
static void relay_exe(void *user, uint32_t pid, const char *comm, char *buf,
		      size_t len)
{
	nh_ctx_exe_copy(user, pid, comm, buf, len);
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

static int relay_poll(struct nh_ev *ev, uint32_t events)
{
	struct nh_ctx *ctx = nh_container_of(ev, struct nh_ctx, ev_relay);
	int r;

	(void)events;
	r = nh_relay_poll(ctx->relay);

	return r > 0 ? r : 0;
}

int nh_ctx_relay_ensure(struct nh_ctx *ctx)
{
	struct nh_relay_opts ro = { 0 };
	struct nh_bpf_addr a4, a6;
	uint64_t netns;
	int err;

	if (ctx->relay)
		return 0;
	err = nh_reports_start(&ctx->reps);
	if (err)
		return err;
	ro.hops = ctx->chain.hops;
	ro.nhops = ctx->chain.nhops;
	/* NULL (out of memory) is stepwise, which always works */
	if (!ctx->pipe && ctx->chain.nhops)
		ctx->pipe = nh_pipe_new(ctx->chain.hops, ctx->chain.nhops,
					ctx->connect_timeout_ms, &ctx->lg);
	ro.pipe = ctx->pipe;
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
	ro.report = nh_ctx_on_report;
	ro.listening = relay_listening;
	ro.names = ctx->names;
	ro.user = ctx;
	err = nh_relay_start(&ro, &ctx->relay);
	if (err)
		return err;
	if (ro.inline_loop) {
		err = nh_ctx_watch(ctx, nh_relay_fd(ctx->relay), &ctx->ev_relay,
				   relay_poll);
		if (err)
			return err;
	}
	nh_relay_addrs(ctx->relay, &a4, &a6, &netns);
	nh_bpf_set_relay(ctx->bpf, &a4, &a6, (uint32_t)getpid(), netns);
	nh_logf(&ctx->lg, LOG_DEBUG,
		"relay on 127.0.0.1:%u and [::1]:%u via %s", a4.port, a6.port,
		nh_relay_route(ctx->relay));
	return 0;
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

/* User mode: the rule stays here, for the handoff's thread, which takes
 * a copy when it starts. */
static int user_rule(struct nh_ctx *ctx, const struct nh_rule *rule,
		     const struct nh_bpf_rule *r)
{
	struct nh_bpf_rule *n;
	int err = 0;

	if (ctx->handoff) {
		nh_logf(&ctx->lg, LOG_ERR,
			"user mode: rules are added before the listener (nh_ctx_add_handoff)");
		return nh_err(-EBUSY);
	}
	if (rule->action == NH_RULE_DNS) {
		err = nh_reports_start(&ctx->reps);
		if (!err)
			err = nh_ctx_resolver_ensure(ctx);
		if (err)
			return nh_err(err);
	}
	n = realloc(ctx->urules, (size_t)(ctx->nurules + 1) * sizeof(*n));
	if (!n)
		return nh_err(-ENOMEM);
	n[ctx->nurules++] = *r;
	ctx->urules = n;
	return 0;
}

NH_API int nh_ctx_add_rule(struct nh_ctx *ctx, const struct nh_rule *rule)
{
	struct nh_bpf_rule r;
	int err;

	if (!ctx || !rule)
		return nh_err(-EINVAL);
	err = nh_rule_compile(rule, &r);
	if (!err && nh_ctx_user(ctx))
		return user_rule(ctx, rule, &r);
	if (!err && rule->action == NH_RULE_DIVERT) {
		err = nh_ctx_relay_ensure(ctx);
		ctx->user_divert = true;
	}
	/* the resolver's names are of use only to the relay, which also
	 * tells the kernel in which network namespace both are */
	if (!err && rule->action == NH_RULE_DNS && ctx->names)
		err = nh_ctx_relay_ensure(ctx);
	if (!err && rule->action == NH_RULE_DNS)
		err = nh_ctx_resolver_ensure(ctx);
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
