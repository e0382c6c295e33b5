// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nh_rule_compile(): public struct nh_rule into the kernel's rule record;
 * nh_rule_check(), the public API's word on the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>
#include "nh_base.h"
#include "nethook/nethook.h"
#include "nh_rule.h"
#include "nh_rule_match.h"
#include "nh_test.h"

/* Targets, by name */
enum target {
	T_NONE,
	T_V4, /* 192.0.2.1:1080 as sockaddr_in */
	T_V6, /* [2001:db8::1]:443 as sockaddr_in6 */
	T_V4MAPPED, /* [::ffff:127.0.0.1]:1080 as sockaddr_in6 */
	T_PORT0, /* 192.0.2.1:0 */
	T_PORT0_V6, /* [2001:db8::1]:0 */
	T_UNIX, /* AF_UNIX */
};

/* clang-format off */
static const char *const target_names[] = {
	[T_NONE] = "none",
	[T_V4] = "192.0.2.1:1080",
	[T_V6] = "[2001:db8::1]:443",
	[T_V4MAPPED] = "[::ffff:127.0.0.1]:1080",
	[T_PORT0] = "192.0.2.1:0",
	[T_PORT0_V6] = "[2001:db8::1]:0",
	[T_UNIX] = "AF_UNIX",
};
/* clang-format on */

static const struct sockaddr *make_target(enum target t,
					  struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	struct sockaddr_un *un = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (t) {
	case T_NONE:
		return NULL;
	case T_V4:
	case T_PORT0:
		in->sin_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &in->sin_addr);
		in->sin_port = htons(t == T_V4 ? 1080 : 0);
		break;
	case T_V6:
	case T_PORT0_V6:
		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
		in6->sin6_port = htons(t == T_V6 ? 443 : 0);
		break;
	case T_V4MAPPED:
		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
		in6->sin6_port = htons(1080);
		break;
	case T_UNIX:
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, "/tmp/nethook-test");
		break;
	}
	return (const void *)ss;
}

#define TCP NH_RULE_TCP
#define UDP NH_RULE_UDP
#define ANY_PORTS 0, 65535

struct compile_case {
	const char *what;
	int action;
	const char *match;
	enum target target;
	int err;
	unsigned int protos;
	/* expected */
	int ret;
	int act; /* enum nh_act */
	int out_protos;
	const char *net; /* IPv6 form */
	int prefix;
	int lo, hi;
	int out_err; /* errno connect() gets (0 in the record = ECONNREFUSED) */
	int tfamily; /* target family in the record */
	const char *taddr;
	int tport;
};

/* a rule compile refuses: only the inputs and the error matter */
#define BAD(w, a, m, t, e, p, r)                                         \
	{                                                                \
		.what = (w), .action = (a), .match = (m), .target = (t), \
		.err = (e), .protos = (p), .ret = (r)                    \
	}

