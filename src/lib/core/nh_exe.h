/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process identity: pid to executable, learnt from exec and fork records. */
#ifndef NH_EXE_H
#define NH_EXE_H

#include <stddef.h>
#include <stdint.h>
#include "nh_bpf_abi.h"

struct nh_exe_table;
struct nh_exe_table *nh_exe_table_new(void);
void nh_exe_table_free(struct nh_exe_table *t);
void nh_exe_exec(struct nh_exe_table *t, uint32_t pid, const char *path);
void nh_exe_fork(struct nh_exe_table *t, uint32_t child, uint32_t parent);
int nh_exe_join(const struct nh_bpf_proc_event *pe, char *buf, size_t len);
/* The executable of pid; *partial when only comm could be had. */
const char *nh_exe_lookup(struct nh_exe_table *t, uint32_t pid,
			  const char *comm, int *partial);

#endif
