// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Stateful destination translation (src/lib/ip/nat.c): crafted TCP, UDP
 * and ICMP packets both ways, checksums verified by recomputation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include "nh_test.h"
#include "nethook/nat.h"
#include "nh_pkt.h"

static const uint8_t C4[4] = { 192, 0, 2, 10 }; /* client */
static const uint8_t D4[4] = { 198, 51, 100, 7 }; /* original dst */
static uint8_t C6[16], D6[16];
static uint64_t now_ms;

static uint64_t clock_fn(void *user)
{
	(void)user;
	return now_ms;
}

static struct nh_nat *table(const char *target, uint32_t max)
{
	struct nh_nat_opts o = {
		.sz = sizeof(o),
		.max_entries = max,
		.now_ms = clock_fn,
	};
	struct nh_nat_target t;
	struct nh_nat *n = nh_nat_new(&o);

	assert_non_null(n);
	if (target) {
		assert_int_equal(nh_nat_parse_target(target, &t), 0);
		assert_int_equal(nh_nat_set_target(n, &t), 0);
	}
	return n;
}

/* checksums of a packet as recomputed: must equal what it carries */
static void assert_csums(struct nh_pkt *pkt)
{
	struct nh_pkt *copy = nh_pkt_new(nh_pkt_peek(pkt), nh_pkt_len(pkt));

	assert_non_null(copy);
	assert_int_equal(nh_pkt_fix_checksums(copy), 0);
	assert_memory_equal(nh_pkt_peek(copy), nh_pkt_peek(pkt),
			    nh_pkt_len(pkt));
	nh_pkt_free(copy);
}

static void info(struct nh_pkt *pkt, struct nh_pkt_info *in)
{
	assert_int_equal(nh_pkt_parse(nh_pkt_peek(pkt), nh_pkt_len(pkt), in),
			 0);
}

