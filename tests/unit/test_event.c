// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_event_format(): one log line per event, text or JSON, against
 * docs/log-schema.md.  The JSON is checked by parsing it with the strict
 * little RFC 8259 parser below (UTF-8 included), not by comparing strings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include "nh_event.h"
#include "nh_base.h"
#include "nethook/nethook.h"
#include "nh_test.h"

/* ---- a strict JSON parser, enough to check a log line ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_OBJ, J_ARR };

#define J_MAX_MEMBERS 40
#define J_MAX_STR 4096

struct jmember {
	char key[64];
	enum jtype type;
	char val[J_MAX_STR]; /* strings decoded; numbers and literals raw */
};

struct jdoc {
	int n;
	struct jmember m[J_MAX_MEMBERS];
};

struct jp {
	const char *p;
	const char *err;
	int depth;
};

static void j_ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int j_fail(struct jp *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return -1;
}

/* one UTF-8 sequence at s: its length, or 0 when it is not valid */
static int utf8_len(const unsigned char *s)
{
	unsigned int c;
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	c = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static void put_utf8(char **o, char *end, unsigned int c)
{
	char b[4];
	int n, i;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	for (i = 0; i < n && *o < end; i++)
		*(*o)++ = b[i];
}

static int j_hex4(struct jp *j, unsigned int *c)
{
	int i;

	*c = 0;
	for (i = 0; i < 4; i++) {
		char h = j->p[i];

		*c <<= 4;
		if (h >= '0' && h <= '9')
			*c |= (unsigned int)(h - '0');
		else if (h >= 'a' && h <= 'f')
			*c |= (unsigned int)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			*c |= (unsigned int)(h - 'A' + 10);
		else
			return j_fail(j, "bad \\u escape");
	}
	j->p += 4;
	return 0;
}

/* a string at j->p (on the opening quote), decoded into out if not NULL */
static int j_string(struct jp *j, char *out, size_t outlen)
{
	char *o = out, *end = out ? out + outlen - 1 : NULL;
	unsigned int c, lo;
	int n;

	if (*j->p != '"')
		return j_fail(j, "string expected");
	j->p++;
	for (;;) {
		unsigned char ch = (unsigned char)*j->p;

		if (ch == '"')
			break;
		if (ch == '\0')
			return j_fail(j, "unterminated string");
		if (ch < 0x20)
			return j_fail(j, "raw control character in a string");
		if (ch == '\\') {
			j->p++;
			switch (*j->p) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case '/':
				c = '/';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				j->p++;
				if (j_hex4(j, &c))
					return -1;
				if (c >= 0xdc00 && c <= 0xdfff)
					return j_fail(j, "lone low surrogate");
				if (c >= 0xd800 && c <= 0xdbff) {
					if (j->p[0] != '\\' || j->p[1] != 'u')
						return j_fail(
							j,
							"lone high surrogate");
					j->p += 2;
					if (j_hex4(j, &lo))
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return j_fail(
							j,
							"bad surrogate pair");
					c = 0x10000 + ((c - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				j->p--;
				break;
			default:
				return j_fail(j, "bad escape");
			}
			j->p++;
			if (out)
				put_utf8(&o, end, c);
			continue;
		}
		n = utf8_len((const unsigned char *)j->p);
		if (!n)
			return j_fail(j, "invalid UTF-8 in a string");
		while (n--) {
			if (out && o < end)
				*o++ = *j->p;
			j->p++;
		}
	}
	j->p++;
	if (out)
		*o = '\0';
	return 0;
}

static int j_number(struct jp *j)
{
	const char *p = j->p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return j_fail(j, "bad number");
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return j_fail(j, "bad fraction");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return j_fail(j, "bad exponent");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return 0;
}

static int j_value(struct jp *j, enum jtype *type);

static int j_object(struct jp *j)
{
	enum jtype t;

	j->p++;
	j_ws(j);
	if (*j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		j_ws(j);
		if (j_string(j, NULL, 0))
			return -1;
		j_ws(j);
		if (*j->p != ':')
			return j_fail(j, "':' expected");
		j->p++;
		if (j_value(j, &t))
			return -1;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == '}') {
			j->p++;
			return 0;
		}
		return j_fail(j, "',' or '}' expected");
	}
}

static int j_array(struct jp *j)
{
	enum jtype t;

	j->p++;
	j_ws(j);
	if (*j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (j_value(j, &t))
			return -1;
		j_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p == ']') {
			j->p++;
			return 0;
		}
		return j_fail(j, "',' or ']' expected");
	}
}

static int j_value(struct jp *j, enum jtype *type)
{
	int r;

	j_ws(j);
	if (++j->depth > 64)
		return j_fail(j, "too deep");
	switch (*j->p) {
	case '{':
		*type = J_OBJ;
		r = j_object(j);
		break;
	case '[':
		*type = J_ARR;
		r = j_array(j);
		break;
	case '"':
		*type = J_STR;
		r = j_string(j, NULL, 0);
		break;
	case 't':
	case 'f':
	case 'n':
		if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
			*type = *j->p == 'n' ? J_NULL : J_BOOL;
			j->p += 4;
			r = 0;
		} else if (!strncmp(j->p, "false", 5)) {
			*type = J_BOOL;
			j->p += 5;
			r = 0;
		} else {
			r = j_fail(j, "bad literal");
		}
		break;
	default:
		*type = J_NUM;
		r = j_number(j);
	}
	j->depth--;
	return r;
}

/*
 * Parse one JSON text that must be a flat object; members into doc.  The
 * whole text must be consumed and no key may repeat.  NULL or the reason.
 */
