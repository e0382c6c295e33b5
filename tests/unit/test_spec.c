// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address specs: nh_spec_parse(), nh_spec_matches(), nh_sockaddr_parse(),
 * nh_sockaddr_format() (src/lib/sock/nh_spec.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>
#include "nh_test.h"
#include "nh_spec.h"

/* "192.0.2.1" as ::ffff:192.0.2.1, anything with ':' as IPv6 */
static void addr16(const char *text, uint8_t out[16])
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

static const char *fmt16(const uint8_t a[16])
{
	static char buf[2][INET6_ADDRSTRLEN];
	static int k;
	char *b = buf[k++ % 2];

	inet_ntop(AF_INET6, a, b, INET6_ADDRSTRLEN);
	return b;
}

/* ---- nh_spec_parse: accepted ---- */

struct parse_ok {
	const char *in;
	const char *addr; /* IPv6 form, the network part only */
	int prefix; /* over the IPv6 form */
	int family;
	int lo, hi;
};

/* clang-format off */
static const struct parse_ok parse_ok_cases[] = {
	/* nothing: everything */
	{ NULL, "::", 0, 6, 0, 65535 },
	{ "", "::", 0, 6, 0, 65535 },
	/* IPv4: stored v4-mapped, prefix + 96 */
	{ "192.0.2.1", "::ffff:192.0.2.1", 128, 4, 0, 65535 },
	{ "192.0.2.1:80", "::ffff:192.0.2.1", 128, 4, 80, 80 },
	{ "192.0.2.1/32", "::ffff:192.0.2.1", 128, 4, 0, 65535 },
	{ "198.51.100.0/24", "::ffff:198.51.100.0", 120, 4, 0, 65535 },
	{ "198.51.100.77/24:443", "::ffff:198.51.100.0", 120, 4, 443, 443 },
	{ "10.0.0.0/8:1-1024", "::ffff:10.0.0.0", 104, 4, 1, 1024 },
	{ "127.0.0.0/8", "::ffff:127.0.0.0", 104, 4, 0, 65535 },
	{ "0.0.0.0/0", "::ffff:0.0.0.0", 96, 4, 0, 65535 },
	{ "255.255.255.255/31", "::ffff:255.255.255.254", 127, 4, 0, 65535 },
	{ "203.0.113.9/1", "::ffff:128.0.0.0", 97, 4, 0, 65535 },
	{ "103.0.113.9/1", "::ffff:0.0.0.0", 97, 4, 0, 65535 },
	{ "1.2.3.4:1", "::ffff:1.2.3.4", 128, 4, 1, 1 },
	{ "1.2.3.4:65535", "::ffff:1.2.3.4", 128, 4, 65535, 65535 },
	{ "1.2.3.4:1-65535", "::ffff:1.2.3.4", 128, 4, 1, 65535 },
	{ "1.2.3.4:80-80", "::ffff:1.2.3.4", 128, 4, 80, 80 },
	{ "1.2.3.4:65534-65535", "::ffff:1.2.3.4", 128, 4, 65534, 65535 },
	/* IPv6 in brackets */
	{ "[2001:db8::1]", "2001:db8::1", 128, 6, 0, 65535 },
	{ "[2001:db8::1]:443", "2001:db8::1", 128, 6, 443, 443 },
	{ "[2001:db8::/32]:80-90", "2001:db8::", 32, 6, 80, 90 },
	{ "[2001:db8:ffff::1/32]", "2001:db8::", 32, 6, 0, 65535 },
	{ "[2001:db8::/33]", "2001:db8::", 33, 6, 0, 65535 },
	{ "[::/0]", "::", 0, 6, 0, 65535 },
	{ "[::/0]:53", "::", 0, 6, 53, 53 },
	{ "[::1]", "::1", 128, 6, 0, 65535 },
	{ "[::1/128]:8080", "::1", 128, 6, 8080, 8080 },
	{ "[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1", 128, 6, 80, 80 },
	{ "[::ffff:127.0.0.0/104]", "::ffff:127.0.0.0", 104, 6, 0, 65535 },
	{ "[fe80::1:2:3:4/127]:1-2", "fe80::1:2:3:4", 127, 6, 1, 2 },
	{ "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128]:65535",
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 6, 65535, 65535 },
	/* bare IPv6: address or prefix, no port */
	{ "2001:db8::/32", "2001:db8::", 32, 6, 0, 65535 },
	{ "2001:db8::1", "2001:db8::1", 128, 6, 0, 65535 },
	{ "::1", "::1", 128, 6, 0, 65535 },
	{ "::/0", "::", 0, 6, 0, 65535 },
	{ "::", "::", 128, 6, 0, 65535 },
};
/* clang-format on */

static void test_parse_ok(void **state)
{
	const struct parse_ok *c = *state;
	struct nh_spec spec;
	uint8_t want[16];

	memset(&spec, 0xa5, sizeof(spec));
	assert_int_equal(nh_spec_parse(c->in, &spec), 0);
	addr16(c->addr, want);
	assert_string_equal(fmt16(spec.addr), fmt16(want));
	assert_int_equal(spec.prefix, c->prefix);
	assert_int_equal(spec.family, c->family);
	assert_int_equal(spec.port_lo, c->lo);
	assert_int_equal(spec.port_hi, c->hi);
}

/* ---- nh_spec_parse: rejected ---- */

/* clang-format off */
static const char *const parse_bad_cases[] = {
	/* ports */
	"1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999",
	"1.2.3.4:123456", "1.2.3.4:4294967376", "1.2.3.4:8a", "1.2.3.4:a",
	"1.2.3.4:0x50", "1.2.3.4:-80", "1.2.3.4:-1", "1.2.3.4:+80",
	"1.2.3.4:80-", "1.2.3.4:-", "1.2.3.4:90-80", "1.2.3.4:0-80",
	"1.2.3.4:1-2-3", "1.2.3.4:65535-65536", "1.2.3.4:80 ", "1.2.3.4: 80",
	"1.2.3.4:80,443", "1.2.3.4:80:90",
	/* IPv4 addresses and lengths */
	"1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "a.b.c.d:80",
	"1.2.3.4x", " 1.2.3.4", "1.2.3.4 ", "-1.2.3.4", "1.2.3.4/33",
	"1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/a", "1.2.3.4/8/8", "1.2.3.4/ 8",
	"1.2.3.4/128", "1.2.3.4/33:80", "1.2.3.4/:80", "/8", ":80", ":",
	"localhost", "localhost:80", "0x7f000001",
	/* IPv6 */
	"[::1", "[::1]80", "[::1]/129", "[::1/129]", "[::1/]", "[/64]",
	"[::1]:", "[::1]:0", "[::1]:65536", "[::1]:80x", "[::1]x", "[::1]]",
	"[::1]:443-80", "[::1]:80-", "[]", "[]:80", "[", "]", "::1]",
	"[1.2.3.4]", "[1.2.3.4]:80", "[::1]/64", "[::1]:80:90", "[:::1]",
	"[2001:db8::1::2]", "[::1%lo]", "[::1]:-1", "[::1/-1]",
	"2001:db8::/129", "2001:db8::/32:80", "2001:db8::1 ", "2001:db8::g",
	"2001:db8::/", ":::",
	/* too long for any address */
	"1111111111111111111111111111111111111111111111111111111111111111111"
	"11111111111111111111111111111111111111111111:80",
	"[1111:1111:1111:1111:1111:1111:1111:1111:1111:1111:1111:1111:1111:"
	"1111]:80",
};
/* clang-format on */

static void test_parse_bad(void **state)
{
	const char *in = *state;
	struct nh_spec spec;

	assert_int_equal(nh_spec_parse(in, &spec), -EINVAL);
}

/* ---- nh_spec_matches ---- */

struct match_case {
	const char *spec;
	const char *addr; /* IPv4 text is taken v4-mapped */
	int port;
	int want;
};

/* clang-format off */
static const struct match_case match_cases[] = {
	{ "192.0.2.0/24", "192.0.2.0", 80, 1 },
	{ "192.0.2.0/24", "192.0.2.255", 80, 1 },
	{ "192.0.2.0/24", "192.0.3.0", 80, 0 },
	{ "192.0.2.0/24", "192.0.1.255", 80, 0 },
	/* an IPv4 spec matches an IPv4-mapped IPv6 destination... */
	{ "192.0.2.0/24", "::ffff:192.0.2.1", 80, 1 },
	/* ...but not other IPv6 forms of the same bits */
	{ "192.0.2.0/24", "::192.0.2.1", 80, 0 },
	{ "192.0.2.0/24", "64:ff9b::192.0.2.1", 80, 0 },
	{ "192.0.2.0/24", "2001:db8::c000:201", 80, 0 },
	{ "0.0.0.0/0", "203.0.113.1", 1, 1 },
	{ "0.0.0.0/0", "::ffff:0.0.0.0", 1, 1 },
	{ "0.0.0.0/0", "2001:db8::1", 80, 0 },
	{ "0.0.0.0/0", "::1", 80, 0 },
	{ "127.0.0.0/8", "127.255.255.255", 80, 1 },
	{ "127.0.0.0/8", "::ffff:127.0.0.1", 80, 1 },
	{ "127.0.0.0/8", "128.0.0.0", 80, 0 },
	{ "127.0.0.0/8", "::1", 80, 0 },
	{ "192.0.2.1", "192.0.2.1", 65535, 1 },
	{ "192.0.2.1", "192.0.2.2", 80, 0 },
	/* [::/0] and the empty spec: everything, any port */
	{ "[::/0]", "192.0.2.1", 80, 1 },
	{ "[::/0]", "2001:db8::1", 1, 1 },
	{ "[::/0]", "::", 65535, 1 },
	{ "[::/0]", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 1 },
	{ "::/0", "::ffff:127.0.0.1", 22, 1 },
	{ "", "198.51.100.7", 0, 1 },
	{ "", "2001:db8::7", 65535, 1 },
	/* IPv6 prefixes */
	{ "[2001:db8::/32]:443", "2001:db8:ffff::1", 443, 1 },
	{ "[2001:db8::/32]:443", "2001:db8:ffff::1", 444, 0 },
	{ "[2001:db8::/32]:443", "2001:db9::1", 443, 0 },
	{ "2001:db8::/32", "2001:db8::", 0, 1 },
	{ "2001:db8::/33", "2001:db8:7fff:ffff::", 80, 1 },
	{ "2001:db8::/33", "2001:db8:8000::", 80, 0 },
	{ "[::1]", "::1", 80, 1 },
	{ "[::1]", "::ffff:127.0.0.1", 80, 0 },
	{ "[::1]", "::", 80, 0 },
	{ "[::ffff:0:0/96]", "10.1.2.3", 80, 1 },
	{ "[::ffff:0:0/96]", "::fffe:a01:203", 80, 0 },
	/* port range edges */
	{ "1.2.3.4:1000-2000", "1.2.3.4", 999, 0 },
	{ "1.2.3.4:1000-2000", "1.2.3.4", 1000, 1 },
	{ "1.2.3.4:1000-2000", "1.2.3.4", 1500, 1 },
	{ "1.2.3.4:1000-2000", "1.2.3.4", 2000, 1 },
	{ "1.2.3.4:1000-2000", "1.2.3.4", 2001, 0 },
	{ "1.2.3.4:1000-2000", "1.2.3.5", 1500, 0 },
	{ "1.2.3.4:65535", "1.2.3.4", 65535, 1 },
	{ "1.2.3.4:65535", "1.2.3.4", 65534, 0 },
	{ "1.2.3.4:1", "1.2.3.4", 1, 1 },
	{ "1.2.3.4:1", "1.2.3.4", 0, 0 },
	{ "1.2.3.4:1", "1.2.3.4", 2, 0 },
	{ "1.2.3.4:1-65535", "1.2.3.4", 0, 0 },
	{ "1.2.3.4:1-65535", "1.2.3.4", 65535, 1 },
	{ "[::/0]:53", "2001:db8::53", 53, 1 },
	{ "[::/0]:53", "192.0.2.53", 54, 0 },
};
/* clang-format on */

static void test_matches(void **state)
{
	const struct match_case *c = *state;
	struct nh_spec spec;
	uint8_t a[16];

	assert_int_equal(nh_spec_parse(c->spec, &spec), 0);
	addr16(c->addr, a);
	assert_int_equal(!!nh_spec_matches(&spec, a, (uint16_t)c->port),
			 c->want);
}

/* ---- nh_sockaddr_parse ---- */

struct sa_case {
	const char *in;
	int ret;
	int family; /* AF_INET / AF_INET6 */
	const char *addr;
	int port;
};

/* clang-format off */
static const struct sa_case sa_cases[] = {
	{ "192.0.2.1:80", 0, AF_INET, "192.0.2.1", 80 },
	{ "127.0.0.1:1080", 0, AF_INET, "127.0.0.1", 1080 },
	{ "0.0.0.0:1", 0, AF_INET, "0.0.0.0", 1 },
	{ "255.255.255.255:65535", 0, AF_INET, "255.255.255.255", 65535 },
	{ "[2001:db8::1]:443", 0, AF_INET6, "2001:db8::1", 443 },
	{ "[::1]:8080", 0, AF_INET6, "::1", 8080 },
	{ "[::ffff:192.0.2.1]:80", 0, AF_INET6, "::ffff:192.0.2.1", 80 },
	/* one address and one port, nothing else */
	{ NULL, -EINVAL, 0, NULL, 0 },
	{ "", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.1", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.1:", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.1:0", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.1:65536", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.0/24:80", -EINVAL, 0, NULL, 0 },
	{ "192.0.2.1:80-81", -EINVAL, 0, NULL, 0 },
	{ "[::1]", -EINVAL, 0, NULL, 0 },
	{ "[::1]:", -EINVAL, 0, NULL, 0 },
	{ "[2001:db8::/64]:80", -EINVAL, 0, NULL, 0 },
	{ "[::1]:80-90", -EINVAL, 0, NULL, 0 },
	{ "2001:db8::1", -EINVAL, 0, NULL, 0 },
	{ "::1", -EINVAL, 0, NULL, 0 },
	{ "localhost:80", -EINVAL, 0, NULL, 0 },
	{ "1.2.3:80", -EINVAL, 0, NULL, 0 },
};
/* clang-format on */

static void test_sockaddr_parse(void **state)
{
	const struct sa_case *c = *state;
	struct sockaddr_storage ss;

	memset(&ss, 0x5a, sizeof(ss));
	errno = 0;
	assert_int_equal(nh_sockaddr_parse(c->in, &ss), c->ret);
	if (c->ret) {
		/* public: -errno, and errno set */
		assert_int_equal(errno, -c->ret);
		return;
	}
	assert_int_equal(ss.ss_family, c->family);
	if (c->family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		struct in_addr want;

		assert_int_equal(inet_pton(AF_INET, c->addr, &want), 1);
		assert_memory_equal(&in->sin_addr, &want, 4);
		assert_int_equal(ntohs(in->sin_port), c->port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		struct in6_addr want;

		assert_int_equal(inet_pton(AF_INET6, c->addr, &want), 1);
		assert_memory_equal(&in6->sin6_addr, &want, 16);
		assert_int_equal(ntohs(in6->sin6_port), c->port);
		assert_int_equal(in6->sin6_scope_id, 0);
		assert_int_equal(in6->sin6_flowinfo, 0);
	}
}

/* ---- nh_sockaddr_format ---- */

struct fmt_case {
	int family; /* AF_INET, AF_INET6, AF_UNIX */
	const char *addr;
	int port;
	const char *want;
};

/* clang-format off */
static const struct fmt_case fmt_cases[] = {
	{ AF_INET, "192.0.2.1", 80, "192.0.2.1:80" },
	{ AF_INET, "0.0.0.0", 0, "0.0.0.0:0" },
	{ AF_INET, "255.255.255.255", 65535, "255.255.255.255:65535" },
	{ AF_INET6, "2001:db8::1", 443, "[2001:db8::1]:443" },
	{ AF_INET6, "::1", 0, "[::1]:0" },
	{ AF_INET6, "::", 1, "[::]:1" },
	{ AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" },
	/* v4-mapped: printed as IPv4 */
	{ AF_INET6, "::ffff:192.0.2.1", 80, "192.0.2.1:80" },
	{ AF_INET6, "::ffff:127.0.0.1", 1080, "127.0.0.1:1080" },
	/* not v4-mapped, even if it looks close */
	{ AF_INET6, "::192.0.2.1", 80, "[::192.0.2.1]:80" },
	{ AF_INET6, "::fffe:c000:201", 80, "[::fffe:c000:201]:80" },
	{ AF_UNIX, NULL, 0, "-" },
};
/* clang-format on */

static void fill_sockaddr(const struct fmt_case *c, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (c->family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, c->addr, &in->sin_addr), 1);
		in->sin_port = htons((uint16_t)c->port);
	} else if (c->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, c->addr, &in6->sin6_addr),
				 1);
		in6->sin6_port = htons((uint16_t)c->port);
	} else {
		struct sockaddr_un *un = (void *)ss;

		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, "/tmp/x");
	}
}

