// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `nethook run` options (src/cli/run_opts.c): cli_run_parse(),
 * cli_run_rules() and cli_parse_events().  The rule list is evaluated
 * exactly as the kernel does: each rule compiled with nh_rule_compile(),
 * walked in order with nh_rule_matches(), first match wins, no match
 * passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include "cli.h"
#include "nh_chain.h" /* the parsed chain, looked into */
#include "nh_base.h"
#include "nethook/nethook.h"
#include "nh_rule.h"
#include "nh_rule_match.h"
#include "nh_spec.h"
#include "nh_test.h"

#define MAXARGS 200
#define MAXRULES 256

enum outcome { PASS, BLOCK, REDIRECT, DIVERT, DNS };

static const char *const outcome_names[] = { "pass", "block", "redirect",
					     "divert", "dns" };

/* A NULL-terminated list of words into a mutable argv, as main() has it. */
struct args {
	int argc;
	char *argv[MAXARGS + 1];
};

static void make_args(struct args *a, const char *const *words)
{
	a->argc = 0;
	while (words[a->argc]) {
		assert_true(a->argc < MAXARGS);
		a->argv[a->argc] = (char *)words[a->argc];
		a->argc++;
	}
	a->argv[a->argc] = NULL;
}

/* The kernel's connect4/6 decision for addr:port over proto. */
static enum outcome evaluate(const struct nh_bpf_rule *rules, int n,
			     const char *dst, int port, __u8 proto,
			     struct nh_bpf_addr *target)
{
	__u8 a[16];
	struct in_addr a4;
	int i;

	if (strchr(dst, ':')) {
		assert_int_equal(inet_pton(AF_INET6, dst, a), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET, dst, &a4), 1);
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &a4, 4);
	}
	for (i = 0; i < n; i++) {
		if (!nh_rule_matches(&rules[i], a, (__u16)port, proto))
			continue;
		switch (rules[i].action) {
		case NH_ACT_PASS:
			return PASS;
		case NH_ACT_BLOCK:
			return BLOCK;
		case NH_ACT_REDIRECT:
			*target = rules[i].target;
			return REDIRECT;
		case NH_ACT_DIVERT:
			return DIVERT;
		case NH_ACT_DNS:
			return DNS;
		default:
			fail_msg("unexpected action %d", rules[i].action);
		}
	}
	return PASS;
}

/*
 * What `nethook run` does with its arguments before it makes rules: parse
 * them, then settle the proxy chain (NETHOOK_PROXY given as env_proxy).
 */
static int parse_all(int argc, char **argv, struct run_opts *o,
		     const char *env_proxy, FILE *err)
{
	int r = cli_run_parse(argc, argv, o, err);

	if (r == 0)
		r = cli_proxy_chain(o, env_proxy, err);
	return r;
}

/* ---- the precedence table ---- */

#define R "--redirect", "127.0.0.1:1080"
#define P "--proxy", "socks5://127.0.0.1:1080"

struct prec_case {
	const char *argv[16]; /* after "run", before "--" COMMAND */
	const char *dst;
	int port;
	int proto; /* NH_PROTO_* */
	enum outcome want;
};

#define TCP NH_PROTO_TCP
#define UDP NH_PROTO_UDP

