// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include "nh_internal.h"

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

NH_API const char *nh_version(void)
{
#define NH_STR2(x) #x
#define NH_STR(x) NH_STR2(x)
	return NH_STR(NETHOOK_VERSION_MAJOR) "." NH_STR(
		NETHOOK_VERSION_MINOR) "." NH_STR(NETHOOK_VERSION_PATCH);
}