static void test_parse_target(void **state)
{
	struct nh_nat_target t;

	(void)state;
	assert_int_equal(nh_nat_parse_target("203.0.113.5", &t), 0);
	assert_int_equal(t.family, 4);
	assert_int_equal(t.port, 0);
	assert_int_equal(nh_nat_parse_target("203.0.113.5:8080", &t), 0);
	assert_int_equal(t.port, 8080);
	assert_int_equal(nh_nat_parse_target("2001:db8::5", &t), 0);
	assert_int_equal(t.family, 6);
	assert_int_equal(nh_nat_parse_target("[2001:db8::5]:443", &t), 0);
	assert_int_equal(t.port, 443);
	assert_int_equal(t.addr[15], 5);
	assert_int_equal(nh_nat_parse_target("[203.0.113.5]:1", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("203.0.113.5:0", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("203.0.113.5:65536", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("203.0.113.5:", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("203.0.113.5:-1", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("host:80", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("[2001:db8::5", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target("", &t), -EINVAL);
	assert_int_equal(nh_nat_parse_target(NULL, &t), -EINVAL);
}

/* a TCP connection both ways, v4 or v6, port rewritten */
static void tcp_flow(int v, const char *target, const void *newdst,
		     uint16_t newport)
{
	const void *c = v == 4 ? (const void *)C4 : C6;
	const void *d = v == 4 ? (const void *)D4 : D6;
	size_t al = v == 4 ? 4 : 16;
	struct nh_nat *n = table(target, 0);
	struct nh_pkt_info in;
	struct nh_pkt *syn, *synack, *ack;

	syn = nh_pkt_build_tcp(v, c, d, 40000, 80, 100, 0, 0x02, NULL, 0);
	assert_int_equal(nh_nat_out(n, syn), 1);
	assert_true(syn->modified);
	info(syn, &in);
	assert_memory_equal(in.dst, newdst, al);
	assert_int_equal(in.dport, newport);
	assert_memory_equal(in.src, c, al);
	assert_int_equal(in.sport, 40000);
	assert_csums(syn);
	assert_int_equal(nh_nat_count(n), 1);

	/* the reply comes from the new destination */
	synack = nh_pkt_build_tcp(v, newdst, c, newport, 40000, 500, 101, 0x12,
				  NULL, 0);
	assert_int_equal(nh_nat_in(n, synack), 1);
	info(synack, &in);
	assert_memory_equal(in.src, d, al);
	assert_int_equal(in.sport, 80);
	assert_csums(synack);

	/* the next packet of the flow goes the same way, with data */
	ack = nh_pkt_build_tcp(v, c, d, 40000, 80, 101, 501, 0x18, "GET /", 5);
	assert_int_equal(nh_nat_out(n, ack), 1);
	info(ack, &in);
	assert_memory_equal(in.dst, newdst, al);
	assert_int_equal(in.dport, newport);
	assert_csums(ack);
	assert_int_equal(nh_nat_count(n), 1);
	nh_pkt_free(syn);
	nh_pkt_free(synack);
	nh_pkt_free(ack);
	nh_nat_free(n);
}

static void test_tcp4(void **state)
{
	const uint8_t nd[4] = { 203, 0, 113, 5 };

	(void)state;
	tcp_flow(4, "203.0.113.5:8080", nd, 8080);
	tcp_flow(4, "203.0.113.5", nd, 80);
}

static void test_tcp6(void **state)
{
	uint8_t nd[16];

	(void)state;
	inet_pton(AF_INET6, "2001:db8:5::5", nd);
	tcp_flow(6, "[2001:db8:5::5]:8080", nd, 8080);
	tcp_flow(6, "2001:db8:5::5", nd, 80);
}

static void test_udp_both(void **state)
{
	const uint8_t nd[4] = { 203, 0, 113, 5 };
	struct nh_nat *n = table("203.0.113.5:5353", 0);
	struct nh_pkt *q = nh_pkt_build_udp4(C4, D4, 3333, 53, "query", 5);
	struct nh_pkt *r = nh_pkt_build_udp4(nd, C4, 5353, 3333, "answer", 6);
	struct nh_pkt *stranger = nh_pkt_build_udp4(nd, C4, 5353, 3334, "x", 1);
	struct nh_pkt_info in;

	(void)state;
	assert_int_equal(nh_nat_out(n, q), 1);
	assert_csums(q);
	assert_int_equal(nh_nat_in(n, r), 1);
	info(r, &in);
	assert_memory_equal(in.src, D4, 4);
	assert_int_equal(in.sport, 53);
	assert_csums(r);
	/* not a reply of the flow: left alone */
	assert_int_equal(nh_nat_in(n, stranger), 0);
	assert_false(stranger->modified);
	nh_pkt_free(q);
	nh_pkt_free(r);
	nh_pkt_free(stranger);
	nh_nat_free(n);
}

/* IPv4 UDP without a checksum keeps none */
static void test_udp4_no_csum(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 0);
	struct nh_pkt *q = nh_pkt_build_udp4(C4, D4, 3333, 53, "q", 1);
	uint8_t *p = q->data;

	(void)state;
	p[26] = p[27] = 0;
	assert_int_equal(nh_nat_out(n, q), 1);
	assert_int_equal(p[26] | p[27], 0);
	assert_int_equal(p[16], 203);
	nh_pkt_free(q);
	nh_nat_free(n);
}

static void test_icmp_echo(void **state)
{
	const uint8_t req[] = { 0x45, 0, 0,   28, 0,	1,    0,   0,  64,  1,
				0,    0, 192, 0,  2,	10,   198, 51, 100, 7,
				8,    0, 0,   0,  0x44, 0x55, 0,   1 };
	struct nh_nat *n = table("203.0.113.5:99", 0);
	struct nh_pkt *p = nh_pkt_new(req, sizeof(req)), *rep;
	struct nh_pkt_info in;
	uint8_t *d;

	(void)state;
	nh_pkt_fix_checksums(p);
	assert_int_equal(nh_nat_out(n, p), 1);
	info(p, &in);
	assert_int_equal(in.dst[0], 203);
	assert_csums(p);
	/* the reply: from the new address, type 0, same identifier */
	rep = nh_pkt_new(nh_pkt_peek(p), nh_pkt_len(p));
	d = nh_pkt_data(rep);
	memcpy(d + 12, (const uint8_t[]){ 203, 0, 113, 5 }, 4);
	memcpy(d + 16, C4, 4);
	d[20] = 0;
	nh_pkt_fix_checksums(rep);
	rep->modified = 0;
	assert_int_equal(nh_nat_in(n, rep), 1);
	info(rep, &in);
	assert_memory_equal(in.src, D4, 4);
	assert_csums(rep);
	nh_pkt_free(p);
	nh_pkt_free(rep);
	nh_nat_free(n);
}

static void test_icmp6_echo(void **state)
{
	uint8_t b[48] = { 0x60, 0, 0, 0, 0, 8, 58, 64 }, nd[16];
	struct nh_nat *n = table("2001:db8:5::5", 0);
	struct nh_pkt *p, *rep;
	struct nh_pkt_info in;
	uint8_t *d;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:5::5", nd);
	memcpy(b + 8, C6, 16);
	memcpy(b + 24, D6, 16);
	b[40] = 128;
	b[44] = 0x77;
	p = nh_pkt_new(b, sizeof(b));
	nh_pkt_fix_checksums(p);
	assert_int_equal(nh_nat_out(n, p), 1);
	assert_csums(p);
	rep = nh_pkt_new(b, sizeof(b));
	d = nh_pkt_data(rep);
	memcpy(d + 8, nd, 16);
	memcpy(d + 24, C6, 16);
	d[40] = 129;
	nh_pkt_fix_checksums(rep);
	assert_int_equal(nh_nat_in(n, rep), 1);
	info(rep, &in);
	assert_memory_equal(in.src, D6, 16);
	assert_csums(rep);
	nh_pkt_free(p);
	nh_pkt_free(rep);
	nh_nat_free(n);
}

static void test_left_alone(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 0), *none = table(NULL, 0);
	struct nh_pkt *v6 = nh_pkt_build_udp6(C6, D6, 1, 2, "x", 1);
	struct nh_pkt *v4 = nh_pkt_build_udp4(C4, D4, 1, 2, "x", 1);
	struct nh_pkt *there = nh_pkt_build_udp4(
		C4, (const uint8_t[]){ 203, 0, 113, 5 }, 1, 2, "x", 1);
	struct nh_pkt *bad = nh_pkt_new("\x45\0\0\x50", 4);
	uint8_t frag[40];

	(void)state;
	assert_int_equal(nh_nat_out(n, v6), 0); /* no v6 target */
	assert_int_equal(nh_nat_out(none, v4), 0); /* no target */
	assert_int_equal(nh_nat_out(n, there), 0); /* already there */
	assert_int_equal(nh_nat_out(n, bad), -EINVAL);
	assert_int_equal(nh_nat_in(n, bad), -EINVAL);
	assert_int_equal(nh_nat_out(NULL, v4), -EINVAL);
	assert_int_equal(nh_nat_count(n), 0);
	/* a later fragment */
	memcpy(frag, nh_pkt_peek(v4), 29);
	frag[6] = 0;
	frag[7] = 10;
	{
		struct nh_pkt *f = nh_pkt_new(frag, 29);

		assert_int_equal(nh_nat_out(n, f), 0);
		nh_pkt_free(f);
	}
	nh_pkt_free(v6);
	nh_pkt_free(v4);
	nh_pkt_free(there);
	nh_pkt_free(bad);
	nh_nat_free(n);
	nh_nat_free(none);
}

/* flows keep their mapping when the target changes; new flows take it */
static void test_target_change(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 0);
	struct nh_nat_target t;
	struct nh_pkt *a = nh_pkt_build_udp4(C4, D4, 1000, 53, "a", 1);
	struct nh_pkt *a2 = nh_pkt_build_udp4(C4, D4, 1000, 53, "a", 1);
	struct nh_pkt *b = nh_pkt_build_udp4(C4, D4, 1001, 53, "b", 1);

	(void)state;
	assert_int_equal(nh_nat_out(n, a), 1);
	nh_nat_parse_target("203.0.113.6", &t);
	nh_nat_set_target(n, &t);
	assert_int_equal(nh_nat_out(n, a2), 1);
	assert_int_equal(a2->data[19], 5);
	assert_int_equal(nh_nat_out(n, b), 1);
	assert_int_equal(b->data[19], 6);
	nh_pkt_free(a);
	nh_pkt_free(a2);
	nh_pkt_free(b);
	nh_nat_free(n);
}

static void test_udp_timeout(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 0);
	const uint8_t nd[4] = { 203, 0, 113, 5 };
	struct nh_pkt *q = nh_pkt_build_udp4(C4, D4, 1000, 53, "a", 1);
	struct nh_pkt *r1 = nh_pkt_build_udp4(nd, C4, 53, 1000, "r", 1);
	struct nh_pkt *r2 = nh_pkt_build_udp4(nd, C4, 53, 1000, "r", 1);

	(void)state;
	now_ms = 1000;
	assert_int_equal(nh_nat_out(n, q), 1);
	now_ms += 29000;
	assert_int_equal(nh_nat_in(n, r1), 1); /* refreshes */
	now_ms += 30001;
	assert_int_equal(nh_nat_in(n, r2), 0); /* expired */
	assert_int_equal(nh_nat_count(n), 0);
	nh_pkt_free(q);
	nh_pkt_free(r1);
	nh_pkt_free(r2);
	nh_nat_free(n);
}

static void test_tcp_close(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 0);
	const uint8_t nd[4] = { 203, 0, 113, 5 };
	struct nh_pkt *p;
	int i;

	(void)state;
	now_ms = 5000;
	p = nh_pkt_build_tcp(4, C4, D4, 1000, 80, 1, 0, 0x02, NULL, 0);
	assert_int_equal(nh_nat_out(n, p), 1);
	nh_pkt_free(p);
	/* an hour idle: still there (established) */
	now_ms += 3600000;
	p = nh_pkt_build_tcp(4, C4, D4, 1000, 80, 1, 1, 0x11, NULL, 0);
	assert_int_equal(nh_nat_out(n, p), 1); /* FIN out */
	nh_pkt_free(p);
	p = nh_pkt_build_tcp(4, nd, C4, 80, 1000, 1, 2, 0x11, NULL, 0);
	assert_int_equal(nh_nat_in(n, p), 1); /* FIN in: closed */
	nh_pkt_free(p);
	now_ms += 5000;
	p = nh_pkt_build_tcp(4, C4, D4, 1000, 80, 2, 2, 0x10, NULL, 0);
	assert_int_equal(nh_nat_out(n, p), 1); /* last ACK still goes */
	nh_pkt_free(p);
	now_ms += 10001;
	nh_nat_expire(n);
	assert_int_equal(nh_nat_count(n), 0);

	/* RST closes too */
	for (i = 0; i < 2; i++) {
		p = nh_pkt_build_tcp(4, C4, D4, 1001, 80, 1, 0, i ? 0x04 : 0x02,
				     NULL, 0);
		assert_int_equal(nh_nat_out(n, p), 1);
		nh_pkt_free(p);
	}
	now_ms += 10001;
	p = nh_pkt_build_tcp(4, nd, C4, 80, 1001, 1, 2, 0x10, NULL, 0);
	assert_int_equal(nh_nat_in(n, p), 0);
	nh_pkt_free(p);
	nh_nat_free(n);
}

static void test_lru(void **state)
{
	struct nh_nat *n = table("203.0.113.5", 4);
	const uint8_t nd[4] = { 203, 0, 113, 5 };
	struct nh_pkt *p;
	int i;

	(void)state;
	now_ms = 100;
	for (i = 0; i < 6; i++) {
		p = nh_pkt_build_udp4(C4, D4, (uint16_t)(2000 + i), 53, "q", 1);
		assert_int_equal(nh_nat_out(n, p), 1);
		nh_pkt_free(p);
		if (i == 3) { /* touch the oldest: 2000 survives */
			p = nh_pkt_build_udp4(nd, C4, 53, 2000, "r", 1);
			assert_int_equal(nh_nat_in(n, p), 1);
			nh_pkt_free(p);
		}
	}
	assert_int_equal(nh_nat_count(n), 4);
	for (i = 0; i < 6; i++) {
		p = nh_pkt_build_udp4(nd, C4, 53, (uint16_t)(2000 + i), "r", 1);
		assert_int_equal(nh_nat_in(n, p), i == 1 || i == 2 ? 0 : 1);
		nh_pkt_free(p);
	}
	nh_nat_free(n);
}

/* two flows to the same new destination with the same client port: the
 * newer owns the replies */
static void test_reverse_collision(void **state)
{
	struct nh_nat *n = table("203.0.113.5:80", 0);
	const uint8_t d2[4] = { 198, 51, 100, 8 };
	struct nh_pkt *a = nh_pkt_build_udp4(C4, D4, 1000, 53, "a", 1);
	struct nh_pkt *b = nh_pkt_build_udp4(C4, d2, 1000, 53, "b", 1);
	struct nh_pkt *r = nh_pkt_build_udp4(
		(const uint8_t[]){ 203, 0, 113, 5 }, C4, 80, 1000, "r", 1);

	(void)state;
	assert_int_equal(nh_nat_out(n, a), 1);
	assert_int_equal(nh_nat_out(n, b), 1);
	assert_int_equal(nh_nat_count(n), 1);
	assert_int_equal(nh_nat_in(n, r), 1);
	assert_int_equal(r->data[15], 8);
	nh_pkt_free(a);
	nh_pkt_free(b);
	nh_pkt_free(r);
	nh_nat_free(n);
}

/* in the partial-checksum state the rewrite recomputes whole checksums */
static void test_partial(void **state)
{
	struct nh_nat *n = table("203.0.113.5:8080", 0);
	struct nh_pkt *p =
		nh_pkt_build_tcp(4, C4, D4, 1000, 80, 1, 0, 0x02, "data", 4);

	(void)state;
	nh_pkt_fix_checksums_ex(p, NH_CSUM_PSEUDO_ONLY);
	p->csum_partial = 1;
	assert_int_equal(nh_nat_out(n, p), 1);
	assert_csums(p);
	nh_pkt_free(p);
	nh_nat_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_target),
		cmocka_unit_test(test_tcp4),
		cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_udp_both),
		cmocka_unit_test(test_udp4_no_csum),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp6_echo),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_target_change),
		cmocka_unit_test(test_udp_timeout),
		cmocka_unit_test(test_tcp_close),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_reverse_collision),
		cmocka_unit_test(test_partial),
	};

	inet_pton(AF_INET6, "2001:db8::10", C6);
	inet_pton(AF_INET6, "2001:db8:1::7", D6);
	return cmocka_run_group_tests_name("nat", tests, NULL, NULL) ? 1 : 0;
}
