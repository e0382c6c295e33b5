/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the IP-filter files (src/lib/nh_ipf.c, nh_pkt.c) take from the
 * library until they include the headers of what they use: the base,
 * the log, and nh_ipf.c's nh_cgroup_mount() and nh_thread_start().  The
 * files of src/lib/core and src/lib/sock include what they use instead.
 */
#ifndef NH_INTERNAL_H
#define NH_INTERNAL_H

#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_cgroup.h"
#include "nh_log.h"
#include "nh_thread.h"

#endif