static const char *json_flat(const char *s, struct jdoc *doc)
{
	struct jp j = { s, NULL, 0 };
	struct jmember *m;
	const char *v;
	int i;

	doc->n = 0;
	j_ws(&j);
	if (*j.p != '{')
		return "not an object";
	j.p++;
	j_ws(&j);
	if (*j.p == '}') {
		j.p++;
		goto end;
	}
	for (;;) {
		if (doc->n == J_MAX_MEMBERS)
			return "too many members";
		m = &doc->m[doc->n];
		j_ws(&j);
		if (j_string(&j, m->key, sizeof(m->key)))
			return j.err;
		for (i = 0; i < doc->n; i++)
			if (!strcmp(doc->m[i].key, m->key))
				return "duplicate key";
		j_ws(&j);
		if (*j.p != ':')
			return "':' expected";
		j.p++;
		j_ws(&j);
		v = j.p;
		if (*j.p == '"') {
			m->type = J_STR;
			if (j_string(&j, m->val, sizeof(m->val)))
				return j.err;
		} else {
			if (j_value(&j, &m->type))
				return j.err;
			if ((size_t)(j.p - v) >= sizeof(m->val))
				return "value too long";
			memcpy(m->val, v, (size_t)(j.p - v));
			m->val[j.p - v] = '\0';
		}
		doc->n++;
		j_ws(&j);
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p == '}') {
			j.p++;
			break;
		}
		return "',' or '}' expected";
	}
end:
	j_ws(&j);
	if (*j.p)
		return "trailing characters";
	return NULL;
}

static const struct jmember *jget(const struct jdoc *d, const char *key)
{
	int i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->m[i].key, key))
			return &d->m[i];
	return NULL;
}

/* the checker checks itself first */
/* clang-format off */
static const char *const json_good[] = {
	"{}",
	"{\"a\":1}",
	" { \"a\" : -0.5e+3 , \"b\" : [1, {\"c\": null}], \"d\": true } ",
	"{\"s\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"}",
	"{\"u\":\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"}",
};
/* clang-format on */

/* clang-format off */
static const char *const json_bad[] = {
	"",
	"{",
	"{\"a\":1,}",
	"{\"a\":1}x",
	"{\"a\":01}",
	"{\"a\":1.}",
	"{\"a\":.5}",
	"{\"a\":+1}",
	"{\"a\":nul}",
	"{a:1}",
	"{\"a\":\"x\ny\"}",
	"{\"a\":\"\\x41\"}",
	"{\"a\":\"\\u12\"}",
	"{\"a\":\"\\ud800\"}",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"\xc0\xaf\"}",
	"{\"a\":\"\xed\xa0\x80\"}",
	"{\"a\":\"\xc3\"}",
	"{\"a\":1,\"a\":2}",
	"{\"a\":\"unterminated}",
	"{\"a\":1 \"b\":2}",
};
/* clang-format on */

static void test_json_good(void **state)
{
	struct jdoc *d = malloc(sizeof(*d));
	const char *why;

	assert_non_null(d);
	why = json_flat(*state, d);
	free(d);
	if (why)
		fail_msg("rejected: %s", why);
}

static void test_json_bad(void **state)
{
	struct jdoc *d = malloc(sizeof(*d));
	const char *why;

	assert_non_null(d);
	why = json_flat(*state, d);
	free(d);
	assert_non_null(why);
}

/* ---- events ---- */

#define TS_NS 1790787624123456789ull /* 2026-09-30T17:00:24.123456789Z */
#define TS_TEXT "2026-09-30T17:00:24.123456Z"

static void set_addr(struct sockaddr_storage *ss, const char *addr, int port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
		in6->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
		in->sin_port = htons((uint16_t)port);
	}
}

/* a plain direct TCP connect of curl to 198.51.100.7:80 */
static void base_event(struct nh_event *ev, enum nh_event_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = type;
	ev->ts_ns = TS_NS;
	ev->pid = 4242;
	ev->uid = 1000;
	ev->comm = "curl";
	ev->exe = "/usr/bin/curl";
	ev->cgroup_id = 12345;
	ev->cookie = 77;
	ev->proto = IPPROTO_TCP;
	set_addr(&ev->orig_dst, "198.51.100.7", 80);
	set_addr(&ev->new_dst, "198.51.100.7", 80);
	ev->route = NH_ROUTE_DIRECT;
}

enum ev_kind {
	EK_CONNECT,
	EK_CONNECT_V6,
	EK_CONNECT_UDP,
	EK_REDIRECT,
	EK_REDIRECT_V6_TO_MAPPED,
	EK_REDIRECT_EAFNOSUPPORT,
	EK_BLOCK,
	EK_BLOCK_UDP_EPERM,
	EK_END,
	EK_END_FAILED,
	EK_END_ZERO,
	EK_CREATE,
	EK_PARTIAL,
	EK_NO_EXE,
	EK_NULL_COMM,
	EK_UNKNOWN_ERRNO,
	EK_DIVERT_END,
	EK_DIVERT_FAILED,
};

