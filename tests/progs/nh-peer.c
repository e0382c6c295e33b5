// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-peer: connect TCP to ADDR PORT and print what getpeername() says.
 *
 *   nh-peer [-6] [-t SECONDS] [-s TEXT] ADDR PORT
 *
 * -6 uses an AF_INET6 socket (an IPv4 ADDR becomes ::ffff:ADDR).
 * -s sends TEXT (\r, \n and \\ escapes understood), half-closes, and
 * prints the reply read to EOF after a "reply:" line.
 * -a connects the one socket ROUNDS times, each a connection of its own
 * (connect(AF_UNSPEC) in between), as a program reusing its socket may.
 * Prints "peer=ADDR:PORT" (IPv6: "peer=[ADDR]:PORT") and exits 0, or
 * prints "errno=NAME" and exits 1.  Usage errors exit 2.
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
	fprintf(stderr,
		"usage: nh-peer [-6] [-t SECONDS] [-s TEXT] [-a ROUNDS] ADDR PORT\n");
	exit(2);
}

/* Interpret \r, \n and \\ in place; returns the new length. */
static size_t unescape(char *s)
{
	char *in = s, *out = s;

	while (*in) {
		if (in[0] == '\\' && in[1]) {
			in++;
			*out++ = *in == 'r' ? '\r' : *in == 'n' ? '\n' : *in;
			in++;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return out - s;
}

static int fail(int err)
{
	printf("errno=%s\n", nh_errname(err));
	return 1;
}

static int send_and_read(int fd, char *text)
{
	size_t len = unescape(text), off = 0;
	char buf[4096];
	ssize_t n;

	while (off < len) {
		n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0)
			return fail(errno);
		off += n;
	}
	shutdown(fd, SHUT_WR);
	printf("reply:\n");
	fflush(stdout);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			return 1;
	}
	if (n < 0)
		return fail(errno);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst, peer;
	socklen_t len, plen = sizeof(peer);
	char *text = NULL;
	long timeout = 5, rounds = 1, r;
	int force6 = 0;
	char buf[80];
	int fd, opt, err;

	while ((opt = getopt(argc, argv, "6t:s:a:")) != -1) {
		switch (opt) {
		case '6':
			force6 = 1;
			break;
		case 't':
			timeout = nh_parse_num(optarg, 3600);
			if (timeout <= 0)
				usage();
			break;
		case 's':
			text = optarg;
			break;
		case 'a':
			rounds = nh_parse_num(optarg, 100);
			if (rounds <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	if (nh_parse_addr(argv[optind], argv[optind + 1], force6, &dst, &len))
		usage();

	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail(errno);
	for (r = 0, err = 0; r < rounds && !err; r++) {
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		char copy[4096];

		if (r && connect(fd, &unspec, sizeof(unspec)))
			return fail(errno);
		err = nh_connect_timeout(fd, (struct sockaddr *)&dst, len,
					 timeout * 1000);
		if (err)
			return fail(-err);
		plen = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
			return fail(errno);
		nh_fmt_addr((struct sockaddr *)&peer, buf, sizeof(buf));
		printf("peer=%s\n", buf);
		if (text) {
			/* unescaped in place: each round from the original */
			snprintf(copy, sizeof(copy), "%s", text);
			nh_set_io_timeout(fd, timeout * 1000);
			err = send_and_read(fd, copy);
		}
	}
	close(fd);
	return err;
}
