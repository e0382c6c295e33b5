/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the IP-filter side (src/lib/ip: nh_ip.h for its engine, and
 * pkt.c and nat.c) takes from the common base in one include: the base,
 * the log, the cgroup mount (the engine's cgroup scope) and thread start
 * (its workers).  The files of src/lib/core and src/lib/sock include the
 * header of each thing they use instead.
 */
#ifndef NH_INTERNAL_H
#define NH_INTERNAL_H

#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_cgroup.h"
#include "nh_log.h"
#include "nh_thread.h"

#endif