static void test_sockaddr_format(void **state)
{
	const struct fmt_case *c = *state;
	struct sockaddr_storage ss;
	char buf[128];
	size_t want = strlen(c->want), len;
	int n;

	fill_sockaddr(c, &ss);
	memset(buf, 'X', sizeof(buf));
	n = nh_sockaddr_format((const void *)&ss, buf, sizeof(buf));
	assert_string_equal(buf, c->want);
	assert_int_equal(n, (int)want);

	/* short buffers: truncated like snprintf, exact-size heap buffers so
	 * that ASan sees any write past the end */
	for (len = 0; len <= want + 1; len++) {
		char *b = len ? malloc(len) : NULL;

		n = nh_sockaddr_format((const void *)&ss, b, len);
		assert_int_equal(n, (int)want);
		if (len) {
			assert_int_equal(strlen(b),
					 len - 1 < want ? len - 1 : want);
			assert_memory_equal(b, c->want, strlen(b));
		}
		free(b);
	}
}

/* parse, then format: the same text comes back */
/* clang-format off */
static const char *const roundtrip_cases[] = {
	"192.0.2.1:80", "[2001:db8::1]:443", "127.0.0.1:65535", "[::1]:1",
	"[2001:db8:0:1:2:3:4:5]:8080",
};
/* clang-format on */

