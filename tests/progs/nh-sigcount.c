// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-sigcount: report every signal received, with its sender.
 *
 *   nh-sigcount [-t SECONDS] [-r READY_FILE] [-x] SIGNAL...
 *
 * Blocks the named signals (numbers or names such as TERM, USR1) and
 * prints "SIGNAME from=PID" for each one delivered, until SECONDS
 * (default 10) have passed; then exits 0.  With -x it exits 100+N after
 * the first signal N.  READY_FILE is created once the signals are
 * blocked, so a test knows when to send them.  Usage errors exit 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: nh-sigcount [-t SECONDS] [-r READY_FILE] [-x] "
			"SIGNAL...\n");
	exit(2);
}

static int parse_signal(const char *s)
{
	const char *name = strncmp(s, "SIG", 3) ? s : s + 3;
	long n = nh_parse_num(s, SIGRTMAX);
	int i;

	if (n > 0)
		return n;
	for (i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);

		if (abbrev && !strcmp(abbrev, name))
			return i;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	struct timespec end, now, left;
	long seconds = 10;
	int first_exit = 0, opt, sig, fd;
	siginfo_t info;
	sigset_t set;

	while ((opt = getopt(argc, argv, "t:r:x")) != -1) {
		switch (opt) {
		case 't':
			seconds = nh_parse_num(optarg, 86400);
			if (seconds <= 0)
				usage();
			break;
		case 'r':
			ready = optarg;
			break;
		case 'x':
			first_exit = 1;
			break;
		default:
			usage();
		}
	}
	if (optind == argc)
		usage();
	sigemptyset(&set);
	for (; optind < argc; optind++) {
		sig = parse_signal(argv[optind]);
		if (sig <= 0 || sig == SIGKILL || sig == SIGSTOP)
			usage();
		sigaddset(&set, sig);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return 1;
	if (ready) {
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0) {
			perror(ready);
			return 1;
		}
		close(fd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			return 0;
		sig = sigtimedwait(&set, &info, &left);
		if (sig < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return 1;
		}
		printf("SIG%s from=%d\n", sigabbrev_np(sig), (int)info.si_pid);
		if (first_exit)
			return 100 + sig;
	}
}
