// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A connection nethook failed to carry through the proxy, told on
 * standard error without --log: to the program it looks like any reset,
 * so without this line the user has nothing to go on.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

#define FAIL_PERIOD_NS 1000000000ull
#define FAIL_BURST 10

/* What reaches a terminal: a proxy's reply or a queried name may hold
 * anything, escape sequences included. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

bool cli_fail_line(const struct nh_event *ev, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)&ev->orig_dst;
	const struct sockaddr_in *s4 = (const void *)&ev->orig_dst;
	char dst[300], why[64];
	int port;

	if (ev->type == NH_EVENT_END) {
		/* only a tunnel that never opened: a reset later is the
		 * peer's or the program's business; ECONNABORTED is the
		 * program closing first, or nethook stopping */
		if (ev->route != NH_ROUTE_DIVERT || !ev->err ||
		    ev->established || ev->err == ECONNABORTED)
			return false;
	} else if (ev->type == NH_EVENT_BLOCK) {
		/* refused by the relay or the handoff, which say why; a
		 * rule's block has no detail, a refused socket() no
		 * destination */
		if (!ev->detail || ev->sock_family ||
		    ev->orig_dst.ss_family == AF_UNSPEC)
			return false;
	} else {
		return false;
	}
	if (ev->orig_name) {
		port = ev->orig_dst.ss_family == AF_INET6 ?
			       ntohs(s6->sin6_port) :
			       ntohs(s4->sin_port);
		snprintf(dst, sizeof(dst), "%s:%d", ev->orig_name, port);
	} else if (nh_sockaddr_format((const void *)&ev->orig_dst, dst,
				      sizeof(dst)) < 0) {
		snprintf(dst, sizeof(dst), "?");
	}
	if (!ev->detail)
		snprintf(why, sizeof(why), "%s", strerror(ev->err));
	snprintf(buf, len, "nethook: %s%s%s: %s", dst,
		 ev->route_desc ? " via " : "",
		 ev->route_desc ? ev->route_desc : "",
		 ev->detail ? ev->detail : why);
	printable(buf);
	return true;
}

/* A period over with nothing kept quiet needs no summary; one with some
 * says how many, before the next line or at the end. */
static void flush(struct cli_fails *st, uint64_t now_ns, bool force, FILE *f)
{
	if (!force && now_ns - st->start_ns < FAIL_PERIOD_NS)
		return;
	if (st->quiet)
		fprintf(f, "nethook: %u more failed connection%s not shown\n",
			st->quiet, st->quiet == 1 ? "" : "s");
	st->start_ns = now_ns;
	st->said = 0;
	st->quiet = 0;
}

void cli_fails_event(struct cli_fails *st, const struct nh_event *ev,
		     uint64_t now_ns, FILE *f)
{
	char line[1024];

	flush(st, now_ns, false, f);
	if (!cli_fail_line(ev, line, sizeof(line)))
		return;
	if (st->said >= FAIL_BURST) {
		st->quiet++;
		return;
	}
	st->said++;
	fprintf(f, "%s\n", line);
	fflush(f);
}

void cli_fails_end(struct cli_fails *st, FILE *f)
{
	flush(st, st->start_ns, true, f);
	fflush(f);
}