static void test_roundtrip(void **state)
{
	const char *in = *state;
	struct sockaddr_storage ss;
	char buf[64];

	assert_int_equal(nh_sockaddr_parse(in, &ss), 0);
	nh_sockaddr_format((const void *)&ss, buf, sizeof(buf));
	assert_string_equal(buf, in);
}

/* ---- nh_addr_from_sockaddr / nh_addr_to_sockaddr ---- */

static void test_sockaddr_same(void **state)
{
	struct sockaddr_storage a = nh_test_sa("192.0.2.10"),
				m = nh_test_sa("::ffff:192.0.2.10"),
				b = nh_test_sa("192.0.2.11"),
				u = { .ss_family = AF_UNIX };

	(void)state;
	((struct sockaddr_in *)&a)->sin_port = htons(1080);
	((struct sockaddr_in6 *)&m)->sin6_port = htons(1080);
	((struct sockaddr_in *)&b)->sin_port = htons(1080);
	assert_true(nh_sockaddr_same((void *)&a, (void *)&a));
	assert_true(nh_sockaddr_same((void *)&a, (void *)&m));
	assert_false(nh_sockaddr_same((void *)&a, (void *)&b));
	((struct sockaddr_in6 *)&m)->sin6_port = htons(1081);
	assert_false(nh_sockaddr_same((void *)&a, (void *)&m));
	assert_false(nh_sockaddr_same((void *)&u, (void *)&u));
}

