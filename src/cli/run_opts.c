// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run` options, and the rule table they make. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include <errno.h>

enum {
	OPT_REDIRECT = 0x100,
	OPT_MATCH,
	OPT_EXCLUDE,
	OPT_BLOCK,
	OPT_LOG,
	OPT_JSON,
	OPT_EVENTS,
	OPT_USER,
	OPT_PROXY,
	OPT_PROXY_FILE,
	OPT_ALLOW_UDP,
	OPT_ALLOW_RAW,
	OPT_CONNECT_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_MAX_FLOWS,
	OPT_CGROUP,
	OPT_THREADS,
	OPT_HANDOFF,
	OPT_DNS,
	OPT_MODE,
};

static const struct option run_options[] = {
	{ "redirect", required_argument, NULL, OPT_REDIRECT },
	{ "match", required_argument, NULL, OPT_MATCH },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "proxy", required_argument, NULL, OPT_PROXY },
	{ "proxy-file", required_argument, NULL, OPT_PROXY_FILE },
	{ "allow-udp", no_argument, NULL, OPT_ALLOW_UDP },
	{ "allow-raw", no_argument, NULL, OPT_ALLOW_RAW },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "handoff", no_argument, NULL, OPT_HANDOFF },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const event_names[] = {
	[NH_EVENT_CREATE] = "create", [NH_EVENT_CONNECT] = "connect",
	[NH_EVENT_BLOCK] = "block",   [NH_EVENT_REDIRECT] = "redirect",
	[NH_EVENT_END] = "end",	      [NH_EVENT_DNS] = "dns",
};

int cli_parse_events(const char *s, unsigned int *mask)
{
	char buf[256], *tok, *save = NULL;
	size_t i;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*mask = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		if (!strcmp(tok, "all")) {
			for (i = NH_EVENT_CREATE; i <= NH_EVENT_DNS; i++)
				*mask |= NH_EVENT_MASK(i);
			continue;
		}
		for (i = NH_EVENT_CREATE; i <= NH_EVENT_DNS; i++) {
			if (!strcmp(tok, event_names[i])) {
				*mask |= NH_EVENT_MASK(i);
				found = true;
			}
		}
		if (!found)
			return -1;
	}
	return *mask ? 0 : -1;
}

static int add_spec(const char **list, int *n, const char *opt, const char *val,
		    FILE *err)
{
	/* a spec the library would refuse in a rule fails here, before
	 * anything is set up */
	struct nh_rule r = { .sz = sizeof(r),
			     .action = NH_RULE_PASS,
			     .match = val };

	if (nh_rule_check(&r) || !*val) {
		fprintf(err,
			"nethook: --%s: invalid address spec '%s' (ADDR[/LEN][:PORT[-PORT]] or [ADDR6[/LEN]][:PORT[-PORT]])\n",
			opt, val);
		return -1;
	}
	if (*n >= NH_CLI_MAX_SPECS) {
		fprintf(err, "nethook: --%s: at most %d of them\n", opt,
			NH_CLI_MAX_SPECS);
		return -1;
	}
	list[(*n)++] = val;
	return 0;
}

