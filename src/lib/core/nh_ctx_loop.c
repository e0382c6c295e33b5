// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context's epoll set: each fd registered with its handler
 * (nh_ev.h), run when it wakes. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "nh_bpf.h"
#include "nh_ctx_int.h"

int nh_ctx_watch(struct nh_ctx *ctx, int fd, struct nh_ev *ev, nh_ev_fn fn)
{
	ev->fn = fn;
	return nh_ev_add(ctx->epfd, fd, EPOLLIN, ev);
}

NH_API int nh_ctx_dispatch(struct nh_ctx *ctx, int timeout_ms)
{
	struct epoll_event ev[NH_CTX_NWATCH];
	int n, i, r;

	if (!ctx)
		return nh_err(-EINVAL);
	ctx->ncb = 0;
	n = epoll_wait(ctx->epfd, ev, NH_CTX_NWATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : nh_err(-errno);
	/* whatever woke us, or nothing did: read what the kernel queued
	 * without a wake-up, so a caller's timeout bounds the delay too */
	if (!n && ctx->tick_fd >= 0) {
		r = nh_bpf_poll(ctx->bpf, 0);
		if (r < 0)
			return nh_err(r);
	}
	for (i = 0; i < n; i++) {
		r = nh_ev_run(&ev[i]);
		if (r < 0)
			return nh_err(r);
		ctx->ncb += r;
	}
	return ctx->ncb;
}

NH_API int nh_ctx_run(struct nh_ctx *ctx)
{
	int err;

	if (!ctx)
		return nh_err(-EINVAL);
	atomic_store(&ctx->stop, false);
	while (!atomic_load(&ctx->stop)) {
		err = nh_ctx_dispatch(ctx, -1);
		if (err < 0)
			return err;
	}
	return 0;
}

NH_API void nh_ctx_stop(struct nh_ctx *ctx)
{
	uint64_t one = 1;

	if (!ctx)
		return;
	atomic_store(&ctx->stop, true);
	if (write(ctx->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake-up is pending anyway */
	}
}
