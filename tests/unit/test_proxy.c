// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Proxy URLs and the SOCKS5/SOCKS4/SOCKS4a/HTTP CONNECT state machines. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "nh_chain.h"
#include "nh_chain_walk.h"
#include "nh_proxy.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1
#define B(lit) lit, sizeof(lit) - 1

/* ---- helpers ---- */

static struct nh_proxy_hop parse_ok(const char *url)
{
	struct nh_proxy_hop hop;
	char err[256];
	int ret = nh_proxy_url_parse(url, &hop, err, sizeof(err));

	if (ret)
		fail_msg("%s: %d %s", url, ret, err);
	return hop;
}

static struct sockaddr_storage sa(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	}
	return ss;
}

/* Take everything the machine wants sent, chunk bytes per send (0: all). */
static size_t drain(struct nh_proxy_hs *hs, uint8_t *out, size_t cap,
		    size_t chunk)
{
	size_t total = 0;

	for (;;) {
		const uint8_t *b;
		size_t len, n;
		int ret = nh_proxy_hs_output(hs, &b, &len);

		assert_true(ret == 0 || ret == 1);
		if (!len)
			break;
		n = chunk && chunk < len ? chunk : len;
		assert_true(total + n <= cap);
		memcpy(out + total, b, n);
		total += n;
		nh_proxy_hs_sent(hs, n);
	}
	return total;
}

/* Feed data chunk bytes at a time (0: in one piece); sum of consumed. */
static int feed(struct nh_proxy_hs *hs, const uint8_t *d, size_t len,
		size_t chunk, size_t *consumed)
{
	size_t off = 0;
	int ret = 0;

	*consumed = 0;
	while (off < len) {
		size_t n = chunk && chunk < len - off ? chunk : len - off, c;

		ret = nh_proxy_hs_input(hs, d + off, n, &c);
		assert_true(c <= n);
		*consumed += c;
		if (ret)
			return ret;
		assert_int_equal(c, n);
		off += n;
	}
	return ret;
}

static void expect_bytes(const uint8_t *got, size_t glen, const uint8_t *want,
			 size_t wlen)
{
	if (glen != wlen || memcmp(got, want, wlen)) {
		size_t i;

		fprintf(stderr, "# got %zu bytes:", glen);
		for (i = 0; i < glen; i++)
			fprintf(stderr, " %02x", got[i]);
		fprintf(stderr, "\n# want %zu bytes:", wlen);
		for (i = 0; i < wlen; i++)
			fprintf(stderr, " %02x", want[i]);
		fprintf(stderr, "\n");
		fail();
	}
}

static void expect_out(struct nh_proxy_hs *hs, const uint8_t *want, size_t wlen)
{
	uint8_t out[2048];
	size_t n = drain(hs, out, sizeof(out), 0);

	expect_bytes(out, n, want, wlen);
	assert_true(nh_proxy_hs_want_input(hs));
}

static void expect_err(const struct nh_proxy_hs *hs, const char *sub)
{
	const char *m = nh_proxy_hs_error(hs);

	if (!strstr(m, sub))
		fail_msg("error \"%s\" lacks \"%s\"", m, sub);
}

/* ---- URL parsing ---- */

static const struct url_ok {
	const char *url;
	enum nh_proxy_scheme scheme;
	const char *host;
	uint16_t port;
	const char *user, *pass;
	bool auth;
	int family;
} url_ok[] = {
	{ "socks5://192.0.2.10:1080", NH_PROXY_SOCKS5, "192.0.2.10", 1080, "",
	  "", false, AF_INET },
	{ "socks5://192.0.2.10", NH_PROXY_SOCKS5, "192.0.2.10", 1080, "", "",
	  false, AF_INET },
	{ "socks5://192.0.2.10/", NH_PROXY_SOCKS5, "192.0.2.10", 1080, "", "",
	  false, AF_INET },
	{ "socks5h://proxy.example:9050/", NH_PROXY_SOCKS5, "proxy.example",
	  9050, "", "", false, AF_UNSPEC },
	{ "SOCKS5://u:p@192.0.2.10:1", NH_PROXY_SOCKS5, "192.0.2.10", 1, "u",
	  "p", true, AF_INET },
	{ "socks5://user:pa%40ss%3Aw%25rd@192.0.2.10:1080", NH_PROXY_SOCKS5,
	  "192.0.2.10", 1080, "user", "pa@ss:w%rd", true, AF_INET },
	{ "socks5://us%3aer:p:a:s:s@192.0.2.10:1080", NH_PROXY_SOCKS5,
	  "192.0.2.10", 1080, "us:er", "p:a:s:s", true, AF_INET },
	{ "socks5://u@p@192.0.2.10:1080", NH_PROXY_SOCKS5, "192.0.2.10", 1080,
	  "u@p", "", true, AF_INET },
	{ "socks5://user@192.0.2.10:1080", NH_PROXY_SOCKS5, "192.0.2.10", 1080,
	  "user", "", true, AF_INET },
	{ "socks5://user:@192.0.2.10:1080", NH_PROXY_SOCKS5, "192.0.2.10", 1080,
	  "user", "", true, AF_INET },
	{ "socks5://[2001:db8::1]:1080", NH_PROXY_SOCKS5, "2001:db8::1", 1080,
	  "", "", false, AF_INET6 },
	{ "socks5://[2001:db8::1]", NH_PROXY_SOCKS5, "2001:db8::1", 1080, "",
	  "", false, AF_INET6 },
	{ "socks5://a:b@[::1]:65535/", NH_PROXY_SOCKS5, "::1", 65535, "a", "b",
	  true, AF_INET6 },
	{ "socks5://[::ffff:192.0.2.1]:1080", NH_PROXY_SOCKS5,
	  "::ffff:192.0.2.1", 1080, "", "", false, AF_INET6 },
	{ "socks4://192.0.2.10:1080", NH_PROXY_SOCKS4, "192.0.2.10", 1080, "",
	  "", false, AF_INET },
	{ "socks4://alice@192.0.2.10", NH_PROXY_SOCKS4, "192.0.2.10", 1080,
	  "alice", "", true, AF_INET },
	{ "socks4a://bob@proxy-1.example_x:4145", NH_PROXY_SOCKS4A,
	  "proxy-1.example_x", 4145, "bob", "", true, AF_UNSPEC },
	{ "http://192.0.2.10:3128", NH_PROXY_HTTP, "192.0.2.10", 3128, "", "",
	  false, AF_INET },
	{ "http://192.0.2.10", NH_PROXY_HTTP, "192.0.2.10", 8080, "", "", false,
	  AF_INET },
	{ "HTTP://Aladdin:open%20sesame@Proxy.Example.", NH_PROXY_HTTP,
	  "Proxy.Example.", 8080, "Aladdin", "open sesame", true, AF_UNSPEC },
	{ "http://[2001:db8::a]:3128/", NH_PROXY_HTTP, "2001:db8::a", 3128, "",
	  "", false, AF_INET6 },
	{ "http://localhost:00080", NH_PROXY_HTTP, "localhost", 80, "", "",
	  false, AF_UNSPEC },
	{ "direct://", NH_PROXY_DIRECT, "", 0, "", "", false, AF_UNSPEC },
	{ "direct:///", NH_PROXY_DIRECT, "", 0, "", "", false, AF_UNSPEC },
};

static void test_url_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_ok) / sizeof(url_ok[0]); i++) {
		const struct url_ok *t = &url_ok[i];
		struct nh_proxy_hop hop = parse_ok(t->url);

		assert_int_equal(hop.scheme, t->scheme);
		assert_string_equal(hop.host, t->host);
		assert_int_equal(hop.port, t->port);
		assert_string_equal(hop.user, t->user);
		assert_string_equal(hop.pass, t->pass);
		assert_int_equal(hop.has_auth, t->auth);
		assert_int_equal(hop.addr.ss_family, t->family);
		if (t->family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&hop.addr;
			char a[INET_ADDRSTRLEN];

			assert_int_equal(ntohs(s->sin_port), t->port);
			inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
			assert_string_equal(a, t->host);
		} else if (t->family == AF_INET6) {
			struct sockaddr_in6 *s =
				(struct sockaddr_in6 *)&hop.addr;
			char a[INET6_ADDRSTRLEN];

			assert_int_equal(ntohs(s->sin6_port), t->port);
			inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
			assert_string_equal(a, t->host);
		}
		assert_true(nh_proxy_hop_resolved(&hop) ==
			    (t->family != AF_UNSPEC ||
			     t->scheme == NH_PROXY_DIRECT));
	}
}

