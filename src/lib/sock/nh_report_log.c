// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the relay and the handoff report, said: a log line for a failure,
 * an event for the caller, on the thread that dispatches the context. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "nh_bpf.h"
#include "nh_ctx_int.h"
#include "nh_event.h"
#include "nh_log.h"
#include "nh_relay.h"
#include "nh_reports.h"
#include "nh_spec.h"

/* From any thread: the relay's and the handoff's report callback. */
void nh_ctx_on_report(void *user, const struct nh_relay_report *rep)
{
	nh_reports_push(&((struct nh_ctx *)user)->reps, rep);
}

static void report_event(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	char comm[NH_COMM_LEN + 1], exe[NH_PATH_LEN], name[256];
	struct nh_event ev;
	bool pool;

	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = r->blocked		    ? NH_EVENT_BLOCK :
		  r->kind == NH_REPORT_OPEN ? NH_EVENT_REDIRECT :
					      NH_EVENT_END;
	ev.ts_ns = (uint64_t)((int64_t)r->end_ns + ctx->mono_to_real);
	ev.pid = (pid_t)r->id.pid;
	ev.uid = r->id.uid;
	ev.cgroup_id = r->id.cgroup_id;
	ev.cookie = r->id.cookie;
	ev.proto = r->proto ? r->proto : IPPROTO_TCP;
	nh_addr_to_sockaddr(&r->id.orig, &ev.orig_dst);
	ev.new_dst = r->to.ss_family ? r->to : ev.orig_dst;
	ev.route = r->blocked  ? NH_ROUTE_BLOCK :
		   r->redirect ? NH_ROUTE_REDIRECT :
		   r->direct   ? NH_ROUTE_DIRECT :
				 NH_ROUTE_DIVERT;
	ev.route_desc = r->blocked || r->redirect || r->direct ? NULL :
			ctx->relay ? nh_relay_route(ctx->relay) :
				     ctx->route;
	ev.bytes_out = r->bytes_out;
	ev.bytes_in = r->bytes_in;
	ev.bytes_unknown = r->bytes_unknown;
	ev.duration_ns = r->id.start_ns && r->end_ns > r->id.start_ns ?
				 r->end_ns - r->id.start_ns :
				 0;
	ev.established = r->established;
	ev.err = r->err;
	ev.detail = r->detail[0] ? r->detail : NULL;
	ev.handshake = nh_hs_mode_name(r->hs_mode);
	ev.handshake_ns = r->hs_ns;
	ev.orig_name = r->name[0] ? r->name : NULL;
	ev.dst_name = ev.orig_name;
	/* the name the relay copied when the connection opened; a pool
	 * address may name another by now */
	if (!ev.dst_name) {
		ev.dst_name = nh_ctx_name_of(ctx, (const void *)&ev.orig_dst,
					     name, sizeof(name), &pool);
		if (pool)
			ev.dst_name = NULL;
	}
	memcpy(comm, r->id.comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	ev.comm = comm;
	ev.exe_partial =
		nh_ctx_exe_copy(ctx, r->id.pid, comm, exe, sizeof(exe));
	ev.exe = exe;
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
}

/* What the resolver answered.  It cannot tell who asked: the query came
 * from a port on loopback. */
static void dns_event(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	struct nh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = NH_EVENT_DNS;
	ev.ts_ns = (uint64_t)((int64_t)r->end_ns + ctx->mono_to_real);
	ev.proto = IPPROTO_UDP;
	ev.orig_name = r->name;
	ev.new_dst = r->to;
	ev.route = NH_ROUTE_DIVERT;
	ev.route_desc = "pool";
	ev.dns_type = r->dns_type;
	ev.dns_rcode = r->dns_rcode;
	ev.comm = "";
	ev.exe = "";
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
}

/* A relayed connection that failed: what, for whom, and why. */
static void report_log(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	struct sockaddr_storage ss;
	char dst[NH_REPORT_NAME + 8], comm[NH_COMM_LEN + 1];

	nh_addr_to_sockaddr(&r->id.orig, &ss);
	if (r->name[0])
		snprintf(dst, sizeof(dst), "%s:%u", r->name, r->id.orig.port);
	else
		nh_sockaddr_format((const void *)&ss, dst, sizeof(dst));
	memcpy(comm, r->id.comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	nh_logf(&ctx->lg, LOG_NOTICE, "%s: %s (pid %u %s) %s: %s",
		r->handoff ? "handoff" : "relay", dst, r->id.pid, comm,
		r->blocked		      ? "connect() refused" :
		r->handoff && !r->established ? "connect() failed" :
						"reset",
		r->detail);
}

int nh_ctx_reports_dispatch(struct nh_ctx *ctx)
{
	struct nh_relay_report r;

	nh_reports_wake_taken(&ctx->reps);
	/* the kernel's events about these connections come first */
	if (ctx->tick_fd >= 0)
		nh_bpf_poll(ctx->bpf, 0);
	while (nh_reports_pop(&ctx->reps, &r)) {
		if (r.kind == NH_REPORT_DNS) {
			if (ctx->event &&
			    (NH_EVENT_MASK(NH_EVENT_DNS) & ctx->event_mask))
				dns_event(ctx, &r);
			continue;
		}
		if (r.err && r.detail[0])
			report_log(ctx, &r);
		if (ctx->event && (NH_EVENT_MASK(r.blocked ? NH_EVENT_BLOCK :
						 r.kind == NH_REPORT_OPEN ?
							     NH_EVENT_REDIRECT :
							     NH_EVENT_END) &
				   ctx->event_mask))
			report_event(ctx, &r);
	}
	return 0;
}
