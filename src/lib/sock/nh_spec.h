/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Address specs (`ADDR[/LEN][:PORT[-PORT]]`, `[ADDR6[/LEN]][:PORT[-PORT]]`)
 * and addresses in and out of sockaddrs; parsing and formatting one
 * address are public (nethook.h), for the command's options and lines. */
#ifndef NH_SPEC_H
#define NH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "nethook/nethook.h" /* nh_sockaddr_parse(), nh_sockaddr_format() */
#include "nh_bpf_abi.h"

struct nh_spec {
	uint8_t addr[16]; /* IPv6 form, IPv4 mapped */
	uint8_t prefix; /* over the IPv6 form */
	uint8_t family; /* 4 or 6: how it was written */
	uint16_t port_lo;
	uint16_t port_hi;
};

/* NULL or "" is everything. -EINVAL on anything malformed. */
int nh_spec_parse(const char *s, struct nh_spec *spec);
int nh_spec_matches(const struct nh_spec *spec, const uint8_t addr[16],
		    uint16_t port);

int nh_addr_from_sockaddr(const struct sockaddr *sa, struct nh_bpf_addr *a);
/* Same address and port, IPv4 and its v4-mapped form alike; false for
 * anything but AF_INET and AF_INET6. */
bool nh_sockaddr_same(const struct sockaddr *a, const struct sockaddr *b);
/* family 4 addresses come back as AF_INET; 6 as AF_INET6 */
void nh_addr_to_sockaddr(const struct nh_bpf_addr *a,
			 struct sockaddr_storage *ss);
/* sa as a socket of that family connects to it: as it is for the same
 * family (its scope id kept), an IPv4 one from an AF_INET6 socket as
 * ::ffff:a.b.c.d.  0, or -EAFNOSUPPORT (IPv6 from an AF_INET socket). */
int nh_sockaddr_for_family(const struct sockaddr_storage *sa, int family,
			   struct sockaddr_storage *ss, socklen_t *len);

#endif