/* clang-format off */
static const struct compile_case compile_cases[] = {
	/* PASS */
	{ "pass everything", NH_RULE_PASS, NULL, T_NONE, 0, 0, 0, NH_ACT_PASS,
	  TCP | UDP, "::", 0, ANY_PORTS, 0, 0, NULL, 0 },
	{ "pass empty match", NH_RULE_PASS, "", T_NONE, 0, 0, 0, NH_ACT_PASS,
	  TCP | UDP, "::", 0, ANY_PORTS, 0, 0, NULL, 0 },
	{ "pass loopback", NH_RULE_PASS, "127.0.0.0/8", T_NONE, 0, 0, 0,
	  NH_ACT_PASS, TCP | UDP, "::ffff:127.0.0.0", 104, ANY_PORTS, 0, 0,
	  NULL, 0 },
	{ "pass udp only", NH_RULE_PASS, "[::1]", T_NONE, 0, UDP, 0,
	  NH_ACT_PASS, UDP, "::1", 128, ANY_PORTS, 0, 0, NULL, 0 },
	{ "pass tcp only", NH_RULE_PASS, "[::1]", T_NONE, 0, TCP, 0,
	  NH_ACT_PASS, TCP, "::1", 128, ANY_PORTS, 0, 0, NULL, 0 },
	/* a target on PASS is ignored */
	{ "pass with a target", NH_RULE_PASS, NULL, T_V4, 0, 0, 0, NH_ACT_PASS,
	  TCP | UDP, "::", 0, ANY_PORTS, 0, 0, NULL, 0 },
	/* BLOCK */
	{ "block default errno", NH_RULE_BLOCK, "198.51.100.0/24:443", T_NONE,
	  0, 0, 0, NH_ACT_BLOCK, TCP | UDP, "::ffff:198.51.100.0", 120, 443,
	  443, ECONNREFUSED, 0, NULL, 0 },
	{ "block EPERM", NH_RULE_BLOCK, "[2001:db8::/32]:80-90", T_NONE, EPERM,
	  0, 0, NH_ACT_BLOCK, TCP | UDP, "2001:db8::", 32, 80, 90, EPERM, 0,
	  NULL, 0 },
	{ "block ENETUNREACH tcp", NH_RULE_BLOCK, NULL, T_NONE, ENETUNREACH,
	  TCP, 0, NH_ACT_BLOCK, TCP, "::", 0, ANY_PORTS, ENETUNREACH, 0, NULL,
	  0 },
	{ "block udp only", NH_RULE_BLOCK, NULL, T_NONE, 0, UDP, 0,
	  NH_ACT_BLOCK, UDP, "::", 0, ANY_PORTS, ECONNREFUSED, 0, NULL, 0 },
	{ "block errno 4095", NH_RULE_BLOCK, NULL, T_NONE, 4095, 0, 0,
	  NH_ACT_BLOCK, TCP | UDP, "::", 0, ANY_PORTS, 4095, 0, NULL, 0 },
	BAD("block errno -1", NH_RULE_BLOCK, NULL, T_NONE, -1, 0, -EINVAL),
	BAD("block errno -EPERM", NH_RULE_BLOCK, NULL, T_NONE, -EPERM, 0, -EINVAL),
	BAD("block errno 4096", NH_RULE_BLOCK, NULL, T_NONE, 4096, 0, -EINVAL),
	BAD("block errno INT_MAX", NH_RULE_BLOCK, NULL, T_NONE, 0x7fffffff, 0, -EINVAL),
	/* REDIRECT */
	{ "redirect to IPv4", NH_RULE_REDIRECT, NULL, T_V4, 0, 0, 0,
	  NH_ACT_REDIRECT, TCP, "::", 0, ANY_PORTS, 0, 4, "::ffff:192.0.2.1",
	  1080 },
	{ "redirect tcp explicitly", NH_RULE_REDIRECT, "203.0.113.0/24", T_V4,
	  0, TCP, 0, NH_ACT_REDIRECT, TCP, "::ffff:203.0.113.0", 120,
	  ANY_PORTS, 0, 4, "::ffff:192.0.2.1", 1080 },
	{ "redirect to IPv6", NH_RULE_REDIRECT, "[2001:db8::/32]", T_V6, 0, 0,
	  0, NH_ACT_REDIRECT, TCP, "2001:db8::", 32, ANY_PORTS, 0, 6,
	  "2001:db8::1", 443 },
	{ "redirect to v4-mapped sockaddr_in6 is family 4", NH_RULE_REDIRECT,
	  NULL, T_V4MAPPED, 0, 0, 0, NH_ACT_REDIRECT, TCP, "::", 0, ANY_PORTS,
	  0, 4, "::ffff:127.0.0.1", 1080 },
	BAD("redirect udp", NH_RULE_REDIRECT, NULL, T_V4, 0, UDP, -EOPNOTSUPP),
	BAD("redirect tcp+udp", NH_RULE_REDIRECT, NULL, T_V4, 0, TCP | UDP, -EOPNOTSUPP),
	BAD("redirect without target", NH_RULE_REDIRECT, NULL, T_NONE, 0, 0, -EINVAL),
	BAD("redirect to port 0", NH_RULE_REDIRECT, NULL, T_PORT0, 0, 0, -EINVAL),
	BAD("redirect to IPv6 port 0", NH_RULE_REDIRECT, NULL, T_PORT0_V6, 0, 0, -EINVAL),
	BAD("redirect to AF_UNIX", NH_RULE_REDIRECT, NULL, T_UNIX, 0, 0, -EAFNOSUPPORT),
	BAD("redirect bad match", NH_RULE_REDIRECT, "1.2.3", T_V4, 0, 0, -EINVAL),
	/* DIVERT: TCP only; the target is the relay's, filled in later */
	{ "divert", NH_RULE_DIVERT, "192.0.2.0/24:80", T_NONE, 0, 0, 0,
	  NH_ACT_DIVERT, TCP, "::ffff:192.0.2.0", 120, 80, 80, 0, 0, NULL, 0 },
	{ "divert ignores a target", NH_RULE_DIVERT, NULL, T_V4, 0, 0, 0,
	  NH_ACT_DIVERT, TCP, "::", 0, ANY_PORTS, 0, 0, NULL, 0 },
	BAD("divert udp", NH_RULE_DIVERT, NULL, T_NONE, 0, UDP, -EOPNOTSUPP),
	BAD("divert bad match", NH_RULE_DIVERT, "[::1]:", T_NONE, 0, 0,
	    -EINVAL),
	/* bad rules */
	BAD("bad match 1.2.3", NH_RULE_PASS, "1.2.3", T_NONE, 0, 0, -EINVAL),
	BAD("bad match port 0", NH_RULE_BLOCK, "1.2.3.4:0", T_NONE, 0, 0, -EINVAL),
	BAD("bad match /33", NH_RULE_BLOCK, "1.2.3.4/33", T_NONE, 0, 0, -EINVAL),
	BAD("bad match [::1", NH_RULE_PASS, "[::1", T_NONE, 0, 0, -EINVAL),
	BAD("bad protos 0x4", NH_RULE_PASS, NULL, T_NONE, 0, 0x4, -EINVAL),
	BAD("bad protos all bits", NH_RULE_BLOCK, NULL, T_NONE, 0, ~0u, -EINVAL),
	BAD("bad action 42", 42, NULL, T_V4, 0, 0, -EINVAL),
	BAD("bad action -1", -1, NULL, T_V4, 0, 0, -EINVAL),
};
/* clang-format on */

