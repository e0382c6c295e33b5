// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * src/bpf/nh_rule_match.h: the matching code compiled into the BPF
 * programs, run here in user space.
 */
#include <arpa/inet.h>
#include "nh_test.h"
#include "nh_rule_match.h"

/* "192.0.2.1" as ::ffff:192.0.2.1, anything with ':' as IPv6 */
static void addr16(const char *text, __u8 out[16])
{
	struct in_addr a4;

	if (strchr(text, ':')) {
		assert_int_equal(inet_pton(AF_INET6, text, out), 1);
		return;
	}
	assert_int_equal(inet_pton(AF_INET, text, &a4), 1);
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
}

/* ---- nh_be32_mask: bytes in network order, whatever the host's ---- */

struct mask_case {
	int bits;
	__u8 want[4];
};

/* clang-format off */
static const struct mask_case mask_cases[] = {
	{ -100, { 0x00, 0x00, 0x00, 0x00 } },
	{ -1, { 0x00, 0x00, 0x00, 0x00 } },
	{ 0, { 0x00, 0x00, 0x00, 0x00 } },
	{ 1, { 0x80, 0x00, 0x00, 0x00 } },
	{ 7, { 0xfe, 0x00, 0x00, 0x00 } },
	{ 8, { 0xff, 0x00, 0x00, 0x00 } },
	{ 9, { 0xff, 0x80, 0x00, 0x00 } },
	{ 16, { 0xff, 0xff, 0x00, 0x00 } },
	{ 24, { 0xff, 0xff, 0xff, 0x00 } },
	{ 31, { 0xff, 0xff, 0xff, 0xfe } },
	{ 32, { 0xff, 0xff, 0xff, 0xff } },
	{ 33, { 0xff, 0xff, 0xff, 0xff } },
	{ 128, { 0xff, 0xff, 0xff, 0xff } },
	{ 1000, { 0xff, 0xff, 0xff, 0xff } },
};
/* clang-format on */

static void test_mask(void **state)
{
	const struct mask_case *c = *state;
	__u32 m = nh_be32_mask(c->bits);
	__u8 got[4];

	memcpy(got, &m, 4);
	assert_memory_equal(got, c->want, 4);
}

/* ---- nh_addr_in_prefix ---- */

struct prefix_case {
	const char *net;
	int prefix;
	const char *addr;
	int want;
};

