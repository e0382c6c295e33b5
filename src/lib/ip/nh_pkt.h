/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * IP packets for the IP filter: the struct behind the public struct
 * nh_pkt, a header parser, checksums, and packet constructors
 * (src/lib/ip/pkt.c).  No kernel in it.
 */
#ifndef NH_PKT_H
#define NH_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nethook/ipf.h"

/* The largest packet: a 40-byte IPv6 header and a 65535-byte payload. */
#define NH_PKT_MAX 65575

/* Where a packet stands with the engine (struct nh_pkt_q.state). */
enum nh_pkt_state {
	NH_PKT_NEW = 0, /* made by nh_pkt_new: no verdict pending */
	NH_PKT_HELD, /* from a queue: its verdict is pending */
	NH_PKT_DONE, /* from a queue: its verdict was given */
};

/* The engine's bookkeeping; the nh_pkt_* functions never touch it but
 * to call freed. */
struct nh_pkt_q {
	void *queue; /* the engine's queue object, NULL for NH_PKT_NEW */
	/* the owner's hook: nh_pkt_free() calls it on a packet whose verdict
	 * is pending (NH_PKT_HELD), which owes the kernel a drop.  Set by
	 * the engine with the state, so that packets need not know it. */
	void (*freed)(struct nh_pkt *pkt);
	/* the engine's run of the filters this packet is the current
	 * packet of (NULL: none) */
	void *run;
	uint32_t id; /* netfilter queue packet id */
	uint16_t qnum; /* queue number */
	uint8_t state; /* enum nh_pkt_state */
	uint8_t dir; /* the engine's own direction code */
	uint32_t filter_pos; /* filters before this one have seen it */
};

struct nh_pkt {
	uint8_t *data;
	uint32_t len; /* bytes in data */
	uint32_t cap; /* bytes data can hold; 0 while borrowed */
	uint32_t orig_len; /* length on the wire (> len when truncated) */
	uint32_t mark;
	int ifindex; /* input interface (ipf_input) or output one */
	uint8_t dirty : 1; /* checksums to fix: data was handed out
			    * writable, or len changed */
	uint8_t modified : 1; /* data changed: it goes back with the
			       * verdict (set with dirty, and by nh_nat,
			       * which keeps checksums right itself) */
	uint8_t truncated : 1; /* read-only: larger than the copy range */
	uint8_t csum_partial : 1; /* NFQA_SKB_CSUMNOTREADY: see below */
	uint8_t borrowed : 1; /* data belongs to the engine (nh_pkt_own) */
	struct nh_pkt_q q;
};

/*
 * csum_partial: the kernel said CHECKSUM_PARTIAL (NFQA_SKB_INFO has
 * NFQA_SKB_CSUMNOTREADY): the L4 checksum field holds only the folded
 * pseudo-header sum.  Callbacks then read a checksum that is not valid.
 * nh_pkt_fix_checksums still writes the full checksum: the kernel's
 * nfqnl_mangle() sets ip_summed = CHECKSUM_NONE on a packet whose payload
 * comes back with the verdict, so nothing completes a partial one, and
 * GSO segmentation rewrites the pseudo-header on its own
 * (tcp4_gso_segment).  NH_CSUM_PSEUDO_ONLY writes the partial form for a
 * path that keeps CHECKSUM_PARTIAL.
 */
struct nh_ipf_pktopts {
	uint32_t mark;
	int ifindex;
};

/* An nh_pkt around data the engine owns (its receive buffer), no copy:
 * valid until that buffer is reused.  nh_pkt_own() copies it when the
 * packet must outlive the buffer (a callback kept it); nh_pkt_set_len
 * copies when it grows.  nh_pkt_free frees only what nethook allocated. */
void nh_pkt_init_borrowed(struct nh_pkt *pkt, uint8_t *data, size_t len);
int nh_pkt_own(struct nh_pkt *pkt);
/* Resets an nh_pkt the engine embeds elsewhere (not from nh_pkt_new):
 * frees owned data, leaves the struct itself. */
void nh_pkt_release(struct nh_pkt *pkt);

#define NH_CSUM_PSEUDO_ONLY 0x1
int nh_pkt_fix_checksums_ex(struct nh_pkt *pkt, unsigned int flags);

/* ---- parsing ---- */

struct nh_pkt_info {
	uint8_t version; /* 4 or 6 */
	uint8_t proto; /* transport protocol, after IPv6 extension headers */
	uint8_t tcp_flags; /* TH_FIN, TH_SYN, ... (TCP with l4 only) */
	uint8_t is_fragment; /* part of a fragmented datagram */
	uint8_t l4; /* the TCP/UDP/ICMP header is here, whole (not a
		     * later fragment) */
	uint8_t truncated; /* buffer shorter than ip_len (NH_PARSE_PARTIAL) */
	uint16_t hdr_len; /* IP header with options / extension headers */
	uint16_t frag_off; /* fragment offset in bytes */
	uint16_t sport, dport; /* host order; TCP/UDP with l4 only; ICMP
				* echo: sport = identifier */
	uint16_t csum_off; /* offset of the L4 checksum field, 0: none */
	uint16_t pseudo_dst_off; /* IPv6: the final destination for the
				  * pseudo-header (routing header) */
	uint32_t ip_len; /* length by the IP header */
	uint32_t payload_off; /* after the TCP/UDP header; hdr_len otherwise */
	uint8_t src[16], dst[16]; /* IPv4: the first 4 bytes */
};

#define NH_PARSE_PARTIAL 0x1 /* a buffer shorter than ip_len is fine */

/*
 * 0, or -EPROTO when it is not IPv4 or IPv6 (or an IPv6 jumbogram), or
 * -EINVAL when it is malformed: truncated headers, IHL below 5, total
 * length below the header or above the buffer, IPv6 extension headers
 * past the payload, a TCP data offset below 5 or past the datagram, a
 * UDP length that disagrees.
 */
int nh_pkt_parse(const uint8_t *p, size_t len, struct nh_pkt_info *out);
int nh_pkt_parse_ex(const uint8_t *p, size_t len, unsigned int flags,
		    struct nh_pkt_info *out);

/* ---- checksums ---- */

/* One's complement sum of len bytes added to sum (not folded). */
uint32_t nh_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t nh_csum_fold(uint32_t sum);
/* The unfolded pseudo-header sum (RFC 768 / RFC 8200). */
uint32_t nh_csum_pseudo(const uint8_t *p, const struct nh_pkt_info *in,
			uint32_t l4_len);
/* RFC 1624: the checksum at *csum (network order, in place) after the
 * bytes old[0..len) become new[0..len) (len even). */
void nh_csum_replace(uint8_t *csum, const void *old_bytes,
		     const void *new_bytes, size_t len);

/* ---- constructors (tests, injection) ---- */

/* A UDP datagram with valid checksums; addresses are 4 / 16 bytes in
 * network order, ports host order.  NULL + errno (EINVAL, ENOMEM). */
struct nh_pkt *nh_pkt_build_udp4(const void *src, const void *dst,
				 uint16_t sport, uint16_t dport,
				 const void *payload, size_t len);
struct nh_pkt *nh_pkt_build_udp6(const void *src, const void *dst,
				 uint16_t sport, uint16_t dport,
				 const void *payload, size_t len);
/* A TCP segment (20-byte header, no options), valid checksums. */
struct nh_pkt *nh_pkt_build_tcp(int version, const void *src, const void *dst,
				uint16_t sport, uint16_t dport, uint32_t seq,
				uint32_t ack, uint8_t flags,
				const void *payload, size_t len);

#endif /* NH_PKT_H */
