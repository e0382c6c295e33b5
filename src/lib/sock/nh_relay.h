/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The relay: diverted connections in, through the proxy chain, out. */
#ifndef NH_RELAY_H
#define NH_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include "nh_base.h"
#include "nh_log.h"
#include "nh_proxy.h"
#include "nh_report.h"
#include "nh_sflt.h"

#define NH_RELAY_MAX_HOPS 8

struct nh_names;

struct nh_relay_opts {
	const struct nh_proxy_hop *hops; /* none: direct */
	int nhops;
	unsigned int workers; /* threads, each its own epoll loop */
	unsigned int connect_timeout_ms;
	unsigned int idle_timeout_ms; /* 0: none */
	unsigned int max_flows;
	int flows_map_fd; /* the kernel's original-destination map */
	const struct nh_logger *lg;
	/* from worker threads */
	void (*report)(void *user, const struct nh_relay_report *r);
	void *user;
	/* socket filters; NULL: none */
	struct nh_sflt_set *sflt;
	void (*exe)(void *user, uint32_t pid, const char *comm, char *buf,
		    size_t len);
	/* no thread of its own: the caller runs nh_relay_poll() when
	 * nh_relay_fd() is readable, and every callback runs there */
	bool inline_loop;
	/* workers (not inline) keep their sockets in descriptor tables of
	 * their own: see worker_main() */
	bool own_fds;
	/* each listening socket, before any worker runs; an error stops
	 * the start.  NULL: none */
	int (*listening)(void *user, int fd);
	/* the resolver's names: a flow to one of its addresses asks the
	 * chain for the name.  NULL: none */
	struct nh_names *names;
	/* how each hop takes its handshake (nh_pipe.h); NULL: stepwise */
	struct nh_pipe *pipe;
};

struct nh_relay;

int nh_relay_start(const struct nh_relay_opts *o, struct nh_relay **out);
/* Threads stopped, open flows ended (their reports sent); the relay's
 * route can still be read until nh_relay_free(). */
void nh_relay_stop(struct nh_relay *r);
void nh_relay_free(struct nh_relay *r);
/* where the kernel sends diverted connections; family 0 if none */
void nh_relay_addrs(const struct nh_relay *r, struct nh_bpf_addr *v4,
		    struct nh_bpf_addr *v6, uint64_t *netns_cookie);
/* "direct" or "socks5://192.0.2.10:1080,http://192.0.2.11:3128" */
const char *nh_relay_route(const struct nh_relay *r);
unsigned int nh_relay_active(const struct nh_relay *r);
/* inline_loop: readable when there is work; run it */
int nh_relay_fd(const struct nh_relay *r);
int nh_relay_poll(struct nh_relay *r);

#endif