static void make_event(enum ev_kind k, struct nh_event *ev)
{
	switch (k) {
	case EK_CONNECT:
		base_event(ev, NH_EVENT_CONNECT);
		break;
	case EK_CONNECT_V6:
		base_event(ev, NH_EVENT_CONNECT);
		set_addr(&ev->orig_dst, "2001:db8::1", 443);
		set_addr(&ev->new_dst, "2001:db8::1", 443);
		break;
	case EK_CONNECT_UDP:
		base_event(ev, NH_EVENT_CONNECT);
		ev->proto = IPPROTO_UDP;
		set_addr(&ev->orig_dst, "::ffff:192.0.2.53", 53);
		set_addr(&ev->new_dst, "::ffff:192.0.2.53", 53);
		break;
	case EK_REDIRECT:
		base_event(ev, NH_EVENT_REDIRECT);
		set_addr(&ev->new_dst, "127.0.0.1", 1080);
		ev->route = NH_ROUTE_REDIRECT;
		break;
	case EK_REDIRECT_V6_TO_MAPPED:
		base_event(ev, NH_EVENT_REDIRECT);
		set_addr(&ev->orig_dst, "2001:db8::1", 443);
		set_addr(&ev->new_dst, "::ffff:127.0.0.1", 1080);
		ev->route = NH_ROUTE_REDIRECT;
		break;
	case EK_REDIRECT_EAFNOSUPPORT:
		base_event(ev, NH_EVENT_REDIRECT);
		ev->route = NH_ROUTE_REDIRECT;
		ev->err = EAFNOSUPPORT;
		break;
	case EK_BLOCK:
		base_event(ev, NH_EVENT_BLOCK);
		ev->route = NH_ROUTE_BLOCK;
		ev->err = ECONNREFUSED;
		break;
	case EK_BLOCK_UDP_EPERM:
		base_event(ev, NH_EVENT_BLOCK);
		ev->proto = IPPROTO_UDP;
		set_addr(&ev->orig_dst, "2001:db8::53", 5353);
		set_addr(&ev->new_dst, "2001:db8::53", 5353);
		ev->route = NH_ROUTE_BLOCK;
		ev->err = EPERM;
		break;
	case EK_END:
		base_event(ev, NH_EVENT_END);
		ev->bytes_out = 100;
		ev->bytes_in = 2000;
		ev->duration_ns = 1234567;
		ev->established = 1;
		break;
	case EK_END_FAILED:
		base_event(ev, NH_EVENT_END);
		ev->duration_ns = 3000000000ull;
		ev->established = 0;
		break;
	case EK_END_ZERO:
		base_event(ev, NH_EVENT_END);
		ev->established = 1;
		break;
	case EK_CREATE:
		base_event(ev, NH_EVENT_CREATE);
		memset(&ev->orig_dst, 0, sizeof(ev->orig_dst));
		memset(&ev->new_dst, 0, sizeof(ev->new_dst));
		break;
	case EK_PARTIAL:
		base_event(ev, NH_EVENT_CONNECT);
		ev->exe = "curl";
		ev->exe_partial = 1;
		break;
	case EK_NO_EXE:
		base_event(ev, NH_EVENT_CONNECT);
		ev->exe = NULL;
		break;
	case EK_NULL_COMM:
		base_event(ev, NH_EVENT_CONNECT);
		ev->comm = NULL;
		break;
	case EK_UNKNOWN_ERRNO:
		base_event(ev, NH_EVENT_REDIRECT);
		ev->route = NH_ROUTE_REDIRECT;
		ev->err = 4000;
		break;
	case EK_DIVERT_END:
		base_event(ev, NH_EVENT_END);
		ev->route = NH_ROUTE_DIVERT;
		ev->route_desc =
			"socks5://192.0.2.10:1080,http://203.0.113.5:3128";
		set_addr(&ev->new_dst, "198.51.100.7", 80);
		ev->bytes_out = 1;
		ev->bytes_in = 2;
		ev->duration_ns = 999;
		ev->established = 1;
		ev->handshake = "optimistic";
		ev->handshake_ns = 1234567;
		break;
	case EK_DIVERT_FAILED:
		base_event(ev, NH_EVENT_END);
		ev->route = NH_ROUTE_DIVERT;
		ev->route_desc = "socks5://192.0.2.10:1080";
		ev->err = ECONNREFUSED;
		ev->detail = "socks5 reply 0x05 connection refused from "
			     "192.0.2.10:1080";
		ev->established = 1;
		break;
	}
}

/* expected JSON values: "\"str" a string, else raw (null, true, 12) */
struct field {
	const char *key;
	const char *want;
};

#define NFIELDS 22

/* clang-format off */
static const char *const schema_keys[NFIELDS] = {
	"ts",	    "event",	"pid",	     "comm",	 "exe",	  "exe_partial",
	"uid",	    "cgroup_id", "id",	"proto",     "orig_dst", "name",
	"new_dst", "route", "bytes_out", "bytes_in",	"duration_ms",
	"handshake", "handshake_ms", "result", "error",   "detail",
};
/* clang-format on */

struct ev_case {
	const char *name;
	enum ev_kind kind;
	/* JSON fields that differ from the connect event below */
	struct field json[NFIELDS];
	const char *text; /* the whole text line, or NULL */
};

/* what EK_CONNECT gives; each case lists its differences */
/* clang-format off */
static const struct field connect_json[NFIELDS] = {
	{ "ts", "\"" TS_TEXT },
	{ "event", "\"connect" },
	{ "pid", "4242" },
	{ "comm", "\"curl" },
	{ "exe", "\"/usr/bin/curl" },
	{ "exe_partial", "false" },
	{ "uid", "1000" },
	{ "cgroup_id", "12345" },
	{ "id", "77" },
	{ "proto", "\"tcp" },
	{ "orig_dst", "\"198.51.100.7:80" },
	{ "name", "null" },
	{ "new_dst", "\"198.51.100.7:80" },
	{ "route", "\"direct" },
	{ "bytes_out", "null" },
	{ "bytes_in", "null" },
	{ "duration_ms", "null" },
	{ "handshake", "null" },
	{ "handshake_ms", "null" },
	{ "result", "\"ok" },
	{ "error", "null" },
	{ "detail", "null" },
};
/* clang-format on */

#define PFX TS_TEXT
#define WHO " pid=4242 comm=curl exe=/usr/bin/curl uid=1000 cgroup_id=12345 id=77"