static void test_compile(void **state)
{
	const struct compile_case *c = *state;
	struct sockaddr_storage ss;
	struct nh_bpf_rule out;
	struct nh_rule r;
	__u8 want[16];
	int got_err;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.action = (enum nh_rule_action)c->action;
	r.match = c->match;
	r.target = make_target(c->target, &ss);
	r.err = c->err;
	r.protos = c->protos;
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(nh_rule_compile(&r, &out), c->ret);
	/* the public check says what nh_ctx_add_rule() would, errno too */
	errno = 0;
	assert_int_equal(nh_rule_check(&r), c->ret);
	assert_int_equal(errno, -c->ret);
	if (c->ret)
		return;
	assert_int_equal(out.action, c->act);
	assert_int_equal(out.protos, c->out_protos);
	assert_int_equal(inet_pton(AF_INET6, c->net, want), 1);
	assert_memory_equal(out.addr, want, 16);
	assert_int_equal(out.prefix, c->prefix);
	assert_int_equal(out.port_lo, c->lo);
	assert_int_equal(out.port_hi, c->hi);
	if (c->act == NH_ACT_BLOCK) {
		/* as the kernel program reads it */
		got_err = out.err ? out.err : ECONNREFUSED;
		assert_int_equal(got_err, c->out_err);
	}
	if (c->act == NH_ACT_DIVERT)
		assert_int_equal(out.target.family, 0);
	if (c->tfamily) {
		assert_int_equal(out.target.family, c->tfamily);
		assert_int_equal(inet_pton(AF_INET6, c->taddr, want), 1);
		assert_memory_equal(out.target.addr, want, 16);
		assert_int_equal(out.target.port, c->tport);
	}
}

