/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How each proxy of a chain takes its handshakes: one step per round trip,
 * the whole request in one flight (pipelined), or that and the program's
 * first bytes with it (optimistic data).  ?pipeline=on and off say so;
 * auto learns it from a probe of nethook's own, never from a program's
 * connection, and falls back for the rest of the run when a proxy then
 * fails a pipelined handshake.
 */
#ifndef NH_PIPE_H
#define NH_PIPE_H

#include <stdint.h>
#include "nh_bpf_abi.h"
#include "nh_log.h"
#include "nh_proxy.h"

/* the values the kernel's records and events carry (NH_HS_*) */
enum nh_pipe_mode {
	NH_PIPE_NONE = 0, /* no handshake: a direct flow */
	NH_PIPE_STEPWISE = NH_HS_STEPWISE,
	NH_PIPE_PIPELINED = NH_HS_PIPELINED,
	NH_PIPE_OPTIMISTIC = NH_HS_OPTIMISTIC,
};

struct nh_pipe;

/*
 * For the chain hops[0..nhops) (kept valid until nh_pipe_free()); each
 * probe gives up after timeout_ms at most. NULL when out of memory
 * (every hop then goes stepwise).
 */
struct nh_pipe *nh_pipe_new(const struct nh_proxy_hop *hops, int nhops,
			    unsigned int timeout_ms,
			    const struct nh_logger *lg);
/* Stops a probe under way and waits for it; NULL is fine. */
void nh_pipe_free(struct nh_pipe *p);
/*
 * How a handshake with hops[k] goes now. In auto, the first ask starts the
 * probe of that hop and is answered stepwise, as every ask until the
 * probe has an answer. A NULL p is stepwise.
 */
enum nh_pipe_mode nh_pipe_mode(struct nh_pipe *p, int k);
/*
 * A handshake with hops[k] done as `was` failed the way a proxy fails
 * that does not take it (a close or garbage before its reply): auto goes
 * one mode down for the rest of the run, and says so once with why.
 */
void nh_pipe_failed(struct nh_pipe *p, int k, enum nh_pipe_mode was,
		    const char *why);

#endif
