// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Helpers shared by the small test programs: numeric address parsing,
 * errno names, connect() with a time limit.
 */
#ifndef NH_TEST_UTIL_H
#define NH_TEST_UTIL_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parse a numeric IPv4 or IPv6 address (brackets allowed) and a port.
 * With force6, an IPv4 address gives an AF_INET6 v4-mapped address.
 * Returns 0 or -EINVAL.
 */
int nh_parse_addr(const char *addr, const char *port, int force6,
		  struct sockaddr_storage *ss, socklen_t *len);

/* "ECONNREFUSED" for ECONNREFUSED; never NULL. */
const char *nh_errname(int err);

/* "192.0.2.1:80" or "[2001:db8::1]:80". */
void nh_fmt_addr(const struct sockaddr *sa, char *buf, size_t size);

/* connect() giving up after timeout_ms. Returns 0 or -errno. */
int nh_connect_timeout(int fd, const struct sockaddr *sa, socklen_t len,
		       int timeout_ms);

/* Set SO_RCVTIMEO and SO_SNDTIMEO. */
void nh_set_io_timeout(int fd, int timeout_ms);

/* Parse a positive integer no larger than max; -1 if invalid. */
long nh_parse_num(const char *s, long max);

#endif