/* NULL and too-small structs */
static void test_null_rule(void **state)
{
	struct nh_bpf_rule out;

	(void)state;
	assert_int_equal(nh_rule_compile(NULL, &out), -EINVAL);
	assert_int_equal(nh_rule_check(NULL), -EINVAL);
}

static void test_sz_zero(void **state)
{
	struct nh_rule r = { .sz = 0, .action = NH_RULE_PASS };
	struct nh_bpf_rule out;

	(void)state;
	assert_int_equal(nh_rule_compile(&r, &out), -EINVAL);
	r.sz = offsetof(struct nh_rule, match);
	assert_int_equal(nh_rule_compile(&r, &out), -EINVAL);
}

/*
 * A caller built against a header whose struct nh_rule ended before `err`
 * (the smallest sz nh_rule_compile() accepts): the fields past sz are not
 * the caller's and must read as zero, as in every public struct with sz.
 * Here they hold garbage on purpose.
 */
static void test_sz_without_err(void **state)
{
	struct nh_bpf_rule out;
	struct nh_rule r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	r.sz = offsetof(struct nh_rule, err);
	r.action = NH_RULE_BLOCK;
	r.match = "198.51.100.0/24";
	r.target = NULL;
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.action, NH_ACT_BLOCK);
	assert_int_equal(out.protos, NH_PROTO_TCP | NH_PROTO_UDP);
	assert_int_equal(out.err ? out.err : ECONNREFUSED, ECONNREFUSED);
}

static void test_sz_without_protos(void **state)
{
	struct nh_bpf_rule out;
	struct nh_rule r;

	(void)state;
	memset(&r, 0xff, sizeof(r));
	r.sz = offsetof(struct nh_rule, protos);
	r.action = NH_RULE_BLOCK;
	r.match = NULL;
	r.target = NULL;
	r.err = EPERM;
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.protos, NH_PROTO_TCP | NH_PROTO_UDP);
	assert_int_equal(out.err, EPERM);
	assert_int_equal(out.flags, 0);

	/* a caller whose struct ends before flags */
	r.sz = offsetof(struct nh_rule, flags);
	r.protos = NH_RULE_UDP;
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.protos, NH_PROTO_UDP);
	assert_int_equal(out.flags, 0);
}

/* nh_rule.flags: NH_RULE_LOG reaches the kernel's record, nothing else
 * is accepted */
static void test_flags(void **state)
{
	struct sockaddr_storage ss;
	struct nh_bpf_rule out;
	struct nh_rule r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.action = NH_RULE_PASS;
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.flags, 0);
	r.flags = NH_RULE_LOG;
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.flags, NH_RULE_F_LOG);
	r.action = NH_RULE_REDIRECT;
	r.target = make_target(T_V4, &ss);
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(out.flags, NH_RULE_F_LOG);
	r.flags = 0x2;
	assert_int_equal(nh_rule_compile(&r, &out), -EINVAL);
	r.flags = ~0u;
	assert_int_equal(nh_rule_compile(&r, &out), -EINVAL);
}

/* The compiled rule does what its spec says, through the kernel's code */
struct compiled_match {
	int action;
	const char *match;
	unsigned int protos;
	const char *addr; /* IPv6 form */
	int port;
	int proto;
	int want;
};

