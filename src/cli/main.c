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
	fprintf(f,
		"usage: nethook COMMAND [OPTIONS]\n"
		"\n"
		"  run [OPTIONS] -- CMD [ARGS...]  run CMD with its connections hooked\n"
		"      --redirect ADDR:PORT   rewrite matching TCP connects to ADDR:PORT\n"
		"      --match SPEC           what --redirect rewrites (default: all but loopback)\n"
		"      --exclude SPEC         never rewritten; wins over --match\n"
		"      --block SPEC           refused: ECONNREFUSED on connect, EPERM on sendto\n"
		"      --log FILE|-           one line per event ('-' = standard error)\n"
		"      --json                 the log as JSON lines\n"
		"      --events LIST          create,connect,block,redirect,end,all\n"
		"                             (default block,redirect,end)\n"
		"      --proxy URL            send matching TCP connects through a proxy:\n"
		"                             socks5://[user:pass@]host:port, socks4://,\n"
		"                             socks4a://, http://[user:pass@]host:port,\n"
		"                             direct://; repeat for a chain, in order\n"
		"      --proxy-file FILE      the chain, one URL a line (or $NETHOOK_PROXY)\n"
		"      --allow-udp            with --proxy: let UDP other than DNS go direct\n"
		"      --allow-raw            with --proxy, --block or --redirect: let CMD\n"
		"                             make raw, packet and other sockets the hooks\n"
		"                             cannot see (ping, traceroute); refused (EPERM,\n"
		"                             logged) otherwise\n"
		"      --connect-timeout S    relay: connect and each handshake (10)\n"
		"      --idle-timeout S       relay: close flows idle this long (never)\n"
		"      --max-flows N          relay: concurrent flows (65536)\n"
		"      --threads N            relay: worker threads (one per CPU, up to 4;\n"
		"                             1: on nethook's main thread)\n"
		"      --handoff              with --proxy: open the tunnel on CMD's own\n"
		"                             socket, then step out (no relay hop)\n"
		"      --user USER[:GROUP]    run CMD as that user\n"
		"      -v, --verbose          say more (twice: debug)\n"
		"  attach --cgroup PATH [OPTIONS]  the same for an existing cgroup, until\n"
		"                             interrupted\n"
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
		"SPEC: ADDR[/LEN][:PORT[-PORT]] or [ADDR6[/LEN]][:PORT[-PORT]];\n"
		"an IPv4 spec also matches IPv4-mapped IPv6 destinations.\n"
		"With neither --redirect nor --block, run monitors: each TCP\n"
		"connection is logged when it ends, with its bytes and duration.\n");
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
	int err;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "nethook check: takes no arguments\n");
		return NH_EXIT_ERROR;
	}
	cli_verbose = 1;
	err = nh_check_features(cli_log, NULL);
	printf("nethook: %s\n", err ? "some features are missing" :
				      "every feature nethook needs is here");
	return err ? NH_EXIT_ERROR : 0;
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
