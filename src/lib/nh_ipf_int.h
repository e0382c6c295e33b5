/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The IP filter engine (src/lib/ip/): what the context and the
 * command line need from it beyond include/nethook/ipf.h.
 */
#ifndef NH_IPF_INT_H
#define NH_IPF_INT_H

#include <stdint.h>
#include "nethook/ipf.h"

struct nh_ctx;
struct nh_logger;
struct nh_ipf_state;

/* nh_ipf_ctx_set() flags; set before the context's first filter. */
/* Only packets of the context's cgroup's connections (outgoing by
 * cgroup, incoming by a conntrack mark their first outgoing packet set).
 * Implied when the caller gave opts.cgroup. */
#define NH_IPF_SCOPE_CGROUP 0x1
/* Fail-closed: packets are dropped when nethook is gone or its queue is
 * full.  Default: fail-open (they pass). */
#define NH_IPF_FAIL_CLOSED 0x2
/* Not narrowed to the cgroup even when opts.cgroup was given. */
#define NH_IPF_SCOPE_NETNS 0x4
int nh_ipf_ctx_set(struct nh_ctx *ctx, unsigned int flags);
/* The copy range of the context's queues: bytes of each packet that
 * reach user space (at least 60), 0 = whole packets (the default).
 * Longer packets reach every filter read-only and marked truncated
 * (nh_pkt_truncated), and go on whole: for filters that read headers
 * only and never change packets.  Set before the first filter. */
int nh_ipf_ctx_copy(struct nh_ctx *ctx, unsigned int bytes);

/* Remove the chains of dead runs: in the caller's network namespace and
 * in those named in /run/nethook/ipf-*.  Returns how many. */
int nh_ipf_cleanup_stale(const struct nh_logger *lg);

/* Counters of the engine (for benchmarks and --verbose). */
struct nh_ipf_stats {
	uint64_t packets, accepted, modified, dropped, held, injected;
	uint64_t batches, verdict_msgs;
	/* larger than a queue can carry (65531 bytes), whatever the copy
	 * range */
	uint64_t truncated;
};
int nh_ipf_get_stats(struct nh_ctx *ctx, struct nh_ipf_stats *st);

/* ---- hooks for nh_ctx.c ---- */
/* epoll tag of the queue sockets in the context's epoll set */
#define NH_IPF_EPOLL_TAG 5
int nh_ipf_dispatch(struct nh_ipf_state *st);
void nh_ipf_close(struct nh_ipf_state *st);

/* ---- what nh_ctx.c gives the engine (defined there) ---- */
struct nh_ipf_state **nh_ctx_ipf_slot(struct nh_ctx *ctx);
const struct nh_logger *nh_ctx_logger(struct nh_ctx *ctx);
const char *nh_ctx_netns(const struct nh_ctx *ctx);
int nh_ctx_epfd(const struct nh_ctx *ctx);
unsigned int nh_ctx_threads(const struct nh_ctx *ctx);
/* true when the caller named the cgroup (opts.cgroup) */
int nh_ctx_cgroup_given(const struct nh_ctx *ctx);

#endif