static void test_url_long_fields(void **state)
{
	char url[1200], u255[256], u256[257], err[256];
	struct nh_proxy_hop hop;

	(void)state;
	memset(u255, 'u', 255);
	u255[255] = '\0';
	memset(u256, 'u', 256);
	u256[256] = '\0';
	snprintf(url, sizeof(url), "socks5://%s:%s@192.0.2.1", u255, u255);
	assert_int_equal(nh_proxy_url_parse(url, &hop, err, sizeof(err)), 0);
	assert_int_equal(strlen(hop.user), 255);
	assert_int_equal(strlen(hop.pass), 255);
	snprintf(url, sizeof(url), "socks5://%s:p@192.0.2.1", u256);
	assert_int_equal(nh_proxy_url_parse(url, &hop, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "255"));
	snprintf(url, sizeof(url), "socks5://u:%s@192.0.2.1", u256);
	assert_int_equal(nh_proxy_url_parse(url, &hop, err, sizeof(err)),
			 -EINVAL);
	/* 255 decoded bytes written as 765 escaped ones are fine */
	{
		char *p = url + sprintf(url, "socks5://");
		int i;

		for (i = 0; i < 255; i++)
			p += sprintf(p, "%%41");
		sprintf(p, ":x@192.0.2.1");
		assert_int_equal(
			nh_proxy_url_parse(url, &hop, err, sizeof(err)), 0);
		assert_int_equal(strlen(hop.user), 255);
		assert_int_equal(hop.user[254], 'A');
	}
	/* a 255-byte host name is fine, 256 is not */
	{
		char h[300];
		int i;

		for (i = 0; i < 255; i++)
			h[i] = (i % 50 == 49) ? '.' : 'h';
		h[255] = '\0';
		snprintf(url, sizeof(url), "socks5://%s:1", h);
		assert_int_equal(
			nh_proxy_url_parse(url, &hop, err, sizeof(err)), 0);
		snprintf(url, sizeof(url), "socks5://%sh:1", h);
		assert_int_equal(nh_proxy_url_parse(url, &hop, err,
						    sizeof(err)),
				 -EINVAL);
	}
}

static const char *const url_bad[] = {
	"",
	"192.0.2.10:1080",
	"socks5:/192.0.2.10:1080",
	"socks6://192.0.2.10:1080",
	"https://192.0.2.10:443",
	"ftp://192.0.2.10",
	"://192.0.2.10",
	"socks5://",
	"socks5:///",
	"socks5://192.0.2.10:",
	"socks5://192.0.2.10:0",
	"socks5://192.0.2.10:65536",
	"socks5://192.0.2.10:99999999999999999999",
	"socks5://192.0.2.10:-1",
	"socks5://192.0.2.10:+80",
	"socks5://192.0.2.10:80a",
	"socks5://192.0.2.10:1080/path",
	"socks5://192.0.2.10:1080//",
	"socks5://192.0.2.10:1080?x=1",
	"socks5://192.0.2.10:1080#frag",
	"socks5://192.0.2.10 :1080",
	"socks5://192.0.2.10:1080\n",
	"socks5://2001:db8::1:1080",
	"socks5://[2001:db8::1:1080",
	"socks5://[2001:db8::1]x:1080",
	"socks5://[192.0.2.1]:1080",
	"socks5://[]:1080",
	"socks5://[fe80::1%eth0]:1080",
	"socks5://256.1.1.1:1080",
	"socks5://1.2.3:1080",
	"socks5://bad..name:1080",
	"socks5://.name:1080",
	"socks5://na%41me:1080",
	"socks5://na*me:1080",
	"socks5://@192.0.2.10:1080",
	"socks5://:secret@192.0.2.10:1080",
	"socks5://u:se%00cret@192.0.2.10:1080",
	"socks5://u:se%zzcret@192.0.2.10:1080",
	"socks5://u:secret%4@192.0.2.10:1080",
	"socks5://u:secret%@192.0.2.10:1080",
	"socks5://u:sec/ret@192.0.2.10:1080",
	"socks5://u:sec?ret@192.0.2.10:1080",
	"socks4://u:secret@192.0.2.10:1080",
	"socks5://user:secret",
	"http://user:secret/",
	"socks4a://u:secret@192.0.2.10:1080",
	"http://us%3Aer:secret@192.0.2.10:3128",
	"direct://192.0.2.10",
	"direct://u:secret@",
	"direct",
};

static void test_url_invalid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(url_bad) / sizeof(url_bad[0]); i++) {
		struct nh_proxy_hop hop;
		char err[256] = "";
		int ret =
			nh_proxy_url_parse(url_bad[i], &hop, err, sizeof(err));

		if (ret != -EINVAL)
			fail_msg("\"%s\" parsed (%d)", url_bad[i], ret);
		if (!err[0] || strchr(err, '\n'))
			fail_msg("\"%s\": no one-line reason", url_bad[i]);
		if (strstr(err, "secret") || strstr(err, "sec"))
			fail_msg("\"%s\": reason leaks the password: %s",
				 url_bad[i], err);
	}
	/* NULL err is allowed */
	{
		struct nh_proxy_hop hop;

		assert_int_equal(nh_proxy_url_parse("nope", &hop, NULL, 0),
				 -EINVAL);
		assert_int_equal(nh_proxy_url_parse(NULL, &hop, NULL, 0),
				 -EINVAL);
	}
}

static void test_url_zone(void **state)
{
	struct nh_proxy_hop hop;
	char err[256];

	(void)state;
	/* a zone needs an existing interface; loopback is always there */
	assert_int_equal(nh_proxy_url_parse("socks5://[fe80::1%25lo]:1080",
					    &hop, err, sizeof(err)),
			 0);
	assert_string_equal(hop.host, "fe80::1%lo");
	assert_int_equal(hop.addr.ss_family, AF_INET6);
	assert_int_not_equal(((struct sockaddr_in6 *)&hop.addr)->sin6_scope_id,
			     0);
}

