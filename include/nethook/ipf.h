/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The IP filter: the macOS ipf_addv4() model on Linux.
 *
 * A filter sees IP packets of its context's network namespace, whole and
 * starting at the IP header: ipf_input the packets arriving for the host,
 * ipf_output the packets the host sends.  Only packets matching the
 * filter's pcap-filter expression (`match`, compiled with libpcap for raw
 * IP and matched in the kernel) leave the kernel at all.
 *
 * A callback returns 0 to let the packet go on, NH_EJUSTRETURN when it
 * took the packet (freed it, kept it for later, or injected it), or a
 * negative errno to drop it.  A packet the callback asked for writable
 * data (nh_pkt_data) or changed the length of (nh_pkt_set_len) has its
 * checksums fixed by nethook before it goes on.
 *
 * Packets larger than a queue can carry (65531 bytes) reach the callbacks
 * read-only and marked truncated (nh_pkt_truncated): nh_pkt_len is the
 * part that was copied, writes to its data are discarded, nh_pkt_set_len
 * and nh_pkt_fix_checksums fail with -EROFS, and the packet goes on
 * unchanged unless the callback drops it.
 *
 * nh_ipf_inject_output / nh_ipf_inject_input take ownership of the packet
 * and send it on as if just sent / just received; filters up to and
 * including filter_ref do not see it again.  Several filters run in the
 * order they were added.
 */
#ifndef NETHOOK_IPF_H
#define NETHOOK_IPF_H

#include <stddef.h>
#include <stdint.h>
#include "nethook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nh_ipfilter *nh_ipfilter_t;
/* One IP packet, starting at the IP header. */
struct nh_pkt;
/* Output options of a packet; read them with the accessors below. */
struct nh_ipf_pktopts;

struct nh_ipf_filter {
	void *cookie;
	const char *name;
	/* offset: length of the IP header (with IPv6 extension headers);
	 * protocol: the transport protocol */
	int (*ipf_input)(void *cookie, struct nh_pkt **data, int offset,
			 uint8_t protocol);
	int (*ipf_output)(void *cookie, struct nh_pkt **data,
			  struct nh_ipf_pktopts *options);
	void (*ipf_detach)(void *cookie);
	/* pcap-filter expression ("tcp dst port 80"); only matching packets
	 * reach the callbacks; NULL = all */
	const char *match;
};

int nh_ipf_addv4(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
		 nh_ipfilter_t *filter_ref);
int nh_ipf_addv6(struct nh_ctx *ctx, const struct nh_ipf_filter *filter,
		 nh_ipfilter_t *filter_ref);
int nh_ipf_remove(nh_ipfilter_t filter_ref);
int nh_ipf_inject_output(struct nh_pkt *data, nh_ipfilter_t filter_ref,
			 struct nh_ipf_pktopts *options);
int nh_ipf_inject_input(struct nh_pkt *data, nh_ipfilter_t filter_ref);

/* The packet's firewall mark (SO_MARK / skb->mark), 0 when none. */
uint32_t nh_ipf_pktopts_mark(const struct nh_ipf_pktopts *options);
/* The output interface's index, 0 when not known. */
int nh_ipf_pktopts_ifindex(const struct nh_ipf_pktopts *options);

/* A new packet holding a copy of data (an IPv4 or IPv6 packet); NULL with
 * errno set (EINVAL: NULL data, len 0 or over 65575; ENOMEM). */
struct nh_pkt *nh_pkt_new(const void *data, size_t len);
/* NULL is fine. */
void nh_pkt_free(struct nh_pkt *pkt);
/* Writable data: the packet's checksums are fixed before it goes on. */
void *nh_pkt_data(struct nh_pkt *pkt);
/* Read-only data: reading this way costs no checksum work. */
const void *nh_pkt_peek(const struct nh_pkt *pkt);
size_t nh_pkt_len(const struct nh_pkt *pkt);
/* Grows (zero-filled) or shrinks the packet and sets the IP total length
 * (IPv6: payload length), and the UDP length of an unfragmented UDP
 * datagram, to match.  -EINVAL below the IP header or over 65535 bytes of
 * IP datagram; -EROFS on a truncated packet; -ENOMEM. */
int nh_pkt_set_len(struct nh_pkt *pkt, size_t len);
/* IPv4 header, TCP, UDP, ICMP and ICMPv6 checksums, in place.  Fragments
 * get their IPv4 header checksum only (a fragment's transport checksum
 * covers the whole datagram).  -EINVAL on a malformed packet, -EROFS on a
 * truncated one. */
int nh_pkt_fix_checksums(struct nh_pkt *pkt);
/* 1 when the packet was larger than what the queue could copy. */
int nh_pkt_truncated(const struct nh_pkt *pkt);

#ifdef __cplusplus
}
#endif

#endif /* NETHOOK_IPF_H */
