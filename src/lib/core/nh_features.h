/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the kernel can do, asked once. */
#ifndef NH_FEATURES_H
#define NH_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include "nh_log.h"

int nh_features_check(const struct nh_logger *lg, bool verbose);
int nh_features_bpf_lsm(char *why, size_t len);
int nh_features_lsm_cgroup(void);

#endif