static void test_format(void **state)
{
	static const struct {
		const char *url, *want;
	} t[] = {
		{ "socks5://user:secret@192.0.2.10:1080",
		  "socks5://192.0.2.10:1080" },
		{ "socks5h://user:secret@proxy.example",
		  "socks5://proxy.example:1080" },
		{ "socks4://userid@192.0.2.10", "socks4://192.0.2.10:1080" },
		{ "socks4a://userid@192.0.2.10:4145",
		  "socks4a://192.0.2.10:4145" },
		{ "http://user:secret@[2001:db8::1]:3128/",
		  "http://[2001:db8::1]:3128" },
		{ "http://192.0.2.10", "http://192.0.2.10:8080" },
		{ "direct://", "direct://" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct nh_proxy_hop hop = parse_ok(t[i].url);
		char buf[300];
		int n = nh_proxy_hop_format(&hop, buf, sizeof(buf));

		assert_int_equal(n, (int)strlen(t[i].want));
		assert_string_equal(buf, t[i].want);
		assert_null(strstr(buf, "user"));
		assert_null(strstr(buf, "secret"));
	}
	{
		struct nh_proxy_hop hop = parse_ok("socks5://192.0.2.10:1080");
		char small[8];

		assert_int_equal(nh_proxy_hop_format(&hop, small,
						     sizeof(small)),
				 -ENOSPC);
		assert_int_equal(strlen(small), 7);
	}
	assert_string_equal(nh_proxy_scheme_name(NH_PROXY_SOCKS4A), "socks4a");
	assert_string_equal(nh_proxy_scheme_name(NH_PROXY_HTTP), "http");
	assert_string_equal(nh_proxy_scheme_name(NH_PROXY_DIRECT), "direct");
	assert_true(nh_proxy_scheme_carries_names(NH_PROXY_SOCKS5));
	assert_false(nh_proxy_scheme_carries_names(NH_PROXY_SOCKS4));
}

static void test_chain(void **state)
{
	struct nh_proxy_hop h[4];
	char err[256];
	int n;

	(void)state;
	n = nh_proxy_chain_parse(
		"socks5://192.0.2.1:1080, http://u:p@192.0.2.2:3128", h, 4, err,
		sizeof(err));
	assert_int_equal(n, 2);
	assert_int_equal(h[0].scheme, NH_PROXY_SOCKS5);
	assert_int_equal(h[1].scheme, NH_PROXY_HTTP);
	assert_string_equal(h[1].user, "u");

	n = nh_proxy_chain_parse("# my proxies\n"
				 "\n"
				 "  socks5://a:b@192.0.2.1:1080  \r\n"
				 "\t# second\n"
				 "socks4a://id@proxy.example\n"
				 "http://192.0.2.3,socks4://192.0.2.4\n",
				 h, 4, err, sizeof(err));
	assert_int_equal(n, 4);
	assert_string_equal(h[0].pass, "b");
	assert_int_equal(h[1].scheme, NH_PROXY_SOCKS4A);
	assert_int_equal(h[3].scheme, NH_PROXY_SOCKS4);

	assert_int_equal(
		nh_proxy_chain_parse("direct://", h, 4, err, sizeof(err)), 1);
	assert_int_equal(nh_proxy_chain_parse("socks5://192.0.2.1,,", h, 4, err,
					      sizeof(err)),
			 1);

	n = nh_proxy_chain_parse("socks5://192.0.2.1,direct://", h, 4, err,
				 sizeof(err));
	assert_int_equal(n, -EINVAL);
	assert_non_null(strstr(err, "direct://"));

	n = nh_proxy_chain_parse("# only a comment\n\n", h, 4, err,
				 sizeof(err));
	assert_int_equal(n, -EINVAL);
	assert_true(err[0]);
	assert_int_equal(nh_proxy_chain_parse("", h, 4, err, sizeof(err)),
			 -EINVAL);

	n = nh_proxy_chain_parse(
		"socks5://192.0.2.1\n# x\nsocks5://u:secret@192.0.2.2:0\n", h,
		4, err, sizeof(err));
	assert_int_equal(n, -EINVAL);
	assert_non_null(strstr(err, "line 3:"));
	assert_null(strstr(err, "secret"));

	n = nh_proxy_chain_parse("socks5://192.0.2.1,socks9://x", h, 4, err,
				 sizeof(err));
	assert_int_equal(n, -EINVAL);
	assert_non_null(strstr(err, "proxy 2:"));

	n = nh_proxy_chain_parse("socks5://192.0.2.1,socks5://192.0.2.2,"
				 "socks5://192.0.2.3",
				 h, 2, err, sizeof(err));
	assert_int_equal(n, -E2BIG);
}

/* The chain the command hands the library: parsed once, in the same
 * words as the text parser. */
static void test_chain_new(void **state)
{
	const char *urls[] = { "socks5://a:b@192.0.2.1:1080",
			       "http://192.0.2.2:3128,socks4://192.0.2.3" };
	const char *bad[] = { "socks5://192.0.2.1", "socks9://x" };
	struct nh_proxy_chain *c = NULL;
	char why[256];

	(void)state;
	assert_int_equal(nh_proxy_chain_new(urls, 2, &c, why, sizeof(why)), 0);
	assert_non_null(c);
	assert_int_equal(c->nhops, 3);
	assert_string_equal(c->hops[0].pass, "b");
	assert_int_equal(c->hops[2].scheme, NH_PROXY_SOCKS4);
	nh_proxy_chain_free(c);
	c = NULL;
	assert_int_equal(nh_proxy_chain_new(bad, 2, &c, why, sizeof(why)),
			 -EINVAL);
	assert_null(c);
	assert_non_null(strstr(why, "proxy 2:"));
	nh_proxy_chain_free(NULL);
}

/* A name the program looked up goes to the last hop as a name (SOCKS5
 * address type 3), and the pool address it stands for never does; a hop
 * that cannot carry a name fails, and says why. */
static void test_chain_walk_name(void **state)
{
	static const uint8_t hello[] = { 5, 0 };
	static const uint8_t want[] = { 5, 1, 0, 3, 11, 'w', 'e', 'b', '.',
					'e', 'x', 'a', 'm', 'p', 'l', 'e',
					0, 80 };
	struct nh_proxy_hop hop = parse_ok("socks5://192.0.2.1:1080");
	struct nh_proxy_hop h4 = parse_ok("socks4://192.0.2.1:1080");
	struct sockaddr_storage dst = { 0 };
	struct sockaddr_in *d4 = (void *)&dst;
	struct nh_chain_walk w;
	uint8_t got[64];
	char why[256];
	int sv[2];

	(void)state;
	d4->sin_family = AF_INET;
	d4->sin_port = htons(80);
	d4->sin_addr.s_addr = htonl(0xc6120007); /* 198.18.0.7, the pool */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	nh_chain_walk_init(&w, &hop, 1, &dst, "web.example", 80, NULL, -1);
	assert_int_equal(nh_chain_walk_step(&w, sv[0], why, sizeof(why)), 0);
	assert_int_equal(read(sv[1], got, sizeof(got)), 3); /* greeting */
	assert_int_equal(write(sv[1], hello, sizeof(hello)), sizeof(hello));
	assert_int_equal(nh_chain_walk_step(&w, sv[0], why, sizeof(why)), 0);
	assert_int_equal(read(sv[1], got, sizeof(got)), sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	close(sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	nh_chain_walk_init(&w, &h4, 1, &dst, "web.example", 80, NULL, -1);
	assert_int_equal(nh_chain_walk_step(&w, sv[0], why, sizeof(why)),
			 -EDESTADDRREQ);
	assert_non_null(strstr(why, "cannot carry the name web.example"));
	/* nothing was sent: not the pool address either */
	assert_int_equal(recv(sv[1], got, sizeof(got), MSG_DONTWAIT), -1);
	close(sv[0]);
	close(sv[1]);
}

/* The hop walk, through one SOCKS5 hop whose replies wait on the socket;
 * and its words for what failed. */
static void test_chain_walk(void **state)
{
	static const uint8_t hello[] = { 5, 0 };
	static const uint8_t reply[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct nh_proxy_hop hop = parse_ok("socks5://192.0.2.1:1080");
	struct sockaddr_storage dst = { 0 };
	struct sockaddr_in *d4 = (void *)&dst;
	struct nh_chain_walk w;
	char why[256];
	int sv[2];

	(void)state;
	d4->sin_family = AF_INET;
	d4->sin_port = htons(80);
	d4->sin_addr.s_addr = htonl(0xc6336407); /* 198.51.100.7 */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	nh_chain_walk_init(&w, &hop, 1, &dst, NULL, 0, NULL, -1);
	/* each reply once the request before it is out */
	assert_int_equal(nh_chain_walk_step(&w, sv[0], why, sizeof(why)), 0);
	assert_int_equal(write(sv[1], hello, sizeof(hello)), sizeof(hello));
	assert_int_equal(nh_chain_walk_step(&w, sv[0], why, sizeof(why)), 0);
	assert_int_equal(w.hop, 0);
	assert_int_equal(write(sv[1], reply, sizeof(reply)), sizeof(reply));
	why[0] = '\0';
	if (nh_chain_walk_step(&w, sv[0], why, sizeof(why)) != 1)
		fail_msg("%s", why);
	assert_int_equal(w.hop, 1);
	assert_int_equal(w.io.in, sizeof(hello) + sizeof(reply));
	assert_true(w.io.out > 0);
	close(sv[0]);
	close(sv[1]);

	nh_chain_connect_failed(&hop, 1, &dst, ECONNREFUSED, why, sizeof(why));
	assert_string_equal(why, "connect to socks5://192.0.2.1:1080 failed: "
				 "Connection refused");
	nh_chain_connect_failed(NULL, 0, &dst, ECONNREFUSED, why, sizeof(why));
	assert_string_equal(
		why, "connect to 198.51.100.7:80 failed: Connection refused");
	nh_chain_timed_out(&hop, 1, 0, &dst, false, 10000, why, sizeof(why));
	assert_string_equal(why, "handshake with socks5://192.0.2.1:1080 "
				 "timed out after 10000 ms");
}

static void test_resolve(void **state)
{
	struct nh_proxy_hop hop = parse_ok("socks5://192.0.2.7:1081");

	(void)state;
	assert_int_equal(nh_proxy_hop_resolve(&hop), 0);
	assert_int_equal(hop.addr.ss_family, AF_INET);
	hop = parse_ok("http://localhost:3128");
	assert_false(nh_proxy_hop_resolved(&hop));
	if (nh_proxy_hop_resolve(&hop) == 0) {
		assert_true(nh_proxy_hop_resolved(&hop));
		if (hop.addr.ss_family == AF_INET)
			assert_int_equal(ntohs(((struct sockaddr_in *)&hop.addr)
						       ->sin_port),
					 3128);
		else
			assert_int_equal(
				ntohs(((struct sockaddr_in6 *)&hop.addr)
					      ->sin6_port),
				3128);
	}
	hop = parse_ok("http://no-such-host.invalid:3128");
	assert_true(nh_proxy_hop_resolve(&hop) < 0);
	assert_false(nh_proxy_hop_resolved(&hop));
}

/* ---- requests ---- */

static const struct req_case {
	const char *url;
	const char *taddr; /* NULL: none */
	uint16_t taport;
	const char *tname; /* NULL: none */
	uint16_t tnport;
	const char *want;
	size_t wlen;
} req_cases[] = {
	/* SOCKS4 */
	{ "socks4://192.0.2.10", "198.51.100.7", 80, NULL, 0,
	  B("\x04\x01\x00\x50\xc6\x33\x64\x07\x00") },
	{ "socks4://alice@192.0.2.10", "198.51.100.7", 443, NULL, 0,
	  B("\x04\x01\x01\xbb\xc6\x33\x64\x07"
	    "alice\x00") },
	/* socks4 cannot carry a name: the address is used */
	{ "socks4://192.0.2.10", "198.51.100.7", 80, "example.com", 8080,
	  B("\x04\x01\x00\x50\xc6\x33\x64\x07\x00") },
	/* v4-mapped IPv6 goes as IPv4 */
	{ "socks4://192.0.2.10", "::ffff:198.51.100.7", 80, NULL, 0,
	  B("\x04\x01\x00\x50\xc6\x33\x64\x07\x00") },
	/* SOCKS4a */
	{ "socks4a://192.0.2.10", NULL, 0, "example.com", 80,
	  B("\x04\x01\x00\x50\x00\x00\x00\x01\x00"
	    "example.com\x00") },
	{ "socks4a://bob@192.0.2.10", "198.51.100.7", 1, "example.com", 80,
	  B("\x04\x01\x00\x50\x00\x00\x00\x01"
	    "bob\x00"
	    "example.com\x00") },
	{ "socks4a://192.0.2.10", "198.51.100.7", 22, NULL, 0,
	  B("\x04\x01\x00\x16\xc6\x33\x64\x07\x00") },
	/* a numeric name goes as an address */
	{ "socks4a://192.0.2.10", NULL, 0, "203.0.113.5", 25,
	  B("\x04\x01\x00\x19\xcb\x00\x71\x05\x00") },
	/* HTTP */
	{ "http://192.0.2.10:3128", "198.51.100.7", 443, NULL, 0,
	  B("CONNECT 198.51.100.7:443 HTTP/1.1\r\n"
	    "Host: 198.51.100.7:443\r\n\r\n") },
	{ "http://192.0.2.10:3128", "2001:db8::7", 8443, NULL, 0,
	  B("CONNECT [2001:db8::7]:8443 HTTP/1.1\r\n"
	    "Host: [2001:db8::7]:8443\r\n\r\n") },
	{ "http://192.0.2.10:3128", "::ffff:198.51.100.7", 443, NULL, 0,
	  B("CONNECT 198.51.100.7:443 HTTP/1.1\r\n"
	    "Host: 198.51.100.7:443\r\n\r\n") },
	{ "http://Aladdin:open%20sesame@192.0.2.10:3128", NULL, 0,
	  "example.com", 443,
	  B("CONNECT example.com:443 HTTP/1.1\r\n"
	    "Host: example.com:443\r\n"
	    "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n") },
	{ "http://a:b@192.0.2.10:3128", NULL, 0, "[2001:db8::9]", 80,
	  B("CONNECT [2001:db8::9]:80 HTTP/1.1\r\n"
	    "Host: [2001:db8::9]:80\r\n"
	    "Proxy-Authorization: Basic YTpi\r\n\r\n") },
	{ "http://ab:c@192.0.2.10:3128", NULL, 0, "h", 1,
	  B("CONNECT h:1 HTTP/1.1\r\n"
	    "Host: h:1\r\n"
	    "Proxy-Authorization: Basic YWI6Yw==\r\n\r\n") },
	{ "http://abc:de@192.0.2.10:3128", NULL, 0, "h", 1,
	  B("CONNECT h:1 HTTP/1.1\r\n"
	    "Host: h:1\r\n"
	    "Proxy-Authorization: Basic YWJjOmRl\r\n\r\n") },
};

static void test_requests(void **state)
{
	size_t i, chunk;

	(void)state;
	for (i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *t = &req_cases[i];
		struct nh_proxy_hop hop = parse_ok(t->url);

		/* whole, and sent one byte at a time */
		for (chunk = 0; chunk <= 1; chunk++) {
			struct sockaddr_storage ss;
			struct nh_proxy_hs hs;
			uint8_t out[2048];
			size_t n;

			if (t->taddr)
				ss = sa(t->taddr, t->taport);
			nh_proxy_hs_init(&hs, &hop,
					 t->taddr ? (struct sockaddr *)&ss :
						    NULL,
					 t->tname, t->tnport);
			n = drain(&hs, out, sizeof(out), chunk);
			if (n != t->wlen || memcmp(out, t->want, n))
				fprintf(stderr, "# case %zu (%s)\n", i, t->url);
			expect_bytes(out, n, (const uint8_t *)t->want, t->wlen);
			assert_true(nh_proxy_hs_want_input(&hs));
			assert_int_equal(nh_proxy_hs_status(&hs), 0);
		}
	}
}

/* SOCKS5: greeting, auth and connect, for each address type. */
static void test_socks5_requests(void **state)
{
	struct nh_proxy_hop noauth = parse_ok("socks5://192.0.2.10:1080");
	struct nh_proxy_hop auth =
		parse_ok("socks5://us%40er:p%3Ass@192.0.2.10:1080");
	struct sockaddr_storage v4 = sa("198.51.100.7", 80);
	struct sockaddr_storage v6 = sa("2001:db8::7", 443);
	struct sockaddr_storage m4 = sa("::ffff:198.51.100.7", 80);
	struct nh_proxy_hs hs;
	size_t c;

	(void)state;
	/* no auth, IPv4 */
	nh_proxy_hs_init(&hs, &noauth, (struct sockaddr *)&v4, NULL, 0);
	expect_out(&hs, S("\x05\x01\x00"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	assert_int_equal(c, 2);
	expect_out(&hs, S("\x05\x01\x00\x01\xc6\x33\x64\x07\x00\x50"));

	/* v4-mapped goes as ATYP 1 */
	nh_proxy_hs_init(&hs, &noauth, (struct sockaddr *)&m4, NULL, 0);
	expect_out(&hs, S("\x05\x01\x00"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	expect_out(&hs, S("\x05\x01\x00\x01\xc6\x33\x64\x07\x00\x50"));

	/* IPv6 */
	nh_proxy_hs_init(&hs, &noauth, (struct sockaddr *)&v6, NULL, 0);
	expect_out(&hs, S("\x05\x01\x00"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	expect_out(&hs, S("\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00"
			  "\x00\x00\x00\x00\x00\x00\x00\x07\x01\xbb"));

	/* domain, with auth; the name wins over the address */
	nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v4, "example.com",
			 8080);
	expect_out(&hs, S("\x05\x02\x00\x02"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x02"), &c), 0);
	expect_out(&hs, S("\x01\x05us@er\x04p:ss"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x01\x00"), &c), 0);
	expect_out(&hs, S("\x05\x01\x00\x03\x0b"
			  "example.com\x1f\x90"));

	/* with auth offered, the server may still choose none */
	nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v6, NULL, 0);
	expect_out(&hs, S("\x05\x02\x00\x02"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	assert_int_equal(hs.out_len, 22);

	/* an address without a port takes target_port */
	{
		struct sockaddr_storage p0 = sa("198.51.100.7", 0);

		nh_proxy_hs_init(&hs, &noauth, (struct sockaddr *)&p0, NULL,
				 8080);
		expect_out(&hs, S("\x05\x01\x00"));
		assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
		expect_out(&hs, S("\x05\x01\x00\x01\xc6\x33\x64\x07\x1f\x90"));
	}

	/* numeric names go as addresses */
	nh_proxy_hs_init(&hs, &noauth, NULL, "2001:db8::7", 443);
	expect_out(&hs, S("\x05\x01\x00"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	expect_out(&hs, S("\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00"
			  "\x00\x00\x00\x00\x00\x00\x00\x07\x01\xbb"));
}

/* Long requests go out through the window, and partial sends work. */
/* ?pipeline= on a proxy URL */
static void test_url_pipeline(void **state)
{
	struct nh_proxy_hop hop;
	char err[256];

	(void)state;
	hop = parse_ok("socks5://192.0.2.10:1080");
	assert_int_equal(hop.pipeline, NH_PROXY_PIPELINE_AUTO);
	hop = parse_ok("socks5://u:p@192.0.2.10:1080?pipeline=off");
	assert_int_equal(hop.pipeline, NH_PROXY_PIPELINE_OFF);
	assert_string_equal(hop.pass, "p");
	assert_int_equal(hop.port, 1080);
	hop = parse_ok("http://192.0.2.10:3128/?pipeline=ON");
	assert_int_equal(hop.pipeline, NH_PROXY_PIPELINE_ON);
	assert_int_equal(hop.port, 3128);
	hop = parse_ok("socks4a://[2001:db8::1]?pipeline=auto");
	assert_int_equal(hop.pipeline, NH_PROXY_PIPELINE_AUTO);
	assert_int_equal(hop.port, 1080);
	assert_int_equal(nh_proxy_url_parse("socks5://192.0.2.10:1080?pipeline=yes",
					    &hop, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "auto, on or off"));
	assert_int_equal(nh_proxy_url_parse("socks5://192.0.2.10:1080?x=1", &hop,
					    err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "?pipeline="));
	assert_int_equal(nh_proxy_url_parse("socks5://192.0.2.10:1080?pipeline=on#x",
					    &hop, err, sizeof(err)),
			 -EINVAL);
}

/* The whole request in one flight, the replies read in order. */
static void test_socks5_pipelined(void **state)
{
	struct nh_proxy_hop noauth = parse_ok("socks5://192.0.2.10:1080");
	struct nh_proxy_hop auth = parse_ok("socks5://ab:cd@192.0.2.10:1080");
	struct sockaddr_storage v4 = sa("198.51.100.7", 80);
	struct nh_proxy_hs hs;
	uint8_t out[2048];
	size_t n, c, chunk;

	(void)state;
	nh_proxy_hs_init(&hs, &noauth, (struct sockaddr *)&v4, NULL, 0);
	nh_proxy_hs_pipeline(&hs);
	n = drain(&hs, out, sizeof(out), 0);
	/* one method offered: the CONNECT after it depends on it */
	expect_bytes(out, n,
		     S("\x05\x01\x00"
		       "\x05\x01\x00\x01\xc6\x33\x64\x07\x00\x50"));
	assert_true(nh_proxy_hs_want_input(&hs));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"
						  "\x05\x00\x00\x01\xc0\x00\x02\x0a\x04\x38"
						  "GET"),
					   &c),
			 1);
	assert_int_equal(c, 12); /* the tunnel's first bytes stay */

	/* with auth, replies in pieces of every size */
	for (chunk = 0; chunk < 6; chunk++) {
		nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v4, NULL, 0);
		nh_proxy_hs_pipeline(&hs);
		n = drain(&hs, out, sizeof(out), chunk);
		expect_bytes(out, n,
			     S("\x05\x01\x02"
			       "\x01\x02" "ab" "\x02" "cd"
			       "\x05\x01\x00\x01\xc6\x33\x64\x07\x00\x50"));
		assert_int_equal(feed(&hs, S("\x05\x02\x01\x00"
					     "\x05\x00\x00\x01\xc0\x00\x02\x0a\x04\x38"),
				      chunk, &c),
				 1);
		assert_int_equal(c, 14);
	}

	/* the greeting's answer may come before the rest is sent, not
	 * the CONNECT's */
	nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v4, NULL, 0);
	nh_proxy_hs_pipeline(&hs);
	{
		const uint8_t *b;
		size_t len;

		assert_int_equal(nh_proxy_hs_output(&hs, &b, &len), 0);
		assert_true(len > 3);
		nh_proxy_hs_sent(&hs, 3);
	}
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x02"), &c), 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x01"), &c), -EPROTO);
	assert_non_null(strstr(nh_proxy_hs_error(&hs), "before the request"));

	/* a method not offered is garbage: the auth sent would be read
	 * as a CONNECT */
	nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v4, NULL, 0);
	nh_proxy_hs_pipeline(&hs);
	drain(&hs, out, sizeof(out), 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), -EPROTO);
	assert_non_null(strstr(nh_proxy_hs_error(&hs), "not offered"));

	/* auth refused, then the proxy closes */
	nh_proxy_hs_init(&hs, &auth, (struct sockaddr *)&v4, NULL, 0);
	nh_proxy_hs_pipeline(&hs);
	drain(&hs, out, sizeof(out), 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x02\x01\x01"), &c),
			 -EACCES);

	/* nothing changes for http and socks4: one request already */
	{
		struct nh_proxy_hop h = parse_ok("http://192.0.2.10:3128");
		uint8_t o2[2048];
		size_t n2;

		nh_proxy_hs_init(&hs, &h, (struct sockaddr *)&v4, NULL, 0);
		n2 = drain(&hs, o2, sizeof(o2), 0);
		nh_proxy_hs_init(&hs, &h, (struct sockaddr *)&v4, NULL, 0);
		nh_proxy_hs_pipeline(&hs);
		n = drain(&hs, out, sizeof(out), 0);
		expect_bytes(out, n, o2, n2);
	}
}

static void test_long_requests(void **state)
{
	char url[1200], name[256], u[256], p[256];
	struct nh_proxy_hop hop;
	struct nh_proxy_hs hs;
	uint8_t out[4096], want[2048];
	size_t n, w, c, chunk;
	int i;

	(void)state;
	for (i = 0; i < 255; i++) {
		name[i] = (i % 60 == 59) ? '.' : "abcdefghij"[i % 10];
		u[i] = (char)('A' + i % 26);
		p[i] = (char)('a' + i % 26);
	}
	name[255] = u[255] = p[255] = '\0';

	snprintf(url, sizeof(url), "socks5://%s:%s@192.0.2.10:1080", u, p);
	hop = parse_ok(url);
	for (chunk = 0; chunk < 8; chunk += 3) {
		nh_proxy_hs_init(&hs, &hop, NULL, name, 443);
		expect_out(&hs, S("\x05\x02\x00\x02"));
		assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x02"), &c), 0);
		n = drain(&hs, out, sizeof(out), chunk);
		w = 0;
		want[w++] = 1;
		want[w++] = 255;
		memcpy(want + w, u, 255);
		w += 255;
		want[w++] = 255;
		memcpy(want + w, p, 255);
		w += 255;
		expect_bytes(out, n, want, w);
		assert_int_equal(nh_proxy_hs_input(&hs, S("\x01\x00"), &c), 0);
		n = drain(&hs, out, sizeof(out), chunk);
		w = 0;
		memcpy(want, "\x05\x01\x00\x03\xff", 5);
		w = 5;
		memcpy(want + w, name, 255);
		w += 255;
		want[w++] = 0x01;
		want[w++] = 0xbb;
		expect_bytes(out, n, want, w);
		assert_int_equal(nh_proxy_hs_input(&hs,
						   S("\x05\x00\x00\x01\x00\x00"
						     "\x00\x00\x00\x00"),
						   &c),
				 1);
	}

	/* socks4a with a 255-byte user id and name */
	snprintf(url, sizeof(url), "socks4a://%s@192.0.2.10", u);
	hop = parse_ok(url);
	nh_proxy_hs_init(&hs, &hop, NULL, name, 80);
	n = drain(&hs, out, sizeof(out), 7);
	assert_int_equal(n, 8 + 256 + 256);
	assert_memory_equal(out, "\x04\x01\x00\x50\x00\x00\x00\x01", 8);
	assert_memory_equal(out + 8, u, 255);
	assert_int_equal(out[8 + 255], 0);
	assert_memory_equal(out + 264, name, 255);
	assert_int_equal(out[n - 1], 0);

	/* http with all of it: the header is 1200+ bytes */
	snprintf(url, sizeof(url), "http://%s:%s@192.0.2.10", u, p);
	hop = parse_ok(url);
	nh_proxy_hs_init(&hs, &hop, NULL, name, 443);
	n = drain(&hs, out, sizeof(out), 100);
	assert_true(n > 1200);
	out[n] = '\0';
	assert_memory_equal(out, "CONNECT ", 8);
	assert_memory_equal(out + 8, name, 255);
	assert_memory_equal(out + 263, ":443 HTTP/1.1\r\nHost: ", 21);
	assert_non_null(strstr((char *)out, "\r\nProxy-Authorization: Basic "));
	assert_memory_equal(out + n - 6, "==\r\n\r\n", 6);
	assert_int_equal(
		nh_proxy_hs_input(&hs, S("HTTP/1.1 200 OK\r\n\r\n"), &c), 1);
}

/* ---- replies ---- */

struct exch {
	const char *name;
	const char *url;
	const char *target; /* address, or name if not numeric */
	const char *pre; /* replies before the final one, fed whole */
	size_t prelen;
	const char *reply; /* the final reply, then trailing data */
	size_t rlen;
	size_t end; /* bytes of reply that belong to the handshake */
	int ret; /* result of feeding reply */
	const char *msg; /* part of the error message */
};

static const struct exch exchanges[] = {
	/* success: exact reply, trailing tunnel data not consumed */
	{ "s5 v4 bound", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x00"), B("\x05\x00\x00\x01\xc0\x00\x02\x0a\x04\x38SSH-2.0-x"),
	  10, 1, NULL },
	{ "s5 v6 bound", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x00"),
	  B("\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00"
	    "\x00\x00\x00\x00\x01\x04\x38"
	    "HTTP/1.1 200 OK\r\n"),
	  22, 1, NULL },
	{ "s5 domain bound", "socks5://192.0.2.10:1080", "example.com",
	  B("\x05\x00"), B("\x05\x00\x00\x03\x07proxy.x\x04\x38\x00\x01\x02"),
	  14, 1, NULL },
	{ "s5 empty domain bound", "socks5://192.0.2.10:1080", "example.com",
	  B("\x05\x00"), B("\x05\x00\x00\x03\x00\x04\x38Z"), 7, 1, NULL },
	{ "s5 auth ok", "socks5://u:p@192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x02\x01\x00"), B("\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
	  10, 1, NULL },
	{ "s5 auth ok (0x05 version echo)", "socks5://u:p@192.0.2.10:1080",
	  "198.51.100.7", B("\x05\x02\x05\x00"),
	  B("\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"), 10, 1, NULL },
	{ "s4 granted", "socks4://192.0.2.10", "198.51.100.7", B(""),
	  B("\x00\x5a\x00\x00\x00\x00\x00\x00hello"), 8, 1, NULL },
	{ "s4a granted", "socks4a://192.0.2.10", "example.com", B(""),
	  B("\x00\x5a\x00\x50\x01\x02\x03\x04\x00"), 8, 1, NULL },
	{ "http 200", "http://192.0.2.10:3128", "example.com", B(""),
	  B("HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n"),
	  39, 1, NULL },
	{ "http 200 headers", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.0 200 OK\r\nProxy-Agent: tinyproxy/1.11\r\nX: y\r\n\r\n"
	    "\r\n\r\n"),
	  54, 1, NULL },
	{ "http 204 no reason", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 204\r\n\r\nX"), 16, 1, NULL },
	{ "http bare LF", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 200 OK\nA: b\n\nDATA"), 22, 1, NULL },

	/* SOCKS5 refusals and errors */
	{ "s5 no acceptable", "socks5://192.0.2.10:1080", "198.51.100.7", B(""),
	  B("\x05\xff"), 2, -EACCES,
	  "socks5 no acceptable auth method (offered none) at 192.0.2.10:1080" },
	{ "s5 wants auth", "socks5://192.0.2.10:1080", "198.51.100.7", B(""),
	  B("\x05\x02"), 2, -EACCES, "requires username/password" },
	{ "s5 unoffered method", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B(""), B("\x05\x01"), 2, -EPROTO, "method 0x01 not offered" },
	{ "s5 auth rejected", "socks5://u:p@192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x02"), B("\x01\x01"), 2, -EACCES,
	  "socks5 auth rejected (status 0x01) by 192.0.2.10:1080" },
	{ "s5 auth bad version", "socks5://u:p@192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x02"), B("\x02\x00"), 1, -EPROTO,
	  "malformed auth reply (version 0x02)" },
	{ "s5 http garbage", "socks5://192.0.2.10:1080", "198.51.100.7", B(""),
	  B("HTTP/1.1 400 Bad Request\r\n"), 1, -EPROTO,
	  "socks5 malformed reply (version 0x48) from 192.0.2.10:1080" },
	{ "s5 connect bad version", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x00"), B("\x04\x00\x00\x01"), 1, -EPROTO,
	  "malformed reply (version 0x04)" },
	{ "s5 bad reserved", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x00"), B("\x05\x00\x01\x01\x00\x00\x00\x00\x00\x00"), 3,
	  -EPROTO, "reserved byte 0x01" },
	{ "s5 bad atyp", "socks5://192.0.2.10:1080", "198.51.100.7",
	  B("\x05\x00"), B("\x05\x00\x00\x02\x00\x00\x00\x00\x00\x00"), 4,
	  -EPROTO, "address type 0x02" },
	{ "s5 data before request", "socks5://u:p@192.0.2.10:1080",
	  "198.51.100.7", B(""), B("\x05\x02\x01\x00"), 2, -EPROTO,
	  "before the request was complete" },

	/* SOCKS4 */
	{ "s4 rejected", "socks4://192.0.2.10", "198.51.100.7", B(""),
	  B("\x00\x5b\x00\x00\x00\x00\x00\x00"), 2, -ECONNREFUSED,
	  "socks4 reply 0x5b request rejected or failed from 192.0.2.10:1080" },
	{ "s4 identd", "socks4://192.0.2.10", "198.51.100.7", B(""),
	  B("\x00\x5c"), 2, -ECONNREFUSED, "reply 0x5c" },
	{ "s4a identd user", "socks4a://192.0.2.10", "example.com", B(""),
	  B("\x00\x5d"), 2, -ECONNREFUSED, "socks4a reply 0x5d" },
	{ "s4 bad version", "socks4://192.0.2.10", "198.51.100.7", B(""),
	  B("\x04\x5a\x00\x00\x00\x00\x00\x00"), 1, -EPROTO,
	  "socks4 malformed reply (version 0x04)" },
	{ "s4 bad code", "socks4://192.0.2.10", "198.51.100.7", B(""),
	  B("\x00\x00\x00\x00\x00\x00\x00\x00"), 2, -EPROTO, "code 0x00" },

	/* HTTP */
	{ "http 407", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 407 Proxy Authentication Required\r\n"
	    "Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n"),
	  44, -ECONNREFUSED,
	  "http CONNECT status 407 Proxy Authentication Required from 192.0.2.10:3128" },
	{ "http 403", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.0 403 Forbidden\r\n\r\n"), 24, -ECONNREFUSED,
	  "http CONNECT status 403 Forbidden from" },
	{ "http 502", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 502 Bad Gateway\r\n\r\n"), 26, -ECONNREFUSED,
	  "status 502 Bad Gateway" },
	{ "http 100", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 100 Continue\r\n\r\n"), 23, -ECONNREFUSED, "status 100" },
	{ "http reason escaped", "http://192.0.2.10:3128", "198.51.100.7",
	  B(""), B("HTTP/1.1 500 a\x01\"b\r\n"), 19, -ECONNREFUSED,
	  "status 500 a\\x01\\x22b from" },
	{ "http socks reply", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("\x05\x00"), 1, -EPROTO,
	  "http malformed reply \"\\x05\" (not an HTTP/1 status line) from 192.0.2.10:3128" },
	{ "http html", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("<html>"), 1, -EPROTO, "not an HTTP/1 status line" },
	{ "http/2", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/2 200\r\n\r\n"), 6, -EPROTO, "not an HTTP/1 status line" },
	{ "http bad status", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 2x0 OK\r\n\r\n"), 17, -EPROTO,
	  "malformed status line \"HTTP/1.1 2x0 OK\"" },
	{ "http short status", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 20\r\n\r\n"), 13, -EPROTO, "malformed status line" },
	{ "http status glued", "http://192.0.2.10:3128", "198.51.100.7", B(""),
	  B("HTTP/1.1 2000\r\n\r\n"), 15, -EPROTO, "malformed status line" },
};

static void run_exchange(const struct exch *t, size_t chunk)
{
	struct nh_proxy_hop hop = parse_ok(t->url);
	struct sockaddr_storage ss;
	struct nh_proxy_hs hs;
	struct in6_addr a6;
	struct in_addr a4;
	uint8_t out[2048];
	size_t c, total = 0, off = 0;
	int ret;

	if (inet_pton(AF_INET, t->target, &a4) == 1 ||
	    inet_pton(AF_INET6, t->target, &a6) == 1) {
		ss = sa(t->target, 80);
		nh_proxy_hs_init(&hs, &hop, (struct sockaddr *)&ss, NULL, 0);
	} else {
		nh_proxy_hs_init(&hs, &hop, NULL, t->target, 80);
	}
	/* the earlier replies, each after its request */
	while (off < t->prelen) {
		drain(&hs, out, sizeof(out), 0);
		assert_true(nh_proxy_hs_want_input(&hs));
		ret = nh_proxy_hs_input(&hs, (const uint8_t *)t->pre + off, 1,
					&c);
		assert_int_equal(ret, 0);
		assert_int_equal(c, 1);
		off++;
	}
	drain(&hs, out, sizeof(out), 0);
	ret = feed(&hs, (const uint8_t *)t->reply, t->rlen, chunk, &total);
	if (ret != t->ret)
		fail_msg("%s (chunk %zu): ret %d want %d (%s)", t->name, chunk,
			 ret, t->ret, nh_proxy_hs_error(&hs));
	assert_int_equal(nh_proxy_hs_status(&hs), t->ret);
	if (t->ret == 1) {
		if (total != t->end)
			fail_msg("%s (chunk %zu): consumed %zu want %zu",
				 t->name, chunk, total, t->end);
		assert_string_equal(nh_proxy_hs_error(&hs), "");
		/* nothing more is taken, and output says done */
		assert_int_equal(nh_proxy_hs_input(&hs, S("more"), &c), 1);
		assert_int_equal(c, 0);
		{
			const uint8_t *b;
			size_t l;

			assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), 1);
			assert_int_equal(l, 0);
		}
		assert_int_equal(nh_proxy_hs_eof(&hs), 1);
	} else {
		const char *m = nh_proxy_hs_error(&hs);

		/* a failure is seen at the first byte that shows it */
		if (total != t->end)
			fail_msg(
				"%s (chunk %zu): failed after %zu bytes, want %zu",
				t->name, chunk, total, t->end);
		assert_true(m[0]);
		assert_null(strchr(m, '\n'));
		if (t->msg && !strstr(m, t->msg))
			fail_msg("%s: error \"%s\" lacks \"%s\"", t->name, m,
				 t->msg);
		/* sticky */
		assert_int_equal(nh_proxy_hs_input(&hs, S("x"), &c), t->ret);
		assert_int_equal(c, 0);
		assert_int_equal(nh_proxy_hs_eof(&hs), t->ret);
		{
			const uint8_t *b;
			size_t l;

			assert_int_equal(nh_proxy_hs_output(&hs, &b, &l),
					 t->ret);
			assert_int_equal(l, 0);
		}
	}
}

static void test_replies(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(exchanges) / sizeof(exchanges[0]); i++) {
		run_exchange(&exchanges[i], 0); /* one piece */
		run_exchange(&exchanges[i], 1); /* byte by byte */
		run_exchange(&exchanges[i], 3);
	}
}

/* Every SOCKS5 reply code: errno and message. */
static void test_socks5_codes(void **state)
{
	static const struct {
		uint8_t code;
		int err;
		const char *msg;
	} t[] = {
		{ 0x01, -ECONNREFUSED,
		  "socks5 reply 0x01 general SOCKS server failure from 192.0.2.10:1080" },
		{ 0x02, -EPERM,
		  "socks5 reply 0x02 connection not allowed by ruleset from 192.0.2.10:1080" },
		{ 0x03, -ENETUNREACH,
		  "socks5 reply 0x03 network unreachable from 192.0.2.10:1080" },
		{ 0x04, -EHOSTUNREACH,
		  "socks5 reply 0x04 host unreachable from 192.0.2.10:1080" },
		{ 0x05, -ECONNREFUSED,
		  "socks5 reply 0x05 connection refused from 192.0.2.10:1080" },
		{ 0x06, -ETIMEDOUT,
		  "socks5 reply 0x06 TTL expired from 192.0.2.10:1080" },
		{ 0x07, -EOPNOTSUPP,
		  "socks5 reply 0x07 command not supported from 192.0.2.10:1080" },
		{ 0x08, -EAFNOSUPPORT,
		  "socks5 reply 0x08 address type not supported from 192.0.2.10:1080" },
		{ 0x09, -ECONNREFUSED,
		  "socks5 reply 0x09 (unassigned) from 192.0.2.10:1080" },
		{ 0xff, -ECONNREFUSED,
		  "socks5 reply 0xff (unassigned) from 192.0.2.10:1080" },
	};
	struct nh_proxy_hop hop = parse_ok("socks5://192.0.2.10:1080");
	struct sockaddr_storage v4 = sa("198.51.100.7", 80);
	size_t i, c, whole;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (whole = 0; whole <= 1; whole++) {
			uint8_t r[10] = { 5, t[i].code, 0, 1 };
			uint8_t greet[8];
			struct nh_proxy_hs hs;

			nh_proxy_hs_init(&hs, &hop, (struct sockaddr *)&v4,
					 NULL, 0);
			assert_int_equal(drain(&hs, greet, sizeof(greet), 0),
					 3);
			assert_int_equal(
				nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
			{
				uint8_t out[64];

				drain(&hs, out, sizeof(out), 0);
			}
			/* whole reply, or just the first two bytes */
			assert_int_equal(nh_proxy_hs_input(&hs, r,
							   whole ? 10 : 2, &c),
					 t[i].err);
			assert_string_equal(nh_proxy_hs_error(&hs), t[i].msg);
		}
	}
}

/* Every proper prefix of a good reply needs more, then EOF is -EPROTO. */
static void test_truncated(void **state)
{
	static const struct {
		const char *url, *target;
		const char *pre;
		size_t prelen;
		const char *reply;
		size_t rlen;
	} t[] = {
		{ "socks5://192.0.2.10", "198.51.100.7", B(""), B("\x05\x00") },
		{ "socks5://u:p@192.0.2.10", "198.51.100.7", B("\x05\x02"),
		  B("\x01\x00") },
		{ "socks5://192.0.2.10", "198.51.100.7", B("\x05\x00"),
		  B("\x05\x00\x00\x01\x01\x02\x03\x04\x00\x50") },
		{ "socks5://192.0.2.10", "198.51.100.7", B("\x05\x00"),
		  B("\x05\x00\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00"
		    "\x00\x00\x00\x00\x00\x01\x04\x38") },
		{ "socks5://192.0.2.10", "example.com", B("\x05\x00"),
		  B("\x05\x00\x00\x03\x03\x61\x62\x63\x04\x38") },
		{ "socks4://192.0.2.10", "198.51.100.7", B(""),
		  B("\x00\x5a\x00\x00\x00\x00\x00\x00") },
		{ "socks4a://192.0.2.10", "example.com", B(""),
		  B("\x00\x5a\x00\x00\x00\x00\x00\x00") },
		{ "http://192.0.2.10", "example.com", B(""),
		  B("HTTP/1.1 200 OK\r\nVia: x\r\n\r\n") },
	};
	size_t i, k, c;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct nh_proxy_hop hop = parse_ok(t[i].url);
		struct sockaddr_storage ss = sa("198.51.100.7", 80);
		bool name = strcmp(t[i].target, "example.com") == 0;

		for (k = 0; k < t[i].rlen; k++) {
			struct nh_proxy_hs hs;
			uint8_t out[1024];
			int ret;

			nh_proxy_hs_init(&hs, &hop,
					 name ? NULL : (struct sockaddr *)&ss,
					 name ? t[i].target : NULL, 80);
			drain(&hs, out, sizeof(out), 0);
			if (t[i].prelen) {
				assert_int_equal(
					nh_proxy_hs_input(
						&hs, (const uint8_t *)t[i].pre,
						t[i].prelen, &c),
					0);
				drain(&hs, out, sizeof(out), 0);
			}
			ret = feed(&hs, (const uint8_t *)t[i].reply, k, 1, &c);
			assert_int_equal(ret, 0);
			assert_int_equal(c, k);
			assert_int_equal(nh_proxy_hs_status(&hs), 0);
			ret = nh_proxy_hs_eof(&hs);
			if (k == 0 && t[i].prelen == 0) {
				assert_int_equal(ret, -ECONNRESET);
				expect_err(
					&hs,
					"closed the connection without replying");
			} else {
				assert_int_equal(ret, -EPROTO);
				assert_true(nh_proxy_hs_error(&hs)[0]);
			}
			expect_err(&hs, "192.0.2.10:");
		}
	}
}

static void test_http_overflow(void **state)
{
	struct nh_proxy_hop hop = parse_ok("http://192.0.2.10:3128");
	static uint8_t big[NH_PROXY_HTTP_MAX_HEADER + 100];
	struct nh_proxy_hs hs;
	uint8_t out[512];
	size_t c, i;
	int ret;

	(void)state;
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (i = 17; i < sizeof(big); i++)
		big[i] = (i % 64 == 63) ? '\n' : 'a';
	nh_proxy_hs_init(&hs, &hop, NULL, "example.com", 443);
	drain(&hs, out, sizeof(out), 0);
	ret = nh_proxy_hs_input(&hs, big, sizeof(big), &c);
	assert_int_equal(ret, -EPROTO);
	assert_int_equal(c, NH_PROXY_HTTP_MAX_HEADER + 1);
	assert_string_equal(
		nh_proxy_hs_error(&hs),
		"http proxy sent 8193 header bytes without an end from 192.0.2.10:3128");

	/* exactly at the limit is fine */
	nh_proxy_hs_init(&hs, &hop, NULL, "example.com", 443);
	drain(&hs, out, sizeof(out), 0);
	memset(big + 17, 'a', NH_PROXY_HTTP_MAX_HEADER - 17);
	memcpy(big + NH_PROXY_HTTP_MAX_HEADER - 4, "\r\n\r\n", 4);
	big[40] = '\n';
	assert_int_equal(feed(&hs, big, NH_PROXY_HTTP_MAX_HEADER + 10, 100, &c),
			 1);
	assert_int_equal(c, NH_PROXY_HTTP_MAX_HEADER);

	/* a status line that never ends */
	nh_proxy_hs_init(&hs, &hop, NULL, "example.com", 443);
	drain(&hs, out, sizeof(out), 0);
	memset(big + 17, 'a', sizeof(big) - 17);
	memcpy(big, "HTTP/1.1 200 OK", 15);
	assert_int_equal(feed(&hs, big, sizeof(big), 1000, &c), -EPROTO);
	expect_err(&hs, "8193 header bytes");
}

/* An HTTP proxy may answer before the request is all sent. */
static void test_http_early(void **state)
{
	struct nh_proxy_hop hop = parse_ok("http://192.0.2.10:3128");
	struct nh_proxy_hs hs;
	const uint8_t *b;
	size_t l, c;

	(void)state;
	nh_proxy_hs_init(&hs, &hop, NULL, "example.com", 443);
	assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), 0);
	nh_proxy_hs_sent(&hs, 5);
	assert_false(nh_proxy_hs_want_input(&hs));
	assert_int_equal(
		nh_proxy_hs_input(&hs, S("HTTP/1.1 400 Bad Request\r\n"), &c),
		-ECONNREFUSED);
	expect_err(&hs, "status 400 Bad Request");

	nh_proxy_hs_init(&hs, &hop, NULL, "example.com", 443);
	assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), 0);
	nh_proxy_hs_sent(&hs, 5);
	assert_int_equal(nh_proxy_hs_input(&hs, S("HTTP/1.1 200 OK\r\n"), &c),
			 -EPROTO);
	expect_err(&hs, "before the request was complete");

	/* SOCKS: data before the request is all sent is garbage */
	hop = parse_ok("socks4://192.0.2.10");
	{
		struct sockaddr_storage ss = sa("198.51.100.7", 80);

		nh_proxy_hs_init(&hs, &hop, (struct sockaddr *)&ss, NULL, 0);
	}
	assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), 0);
	nh_proxy_hs_sent(&hs, 3);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x00\x5a"), &c), -EPROTO);
	assert_int_equal(c, 0);
}

