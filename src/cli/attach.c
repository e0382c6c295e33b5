// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook attach --cgroup PATH`: hook an existing cgroup (a container, a
 * systemd unit) until interrupted, then detach. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "cli.h"

int cmd_attach(int argc, char **argv)
{
	struct epoll_event ee = { .events = EPOLLIN }, ev[2];
	struct cli_session sess = { 0 };
	int sfd = -1, ep = -1, status = NH_EXIT_ERROR, n, i;
	struct signalfd_siginfo si;
	struct run_opts o;
	sigset_t mask;
	bool stop = false;

	n = cli_attach_parse(argc, argv, &o, stderr);
	if (n > 0) {
		cli_usage_attach(stdout);
		return 0;
	}
	if (n < 0)
		return NH_EXIT_ERROR;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0)
		goto cleanup;
	if (cli_session_open(&o, &sess))
		goto cleanup;
	ee.data.u32 = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ee);
	ee.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, nh_ctx_fd(sess.ctx), &ee);
	if (o.verbose)
		fprintf(stderr, "nethook: attached to %s; Ctrl-C detaches\n",
			nh_ctx_cgroup(sess.ctx));
	while (!stop) {
		n = epoll_wait(ep, ev, 2, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (ev[i].data.u32 == 1) {
				nh_ctx_dispatch(sess.ctx, 0);
			} else if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				stop = true;
			}
		}
	}
	status = 0;
cleanup:
	cli_session_close(&sess);
	cli_run_opts_free(&o);
	if (sfd >= 0)
		close(sfd);
	if (ep >= 0)
		close(ep);
	return status;
}
