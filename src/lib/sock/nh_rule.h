/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A caller's rule compiled for the kernel's table. */
#ifndef NH_RULE_H
#define NH_RULE_H

#include "nethook/nethook.h"
#include "nh_bpf_abi.h"

int nh_rule_compile(const struct nh_rule *rule, struct nh_bpf_rule *out);

#endif
