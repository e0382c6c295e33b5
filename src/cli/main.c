// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The nethook command: a thin layer over libnethook. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "cli.h"

int cli_verbose;

void cli_log(int level, const char *msg, void *user)
{
	(void)user;
	int max = cli_verbose >= 2 ? LOG_DEBUG :
		  cli_verbose == 1 ? LOG_INFO :
				     LOG_WARNING;

	if (level > max)
		return;
	fprintf(stderr, "nethook: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nethook COMMAND [OPTIONS]\n"
		   "\n"
		   "  run [OPTIONS] -- CMD [ARGS...]  run CMD with its connections hooked\n"
		   "%s"
		   "  attach --cgroup PATH [OPTIONS]  the same for an existing cgroup, until\n"
		   "                             interrupted (not --handoff, --user)\n"
		   "  packet [OPTIONS] ACTION... [-- CMD [ARGS...]]  IP packets: log, capture,\n"
		   "                             drop, delay, lose, rate-limit or rewrite them\n"
		   "      --filter EXPR          pcap-filter expression; --dir out|in|both\n"
		   "      --netns PATH           that network namespace; --fail open|closed\n"
		   "      --log FILE|- [--json], --pcap FILE, --drop, --loss PCT,\n"
		   "      --delay MS[:JITTER], --rate RATE, --rewrite-dst ADDR[:PORT]\n"
		   "                             (nethook packet --help)\n"
		   "  cleanup                      remove what dead runs left\n"
		   "  check                        check the kernel features nethook needs\n"
		   "  --version                    print the version\n"
		   "\n"
		   "%s",
		cli_run_options, cli_run_notes);
}

int cmd_cleanup(int argc, char **argv)
{
	int n;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "nethook cleanup: takes no arguments\n");
		return NH_EXIT_ERROR;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "nethook: cleanup needs root\n");
		return NH_EXIT_ERROR;
	}
	cli_verbose = 1;
	n = nh_cleanup(cli_log, NULL);
	printf("nethook: cleaned up %d dead run%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int cmd_check(int argc, char **argv)
{
	int err, uerr;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "nethook check: takes no arguments\n");
		return NH_EXIT_ERROR;
	}
	cli_verbose = 1;
	err = nh_check_features(cli_log, NULL);
	printf("nethook: kernel mode (root): %s\n",
	       err ? "some features are missing" :
		     "every feature it needs is here");
	uerr = nh_check_user_mode(cli_log, NULL);
	printf("nethook: user mode (no root): %s\n",
	       uerr ? "some features are missing" :
		      "every feature it needs is here");
	/* the mode `nethook run` takes here by default */
	if (geteuid() == 0)
		return err ? NH_EXIT_ERROR : 0;
	return uerr ? NH_EXIT_ERROR : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NH_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	if (!strcmp(argv[1], "packet"))
		return cmd_packet(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cleanup"))
		return cmd_cleanup(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("nethook %s\n", nh_version());
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "nethook: unknown command '%s' (try nethook --help)\n",
		argv[1]);
	return NH_EXIT_ERROR;
}
