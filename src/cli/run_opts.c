// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run` options, and the rule table they make. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "nh_spec.h"

enum {
	OPT_REDIRECT = 0x100,
	OPT_MATCH,
	OPT_EXCLUDE,
	OPT_BLOCK,
	OPT_LOG,
	OPT_JSON,
	OPT_EVENTS,
	OPT_USER,
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
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const event_names[] = {
	[NH_EVENT_CREATE] = "create", [NH_EVENT_CONNECT] = "connect",
	[NH_EVENT_BLOCK] = "block",   [NH_EVENT_REDIRECT] = "redirect",
	[NH_EVENT_END] = "end",
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
			for (i = NH_EVENT_CREATE; i <= NH_EVENT_END; i++)
				*mask |= NH_EVENT_MASK(i);
			continue;
		}
		for (i = NH_EVENT_CREATE; i <= NH_EVENT_END; i++) {
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

static int add_spec(const char **list, int *n, const char *opt,
		    const char *val, FILE *err)
{
	struct nh_spec spec;

	if (nh_spec_parse(val, &spec) || !*val) {
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

int cli_run_parse(int argc, char **argv, struct run_opts *o, FILE *err)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->events = NH_EVENT_MASK_DEFAULT;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", run_options, NULL)) != -1) {
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
			if (add_spec(o->match, &o->nmatch, "match", optarg, err))
				return -1;
			break;
		case OPT_EXCLUDE:
			if (add_spec(o->exclude, &o->nexclude, "exclude", optarg,
				     err))
				return -1;
			break;
		case OPT_BLOCK:
			if (add_spec(o->block, &o->nblock, "block", optarg, err))
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
					"nethook: --events: '%s' is not a list of create,connect,block,redirect,end,all\n",
					optarg);
				return -1;
			}
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			return 1;
		case '?':
		default:
			if (optopt && optopt < 0x100)
				fprintf(err, "nethook run: unknown option '-%c'\n",
					optopt);
			else if (optopt)
				fprintf(err,
					"nethook run: option '%s' needs a value\n",
					argv[optind - 1]);
			else
				fprintf(err, "nethook run: unknown option '%s'\n",
					argv[optind - 1]);
			return -1;
		}
	}
	if ((o->nmatch || o->nexclude) && !o->redirect) {
		fprintf(err,
			"nethook run: --match and --exclude choose what --redirect rewrites; give --redirect\n");
		return -1;
	}
	if (optind >= argc) {
		fprintf(err, "nethook run: no COMMAND given (nethook run [OPTIONS] -- COMMAND [ARGS...])\n");
		return -1;
	}
	o->argv = argv + optind;
	/* monitoring with nowhere to write would watch for nothing */
	if (!o->redirect && !o->nblock && !o->log)
		o->log = "-";
	return 0;
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

/* Loopback, in every form a destination can take. */
static const char *const loopback[] = { "127.0.0.0/8", "[::1]" };

int cli_run_rules(const struct run_opts *o, struct nh_rule *rules, int max,
		  FILE *err)
{
	const struct sockaddr *to = (const void *)&o->redirect_addr;
	int n = 0, i;

	for (i = 0; i < o->nblock && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_BLOCK, o->block[i], NULL,
			     err);
	if (!o->redirect || n < 0)
		return n;
	for (i = 0; i < o->nexclude && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_PASS, o->exclude[i], NULL,
			     err);
	if (o->nmatch) {
		for (i = 0; i < o->nmatch && n >= 0; i++)
			n = put_rule(rules, n, max, NH_RULE_REDIRECT,
				     o->match[i], to, err);
		return n;
	}
	for (i = 0; i < 2 && n >= 0; i++)
		n = put_rule(rules, n, max, NH_RULE_PASS, loopback[i], NULL,
			     err);
	if (n >= 0)
		n = put_rule(rules, n, max, NH_RULE_REDIRECT, "[::/0]", to, err);
	return n;
}
