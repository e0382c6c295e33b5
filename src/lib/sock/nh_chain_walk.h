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
#include "nh_pipe.h"
#include "nh_proxy.h"

/* Most of the program's first bytes sent as optimistic data. */
#define NH_CHAIN_EARLY_MAX (16 * 1024)

struct nh_chain_walk {
	const struct nh_proxy_hop *hops; /* stay valid while walked */
	int nhops;
	int hop; /* the one being talked to */
	struct sockaddr_storage dst; /* where the last hop connects */
	const char *name; /* or this name, when not NULL (the caller's) */
	uint16_t port; /* dst's port when dst has none */
	struct nh_hs_io_count io; /* handshake bytes, each way */
	struct nh_pipe *pipe; /* how each hop takes it; NULL: stepwise */
	int early_fd; /* the program's socket, for optimistic data; or -1 */
	enum nh_pipe_mode mode; /* of the hop being talked to */
	struct nh_hs_early early; /* its bytes taken, sent with the last */
	bool early_want; /* the last hop's first step takes them */
	struct nh_proxy_hs hs;
};

/* Ready to talk to hops[0], once the socket is connected to it.  With a
 * name (kept by the caller while walked), the last hop is asked for the
 * name, never dst.  Each hop's handshake goes as pipe says; where the
 * last takes optimistic data and early_fd has bytes waiting, they are
 * taken from it (up to NH_CHAIN_EARLY_MAX) and sent with the request. */
void nh_chain_walk_init(struct nh_chain_walk *w,
			const struct nh_proxy_hop *hops, int nhops,
			const struct sockaddr_storage *dst, const char *name,
			uint16_t port, struct nh_pipe *pipe, int early_fd);
/* The program's bytes it took, sent or not; then w may be freed. */
void nh_chain_walk_fini(struct nh_chain_walk *w);
/*
 * Talk to the current hop on fd until it wants more than the socket has
 * (0), or the tunnel through every hop is open (1), or it failed
 * (-errno, and what failed in why: "handshake with HOP failed: ...", or
 * the proxy's own answer).
 */
int nh_chain_walk_step(struct nh_chain_walk *w, int fd, char *why, size_t len);
/* what the current hop waits for: its reply (true) or room to send */
bool nh_chain_walk_want_input(const struct nh_chain_walk *w);
/*
 * After a failure: whether it is how a proxy fails a handshake it cannot
 * take in one flight (a close, a reset or garbage, with no refusal of
 * its own) -- then the current hop's mode is told to go down, and true
 * says the connection may be tried again stepwise: none of the program's
 * bytes went.
 */
bool nh_chain_walk_pipe_failed(struct nh_chain_walk *w, int err,
			       const char *why);

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