/* clang-format off */
static const struct ev_case ev_cases[] = {
	{ "connect, IPv4, direct", EK_CONNECT, { { NULL, NULL } },
	  PFX " connect" WHO " proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=198.51.100.7:80 route=direct result=ok" },
	{ "connect, IPv6", EK_CONNECT_V6,
	  { { "orig_dst", "\"[2001:db8::1]:443" },
	    { "new_dst", "\"[2001:db8::1]:443" } },
	  PFX " connect" WHO " proto=tcp orig_dst=[2001:db8::1]:443"
	      " new_dst=[2001:db8::1]:443 route=direct result=ok" },
	{ "connect, UDP to a v4-mapped address", EK_CONNECT_UDP,
	  { { "proto", "\"udp" },
	    { "orig_dst", "\"192.0.2.53:53" },
	    { "new_dst", "\"192.0.2.53:53" } },
	  NULL },
	{ "redirect", EK_REDIRECT,
	  { { "event", "\"redirect" },
	    { "new_dst", "\"127.0.0.1:1080" },
	    { "route", "\"redirect" } },
	  PFX " redirect" WHO " proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=127.0.0.1:1080 route=redirect result=ok" },
	{ "redirect of IPv6 to v4-mapped", EK_REDIRECT_V6_TO_MAPPED,
	  { { "event", "\"redirect" },
	    { "orig_dst", "\"[2001:db8::1]:443" },
	    { "new_dst", "\"127.0.0.1:1080" },
	    { "route", "\"redirect" } },
	  NULL },
	{ "redirect failed, EAFNOSUPPORT", EK_REDIRECT_EAFNOSUPPORT,
	  { { "event", "\"redirect" },
	    { "route", "\"redirect" },
	    { "result", "\"error" },
	    { "error", "\"EAFNOSUPPORT" } },
	  NULL },
	{ "block", EK_BLOCK,
	  { { "event", "\"block" },
	    { "new_dst", "null" },
	    { "route", "\"block" },
	    { "result", "\"blocked" },
	    { "error", "\"ECONNREFUSED" } },
	  PFX " block" WHO " proto=tcp orig_dst=198.51.100.7:80"
	      " route=block result=blocked error=ECONNREFUSED" },
	{ "block of unconnected UDP, EPERM", EK_BLOCK_UDP_EPERM,
	  { { "event", "\"block" },
	    { "proto", "\"udp" },
	    { "orig_dst", "\"[2001:db8::53]:5353" },
	    { "new_dst", "null" },
	    { "route", "\"block" },
	    { "result", "\"blocked" },
	    { "error", "\"EPERM" } },
	  NULL },
	{ "end", EK_END,
	  { { "event", "\"end" },
	    { "bytes_out", "100" },
	    { "bytes_in", "2000" },
	    { "duration_ms", "1.235" } },
	  PFX " end" WHO " proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=198.51.100.7:80 route=direct bytes_out=100"
	      " bytes_in=2000 duration_ms=1.235 result=ok" },
	{ "end, never established", EK_END_FAILED,
	  { { "event", "\"end" },
	    { "bytes_out", "0" },
	    { "bytes_in", "0" },
	    { "duration_ms", "3000.000" },
	    { "result", "\"failed" } },
	  NULL },
	{ "end, zero bytes and duration", EK_END_ZERO,
	  { { "event", "\"end" },
	    { "bytes_out", "0" },
	    { "bytes_in", "0" },
	    { "duration_ms", "0.000" } },
	  NULL },
	{ "create", EK_CREATE,
	  { { "event", "\"create" },
	    { "orig_dst", "null" },
	    { "new_dst", "null" },
	    { "route", "null" },
	    { "result", "null" } },
	  PFX " create" WHO " proto=tcp" },
	{ "exe_partial", EK_PARTIAL,
	  { { "exe", "\"curl" }, { "exe_partial", "true" } },
	  PFX " connect pid=4242 comm=curl exe=curl exe_partial=1 uid=1000"
	      " cgroup_id=12345 id=77 proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=198.51.100.7:80 route=direct result=ok" },
	{ "no exe", EK_NO_EXE, { { "exe", "null" } },
	  PFX " connect pid=4242 comm=curl uid=1000"
	      " cgroup_id=12345 id=77 proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=198.51.100.7:80 route=direct result=ok" },
	{ "NULL comm", EK_NULL_COMM, { { "comm", "\"" } }, NULL },
	{ "unknown errno", EK_UNKNOWN_ERRNO,
	  { { "event", "\"redirect" },
	    { "route", "\"redirect" },
	    { "result", "\"error" },
	    { "error", "\"EUNKNOWN" } },
	  NULL },
	{ "relay end with its proxy chain", EK_DIVERT_END,
	  { { "event", "\"end" },
	    { "route", "\"socks5://192.0.2.10:1080,http://203.0.113.5:3128" },
	    { "bytes_out", "1" },
	    { "bytes_in", "2" },
	    { "duration_ms", "0.001" },
	    { "handshake", "\"optimistic" },
	    { "handshake_ms", "1.235" } },
	  NULL },
	{ "relay failure with detail", EK_DIVERT_FAILED,
	  { { "event", "\"end" },
	    { "route", "\"socks5://192.0.2.10:1080" },
	    { "bytes_out", "0" },
	    { "bytes_in", "0" },
	    { "duration_ms", "0.000" },
	    { "result", "\"error" },
	    { "error", "\"ECONNREFUSED" },
	    { "detail",
	      "\"socks5 reply 0x05 connection refused from 192.0.2.10:1080" } },
	  PFX " end" WHO " proto=tcp orig_dst=198.51.100.7:80"
	      " new_dst=198.51.100.7:80 route=socks5://192.0.2.10:1080"
	      " bytes_out=0 bytes_in=0 duration_ms=0.000 result=error"
	      " error=ECONNREFUSED"
	      " detail=\"socks5 reply 0x05 connection refused from"
	      " 192.0.2.10:1080\"" },
};
/* clang-format on */

static int format_alloc(const struct nh_event *ev, unsigned int flags,
			char **out)
{
	int n = nh_event_format(ev, flags, NULL, 0);

	assert_true(n > 0);
	*out = malloc((size_t)n + 1);
	assert_non_null(*out);
	assert_int_equal(nh_event_format(ev, flags, *out, (size_t)n + 1), n);
	assert_int_equal(strlen(*out), (size_t)n);
	return n;
}

