// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-udp: send one UDP datagram and say whether the kernel let it go.
 *
 *   nh-udp [-6] [-c] [-r] [-t SECONDS] ADDR PORT [MESSAGE]
 *
 * Default: unconnected sendto().  -c: connect() then send().
 * -6 uses an AF_INET6 socket (an IPv4 ADDR becomes ::ffff:ADDR).
 * -r waits for one reply datagram and prints "reply=TEXT".
 * Prints "ok" and exits 0, or "errno=NAME" and exits 1 (the failing
 * call is named on stderr).  Usage errors exit 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: nh-udp [-6] [-c] [-r] [-t SECONDS] "
			"ADDR PORT [MESSAGE]\n");
	exit(2);
}

static int fail(const char *op, int err)
{
	fprintf(stderr, "nh-udp: %s: %s\n", op, strerror(err));
	printf("errno=%s\n", nh_errname(err));
	return 1;
}

int main(int argc, char **argv)
{
	int force6 = 0, connected = 0, want_reply = 0;
	const char *msg = "nh-udp";
	struct sockaddr_storage dst;
	long timeout = 5;
	char buf[2048];
	socklen_t len;
	ssize_t n;
	int fd, opt;

	while ((opt = getopt(argc, argv, "6crt:")) != -1) {
		switch (opt) {
		case '6':
			force6 = 1;
			break;
		case 'c':
			connected = 1;
			break;
		case 'r':
			want_reply = 1;
			break;
		case 't':
			timeout = nh_parse_num(optarg, 3600);
			if (timeout <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		usage();
	if (argc - optind == 3)
		msg = argv[optind + 2];
	if (nh_parse_addr(argv[optind], argv[optind + 1], force6, &dst, &len))
		usage();

	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	nh_set_io_timeout(fd, timeout * 1000);
	if (connected) {
		if (connect(fd, (struct sockaddr *)&dst, len) < 0)
			return fail("connect", errno);
		n = send(fd, msg, strlen(msg), 0);
		if (n < 0)
			return fail("send", errno);
	} else {
		n = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&dst,
			   len);
		if (n < 0)
			return fail("sendto", errno);
	}
	if (want_reply) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return fail("recv",
				    errno == EAGAIN ? ETIMEDOUT : errno);
		buf[n] = '\0';
		printf("reply=%s\n", buf);
	}
	printf("ok\n");
	close(fd);
	return 0;
}
