// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * conn-log: run a command and print one line per TCP connection it made,
 * with the process, the destination, the bytes each way and the duration,
 * all measured in the kernel.  The smallest useful libnethook program.
 *
 *	conn-log COMMAND [ARGS...]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <nethook/nethook.h>

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_WARNING)
		fprintf(stderr, "conn-log: %s\n", msg);
}

static void on_event(const struct nh_event *ev, void *user)
{
	char line[1024];

	(void)user;
	nh_event_format(ev, 0, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = {
		.sz = sizeof(opts),
		.log = on_log,
		.event = on_event,
		.event_mask = NH_EVENT_MASK(NH_EVENT_END),
	};
	struct nh_ctx *ctx;
	int go[2], status = 1;
	pid_t pid;
	char c;

	if (argc < 2) {
		fprintf(stderr, "usage: conn-log COMMAND [ARGS...]\n");
		return 2;
	}
	if (nh_ctx_open(&opts, &ctx) < 0) {
		fprintf(stderr, "conn-log: nh_ctx_open: %s\n", strerror(errno));
		return 1;
	}
	if (pipe(go))
		goto cleanup;
	pid = fork();
	if (pid == 0) {
		/* wait until we are in the scope, then become the command */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(go[0]);
	if (pid < 0 || nh_ctx_add_pid(ctx, pid) < 0 || write(go[1], "g", 1) != 1)
		goto cleanup;
	close(go[1]);
	while (waitpid(pid, &status, WNOHANG) == 0)
		nh_ctx_dispatch(ctx, 100);
	/* connections closed as the command exited are reported just after */
	while (nh_ctx_dispatch(ctx, 100) > 0)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
cleanup:
	nh_ctx_close(ctx);
	return status;
}
