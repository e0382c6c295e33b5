/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Events: the kernel's records made into nh_events, and their words. */
#ifndef NH_EVENT_H
#define NH_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "nethook/nethook.h"
#include "nh_bpf_abi.h"

const char *nh_errno_name(int err);
/* detail of a block of a socket refused when made: "socket(AF_PACKET,
 * SOCK_RAW, htons(ETH_P_ALL)) refused: ..." */
void nh_event_sock_detail(const struct nh_event *ev, char *buf, size_t len);
/* "stepwise", "pipelined", "optimistic" (NH_HS_*); NULL for 0 */
const char *nh_hs_mode_name(unsigned int mode);
void nh_event_from_bpf(const struct nh_bpf_event *be, int64_t mono_to_real,
		       struct nh_event *ev);

#endif
