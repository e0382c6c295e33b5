// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * IP packets: struct nh_pkt, the header parser, checksums (RFC 1071,
 * RFC 1624) and packet constructors.  No kernel in it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "nh_internal.h"
#include "nh_pkt.h"

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60

#define NH_IPV6_MAX_EXT 16

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- checksums ---- */

uint32_t nh_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 4) {
		acc += (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		acc += get16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

uint16_t nh_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t nh_csum_pseudo(const uint8_t *p, const struct nh_pkt_info *in,
			uint32_t l4_len)
{
	uint32_t sum;

	if (in->version == 4) {
		sum = nh_csum_add(0, p + 12, 8);
		sum += in->proto;
		sum += l4_len;
		return nh_csum_add(sum, NULL, 0);
	}
	sum = nh_csum_add(0, p + 8, 16);
	sum = nh_csum_add(sum, p + (in->pseudo_dst_off ?: 24), 16);
	sum += l4_len >> 16;
	sum += l4_len & 0xffff;
	sum += in->proto;
	return nh_csum_add(sum, NULL, 0);
}

void nh_csum_replace(uint8_t *csum, const void *old_bytes,
		     const void *new_bytes, size_t len)
{
	const uint8_t *o = old_bytes, *n = new_bytes;
	uint32_t sum = (uint16_t)~get16(csum);
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		sum += (uint16_t)~get16(o + i);
		sum += get16(n + i);
	}
	put16(csum, nh_csum_fold(sum));
}

/* ---- parsing ---- */

/* The transport header at off; avail: bytes of it in the buffer, end:
 * the datagram's end by the IP header. */
static int parse_l4(const uint8_t *p, uint32_t off, uint32_t avail,
		    uint32_t end, struct nh_pkt_info *in)
{
	uint32_t need, doff, ulen;

	switch (in->proto) {
	case IPPROTO_TCP_:
		need = 20;
		break;
	case IPPROTO_UDP_:
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		need = 8;
		break;
	default:
		return 0;
	}
	if (in->proto == IPPROTO_ICMP_ && in->version != 4)
		return 0;
	if (in->proto == IPPROTO_ICMPV6_ && in->version != 6)
		return 0;
	if (off + need > end || off + need > avail)
		return in->is_fragment ? 0 : -EINVAL;

	switch (in->proto) {
	case IPPROTO_TCP_:
		doff = (uint32_t)(p[off + 12] >> 4) * 4;
		if (doff < 20)
			return -EINVAL;
		if (off + doff > end || off + doff > avail)
			return in->is_fragment ? 0 : -EINVAL;
		in->sport = get16(p + off);
		in->dport = get16(p + off + 2);
		in->tcp_flags = p[off + 13];
		in->csum_off = off + 16;
		in->payload_off = off + doff;
		break;
	case IPPROTO_UDP_:
		ulen = get16(p + off + 4);
		if (!in->is_fragment && (ulen < 8 || ulen > end - off))
			return -EINVAL;
		in->sport = get16(p + off);
		in->dport = get16(p + off + 2);
		in->csum_off = off + 6;
		in->payload_off = off + 8;
		break;
	default: /* ICMP, ICMPv6 */
		if (p[off] == 8 || p[off] == 0 || p[off] == 128 ||
		    p[off] == 129)
			in->sport = get16(p + off + 4);
		in->csum_off = off + 2;
		in->payload_off = off + 8;
		break;
	}
	in->l4 = 1;
	return 0;
}

static int parse4(const uint8_t *p, size_t len, unsigned int flags,
		  struct nh_pkt_info *in)
{
	uint32_t ihl, tot, frag, avail;

	if (len < 20)
		return -EINVAL;
	ihl = (uint32_t)(p[0] & 0xf) * 4;
	if (ihl < 20 || ihl > len)
		return -EINVAL;
	tot = get16(p + 2);
	if (tot < ihl)
		return -EINVAL;
	if (tot > len) {
		if (!(flags & NH_PARSE_PARTIAL))
			return -EINVAL;
		in->truncated = 1;
	}
	avail = tot < len ? tot : (uint32_t)len;
	in->version = 4;
	in->proto = p[9];
	in->ip_len = tot;
	in->hdr_len = ihl;
	in->payload_off = ihl;
	memcpy(in->src, p + 12, 4);
	memcpy(in->dst, p + 16, 4);
	frag = get16(p + 6);
	in->frag_off = (uint16_t)((frag & 0x1fff) * 8);
	in->is_fragment = (frag & 0x3fff) != 0;
	if (in->frag_off)
		return 0;
	return parse_l4(p, ihl, avail, tot, in);
}

/* IPv6 routing header at off, hl bytes: the final destination. */
static void routing_dst(const uint8_t *p, uint32_t off, uint32_t hl,
			struct nh_pkt_info *in)
{
	uint8_t type = p[off + 2], left = p[off + 3];
	uint32_t n = p[off + 1] / 2, a = 0;

	if (!left || !n)
		return;
	if (type == 0)
		a = off + 8 + 16 * (n - 1); /* the last address */
	else if (type == 2 || type == 4)
		a = off + 8; /* home address / segment list[0] */
	if (a && a + 16 <= off + hl)
		in->pseudo_dst_off = a;
}

static int parse6(const uint8_t *p, size_t len, unsigned int flags,
		  struct nh_pkt_info *in)
{
	uint32_t plen, tot, avail, off = 40, hl;
	uint8_t nh;
	int i;

	if (len < 40)
		return -EINVAL;
	plen = get16(p + 4);
	nh = p[6];
	if (plen == 0 && nh == IPPROTO_HOPOPTS_)
		return -EPROTO; /* a jumbogram, or nonsense */
	tot = 40 + plen;
	if (tot > len) {
		if (!(flags & NH_PARSE_PARTIAL))
			return -EINVAL;
		in->truncated = 1;
	}
	avail = tot < len ? tot : (uint32_t)len;
	in->version = 6;
	in->ip_len = tot;
	memcpy(in->src, p + 8, 16);
	memcpy(in->dst, p + 24, 16);

	for (i = 0; i < NH_IPV6_MAX_EXT; i++) {
		switch (nh) {
		case IPPROTO_HOPOPTS_:
			if (off != 40)
				return -EINVAL;
			/* fall through */
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if (off + 8 > avail)
				return -EINVAL;
			hl = ((uint32_t)p[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH_:
			if (off + 8 > avail)
				return -EINVAL;
			hl = ((uint32_t)p[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_:
			if (off + 8 > avail)
				return -EINVAL;
			hl = 8;
			in->is_fragment = 1;
			in->frag_off = get16(p + off + 2) & 0xfff8;
			break;
		default:
			goto done;
		}
		if (off + hl > avail)
			return -EINVAL;
		if (nh == IPPROTO_ROUTING_)
			routing_dst(p, off, hl, in);
		nh = p[off];
		off += hl;
		if (in->frag_off)
			goto done; /* a later fragment: no more headers */
	}
	return -EINVAL; /* too many extension headers */
done:
	in->proto = nh;
	in->hdr_len = off;
	in->payload_off = off;
	if (in->frag_off)
		return 0;
	return parse_l4(p, off, avail, tot, in);
}

int nh_pkt_parse_ex(const uint8_t *p, size_t len, unsigned int flags,
		    struct nh_pkt_info *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!p || !len)
		return -EINVAL;
	switch (p[0] >> 4) {
	case 4:
		return parse4(p, len, flags, out);
	case 6:
		return parse6(p, len, flags, out);
	default:
		return -EPROTO;
	}
}

int nh_pkt_parse(const uint8_t *p, size_t len, struct nh_pkt_info *out)
{
	return nh_pkt_parse_ex(p, len, 0, out);
}

/* ---- struct nh_pkt ---- */

NH_API struct nh_pkt *nh_pkt_new(const void *data, size_t len)
{
	struct nh_pkt *pkt;

	if (!data || !len || len > NH_PKT_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pkt = calloc(1, sizeof(*pkt));
	if (!pkt)
		return NULL;
	pkt->data = malloc(len);
	if (!pkt->data) {
		free(pkt);
		return NULL;
	}
	memcpy(pkt->data, data, len);
	pkt->len = pkt->cap = pkt->orig_len = (uint32_t)len;
	return pkt;
}

void nh_pkt_release(struct nh_pkt *pkt)
{
	if (!pkt)
		return;
	if (!pkt->borrowed)
		free(pkt->data);
	pkt->data = NULL;
	pkt->len = pkt->cap = 0;
	pkt->borrowed = 0;
}

NH_API void nh_pkt_free(struct nh_pkt *pkt)
{
	if (!pkt)
		return;
	/* a held packet freed by a filter still owes the kernel a verdict */
	if (pkt->q.state == NH_PKT_HELD && pkt->q.freed)
		pkt->q.freed(pkt);
	nh_pkt_release(pkt);
	free(pkt);
}

void nh_pkt_init_borrowed(struct nh_pkt *pkt, uint8_t *data, size_t len)
{
	memset(pkt, 0, sizeof(*pkt));
	pkt->data = data;
	pkt->len = pkt->orig_len = (uint32_t)len;
	pkt->borrowed = 1;
}

int nh_pkt_own(struct nh_pkt *pkt)
{
	uint8_t *d;

	if (!pkt)
		return nh_err(-EINVAL);
	if (!pkt->borrowed)
		return 0;
	d = malloc(pkt->len ?: 1);
	if (!d)
		return nh_err(-ENOMEM);
	memcpy(d, pkt->data, pkt->len);
	pkt->data = d;
	pkt->cap = pkt->len;
	pkt->borrowed = 0;
	return 0;
}

NH_API void *nh_pkt_data(struct nh_pkt *pkt)
{
	if (!pkt) {
		errno = EINVAL;
		return NULL;
	}
	if (!pkt->truncated)
		pkt->dirty = pkt->modified = 1;
	return pkt->data;
}

NH_API const void *nh_pkt_peek(const struct nh_pkt *pkt)
{
	if (!pkt) {
		errno = EINVAL;
		return NULL;
	}
	return pkt->data;
}

NH_API size_t nh_pkt_len(const struct nh_pkt *pkt)
{
	return pkt ? pkt->len : 0;
}

NH_API int nh_pkt_truncated(const struct nh_pkt *pkt)
{
	return pkt && pkt->truncated;
}

NH_API size_t nh_pkt_orig_len(const struct nh_pkt *pkt)
{
	if (!pkt)
		return 0;
	return pkt->orig_len ? pkt->orig_len : pkt->len;
}

NH_API int nh_pkt_headers(const struct nh_pkt *pkt, struct nh_pkt_hdrs *hdrs)
{
	struct nh_pkt_info in;
	struct nh_pkt_hdrs h;
	int err;

	if (!pkt || !hdrs || hdrs->sz < sizeof(*hdrs))
		return nh_err(-EINVAL);
	err = nh_pkt_parse_ex(pkt->data, pkt->len, NH_PARSE_PARTIAL, &in);
	/* filled either way: a log line shows what could be read */
	memset(&h, 0, sizeof(h));
	h.sz = hdrs->sz;
	h.version = in.version;
	h.proto = in.proto;
	h.l4 = in.l4;
	h.tcp_flags = in.tcp_flags;
	h.fragment = in.is_fragment;
	h.hdr_len = in.hdr_len;
	h.sport = in.sport;
	h.dport = in.dport;
	memcpy(h.src, in.src, sizeof(h.src));
	memcpy(h.dst, in.dst, sizeof(h.dst));
	/* a caller built against a later, larger struct keeps its tail */
	memcpy(hdrs, &h, sizeof(h));
	return err ? nh_err(err) : 0;
}

NH_API int nh_pkt_set_len(struct nh_pkt *pkt, size_t len)
{
	struct nh_pkt_info in;
	int udp = 0;
	uint8_t *d;

	if (!pkt || !pkt->len)
		return nh_err(-EINVAL);
	if (pkt->truncated)
		return nh_err(-EROFS);
	switch (pkt->data[0] >> 4) {
	case 4:
		if (pkt->len < 20 || len < (size_t)(pkt->data[0] & 0xf) * 4 ||
		    len < 20 || len > 65535)
			return nh_err(-EINVAL);
		break;
	case 6:
		if (pkt->len < 40 || len < 40 || len > NH_PKT_MAX)
			return nh_err(-EINVAL);
		break;
	default:
		return nh_err(-EPROTO);
	}
	/* the UDP length follows when the datagram is whole and parses */
	if (!nh_pkt_parse(pkt->data, pkt->len, &in) && in.l4 &&
	    in.proto == IPPROTO_UDP_ && !in.is_fragment &&
	    (size_t)in.hdr_len + 8 <= len)
		udp = 1;

	if (len > pkt->cap || (pkt->borrowed && len > pkt->len)) {
		d = malloc(len);
		if (!d)
			return nh_err(-ENOMEM);
		memcpy(d, pkt->data, pkt->len);
		if (!pkt->borrowed)
			free(pkt->data);
		pkt->data = d;
		pkt->cap = (uint32_t)len;
		pkt->borrowed = 0;
	}
	if (len > pkt->len)
		memset(pkt->data + pkt->len, 0, len - pkt->len);
	pkt->len = pkt->orig_len = (uint32_t)len;
	if ((pkt->data[0] >> 4) == 4)
		put16(pkt->data + 2, (uint16_t)len);
	else
		put16(pkt->data + 4, (uint16_t)(len - 40));
	if (udp)
		put16(pkt->data + in.hdr_len + 4, (uint16_t)(len - in.hdr_len));
	pkt->dirty = pkt->modified = 1;
	return 0;
}

static void fix_ip4_header(uint8_t *p)
{
	uint32_t ihl = (uint32_t)(p[0] & 0xf) * 4;

	put16(p + 10, 0);
	put16(p + 10, nh_csum_fold(nh_csum_add(0, p, ihl)));
}

static void fix_l4(uint8_t *p, const struct nh_pkt_info *in, unsigned int flags)
{
	uint32_t l4_len = in->ip_len - in->hdr_len, sum = 0;
	uint8_t *csum = p + in->csum_off;
	uint16_t c;

	if (in->proto == IPPROTO_UDP_)
		l4_len = get16(p + in->hdr_len + 4);
	if (in->proto != IPPROTO_ICMP_)
		sum = nh_csum_pseudo(p, in, l4_len);
	if ((flags & NH_CSUM_PSEUDO_ONLY) &&
	    (in->proto == IPPROTO_TCP_ || in->proto == IPPROTO_UDP_)) {
		put16(csum, (uint16_t)~nh_csum_fold(sum));
		return;
	}
	put16(csum, 0);
	c = nh_csum_fold(nh_csum_add(sum, p + in->hdr_len, l4_len));
	if (in->proto == IPPROTO_UDP_ && c == 0)
		c = 0xffff;
	put16(csum, c);
}

int nh_pkt_fix_checksums_ex(struct nh_pkt *pkt, unsigned int flags)
{
	struct nh_pkt_info in;
	int err;

	if (!pkt)
		return nh_err(-EINVAL);
	if (pkt->truncated)
		return nh_err(-EROFS);
	err = nh_pkt_parse(pkt->data, pkt->len, &in);
	if (err)
		return nh_err(err);
	if (in.version == 4)
		fix_ip4_header(pkt->data);
	if (in.l4 && !in.is_fragment)
		fix_l4(pkt->data, &in, flags);
	pkt->dirty = 0;
	return 0;
}

NH_API int nh_pkt_fix_checksums(struct nh_pkt *pkt)
{
	return nh_pkt_fix_checksums_ex(pkt, 0);
}

NH_API uint32_t nh_ipf_pktopts_mark(const struct nh_ipf_pktopts *options)
{
	return options ? options->mark : 0;
}

NH_API int nh_ipf_pktopts_ifindex(const struct nh_ipf_pktopts *options)
{
	return options ? options->ifindex : 0;
}

/* ---- constructors ---- */

static struct nh_pkt *build(int version, uint8_t proto, const void *src,
			    const void *dst, const uint8_t *l4, size_t l4len,
			    const void *payload, size_t len)
{
	size_t hl = version == 4 ? 20 : 40, tot = hl + l4len + len;
	struct nh_pkt *pkt;
	uint8_t *p;

	if ((version != 4 && version != 6) || !src || !dst ||
	    (len && !payload) || tot > (version == 4 ? 65535 : NH_PKT_MAX)) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, tot);
	if (!p)
		return NULL;
	if (version == 4) {
		p[0] = 0x45;
		put16(p + 2, (uint16_t)tot);
		put16(p + 6, 0x4000); /* DF */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
	} else {
		p[0] = 0x60;
		put16(p + 4, (uint16_t)(tot - 40));
		p[6] = proto;
		p[7] = 64;
		memcpy(p + 8, src, 16);
		memcpy(p + 24, dst, 16);
	}
	memcpy(p + hl, l4, l4len);
	if (len)
		memcpy(p + hl + l4len, payload, len);
	pkt = nh_pkt_new(p, tot);
	free(p);
	if (pkt && nh_pkt_fix_checksums(pkt)) {
		nh_pkt_free(pkt);
		errno = EINVAL;
		return NULL;
	}
	return pkt;
}

static struct nh_pkt *build_udp(int version, const void *src, const void *dst,
				uint16_t sport, uint16_t dport,
				const void *payload, size_t len)
{
	uint8_t u[8] = { 0 };

	if (len > 65535 - 8) {
		errno = EINVAL;
		return NULL;
	}
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	return build(version, IPPROTO_UDP_, src, dst, u, 8, payload, len);
}

struct nh_pkt *nh_pkt_build_udp4(const void *src, const void *dst,
				 uint16_t sport, uint16_t dport,
				 const void *payload, size_t len)
{
	return build_udp(4, src, dst, sport, dport, payload, len);
}

struct nh_pkt *nh_pkt_build_udp6(const void *src, const void *dst,
				 uint16_t sport, uint16_t dport,
				 const void *payload, size_t len)
{
	return build_udp(6, src, dst, sport, dport, payload, len);
}

struct nh_pkt *nh_pkt_build_tcp(int version, const void *src, const void *dst,
				uint16_t sport, uint16_t dport, uint32_t seq,
				uint32_t ack, uint8_t flags,
				const void *payload, size_t len)
{
	uint8_t t[20] = { 0 };

	put16(t, sport);
	put16(t + 2, dport);
	put16(t + 4, (uint16_t)(seq >> 16));
	put16(t + 6, (uint16_t)seq);
	put16(t + 8, (uint16_t)(ack >> 16));
	put16(t + 10, (uint16_t)ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	return build(version, IPPROTO_TCP_, src, dst, t, 20, payload, len);
}
