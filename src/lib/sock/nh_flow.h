/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One diverted connection inside a relay worker. */
#ifndef NH_FLOW_H
#define NH_FLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "nh_log.h"
#include "nh_proxy.h"
#include "nh_report.h"
#include "nh_sflt.h"

struct nh_flow;
struct nh_names;
struct nh_pipe;

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
	/* socket filters (NULL: none), and where their injects arrive */
	struct nh_sflt_set *sflt;
	struct nh_inject_queue *q;
	/* the executable of a pid, for nh_socket_exe() */
	void (*exe)(void *user, uint32_t pid, const char *comm, char *buf,
		    size_t len);
	void *exe_user;
	/* shared by a relay's workers: out of descriptors is said once */
	atomic_bool *fds_said;
	struct nh_names *names; /* the resolver's, or NULL */
	struct nh_pipe *pipe; /* how each hop takes it; NULL: stepwise */
	bool self_said; /* a program connecting to the first proxy: said */
};

/* Take an accepted client socket; the flow reports through list->done. */
void nh_flow_start(struct nh_flow_list *l, int epfd, int cfd,
		   const struct nh_flow_val *id);
void nh_flow_event(struct nh_flow_list *l, struct nh_flow *f, uint32_t events);
void nh_flow_tick(struct nh_flow_list *l, uint64_t now);
void nh_flow_close_all(struct nh_flow_list *l);
/* Free the flows finished since the last call: after each epoll batch. */
void nh_flow_reap(struct nh_flow_list *l);
int nh_flow_reclaim_pipes(struct nh_flow_list *l);
bool nh_flow_fds_short(struct nh_flow_list *l, int err);
/* Bytes filters injected, from any thread: send them on. */
void nh_flow_injects(struct nh_flow_list *l);
/* Close with a reset, so the program sees ECONNRESET, not a clean EOF. */
void nh_flow_reset_fd(int fd);

#endif
