// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run --handoff`: the child makes the seccomp listener before it
 * becomes COMMAND and sends it up; nethook gives it to the library. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cli.h"

void cli_handoff_child(int sock)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { 0 };
	struct iovec iov;
	int lfd, err = 0;

	lfd = nh_handoff_listen();
	if (lfd < 0)
		err = errno;
	iov.iov_base = &err;
	iov.iov_len = sizeof(err);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	if (lfd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.b;
		m.msg_controllen = sizeof(u.b);
		CMSG_FIRSTHDR(&m)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&m)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &lfd, sizeof(int));
	}
	if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 || lfd < 0)
		_exit(NH_EXIT_ERROR);
	close(lfd);
	close(sock);
}

int cli_handoff_take(int sock, struct nh_ctx *ctx)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	struct iovec iov;
	int lfd = -1, err = 0;
	ssize_t n;

	iov.iov_base = &err;
	iov.iov_len = sizeof(err);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof(u.b);
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	c = n == sizeof(err) ? CMSG_FIRSTHDR(&m) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&lfd, CMSG_DATA(c), sizeof(int));
	if (lfd < 0) {
		if (n != sizeof(err))
			err = n < 0 ? errno : EPIPE;
		fprintf(stderr, "nethook: --handoff: %s\n",
			err == EOPNOTSUPP ?
				"catching connect() needs Linux 5.19 or later (seccomp WAIT_KILLABLE_RECV)" :
				strerror(err));
		return -1;
	}
	if (nh_ctx_add_handoff(ctx, lfd) < 0)
		return -1; /* the library said why */
	return 0;
}
