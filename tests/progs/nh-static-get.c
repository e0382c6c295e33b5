// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-static-get: a statically linked HTTP/1.0 client, the kind of program
 * LD_PRELOAD-based tools cannot hook.
 *
 *   nh-static-get [-t SECONDS] http://ADDR[:PORT]/PATH
 *
 * ADDR is numeric (IPv4, or IPv6 in brackets).  Writes the body to
 * stdout; exits 0 when the status is 200, else 1 with a message (and
 * "errno=NAME" for a failed system call) on stderr.  Usage errors exit 2.
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
	fprintf(stderr, "usage: nh-static-get [-t SECONDS] "
			"http://ADDR[:PORT]/PATH\n");
	exit(2);
}

static int fail(const char *op, int err)
{
	fprintf(stderr, "nh-static-get: %s: errno=%s\n", op, nh_errname(err));
	return 1;
}

/* Split "ADDR[:PORT]/PATH" (after "http://") into its parts, in place. */
static int split_url(char *url, char **host, char **port, char **path)
{
	char *p = strchr(url, '/'), *colon;

	if (!p || p == url)
		return -1;
	*path = strdup(p);
	*p = '\0';
	*host = url;
	*port = "80";
	if (url[0] == '[') {
		p = strchr(url, ']');
		if (!p)
			return -1;
		if (p[1] == ':')
			*port = p + 2;
		else if (p[1])
			return -1;
		p[1] = '\0';
	} else if ((colon = strchr(url, ':'))) {
		*colon = '\0';
		*port = colon + 1;
	}
	return *path ? 0 : -1;
}

static int write_all(const char *buf, size_t len)
{
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

/* Read the reply; print the body; return the HTTP status or -errno. */
static int read_reply(int fd)
{
	char head[8192], buf[65536], *end;
	size_t got = 0;
	int status = 0;
	ssize_t n;

	while (got < sizeof(head) - 1) {
		n = recv(fd, head + got, sizeof(head) - 1 - got, 0);
		if (n <= 0)
			return n < 0 ? -errno : -EPROTO;
		got += n;
		head[got] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end)
			break;
	}
	end = strstr(head, "\r\n\r\n");
	if (!end || sscanf(head, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	end += 4;
	if (write_all(end, got - (end - head)))
		return -EIO;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (write_all(buf, n))
			return -EIO;
	}
	if (n < 0)
		return -errno;
	return status;
}

int main(int argc, char **argv)
{
	char *host, *port, *path, req[1024];
	struct sockaddr_storage dst;
	size_t len, off = 0;
	long timeout = 10;
	socklen_t slen;
	int fd, opt, r;
	ssize_t n;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			usage();
		timeout = nh_parse_num(optarg, 3600);
		if (timeout <= 0)
			usage();
	}
	if (argc - optind != 1 || strncmp(argv[optind], "http://", 7) ||
	    split_url(argv[optind] + 7, &host, &port, &path) ||
	    nh_parse_addr(host, port, 0, &dst, &slen))
		usage();
	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.0\r\nHost: %s\r\n"
		       "User-Agent: nh-static-get\r\n\r\n",
		       path, host);
	if (len >= sizeof(req))
		usage();

	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	r = nh_connect_timeout(fd, (struct sockaddr *)&dst, slen,
			       timeout * 1000);
	if (r)
		return fail("connect", -r);
	nh_set_io_timeout(fd, timeout * 1000);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0)
			return fail("send", errno);
		off += n;
	}
	r = read_reply(fd);
	close(fd);
	if (fflush(stdout))
		return fail("write", errno);
	if (r < 0)
		return fail("recv", r == -EAGAIN ? ETIMEDOUT : -r);
	if (r != 200) {
		fprintf(stderr, "nh-static-get: HTTP status %d\n", r);
		return 1;
	}
	free(path);
	return 0;
}