static void test_init_errors(void **state)
{
	struct nh_proxy_hop s4 = parse_ok("socks4://192.0.2.10:1080");
	struct nh_proxy_hop s4a = parse_ok("socks4a://192.0.2.10:1080");
	struct nh_proxy_hop s5 = parse_ok("socks5://192.0.2.10:1080");
	struct nh_proxy_hop http = parse_ok("http://192.0.2.10:3128");
	struct sockaddr_storage v6 = sa("2001:db8::7", 443);
	struct sockaddr_storage un;
	struct nh_proxy_hs hs;
	const uint8_t *b;
	size_t l, c;
	char longname[300];

	(void)state;
	nh_proxy_hs_init(&hs, &s4, (struct sockaddr *)&v6, NULL, 0);
	assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), -EAFNOSUPPORT);
	assert_int_equal(l, 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x00"), &c), -EAFNOSUPPORT);
	assert_int_equal(c, 0);
	assert_string_equal(
		nh_proxy_hs_error(&hs),
		"socks4 cannot carry the IPv6 target [2001:db8::7]:443 through 192.0.2.10:1080 (use socks5 or http)");

	nh_proxy_hs_init(&hs, &s4a, NULL, "2001:db8::7", 443);
	assert_int_equal(nh_proxy_hs_status(&hs), -EAFNOSUPPORT);

	nh_proxy_hs_init(&hs, &s4, NULL, "example.com", 80);
	assert_int_equal(nh_proxy_hs_status(&hs), -EDESTADDRREQ);
	expect_err(&hs, "socks4a");

	nh_proxy_hs_init(&hs, &s5, NULL, NULL, 0);
	assert_int_equal(nh_proxy_hs_status(&hs), -EDESTADDRREQ);
	nh_proxy_hs_init(&hs, &s5, NULL, "", 0);
	assert_int_equal(nh_proxy_hs_status(&hs), -EDESTADDRREQ);

	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	nh_proxy_hs_init(&hs, &s5, (struct sockaddr *)&un, NULL, 0);
	assert_int_equal(nh_proxy_hs_status(&hs), -EAFNOSUPPORT);

	/* header injection through a name is refused */
	nh_proxy_hs_init(&hs, &http, NULL, "example.com\r\nX-Evil: 1", 80);
	assert_int_equal(nh_proxy_hs_status(&hs), -EINVAL);
	nh_proxy_hs_init(&hs, &s5, NULL, "a b", 80);
	assert_int_equal(nh_proxy_hs_status(&hs), -EINVAL);
	memset(longname, 'a', 256);
	longname[256] = '\0';
	nh_proxy_hs_init(&hs, &s5, NULL, longname, 80);
	assert_int_equal(nh_proxy_hs_status(&hs), -EINVAL);
}