static void test_addr_from_v4mapped(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(443) };
	struct sockaddr_storage ss;
	struct nh_bpf_addr a;
	uint8_t want[16];

	(void)state;
	assert_int_equal(
		inet_pton(AF_INET6, "::ffff:198.51.100.7", &in6.sin6_addr), 1);
	assert_int_equal(nh_addr_from_sockaddr((const void *)&in6, &a), 0);
	addr16("198.51.100.7", want);
	assert_memory_equal(a.addr, want, 16);
	assert_int_equal(a.port, 443);
	assert_int_equal(a.family, 4);
	/* and back: family 4 comes back as AF_INET */
	nh_addr_to_sockaddr(&a, &ss);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_memory_equal(&((struct sockaddr_in *)&ss)->sin_addr, want + 12,
			    4);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 443);
}

static void test_addr_from_v6(void **state)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(80) };
	struct sockaddr_storage ss;
	struct nh_bpf_addr a;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr), 1);
	assert_int_equal(nh_addr_from_sockaddr((const void *)&in6, &a), 0);
	assert_memory_equal(a.addr, &in6.sin6_addr, 16);
	assert_int_equal(a.port, 80);
	assert_int_equal(a.family, 6);
	nh_addr_to_sockaddr(&a, &ss);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    &in6.sin6_addr, 16);
}