/* every schema field, once, with the right JSON type */
static void check_schema(const struct jdoc *d)
{
	const struct jmember *m;
	int i;

	for (i = 0; i < NFIELDS; i++) {
		const char *k = schema_keys[i];

		m = jget(d, k);
		if (!m)
			fail_msg("field %s missing", k);
		if (!strcmp(k, "ts") || !strcmp(k, "event") ||
		    !strcmp(k, "comm") || !strcmp(k, "proto"))
			assert_int_equal(m->type, J_STR);
		else if (!strcmp(k, "pid") || !strcmp(k, "uid") ||
			 !strcmp(k, "cgroup_id"))
			assert_int_equal(m->type, J_NUM);
		else if (!strcmp(k, "exe_partial"))
			assert_int_equal(m->type, J_BOOL);
		else if (!strcmp(k, "bytes_out") || !strcmp(k, "bytes_in") ||
			 !strcmp(k, "duration_ms") || !strcmp(k, "id") ||
			 !strcmp(k, "handshake_ms"))
			assert_true(m->type == J_NUM || m->type == J_NULL);
		else
			assert_true(m->type == J_STR || m->type == J_NULL);
	}
	if (d->n != NFIELDS)
		fail_msg("%d fields, the schema has %d", d->n, NFIELDS);
}

static void check_field(const struct jdoc *d, const struct field *f)
{
	const struct jmember *m = jget(d, f->key);

	assert_non_null(m);
	if (f->want[0] == '"') {
		if (m->type != J_STR)
			fail_msg("%s: a string expected, got %s", f->key,
				 m->val);
		assert_string_equal(m->val, f->want + 1);
	} else {
		assert_int_not_equal(m->type, J_STR);
		assert_string_equal(m->val, f->want);
	}
}

static void test_json_event(void **state)
{
	const struct ev_case *c = *state;
	struct jdoc *d = malloc(sizeof(*d));
	struct nh_event ev;
	const char *why;
	char *line;
	int i, j;

	assert_non_null(d);
	make_event(c->kind, &ev);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		fail_msg("invalid JSON (%s): %s", why, line);
	check_schema(d);
	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &connect_json[i];

		for (j = 0; j < NFIELDS && c->json[j].key; j++)
			if (!strcmp(c->json[j].key, f->key))
				f = &c->json[j];
		check_field(d, f);
	}
	free(line);
	free(d);
}

/* text: "TS EVENT key=value ...", no blank or control inside a value */
/* clang-format off */
static const char *const text_keys[] = {
	"pid",	 "comm",     "exe",	 "exe_partial", "uid",	"cgroup_id",
	"id", "proto", "orig_dst", "name", "new_dst", "route",	"bytes_out",
	"bytes_in", "duration_ms", "handshake", "handshake_ms", "result",
	"error", NULL,
};
/* clang-format on */

static void check_text_line(const char *line)
{
	const char *p, *sp, *eq;
	size_t klen;
	int i, tok = 0;

	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control character in: %s", line);
	for (p = line; *p; p = *sp ? sp + 1 : sp, tok++) {
		if (!strncmp(p, "detail=\"", 8)) {
			/* the one quoted value, last */
			sp = strchr(p + 8, '"');
			assert_non_null(sp);
			assert_int_equal(sp[1], '\0');
			assert_null(memchr(p + 8, '"', (size_t)(sp - p - 8)));
			break;
		}
		sp = strchr(p, ' ');
		if (!sp)
			sp = p + strlen(p);
		assert_true(sp > p); /* no empty token: no double blank */
		if (tok < 2)
			continue; /* TS EVENT */
		eq = memchr(p, '=', (size_t)(sp - p));
		if (!eq)
			fail_msg("token %d without '=' in: %s", tok, line);
		klen = (size_t)(eq - p);
		for (i = 0; text_keys[i]; i++)
			if (strlen(text_keys[i]) == klen &&
			    !strncmp(text_keys[i], p, klen))
				break;
		if (!text_keys[i])
			fail_msg("unknown key '%.*s' in: %s", (int)klen, p,
				 line);
	}
	assert_true(tok >= 2);
}

static void test_text_event(void **state)
{
	const struct ev_case *c = *state;
	struct nh_event ev;
	char *line;

	make_event(c->kind, &ev);
	format_alloc(&ev, 0, &line);
	check_text_line(line);
	if (c->text)
		assert_string_equal(line, c->text);
	free(line);
}

/* ---- hostile strings from programs ---- */

struct hostile {
	const char *name;
	const char *comm;
	const char *exe;
	const char *detail;
	const char *text_comm; /* comm as the text form writes it */
	const char *text_exe;
};

/* clang-format off */
static const struct hostile hostile_cases[] = {
	{ "quotes and backslashes", "a\"b\\c", "/tmp/\"x\"\\y\\", NULL,
	  "a\"b\\c", "/tmp/\"x\"\\y\\" },
	{ "newline, tab, CR", "ev\nil", "/tmp/a b\r\n\tc", NULL, "ev?il",
	  "/tmp/a?b???c" },
	{ "every control character", "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
				     "\x0e\x0f\x10\x1f",
	  "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b[31m\x1c\x1d\x1e\x7f",
	  NULL, "??????????????", "???????????[31m????" },
	{ "JSON injection", "\",\"pid\":1,\"x\":\"",
	  "/x\",\"exe_partial\":true,\"event\":\"end", NULL,
	  "\",\"pid\":1,\"x\":\"", "/x\",\"exe_partial\":true,\"event\":\"end" },
	{ "text injection", "x result=ok", "/bin/sh pid=1", NULL,
	  "x?result=ok", "/bin/sh?pid=1" },
	{ "unicode", "caf\xc3\xa9", "/opt/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80",
	  NULL, "caf\xc3\xa9", "/opt/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80" },
	{ "empty strings", "", "", NULL, "", "" },
	{ "hostile detail", "curl", "/usr/bin/curl",
	  "proxy said \"no\"\n\\ \x01 done", "curl", "/usr/bin/curl" },
};
/* clang-format on */

