/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The library's clock for deadlines and report times. */
#ifndef NH_TIME_H
#define NH_TIME_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC, the kernel's bpf_ktime_get_ns() clock, in ns */
static inline uint64_t nh_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
