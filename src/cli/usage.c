// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The options of `run` and `attach`, written once: `nethook --help`,
 * `nethook run --help`, `nethook attach --help` and the nethook(1) page
 * (made from `nethook --help` by help2man) all print this text. */
#include "cli.h"

const char cli_run_options[] =
	"      --redirect ADDR:PORT   rewrite matching TCP connects to ADDR:PORT\n"
	"      --match SPEC           what --redirect rewrites (default: all but loopback)\n"
	"      --exclude SPEC         never rewritten; wins over --match\n"
	"      --block SPEC           refused: ECONNREFUSED on connect, EPERM on sendto\n"
	"      --log FILE|-           one line per event ('-' = standard error)\n"
	"      --json                 the log as JSON lines\n"
	"      --events LIST          create,connect,block,redirect,end,dns,all\n"
	"                             (default block,redirect,end)\n"
	"      --proxy URL            send matching TCP connects through a proxy:\n"
	"                             socks5://[user:pass@]host[:port] (or socks5h),\n"
	"                             socks4://, socks4a:// (port 1080 if left out),\n"
	"                             http://[user:pass@]host[:port] (port 8080),\n"
	"                             direct://; repeat for a chain, in order;\n"
	"                             URL?pipeline=auto|on|off: handshakes in one\n"
	"                             flight, and CMD's first bytes with them\n"
	"                             (auto: once a probe shows the proxy takes it)\n"
	"      --proxy-file FILE      the chain, one URL a line (or $NETHOOK_PROXY)\n"
	"      --dns MODE             the scope's DNS (UDP and TCP to port 53, any\n"
	"                             address, 127.0.0.53 included); with --proxy:\n"
	"                             proxy: answered by nethook, names resolved by\n"
	"                             the last proxy (default); direct: sent as\n"
	"                             asked, each query logged (default with\n"
	"                             direct://); block: refused (EPERM), logged;\n"
	"                             without --proxy: direct (default) or off.\n"
	"                             direct also names connections in the log\n"
	"                             (name=) by the UDP answers the scope gets;\n"
	"                             off: as asked, not logged, not watched\n"
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
	"      --mode kernel|user     kernel: BPF hooks on a cgroup (root, the\n"
	"                             default as root); user: CMD's system calls\n"
	"                             caught with seccomp (no root; the default\n"
	"                             without it; convenience, not enforcement)\n"
	"      --user USER[:GROUP]    run CMD as that user (root)\n"
	"      -v, --verbose          say more (twice: debug)\n"
	"      -q, --quiet            no line per failed proxied connection, no\n"
	"                             warning of a proxy that cannot carry names\n";

const char cli_run_notes[] =
	"SPEC: ADDR[/LEN][:PORT[-PORT]] or [ADDR6[/LEN]][:PORT[-PORT]];\n"
	"an IPv4 spec also matches IPv4-mapped IPv6 destinations.\n"
	"With neither --redirect, --block nor --proxy, run monitors: each TCP\n"
	"connection is logged when it ends, with its bytes and duration, and\n"
	"the host name the program looked up for it (name=).\n"
	"Under --proxy, each connection the proxy chain fails (refused, bad\n"
	"credentials, unreachable, timed out) is one line on standard error,\n"
	"at most 10 a second, unless -q:\n"
	"  nethook: web.example:80 via socks5://192.0.2.10:1080: WHY\n";

void cli_usage_run(FILE *f)
{
	fprintf(f, "usage: nethook run [OPTIONS] -- COMMAND [ARGS...]\n"
		   "Run COMMAND with its connections hooked: in a cgroup of its own\n"
		   "(kernel mode, as root), or through seccomp (user mode).\n"
		   "\n%s\n%s",
		cli_run_options, cli_run_notes);
}

void cli_usage_attach(FILE *f)
{
	fprintf(f, "usage: nethook attach --cgroup PATH [OPTIONS]\n"
		   "Hook an existing cgroup v2 (a container, a systemd unit) until\n"
		   "interrupted.  The options of run, but --handoff and --user:\n"
		   "\n      --cgroup PATH          the cgroup (a directory under the cgroup v2 mount)\n"
		   "%s\n%s",
		cli_run_options, cli_run_notes);
}