static void test_direct_and_chain_hop(void **state)
{
	struct nh_proxy_hop d = parse_ok("direct://");
	struct nh_proxy_hop s4 = parse_ok("socks4://192.0.2.10");
	struct nh_proxy_hop s5 = parse_ok("socks5://192.0.2.10");
	struct nh_proxy_hop next_num = parse_ok("http://198.51.100.9:3128");
	struct nh_proxy_hop next_name = parse_ok("http://proxy2.example:3128");
	struct sockaddr_storage v4 = sa("198.51.100.7", 80);
	struct nh_proxy_hs hs;
	const uint8_t *b;
	size_t l, c;
	uint8_t out[512];

	(void)state;
	nh_proxy_hs_init(&hs, &d, (struct sockaddr *)&v4, NULL, 0);
	assert_int_equal(nh_proxy_hs_output(&hs, &b, &l), 1);
	assert_int_equal(l, 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("data"), &c), 1);
	assert_int_equal(c, 0);
	assert_int_equal(nh_proxy_hs_status(&hs), 1);
	assert_false(nh_proxy_hs_want_input(&hs));

	/* hop 1 asked to reach hop 2 */
	nh_proxy_hs_init_hop(&hs, &s4, &next_num);
	expect_out(&hs, S("\x04\x01\x0c\x38\xc6\x33\x64\x09\x00"));
	nh_proxy_hs_init_hop(&hs, &s5, &next_name);
	expect_out(&hs, S("\x05\x01\x00"));
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	expect_out(&hs, S("\x05\x01\x00\x03\x0eproxy2.example\x0c\x38"));
	/* socks4 cannot name an unresolved hop */
	nh_proxy_hs_init_hop(&hs, &s4, &next_name);
	assert_int_equal(nh_proxy_hs_status(&hs), -EDESTADDRREQ);
	/* once resolved, socks4 uses the address */
	next_name.addr = sa("203.0.113.4", 3128);
	nh_proxy_hs_init_hop(&hs, &s4, &next_name);
	assert_int_equal(drain(&hs, out, sizeof(out), 0), 9);
	assert_memory_equal(out + 4, "\xcb\x00\x71\x04", 4);
	/* and socks5 still the name */
	nh_proxy_hs_init_hop(&hs, &s5, &next_name);
	assert_int_equal(nh_proxy_hs_input(&hs, S(""), &c), 0);
	drain(&hs, out, sizeof(out), 0);
	assert_int_equal(nh_proxy_hs_input(&hs, S("\x05\x00"), &c), 0);
	assert_int_equal(drain(&hs, out, sizeof(out), 0), 4 + 1 + 14 + 2);
}

