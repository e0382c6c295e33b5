// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Socket filters on a context: registered, and the connections of their
 * domain diverted to the relay where they see them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include "nh_bpf.h"
#include "nh_cgroup.h"
#include "nh_ctx_int.h"
#include "nh_log.h"
#include "nh_rule.h"

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
		err = nh_ctx_relay_ensure(ctx);
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
	if (nh_ctx_user(ctx)) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter: not in user mode (NH_CTX_USER): they run on the relay, which needs the kernel's hooks");
		return nh_err(-EOPNOTSUPP);
	}
	if (filter->sz < sizeof(*filter)) {
		nh_logf(&ctx->lg, LOG_ERR,
			"socket filter: sz is %zu, sizeof(struct nh_sflt_filter) is %zu (set .sz)",
			filter->sz, sizeof(*filter));
		return nh_err(-EINVAL);
	}
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