static void hostile_event(const struct hostile *h, struct nh_event *ev)
{
	make_event(EK_END, ev);
	ev->comm = h->comm;
	ev->exe = h->exe;
	ev->detail = h->detail;
	if (h->detail)
		ev->err = EPROTO;
}

static void test_hostile_json(void **state)
{
	const struct hostile *h = *state;
	struct jdoc *d = malloc(sizeof(*d));
	const struct jmember *m;
	struct nh_event ev;
	const char *why;
	char *line;

	assert_non_null(d);
	hostile_event(h, &ev);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		fail_msg("invalid JSON (%s): %s", why, line);
	check_schema(d);
	m = jget(d, "comm");
	assert_string_equal(m->val, h->comm);
	m = jget(d, "exe");
	assert_string_equal(m->val, h->exe);
	if (h->detail) {
		m = jget(d, "detail");
		assert_int_equal(m->type, J_STR);
		assert_string_equal(m->val, h->detail);
	}
	/* the fields around them are intact */
	assert_string_equal(jget(d, "pid")->val, "4242");
	assert_string_equal(jget(d, "event")->val, "end");
	assert_string_equal(jget(d, "exe_partial")->val, "false");
	free(line);
	free(d);
}

static void test_hostile_text(void **state)
{
	const struct hostile *h = *state;
	struct nh_event ev;
	char want[1024];
	char *line;

	hostile_event(h, &ev);
	format_alloc(&ev, 0, &line);
	check_text_line(line);
	snprintf(want, sizeof(want), " pid=4242 comm=%s exe=%s uid=1000 ",
		 h->text_comm, h->text_exe);
	if (!strstr(line, want))
		fail_msg("'%s' not in: %s", want, line);
	free(line);
}

/*
 * Bytes that are not UTF-8: a comm is any 15 bytes (and the kernel cuts a
 * long name in the middle of a character), a path any bytes.  JSON text
 * must be UTF-8 (RFC 8259 section 8.1), so these must come out escaped or
 * replaced, never raw.
 */
/* clang-format off */
static const char *const bad_utf8[] = {
	"\xff\xfe",
	"/opt/\xc3\x28/bin",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82", /* cut */
};
/* clang-format on */

static void test_non_utf8_json(void **state)
{
	const char *s = *state;
	struct jdoc *d = malloc(sizeof(*d));
	struct nh_event ev;
	const char *why;
	char *line;

	assert_non_null(d);
	make_event(EK_CONNECT, &ev);
	ev.comm = s;
	ev.exe = s;
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		print_error("# invalid JSON (%s): %s\n", why, nh_q(line));
	free(d);
	free(line);
	if (why)
		fail();
}

/* ---- timestamps: RFC 3339, UTC, microseconds, truncated ---- */

struct ts_case {
	uint64_t ns;
	const char *want;
};

/* clang-format off */
static const struct ts_case ts_cases[] = {
	{ 0, "1970-01-01T00:00:00.000000Z" },
	{ 1, "1970-01-01T00:00:00.000000Z" },
	{ 999, "1970-01-01T00:00:00.000000Z" },
	{ 1000, "1970-01-01T00:00:00.000001Z" },
	{ 999999999, "1970-01-01T00:00:00.999999Z" },
	{ 1000000000, "1970-01-01T00:00:01.000000Z" },
	{ TS_NS, TS_TEXT },
	{ 951782400000000999ull, "2000-02-29T00:00:00.000000Z" },
	{ 4102444799999999999ull, "2099-12-31T23:59:59.999999Z" },
	{ 18446744073709551615ull, "2554-07-21T23:34:33.709551Z" },
};
/* clang-format on */

static void test_ts(void **state)
{
	const struct ts_case *c = *state;
	struct jdoc *d = malloc(sizeof(*d));
	struct nh_event ev;
	char *line;
	size_t n = strlen(c->want);

	assert_non_null(d);
	make_event(EK_CONNECT, &ev);
	ev.ts_ns = c->ns;
	format_alloc(&ev, 0, &line);
	assert_true(strlen(line) > n);
	assert_memory_equal(line, c->want, n);
	assert_int_equal(line[n], ' ');
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	assert_null(json_flat(line, d));
	assert_string_equal(jget(d, "ts")->val, c->want);
	free(line);
	free(d);
}

/* ---- truncation: like snprintf, never past len ---- */

struct trunc_case {
	const char *name;
	enum ev_kind kind;
	int hostile; /* index into hostile_cases, or -1 */
	unsigned int flags;
};

/* clang-format off */
static const struct trunc_case trunc_cases[] = {
	{ "text connect", EK_CONNECT, -1, 0 },
	{ "JSON connect", EK_CONNECT, -1, NH_FORMAT_JSON },
	{ "text end", EK_END, -1, 0 },
	{ "JSON create", EK_CREATE, -1, NH_FORMAT_JSON },
	{ "text relay failure with detail", EK_DIVERT_FAILED, -1, 0 },
	{ "JSON relay failure with detail", EK_DIVERT_FAILED, -1,
	  NH_FORMAT_JSON },
	{ "JSON control characters", EK_END, 2, NH_FORMAT_JSON },
	{ "text control characters", EK_END, 2, 0 },
	{ "JSON hostile detail", EK_END, 7, NH_FORMAT_JSON },
};
/* clang-format on */

static void test_truncation(void **state)
{
	const struct trunc_case *c = *state;
	struct nh_event ev;
	char *full, *b;
	size_t len, want;
	int n;

	if (c->hostile >= 0)
		hostile_event(&hostile_cases[c->hostile], &ev);
	else
		make_event(c->kind, &ev);
	n = format_alloc(&ev, c->flags, &full);
	/* every length from nothing to more than enough, each buffer
	 * exactly that big on the heap: ASan sees one byte too many */
	for (len = 0; len <= (size_t)n + 2; len++) {
		b = len ? malloc(len) : NULL;
		if (len)
			memset(b, 'Z', len);
		assert_int_equal(nh_event_format(&ev, c->flags, b, len), n);
		if (len) {
			want = len - 1 < (size_t)n ? len - 1 : (size_t)n;
			assert_int_equal(b[want], '\0');
			assert_memory_equal(b, full, want);
		}
		free(b);
	}
	free(full);
}

