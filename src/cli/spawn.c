// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * COMMAND under a context's scope, the one way `run` and `packet` start
 * it: the signals nethook passes on are blocked before anything is set
 * up, the child waits until it is in the scope before it becomes
 * COMMAND, and one loop passes signals on, runs the context and waits
 * for COMMAND's exit, whose status is nethook's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

/* passed on to COMMAND; without one, the first but SIGUSR1/2 stops */
static const int forwarded[] = { SIGINT,  SIGTERM, SIGHUP,
				 SIGQUIT, SIGUSR1, SIGUSR2 };

/* the most events one epoll_wait() takes: signals, COMMAND, the watches */
#define SPAWN_EVENTS 8

int cli_spawn_init(struct cli_spawn *sp)
{
	sigset_t mask;
	size_t i;

	sigemptyset(&mask);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	/* blocked before the context exists, so a signal in between is not
	 * lost and nethook is never killed with the scope left behind */
	sigprocmask(SIG_BLOCK, &mask, &sp->orig);
	sp->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return sp->sfd < 0 ? -1 : 0;
}

void cli_exec(char **argv)
{
	int e;

	execvp(argv[0], argv);
	e = errno;
	if (e == ENOENT) {
		fprintf(stderr, "nethook: %s: command not found\n", argv[0]);
		_exit(NH_EXIT_NOTFOUND);
	}
	fprintf(stderr, "nethook: %s: cannot execute: %s\n", argv[0],
		strerror(e));
	_exit(NH_EXIT_NOEXEC);
}

/* The child: wait until it is in the scope, then become COMMAND. */
static void child(struct cli_spawn *sp, const struct cli_child *c)
{
	char b;

	close(sp->go[1]);
	if (c->early)
		c->early(c->arg);
	if (read(sp->go[0], &b, 1) != 1)
		_exit(NH_EXIT_ERROR); /* nethook failed before releasing us */
	close(sp->go[0]);
	if (c->late)
		c->late(c->arg);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &sp->orig, NULL);
	cli_exec(c->argv);
}

int cli_spawn_fork(struct cli_spawn *sp, const struct cli_child *c)
{
	if (pipe2(sp->go, O_CLOEXEC))
		return -1;
	fflush(NULL);
	sp->pid = fork();
	if (sp->pid < 0) {
		fprintf(stderr, "nethook: fork: %s\n", strerror(errno));
		return -1;
	}
	if (sp->pid == 0)
		child(sp, c);
	close(sp->go[0]);
	sp->go[0] = -1;
	return 0;
}

int cli_spawn_release(struct cli_spawn *sp, struct nh_ctx *ctx)
{
	if (nh_ctx_add_pid(ctx, sp->pid) < 0)
		return -1; /* the library said why */
	sp->pfd = (int)syscall(SYS_pidfd_open, sp->pid, 0);
	if (sp->pfd < 0) {
		fprintf(stderr, "nethook: pidfd_open: %s\n", strerror(errno));
		return -1;
	}
	if (write(sp->go[1], "g", 1) != 1)
		return -1;
	close(sp->go[1]);
	sp->go[1] = -1;
	return 0;
}

/* A signal the terminal sent reached COMMAND already: it shares our
 * process group.  Only what was sent to nethook alone is passed on. */
static void forward(const struct signalfd_siginfo *si, pid_t pid)
{
	if (si->ssi_code == SI_KERNEL && getpgid(pid) == getpgrp())
		return;
	kill(pid, (int)si->ssi_signo);
}

/* epoll data: the watch's index, or one of these */
#define SPAWN_SIGNALS (-1)
#define SPAWN_CHILD (-2)

static int add(int ep, int fd, int tag)
{
	struct epoll_event ee = { .events = EPOLLIN,
				  .data.u32 = (uint32_t)tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee);
}

int cli_spawn_loop(struct cli_spawn *sp, const struct cli_watch *w, int nw)
{
	struct epoll_event evs[SPAWN_EVENTS];
	int ep, n, i, status = -1;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return NH_EXIT_ERROR;
	add(ep, sp->sfd, SPAWN_SIGNALS);
	if (sp->pfd >= 0)
		add(ep, sp->pfd, SPAWN_CHILD);
	for (i = 0; i < nw; i++)
		add(ep, w[i].fd, i);
	while (status < 0) {
		n = epoll_wait(ep, evs, SPAWN_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			int tag = (int)evs[i].data.u32;
			struct signalfd_siginfo si;

			if (tag == SPAWN_SIGNALS) {
				if (read(sp->sfd, &si, sizeof(si)) !=
				    sizeof(si))
					continue;
				if (sp->pid > 0)
					forward(&si, sp->pid);
				else if (si.ssi_signo != SIGUSR1 &&
					 si.ssi_signo != SIGUSR2)
					status = 0;
			} else if (tag == SPAWN_CHILD) {
				status = cli_wait_status(sp->pid);
				sp->pid = -1;
			} else if (tag >= 0 && tag < nw) {
				w[tag].fn(w[tag].arg);
			}
		}
	}
	close(ep);
	return status < 0 ? NH_EXIT_ERROR : status;
}

int cli_spawn_close(struct cli_spawn *sp)
{
	int status = -1;

	if (sp->go[1] >= 0)
		close(sp->go[1]); /* an unreleased child sees EOF and leaves */
	if (sp->go[0] >= 0)
		close(sp->go[0]);
	sp->go[0] = sp->go[1] = -1;
	if (sp->pid > 0)
		status = cli_wait_status(sp->pid);
	sp->pid = -1;
	if (sp->pfd >= 0)
		close(sp->pfd);
	if (sp->sfd >= 0)
		close(sp->sfd);
	sp->pfd = sp->sfd = -1;
	return status;
}

int cli_wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return NH_EXIT_ERROR;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return NH_EXIT_ERROR;
}
