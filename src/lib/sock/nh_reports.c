// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The relay's and the handoff's reports: queued from their threads, made
 * into log lines and events on the dispatching thread. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "nh_ctx_int.h"
#include "nh_relay.h"
#include "nh_spec.h"

#define NH_REPORT_QUEUE 4096

void nh_reports_init(struct nh_reports *r)
{
	pthread_mutex_init(&r->lock, NULL);
	r->fd = -1;
}

int nh_reports_open(struct nh_reports *r)
{
	r->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return r->fd < 0 ? -errno : 0;
}

int nh_reports_start(struct nh_reports *r)
{
	struct nh_relay_report *q;

	if (r->q)
		return 0;
	q = calloc(NH_REPORT_QUEUE, sizeof(*q));
	if (!q)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	r->q = q;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void nh_reports_fini(struct nh_reports *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	pthread_mutex_destroy(&r->lock);
	free(r->q);
	r->q = NULL;
}

uint64_t nh_reports_lost(const struct nh_reports *r)
{
	return __atomic_load_n(&r->lost, __ATOMIC_RELAXED);
}

void nh_ctx_on_report(void *user, const struct nh_relay_report *rep)
{
	struct nh_reports *r = &((struct nh_ctx *)user)->reps;
	uint64_t one = 1;
	bool queued = false;

	pthread_mutex_lock(&r->lock);
	if (r->q && r->count < NH_REPORT_QUEUE) {
		r->q[(r->head + r->count) % NH_REPORT_QUEUE] = *rep;
		r->count++;
		queued = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (!queued) {
		__atomic_fetch_add(&r->lost, 1, __ATOMIC_RELAXED);
		return;
	}
	if (write(r->fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}

static void report_event(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	char comm[NH_COMM_LEN + 1], exe[NH_PATH_LEN];
	struct nh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.sz = sizeof(ev);
	ev.type = r->blocked ? NH_EVENT_BLOCK : NH_EVENT_END;
	ev.ts_ns = (uint64_t)((int64_t)r->end_ns + ctx->mono_to_real);
	ev.pid = (pid_t)r->id.pid;
	ev.uid = r->id.uid;
	ev.cgroup_id = r->id.cgroup_id;
	ev.cookie = r->id.cookie;
	ev.proto = r->proto ? r->proto : IPPROTO_TCP;
	nh_addr_to_sockaddr(&r->id.orig, &ev.orig_dst);
	ev.new_dst = r->to.ss_family ? r->to : ev.orig_dst;
	ev.route = r->blocked ? NH_ROUTE_BLOCK : NH_ROUTE_DIVERT;
	ev.route_desc = r->blocked ? NULL : nh_relay_route(ctx->relay);
	ev.bytes_out = r->bytes_out;
	ev.bytes_in = r->bytes_in;
	ev.duration_ns = r->id.start_ns && r->end_ns > r->id.start_ns ?
				 r->end_ns - r->id.start_ns :
				 0;
	ev.established = r->established;
	ev.err = r->err;
	ev.detail = r->detail[0] ? r->detail : NULL;
	memcpy(comm, r->id.comm, NH_COMM_LEN);
	comm[NH_COMM_LEN] = '\0';
	ev.comm = comm;
	ev.exe_partial =
		nh_ctx_exe_copy(ctx, r->id.pid, comm, exe, sizeof(exe));
	ev.exe = exe;
	ctx->event(&ev, ctx->event_user);
	ctx->ncb++;
}

/* A relayed connection that failed: what, for whom, and why. */
static void report_log(struct nh_ctx *ctx, const struct nh_relay_report *r)
{
	struct sockaddr_storage ss;
	char dst[64], comm[NH_COMM_LEN + 1];

	nh_addr_to_sockaddr(&r->id.orig, &ss);
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

int nh_reports_dispatch(struct nh_ctx *ctx)
{
	struct nh_reports *q = &ctx->reps;
	struct nh_relay_report r;
	uint64_t v;

	if (read(q->fd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
	/* the kernel's events about these connections come first */
	if (ctx->tick_fd >= 0)
		nh_bpf_poll(ctx->bpf, 0);
	for (;;) {
		pthread_mutex_lock(&q->lock);
		if (!q->count) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		r = q->q[q->head];
		q->head = (q->head + 1) % NH_REPORT_QUEUE;
		q->count--;
		pthread_mutex_unlock(&q->lock);
		if (r.err && r.detail[0])
			report_log(ctx, &r);
		if (ctx->event &&
		    (NH_EVENT_MASK(r.blocked ? NH_EVENT_BLOCK : NH_EVENT_END) &
		     ctx->event_mask))
			report_event(ctx, &r);
	}
	return 0;
}