/* ---- nh_event_from_bpf: the kernel's record into struct nh_event ---- */

static void test_from_bpf(void **state)
{
	struct nh_bpf_event be;
	struct nh_event ev;
	char *line;

	(void)state;
	memset(&be, 0, sizeof(be));
	be.type = NH_EV_REDIRECT;
	be.pid = 31337;
	be.ts_ns = 5000;
	be.cookie = 99;
	be.cgroup_id = 7;
	be.uid = 65534;
	be.proto = IPPROTO_TCP;
	be.family = 6;
	be.action = NH_ACT_REDIRECT;
	memcpy(be.comm, "wget", 5);
	/* an IPv6 socket to a v4-mapped destination, redirected to IPv4
	 * loopback reached as ::ffff:127.0.0.1 */
	assert_int_equal(
		inet_pton(AF_INET6, "::ffff:198.51.100.7", be.orig.addr), 1);
	be.orig.port = 80;
	be.orig.family = 4;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", be.dst.addr),
			 1);
	be.dst.port = 1080;
	be.dst.family = 6;
	nh_event_from_bpf(&be, (int64_t)TS_NS - 5000, &ev);
	assert_int_equal(ev.sz, sizeof(ev));
	assert_int_equal(ev.type, NH_EVENT_REDIRECT);
	assert_int_equal(ev.ts_ns, TS_NS);
	assert_int_equal(ev.pid, 31337);
	assert_int_equal(ev.uid, 65534);
	assert_int_equal(ev.cgroup_id, 7);
	assert_int_equal(ev.cookie, 99);
	assert_int_equal(ev.route, NH_ROUTE_REDIRECT);
	assert_int_equal(ev.orig_dst.ss_family, AF_INET);
	assert_int_equal(ev.new_dst.ss_family, AF_INET6);
	ev.comm = "wget";
	ev.exe = "/usr/bin/wget";
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " orig_dst=198.51.100.7:80 "
				     "new_dst=127.0.0.1:1080 route=redirect "));
	free(line);
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_null(nh_errno_name(0));
	assert_string_equal(nh_errno_name(ECONNREFUSED), "ECONNREFUSED");
	assert_string_equal(nh_errno_name(EPERM), "EPERM");
	assert_string_equal(nh_errno_name(EAFNOSUPPORT), "EAFNOSUPPORT");
	assert_string_equal(nh_errno_name(ENETUNREACH), "ENETUNREACH");
	assert_string_equal(nh_errno_name(ETIMEDOUT), "ETIMEDOUT");
	assert_string_equal(nh_errno_name(EACCES), "EACCES");
	assert_string_equal(nh_errno_name(EPROTO), "EPROTO");
	assert_string_equal(nh_errno_name(ENOBUFS), "ENOBUFS");
	assert_string_equal(nh_errno_name(-1), "EUNKNOWN");
}

/* A caller built before route_desc and detail existed: sz ends there, and
 * whatever lies past it is not read. */
static void test_old_sz(void **state)
{
	struct nh_event ev;
	char *line;

	(void)state;
	make_event(EK_CONNECT, &ev);
	ev.sz = offsetof(struct nh_event, route_desc);
	ev.route_desc = (const char *)1; /* would crash if read */
	ev.detail = (const char *)1;
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " route=direct "));
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	assert_non_null(strstr(line, "\"detail\":null"));
	free(line);
}

/* A connection to the resolver's address for a name is logged by name;
 * the address the program used stays in new_dst. */
static void test_named(void **state)
{
	struct sockaddr_in *o4;
	struct nh_event ev;
	char *line;

	(void)state;
	make_event(EK_CONNECT, &ev);
	o4 = (void *)&ev.orig_dst;
	o4->sin_family = AF_INET;
	o4->sin_port = htons(8080);
	o4->sin_addr.s_addr = htonl(0xc6120007);
	ev.new_dst = ev.orig_dst;
	ev.orig_name = "web.example";
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " orig_dst=web.example:8080 "));
	assert_non_null(strstr(line, " new_dst=198.18.0.7:8080 "));
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	assert_non_null(strstr(line, "\"orig_dst\":\"web.example:8080\""));
	/* the name in a field of its own too, for who reads only that */
	assert_non_null(strstr(line, "\"name\":\"web.example\""));
	free(line);
	ev.dst_name = "web.example";
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " orig_dst=web.example:8080"
				     " name=web.example new_dst="));
	free(line);
	/* an older caller's struct ends before dst_name: orig_name it is */
	ev.sz = offsetof(struct nh_event, dst_name);
	ev.dst_name = (const char *)1;
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " name=web.example "));
	free(line);
	/* ... or before orig_name: neither is read */
	ev.sz = offsetof(struct nh_event, orig_name);
	ev.orig_name = (const char *)1;
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " orig_dst=198.18.0.7:8080 "));
	assert_null(strstr(line, "name="));
	free(line);
}

/* A real address named by the DNS answer the program got (NH_DNS_WATCH):
 * orig_dst stays the address, the name is beside it. */
