// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * IP packets: nh_pkt_*, the parser, checksums (src/lib/ip/pkt.c).
 * Checksums are verified with an independent byte-by-byte sum.
 */
#include <arpa/inet.h>
#include <errno.h>
#include "nh_test.h"
#include "nh_pkt.h"

static const uint8_t A4[4] = { 192, 0, 2, 1 }, B4[4] = { 198, 51, 100, 7 };
static uint8_t A6[16], B6[16];

/* one's complement sum of 16-bit big-endian words, folded */
static uint32_t ref_add(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static void assert_ip4_ok(const uint8_t *p)
{
	assert_int_equal(ref_add(0, p, (size_t)(p[0] & 15) * 4), 0xffff);
}

/* the L4 checksum of a packet verifies: l4 at off, n bytes, dst for the
 * pseudo-header (NULL: the header's) */
static void assert_l4_ok(const uint8_t *p, size_t off, size_t n, uint8_t proto,
			 const uint8_t *dst)
{
	uint32_t s = 0;

	if ((p[0] >> 4) == 4) {
		if (proto != 1) {
			s = ref_add(s, p + 12, 4);
			s = ref_add(s, dst ? dst : p + 16, 4);
			s += proto + (uint32_t)n;
		}
	} else {
		s = ref_add(s, p + 8, 16);
		s = ref_add(s, dst ? dst : p + 24, 16);
		s += (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff) + proto;
	}
	assert_int_equal(ref_add(s, p + off, n), 0xffff);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_new_bad(void **state)
{
	uint8_t b[70000] = { 0x45 };

	(void)state;
	errno = 0;
	assert_null(nh_pkt_new(NULL, 20));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(nh_pkt_new(b, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(nh_pkt_new(b, NH_PKT_MAX + 1));
	assert_int_equal(errno, EINVAL);
	nh_pkt_free(NULL);
	assert_null(nh_pkt_data(NULL));
	assert_int_equal(nh_pkt_len(NULL), 0);
	assert_int_equal(nh_pkt_set_len(NULL, 20), -EINVAL);
	assert_int_equal(nh_pkt_fix_checksums(NULL), -EINVAL);
	assert_int_equal(nh_ipf_pktopts_mark(NULL), 0);
	assert_int_equal(nh_ipf_pktopts_ifindex(NULL), 0);
}

static void test_new_copies(void **state)
{
	struct nh_pkt *a = nh_pkt_build_udp4(A4, B4, 1, 2, "x", 1), *b;
	uint8_t *d;

	(void)state;
	assert_non_null(a);
	b = nh_pkt_new(nh_pkt_peek(a), nh_pkt_len(a));
	assert_non_null(b);
	assert_ptr_not_equal(nh_pkt_peek(a), nh_pkt_peek(b));
	assert_memory_equal(nh_pkt_peek(a), nh_pkt_peek(b), nh_pkt_len(a));
	assert_false(b->dirty);
	d = nh_pkt_data(b);
	assert_true(b->dirty && b->modified);
	d[28] = 'y';
	assert_int_equal(((const uint8_t *)nh_pkt_peek(a))[28], 'x');
	nh_pkt_free(a);
	nh_pkt_free(b);
}

static void test_udp4(void **state)
{
	struct nh_pkt *pkt = nh_pkt_build_udp4(A4, B4, 40000, 9999, "hello", 5);
	struct nh_pkt_info in;
	const uint8_t *p;

	(void)state;
	assert_non_null(pkt);
	p = nh_pkt_peek(pkt);
	assert_int_equal(nh_pkt_len(pkt), 33);
	assert_int_equal(nh_pkt_parse(p, 33, &in), 0);
	assert_int_equal(in.version, 4);
	assert_int_equal(in.proto, 17);
	assert_int_equal(in.hdr_len, 20);
	assert_int_equal(in.payload_off, 28);
	assert_int_equal(in.sport, 40000);
	assert_int_equal(in.dport, 9999);
	assert_int_equal(in.ip_len, 33);
	assert_true(in.l4);
	assert_false(in.is_fragment);
	assert_memory_equal(in.src, A4, 4);
	assert_memory_equal(in.dst, B4, 4);
	assert_ip4_ok(p);
	assert_l4_ok(p, 20, 13, 17, NULL);
	nh_pkt_free(pkt);
}

static void test_udp6(void **state)
{
	struct nh_pkt *pkt = nh_pkt_build_udp6(A6, B6, 5353, 53, "abc", 3);
	struct nh_pkt_info in;
	const uint8_t *p;

	(void)state;
	assert_non_null(pkt);
	p = nh_pkt_peek(pkt);
	assert_int_equal(nh_pkt_parse(p, nh_pkt_len(pkt), &in), 0);
	assert_int_equal(in.version, 6);
	assert_int_equal(in.hdr_len, 40);
	assert_int_equal(in.sport, 5353);
	assert_int_equal(in.dport, 53);
	assert_memory_equal(in.src, A6, 16);
	assert_memory_equal(in.dst, B6, 16);
	assert_l4_ok(p, 40, 11, 17, NULL);
	nh_pkt_free(pkt);
}

static void test_tcp(void **state)
{
	int v;

	(void)state;
	for (v = 4; v <= 6; v += 2) {
		struct nh_pkt *pkt =
			nh_pkt_build_tcp(v, v == 4 ? (const void *)A4 : A6,
					 v == 4 ? (const void *)B4 : B6, 33000,
					 80, 1000, 0, 0x02, "GET", 3);
		struct nh_pkt_info in;
		const uint8_t *p;
		size_t hl = v == 4 ? 20 : 40;

		assert_non_null(pkt);
		p = nh_pkt_peek(pkt);
		assert_int_equal(nh_pkt_parse(p, nh_pkt_len(pkt), &in), 0);
		assert_int_equal(in.proto, 6);
		assert_int_equal(in.tcp_flags, 0x02);
		assert_int_equal(in.payload_off, hl + 20);
		assert_int_equal(in.csum_off, hl + 16);
		if (v == 4)
			assert_ip4_ok(p);
		assert_l4_ok(p, hl, 23, 6, NULL);
		nh_pkt_free(pkt);
	}
}

/* change a byte through nh_pkt_data, break the checksums: fixed */
static void test_fix_after_change(void **state)
{
	struct nh_pkt *pkt =
		nh_pkt_build_tcp(4, A4, B4, 1, 2, 3, 4, 0x18, "payload!", 8);
	uint8_t *p;

	(void)state;
	p = nh_pkt_data(pkt);
	p[16] = 10; /* new destination */
	p[45] = 'X';
	p[10] ^= 0x55;
	assert_true(pkt->dirty);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_false(pkt->dirty);
	assert_ip4_ok(p);
	assert_l4_ok(p, 20, 28, 6, NULL);
	nh_pkt_free(pkt);
}

static const uint8_t icmp4[] = {
	0x45, 0, 0,   28, 0x12, 0x34, 0, 0, 64, 1, 0,	 0,    192, 0,
	2,    1, 198, 51, 100,	7,    8, 0, 0,	0, 0xbe, 0xef, 0,   1,
};

static void test_icmp4(void **state)
{
	struct nh_pkt *pkt = nh_pkt_new(icmp4, sizeof(icmp4));
	struct nh_pkt_info in;
	const uint8_t *p;

	(void)state;
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	p = nh_pkt_peek(pkt);
	assert_ip4_ok(p);
	assert_l4_ok(p, 20, 8, 1, NULL);
	assert_int_equal(nh_pkt_parse(p, 28, &in), 0);
	assert_int_equal(in.sport, 0xbeef); /* echo identifier */
	assert_int_equal(in.csum_off, 22);
	nh_pkt_free(pkt);
}

/* IPv6: hop-by-hop (8), destination options (16), ICMPv6 echo */
static struct nh_pkt *ext6(uint8_t last_nh, const uint8_t *l4, size_t l4len)
{
	uint8_t b[200] = { 0x60 };
	size_t n = 40;

	memcpy(b + 8, A6, 16);
	memcpy(b + 24, B6, 16);
	b[6] = 0; /* hop-by-hop */
	b[n] = 60; /* next: dest opts */
	b[n + 1] = 0;
	b[n + 2] = 1; /* PadN */
	b[n + 3] = 4;
	n += 8;
	b[n] = last_nh;
	b[n + 1] = 1; /* 16 bytes */
	b[n + 2] = 1;
	b[n + 3] = 12;
	n += 16;
	memcpy(b + n, l4, l4len);
	n += l4len;
	b[4] = (uint8_t)((n - 40) >> 8);
	b[5] = (uint8_t)(n - 40);
	return nh_pkt_new(b, n);
}

static void test_ipv6_ext_icmp6(void **state)
{
	const uint8_t echo[] = { 128, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i' };
	struct nh_pkt *pkt = ext6(58, echo, sizeof(echo));
	struct nh_pkt_info in;
	const uint8_t *p = nh_pkt_peek(pkt);

	(void)state;
	assert_int_equal(nh_pkt_parse(p, nh_pkt_len(pkt), &in), 0);
	assert_int_equal(in.hdr_len, 64);
	assert_int_equal(in.proto, 58);
	assert_int_equal(in.sport, 0x1234);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_l4_ok(p, 64, sizeof(echo), 58, NULL);
	nh_pkt_free(pkt);
}

static void test_ipv6_ext_udp(void **state)
{
	uint8_t udp[12] = { 0x13, 0x88, 0x27, 0x0f, 0, 12, 0, 0, 1, 2, 3, 4 };
	struct nh_pkt *pkt = ext6(17, udp, sizeof(udp));
	struct nh_pkt_info in;
	const uint8_t *p = nh_pkt_peek(pkt);

	(void)state;
	assert_int_equal(nh_pkt_parse(p, nh_pkt_len(pkt), &in), 0);
	assert_int_equal(in.sport, 5000);
	assert_int_equal(in.dport, 9999);
	assert_int_equal(in.payload_off, 72);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_l4_ok(p, 64, 12, 17, NULL);
	nh_pkt_free(pkt);
}

/* segment routing header, segments left 1: the pseudo-header uses
 * segment list[0], the final destination */
static void test_ipv6_routing_final_dst(void **state)
{
	uint8_t b[40 + 24 + 8] = { 0x60 }, fin[16];
	struct nh_pkt *pkt;
	struct nh_pkt_info in;

	(void)state;
	memcpy(fin, B6, 16);
	fin[15] = 0x99;
	memcpy(b + 8, A6, 16);
	memcpy(b + 24, B6, 16);
	b[5] = 32;
	b[6] = 43;
	b[40] = 17; /* next: UDP */
	b[41] = 2; /* 24 bytes */
	b[42] = 4; /* SRH */
	b[43] = 1; /* segments left */
	memcpy(b + 48, fin, 16);
	b[64] = 0x10;
	b[66] = 0x10;
	b[69] = 8;
	pkt = nh_pkt_new(b, sizeof(b));
	assert_int_equal(nh_pkt_parse(b, sizeof(b), &in), 0);
	assert_int_equal(in.pseudo_dst_off, 48);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_l4_ok(nh_pkt_peek(pkt), 64, 8, 17, fin);
	nh_pkt_free(pkt);
}

static void test_frag6_later(void **state)
{
	uint8_t b[40 + 8 + 16] = { 0x60 };
	struct nh_pkt *pkt;
	struct nh_pkt_info in;

	(void)state;
	b[5] = 24;
	b[6] = 44;
	b[40] = 6; /* TCP */
	b[42] = 0x05; /* offset 1480 */
	b[43] = 0xc8;
	memset(b + 48, 0xab, 16);
	pkt = nh_pkt_new(b, sizeof(b));
	assert_int_equal(nh_pkt_parse(b, sizeof(b), &in), 0);
	assert_true(in.is_fragment);
	assert_false(in.l4);
	assert_int_equal(in.frag_off, 1480);
	assert_int_equal(in.proto, 6);
	assert_int_equal(in.hdr_len, 48);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_memory_equal(nh_pkt_peek(pkt), b, sizeof(b)); /* untouched */
	nh_pkt_free(pkt);
}

static void test_frag4_first(void **state)
{
	struct nh_pkt *pkt = nh_pkt_build_udp4(A4, B4, 1, 2, "abcdefgh", 8);
	struct nh_pkt_info in;
	uint8_t *p = nh_pkt_data(pkt), csum[2];

	(void)state;
	p[6] = 0x20; /* MF, offset 0 */
	p[26] = 0x12; /* some other datagram's checksum */
	p[27] = 0x34;
	memcpy(csum, p + 26, 2);
	assert_int_equal(nh_pkt_parse(p, nh_pkt_len(pkt), &in), 0);
	assert_true(in.is_fragment);
	assert_true(in.l4);
	assert_int_equal(in.dport, 2);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_ip4_ok(p);
	assert_memory_equal(p + 26, csum, 2); /* covers the whole datagram */
	nh_pkt_free(pkt);
}

/* CHECKSUM_PARTIAL form: the field holds the folded pseudo-header sum, so
 * that summing the segment with it and complementing gives the checksum */
static void test_csum_pseudo_only(void **state)
{
	struct nh_pkt *pkt =
		nh_pkt_build_tcp(6, A6, B6, 1, 2, 3, 4, 0x10, "abcde", 5);
	uint8_t *p = nh_pkt_data(pkt), full[2];
	uint32_t s;

	(void)state;
	memcpy(full, p + 56, 2);
	pkt->csum_partial = 1;
	assert_int_equal(nh_pkt_fix_checksums_ex(pkt, NH_CSUM_PSEUDO_ONLY), 0);
	s = ref_add(0, p + 8, 32);
	s += 25 + 6;
	s = ref_add(s, NULL, 0);
	assert_int_equal(be16(p + 56), s);
	/* what the device would do: sum from the L4 start, complement */
	s = (uint16_t)~ref_add(0, p + 40, 25);
	assert_int_equal(s, be16(full));
	/* the plain call writes the full checksum even when partial */
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_memory_equal(p + 56, full, 2);
	nh_pkt_free(pkt);
}

/* a computed UDP checksum of 0 is sent as 0xffff */
static void test_udp_zero_csum(void **state)
{
	uint8_t pl[2] = { 0, 0 };
	struct nh_pkt *pkt = nh_pkt_build_udp4(A4, B4, 1, 2, pl, 2);
	uint8_t *p = nh_pkt_data(pkt);
	uint16_t c = be16(p + 26);

	(void)state;
	/* choose payload bytes that make the sum come out as 0xffff */
	pl[0] = (uint8_t)(c >> 8);
	pl[1] = (uint8_t)c;
	memcpy(p + 28, pl, 2);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_int_equal(be16(p + 26), 0xffff);
	assert_l4_ok(p, 20, 10, 17, NULL);
	nh_pkt_free(pkt);
}

static void test_set_len(void **state)
{
	struct nh_pkt *pkt = nh_pkt_build_udp4(A4, B4, 1, 2, "abc", 3);
	struct nh_pkt *p6 = nh_pkt_build_udp6(A6, B6, 1, 2, "abc", 3);
	const uint8_t *p;
	size_t i;

	(void)state;
	assert_int_equal(nh_pkt_set_len(pkt, 31 + 1000), 0);
	assert_true(pkt->dirty);
	p = nh_pkt_peek(pkt);
	assert_int_equal(be16(p + 2), 1031);
	assert_int_equal(be16(p + 24), 1011);
	for (i = 31; i < 1031; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_ip4_ok(p);
	assert_l4_ok(p, 20, 1011, 17, NULL);
	assert_int_equal(nh_pkt_set_len(pkt, 29), 0);
	p = nh_pkt_peek(pkt);
	assert_int_equal(be16(p + 2), 29);
	assert_int_equal(be16(p + 24), 9);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);
	assert_l4_ok(p, 20, 9, 17, NULL);

	assert_int_equal(nh_pkt_set_len(pkt, 19), -EINVAL);
	assert_int_equal(nh_pkt_set_len(pkt, 65536), -EINVAL);
	assert_int_equal(nh_pkt_set_len(pkt, 65535), 0);
	assert_int_equal(nh_pkt_fix_checksums(pkt), 0);

	assert_int_equal(nh_pkt_set_len(p6, 40 + 8 + 100), 0);
	p = nh_pkt_peek(p6);
	assert_int_equal(be16(p + 4), 108);
	assert_int_equal(be16(p + 44), 108);
	assert_int_equal(nh_pkt_fix_checksums(p6), 0);
	assert_l4_ok(p, 40, 108, 17, NULL);
	assert_int_equal(nh_pkt_set_len(p6, 39), -EINVAL);
	assert_int_equal(nh_pkt_set_len(p6, NH_PKT_MAX + 1), -EINVAL);
	assert_int_equal(nh_pkt_set_len(p6, NH_PKT_MAX), 0);
	nh_pkt_free(pkt);
	nh_pkt_free(p6);
}

static void test_truncated(void **state)
{
	struct nh_pkt *pkt = nh_pkt_build_udp4(A4, B4, 1, 2, "abcdef", 6);
	struct nh_pkt_info in;

	(void)state;
	/* as the engine would: 30 of 34 bytes copied */
	pkt->truncated = 1;
	pkt->orig_len = pkt->len;
	pkt->len = 30;
	assert_int_equal(nh_pkt_truncated(pkt), 1);
	assert_non_null(nh_pkt_data(pkt));
	assert_false(pkt->dirty);
	assert_int_equal(nh_pkt_set_len(pkt, 40), -EROFS);
	assert_int_equal(nh_pkt_fix_checksums(pkt), -EROFS);
	assert_int_equal(nh_pkt_parse(nh_pkt_peek(pkt), 30, &in), -EINVAL);
	assert_int_equal(nh_pkt_parse_ex(nh_pkt_peek(pkt), 30, NH_PARSE_PARTIAL,
					 &in),
			 0);
	assert_true(in.truncated);
	assert_true(in.l4);
	assert_int_equal(in.dport, 2);
	assert_int_equal(in.ip_len, 34);
	nh_pkt_free(pkt);
}

static void test_borrowed(void **state)
{
	struct nh_pkt *src = nh_pkt_build_udp4(A4, B4, 1, 2, "abc", 3);
	uint8_t buf[64];
	struct nh_pkt pkt;

	(void)state;
	memcpy(buf, nh_pkt_peek(src), 31);
	nh_pkt_init_borrowed(&pkt, buf, 31);
	assert_ptr_equal(nh_pkt_data(&pkt), buf);
	assert_int_equal(nh_pkt_set_len(&pkt, 200), 0); /* copies */
	assert_ptr_not_equal(pkt.data, buf);
	assert_false(pkt.borrowed);
	nh_pkt_release(&pkt);

	nh_pkt_init_borrowed(&pkt, buf, 31);
	assert_int_equal(nh_pkt_own(&pkt), 0);
	assert_ptr_not_equal(pkt.data, buf);
	assert_memory_equal(pkt.data, buf, 31);
	assert_int_equal(nh_pkt_own(&pkt), 0);
	nh_pkt_release(&pkt);
	nh_pkt_free(src);
}

/* the public reading of a packet: what nethook packet logs */
static void test_headers(void **state)
{
	struct nh_pkt *pkt =
		nh_pkt_build_tcp(4, A4, B4, 1234, 80, 3, 4, 0x12, "abc", 3);
	struct nh_pkt_hdrs h = { .sz = sizeof(h) }, small = { .sz = 8 };
	size_t wire;

	(void)state;
	assert_int_equal(nh_pkt_headers(pkt, &h), 0);
	assert_int_equal(h.sz, sizeof(h));
	assert_int_equal(h.version, 4);
	assert_int_equal(h.proto, 6);
	assert_true(h.l4);
	assert_int_equal(h.tcp_flags, 0x12);
	assert_int_equal(h.hdr_len, 20);
	assert_int_equal(h.sport, 1234);
	assert_int_equal(h.dport, 80);
	assert_memory_equal(h.src, A4, 4);
	assert_memory_equal(h.dst, B4, 4);
	assert_int_equal(nh_pkt_orig_len(pkt), nh_pkt_len(pkt));
	assert_int_equal(nh_pkt_headers(pkt, &small), -EINVAL);
	assert_int_equal(nh_pkt_headers(NULL, &h), -EINVAL);
	/* truncated as the engine would: headers still read, wire length */
	wire = pkt->len;
	pkt->truncated = 1;
	pkt->orig_len = (uint32_t)wire;
	pkt->len = 41; /* the TCP header and one byte */
	assert_int_equal(nh_pkt_headers(pkt, &h), 0);
	assert_int_equal(h.dport, 80);
	assert_int_equal(nh_pkt_orig_len(pkt), wire);
	/* not IP: -EPROTO */
	pkt->data[0] = 0x50;
	assert_int_equal(nh_pkt_headers(pkt, &h), -EPROTO);
	nh_pkt_free(pkt);
}

static void test_pktopts(void **state)
{
	struct nh_ipf_pktopts o = { .mark = 0x1234, .ifindex = 7 };

	(void)state;
	assert_int_equal(nh_ipf_pktopts_mark(&o), 0x1234);
	assert_int_equal(nh_ipf_pktopts_ifindex(&o), 7);
}

static void test_csum_replace(void **state)
{
	struct nh_pkt *pkt =
		nh_pkt_build_tcp(4, A4, B4, 1, 2, 3, 4, 0x10, "xyz", 3);
	uint8_t *p = nh_pkt_data(pkt), nd[4] = { 203, 0, 113, 9 };

	(void)state;
	nh_csum_replace(p + 10, p + 16, nd, 4);
	nh_csum_replace(p + 36, p + 16, nd, 4);
	memcpy(p + 16, nd, 4);
	assert_ip4_ok(p);
	assert_l4_ok(p, 20, 23, 6, NULL);
	nh_pkt_free(pkt);
}

/* ---- malformed packets: errors, not crashes ---- */

struct bad {
	const char *name;
	uint8_t b[80];
	size_t len;
	int err;
};

/* clang-format off */
static const struct bad bad_cases[] = {
	{ "empty", { 0 }, 0, -EINVAL },
	{ "version 5", { 0x55 }, 20, -EPROTO },
	{ "version 0", { 0x00 }, 20, -EPROTO },
	{ "ipv4 19 bytes", { 0x45, 0, 0, 19 }, 19, -EINVAL },
	{ "ipv4 IHL 4", { 0x44, 0, 0, 20 }, 20, -EINVAL },
	{ "ipv4 IHL 15 past buffer", { 0x4f, 0, 0, 60 }, 40, -EINVAL },
	{ "ipv4 total below IHL", { 0x45, 0, 0, 10 }, 20, -EINVAL },
	{ "ipv4 total past buffer", { 0x45, 0, 0, 60 }, 40, -EINVAL },
	{ "tcp header cut", { 0x45, 0, 0, 30, 0, 0, 0, 0, 64, 6 }, 30, -EINVAL },
	{ "tcp data offset 4", { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, [32] = 0x40 },
	  40, -EINVAL },
	{ "tcp data offset past end", { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6,
	  [32] = 0xf0 }, 40, -EINVAL },
	{ "udp length 7", { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, [24] = 0, 7 },
	  28, -EINVAL },
	{ "udp length past datagram", { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17,
	  [24] = 0, 9 }, 28, -EINVAL },
	{ "udp header cut", { 0x45, 0, 0, 24, 0, 0, 0, 0, 64, 17 }, 24, -EINVAL },
	{ "icmp header cut", { 0x45, 0, 0, 24, 0, 0, 0, 0, 64, 1 }, 24, -EINVAL },
	{ "ipv6 39 bytes", { 0x60 }, 39, -EINVAL },
	{ "ipv6 payload past buffer", { 0x60, 0, 0, 0, 0, 20, 59 }, 40, -EINVAL },
	{ "ipv6 jumbogram", { 0x60, 0, 0, 0, 0, 0, 0 }, 48, -EPROTO },
	{ "ipv6 ext header past end", { 0x60, 0, 0, 0, 0, 8, 60, [40] = 59, 4 },
	  48, -EINVAL },
	{ "ipv6 ext header cut", { 0x60, 0, 0, 0, 0, 4, 60 }, 44, -EINVAL },
	{ "ipv6 hop-by-hop not first", { 0x60, 0, 0, 0, 0, 16, 60, [40] = 0, 0,
	  [48] = 59 }, 56, -EINVAL },
	{ "ipv6 tcp cut", { 0x60, 0, 0, 0, 0, 10, 6 }, 50, -EINVAL },
	{ "ipv6 udp length 0", { 0x60, 0, 0, 0, 0, 8, 17 }, 48, -EINVAL },
};
/* clang-format on */

static void test_bad(void **state)
{
	const struct bad *c = *state;
	struct nh_pkt_info in;
	struct nh_pkt *pkt;

	assert_int_equal(nh_pkt_parse(c->b, c->len, &in), c->err);
	if (!c->len)
		return;
	pkt = nh_pkt_new(c->b, c->len);
	assert_non_null(pkt);
	assert_int_equal(nh_pkt_fix_checksums(pkt), c->err);
	nh_pkt_free(pkt);
}

static void test_ext_loop(void **state)
{
	uint8_t b[40 + 8 * 20] = { 0x60 };
	int i;

	(void)state;
	b[5] = 160;
	b[6] = 60;
	for (i = 0; i < 20; i++)
		b[40 + 8 * i] = 60;
	assert_int_equal(nh_pkt_parse(b, sizeof(b), NULL), -EINVAL);
	{
		struct nh_pkt_info in;

		assert_int_equal(nh_pkt_parse(b, sizeof(b), &in), -EINVAL);
	}
}

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* random corruption of valid packets: parse and fix never read or write
 * out of bounds (ASan would say) */
static void test_fuzz(void **state)
{
	struct nh_pkt *seeds[5];
	int i, s, k;

	(void)state;
	seeds[0] = nh_pkt_build_udp4(A4, B4, 1, 2, "abcdefgh", 8);
	seeds[1] = nh_pkt_build_tcp(4, A4, B4, 1, 2, 3, 4, 2, "x", 1);
	seeds[2] = nh_pkt_build_udp6(A6, B6, 1, 2, "abcdefgh", 8);
	seeds[3] = nh_pkt_build_tcp(6, A6, B6, 1, 2, 3, 4, 2, "x", 1);
	{
		const uint8_t echo[] = { 128, 0, 0, 0, 1, 2, 3, 4 };

		seeds[4] = ext6(58, echo, sizeof(echo));
	}
	for (i = 0; i < 30000; i++) {
		struct nh_pkt *sd = seeds[i % 5], *pkt;
		struct nh_pkt_info in;
		size_t len = nh_pkt_len(sd);
		uint8_t *p;

		if (rnd() % 4 == 0)
			len = 1 + rnd() % len;
		pkt = nh_pkt_new(nh_pkt_peek(sd), len);
		assert_non_null(pkt);
		p = nh_pkt_data(pkt);
		for (k = (int)(rnd() % 4); k >= 0; k--)
			p[rnd() % len] = (uint8_t)rnd();
		s = nh_pkt_parse(p, len, &in);
		assert_true(s == 0 || s == -EINVAL || s == -EPROTO);
		nh_pkt_parse_ex(p, len, NH_PARSE_PARTIAL, &in);
		s = nh_pkt_fix_checksums(pkt);
		assert_true(s == 0 || s == -EINVAL || s == -EPROTO);
		if (s == 0 && (p[0] >> 4) == 4)
			assert_ip4_ok(p);
		nh_pkt_free(pkt);
	}
	for (i = 0; i < 5; i++)
		nh_pkt_free(seeds[i]);
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	inet_pton(AF_INET6, "2001:db8::1", A6);
	inet_pton(AF_INET6, "2001:db8:1::7", B6);
	nh_tests_add(&ts, test_new_bad, NULL, "nh_pkt_new: bad input, NULLs");
	nh_tests_add(&ts, test_new_copies, NULL,
		     "nh_pkt_new copies; data marks dirty");
	nh_tests_add(&ts, test_udp4, NULL, "udp4: build, parse, checksums");
	nh_tests_add(&ts, test_udp6, NULL, "udp6: build, parse, checksum");
	nh_tests_add(&ts, test_tcp, NULL,
		     "tcp v4 and v6: build, parse, checksums");
	nh_tests_add(&ts, test_fix_after_change, NULL, "fix after a change");
	nh_tests_add(&ts, test_icmp4, NULL, "icmp echo: checksum, identifier");
	nh_tests_add(&ts, test_ipv6_ext_icmp6, NULL,
		     "ipv6 hop-by-hop + dest opts + icmpv6");
	nh_tests_add(&ts, test_ipv6_ext_udp, NULL,
		     "ipv6 hop-by-hop + dest opts + udp");
	nh_tests_add(&ts, test_ipv6_routing_final_dst, NULL,
		     "ipv6 routing header: pseudo-header final destination");
	nh_tests_add(&ts, test_frag6_later, NULL,
		     "ipv6 later fragment: no l4, untouched");
	nh_tests_add(&ts, test_frag4_first, NULL,
		     "ipv4 first fragment: header fixed, l4 checksum kept");
	nh_tests_add(&ts, test_csum_pseudo_only, NULL,
		     "partial checksum: pseudo-header form, full by default");
	nh_tests_add(&ts, test_udp_zero_csum, NULL,
		     "udp checksum 0 sent as ffff");
	nh_tests_add(&ts, test_set_len, NULL, "set_len: grow, shrink, bounds");
	nh_tests_add(&ts, test_truncated, NULL,
		     "truncated: read-only, partial parse");
	nh_tests_add(&ts, test_borrowed, NULL,
		     "borrowed data: own, grow copies");
	nh_tests_add(&ts, test_pktopts, NULL, "pktopts accessors");
	nh_tests_add(&ts, test_headers, NULL,
		     "nh_pkt_headers, nh_pkt_orig_len: whole and truncated");
	nh_tests_add(&ts, test_csum_replace, NULL,
		     "incremental checksum (RFC 1624)");
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		nh_tests_add(&ts, test_bad, (void *)&bad_cases[i],
			     "malformed: %s", bad_cases[i].name);
	nh_tests_add(&ts, test_ext_loop, NULL,
		     "ipv6: too many extension headers");
	nh_tests_add(&ts, test_fuzz, NULL, "30000 corrupted packets: no crash");
	return nh_tests_run(&ts, "pkt");
}
