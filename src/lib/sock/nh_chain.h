/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The proxy chain of a context: parsed once, then resolved at open. */
#ifndef NH_CHAIN_H
#define NH_CHAIN_H

#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_log.h"
#include "nh_proxy.h"

#define NH_CHAIN_MAX_HOPS 8

/* the public opaque type (nethook.h) */
struct nh_proxy_chain {
	struct nh_proxy_hop hops[NH_CHAIN_MAX_HOPS];
	int nhops; /* 0: direct */
};

/* Text of URLs, separated by commas or lines (# starts a comment):
 * -errno, with the reason in why. */
int nh_chain_parse(const char *text, struct nh_proxy_chain *c, char *why,
		   size_t len);
/* Resolve what the hop before cannot carry as a name, and say what
 * failed; direct:// alone becomes no hop at all. */
int nh_chain_resolve(struct nh_proxy_chain *c, const struct nh_logger *lg);

#endif
