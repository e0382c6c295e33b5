/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The IP filter engine (src/lib/ip/): what the context needs from it
 * beyond include/nethook/ipf.h, and what it reads of the context.
 */
#ifndef NH_IPF_INT_H
#define NH_IPF_INT_H

#include <stdint.h>
#include "nethook/ipf.h"

struct nh_ctx;
struct nh_logger;
struct nh_ipf_state;

/* Remove the chains of dead runs: in the caller's network namespace and
 * in those named in /run/nethook/ipf-*.  Returns how many. */
int nh_ipf_cleanup_stale(const struct nh_logger *lg);

/* ---- hooks for nh_ctx.c ---- */
void nh_ipf_close(struct nh_ipf_state *st);

/* What the context calls on its IP filter state: handed over with the
 * state, so the context names no function of the IP side (the calls go
 * one way, from the IP side to the context).  Its queue, dispatched
 * inline, joins the context's epoll set (nh_ctx_epfd()) with a handler
 * of its own (nh_ev.h). */
struct nh_ipf_hooks {
	void (*close)(struct nh_ipf_state *st);
};

/* ---- what nh_ctx.c gives the engine (defined there) ---- */
/* The context's slot for its IP filter state; hooks: how to run and
 * close what is put there (NULL: leave them as they are). */
struct nh_ipf_state **nh_ctx_ipf_slot(struct nh_ctx *ctx,
				      const struct nh_ipf_hooks *hooks);
const struct nh_logger *nh_ctx_logger(struct nh_ctx *ctx);
const char *nh_ctx_netns(const struct nh_ctx *ctx);
int nh_ctx_epfd(const struct nh_ctx *ctx);
unsigned int nh_ctx_threads(const struct nh_ctx *ctx);
/* true when the caller named the cgroup (opts.cgroup) */
int nh_ctx_cgroup_given(const struct nh_ctx *ctx);

#endif
