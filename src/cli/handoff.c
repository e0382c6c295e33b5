// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run --handoff` and user mode: the child makes the seccomp
 * listener before it becomes COMMAND; nethook takes a copy of it from
 * the child and gives it to the library. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cli.h"

/* What goes up: the error, or the listener's number in the child.  Told
 * with write(): a sendmsg() of the child's would wait on the listener
 * itself (user mode catches it), which nobody reads yet. */
struct up {
	int err;
	int fd;
};

void cli_handoff_child(int sock, bool user_mode)
{
	struct up u = { 0, -1 };

	/* close-on-exec: the listener does not reach COMMAND */
	u.fd = user_mode ? nh_user_listen() : nh_handoff_listen();
	if (u.fd < 0)
		u.err = errno;
	if (write(sock, &u, sizeof(u)) != sizeof(u) || u.fd < 0)
		_exit(NH_EXIT_ERROR);
	close(sock);
}

int cli_handoff_take(int sock, pid_t child, struct nh_ctx *ctx, bool user_mode)
{
	struct up u = { 0, -1 };
	int pfd, lfd = -1;
	ssize_t n;

	do
		n = read(sock, &u, sizeof(u));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(u)) {
		u.err = n < 0 ? errno : EPIPE;
		u.fd = -1;
	}
	if (u.fd >= 0) {
		pfd = (int)syscall(SYS_pidfd_open, child, 0);
		lfd = pfd < 0 ? -1 :
				(int)syscall(SYS_pidfd_getfd, pfd, u.fd, 0);
		if (lfd < 0)
			u.err = errno;
		if (pfd >= 0)
			close(pfd);
	}
	if (lfd < 0) {
		fprintf(stderr, "nethook: %s: %s\n",
			user_mode ? "user mode" : "--handoff",
			u.err == EOPNOTSUPP ?
				"catching system calls needs Linux 5.19 or later (seccomp WAIT_KILLABLE_RECV)" :
			u.err == EPERM ?
				"cannot take the listener from COMMAND (pidfd_getfd: Yama ptrace_scope 2 or more forbids it)" :
				strerror(u.err));
		return -1;
	}
	if (nh_ctx_add_handoff(ctx, lfd) < 0)
		return -1; /* the library said why */
	return 0;
}
