/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Links pinned in a BPF filesystem, <bpffs>/nethook/<run id>. */
#ifndef NH_PIN_H
#define NH_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include "nh_log.h"

int nh_pin_root(const struct nh_logger *lg, char *buf, size_t len);
int nh_pin_run_dir(const struct nh_logger *lg, const char *run_id, char *buf,
		   size_t len);
int nh_pin_dir_remove(const char *dir);
int nh_pin_remove(const struct nh_logger *lg, const char *run_id);
bool nh_pin_attached(const char *run_id);
int nh_pin_clean_stale(const struct nh_logger *lg);

#endif
