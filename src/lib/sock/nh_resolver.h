/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nethook's resolver: where the kernel sends the scope's DNS (NH_ACT_DNS),
 * on loopback, UDP and TCP on one port.  A and AAAA get addresses of the
 * name pool (nh_names.h), PTR of a pool address its name, every other
 * query an empty answer: no name leaves, and no program waits.  One
 * thread, one epoll loop.
 */
#ifndef NH_RESOLVER_H
#define NH_RESOLVER_H

#include <stdbool.h>
#include "nh_bpf_abi.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_report.h"

struct nh_resolver;

struct nh_resolver_opts {
	struct nh_names *names; /* stays valid while the resolver runs */
	unsigned int ttl_s; /* of the answers; 0 = 60 */
	const struct nh_logger *lg;
	/* each socket the kernel may send queries to, once bound: marked
	 * as nethook's (0, or -errno and the resolver does not start) */
	int (*listening)(void *user, int fd);
	/* an answer, when reports are asked for (NH_REPORT_DNS); from the
	 * resolver's thread */
	void (*report)(void *user, const struct nh_relay_report *r);
	bool reports;
	void *user;
};

int nh_resolver_start(const struct nh_resolver_opts *o,
		      struct nh_resolver **out);
/* Where it listens: 127.0.0.1:P and [::1]:P (family 0 when IPv6 is off). */
void nh_resolver_addrs(const struct nh_resolver *r, struct nh_bpf_addr *v4,
		       struct nh_bpf_addr *v6);
/* Stop the thread and close everything; NULL is fine. */
void nh_resolver_free(struct nh_resolver *r);

#endif
