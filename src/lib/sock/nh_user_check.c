// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What user mode needs, tried rather than guessed: a child installs the
 * very listener `nethook run` would give its command, and we take it from
 * the child and read the child's memory as the handoff's thread does.
 * Each need is named, with what the kernel said.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_log.h"
#include "nh_notif.h"

static int probe_word = 0x6e68;

/* Yama's ptrace_scope: 0 or 1 let nethook, the parent, reach its
 * command; -1 when there is no Yama. */
static int yama_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* In the child: the listener, its number told up; then wait. */
static void child(int up, int go)
{
	int fd = nh_user_listen();
	char b;

	if (fd < 0)
		fd = -errno;
	if (write(up, &fd, sizeof(fd)) != sizeof(fd))
		_exit(1);
	if (read(go, &b, 1) < 0)
		_exit(1);
	_exit(0);
}

/* Take the child's listener and read its memory: 0 or -errno, with the
 * step that failed in *what. */
static int take(pid_t pid, int fdnum, const char **what)
{
	int pfd, lfd, v = 0, e;
	struct iovec l = { &v, sizeof(v) }, r = { &probe_word, sizeof(v) };

	*what = "pidfd_open (Linux 5.3+)";
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return -errno;
	*what = "pidfd_getfd (Linux 5.6+; Yama ptrace_scope 0 or 1)";
	lfd = (int)syscall(SYS_pidfd_getfd, pfd, fdnum, 0);
	e = errno;
	close(pfd);
	if (lfd < 0)
		return -e;
	close(lfd);
	*what = "process_vm_readv (the command's memory: its addresses)";
	if (process_vm_readv(pid, &l, 1, &r, 1, 0) != sizeof(v))
		return -errno;
	return v == probe_word ? 0 : -EIO;
}

NH_API int nh_check_user_mode(void (*log)(int level, const char *msg,
					  void *user),
			      void *user)
{
	struct nh_logger lg = { log, user };
	int up[2] = { -1, -1 }, go[2] = { -1, -1 }, fdnum = 0, err, scope;
	const char *what = "";
	pid_t pid = -1;

	scope = yama_scope();
	if (scope >= 2)
		nh_logf(&lg, LOG_ERR,
			"user mode: Yama ptrace_scope is %d: nethook cannot reach its command's descriptors and memory (it needs 0 or 1)",
			scope);
	else if (scope >= 0)
		nh_logf(&lg, LOG_INFO, "user mode: Yama ptrace_scope %d",
			scope);
	else
		nh_logf(&lg, LOG_INFO, "user mode: no Yama");
	err = -errno;
	if (pipe2(up, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		goto cleanup;
	pid = fork();
	if (pid < 0)
		goto cleanup;
	if (!pid) {
		close(go[1]); /* its EOF is the parent's word to leave */
		close(up[0]);
		child(up[1], go[0]);
	}
	err = read(up[0], &fdnum, sizeof(fdnum)) == sizeof(fdnum) ? 0 : -EIO;
	if (!err && fdnum < 0) {
		err = fdnum;
		nh_logf(&lg, LOG_ERR,
			"user mode: seccomp user notification (Linux 5.19+: SECCOMP_FILTER_FLAG_NEW_LISTENER, WAIT_KILLABLE_RECV, USER_NOTIF_FLAG_CONTINUE): %s",
			strerror(-err));
	} else if (!err) {
		nh_logf(&lg, LOG_INFO,
			"user mode: seccomp user notification (NEW_LISTENER, WAIT_KILLABLE_RECV, USER_NOTIF_FLAG_CONTINUE) with no_new_privs");
		err = take(pid, fdnum, &what);
		if (err)
			nh_logf(&lg, LOG_ERR, "user mode: %s: %s", what,
				strerror(-err));
		else
			nh_logf(&lg, LOG_INFO,
				"user mode: pidfd_getfd and process_vm_readv/writev on the command");
	}
cleanup:
	if (go[1] >= 0)
		close(go[1]); /* the child reads EOF and leaves */
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (up[0] >= 0)
		close(up[0]);
	if (up[1] >= 0)
		close(up[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (!err && scope >= 2)
		err = -EPERM;
	return err ? nh_err(err == -EPERM ? -EPERM : -ENOTSUP) : 0;
}
