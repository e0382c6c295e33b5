/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An action for IP filters: stateful destination translation, as
 * `nethook packet --rewrite-dst ADDR[:PORT]` does it:
 * outgoing packets of a flow get a new destination, the flow's replies
 * get their source translated back to the original destination, so TCP
 * connections complete.
 *
 * A flow is (protocol, source address:port, original destination
 * address:port); TCP, UDP, ICMP and ICMPv6 echo (the identifier as the
 * port), IPv4 and IPv6 (a target of one family applies to packets of
 * that family only).  Checksums are updated incrementally (RFC 1624),
 * which is also right for the first fragment of a datagram; later
 * fragments carry no ports and are left alone, as are ICMP errors.  A
 * packet in the partial-checksum state gets its checksums recomputed
 * whole instead.
 *
 * Entries expire: UDP and ICMP after udp_timeout_ms without a packet, TCP
 * after tcp_timeout_ms, or tcp_closed_timeout_ms once a RST or FINs both
 * ways were seen; a SYN on a closed entry starts it over.  The table
 * holds at most max_entries; the least recently used goes first.  Not
 * thread-safe: one caller at a time.
 *
 * Call nh_nat_out from an ipf_output callback and nh_nat_in from an
 * ipf_input one.  Failures return -errno and set errno.
 */
#ifndef NETHOOK_NAT_H
#define NETHOOK_NAT_H

#include <stddef.h>
#include <stdint.h>
#include "ipf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nh_nat_target {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16]; /* IPv4: the first 4 bytes */
	uint16_t port; /* host order; 0 keeps the port */
};

struct nh_nat_opts {
	size_t sz; /* sizeof(struct nh_nat_opts) */
	uint32_t max_entries; /* 0: 65536 */
	uint32_t udp_timeout_ms; /* 0: 30 s (ICMP echo too) */
	uint32_t tcp_timeout_ms; /* 0: 2 h */
	uint32_t tcp_closed_timeout_ms; /* 0: 10 s */
	/* the clock in ms; NULL: CLOCK_MONOTONIC */
	uint64_t (*now_ms)(void *user);
	void *user;
};

struct nh_nat;

/* "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]:80";
 * -EINVAL otherwise (port 0 too). */
int nh_nat_parse_target(const char *s, struct nh_nat_target *out);

/* NULL + errno (EINVAL, ENOMEM) */
struct nh_nat *nh_nat_new(const struct nh_nat_opts *opts);
void nh_nat_free(struct nh_nat *t);
/* Where new flows go; flows already mapped keep their destination. */
int nh_nat_set_target(struct nh_nat *t, const struct nh_nat_target *to);

/*
 * An outgoing packet: 1 when its destination was rewritten (a new flow to
 * the target, or one already mapped), 0 when it was left alone (no
 * target of its family, not TCP/UDP/ICMP echo, a later fragment, already
 * going to the target), -EINVAL when it does not parse, -ENOMEM.
 */
int nh_nat_out(struct nh_nat *t, struct nh_pkt *pkt);
/* The same, to `to` for a new flow instead of the table's target. */
int nh_nat_out_to(struct nh_nat *t, struct nh_pkt *pkt,
		  const struct nh_nat_target *to);
/* An incoming packet: 1 when it is a reply of a mapped flow and its
 * source was translated back, 0 when not, -EINVAL when it does not
 * parse. */
int nh_nat_in(struct nh_nat *t, struct nh_pkt *pkt);

/* Drops expired entries now (they are also dropped as they are met). */
void nh_nat_expire(struct nh_nat *t);
size_t nh_nat_count(const struct nh_nat *t);

#ifdef __cplusplus
}
#endif

#endif /* NETHOOK_NAT_H */
