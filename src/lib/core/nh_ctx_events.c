// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The kernel's records, from the ring buffer, made into nh_events; fork
 * and exec records keep the table of executables. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "nh_ctx_int.h"
#include "nh_event.h"
#include "nh_exe.h"
#include "nh_relay.h"
#include "nh_spec.h"

int64_t nh_ctx_mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll +
	       (r.tv_nsec - m.tv_nsec);
}

/* Copied out under the lock, so no callback runs with the lock held. */
int nh_ctx_exe_copy(struct nh_ctx *ctx, uint32_t pid, const char *comm,
		    char *buf, size_t len)
{
	const char *p;
	int partial;

	pthread_mutex_lock(&ctx->exe_lock);
	p = nh_exe_lookup(ctx->exe, pid, comm, &partial);
	snprintf(buf, len, "%s", p ? p : comm);
	pthread_mutex_unlock(&ctx->exe_lock);
	return partial;
}

static void on_fork(struct nh_ctx *ctx, const void *data, size_t len)
{
	const struct nh_bpf_fork_event *fe = data;

	if (len < sizeof(*fe))
		return;
	pthread_mutex_lock(&ctx->exe_lock);
	nh_exe_fork(ctx->exe, fe->pid, fe->ppid);
	pthread_mutex_unlock(&ctx->exe_lock);
}

static void on_exec(struct nh_ctx *ctx, const void *data, size_t len)
{
	const struct nh_bpf_proc_event *pe = data;
	char path[PATH_MAX];

	if (len < sizeof(*pe))
		return;
	if (nh_exe_join(pe, path, sizeof(path))) {
		/* as given to execve(); relative ones are resolved
		 * through /proc while the process lives */
		memcpy(path, pe->path, NH_PATH_LEN);
		path[NH_PATH_LEN] = '\0';
	}
	pthread_mutex_lock(&ctx->exe_lock);
	nh_exe_exec(ctx->exe, pe->pid, path);
	pthread_mutex_unlock(&ctx->exe_lock);
}

int nh_ctx_on_record(void *user, void *data, size_t len)
{
	struct nh_ctx *ctx = user;
	const struct nh_bpf_event *be = data;
	char comm[NH_COMM_LEN + 1], exe[NH_PATH_LEN], detail[192], name[256];
	struct nh_event ev;
	bool pool;

	if (len < sizeof(__u32))
		return 0;
	if (be->type == NH_EV_FORK) {
		on_fork(ctx, data, len);
		return 0;
	}
	if (be->type == NH_EV_EXEC) {
		on_exec(ctx, data, len);
		return 0;
	}
	if (be->type == NH_EV_DNS_SEEN) {
		nh_ctx_on_dns_seen(ctx, data, len);
		return 0;
	}
	if (len < sizeof(*be) || !ctx->event)
		return 0;
	nh_event_from_bpf(be, ctx->mono_to_real, &ev);
	if (ev.sock_family) {
		nh_event_sock_detail(&ev, detail, sizeof(detail));
		ev.detail = detail;
	}
	/* the kernel reports the end of a handed-off connection, and of a
	 * diverted one the program closed before the relay took it */
	if (ev.type == NH_EVENT_END && ev.route == NH_ROUTE_DIVERT &&
	    ctx->relay)
		ev.route_desc = nh_relay_route(ctx->relay);
	if (ev.type == NH_EVENT_END && ev.route == NH_ROUTE_DIVERT &&
	    ev.err == ECONNABORTED)
		ev.detail =
			"the program closed its connection before the relay took it";
	/* the kernel's table of connections waiting for the relay was full
	 * (sock.bpf.c, flow_record()): refused by the relay, never relayed */
	if (ev.type == NH_EVENT_END && ev.route == NH_ROUTE_DIVERT &&
	    ev.err == ENOBUFS) {
		snprintf(
			detail, sizeof(detail),
			"the kernel's table of connections waiting for the relay was full (%d): refused",
			NH_MAX_FLOWS);
		ev.detail = detail;
	}
	ev.dst_name = nh_ctx_name_of(ctx, (const void *)&ev.orig_dst, name,
				     sizeof(name), &pool);
	/* a pool address stands for its name: orig_dst is written so */
	ev.orig_name = pool ? ev.dst_name : NULL;
	memcpy(comm, be->comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	ev.comm = comm;
	ev.exe_partial = nh_ctx_exe_copy(ctx, be->pid, comm, exe, sizeof(exe));
	ev.exe = exe;
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
	return 0;
}
