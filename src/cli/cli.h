/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef NH_CLI_H
#define NH_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "nethook/nethook.h"

#define NH_EXIT_ERROR 125
#define NH_EXIT_NOEXEC 126
#define NH_EXIT_NOTFOUND 127
#define NH_CLI_MAX_SPECS 64

struct run_opts {
	const char *redirect;
	struct sockaddr_storage redirect_addr;
	const char *match[NH_CLI_MAX_SPECS];
	int nmatch;
	const char *exclude[NH_CLI_MAX_SPECS];
	int nexclude;
	const char *block[NH_CLI_MAX_SPECS];
	int nblock;
	const char *log; /* NULL: none; "-": stderr */
	bool json;
	unsigned int events; /* NH_EVENT_MASK bits */
	const char *user;
	int verbose;
	char **argv; /* COMMAND and its arguments */
};

/* Parse `run` options; on error print one line and return -1. */
int cli_run_parse(int argc, char **argv, struct run_opts *o, FILE *err);
/* The rule table for the kernel, in precedence order: --block first, then
 * --exclude, then --match (default: all but loopback).  Returns the count
 * or -1 (with a line on err). */
int cli_run_rules(const struct run_opts *o, struct nh_rule *rules, int max,
		  FILE *err);
int cli_parse_events(const char *s, unsigned int *mask);

int cmd_run(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_check(int argc, char **argv);

void cli_log(int level, const char *msg, void *user);
extern int cli_verbose;

#endif
