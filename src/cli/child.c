// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What run and packet share about COMMAND: exec it, and its exit status
 * as the shell would give it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

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
