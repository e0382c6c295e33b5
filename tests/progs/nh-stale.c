// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-stale: ride on the relay's original-destination entries (issue 9,
 * item 2), as an attacker would.
 *
 *   nh-stale reset [-6] [-n COUNT] ADDR PORT
 *   nh-stale ride [-t IO_MS] RELAY_PORT HOST < PORTS
 *   nh-stale scan [-n COUNT] RELAY_PORT
 *   nh-stale send [-n COUNT] [-p PATH] ADDR PORT
 *
 * reset (run in nethook's scope): COUNT non-blocking connects to
 * ADDR:PORT, which nethook diverts to its relay, each reset (SO_LINGER
 * {1, 0}, close) at once, most before the relay accepted it.  Prints
 * "relay=PORT" (the relay's port, read from /proc/net/tcp where any user
 * sees it), then the local port of each connection, one a line.
 *
 * ride (outside the scope, any user): for each port read, binds
 * 127.0.0.1:PORT, connects to 127.0.0.1:RELAY_PORT and sends
 * "GET /who HTTP/1.0" with Host HOST; a reply that starts with "HTTP/"
 * came from the far server the entry named.  Prints
 *   tried=N bound=N connected=N relayed=N
 *
 * scan: COUNT connects to 127.0.0.1:RELAY_PORT from ephemeral ports, as a
 * port scan does; prints "refused=N other=N".
 *
 * send (in the scope): COUNT blocking connects to ADDR:PORT, each sends
 * "GET PATH HTTP/1.0" and closes at once, without waiting for an answer
 * (a graceful close); prints the local port of each, then
 * "sent=N failed=N".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: nh-stale reset [-6] [-n COUNT] ADDR PORT\n"
		"       nh-stale ride [-t IO_MS] RELAY_PORT HOST < PORTS\n"
		"       nh-stale scan [-n COUNT] RELAY_PORT\n"
		"       nh-stale send [-n COUNT] [-p PATH] ADDR PORT\n");
	return 2;
}

/* The remote port of the TCP socket whose local port is lport, from
 * /proc/net/tcp (or tcp6): what any local user can read. */
static int proc_remote_port(const char *file, unsigned int lport)
{
	unsigned int lp, rp;
	char line[512];
	int found = -1;
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		/* "  0: 0100007F:A1B2 0100007F:C3D4 01 ..." */
		if (!c || sscanf(c + 1, " %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x",
				 &lp, &rp) != 2)
			continue;
		if (lp == lport) {
			found = (int)rp;
			break;
		}
	}
	fclose(f);
	return found;
}