/* A whole number from 1 to max. */
static int parse_count(const char *opt, const char *s, unsigned long max,
		       unsigned int *out, FILE *err)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v || v > max || *s == '-') {
		fprintf(err,
			"nethook: --%s: '%s' is not a number from 1 to %lu\n",
			opt, s, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* SECONDS, fractions allowed, into milliseconds; 0 < v <= a day */
static int parse_seconds(const char *opt, const char *s, unsigned int *ms,
			 FILE *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400) {
		fprintf(err,
			"nethook: --%s: '%s' is not a number of seconds (0 < S <= 86400)\n",
			opt, s);
		return -1;
	}
	*ms = (unsigned int)(v * 1000 + 0.5);
	if (!*ms)
		*ms = 1;
	return 0;
}

static int parse(int argc, char **argv, struct run_opts *o, FILE *err,
		 bool attach)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->attach = attach;
	o->events = NH_EVENT_MASK_DEFAULT;
	optind = 0; /* 0, not 1: glibc's getopt then forgets a past parse */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vqh", run_options, NULL)) != -1) {
		switch (c) {
		case OPT_REDIRECT:
			if (o->redirect ||
			    nh_sockaddr_parse(optarg, &o->redirect_addr)) {
				fprintf(err,
					o->redirect ?
						"nethook: --redirect: given twice\n" :
						"nethook: --redirect: '%s' is not ADDR:PORT or [ADDR6]:PORT\n",
					optarg);
				return -1;
			}
			o->redirect = optarg;
			break;
		case OPT_MATCH:
			if (add_spec(o->match, &o->nmatch, "match", optarg,
				     err))
				return -1;
			break;
		case OPT_EXCLUDE:
			if (add_spec(o->exclude, &o->nexclude, "exclude",
				     optarg, err))
				return -1;
			break;
		case OPT_BLOCK:
			if (add_spec(o->block, &o->nblock, "block", optarg,
				     err))
				return -1;
			break;
		case OPT_LOG:
			o->log = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_EVENTS:
			if (cli_parse_events(optarg, &o->events)) {
				fprintf(err,
					"nethook: --events: '%s' is not a list of create,connect,block,redirect,end,dns,all\n",
					optarg);
				return -1;
			}
			break;
		case OPT_USER:
			if (attach) {
				fprintf(err,
					"nethook attach: --user is for run\n");
				return -1;
			}
			o->user = optarg;
			break;
		case OPT_PROXY:
			if (o->nproxy >= NH_CLI_MAX_PROXIES) {
				fprintf(err,
					"nethook: --proxy: a chain of at most %d\n",
					NH_CLI_MAX_PROXIES);
				return -1;
			}
			o->proxy[o->nproxy++] = optarg;
			break;
		case OPT_PROXY_FILE:
			o->proxy_file = optarg;
			break;
		case OPT_ALLOW_UDP:
			o->allow_udp = true;
			break;
		case OPT_ALLOW_RAW:
			o->allow_raw = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_seconds("connect-timeout", optarg,
					  &o->connect_timeout_ms, err))
				return -1;
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_seconds("idle-timeout", optarg,
					  &o->idle_timeout_ms, err))
				return -1;
			break;
		case OPT_MAX_FLOWS:
			if (parse_count("max-flows", optarg, 1000000,
					&o->max_flows, err))
				return -1;
			break;
		case OPT_THREADS:
			if (parse_count("threads", optarg, 64, &o->threads,
					err))
				return -1;
			break;
		case OPT_HANDOFF:
			if (attach) {
				fprintf(err,
					"nethook attach: --handoff is for run: it catches COMMAND's connect() from the start\n");
				return -1;
			}
			o->handoff = true;
			break;
		case OPT_CGROUP:
			if (!attach) {
				fprintf(err,
					"nethook run: --cgroup is for attach; run makes its own\n");
				return -1;
			}
			o->cgroup = optarg;
			break;
		case OPT_DNS:
			if (!strcmp(optarg, "proxy")) {
				o->dns = CLI_DNS_PROXY;
			} else if (!strcmp(optarg, "direct")) {
				o->dns = CLI_DNS_DIRECT;
			} else if (!strcmp(optarg, "block")) {
				o->dns = CLI_DNS_BLOCK;
			} else if (!strcmp(optarg, "off")) {
				o->dns = CLI_DNS_OFF;
			} else {
				fprintf(err,
					"nethook: --dns: '%s' is not proxy, direct, block or off\n",
					optarg);
				return -1;
			}
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "kernel")) {
				o->mode = CLI_MODE_KERNEL;
			} else if (!strcmp(optarg, "user") && !attach) {
				o->mode = CLI_MODE_USER;
			} else if (!strcmp(optarg, "user")) {
				fprintf(err,
					"nethook attach: --mode user is for run: attaching to a cgroup is kernel mode (BPF, as root)\n");
				return -1;
			} else {
				fprintf(err,
					"nethook: --mode: '%s' is not kernel or user\n",
					optarg);
				return -1;
			}
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			return 1;
		case '?':
		default:
			if (!strncmp(argv[optind - 1], "--", 2) &&
			    strchr(argv[optind - 1], '=') && optopt)
				fprintf(err,
					"nethook: option '%.*s' takes no value\n",
					(int)(strchr(argv[optind - 1], '=') -
					      argv[optind - 1]),
					argv[optind - 1]);
			else if (optopt && optopt < 0x100)
				fprintf(err,
					"nethook run: unknown option '-%c'\n",
					optopt);
			else if (optopt)
				fprintf(err,
					"nethook run: option '%s' needs a value\n",
					argv[optind - 1]);
			else
				fprintf(err,
					"nethook run: unknown option '%s'\n",
					argv[optind - 1]);
			return -1;
		}
	}
	if (o->redirect && (o->nproxy || o->proxy_file)) {
		fprintf(err,
			"nethook: --redirect and --proxy exclude each other: --redirect rewrites in the kernel, --proxy goes through the relay\n");
		return -1;
	}
	if (o->handoff && o->redirect) {
		fprintf(err,
			"nethook: --handoff is for --proxy: --redirect has no relay to step out of\n");
		return -1;
	}
	if (o->nproxy && o->proxy_file) {
		fprintf(err,
			"nethook: give --proxy or --proxy-file, not both\n");
		return -1;
	}
	if (attach) {
		if (!o->cgroup) {
			fprintf(err,
				"nethook attach: --cgroup PATH is required\n");
			return -1;
		}
		if (optind < argc) {
			fprintf(err,
				"nethook attach: takes no COMMAND ('%s')\n",
				argv[optind]);
			return -1;
		}
	} else if (optind >= argc) {
		fprintf(err,
			"nethook run: no COMMAND given (nethook run [OPTIONS] -- COMMAND [ARGS...])\n");
		return -1;
	}
	o->argv = argv + optind;
	return 0;
}