static void test_watched_name(void **state)
{
	struct jdoc *d = malloc(sizeof(*d));
	struct nh_event ev;
	const char *why;
	char *line;

	(void)state;
	assert_non_null(d);
	make_event(EK_END, &ev);
	ev.dst_name = "web.example";
	format_alloc(&ev, 0, &line);
	check_text_line(line);
	assert_string_equal(line,
			    PFX " end" WHO " proto=tcp orig_dst=198.51.100.7:80"
				" name=web.example new_dst=198.51.100.7:80"
				" route=direct bytes_out=100 bytes_in=2000"
				" duration_ms=1.235 result=ok");
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		fail_msg("invalid JSON (%s): %s", why, line);
	check_schema(d);
	check_field(d, &(struct field){ "orig_dst", "\"198.51.100.7:80" });
	check_field(d, &(struct field){ "name", "\"web.example" });
	free(line);
	/* a name is text from the network: no blank, no quote breaks out */
	ev.dst_name = "a b\"c";
	format_alloc(&ev, 0, &line);
	check_text_line(line);
	assert_non_null(strstr(line, " name=a?b\"c "));
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	assert_null(json_flat(line, d));
	check_field(d, &(struct field){ "name", "\"a b\"c" });
	free(line);
	/* no destination, no name */
	make_event(EK_CREATE, &ev);
	ev.dst_name = "web.example";
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	assert_non_null(strstr(line, "\"name\":null"));
	free(line);
	free(d);
}

/* What the resolver answered: its own fields, valid JSON. */
static void test_dns_event(void **state)
{
	struct jdoc *d = malloc(sizeof(*d));
	struct sockaddr_in *a4;
	struct nh_event ev;
	const char *why;
	char *line;

	(void)state;
	assert_non_null(d);
	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = NH_EVENT_DNS;
	ev.ts_ns = 1765130149465000000ull;
	ev.orig_name = "web.example";
	ev.dns_type = 1;
	a4 = (void *)&ev.new_dst;
	a4->sin_family = AF_INET;
	a4->sin_addr.s_addr = htonl(0xc6120001);
	ev.route_desc = "pool";
	format_alloc(&ev, 0, &line);
	assert_non_null(strstr(line, " dns name=web.example type=A "
				     "answer=198.18.0.1 rcode=NOERROR "
				     "route=pool"));
	free(line);
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		fail_msg("invalid JSON (%s): %s", why, line);
	assert_non_null(strstr(line, "\"type\":\"A\""));
	free(line);
	/* no address given (a type with no record), a hostile name */
	ev.new_dst.ss_family = AF_UNSPEC;
	ev.dns_type = 65;
	ev.dns_rcode = 3;
	ev.orig_name = "a b\"c";
	format_alloc(&ev, NH_FORMAT_JSON, &line);
	why = json_flat(line, d);
	if (why)
		fail_msg("invalid JSON (%s): %s", why, line);
	assert_non_null(strstr(line, "\"answer\":null"));
	assert_non_null(strstr(line, "\"rcode\":\"NXDOMAIN\""));
	assert_non_null(strstr(line, "\"type\":\"HTTPS\""));
	free(line);
	free(d);
}

/* nh_version() is the header's version, not the macros' names */
static void test_version(void **state)
{
	char want[32];

	(void)state;
	snprintf(want, sizeof(want), "%d.%d.%d", NETHOOK_VERSION_MAJOR,
		 NETHOOK_VERSION_MINOR, NETHOOK_VERSION_PATCH);
	assert_string_equal(nh_version(), want);
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	for (i = 0; i < sizeof(json_good) / sizeof(json_good[0]); i++)
		nh_tests_add(&ts, test_json_good, (void *)json_good[i],
			     "JSON checker accepts %s", nh_q(json_good[i]));
	for (i = 0; i < sizeof(json_bad) / sizeof(json_bad[0]); i++)
		nh_tests_add(&ts, test_json_bad, (void *)json_bad[i],
			     "JSON checker rejects %s", nh_q(json_bad[i]));
	for (i = 0; i < sizeof(ev_cases) / sizeof(ev_cases[0]); i++) {
		nh_tests_add(&ts, test_json_event, (void *)&ev_cases[i],
			     "JSON %s", ev_cases[i].name);
		nh_tests_add(&ts, test_text_event, (void *)&ev_cases[i],
			     "text %s", ev_cases[i].name);
	}
	for (i = 0; i < sizeof(hostile_cases) / sizeof(hostile_cases[0]); i++) {
		nh_tests_add(&ts, test_hostile_json, (void *)&hostile_cases[i],
			     "JSON escapes hostile comm/exe: %s",
			     hostile_cases[i].name);
		nh_tests_add(&ts, test_hostile_text, (void *)&hostile_cases[i],
			     "text keeps hostile comm/exe to one token: %s",
			     hostile_cases[i].name);
	}
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
		nh_tests_add(&ts, test_non_utf8_json, (void *)bad_utf8[i],
			     "JSON stays valid UTF-8 with comm/exe %s",
			     nh_q(bad_utf8[i]));
	for (i = 0; i < sizeof(ts_cases) / sizeof(ts_cases[0]); i++)
		nh_tests_add(&ts, test_ts, (void *)&ts_cases[i],
			     "timestamp %llu ns is %s",
			     (unsigned long long)ts_cases[i].ns,
			     ts_cases[i].want);
	for (i = 0; i < sizeof(trunc_cases) / sizeof(trunc_cases[0]); i++)
		nh_tests_add(&ts, test_truncation, (void *)&trunc_cases[i],
			     "truncation like snprintf: %s",
			     trunc_cases[i].name);
	nh_tests_add(&ts, test_from_bpf, NULL,
		     "from the kernel's record: v4-mapped as IPv4");
	nh_tests_add(&ts, test_errno_names, NULL, "errno names");
	nh_tests_add(&ts, test_version, NULL, "nh_version()");
	nh_tests_add(&ts, test_old_sz, NULL,
		     "struct nh_event without route_desc and detail");
	nh_tests_add(&ts, test_named, NULL,
		     "a pool destination is logged by its name");
	nh_tests_add(
		&ts, test_watched_name, NULL,
		"a watched name: orig_dst stays the address, name beside it");
	nh_tests_add(&ts, test_dns_event, NULL,
		     "dns lines: the resolver's answers");
	return nh_tests_run(&ts, "event");
}
