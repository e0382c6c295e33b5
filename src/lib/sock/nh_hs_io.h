/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One proxy hop's handshake, driven on a non-blocking socket. */
#ifndef NH_HS_IO_H
#define NH_HS_IO_H

#include <stdbool.h>
#include <stdint.h>
#include "nh_proxy.h"

/* Handshake bytes that crossed the socket, each way. */
struct nh_hs_io_count {
	uint64_t out, in;
};

/* The program's first bytes, sent right after the request (optimistic
 * data): before the reply, without waiting for it. */
struct nh_hs_early {
	uint8_t *buf;
	uint32_t len, off;
};

/*
 * Send and receive on fd until the hop wants more than the socket has,
 * is done, or failed. The reply is peeked and only its own bytes taken,
 * so whatever the proxy sent after it stays for the program. Returns 0
 * (wait for the socket), 1 (the hop's tunnel is open) or -errno; on a
 * failure *io tells a socket error (errno) from a protocol one (the
 * reason is in nh_proxy_hs_error()). early (or NULL) goes after the
 * request, in its flight; 1 only once all of it is sent.
 */
int nh_hs_io_step(int fd, struct nh_proxy_hs *hs, struct nh_hs_io_count *c,
		  bool *io, struct nh_hs_early *early);

#endif