static unsigned int port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ?
			     ((const struct sockaddr_in *)ss)->sin_port :
			     ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static int do_reset(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct linger lg = { 1, 0 };
	long n = 100, i;
	int force6 = 0, opt, said = 0;
	socklen_t len;

	while ((opt = getopt(argc, argv, "6n:")) != -1) {
		switch (opt) {
		case '6':
			force6 = 1;
			break;
		case 'n':
			n = nh_parse_num(optarg, 100000);
			if (n < 0)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 ||
	    nh_parse_addr(argv[optind], argv[optind + 1], force6, &ss, &len))
		return usage();
	for (i = 0; i < n; i++) {
		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		unsigned int port;
		int fd;

		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		if (connect(fd, (void *)&ss, len) && errno != EINPROGRESS) {
			fprintf(stderr, "connect: %s\n", nh_errname(errno));
			close(fd);
			continue;
		}
		getsockname(fd, (void *)&me, &ml);
		port = port_of(&me);
		if (!said) {
			int rp = proc_remote_port("/proc/net/tcp", port);

			if (rp < 0)
				rp = proc_remote_port("/proc/net/tcp6", port);
			printf("relay=%d\n", rp);
			said = 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		printf("%u\n", port);
	}
	return 0;
}

/* "GET /who" through the relay from 127.0.0.1:port (0: any port): 1 when
 * the far server answered, 0 when not (refused), -1 when the port could
 * not be bound, -2 when the connect failed otherwise. */
static int ride_one(unsigned int port, unsigned int rport, const char *host,
		    int io_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[256], buf[64];
	int fd, one = 1, rc = 0;
	size_t got = 0;
	ssize_t k;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -2;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (port) {
		a.sin_port = htons((unsigned short)port);
		if (bind(fd, (void *)&a, sizeof(a))) {
			close(fd);
			return -1;
		}
	}
	a.sin_port = htons((unsigned short)rport);
	rc = nh_connect_timeout(fd, (void *)&a, sizeof(a), io_ms);
	if (rc) {
		close(fd);
		/* reset by the relay before poll() said connected: refused */
		return rc == -ECONNRESET ? 0 : -2;
	}
	nh_set_io_timeout(fd, io_ms);
	snprintf(req, sizeof(req), "GET /who HTTP/1.0\r\nHost: %s\r\n\r\n",
		 host);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
		goto out;
	while (got < 5) {
		k = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	rc = got >= 5 && !memcmp(buf, "HTTP/", 5);
out:
	close(fd);
	return rc;
}

static int do_ride(int argc, char **argv)
{
	long tried = 0, bound = 0, conn = 0, relayed = 0, rport;
	int opt, io_ms = 2000;
	unsigned int port;
	char line[64];

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return usage();
		io_ms = (int)nh_parse_num(optarg, 60000);
		if (io_ms < 0)
			return usage();
	}
	if (argc - optind != 2)
		return usage();
	rport = nh_parse_num(argv[optind], 65535);
	if (rport < 0)
		return usage();
	while (fgets(line, sizeof(line), stdin)) {
		int rc;

		if (sscanf(line, "%u", &port) != 1 || !port || port > 65535)
			continue;
		tried++;
		rc = ride_one(port, (unsigned int)rport, argv[optind + 1],
			      io_ms);
		if (rc == -1)
			continue;
		bound++;
		if (rc == -2)
			continue;
		conn++;
		relayed += rc;
	}
	printf("tried=%ld bound=%ld connected=%ld relayed=%ld\n", tried, bound,
	       conn, relayed);
	return 0;
}

static int do_scan(int argc, char **argv)
{
	long n = 1000, i, refused = 0, other = 0, rport;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return usage();
		n = nh_parse_num(optarg, 100000);
		if (n < 0)
			return usage();
	}
	if (argc - optind != 1)
		return usage();
	rport = nh_parse_num(argv[optind], 65535);
	if (rport < 0)
		return usage();
	for (i = 0; i < n; i++) {
		if (ride_one(0, (unsigned int)rport, "scan", 2000) == 0)
			refused++;
		else
			other++;
	}
	printf("refused=%ld other=%ld\n", refused, other);
	return 0;
}

static int do_send(int argc, char **argv)
{
	const char *path = "/who";
	struct sockaddr_storage ss;
	long n = 100, i, sent = 0, failed = 0;
	char req[512];
	socklen_t len;
	int opt;

	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		switch (opt) {
		case 'n':
			n = nh_parse_num(optarg, 100000);
			if (n < 0)
				return usage();
			break;
		case 'p':
			path = optarg;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 ||
	    nh_parse_addr(argv[optind], argv[optind + 1], 0, &ss, &len))
		return usage();
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	for (i = 0; i < n; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);

		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);

		if (fd < 0 || nh_connect_timeout(fd, (void *)&ss, len, 5000) ||
		    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
			failed++;
		} else {
			sent++;
			getsockname(fd, (void *)&me, &ml);
			printf("%u\n", port_of(&me));
		}
		if (fd >= 0)
			close(fd);
	}
	printf("sent=%ld failed=%ld\n", sent, failed);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	argc--;
	argv++;
	if (!strcmp(argv[0], "reset"))
		return do_reset(argc, argv);
	if (!strcmp(argv[0], "ride"))
		return do_ride(argc, argv);
	if (!strcmp(argv[0], "scan"))
		return do_scan(argc, argv);
	if (!strcmp(argv[0], "send"))
		return do_send(argc, argv);
	return usage();
}
