// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context's names (opts.dns): the pool, made when the context opens,
 * and the resolver, started by the first NH_RULE_DNS; or the names seen
 * in the scope's DNS answers (NH_DNS_WATCH). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "nh_bpf.h"
#include "nh_ctx_int.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_resolver.h"
#include "nh_seen.h"
#include "nh_time.h"

int nh_ctx_names_open(struct nh_ctx *ctx, unsigned int max_names)
{
	int err;

	if (ctx->dns_mode == NH_DNS_NONE)
		return 0;
	if (ctx->dns_mode == NH_DNS_WATCH) {
		/* names go only to events: without a callback, nothing to
		 * watch for, and no ring buffer to watch with */
		if (!ctx->event)
			return 0;
		err = nh_seen_new(max_names, &ctx->seen);
		if (err)
			nh_logf(&ctx->lg, LOG_ERR, "names seen: %s",
				strerror(-err));
		return err;
	}
	if (ctx->dns_mode != NH_DNS_PROXY) {
		nh_logf(&ctx->lg, LOG_ERR, "opts.dns: no such mode %u",
			ctx->dns_mode);
		return -EINVAL;
	}
	err = nh_names_new(max_names, 0, &ctx->names);
	if (err)
		nh_logf(&ctx->lg, LOG_ERR, "names: %s", strerror(-err));
	return err;
}

int nh_ctx_names_watch(struct nh_ctx *ctx)
{
	int err;

	if (!ctx->seen)
		return 0;
	err = nh_bpf_attach_dns_watch(ctx->bpf, ctx->cgroup_fd);
	if (err)
		nh_logf(&ctx->lg, LOG_ERR,
			"cannot watch DNS answers (cgroup_skb/ingress): %s",
			strerror(-err));
	else
		nh_logf(&ctx->lg, LOG_DEBUG,
			"DNS answers from UDP port 53 watched: connections are named by the names they gave");
	return err;
}

/* After the relay and the handoff, which look names up. */
void nh_ctx_names_close(struct nh_ctx *ctx)
{
	nh_resolver_free(ctx->resolver);
	ctx->resolver = NULL;
	nh_names_free(ctx->names);
	ctx->names = NULL;
	nh_seen_free(ctx->seen);
	ctx->seen = NULL;
}

static int resolver_listening(void *user, int fd)
{
	struct nh_ctx *ctx = user;
	int err = nh_bpf_mark_relay(ctx->bpf, fd);

	if (err)
		nh_logf(&ctx->lg, LOG_ERR,
			"cannot mark the resolver's socket (sk_storage from user space, Linux 5.2+): %s",
			strerror(-err));
	return err;
}

/* The kernel sends DNS to the resolver from now on; without one
 * (NH_DNS_NONE) it refuses DNS that the rules send there. */
int nh_ctx_resolver_ensure(struct nh_ctx *ctx)
{
	struct nh_resolver_opts ro = { 0 };
	struct nh_bpf_addr a4 = { 0 }, a6 = { 0 };
	int err;

	if (ctx->resolver || !ctx->names)
		return 0;
	ro.names = ctx->names;
	ro.ttl_s = ctx->dns_ttl_s;
	ro.lg = &ctx->lg;
	ro.listening = ctx->bpf ? resolver_listening : NULL;
	ro.report = nh_ctx_on_report;
	ro.reports = ctx->event_mask & NH_EVENT_MASK(NH_EVENT_DNS);
	ro.user = ctx;
	err = nh_resolver_start(&ro, &ctx->resolver);
	if (err)
		return err;
	nh_resolver_addrs(ctx->resolver, &a4, &a6);
	/* user mode: the handoff's thread sends DNS there */
	err = ctx->bpf ? nh_bpf_attach_dns(ctx->bpf, ctx->cgroup_fd, &a4, &a6) :
			 0;
	if (err)
		return err;
	nh_logf(&ctx->lg, LOG_DEBUG,
		"resolver on 127.0.0.1:%u%s: names to the proxy, addresses from 198.18.0.0/15 and 100::/64",
		a4.port, a6.family ? " and [::1]" : "");
	return 0;
}