/* clang-format off */
static const struct prefix_case prefix_cases[] = {
	/* 0: everything */
	{ "::", 0, "::", 1 },
	{ "::", 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "2001:db8::", 0, "192.0.2.1", 1 },
	/* 1 */
	{ "8000::", 1, "8000::", 1 },
	{ "8000::", 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "8000::", 1, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
	{ "::", 1, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "::", 1, "8000::", 0 },
	/* 31, 32, 33: the first word boundary */
	{ "2001:db8::", 31, "2001:db9:ffff::", 1 },
	{ "2001:db8::", 31, "2001:dba::", 0 },
	{ "2001:db8::", 31, "2001:db7::", 0 },
	{ "2001:db8::", 32, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "2001:db8::", 32, "2001:db9::", 0 },
	{ "2001:db8::", 33, "2001:db8:7fff:ffff::", 1 },
	{ "2001:db8::", 33, "2001:db8:8000::", 0 },
	{ "2001:db8::", 33, "2001:db9::", 0 },
	/* 64, 65 */
	{ "2001:db8:0:1::", 64, "2001:db8:0:1:ffff:ffff:ffff:ffff", 1 },
	{ "2001:db8:0:1::", 64, "2001:db8:0:2::", 0 },
	{ "2001:db8:0:1::", 65, "2001:db8:0:1:7fff::", 1 },
	{ "2001:db8:0:1::", 65, "2001:db8:0:1:8000::", 0 },
	/* 96: every IPv4-mapped address, nothing else */
	{ "::ffff:0.0.0.0", 96, "0.0.0.0", 1 },
	{ "::ffff:0.0.0.0", 96, "255.255.255.255", 1 },
	{ "::ffff:0.0.0.0", 96, "::fffe:1.2.3.4", 0 },
	{ "::ffff:0.0.0.0", 96, "::1.2.3.4", 0 },
	{ "::ffff:0.0.0.0", 96, "::1", 0 },
	{ "::ffff:0.0.0.0", 96, "1:0:0:0:0:ffff:102:304", 0 },
	/* 97: 0.0.0.0/1 */
	{ "::ffff:0.0.0.0", 97, "127.255.255.255", 1 },
	{ "::ffff:0.0.0.0", 97, "128.0.0.0", 0 },
	/* 104: ::ffff:127.0.0.0/104, loopback as IPv4-mapped */
	{ "::ffff:127.0.0.0", 104, "127.0.0.1", 1 },
	{ "::ffff:127.0.0.0", 104, "127.0.0.0", 1 },
	{ "::ffff:127.0.0.0", 104, "127.255.255.255", 1 },
	{ "::ffff:127.0.0.0", 104, "126.255.255.255", 0 },
	{ "::ffff:127.0.0.0", 104, "128.0.0.0", 0 },
	{ "::ffff:127.0.0.0", 104, "::1", 0 },
	{ "::ffff:127.0.0.0", 104, "::127.0.0.1", 0 },
	/* 120: a /24 */
	{ "::ffff:192.0.2.0", 120, "192.0.2.255", 1 },
	{ "::ffff:192.0.2.0", 120, "192.0.3.0", 0 },
	/* 127 */
	{ "::", 127, "::1", 1 },
	{ "::", 127, "::2", 0 },
	{ "2001:db8::2", 127, "2001:db8::3", 1 },
	{ "2001:db8::2", 127, "2001:db8::4", 0 },
	{ "2001:db8::2", 127, "2001:db8::1", 0 },
	{ "::ffff:192.0.2.0", 127, "192.0.2.1", 1 },
	{ "::ffff:192.0.2.0", 127, "192.0.2.2", 0 },
	/* 128: one address */
	{ "::1", 128, "::1", 1 },
	{ "::1", 128, "::", 0 },
	{ "::1", 128, "::ffff:0.0.0.1", 0 },
	{ "::1", 128, "8000::1", 0 },
	{ "::ffff:192.0.2.1", 128, "192.0.2.1", 1 },
	{ "::ffff:192.0.2.1", 128, "192.0.2.0", 0 },
	/* host bits in the network are ignored */
	{ "2001:db8::ff", 32, "2001:db8::1", 1 },
	{ "::ffff:127.1.2.3", 104, "127.0.0.1", 1 },
};
/* clang-format on */

static void test_prefix(void **state)
{
	const struct prefix_case *c = *state;
	__u8 net[16], a[16];

	addr16(c->net, net);
	addr16(c->addr, a);
	assert_int_equal(!!nh_addr_in_prefix(net, c->prefix, a), c->want);
}

/* ---- nh_rule_matches: protocols and ports on top of the prefix ---- */

struct rule_case {
	const char *net;
	int prefix;
	int protos;
	int lo, hi;
	const char *addr;
	int port;
	int proto;
	int want;
};

#define TCP NH_PROTO_TCP
#define UDP NH_PROTO_UDP

/* clang-format off */
static const struct rule_case rule_cases[] = {
	/* protocol bits */
	{ "::", 0, TCP, 0, 65535, "192.0.2.1", 80, TCP, 1 },
	{ "::", 0, TCP, 0, 65535, "192.0.2.1", 80, UDP, 0 },
	{ "::", 0, UDP, 0, 65535, "192.0.2.1", 53, UDP, 1 },
	{ "::", 0, UDP, 0, 65535, "192.0.2.1", 53, TCP, 0 },
	{ "::", 0, TCP | UDP, 0, 65535, "192.0.2.1", 53, TCP, 1 },
	{ "::", 0, TCP | UDP, 0, 65535, "192.0.2.1", 53, UDP, 1 },
	{ "::", 0, 0, 0, 65535, "192.0.2.1", 80, TCP, 0 },
	{ "::", 0, 0, 0, 65535, "192.0.2.1", 53, UDP, 0 },
	/* an unknown socket type (proto 0) never matches */
	{ "::", 0, TCP | UDP, 0, 65535, "192.0.2.1", 80, 0, 0 },
	/* port bounds, inclusive */
	{ "::", 0, TCP, 80, 90, "2001:db8::1", 79, TCP, 0 },
	{ "::", 0, TCP, 80, 90, "2001:db8::1", 80, TCP, 1 },
	{ "::", 0, TCP, 80, 90, "2001:db8::1", 85, TCP, 1 },
	{ "::", 0, TCP, 80, 90, "2001:db8::1", 90, TCP, 1 },
	{ "::", 0, TCP, 80, 90, "2001:db8::1", 91, TCP, 0 },
	{ "::", 0, TCP, 0, 65535, "2001:db8::1", 0, TCP, 1 },
	{ "::", 0, TCP, 0, 65535, "2001:db8::1", 65535, TCP, 1 },
	{ "::", 0, TCP, 65535, 65535, "2001:db8::1", 65535, TCP, 1 },
	{ "::", 0, TCP, 65535, 65535, "2001:db8::1", 65534, TCP, 0 },
	{ "::", 0, TCP, 1, 1, "2001:db8::1", 1, TCP, 1 },
	{ "::", 0, TCP, 1, 1, "2001:db8::1", 0, TCP, 0 },
	{ "::", 0, TCP, 1, 1, "2001:db8::1", 2, TCP, 0 },
	/* all three must hold */
	{ "::ffff:198.51.100.0", 120, TCP, 443, 443, "198.51.100.7", 443, TCP,
	  1 },
	{ "::ffff:198.51.100.0", 120, TCP, 443, 443, "198.51.101.7", 443, TCP,
	  0 },
	{ "::ffff:198.51.100.0", 120, TCP, 443, 443, "198.51.100.7", 444, TCP,
	  0 },
	{ "::ffff:198.51.100.0", 120, TCP, 443, 443, "198.51.100.7", 443, UDP,
	  0 },
	{ "::ffff:127.0.0.0", 104, TCP | UDP, 0, 65535, "127.0.0.53", 53, UDP,
	  1 },
	{ "::1", 128, TCP | UDP, 0, 65535, "::1", 8080, TCP, 1 },
	{ "::1", 128, TCP | UDP, 0, 65535, "127.0.0.1", 8080, TCP, 0 },
};
/* clang-format on */

static void test_rule(void **state)
{
	const struct rule_case *c = *state;
	struct nh_bpf_rule r;
	__u8 a[16];

	memset(&r, 0, sizeof(r));
	addr16(c->net, r.addr);
	r.prefix = (__u8)c->prefix;
	r.protos = (__u8)c->protos;
	r.port_lo = (__u16)c->lo;
	r.port_hi = (__u16)c->hi;
	addr16(c->addr, a);
	assert_int_equal(!!nh_rule_matches(&r, a, (__u16)c->port,
					   (__u8)c->proto),
			 c->want);
}

static const char *protos_name(int p)
{
	switch (p) {
	case 0:
		return "none";
	case TCP:
		return "tcp";
	case UDP:
		return "udp";
	default:
		return "tcp+udp";
	}
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	for (i = 0; i < sizeof(mask_cases) / sizeof(mask_cases[0]); i++)
		nh_tests_add(&ts, test_mask, (void *)&mask_cases[i],
			     "nh_be32_mask(%d)", mask_cases[i].bits);
	for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];

		nh_tests_add(&ts, test_prefix, (void *)c, "%s in %s/%d: %s",
			     c->addr, c->net, c->prefix,
			     c->want ? "yes" : "no");
	}
	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];

		nh_tests_add(&ts, test_rule, (void *)c,
			     "rule %s/%d ports %d-%d %s vs %s port %d %s: %s",
			     c->net, c->prefix, c->lo, c->hi,
			     protos_name(c->protos), c->addr, c->port,
			     protos_name(c->proto),
			     c->want ? "match" : "no match");
	}
	return nh_tests_run(&ts, "rule_match");
}
