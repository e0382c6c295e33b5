// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#include "nethook/nethook.h" /* NETHOOK_VERSION_* */
#include "nh_base.h"
#include "nh_log.h"

/* stringified below: a missing header would give its names, not 0.1.0 */
#ifndef NETHOOK_VERSION_MAJOR
#error "NETHOOK_VERSION_MAJOR: include nethook/nethook.h"
#endif

void nh_logf(const struct nh_logger *lg, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int saved = errno;

	if (!lg || !lg->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lg->fn(level, msg, lg->user);
	errno = saved;
}

bool nh_ratelim_take(struct nh_ratelim *rl, uint64_t now_ns)
{
	uint64_t span;

	/* a period over with nothing kept quiet needs no summary */
	if (!rl->quiet)
		nh_ratelim_flush(rl, now_ns, false, &span);
	if (rl->said < rl->burst) {
		rl->said++;
		return true;
	}
	rl->quiet++;
	return false;
}

unsigned int nh_ratelim_flush(struct nh_ratelim *rl, uint64_t now_ns,
			      bool force, uint64_t *span_ns)
{
	unsigned int n = rl->quiet;

	*span_ns = 0;
	if (!force && now_ns - rl->start_ns < rl->period_ns)
		return 0;
	*span_ns = now_ns - rl->start_ns;
	rl->start_ns = now_ns;
	rl->said = 0;
	rl->quiet = 0;
	return n;
}

NH_API const char *nh_version(void)
{
#define NH_STR2(x) #x
#define NH_STR(x) NH_STR2(x)
	return NH_STR(NETHOOK_VERSION_MAJOR) "." NH_STR(
		NETHOOK_VERSION_MINOR) "." NH_STR(NETHOOK_VERSION_PATCH);
}
