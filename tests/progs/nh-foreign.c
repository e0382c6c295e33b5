// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-foreign: an attacker's ways to use, inside nethook's scope, a socket
 * that was not made there.
 *
 *   nh-foreign hold [-u] FILE          make a TCP (-u: UDP) socket, write
 *                                      "PID FD" to FILE, wait (60 s)
 *   nh-foreign steal PID FD ADDR PORT  take PID's socket FD (pidfd_getfd)
 *                                      and connect it to ADDR PORT
 *   nh-foreign give [-u] PATH          hand a fresh socket (SCM_RIGHTS) to
 *                                      each client of unix socket PATH
 *   nh-foreign take PATH ADDR PORT     receive one from PATH, connect it
 *   nh-foreign leave PROCS ADDR PORT   write our pid into the cgroup.procs
 *                                      file PROCS, then connect a new
 *                                      TCP socket to ADDR PORT
 *
 * A connect prints "connect=ok" and sends a line (the bytes a peer gets
 * are the test's evidence), or "errno=NAME" and exits 1.  "leave" first
 * prints "leave=ok" or "leave=NAME".  Usage errors exit 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: nh-foreign hold [-u] FILE | steal PID FD ADDR PORT |\n"
			"       give [-u] PATH | take PATH ADDR PORT |\n"
			"       leave PROCS ADDR PORT\n");
	exit(2);
}

static int connect_to(int fd, const char *addr, const char *port)
{
	static const char line[] = "nh-foreign was here\n";
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	if (nh_parse_addr(addr, port, 0, &ss, &len))
		usage();
	err = nh_connect_timeout(fd, (void *)&ss, len, 5000);
	if (err) {
		printf("errno=%s\n", nh_errname(-err));
		return 1;
	}
	printf("connect=ok\n");
	fflush(stdout);
	if (send(fd, line, sizeof(line) - 1, MSG_NOSIGNAL) < 0)
		printf("send errno=%s\n", nh_errname(errno));
	return 0;
}

static int unix_sock(const char *path, struct sockaddr_un *un)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(un->sun_path))
		usage();
	strcpy(un->sun_path, path);
	return fd;
}

static int give(const char *path, int type)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct sockaddr_un un;
	struct msghdr m = { 0 };
	struct iovec iov = { "s", 1 };
	int lfd = unix_sock(path, &un), c, s, n;

	unlink(path);
	if (lfd < 0 || bind(lfd, (void *)&un, sizeof(un)) || listen(lfd, 8) ||
	    chmod(path, 0777)) {
		perror("give");
		return 1;
	}
	nh_set_io_timeout(lfd, 60000);
	for (n = 0; n < 16 && (c = accept(lfd, NULL, NULL)) >= 0; n++) {
		s = socket(AF_INET, type, 0);
		memset(&u, 0, sizeof(u));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &s, sizeof(int));
		if (sendmsg(c, &m, MSG_NOSIGNAL) < 0)
			perror("give: sendmsg");
		close(s);
		close(c);
	}
	return 0;
}

static int take(const char *path)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct sockaddr_un un;
	struct msghdr m = { 0 };
	char byte;
	struct iovec iov = { &byte, 1 };
	int fd = unix_sock(path, &un), s = -1;

	if (fd < 0 || connect(fd, (void *)&un, sizeof(un)))
		return -1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof(u.b);
	if (recvmsg(fd, &m, 0) > 0 && CMSG_FIRSTHDR(&m) &&
	    CMSG_FIRSTHDR(&m)->cmsg_type == SCM_RIGHTS)
		memcpy(&s, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	close(fd);
	return s;
}

int main(int argc, char **argv)
{
	int type = SOCK_STREAM, fd, pfd;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	if (argc > 3 && !strcmp(argv[2], "-u")) {
		type = SOCK_DGRAM;
		memmove(&argv[2], &argv[3], (size_t)(argc - 2) * sizeof(*argv));
		argc--;
	}
	if (!strcmp(argv[1], "hold") && argc == 3) {
		char tmp[4096];

		/* written whole, then renamed: a reader never sees it half */
		snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
		fd = socket(AF_INET, type, 0);
		f = fopen(tmp, "w");
		if (fd < 0 || !f)
			return 1;
		fprintf(f, "%d %d\n", (int)getpid(), fd);
		if (fclose(f) || rename(tmp, argv[2]))
			return 1;
		sleep(60);
		return 0;
	}
	if (!strcmp(argv[1], "steal") && argc == 6) {
		pfd = (int)syscall(SYS_pidfd_open, atoi(argv[2]), 0);
		fd = pfd < 0 ? -1 :
			       (int)syscall(SYS_pidfd_getfd, pfd, atoi(argv[3]), 0);
		if (fd < 0) {
			printf("pidfd errno=%s\n", nh_errname(errno));
			return 1;
		}
		return connect_to(fd, argv[4], argv[5]);
	}
	if (!strcmp(argv[1], "give") && argc == 3)
		return give(argv[2], type);
	if (!strcmp(argv[1], "take") && argc == 5) {
		fd = take(argv[2]);
		if (fd < 0) {
			printf("take errno=%s\n", nh_errname(errno));
			return 1;
		}
		return connect_to(fd, argv[3], argv[4]);
	}
	if (!strcmp(argv[1], "leave") && argc == 5) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

		fd = open(argv[2], O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, pid, (size_t)n) != n)
			printf("leave=%s\n", nh_errname(errno));
		else
			printf("leave=ok\n");
		if (fd >= 0)
			close(fd);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		return connect_to(fd, argv[3], argv[4]);
	}
	usage();
}