/* clang-format off */
static const struct compiled_match compiled_cases[] = {
	{ NH_RULE_BLOCK, "198.51.100.0/24:443", 0, "::ffff:198.51.100.7", 443,
	  NH_PROTO_TCP, 1 },
	{ NH_RULE_BLOCK, "198.51.100.0/24:443", 0, "::ffff:198.51.100.7", 443,
	  NH_PROTO_UDP, 1 },
	{ NH_RULE_BLOCK, "198.51.100.0/24:443", 0, "::ffff:198.51.100.7", 80,
	  NH_PROTO_TCP, 0 },
	{ NH_RULE_BLOCK, "198.51.100.0/24:443", 0, "::ffff:198.51.101.7", 443,
	  NH_PROTO_TCP, 0 },
	{ NH_RULE_BLOCK, "198.51.100.0/24", NH_RULE_UDP, "::ffff:198.51.100.7",
	  53, NH_PROTO_TCP, 0 },
	{ NH_RULE_REDIRECT, "[2001:db8::/32]", 0, "2001:db8::1", 80,
	  NH_PROTO_TCP, 1 },
	{ NH_RULE_REDIRECT, "[2001:db8::/32]", 0, "2001:db8::1", 53,
	  NH_PROTO_UDP, 0 },
	{ NH_RULE_PASS, "127.0.0.0/8", 0, "::ffff:127.0.0.53", 53,
	  NH_PROTO_UDP, 1 },
	{ NH_RULE_PASS, "127.0.0.0/8", 0, "::1", 53, NH_PROTO_UDP, 0 },
};
/* clang-format on */

static void test_compiled_match(void **state)
{
	const struct compiled_match *c = *state;
	struct sockaddr_storage ss;
	struct nh_bpf_rule out;
	struct nh_rule r;
	__u8 a[16];

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.action = (enum nh_rule_action)c->action;
	r.match = c->match;
	r.protos = c->protos;
	r.target = make_target(T_V4, &ss);
	assert_int_equal(nh_rule_compile(&r, &out), 0);
	assert_int_equal(inet_pton(AF_INET6, c->addr, a), 1);
	assert_int_equal(!!nh_rule_matches(&out, a, (__u16)c->port,
					   (__u8)c->proto),
			 c->want);
}

static const char *action_name(int a)
{
	switch (a) {
	case NH_RULE_PASS:
		return "pass";
	case NH_RULE_BLOCK:
		return "block";
	case NH_RULE_REDIRECT:
		return "redirect";
	case NH_RULE_DIVERT:
		return "divert";
	default:
		return "?";
	}
}

static const char *ret_name(int r)
{
	switch (r) {
	case 0:
		return "0";
	case -EINVAL:
		return "-EINVAL";
	case -EOPNOTSUPP:
		return "-EOPNOTSUPP";
	case -EAFNOSUPPORT:
		return "-EAFNOSUPPORT";
	default:
		return "?";
	}
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	for (i = 0; i < sizeof(compile_cases) / sizeof(compile_cases[0]); i++) {
		const struct compile_case *c = &compile_cases[i];

		nh_tests_add(&ts, test_compile, (void *)c,
			     "compile %s (match %s target %s): %s", c->what,
			     nh_q(c->match), target_names[c->target],
			     ret_name(c->ret));
	}
	nh_tests_add(&ts, test_null_rule, NULL, "compile NULL rule: -EINVAL");
	nh_tests_add(&ts, test_sz_zero, NULL, "compile sz too small: -EINVAL");
	nh_tests_add(&ts, test_sz_without_err, NULL,
		     "compile sz ending before err: err and protos read as 0");
	nh_tests_add(
		&ts, test_sz_without_protos, NULL,
		"compile sz ending before protos or flags: they read as 0");
	nh_tests_add(&ts, test_flags, NULL,
		     "compile flags: NH_RULE_LOG kept, others -EINVAL");
	for (i = 0; i < sizeof(compiled_cases) / sizeof(compiled_cases[0]);
	     i++) {
		const struct compiled_match *c = &compiled_cases[i];

		nh_tests_add(&ts, test_compiled_match, (void *)c,
			     "compiled %s %s protos %u vs %s port %d %s: %s",
			     action_name(c->action), nh_q(c->match), c->protos,
			     c->addr, c->port,
			     c->proto == NH_PROTO_TCP ? "tcp" : "udp",
			     c->want ? "match" : "no match");
	}
	return nh_tests_run(&ts, "rule");
}