int cli_run_parse(int argc, char **argv, struct run_opts *o, FILE *err)
{
	return parse(argc, argv, o, err, false);
}

int cli_attach_parse(int argc, char **argv, struct run_opts *o, FILE *err)
{
	return parse(argc, argv, o, err, true);
}

static char *read_file(const char *path, FILE *err)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(err, "nethook: --proxy-file %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(65536);
	if (buf) {
		len = fread(buf, 1, 65535, f);
		buf[len] = '\0';
		if (ferror(f))
			why = strerror(errno); /* a directory: EISDIR */
		else if (!feof(f))
			why = "larger than 64 KiB";
		else if (memchr(buf, '\0', len))
			/* what follows it would be dropped unseen */
			why = "has a NUL byte: not a text file";
	}
	if (why) {
		fprintf(err, "nethook: --proxy-file %s: %s\n", path, why);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The user:pass of each proxy URL in our argv becomes stars:
 * ps(1) and /proc/PID/cmdline read argv where the kernel left it, and
 * the supervisor, forked later, shares what is left. */
void cli_proxy_blank(char *url)
{
	char *p, *at;

	while (*url) {
		p = strstr(url, "://");
		if (!p || p > url + strcspn(url, ","))
			p = url;
		else
			p += 3;
		at = p + strcspn(p, "@/,");
		if (*at == '@')
			memset(p, '*', (size_t)(at - p));
		url = at + strcspn(at, ",");
		if (*url)
			url++;
	}
}

/* Names can go to the proxy only when there is one: direct:// alone
 * would leave nethook to resolve them itself, which is --dns direct
 * with extra steps, so that is its default and proxy an error. */
static int settle_dns(struct run_opts *o, FILE *err)
{
	if (nh_proxy_chain_carries_names(o->proxy_chain, NULL, 0) != -ENOENT) {
		if (!o->dns)
			o->dns = CLI_DNS_PROXY;
		return 0;
	}
	if (o->dns == CLI_DNS_PROXY) {
		fprintf(err,
			"nethook: --dns proxy needs a proxy to resolve names, and --proxy direct:// has none: use --dns direct or --dns block\n");
		return -1;
	}
	if (!o->dns)
		o->dns = CLI_DNS_DIRECT;
	return 0;
}

static const char *const dns_names[] = {
	[CLI_DNS_PROXY] = "proxy",
	[CLI_DNS_DIRECT] = "direct",
	[CLI_DNS_BLOCK] = "block",
	[CLI_DNS_OFF] = "off",
};

/* What -v says of --dns; the answers are watched only for a log. */
static const char *dns_says(const struct run_opts *o)
{
	switch (o->dns) {
	case CLI_DNS_PROXY:
		return "the scope's DNS goes to nethook's resolver; the proxy resolves the names";
	case CLI_DNS_DIRECT:
		if (o->proxy_chain)
			return o->log ?
				       "the scope's DNS goes to the servers it asks, each query a connect event in the log; the answers name its connections" :
				       "the scope's DNS goes to the servers it asks, each query a connect event in the log";
		return o->log ?
			       "the scope's DNS goes as asked; the answers it receives name its connections in the log" :
			       "the scope's DNS goes as asked";
	case CLI_DNS_BLOCK:
		return "the scope's DNS is refused (EPERM), each query a block event in the log";
	default:
		return "the scope's DNS goes as asked, neither logged nor watched";
	}
}

void cli_run_notices(const struct run_opts *o, FILE *err)
{
	char hop[300];

	if (o->verbose && o->dns)
		fprintf(err, "nethook: --dns %s: %s\n", dns_names[o->dns],
			dns_says(o));
	if (!o->proxy_chain)
		return;
	if (o->quiet || o->dns != CLI_DNS_PROXY ||
	    nh_proxy_chain_carries_names(o->proxy_chain, hop, sizeof(hop)))
		return;
	fprintf(err,
		"nethook: warning: %s cannot carry host names: connections to names will fail; use socks4a:// or socks5://, or --dns direct\n",
		hop);
}

/*
 * The proxy chain from --proxy, --proxy-file or NETHOOK_PROXY (in that
 * order), checked now so that a typo is a usage error, not a surprise at
 * the first connection.  Also settles what --match means without any.
 */
int cli_proxy_chain(struct run_opts *o, const char *env_proxy, FILE *err)
{
	char why[256] = "";
	char *text = NULL;
	int i, r = 0;

	if (o->nproxy) {
		r = nh_proxy_chain_new(o->proxy, (unsigned int)o->nproxy,
				       &o->proxy_chain, why, sizeof(why));
		for (i = 0; i < o->nproxy; i++)
			/* argv's own memory, writable */
			cli_proxy_blank((char *)o->proxy[i]);
	} else if (o->proxy_file || (env_proxy && *env_proxy && !o->redirect)) {
		text = o->proxy_file ? read_file(o->proxy_file, err) :
				       strdup(env_proxy);
		if (!text)
			return -1;
		r = nh_proxy_chain_new((const char *const *)&text, 1,
				       &o->proxy_chain, why, sizeof(why));
		free(text);
	}
	if (r == -ENOMEM)
		return -1;
	if (r) {
		fprintf(err, "nethook: proxy: %s\n", why);
		return -1;
	}
	if ((o->nmatch || o->nexclude) && !o->redirect && !o->proxy_chain) {
		fprintf(err,
			"nethook: --match and --exclude choose what --redirect or --proxy sends elsewhere; give one\n");
		return -1;
	}
	if (o->allow_udp && !o->proxy_chain) {
		fprintf(err, "nethook: --allow-udp goes with --proxy\n");
		return -1;
	}
	/* without a proxy, DNS goes as asked: watched, or not */
	if ((o->dns == CLI_DNS_PROXY || o->dns == CLI_DNS_BLOCK) &&
	    !o->proxy_chain) {
		fprintf(err,
			"nethook: --dns %s goes with --proxy (without it: direct, the default, or off)\n",
			dns_names[o->dns]);
		return -1;
	}
	if (!o->dns && !o->proxy_chain)
		o->dns = CLI_DNS_DIRECT;
	if (o->proxy_chain && settle_dns(o, err))
		return -1;
	if (o->allow_raw && !o->redirect && !o->nblock && !o->proxy_chain) {
		fprintf(err,
			"nethook: --allow-raw goes with --proxy, --block or --redirect\n");
		return -1;
	}
	/* monitoring with nowhere to write would watch for nothing */
	if (!o->redirect && !o->nblock && !o->proxy_chain && !o->log)
		o->log = "-";
	return 0;
}

/* Under a policy, sockets it cannot see are refused: else a raw or
 * packet socket walks around --proxy and --block unseen. */
bool cli_refuse_unhooked(const struct run_opts *o)
{
	return (o->redirect || o->nblock || o->proxy_chain) && !o->allow_raw;
}

void cli_run_opts_free(struct run_opts *o)
{
	nh_proxy_chain_free(o->proxy_chain);
	o->proxy_chain = NULL;
}

static int put_rule(struct nh_rule *rules, int n, int max,
		    enum nh_rule_action action, const char *match,
		    const struct sockaddr *target, FILE *err)
{
	if (n >= max) {
		fprintf(err, "nethook: too many rules (at most %d)\n", max);
		return -1;
	}
	memset(&rules[n], 0, sizeof(rules[n]));
	rules[n].sz = sizeof(rules[n]);
	rules[n].action = action;
	rules[n].match = match;
	rules[n].target = target;
	return n + 1;
}

/* The addresses nethook's resolver gives out (nethook.h). */
static const char *const pool[] = { "198.18.0.0/15", "[100::/64]" };

/* Loopback, in every form a destination can take. */
static const char *const loopback[] = { "127.0.0.0/8", "[::1]" };

int cli_run_rules(const struct run_opts *o, struct nh_rule *rules, int max,
		  FILE *err)
{
	const struct sockaddr *to = (const void *)&o->redirect_addr;
	enum nh_rule_action act = o->redirect ? NH_RULE_REDIRECT :
						NH_RULE_DIVERT;
	int n = 0, i;

	for (i = 0; i < o->nblock && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_BLOCK, o->block[i], NULL,
			     err);
	if ((!o->redirect && !o->proxy_chain) || n < 0)
		return n;
	if (o->proxy_chain) {
		/* DNS, whatever its transport, before --exclude and the
		 * loopback passes: a stub resolver on 127.0.0.53 is the
		 * program's way out too */
		n = put_rule(rules, n, max,
			     o->dns == CLI_DNS_DIRECT ? NH_RULE_PASS :
			     o->dns == CLI_DNS_OFF    ? NH_RULE_PASS :
			     o->dns == CLI_DNS_BLOCK  ? NH_RULE_BLOCK :
							NH_RULE_DNS,
			     "[::/0]:53", NULL, err);
		if (n > 0) {
			rules[n - 1].protos = NH_RULE_TCP | NH_RULE_UDP;
			rules[n - 1].flags =
				o->dns == CLI_DNS_DIRECT ? NH_RULE_LOG : 0;
			rules[n - 1].err = o->dns == CLI_DNS_BLOCK ? EPERM : 0;
		}
		/* the addresses the resolver gives stand for names: UDP to
		 * them goes nowhere yet, --allow-udp or not (the kernel lets
		 * a connect() by without a word, and refuses a datagram) */
		for (i = 0; i < 2 && n > 0 && o->dns == CLI_DNS_PROXY; i++) {
			n = put_rule(rules, n, max, NH_RULE_BLOCK, pool[i],
				     NULL, err);
			if (n > 0) {
				rules[n - 1].protos = NH_RULE_UDP;
				rules[n - 1].err = EPERM;
			}
		}
		if (n > 0) {
			/* UDP cannot follow TCP through the proxy yet, and
			 * must not slip past it unseen: refused unless
			 * --allow-udp, and logged then */
			n = put_rule(rules, n, max,
				     o->allow_udp ? NH_RULE_PASS :
						    NH_RULE_BLOCK,
				     "[::/0]", NULL, err);
		}
		if (n > 0) {
			rules[n - 1].protos = NH_RULE_UDP;
			rules[n - 1].err = o->allow_udp ? 0 : EPERM;
			rules[n - 1].flags = o->allow_udp ? NH_RULE_LOG : 0;
		}
	}
	for (i = 0; i < o->nexclude && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_PASS, o->exclude[i], NULL,
			     err);
	if (o->nmatch) {
		for (i = 0; i < o->nmatch && n >= 0; i++)
			n = put_rule(rules, n, max, act, o->match[i], to, err);
		return n;
	}
	for (i = 0; i < 2 && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_PASS, loopback[i], NULL,
			     err);
	if (n >= 0)
		n = put_rule(rules, n, max, act, "[::/0]", to, err);
	return n;
}
