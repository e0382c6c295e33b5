// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The context's network namespace: queue sockets, injection sockets and
 * the tun device are made in it, from a thread that returns to its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include "nh_ip.h"

/* Run fn in the context's namespace (this thread only). */
int nh_ipf_in_ns(struct nh_ipf_state *st, int (*fn)(void *), void *arg)
{
	int self, ret, err;

	if (st->nsfd < 0)
		return fn(arg);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(st->nsfd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	ret = fn(arg);
	if (setns(self, CLONE_NEWNET)) {
		/* cannot happen with our own namespace's fd; never go on in
		 * the wrong one */
		abort();
	}
	close(self);
	return ret;
}
