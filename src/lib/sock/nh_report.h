/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How a relayed or handed-off connection ended: what the relay's flows
 * and the handoff tell the context, for its log and events. */
#ifndef NH_REPORT_H
#define NH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "nh_bpf_abi.h" /* struct nh_flow_val */

struct nh_relay_report {
	struct nh_flow_val id; /* who and where, from the kernel */
	uint64_t end_ns; /* CLOCK_MONOTONIC */
	uint64_t bytes_out; /* program -> destination */
	uint64_t bytes_in;
	int established; /* the tunnel opened */
	int err; /* positive errno, 0 = none */
	char detail[192]; /* which hop failed and why */
	struct sockaddr_storage to; /* where it went, after socket filters */
	bool handoff; /* from the handoff: connect() itself failed */
	bool blocked; /* refused before it began: a block, not an end */
	int proto; /* IPPROTO_*; 0: TCP */
};

#endif
