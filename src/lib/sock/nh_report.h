/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How a relayed or handed-off connection ended: what the relay's flows
 * and the handoff tell the context, for its log and events. */
#ifndef NH_REPORT_H
#define NH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "nh_bpf_abi.h" /* struct nh_flow_val */

enum nh_report_kind {
	NH_REPORT_END = 0, /* a connection ended (or was refused) */
	NH_REPORT_DNS = 1, /* the resolver answered a query */
	/* user mode: a connection redirected, at its connect (kernel mode
	 * tells it from the kernel) */
	NH_REPORT_OPEN = 2,
};

#define NH_REPORT_NAME 256

struct nh_relay_report {
	struct nh_flow_val id; /* who and where, from the kernel */
	uint8_t kind; /* enum nh_report_kind */
	uint8_t dns_rcode; /* NH_REPORT_DNS: the answer's */
	uint16_t dns_type; /* NH_REPORT_DNS: the query's */
	/* the name the program asked for, when id.orig is one of the
	 * resolver's addresses; NH_REPORT_DNS: the name queried */
	char name[NH_REPORT_NAME];
	uint64_t end_ns; /* CLOCK_MONOTONIC */
	uint64_t bytes_out; /* program -> destination */
	uint64_t bytes_in;
	int established; /* the tunnel opened */
	int err; /* positive errno, 0 = none */
	char detail[192]; /* which hop failed and why */
	/* where it went, after socket filters; NH_REPORT_DNS: the address
	 * answered (AF_UNSPEC: none) */
	struct sockaddr_storage to;
	bool handoff; /* from the handoff: connect() itself failed */
	bool blocked; /* refused before it began: a block, not an end */
	uint8_t hs_mode; /* NH_HS_*: how the handshake went; 0: none */
	uint64_t hs_ns; /* its time, from the connect to the first hop */
	int proto; /* IPPROTO_*; 0: TCP */
	bool redirect; /* to `to` by a rule, not through the proxy */
	bool direct; /* user mode: where it asked, no rule took it */
	bool bytes_unknown; /* user mode: not counted */
};

#endif