/* clang-format off */
static const struct prec_case prec_cases[] = {
	/* --redirect alone: everything but loopback */
	{ { R }, "198.51.100.7", 80, TCP, REDIRECT },
	{ { R }, "203.0.113.1", 443, TCP, REDIRECT },
	{ { R }, "2001:db8::1", 443, TCP, REDIRECT },
	{ { R }, "::ffff:198.51.100.7", 80, TCP, REDIRECT },
	{ { R }, "0.0.0.0", 80, TCP, REDIRECT },
	{ { R }, "127.0.0.1", 80, TCP, PASS },
	{ { R }, "127.0.0.0", 1, TCP, PASS },
	{ { R }, "127.1.2.3", 8080, TCP, PASS },
	{ { R }, "127.255.255.255", 65535, TCP, PASS },
	{ { R }, "::1", 80, TCP, PASS },
	{ { R }, "::ffff:127.0.0.1", 80, TCP, PASS },
	{ { R }, "::ffff:127.9.9.9", 80, TCP, PASS },
	{ { R }, "128.0.0.1", 80, TCP, REDIRECT },
	{ { R }, "126.255.255.255", 80, TCP, REDIRECT },
	{ { R }, "::2", 80, TCP, REDIRECT },
	{ { R }, "::127.0.0.1", 80, TCP, REDIRECT },
	/* UDP is never redirected */
	{ { R }, "198.51.100.7", 53, UDP, PASS },
	{ { R }, "2001:db8::53", 53, UDP, PASS },
	{ { R, "--match", "0.0.0.0/0" }, "198.51.100.7", 53, UDP, PASS },
	{ { R, "--match", "[::/0]" }, "2001:db8::53", 53, UDP, PASS },
	/* --match chooses; what it leaves out passes */
	{ { R, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 443, TCP,
	  REDIRECT },
	{ { R, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 80, TCP,
	  PASS },
	{ { R, "--match", "198.51.100.0/24:443" }, "203.0.113.1", 443, TCP,
	  PASS },
	{ { R, "--match", "198.51.100.0/24:443" }, "::ffff:198.51.100.9", 443,
	  TCP, REDIRECT },
	{ { R, "--match", "198.51.100.0/24", "--match", "[2001:db8::/32]" },
	  "2001:db8::1", 80, TCP, REDIRECT },
	{ { R, "--match", "198.51.100.0/24", "--match", "[2001:db8::/32]" },
	  "2001:db9::1", 80, TCP, PASS },
	/* an explicit --match replaces the default, loopback included */
	{ { R, "--match", "127.0.0.1:8080" }, "127.0.0.1", 8080, TCP,
	  REDIRECT },
	{ { R, "--match", "[::/0]" }, "::1", 80, TCP, REDIRECT },
	/* --exclude beats --match, whatever the order on the command line */
	{ { R, "--match", "198.51.100.7", "--exclude", "198.51.100.0/24" },
	  "198.51.100.7", 80, TCP, PASS },
	{ { R, "--exclude", "198.51.100.0/24", "--match", "198.51.100.7" },
	  "198.51.100.7", 80, TCP, PASS },
	{ { R, "--exclude", "198.51.100.7", "--match", "198.51.100.0/24" },
	  "198.51.100.8", 80, TCP, REDIRECT },
	{ { R, "--exclude", "198.51.100.7:80-90" }, "198.51.100.7", 80, TCP,
	  PASS },
	{ { R, "--exclude", "198.51.100.7:80-90" }, "198.51.100.7", 90, TCP,
	  PASS },
	{ { R, "--exclude", "198.51.100.7:80-90" }, "198.51.100.7", 79, TCP,
	  REDIRECT },
	{ { R, "--exclude", "198.51.100.7:80-90" }, "198.51.100.7", 91, TCP,
	  REDIRECT },
	/* --exclude keeps the default loopback exclusion */
	{ { R, "--exclude", "198.51.100.7" }, "127.0.0.1", 80, TCP, PASS },
	{ { R, "--exclude", "198.51.100.7" }, "::1", 80, TCP, PASS },
	{ { R, "--exclude", "0.0.0.0/0" }, "203.0.113.1", 80, TCP, PASS },
	{ { R, "--exclude", "0.0.0.0/0" }, "2001:db8::1", 80, TCP, REDIRECT },
	{ { R, "--exclude", "[2001:db8::/32]:443" }, "2001:db8::1", 443, TCP,
	  PASS },
	{ { R, "--exclude", "[2001:db8::/32]:443" }, "2001:db8::1", 80, TCP,
	  REDIRECT },
	/* an IPv4 --exclude covers the v4-mapped form */
	{ { R, "--exclude", "198.51.100.0/24" }, "::ffff:198.51.100.7", 80,
	  TCP, PASS },
	/* --block beats --exclude and --match, whatever the order */
	{ { R, "--block", "198.51.100.0/24" }, "198.51.100.7", 80, TCP,
	  BLOCK },
	{ { R, "--block", "198.51.100.0/24" }, "198.51.100.7", 53, UDP,
	  BLOCK },
	{ { R, "--block", "198.51.100.0/24" }, "::ffff:198.51.100.7", 80, TCP,
	  BLOCK },
	{ { R, "--block", "198.51.100.0/24" }, "203.0.113.1", 80, TCP,
	  REDIRECT },
	{ { R, "--block", "198.51.100.0/24" }, "203.0.113.1", 53, UDP, PASS },
	{ { R, "--match", "198.51.100.7", "--block", "198.51.100.7" },
	  "198.51.100.7", 80, TCP, BLOCK },
	{ { R, "--exclude", "198.51.100.7", "--block", "198.51.100.7" },
	  "198.51.100.7", 80, TCP, BLOCK },
	{ { "--block", "198.51.100.7", R, "--exclude", "198.51.100.0/24",
	    "--match", "198.51.100.0/24" },
	  "198.51.100.7", 80, TCP, BLOCK },
	{ { "--block", "198.51.100.7", R, "--exclude", "198.51.100.0/24",
	    "--match", "198.51.100.0/24" },
	  "198.51.100.8", 80, TCP, PASS },
	{ { "--block", "198.51.100.7", R, "--exclude", "198.51.100.0/24",
	    "--match", "198.51.100.0/24" },
	  "203.0.113.1", 80, TCP, PASS },
	/* --block beats the loopback default too */
	{ { R, "--block", "127.0.0.1:25" }, "127.0.0.1", 25, TCP, BLOCK },
	{ { R, "--block", "127.0.0.1:25" }, "127.0.0.1", 26, TCP, PASS },
	{ { R, "--block", "[::1]:25" }, "::1", 25, UDP, BLOCK },
	/* --block alone: blocked or passed, nothing redirected */
	{ { "--block", "203.0.113.0/24" }, "203.0.113.5", 80, TCP, BLOCK },
	{ { "--block", "203.0.113.0/24" }, "203.0.113.5", 53, UDP, BLOCK },
	{ { "--block", "203.0.113.0/24" }, "198.51.100.1", 80, TCP, PASS },
	{ { "--block", "[2001:db8::/32]:443" }, "2001:db8::1", 443, TCP,
	  BLOCK },
	{ { "--block", "[2001:db8::/32]:443" }, "2001:db8::1", 80, TCP, PASS },
	{ { "--block", "203.0.113.0/24", "--block", "[::1]" }, "::1", 80, TCP,
	  BLOCK },
	/* no options: monitor, nothing changes */
	{ { NULL }, "198.51.100.7", 80, TCP, PASS },
	{ { NULL }, "2001:db8::1", 53, UDP, PASS },
	/* an IPv6 redirect target */
	{ { "--redirect", "[2001:db8::100]:3128" }, "198.51.100.7", 80, TCP,
	  REDIRECT },
	{ { "--redirect", "[2001:db8::100]:3128" }, "::1", 80, TCP, PASS },
	/* --proxy: the same precedence, diverted to the relay instead; DNS
	 * (port 53, UDP and TCP, loopback stubs too) to nethook's resolver,
	 * other UDP is refused unless --allow-udp */
	{ { P }, "198.51.100.7", 80, TCP, DIVERT },
	{ { P }, "2001:db8::1", 443, TCP, DIVERT },
	{ { P }, "::ffff:198.51.100.7", 80, TCP, DIVERT },
	{ { P }, "127.0.0.1", 80, TCP, PASS },
	{ { P }, "::1", 80, TCP, PASS },
	{ { P }, "::ffff:127.0.0.1", 80, TCP, PASS },
	{ { P }, "198.51.100.7", 53, UDP, DNS },
	{ { P }, "2001:db8::53", 53, UDP, DNS },
	{ { P }, "198.51.100.7", 53, TCP, DNS },
	{ { P }, "2001:db8::53", 53, TCP, DNS },
	{ { P }, "127.0.0.53", 53, UDP, DNS },
	{ { P }, "127.0.0.53", 53, TCP, DNS },
	{ { P }, "::1", 53, UDP, DNS },
	{ { P }, "::ffff:127.0.0.53", 53, UDP, DNS },
	{ { P }, "198.51.100.7", 54, UDP, BLOCK },
	{ { P }, "198.51.100.7", 5353, TCP, DIVERT },
	{ { P, "--dns", "proxy" }, "127.0.0.53", 53, UDP, DNS },
	{ { P, "--allow-udp" }, "198.51.100.7", 53, UDP, DNS },
	/* --dns direct: DNS goes out as it is, TCP as well as UDP */
	{ { P, "--dns", "direct" }, "198.51.100.7", 53, UDP, PASS },
	{ { P, "--dns", "direct" }, "198.51.100.7", 53, TCP, PASS },
	{ { P, "--dns", "direct" }, "2001:db8::53", 53, TCP, PASS },
	{ { P, "--dns", "direct" }, "127.0.0.53", 53, UDP, PASS },
	{ { P, "--dns", "direct" }, "198.51.100.7", 80, TCP, DIVERT },
	{ { P, "--dns", "direct" }, "198.51.100.7", 123, UDP, BLOCK },
	/* --dns block: refused, whatever the transport and address */
	{ { P, "--dns", "block" }, "198.51.100.7", 53, UDP, BLOCK },
	{ { P, "--dns", "block" }, "198.51.100.7", 53, TCP, BLOCK },
	{ { P, "--dns", "block" }, "2001:db8::53", 53, UDP, BLOCK },
	{ { P, "--dns", "block" }, "127.0.0.53", 53, UDP, BLOCK },
	{ { P, "--dns", "block" }, "::1", 53, TCP, BLOCK },
	{ { P, "--dns", "block" }, "198.51.100.7", 80, TCP, DIVERT },
	{ { P, "--dns", "block", "--allow-udp" }, "198.51.100.7", 123, UDP,
	  PASS },
	/* direct:// alone: no proxy to resolve names, DNS goes direct */
	{ { "--proxy", "direct://" }, "198.51.100.7", 53, UDP, PASS },
	{ { "--proxy", "direct://" }, "198.51.100.7", 53, TCP, PASS },
	{ { "--proxy", "direct://" }, "198.51.100.7", 80, TCP, DIVERT },
	{ { "--proxy", "direct://", "--dns", "block" }, "198.51.100.7", 53,
	  UDP, BLOCK },
	/* --block before DNS; DNS before --exclude and --match */
	{ { P, "--block", "198.51.100.7" }, "198.51.100.7", 53, TCP, BLOCK },
	{ { P, "--block", "198.51.100.7" }, "198.51.100.8", 53, UDP, DNS },
	{ { P, "--block", "198.51.100.7:53", "--dns", "direct" },
	  "198.51.100.7", 53, UDP, BLOCK },
	{ { P, "--block", "198.51.100.7:53", "--dns", "direct" },
	  "198.51.100.8", 53, UDP, PASS },
	{ { P, "--exclude", "0.0.0.0/0" }, "198.51.100.7", 53, UDP, DNS },
	{ { P, "--exclude", "127.0.0.53" }, "127.0.0.53", 53, UDP, DNS },
	{ { P, "--exclude", "0.0.0.0/0", "--dns", "block" }, "198.51.100.7",
	  53, TCP, BLOCK },
	{ { P, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 53, UDP,
	  DNS },
	{ { P, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 53, TCP,
	  DNS },
	{ { P, "--match", "198.51.100.0/24:53" }, "198.51.100.7", 53, TCP,
	  DNS },
	{ { P, "--match", "198.51.100.0/24:53", "--dns", "direct" },
	  "198.51.100.7", 53, TCP, PASS },
	{ { P, "--match", "198.51.100.0/24:443", "--dns", "block" },
	  "203.0.113.1", 53, UDP, BLOCK },
	{ { P }, "198.51.100.7", 123, UDP, BLOCK },
	{ { P }, "2001:db8::1", 443, UDP, BLOCK },
	{ { P, "--allow-udp" }, "198.51.100.7", 123, UDP, PASS },
	/* an ICMP ping socket meets the rules as UDP with port 0: never
	 * the DNS pass rule, refused unless --allow-udp */
	{ { P }, "198.51.100.7", 0, UDP, BLOCK },
	{ { P, "--allow-udp" }, "198.51.100.7", 0, UDP, PASS },
	{ { "--block", "198.51.100.7" }, "198.51.100.7", 0, UDP, BLOCK },
	{ { "--block", "198.51.100.7:53" }, "198.51.100.7", 0, UDP, PASS },
	{ { R }, "198.51.100.7", 0, UDP, PASS },
	{ { P, "--block", "198.51.100.7" }, "198.51.100.7", 53, UDP, BLOCK },
	{ { P, "--block", "198.51.100.7", "--dns", "direct" }, "198.51.100.7",
	  53, UDP, BLOCK },
	{ { P, "--block", "198.51.100.7" }, "198.51.100.7", 80, TCP, BLOCK },
	{ { P, "--exclude", "198.51.100.0/24" }, "198.51.100.7", 80, TCP,
	  PASS },
	{ { P, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 443, TCP,
	  DIVERT },
	{ { P, "--match", "198.51.100.0/24:443" }, "198.51.100.7", 80, TCP,
	  PASS },
	{ { P, "--match", "198.51.100.0/24", "--exclude", "198.51.100.7" },
	  "198.51.100.7", 80, TCP, PASS },
	{ { "--proxy", "socks5://127.0.0.1:1080", "--proxy",
	    "http://[::1]:3128" },
	  "203.0.113.1", 80, TCP, DIVERT },
};
/* clang-format on */

static void build_rules(const char *const *opts, struct run_opts *o,
			struct nh_bpf_rule *compiled, int *n)
{
	const char *words[MAXARGS + 1];
	struct nh_rule rules[MAXRULES];
	struct args a;
	int i, k = 0, r;

	words[k++] = "run";
	for (i = 0; opts[i]; i++)
		words[k++] = opts[i];
	words[k++] = "--";
	words[k++] = "true";
	words[k] = NULL;
	make_args(&a, words);
	r = parse_all(a.argc, a.argv, o, NULL, stderr);
	assert_int_equal(r, 0);
	*n = cli_run_rules(o, rules, MAXRULES, stderr);
	assert_true(*n >= 0);
	for (i = 0; i < *n; i++)
		assert_int_equal(nh_rule_compile(&rules[i], &compiled[i]), 0);
}

static void test_precedence(void **state)
{
	const struct prec_case *c = *state;
	struct nh_bpf_rule compiled[MAXRULES];
	struct nh_bpf_addr target;
	struct sockaddr_storage want_ss;
	struct nh_bpf_addr want;
	struct run_opts o;
	enum outcome got;
	int n;

	build_rules(c->argv, &o, compiled, &n);
	got = evaluate(compiled, n, c->dst, c->port, (__u8)c->proto, &target);
	cli_run_opts_free(&o);
	assert_string_equal(outcome_names[got], outcome_names[c->want]);
	if (got != REDIRECT)
		return;
	/* to the --redirect address */
	assert_non_null(o.redirect);
	assert_int_equal(nh_sockaddr_parse(o.redirect, &want_ss), 0);
	assert_int_equal(nh_addr_from_sockaddr((const void *)&want_ss, &want),
			 0);
	assert_memory_equal(&target, &want, sizeof(want));
}

/* the shape of the default table: blocks, loopback passes, redirect */
static void test_default_table(void **state)
{
	struct nh_rule rules[MAXRULES];
	const char *words[] = { "run", "--block", "192.0.2.1", R,
				"--",  "true",	  NULL };
	struct run_opts o;
	struct args a;
	int n;

	(void)state;
	make_args(&a, words);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, stderr), 0);
	n = cli_run_rules(&o, rules, MAXRULES, stderr);
	assert_int_equal(n, 4);
	assert_int_equal(rules[0].action, NH_RULE_BLOCK);
	assert_string_equal(rules[0].match, "192.0.2.1");
	assert_int_equal(rules[1].action, NH_RULE_PASS);
	assert_int_equal(rules[2].action, NH_RULE_PASS);
	assert_int_equal(rules[3].action, NH_RULE_REDIRECT);
	assert_non_null(rules[3].target);
	assert_int_equal(rules[3].sz, sizeof(struct nh_rule));
}

/* ---- --dns: the rule tables, rule by rule ---- */

struct want_rule {
	enum nh_rule_action action;
	const char *match; /* NULL: the rule matches NULL */
	unsigned int protos, flags;
	int err;
};

struct dns_table {
	const char *what;
	const char *argv[12]; /* after "run", before "--" COMMAND */
	enum cli_dns dns; /* settled */
	struct want_rule want[14];
	int n;
};

/* clang-format off */
#define W_BLOCK(m) { NH_RULE_BLOCK, m, 0, 0, 0 }
#define W_PASS(m) { NH_RULE_PASS, m, 0, 0, 0 }
#define W_DIVERT(m) { NH_RULE_DIVERT, m, 0, 0, 0 }
#define W_UDP_BLOCK { NH_RULE_BLOCK, "[::/0]", NH_RULE_UDP, 0, EPERM }
#define W_UDP_PASS { NH_RULE_PASS, "[::/0]", NH_RULE_UDP, NH_RULE_LOG, 0 }
#define W_DNS_PROXY { NH_RULE_DNS, "[::/0]:53", NH_RULE_TCP | NH_RULE_UDP, 0, 0 }
#define W_DNS_DIRECT                                                    \
	{ NH_RULE_PASS, "[::/0]:53", NH_RULE_TCP | NH_RULE_UDP, NH_RULE_LOG, \
	  0 }
#define W_DNS_BLOCK                                                      \
	{ NH_RULE_BLOCK, "[::/0]:53", NH_RULE_TCP | NH_RULE_UDP, 0, EPERM }
#define W_DNS_OFF { NH_RULE_PASS, "[::/0]:53", NH_RULE_TCP | NH_RULE_UDP, 0, 0 }
#define W_LOOPBACK W_PASS("127.0.0.0/8"), W_PASS("[::1]")
#define W_POOL                                                          \
	{ NH_RULE_BLOCK, "198.18.0.0/15", NH_RULE_UDP, 0, EPERM },     \
	{ NH_RULE_BLOCK, "[100::/64]", NH_RULE_UDP, 0, EPERM }

static const struct dns_table dns_tables[] = {
	{ "proxy (the default)", { P }, CLI_DNS_PROXY,
	  { W_DNS_PROXY, W_POOL, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 7 },
	{ "proxy", { P, "--dns", "proxy" }, CLI_DNS_PROXY,
	  { W_DNS_PROXY, W_POOL, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 7 },
	{ "direct", { P, "--dns", "direct" }, CLI_DNS_DIRECT,
	  { W_DNS_DIRECT, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 5 },
	{ "block", { P, "--dns", "block" }, CLI_DNS_BLOCK,
	  { W_DNS_BLOCK, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 5 },
	{ "direct:// alone: direct", { "--proxy", "direct://" },
	  CLI_DNS_DIRECT,
	  { W_DNS_DIRECT, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 5 },
	{ "off", { P, "--dns", "off" }, CLI_DNS_OFF,
	  { W_DNS_OFF, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 5 },
	{ "monitor: direct, no rule", { NULL }, CLI_DNS_DIRECT, { { 0 } }, 0 },
	{ "monitor, off: no rule", { "--dns", "off" }, CLI_DNS_OFF, { { 0 } },
	  0 },
	{ "--redirect: direct, no DNS rule", { R }, CLI_DNS_DIRECT,
	  { W_LOOPBACK, { NH_RULE_REDIRECT, "[::/0]", 0, 0, 0 } }, 3 },
	{ "--redirect, --dns direct", { R, "--dns", "direct" }, CLI_DNS_DIRECT,
	  { W_LOOPBACK, { NH_RULE_REDIRECT, "[::/0]", 0, 0, 0 } }, 3 },
	{ "--block alone, --dns off", { "--block", "192.0.2.1", "--dns", "off" },
	  CLI_DNS_OFF, { W_BLOCK("192.0.2.1") }, 1 },
	{ "the last --dns wins", { P, "--dns", "block", "--dns", "direct" },
	  CLI_DNS_DIRECT,
	  { W_DNS_DIRECT, W_UDP_BLOCK, W_LOOPBACK, W_DIVERT("[::/0]") }, 5 },
	{ "proxy, --allow-udp", { P, "--allow-udp" }, CLI_DNS_PROXY,
	  { W_DNS_PROXY, W_POOL, W_UDP_PASS, W_LOOPBACK, W_DIVERT("[::/0]") }, 7 },
	{ "proxy, --block, --exclude",
	  { P, "--exclude", "192.0.2.0/24", "--block", "198.51.100.1" },
	  CLI_DNS_PROXY,
	  { W_BLOCK("198.51.100.1"), W_DNS_PROXY, W_POOL, W_UDP_BLOCK,
	    W_PASS("192.0.2.0/24"), W_LOOPBACK, W_DIVERT("[::/0]") }, 9 },
	{ "direct, --block, --exclude",
	  { P, "--dns", "direct", "--exclude", "192.0.2.0/24", "--block",
	    "198.51.100.1" },
	  CLI_DNS_DIRECT,
	  { W_BLOCK("198.51.100.1"), W_DNS_DIRECT, W_UDP_BLOCK,
	    W_PASS("192.0.2.0/24"), W_LOOPBACK, W_DIVERT("[::/0]") }, 7 },
	{ "block, --block, --exclude",
	  { P, "--dns", "block", "--exclude", "192.0.2.0/24", "--block",
	    "198.51.100.1" },
	  CLI_DNS_BLOCK,
	  { W_BLOCK("198.51.100.1"), W_DNS_BLOCK, W_UDP_BLOCK,
	    W_PASS("192.0.2.0/24"), W_LOOPBACK, W_DIVERT("[::/0]") }, 7 },
	{ "proxy, --match, --exclude",
	  { P, "--match", "198.51.100.0/24", "--exclude", "198.51.100.7" },
	  CLI_DNS_PROXY,
	  { W_DNS_PROXY, W_POOL, W_UDP_BLOCK, W_PASS("198.51.100.7"),
	    W_DIVERT("198.51.100.0/24") }, 6 },
	{ "direct, --match",
	  { P, "--dns", "direct", "--match", "198.51.100.0/24" },
	  CLI_DNS_DIRECT,
	  { W_DNS_DIRECT, W_UDP_BLOCK, W_DIVERT("198.51.100.0/24") }, 3 },
	{ "block, --match, --block",
	  { P, "--dns", "block", "--match", "198.51.100.0/24", "--block",
	    "203.0.113.0/24" },
	  CLI_DNS_BLOCK,
	  { W_BLOCK("203.0.113.0/24"), W_DNS_BLOCK, W_UDP_BLOCK,
	    W_DIVERT("198.51.100.0/24") }, 4 },
};
/* clang-format on */

static void test_dns_table(void **state)
{
	const struct dns_table *c = *state;
	struct nh_bpf_rule compiled;
	struct nh_rule rules[MAXRULES];
	const char *words[MAXARGS + 1];
	struct run_opts o;
	struct args a;
	int i, k = 0, n;

	words[k++] = "run";
	for (i = 0; c->argv[i]; i++)
		words[k++] = c->argv[i];
	words[k++] = "--";
	words[k++] = "true";
	words[k] = NULL;
	make_args(&a, words);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, stderr), 0);
	assert_int_equal(o.dns, c->dns);
	n = cli_run_rules(&o, rules, MAXRULES, stderr);
	assert_int_equal(n, c->n);
	for (i = 0; i < n; i++) {
		const struct want_rule *w = &c->want[i];

		if (rules[i].action != w->action ||
		    rules[i].protos != w->protos ||
		    rules[i].flags != w->flags || rules[i].err != w->err ||
		    !rules[i].match != !w->match ||
		    (w->match && strcmp(rules[i].match, w->match)))
			fail_msg(
				"rule %d: action %d match %s protos %#x flags %#x err %d; want %d %s %#x %#x %d",
				i, rules[i].action, nh_q(rules[i].match),
				rules[i].protos, rules[i].flags, rules[i].err,
				w->action, nh_q(w->match), w->protos, w->flags,
				w->err);
		assert_int_equal(rules[i].sz, sizeof(struct nh_rule));
		/* and the library takes it */
		assert_int_equal(nh_rule_compile(&rules[i], &compiled), 0);
	}
	cli_run_opts_free(&o);
}

/* -v says the choice; a chain that cannot carry names is warned of,
 * unless -q or names do not go to it */
struct notice_case {
	const char *argv[10];
	const char *want; /* NULL: nothing */
};

/* clang-format off */
static const struct notice_case notice_cases[] = {
	{ { P }, NULL },
	{ { "--proxy", "socks4://192.0.2.10:1080" },
	  "nethook: warning: socks4://192.0.2.10:1080 cannot carry host names: connections to names will fail; use socks4a:// or socks5://, or --dns direct\n" },
	{ { "--proxy", "socks5://192.0.2.11:1080", "--proxy",
	    "socks4://alice@192.0.2.10" },
	  "nethook: warning: socks4://192.0.2.10:1080 cannot carry host names: connections to names will fail; use socks4a:// or socks5://, or --dns direct\n" },
	{ { "--proxy", "socks4://192.0.2.10:1080", "--proxy",
	    "socks5://192.0.2.11:1080" }, NULL },
	{ { "--proxy", "socks4a://192.0.2.10:1080" }, NULL },
	{ { "--proxy", "http://192.0.2.10:3128" }, NULL },
	{ { "--proxy", "socks5h://192.0.2.10:1080" }, NULL },
	{ { "--proxy", "socks4://192.0.2.10:1080", "-q" }, NULL },
	{ { "--proxy", "socks4://192.0.2.10:1080", "--quiet" }, NULL },
	{ { "--proxy", "socks4://192.0.2.10:1080", "--dns", "direct" }, NULL },
	{ { "--proxy", "socks4://192.0.2.10:1080", "--dns", "block" }, NULL },
	{ { "--proxy", "direct://" }, NULL },
	{ { R }, NULL },
	{ { "--block", "192.0.2.1" }, NULL },
	{ { "-v", P },
	  "nethook: --dns proxy: the scope's DNS goes to nethook's resolver; the proxy resolves the names\n" },
	{ { "-v", P, "--dns", "direct" },
	  "nethook: --dns direct: the scope's DNS goes to the servers it asks, each query a connect event in the log\n" },
	{ { "-v", P, "--dns", "block" },
	  "nethook: --dns block: the scope's DNS is refused (EPERM), each query a block event in the log\n" },
	{ { "-v", "--proxy", "direct://" },
	  "nethook: --dns direct: the scope's DNS goes to the servers it asks, each query a connect event in the log\n" },
	{ { "-v", P, "--dns", "off" },
	  "nethook: --dns off: the scope's DNS goes as asked, neither logged nor watched\n" },
	{ { "-v", P, "--dns", "direct", "--log", "-" },
	  "nethook: --dns direct: the scope's DNS goes to the servers it asks, each query a connect event in the log; the answers name its connections\n" },
	/* without a proxy: as asked, watched for the log (monitoring always
	 * has one, standard error by default) */
	{ { "-v", R }, "nethook: --dns direct: the scope's DNS goes as asked\n" },
	{ { "-v", R, "--log", "x.log" },
	  "nethook: --dns direct: the scope's DNS goes as asked; the answers it receives name its connections in the log\n" },
	{ { "-v" },
	  "nethook: --dns direct: the scope's DNS goes as asked; the answers it receives name its connections in the log\n" },
	{ { "-v", "--dns", "off" },
	  "nethook: --dns off: the scope's DNS goes as asked, neither logged nor watched\n" },
	{ { "--dns", "direct" }, NULL },
};
/* clang-format on */

static void test_notices(void **state)
{
	const struct notice_case *c = *state;
	const char *words[MAXARGS + 1];
	char copies[12][64];
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int i, k = 0;

	words[k++] = "run";
	/* writable: credentials are blanked in argv */
	for (i = 0; c->argv[i]; i++) {
		snprintf(copies[i], sizeof(copies[i]), "%s", c->argv[i]);
		words[k++] = copies[i];
	}
	words[k++] = "--";
	words[k++] = "true";
	words[k] = NULL;
	make_args(&a, words);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, stderr), 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	cli_run_notices(&o, f);
	fclose(f);
	cli_run_opts_free(&o);
	assert_string_equal(out, c->want ? c->want : "");
	free(out);
}

/* cli_run_rules with too small a table: -1 and a line */
static void test_rules_overflow(void **state)
{
	const char *words[] = { "run",	   "--block",	"192.0.2.1",
				"--block", "192.0.2.2", R,
				"--",	   "true",	NULL };
	struct nh_rule rules[3];
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make_args(&a, words);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, stderr), 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(cli_run_rules(&o, rules, 3, f), -1);
	fclose(f);
	assert_true(len > 0);
	assert_int_equal(out[len - 1], '\n');
	assert_null(memchr(out, '\n', len - 1));
	free(out);
}

/* ---- parse errors: -1 and exactly one line on the FILE* ---- */

struct err_case {
	const char *what;
	const char *argv[8];
	const char *needle; /* a word the message must contain */
};

/* clang-format off */
static const struct err_case err_cases[] = {
	{ "unknown long option", { "run", "--bogus", "--", "true" },
	  "--bogus" },
	{ "unknown short option", { "run", "-x", "--", "true" }, "-x" },
	{ "unknown option =value", { "run", "--bogus=1", "--", "true" },
	  "--bogus" },
	{ "--match without --redirect",
	  { "run", "--match", "1.2.3.4", "--", "true" }, "--redirect" },
	{ "--exclude without --redirect",
	  { "run", "--exclude", "1.2.3.4", "--", "true" }, "--redirect" },
	{ "no command", { "run" }, "COMMAND" },
	{ "no command after --", { "run", "--" }, "COMMAND" },
	{ "no command with options",
	  { "run", "--redirect", "127.0.0.1:1080" }, "COMMAND" },
	{ "no command with options and --",
	  { "run", "--block", "192.0.2.1", "--" }, "COMMAND" },
	{ "bad --block spec", { "run", "--block", "1.2.3", "--", "true" },
	  "1.2.3" },
	{ "empty --block spec", { "run", "--block", "", "--", "true" },
	  "--block" },
	{ "bad --match spec",
	  { "run", "--redirect", "127.0.0.1:1080", "--match", "1.2.3.4/33",
	    "--", "true" },
	  "1.2.3.4/33" },
	{ "bad --exclude spec",
	  { "run", "--redirect", "127.0.0.1:1080", "--exclude", "[::1",
	    "--", "true" },
	  "[::1" },
	{ "--redirect twice",
	  { "run", "--redirect", "127.0.0.1:1", "--redirect", "127.0.0.1:2",
	    "--", "true" },
	  "twice" },
	{ "--redirect without port",
	  { "run", "--redirect", "127.0.0.1", "--", "true" }, "127.0.0.1" },
	{ "--redirect IPv6 without port",
	  { "run", "--redirect", "[::1]", "--", "true" }, "[::1]" },
	{ "--redirect to a prefix",
	  { "run", "--redirect", "127.0.0.0/8:1080", "--", "true" },
	  "127.0.0.0/8:1080" },
	{ "--redirect to a port range",
	  { "run", "--redirect", "127.0.0.1:1080-1090", "--", "true" },
	  "1080-1090" },
	{ "--redirect to port 0",
	  { "run", "--redirect", "127.0.0.1:0", "--", "true" }, "--redirect" },
	{ "--block without value", { "run", "--block" }, "--block" },
	{ "--redirect without value", { "run", "--redirect" }, "--redirect" },
	{ "bad --events", { "run", "--events", "bogus", "--", "true" },
	  "bogus" },
	{ "empty --events", { "run", "--events", "", "--", "true" },
	  "--events" },
	{ "--redirect with --proxy",
	  { "run", R, P, "--", "true" }, "--proxy" },
	{ "bad --proxy URL", { "run", "--proxy", "bogus://1.2.3.4", "--",
	  "true" }, "proxy" },
	{ "--proxy without host", { "run", "--proxy", "socks5://", "--",
	  "true" }, "proxy" },
	{ "--proxy and --proxy-file", { "run", P, "--proxy-file", "/dev/null",
	  "--", "true" }, "--proxy-file" },
	{ "missing --proxy-file", { "run", "--proxy-file",
	  "/nonexistent/nethook-proxies", "--", "true" },
	  "/nonexistent/nethook-proxies" },
	{ "--allow-udp without --proxy", { "run", "--allow-udp", "--",
	  "true" }, "--allow-udp" },
	{ "--allow-raw without a policy", { "run", "--allow-raw", "--",
	  "true" }, "--allow-raw" },
	{ "--allow-raw with a value", { "run", "--allow-raw=1", P, "--",
	  "true" }, "--allow-raw" },
	{ "--cgroup with run", { "run", "--cgroup", "/sys/fs/cgroup/x", "--",
	  "true" }, "--cgroup" },
	{ "--connect-timeout 0", { "run", P, "--connect-timeout", "0", "--",
	  "true" }, "--connect-timeout" },
	{ "--connect-timeout abc", { "run", P, "--connect-timeout", "abc",
	  "--", "true" }, "abc" },
	{ "--max-flows 0", { "run", P, "--max-flows", "0", "--", "true" },
	  "--max-flows" },
	{ "--max-flows -1", { "run", P, "--max-flows", "-1", "--", "true" },
	  "from 1 to 1000000" },
	{ "--threads 0", { "run", P, "--threads", "0", "--", "true" },
	  "--threads" },
	{ "--threads 65", { "run", P, "--threads", "65", "--", "true" },
	  "from 1 to 64" },
	{ "--threads x", { "run", P, "--threads", "x", "--", "true" },
	  "'x'" },
	{ "--handoff with --redirect", { "run", "--handoff", R, "--",
	  "true" }, "--handoff" },
	{ "--dns proxy without --proxy", { "run", "--dns", "proxy", "--",
	  "true" },
	  "--dns proxy goes with --proxy (without it: direct, the default, or off)" },
	{ "--dns block with --redirect", { "run", R, "--dns", "block", "--",
	  "true" }, "--dns block goes with --proxy" },
	{ "--dns block with --block alone", { "run", "--block", "192.0.2.1",
	  "--dns", "block", "--", "true" }, "--dns block goes with --proxy" },
	{ "--dns proxy with direct://", { "run", "--proxy", "direct://",
	  "--dns", "proxy", "--", "true" }, "direct://" },
	{ "--dns bad value", { "run", P, "--dns", "tcp", "--", "true" },
	  "'tcp' is not proxy, direct, block or off" },
	{ "--dns empty", { "run", P, "--dns", "", "--", "true" }, "--dns" },
	{ "--dns upper case", { "run", P, "--dns", "Proxy", "--", "true" },
	  "'Proxy'" },
	{ "--dns without value", { "run", P, "--dns" }, "--dns" },
	{ "--quiet with a value", { "run", "--quiet=1", P, "--", "true" },
	  "--quiet" },
};
/* clang-format on */

static void test_parse_error(void **state)
{
	const struct err_case *c = *state;
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	make_args(&a, c->argv);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	r = parse_all(a.argc, a.argv, &o, NULL, f);
	cli_run_opts_free(&o);
	fclose(f);
	if (len && r != -1)
		print_message("# output: %s", out);
	assert_int_equal(r, -1);
	/* one line, ending in a newline */
	assert_true(len > 1);
	assert_int_equal(out[len - 1], '\n');
	if (memchr(out, '\n', len - 1))
		fail_msg("more than one line: %s", out);
	if (!strstr(out, c->needle))
		fail_msg("'%s' not in: %s", c->needle, out);
	assert_true(!strncmp(out, "nethook", 7));
	free(out);
}

/*
 * A value given to an option that takes none: the message must name the
 * option as written, and not call it a missing value nor its short form.
 */
struct noval_case {
	const char *arg;
	const char *needle;
	const char *wrong;
};

/* clang-format off */
static const struct noval_case noval_cases[] = {
	{ "--json=1", "--json", "needs a value" },
	{ "--verbose=yes", "--verbose", "'-v'" },
};
/* clang-format on */

static void test_noval(void **state)
{
	const struct noval_case *c = *state;
	const char *words[] = { "run", c->arg, "--", "true", NULL };
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	bool ok;
	int r;

	make_args(&a, words);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	r = parse_all(a.argc, a.argv, &o, NULL, f);
	cli_run_opts_free(&o);
	fclose(f);
	assert_int_equal(r, -1);
	assert_true(len > 1);
	assert_null(memchr(out, '\n', len - 1));
	ok = strstr(out, c->needle) && !strstr(out, c->wrong);
	if (!ok)
		print_error("# message: %s", out);
	free(out);
	assert_true(ok);
}

/* 64 of each are fine, the 65th is an error */
static void test_too_many_specs(void **state)
{
	const char *words[2 * NH_CLI_MAX_SPECS + 10];
	char specs[NH_CLI_MAX_SPECS + 1][32];
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int i, k = 0;

	(void)state;
	words[k++] = "run";
	for (i = 0; i < NH_CLI_MAX_SPECS; i++) {
		snprintf(specs[i], sizeof(specs[i]), "192.0.2.%d", i);
		words[k++] = "--block";
		words[k++] = specs[i];
	}
	words[k++] = "--";
	words[k++] = "true";
	words[k] = NULL;
	make_args(&a, words);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, stderr), 0);
	assert_int_equal(o.nblock, NH_CLI_MAX_SPECS);

	k -= 2;
	snprintf(specs[i], sizeof(specs[i]), "192.0.2.%d", i);
	words[k++] = "--block";
	words[k++] = specs[i];
	words[k++] = "--";
	words[k++] = "true";
	words[k] = NULL;
	make_args(&a, words);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(parse_all(a.argc, a.argv, &o, NULL, f), -1);
	fclose(f);
	assert_true(len > 1);
	assert_null(memchr(out, '\n', len - 1));
	free(out);
}

/* ---- what a good parse gives ---- */

static void parse_ok(const char *const *words, struct run_opts *o,
		     struct args *a)
{
	make_args(a, words);
	assert_int_equal(parse_all(a->argc, a->argv, o, NULL, stderr), 0);
}

static void test_parse_command(void **state)
{
	const char *words[] = {
		"run", "--redirect", "127.0.0.1:1080",	    "--", "curl",
		"-x",  "--block",    "http://example.com/", NULL
	};
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_string_equal(o.redirect, "127.0.0.1:1080");
	assert_int_equal(o.redirect_addr.ss_family, AF_INET);
	assert_int_equal(o.nblock, 0);
	assert_string_equal(o.argv[0], "curl");
	assert_string_equal(o.argv[1], "-x");
	assert_string_equal(o.argv[2], "--block");
	assert_string_equal(o.argv[3], "http://example.com/");
	assert_null(o.argv[4]);
}

/* options stop at the first non-option: COMMAND's own options are its */
static void test_parse_command_no_dashes(void **state)
{
	const char *words[] = { "run", "-v", "curl", "--block", "1.2.3", NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_int_equal(o.verbose, 1);
	assert_int_equal(o.nblock, 0);
	assert_string_equal(o.argv[0], "curl");
	assert_string_equal(o.argv[1], "--block");
}

static void test_parse_monitor(void **state)
{
	const char *words[] = { "run", "--", "true", NULL };
	struct run_opts o;
	struct args a;
	struct nh_rule rules[4];

	(void)state;
	parse_ok(words, &o, &a);
	assert_null(o.redirect);
	/* monitor mode logs to stderr unless told otherwise */
	assert_string_equal(o.log, "-");
	assert_false(o.json);
	assert_int_equal(o.events, NH_EVENT_MASK_DEFAULT);
	assert_int_equal(cli_run_rules(&o, rules, 4, stderr), 0);
}

static void test_parse_log_json_events(void **state)
{
	const char *words[] = {
		"run",	      "--redirect",	"[::1]:1080", "--log",
		"/tmp/x.log", "--json",		"--events",   "create,end",
		"--user",     "nobody:nogroup", "-v",	      "--verbose",
		"--",	      "true",		NULL
	};
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_int_equal(o.redirect_addr.ss_family, AF_INET6);
	assert_string_equal(o.log, "/tmp/x.log");
	assert_true(o.json);
	assert_int_equal(o.events, NH_EVENT_MASK(NH_EVENT_CREATE) |
					   NH_EVENT_MASK(NH_EVENT_END));
	assert_string_equal(o.user, "nobody:nogroup");
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.threads, 0);
}

/* What -q and --dns leave in run_opts */
static void test_parse_quiet_dns(void **state)
{
	const char *w1[] = { "run", "-q", P, "--", "true", NULL };
	const char *w2[] = { "run", "--quiet", "-v", P, "--", "true", NULL };
	const char *w3[] = { "run", "--", "true", NULL };
	const char *w4[] = { "attach", "--cgroup", "/sys/fs/cgroup/x",
			     "--dns",  "block",	   "-q",
			     P,	       NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(w1, &o, &a);
	assert_true(o.quiet);
	assert_int_equal(o.dns, CLI_DNS_PROXY);
	cli_run_opts_free(&o);
	parse_ok(w2, &o, &a);
	assert_true(o.quiet);
	assert_int_equal(o.verbose, 1);
	cli_run_opts_free(&o);
	/* no proxy: DNS goes as asked, its answers watched */
	parse_ok(w3, &o, &a);
	assert_false(o.quiet);
	assert_int_equal(o.dns, CLI_DNS_DIRECT);
	/* NETHOOK_PROXY is a proxy like --proxy */
	make_args(&a, w3);
	assert_int_equal(parse_all(a.argc, a.argv, &o,
				   "socks5://127.0.0.1:1080", stderr),
			 0);
	assert_int_equal(o.dns, CLI_DNS_PROXY);
	cli_run_opts_free(&o);
	/* attach takes them too */
	make_args(&a, w4);
	assert_int_equal(cli_attach_parse(a.argc, a.argv, &o, stderr), 0);
	assert_int_equal(cli_proxy_chain(&o, NULL, stderr), 0);
	assert_int_equal(o.dns, CLI_DNS_BLOCK);
	assert_true(o.quiet);
	cli_run_opts_free(&o);
}

static void test_parse_threads(void **state)
{
	const char *words[] = { "run", "--proxy", "direct://", "--threads",
				"3",   "--",	  "true",      NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_int_equal(o.threads, 3);
	assert_false(o.handoff);
	cli_run_opts_free(&o);
}

static void test_attach_handoff(void **state)
{
	const char *words[] = { "attach",    "--cgroup", "/sys/fs/cgroup/x",
				"--handoff", P,		 NULL };
	struct run_opts o;
	struct args a;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	make_args(&a, words);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(cli_attach_parse(a.argc, a.argv, &o, f), -1);
	cli_run_opts_free(&o);
	fclose(f);
	assert_non_null(strstr(out, "--handoff is for run"));
	free(out);
}

static void test_parse_handoff(void **state)
{
	const char *words[] = { "run",	   "--handoff",
				"--proxy", "socks5://192.0.2.10:1080",
				"--",	   "true",
				NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_true(o.handoff);
	assert_non_null(o.proxy_chain);
	assert_int_equal(o.proxy_chain->nhops, 1);
	assert_int_equal(o.proxy_chain->hops[0].scheme, NH_PROXY_SOCKS5);
	assert_string_equal(o.proxy_chain->hops[0].host, "192.0.2.10");
	assert_int_equal(o.proxy_chain->hops[0].port, 1080);
	cli_run_opts_free(&o);
}

/* Under a policy, sockets the hooks cannot see are refused, unless
 * --allow-raw; monitoring refuses nothing. */
static void test_parse_allow_raw(void **state)
{
	const char *const cases[][8] = {
		{ "run", P, "--", "true" },
		{ "run", "--block", "192.0.2.1", "--", "true" },
		{ "run", R, "--", "true" },
		{ "run", "--allow-raw", P, "--", "true" },
		{ "run", "--block", "192.0.2.1", "--allow-raw", "--", "true" },
		{ "run", R, "--allow-raw", "--", "ping", "192.0.2.1" },
		{ "run", "--", "true" },
		{ "attach", "--cgroup", "/sys/fs/cgroup/x", "--allow-raw", P },
	};
	const bool raw[] = {
		false, false, false, true, true, true, false, true
	};
	const bool refuse[] = { true,  true,  true,  false,
				false, false, false, false };
	struct run_opts o;
	struct args a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_args(&a, cases[i]);
		if (!strcmp(cases[i][0], "attach"))
			assert_int_equal(cli_attach_parse(a.argc, a.argv, &o,
							  stderr),
					 0);
		else
			assert_int_equal(
				cli_run_parse(a.argc, a.argv, &o, stderr), 0);
		assert_int_equal(cli_proxy_chain(&o, NULL, stderr), 0);
		assert_int_equal(o.allow_raw, raw[i]);
		assert_int_equal(cli_refuse_unhooked(&o), refuse[i]);
		cli_run_opts_free(&o);
	}
}

static void test_parse_redirect_no_log(void **state)
{
	const char *words[] = { "run", "--redirect", "127.0.0.1:1080",
				"--",  "true",	     NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(words, &o, &a);
	assert_null(o.log);
}

static void test_parse_help(void **state)
{
	const char *words[] = { "run", "--help", NULL };
	const char *words2[] = { "run", "-h", "--", "true", NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	make_args(&a, words);
	assert_int_equal(cli_run_parse(a.argc, a.argv, &o, stderr), 1);
	make_args(&a, words2);
	assert_int_equal(cli_run_parse(a.argc, a.argv, &o, stderr), 1);
}

/* Parsing twice in one process starts afresh */
static void test_parse_twice(void **state)
{
	const char *w1[] = { "run", "--block", "192.0.2.1", "--", "a", NULL };
	const char *w2[] = { "run",	  "--block", "192.0.2.2", "--block",
			     "192.0.2.3", "--",	     "b",	  NULL };
	struct run_opts o;
	struct args a;

	(void)state;
	parse_ok(w1, &o, &a);
	assert_int_equal(o.nblock, 1);
	parse_ok(w2, &o, &a);
	assert_int_equal(o.nblock, 2);
	assert_string_equal(o.block[0], "192.0.2.2");
	assert_string_equal(o.argv[0], "b");
}

/*
 * An error in the middle of a cluster of short options ("-xv": 'x' is
 * unknown, 'v' not read yet) must not leak into the next parse: getopt
 * keeps its place inside the old argv unless fully reset (optind = 0).
 */
static void test_parse_after_cluster_error(void **state)
{
	const char *w1[] = { "run", "-xv", "--", "a", NULL };
	const char *w2[] = { "run", "--", "b", NULL };
	struct run_opts o;
	struct args a;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(devnull);
	make_args(&a, w1);
	assert_int_equal(cli_run_parse(a.argc, a.argv, &o, devnull), -1);
	fclose(devnull);
	parse_ok(w2, &o, &a);
	assert_int_equal(o.verbose, 0);
	assert_string_equal(o.argv[0], "b");
}

/* NETHOOK_PROXY: used when neither --proxy nor --redirect is given */
static void test_env_proxy(void **state)
{
	const char *w1[] = { "run", "--", "true", NULL };
	const char *w2[] = { "run", R, "--", "true", NULL };
	struct nh_bpf_rule compiled[MAXRULES];
	struct nh_rule rules[MAXRULES];
	struct nh_bpf_addr target;
	struct run_opts o;
	struct args a;
	FILE *devnull;
	int n, i;

	(void)state;
	make_args(&a, w1);
	assert_int_equal(parse_all(a.argc, a.argv, &o,
				   "socks5://127.0.0.1:1080", stderr),
			 0);
	assert_non_null(o.proxy_chain);
	assert_null(o.log);
	n = cli_run_rules(&o, rules, MAXRULES, stderr);
	for (i = 0; i < n; i++)
		assert_int_equal(nh_rule_compile(&rules[i], &compiled[i]), 0);
	assert_int_equal(evaluate(compiled, n, "198.51.100.7", 80, NH_PROTO_TCP,
				  &target),
			 DIVERT);
	cli_run_opts_free(&o);

	make_args(&a, w2);
	assert_int_equal(parse_all(a.argc, a.argv, &o,
				   "socks5://127.0.0.1:1080", stderr),
			 0);
	assert_null(o.proxy_chain);
	n = cli_run_rules(&o, rules, MAXRULES, stderr);
	for (i = 0; i < n; i++)
		assert_int_equal(nh_rule_compile(&rules[i], &compiled[i]), 0);
	assert_int_equal(evaluate(compiled, n, "198.51.100.7", 80, NH_PROTO_TCP,
				  &target),
			 REDIRECT);
	cli_run_opts_free(&o);

	/* a bad NETHOOK_PROXY is a usage error too */
	devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);
	make_args(&a, w1);
	assert_int_equal(parse_all(a.argc, a.argv, &o, "bogus", devnull), -1);
	cli_run_opts_free(&o);
	fclose(devnull);
}

/* ---- cli_parse_events ---- */

#define EV(t) NH_EVENT_MASK(NH_EVENT_##t)
#define EV_ALL                                                           \
	(EV(CREATE) | EV(CONNECT) | EV(BLOCK) | EV(REDIRECT) | EV(END) | \
	 EV(DNS))

struct events_case {
	const char *in;
	int ret;
	unsigned int mask;
};

/* clang-format off */
static const struct events_case events_cases[] = {
	{ "create", 0, EV(CREATE) },
	{ "connect", 0, EV(CONNECT) },
	{ "block", 0, EV(BLOCK) },
	{ "redirect", 0, EV(REDIRECT) },
	{ "end", 0, EV(END) },
	{ "dns", 0, EV(DNS) },
	{ "block,dns", 0, EV(BLOCK) | EV(DNS) },
	{ "DNS", -1, 0 },
	{ "all", 0, EV_ALL },
	{ "block,redirect,end", 0, EV(BLOCK) | EV(REDIRECT) | EV(END) },
	{ "end,end", 0, EV(END) },
	{ "create,all", 0, EV_ALL },
	{ ",block,", 0, EV(BLOCK) },
	{ "", -1, 0 },
	{ ",", -1, 0 },
	{ "bogus", -1, 0 },
	{ "block,bogus", -1, 0 },
	{ "Block", -1, 0 },
	{ "block ", -1, 0 },
	{ "exec", -1, 0 },
	{ "lost", -1, 0 },
	{ "blocks", -1, 0 },
	{ "block;end", -1, 0 },
	{ "block,,end", 0, EV(BLOCK) | EV(END) },
	/* longer than the parser's buffer */
	{ "end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,"
	  "end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,"
	  "end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,"
	  "end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,end,"
	  "end",
	  -1, 0 },
};
/* clang-format on */

/* ps(1) shows argv: user names and passwords leave it once parsed */
static void test_proxy_blanked(void **state)
{
	char a1[] = "socks5://alice:s3cret@192.0.2.10:1080";
	char a2[] = "http://bob:pw@192.0.2.11:3128,socks5://192.0.2.12:1080,"
		    "socks4://carol@192.0.2.13:1080";
	char run[] = "run", p[] = "--proxy", dd[] = "--", cmd[] = "true";
	char *argv[] = { run, p, a1, p, a2, dd, cmd, NULL };
	struct run_opts o;

	(void)state;
	assert_int_equal(parse_all(7, argv, &o, NULL, stderr), 0);
	assert_string_equal(a1, "socks5://************@192.0.2.10:1080");
	assert_string_equal(a2, "http://******@192.0.2.11:3128,"
				"socks5://192.0.2.12:1080,"
				"socks4://*****@192.0.2.13:1080");
	/* the chain itself keeps them */
	assert_int_equal(o.proxy_chain->nhops, 4);
	assert_string_equal(o.proxy_chain->hops[0].user, "alice");
	assert_string_equal(o.proxy_chain->hops[0].pass, "s3cret");
	assert_string_equal(o.proxy_chain->hops[3].user, "carol");
	cli_run_opts_free(&o);
}

static void test_events(void **state)
{
	const struct events_case *c = *state;
	unsigned int mask = 0xdeadbeef;

	assert_int_equal(cli_parse_events(c->in, &mask), c->ret);
	if (!c->ret)
		assert_int_equal(mask, c->mask);
}

/* ---- failed connections on standard error (fails.c) ---- */

static void fail_event(struct nh_event *ev, const char *dst, int port)
{
	struct sockaddr_in6 *s6 = (void *)&ev->orig_dst;
	struct sockaddr_in *s4 = (void *)&ev->orig_dst;

	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = NH_EVENT_END;
	ev->proto = IPPROTO_TCP;
	ev->route = NH_ROUTE_DIVERT;
	ev->route_desc = "socks5://192.0.2.10:1080";
	ev->err = EACCES;
	ev->detail = "socks5 auth rejected (status 0x01) by 192.0.2.10:1080";
	if (strchr(dst, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET6, dst, &s6->sin6_addr), 1);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET, dst, &s4->sin_addr), 1);
	}
	ev->new_dst = ev->orig_dst;
}

static void want_line(const struct nh_event *ev, const char *want)
{
	char buf[1024] = "untouched";
	bool got = cli_fail_line(ev, buf, sizeof(buf));

	if (!want) {
		assert_false(got);
		return;
	}
	assert_true(got);
	assert_string_equal(buf, want);
}

static void test_fail_line(void **state)
{
	struct nh_event ev;

	(void)state;
	fail_event(&ev, "198.51.100.7", 80);
	want_line(
		&ev,
		"nethook: 198.51.100.7:80 via socks5://192.0.2.10:1080: socks5 auth rejected (status 0x01) by 192.0.2.10:1080");
	/* a pool address: the name the program asked for */
	ev.orig_name = "web.example";
	want_line(
		&ev,
		"nethook: web.example:80 via socks5://192.0.2.10:1080: socks5 auth rejected (status 0x01) by 192.0.2.10:1080");
	fail_event(&ev, "2001:db8::7", 443);
	want_line(
		&ev,
		"nethook: [2001:db8::7]:443 via socks5://192.0.2.10:1080: socks5 auth rejected (status 0x01) by 192.0.2.10:1080");
	ev.orig_name = "v6.example";
	want_line(
		&ev,
		"nethook: v6.example:443 via socks5://192.0.2.10:1080: socks5 auth rejected (status 0x01) by 192.0.2.10:1080");
	fail_event(&ev, "::ffff:198.51.100.7", 80);
	want_line(
		&ev,
		"nethook: 198.51.100.7:80 via socks5://192.0.2.10:1080: socks5 auth rejected (status 0x01) by 192.0.2.10:1080");
	/* no detail: the errno in words */
	fail_event(&ev, "198.51.100.7", 80);
	ev.detail = NULL;
	ev.err = ETIMEDOUT;
	want_line(
		&ev,
		"nethook: 198.51.100.7:80 via socks5://192.0.2.10:1080: Connection timed out");
	/* what a proxy or a name may hold does not reach the terminal raw */
	fail_event(&ev, "198.51.100.7", 80);
	ev.detail = "http status 403 \x1b]0;owned\x07 from 192.0.2.10:3128";
	ev.orig_name = "a\nb";
	want_line(
		&ev,
		"nethook: a?b:80 via socks5://192.0.2.10:1080: http status 403 ?]0;owned? from 192.0.2.10:3128");
	/* not failures of the proxy: a tunnel that opened, the program
	 * closing first or nethook stopping, a clean end, other routes */
	fail_event(&ev, "198.51.100.7", 80);
	ev.established = 1;
	ev.err = ECONNRESET;
	want_line(&ev, NULL);
	fail_event(&ev, "198.51.100.7", 80);
	ev.err = ECONNABORTED;
	want_line(&ev, NULL);
	fail_event(&ev, "198.51.100.7", 80);
	ev.err = 0;
	ev.detail = NULL;
	want_line(&ev, NULL);
	fail_event(&ev, "198.51.100.7", 80);
	ev.route = NH_ROUTE_DIRECT;
	want_line(&ev, NULL);
	fail_event(&ev, "198.51.100.7", 80);
	ev.type = NH_EVENT_CONNECT;
	want_line(&ev, NULL);
	fail_event(&ev, "198.51.100.7", 53);
	ev.type = NH_EVENT_DNS;
	want_line(&ev, NULL);
	/* a refusal by the relay or the handoff, which says why */
	fail_event(&ev, "198.51.100.7", 80);
	ev.type = NH_EVENT_BLOCK;
	ev.route = NH_ROUTE_BLOCK;
	ev.route_desc = NULL;
	ev.err = EPERM;
	ev.detail = "a socket not made in nethook's scope: refused";
	want_line(
		&ev,
		"nethook: 198.51.100.7:80: a socket not made in nethook's scope: refused");
	/* a rule's block (no detail), a socket refused when made */
	ev.detail = NULL;
	want_line(&ev, NULL);
	memset(&ev.orig_dst, 0, sizeof(ev.orig_dst));
	ev.sock_family = AF_PACKET;
	ev.detail = "socket(AF_PACKET, SOCK_RAW, 0) refused";
	want_line(&ev, NULL);
}

/* count the lines of a memstream's text */
static int lines(const char *s, size_t len)
{
	int n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

static void test_fails_ratelimit(void **state)
{
	const uint64_t t0 = 5000000000ull, sec = 1000000000ull;
	struct cli_fails st = { 0 };
	struct nh_event ev, ok;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	(void)state;
	fail_event(&ev, "198.51.100.7", 80);
	fail_event(&ok, "198.51.100.7", 80);
	ok.err = 0;
	f = open_memstream(&out, &len);
	assert_non_null(f);
	/* a burst of 100 in one second: 10 lines, the rest counted */
	for (i = 0; i < 100; i++) {
		cli_fails_event(&st, &ev, t0 + (uint64_t)i * 1000, f);
		cli_fails_event(&st, &ok, t0 + (uint64_t)i * 1000 + 1, f);
	}
	fflush(f);
	assert_int_equal(lines(out, len), 10);
	/* said once the second is over, before anything else */
	cli_fails_event(&st, &ok, t0 + sec + 1, f);
	fflush(f);
	assert_int_equal(lines(out, len), 11);
	assert_non_null(strstr(
		out, "\nnethook: 90 more failed connections not shown\n"));
	/* a new second: lines again */
	cli_fails_event(&st, &ev, t0 + sec + 2, f);
	fflush(f);
	assert_int_equal(lines(out, len), 12);
	/* the end says what the last second kept quiet */
	for (i = 0; i < 10; i++)
		cli_fails_event(&st, &ev, t0 + sec + 3, f);
	cli_fails_end(&st, f);
	fflush(f);
	assert_int_equal(lines(out, len), 22);
	assert_non_null(
		strstr(out, "\nnethook: 1 more failed connection not shown\n"));
	/* and nothing when nothing was kept quiet */
	cli_fails_end(&st, f);
	fclose(f);
	assert_int_equal(lines(out, len), 22);
	free(out);
}

static void join(char *buf, size_t len, const char *const *w)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; *w; w++)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s",
				      n ? " " : "", *w);
}

int main(void)
{
	struct nh_tests ts = { 0 };
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(prec_cases) / sizeof(prec_cases[0]); i++) {
		const struct prec_case *c = &prec_cases[i];

		join(buf, sizeof(buf), c->argv);
		nh_tests_add(&ts, test_precedence, (void *)c,
			     "run %s: %s port %d %s -> %s",
			     buf[0] ? buf : "(no options)", c->dst, c->port,
			     c->proto == TCP ? "tcp" : "udp",
			     outcome_names[c->want]);
	}
	nh_tests_add(&ts, test_default_table, NULL,
		     "rule table: block, loopback passes, redirect the rest");
	for (i = 0; i < sizeof(dns_tables) / sizeof(dns_tables[0]); i++)
		nh_tests_add(&ts, test_dns_table, (void *)&dns_tables[i],
			     "rule table, --dns %s", dns_tables[i].what);
	for (i = 0; i < sizeof(notice_cases) / sizeof(notice_cases[0]); i++) {
		join(buf, sizeof(buf), notice_cases[i].argv);
		nh_tests_add(&ts, test_notices, (void *)&notice_cases[i],
			     "notices at start, run %s: %s", buf,
			     notice_cases[i].want ? "one line" : "none");
	}
	nh_tests_add(&ts, test_parse_quiet_dns, NULL,
		     "-q, --quiet and --dns in run_opts, run and attach");
	nh_tests_add(&ts, test_rules_overflow, NULL,
		     "rule table larger than max: -1 and one line");
	for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];

		join(buf, sizeof(buf), c->argv);
		nh_tests_add(&ts, test_parse_error, (void *)c,
			     "parse error, %s (%s): -1 and one line", c->what,
			     buf);
	}
	for (i = 0; i < sizeof(noval_cases) / sizeof(noval_cases[0]); i++)
		nh_tests_add(&ts, test_noval, (void *)&noval_cases[i],
			     "parse error, %s takes no value: named so",
			     noval_cases[i].arg);
	nh_tests_add(&ts, test_too_many_specs, NULL,
		     "64 --block accepted, 65 rejected with one line");
	nh_tests_add(&ts, test_parse_command, NULL,
		     "COMMAND and its options after --");
	nh_tests_add(&ts, test_parse_command_no_dashes, NULL,
		     "options stop at COMMAND without --");
	nh_tests_add(&ts, test_parse_monitor, NULL,
		     "no options: monitor, log to stderr, no rules");
	nh_tests_add(&ts, test_parse_log_json_events, NULL,
		     "--log --json --events --user -v");
	nh_tests_add(&ts, test_parse_threads, NULL, "--threads 3");
	nh_tests_add(&ts, test_parse_handoff, NULL, "--handoff");
	nh_tests_add(&ts, test_attach_handoff, NULL,
		     "attach --handoff: refused, it is for run");
	nh_tests_add(
		&ts, test_parse_allow_raw, NULL,
		"--allow-raw: unhooked sockets refused under a policy unless given");
	nh_tests_add(&ts, test_parse_redirect_no_log, NULL,
		     "--redirect without --log: no log");
	nh_tests_add(&ts, test_parse_help, NULL, "--help and -h return 1");
	nh_tests_add(&ts, test_parse_after_cluster_error, NULL,
		     "parsing after an error inside -xv starts afresh");
	nh_tests_add(&ts, test_env_proxy, NULL,
		     "NETHOOK_PROXY diverts unless --redirect is given");
	nh_tests_add(&ts, test_parse_twice, NULL,
		     "parsing twice starts afresh");
	nh_tests_add(&ts, test_proxy_blanked, NULL,
		     "--proxy credentials blanked in argv, kept in the chain");
	nh_tests_add(
		&ts, test_fail_line, NULL,
		"a failed connection's line on stderr, and what is not one");
	nh_tests_add(&ts, test_fails_ratelimit, NULL,
		     "failed connections: 10 lines a second, the rest counted");
	for (i = 0; i < sizeof(events_cases) / sizeof(events_cases[0]); i++)
		nh_tests_add(&ts, test_events, (void *)&events_cases[i],
			     "cli_parse_events %s: %s",
			     nh_q(events_cases[i].in),
			     events_cases[i].ret ? "rejected" : "accepted");
	return nh_tests_run(&ts, "cli_rules");
}
