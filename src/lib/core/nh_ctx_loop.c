// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The context's epoll set: each fd registered with its tag, and the tag's
 * handler run when it wakes. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "nh_bpf.h"
#include "nh_ctx_int.h"

int nh_ctx_watch(struct nh_ctx *ctx, int fd, enum nh_ctx_tag tag,
		 nh_ctx_handler fn)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = tag };

	ctx->on[tag] = fn;
	return epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, fd, &ee) ? -errno : 0;
}

NH_API int nh_ctx_dispatch(struct nh_ctx *ctx, int timeout_ms)
{
	struct epoll_event ev[NH_CTX_NTAGS - 1];
	int n, i, r;

	if (!ctx)
		return nh_err(-EINVAL);
	ctx->ncb = 0;
	n = epoll_wait(ctx->epfd, ev, NH_CTX_NTAGS - 1, timeout_ms);
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
		uint32_t tag = ev[i].data.u32;

		if (tag >= NH_CTX_NTAGS || !ctx->on[tag])
			continue;
		r = ctx->on[tag](ctx);
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
