/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User mode's open connections, watched with sock_diag (as ss(8) lists
 * sockets) until they end: with no BPF program, that is where an end is
 * seen.  Looked at once a second while any is open; an end is told
 * within that second.  Byte counts are not had: tcp_info could be read
 * only while the socket lives, and a short connection is gone before the
 * next look (the destroy notices of sock_diag need CAP_NET_ADMIN).
 */
#ifndef NH_UDIAG_H
#define NH_UDIAG_H

#include <stdint.h>
#include "nh_report.h"

struct nh_udiag;

typedef void (*nh_udiag_report_fn)(void *user, const struct nh_relay_report *r);

/* 0 or -errno (no NETLINK_SOCK_DIAG: no end lines, said by the caller) */
int nh_udiag_new(nh_udiag_report_fn report, void *user, struct nh_udiag **out);
/* One last look, then the connections still open are told as they stand
 * (the command has ended, or nethook is stopping); NULL is fine. */
void nh_udiag_free(struct nh_udiag *d);
/* Watch the socket with this cookie (family AF_INET or AF_INET6), whose
 * end is rep: who, where, its name and handshake are kept (an end has
 * no error: a reset is not seen). */
int nh_udiag_add(struct nh_udiag *d, uint64_t cookie, int family,
		 const struct nh_relay_report *rep);
/* Look: the connections that ended are told.  Every call looks; the
 * caller paces it. */
void nh_udiag_poll(struct nh_udiag *d);

#endif
