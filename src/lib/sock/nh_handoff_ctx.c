// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The handoff on a context: what it needs of the chain, the relay and
 * the kernel, checked and given. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "nh_bpf.h"
#include "nh_ctx_int.h"
#include "nh_handoff.h"
#include "nh_log.h"
#include "nh_pipe.h"
#include "nh_relay.h"
#include "nh_resolver.h"
#include "nh_umode.h"
#include "nh_spec.h"

/* User mode: the listener is all there is; the rules and the resolver
 * go to its thread. */
static int user_handoff(struct nh_ctx *ctx, int lfd)
{
	struct nh_handoff_opts ho = { 0 };
	struct nh_umode_opts uo = { 0 };
	int err;

	err = nh_reports_start(&ctx->reps);
	if (err) {
		close(lfd);
		return nh_err(err);
	}
	if (!ctx->pipe && ctx->chain.nhops)
		ctx->pipe = nh_pipe_new(ctx->chain.hops, ctx->chain.nhops,
					ctx->connect_timeout_ms, &ctx->lg);
	nh_proxy_route_format(ctx->chain.hops, ctx->chain.nhops, ctx->route,
			      sizeof(ctx->route));
	uo.rules = ctx->urules;
	uo.watch_direct = ctx->event &&
			  (ctx->event_mask & NH_EVENT_MASK(NH_EVENT_END));
	uo.nrules = ctx->nurules;
	if (ctx->resolver)
		nh_resolver_addrs(ctx->resolver, &uo.dns4, &uo.dns6);
	ho.hops = ctx->chain.hops;
	ho.nhops = ctx->chain.nhops;
	ho.timeout_ms = ctx->connect_timeout_ms ? ctx->connect_timeout_ms :
						  10000;
	ho.sk_info_fd = -1;
	ho.lg = &ctx->lg;
	ho.report = nh_ctx_on_report;
	ho.user = ctx;
	ho.names = ctx->names;
	ho.pipe = ctx->pipe;
	ho.umode = &uo;
	err = nh_handoff_start(&ho, lfd, &ctx->handoff);
	if (err) {
		nh_logf(&ctx->lg, LOG_ERR, "user mode: %s", strerror(-err));
		return nh_err(err);
	}
	nh_logf(&ctx->lg, LOG_DEBUG, "user mode: %d rules; connect() %s",
		ctx->nurules,
		ctx->chain.nhops ? "through the proxy on the program's socket" :
				   "redirected or refused by the rules");
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
	if (nh_ctx_user(ctx) && !ctx->handoff)
		return user_handoff(ctx, lfd);
	err = -EINVAL;
	if (ctx->handoff) {
		why = "there is one already";
		err = -EBUSY;
	} else if (!ctx->chain.nhops) {
		why = "it needs a proxy to hand connections to (not direct://)";
	} else if (ctx->sflt.head) {
		why = "socket filters see connections on the relay";
		err = -EBUSY;
	} else if (nh_addr_from_sockaddr((void *)&ctx->chain.hops[0].addr,
					 &to)) {
		why = "the first proxy has no address";
	}
	if (why) {
		nh_logf(&ctx->lg, LOG_ERR, "handoff: %s", why);
		close(lfd);
		return nh_err(err);
	}
	err = nh_ctx_relay_ensure(ctx);
	if (!err)
		/* its identity without a /proc read per connect */
		err = nh_bpf_attach_create(ctx->bpf, ctx->cgroup_fd);
	if (err) {
		close(lfd);
		return nh_err(err);
	}
	ho.hops = ctx->chain.hops;
	ho.nhops = ctx->chain.nhops;
	ho.timeout_ms = ctx->connect_timeout_ms ? ctx->connect_timeout_ms :
						  10000;
	ho.sk_info_fd = nh_bpf_sk_info_fd(ctx->bpf);
	/* a cgroup's id is its directory's inode number */
	if (!fstat(ctx->cgroup_fd, &st))
		ho.cgroup_id = st.st_ino;
	ho.lg = &ctx->lg;
	ho.report = nh_ctx_on_report;
	ho.user = ctx;
	ho.names = ctx->names;
	ho.pipe = ctx->pipe;
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
