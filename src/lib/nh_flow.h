/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One diverted connection inside a relay worker. */
#ifndef NH_FLOW_H
#define NH_FLOW_H

#include <stdint.h>
#include "nh_relay.h"

struct nh_flow;

/* A worker's flows, and what they share. */
struct nh_flow_list {
	struct nh_flow *head;
	struct nh_flow *dead; /* finished in this epoll batch */
	const struct nh_proxy_hop *hops;
	int nhops;
	uint64_t connect_timeout_ns;
	uint64_t idle_timeout_ns;
	const struct nh_logger *lg;
	void (*done)(void *user, const struct nh_relay_report *r);
	void *user;
};

uint64_t nh_now_ns(void);

/* Take an accepted client socket; the flow reports through list->done. */
void nh_flow_start(struct nh_flow_list *l, int epfd, int cfd,
		   const struct nh_flow_val *id);
void nh_flow_event(struct nh_flow_list *l, struct nh_flow *f,
		   uint32_t events);
void nh_flow_tick(struct nh_flow_list *l, uint64_t now);
void nh_flow_close_all(struct nh_flow_list *l);
/* Free the flows finished since the last call: after each epoll batch. */
void nh_flow_reap(struct nh_flow_list *l);
/* Close with a reset, so the program sees ECONNRESET, not a clean EOF. */
void nh_flow_reset_fd(int fd);

#endif
