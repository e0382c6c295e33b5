/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sockets of nethook's own servers on loopback: the relay's listeners and
 * the resolver's sockets. */
#ifndef NH_LO_H
#define NH_LO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A non-blocking, close-on-exec socket of type SOCK_STREAM or SOCK_DGRAM,
 * bound to 127.0.0.1 or ::1 (AF_INET6: IPv6 only) at port (0: any); a
 * stream socket listens with backlog, and with reuseport workers may bind
 * the same port.  The descriptor, or -errno.
 */
int nh_lo_socket(int family, int type, uint16_t port, int backlog,
		 bool reuseport);

#endif
