/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Handoff: connect() of a program caught with seccomp; the tunnel through
 * the proxy chain opened on the program's own socket, and the relay out of
 * the data path.
 */
#ifndef NH_HANDOFF_H
#define NH_HANDOFF_H

#include <stdint.h>
#include "nh_base.h"
#include "nh_log.h"
#include "nh_proxy.h"
#include "nh_report.h"

struct nh_names;
struct nh_umode_opts;

struct nh_handoff_opts {
	const struct nh_proxy_hop *hops; /* the chain; hops[0] is reached
					  * in the kernel (handoff_to) */
	int nhops;
	unsigned int timeout_ms; /* connect and handshake, all hops */
	int sk_info_fd; /* the kernel's per-socket records */
	uint64_t cgroup_id; /* the scope's, for records made here */
	const struct nh_logger *lg;
	/* a connection whose tunnel could not be opened, from the handoff's
	 * thread (an open one's end is the kernel's event) */
	void (*report)(void *user, const struct nh_relay_report *r);
	void *user;
	struct nh_names *names; /* the resolver's, or NULL */
	struct nh_pipe *pipe; /* how each hop takes it; NULL: stepwise */
	/* user mode (nh_user_listen()): the rules and the resolver, kept
	 * with no BPF; sk_info_fd is -1.  NULL: kernel mode */
	const struct nh_umode_opts *umode;
};

struct nh_handoff;

/* Serve the seccomp listener lfd (taken, closed on failure) on a thread
 * of its own. */
int nh_handoff_start(const struct nh_handoff_opts *o, int lfd,
		     struct nh_handoff **out);
/* Pending connects fail with ENETUNREACH; later ones of processes still
 * alive get ENOSYS from the kernel: nothing goes out unhandled. */
void nh_handoff_stop(struct nh_handoff *h);

#endif
