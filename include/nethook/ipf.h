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

/* The macOS struct ipf_filter's fields, in their order, after sz. */
struct nh_ipf_filter {
	size_t sz; /* sizeof(struct nh_ipf_filter) */
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

/* nh_ipf_opts.flags */
/* Only packets of the context's cgroup's connections (outgoing by
 * cgroup, incoming by a conntrack mark their first outgoing packet set).
 * Implied when the context was opened with opts.cgroup. */
#define NH_IPF_SCOPE_CGROUP 0x1
/* Fail-closed: packets are dropped when nethook is gone or its queue is
 * full.  Default: fail-open (they pass). */
#define NH_IPF_FAIL_CLOSED 0x2
/* Not narrowed to the cgroup even when opts.cgroup was given. */
#define NH_IPF_SCOPE_NETNS 0x4

struct nh_ipf_opts {
	size_t sz; /* sizeof(struct nh_ipf_opts) */
	unsigned int flags; /* NH_IPF_* above */
	/* Bytes of each packet that reach user space (at least 60), 0 =
	 * whole packets (the default).  Longer packets reach every filter
	 * read-only and marked truncated (nh_pkt_truncated), and go on
	 * whole: for filters that read headers only and never change
	 * packets. */
	unsigned int copy_range;
};

/* The context's IP filter options, set before its first filter (-EBUSY
 * after).  -EINVAL: NULL, sz too small, an unknown flag, copy_range
 * between 1 and 59. */
int nh_ipf_ctx_setopts(struct nh_ctx *ctx, const struct nh_ipf_opts *opts);

/* Counters of the context's IP filters since it was opened. */
struct nh_ipf_stats {
	size_t sz; /* sizeof(struct nh_ipf_stats), set by the caller */
	uint64_t packets; /* read from the queues */
	uint64_t accepted, modified, dropped; /* verdicts */
	uint64_t held; /* kept by a callback (NH_EJUSTRETURN) */
	uint64_t injected; /* nh_ipf_inject_output / _input */
	uint64_t batches; /* writes of verdicts */
	uint64_t verdict_msgs; /* verdict messages in them */
	/* larger than a queue can carry (65531 bytes), whatever the copy
	 * range */
	uint64_t truncated;
};

/* Fills stats up to stats->sz.  -EINVAL: NULL, sz too small. */
int nh_ipf_get_stats(struct nh_ctx *ctx, struct nh_ipf_stats *stats);

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
/* The packet's length on the wire: more than nh_pkt_len when truncated. */
size_t nh_pkt_orig_len(const struct nh_pkt *pkt);

/* A packet's IP and transport headers, as nh_pkt_headers reads them. */
struct nh_pkt_hdrs {
	size_t sz; /* sizeof(struct nh_pkt_hdrs), set by the caller */
	uint8_t version; /* 4 or 6 */
	uint8_t proto; /* transport protocol, after IPv6 extension headers */
	uint8_t l4; /* 1: the TCP/UDP/ICMP header is there, whole (not a
		     * later fragment, not cut off) */
	uint8_t tcp_flags; /* TCP with l4: FIN 0x01 SYN 0x02 RST 0x04 PSH
			    * 0x08 ACK 0x10 URG 0x20 */
	uint8_t fragment; /* part of a fragmented datagram */
	uint16_t hdr_len; /* the IP header with options / extension headers */
	uint16_t sport, dport; /* host order; TCP/UDP with l4; ICMP echo:
				* sport is the identifier */
	uint8_t src[16], dst[16]; /* network order; IPv4: the first 4 bytes */
};

/* Reads the packet's headers into hdrs (up to hdrs->sz), as far as they
 * were copied for a truncated packet.  0; -EPROTO when it is not IPv4 or
 * IPv6; -EINVAL when it is malformed (what was read before the fault is
 * filled in), or on NULL or a too small sz. */
int nh_pkt_headers(const struct nh_pkt *pkt, struct nh_pkt_hdrs *hdrs);

#ifdef __cplusplus
}
#endif

#endif /* NETHOOK_IPF_H */
