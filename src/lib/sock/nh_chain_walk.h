/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One connection's way through the proxy chain, hop by hop: each hop's
 * handshake driven on the connection's socket until the last one has
 * opened the tunnel to the destination.  The relay's flows and the
 * handoff's jobs both walk it, and say what failed in the same words.
 */
#ifndef NH_CHAIN_WALK_H
#define NH_CHAIN_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "nh_hs_io.h"
#include "nh_proxy.h"

struct nh_chain_walk {
	const struct nh_proxy_hop *hops; /* stay valid while walked */
	int nhops;
	int hop; /* the one being talked to */
	struct sockaddr_storage dst; /* where the last hop connects */
	const char *name; /* or this name, when not NULL (the caller's) */
	uint16_t port; /* dst's port when dst has none */
	struct nh_hs_io_count io; /* handshake bytes, each way */
	struct nh_proxy_hs hs;
};

/* Ready to talk to hops[0], once the socket is connected to it.  With a
 * name (kept by the caller while walked), the last hop is asked for the
 * name, never dst. */
void nh_chain_walk_init(struct nh_chain_walk *w,
			const struct nh_proxy_hop *hops, int nhops,
			const struct sockaddr_storage *dst, const char *name,
			uint16_t port);
/*
 * Talk to the current hop on fd until it wants more than the socket has
 * (0), or the tunnel through every hop is open (1), or it failed
 * (-errno, and what failed in why: "handshake with HOP failed: ...", or
 * the proxy's own answer).
 */
int nh_chain_walk_step(struct nh_chain_walk *w, int fd, char *why, size_t len);
/* what the current hop waits for: its reply (true) or room to send */
bool nh_chain_walk_want_input(const struct nh_chain_walk *w);

/* hops[hop], or the destination past the last hop */
void nh_chain_where(const struct nh_proxy_hop *hops, int nhops, int hop,
		    const struct sockaddr_storage *dst, char *buf, size_t len);
/* "connect to HOP failed: ..." for the connect to hops[0] (or dst) */
void nh_chain_connect_failed(const struct nh_proxy_hop *hops, int nhops,
			     const struct sockaddr_storage *dst, int err,
			     char *buf, size_t len);
/* "connect to HOP timed out after MS ms" (connecting), or "handshake
 * with HOP timed out ..." */
void nh_chain_timed_out(const struct nh_proxy_hop *hops, int nhops, int hop,
			const struct sockaddr_storage *dst, bool connecting,
			unsigned long long ms, char *buf, size_t len);

#endif