static void test_addr_from_unix(void **state)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	struct nh_bpf_addr a;

	(void)state;
	assert_int_equal(nh_addr_from_sockaddr((const void *)&un, &a),
			 -EAFNOSUPPORT);
	/* family 0: no address at all */
	memset(&a, 0, sizeof(a));
	memset(&ss, 0x5a, sizeof(ss));
	nh_addr_to_sockaddr(&a, &ss);
	assert_int_equal(ss.ss_family, AF_UNSPEC);
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	for (i = 0; i < sizeof(parse_ok_cases) / sizeof(parse_ok_cases[0]); i++)
		nh_tests_add(&ts, test_parse_ok, (void *)&parse_ok_cases[i],
			     "parse ok %s", nh_q(parse_ok_cases[i].in));
	for (i = 0; i < sizeof(parse_bad_cases) / sizeof(parse_bad_cases[0]);
	     i++)
		nh_tests_add(&ts, test_parse_bad, (void *)parse_bad_cases[i],
			     "parse rejects %s", nh_q(parse_bad_cases[i]));
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
		nh_tests_add(&ts, test_matches, (void *)&match_cases[i],
			     "spec %s %s %s port %d", nh_q(match_cases[i].spec),
			     match_cases[i].want ? "matches" : "does not match",
			     match_cases[i].addr, match_cases[i].port);
	for (i = 0; i < sizeof(sa_cases) / sizeof(sa_cases[0]); i++)
		nh_tests_add(&ts, test_sockaddr_parse, (void *)&sa_cases[i],
			     "sockaddr_parse %s %s", nh_q(sa_cases[i].in),
			     sa_cases[i].ret ? "rejected" : "accepted");
	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++)
		nh_tests_add(&ts, test_sockaddr_format, (void *)&fmt_cases[i],
			     "sockaddr_format %s %s as %s",
			     fmt_cases[i].family == AF_INET  ? "AF_INET" :
			     fmt_cases[i].family == AF_INET6 ? "AF_INET6" :
							       "AF_UNIX",
			     fmt_cases[i].addr ? fmt_cases[i].addr : "/tmp/x",
			     fmt_cases[i].want);
	for (i = 0; i < sizeof(roundtrip_cases) / sizeof(roundtrip_cases[0]);
	     i++)
		nh_tests_add(&ts, test_roundtrip, (void *)roundtrip_cases[i],
			     "parse then format %s", roundtrip_cases[i]);
	nh_tests_add(&ts, test_sockaddr_same, NULL,
		     "nh_sockaddr_same: address and port, v4-mapped alike");
	nh_tests_add(&ts, test_addr_from_v4mapped, NULL,
		     "addr_from_sockaddr v4-mapped is family 4");
	nh_tests_add(&ts, test_addr_from_v6, NULL,
		     "addr_from_sockaddr IPv6 is family 6");
	nh_tests_add(&ts, test_addr_from_unix, NULL,
		     "addr_from_sockaddr AF_UNIX is EAFNOSUPPORT");
	return nh_tests_run(&ts, "spec");
}
