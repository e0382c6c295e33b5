/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup v2: find, make, fill, signal, remove. */
#ifndef NH_CGROUP_H
#define NH_CGROUP_H

#include <stddef.h>
#include <sys/types.h>
#include "nh_log.h"

int nh_cgroup_mount(const struct nh_logger *lg, char *buf, size_t len);
int nh_cgroup_self(const struct nh_logger *lg, char *buf, size_t len);
int nh_cgroup_create(const char *path);
int nh_cgroup_add_pid(const char *path, pid_t pid);
int nh_cgroup_populated(const char *path);
int nh_cgroup_signal(const char *path, int sig);
int nh_cgroup_kill(const char *path);
int nh_cgroup_remove(const char *path, int wait_ms);

#endif
