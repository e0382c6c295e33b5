/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A run's lock and its supervisor, which kill the scope when nethook dies. */
#ifndef NH_RUN_H
#define NH_RUN_H

#include <sys/types.h>
#include "nh_log.h"

struct nh_run {
	int lock_fd;
	int super_fd; /* write end: closing it without "q" kills the scope */
	pid_t super_pid;
	char lock_path[128];
	char id[64]; /* PID or PID-SEQ: names its lock, cgroup and pins */
};
int nh_run_begin(const struct nh_logger *lg, const char *cgroup,
		 struct nh_run *run);
void nh_run_end(struct nh_run *run);

#endif