/* ---- fuzz: random replies never crash, stall or overrun ---- */

static uint64_t rng = 0x6e657468756b21ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void test_fuzz(void **state)
{
	static const char *const urls[] = {
		"socks5://192.0.2.10", "socks5://u:p@192.0.2.10",
		"socks4://192.0.2.10", "socks4a://id@192.0.2.10",
		"http://192.0.2.10",   "http://u:p@[2001:db8::1]:3128",
	};
/* binary replies hold NUL bytes: their length from sizeof, not strlen */
#define SEED(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *b;
		size_t n;
	} seeds[] = {
		SEED("\x05\x00\x05\x00\x00\x01\x01\x02\x03\x04\x00\x50"),
		SEED("\x05\x02\x01\x00\x05\x00\x00\x03\x05hello\x00\x50"),
		SEED("\x00\x5a\x00\x00\x00\x00\x00\x00"),
		SEED("HTTP/1.1 200 OK\r\nA: b\r\n\r\n"),
	};
	struct nh_proxy_hop hops[6];
	uint8_t in[600], out[2048];
	int iter, i;

	(void)state;
	for (i = 0; i < 6; i++)
		hops[i] = parse_ok(urls[i]);
	for (iter = 0; iter < 20000; iter++) {
		struct nh_proxy_hop *hop = &hops[rnd() % 6];
		struct sockaddr_storage ss =
			sa(rnd() & 1 ? "198.51.100.7" : "2001:db8::7", 80);
		struct nh_proxy_hs hs;
		size_t len = rnd() % sizeof(in), off = 0, c, k;
		int ret = 0;

		/* random bytes, or a mutated good reply */
		if (rnd() & 1) {
			for (k = 0; k < len; k++)
				in[k] = (uint8_t)rnd();
		} else {
			unsigned int si = rnd() % 4;

			len = seeds[si].n;
			memcpy(in, seeds[si].b, len);
			for (k = rnd() % 4; k > 0; k--)
				in[rnd() % len] = (uint8_t)rnd();
			len = rnd() % (len + 1);
		}
		nh_proxy_hs_init(&hs, hop, (struct sockaddr *)&ss,
				 rnd() & 1 ? "example.com" : NULL, 443);
		while (off < len) {
			size_t n = 1 + rnd() % 16;

			if (n > len - off)
				n = len - off;
			if (nh_proxy_hs_status(&hs) == 0)
				drain(&hs, out, sizeof(out), rnd() % 8);
			ret = nh_proxy_hs_input(&hs, in + off, n, &c);
			assert_true(ret == 0 || ret == 1 || ret < 0);
			assert_true(c <= n);
			if (ret)
				break;
			assert_int_equal(c, n);
			off += n;
		}
		if (ret < 0) {
			assert_true(nh_proxy_hs_error(&hs)[0]);
			assert_true(strlen(nh_proxy_hs_error(&hs)) <
				    NH_PROXY_HS_WINDOW);
		}
		ret = nh_proxy_hs_eof(&hs);
		assert_true(ret == 1 || ret < 0);
	}
	/* random URLs */
	for (iter = 0; iter < 20000; iter++) {
		static const char alpha[] =
			"socks5h4a:/@[]%0123456789abcdefABCDEF.:,-_#?\n ";
		char url[128], err[128];
		struct nh_proxy_hop hs[4];
		size_t len = rnd() % (sizeof(url) - 1), k;

		k = 0;
		if (rnd() & 1) {
			const char *pre = urls[rnd() % 6];

			k = strlen(pre) < len ? strlen(pre) : len;
			memcpy(url, pre, k);
		}
		for (; k < len; k++)
			url[k] = alpha[rnd() % (sizeof(alpha) - 1)];
		url[len] = '\0';
		i = nh_proxy_url_parse(url, &hs[0], err, sizeof(err));
		assert_true(i == 0 || i == -EINVAL);
		if (i == 0) {
			char f[300];

			assert_true(nh_proxy_hop_format(&hs[0], f, sizeof(f)) >
				    0);
		}
		i = nh_proxy_chain_parse(url, hs, 4, err, sizeof(err));
		assert_true((i >= 1 && i <= 4) || i == -EINVAL || i == -E2BIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_valid),
		cmocka_unit_test(test_url_long_fields),
		cmocka_unit_test(test_url_invalid),
		cmocka_unit_test(test_url_zone),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_socks5_requests),
		cmocka_unit_test(test_socks5_pipelined),
		cmocka_unit_test(test_url_pipeline),
		cmocka_unit_test(test_long_requests),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_socks5_codes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_http_overflow),
		cmocka_unit_test(test_http_early),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_direct_and_chain_hop),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_chain_new),
		cmocka_unit_test(test_chain_walk),
		cmocka_unit_test(test_chain_walk_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
