/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The library's log: through the caller's callback, never printed; rate
 * limits for what others can make it say. */
#ifndef NH_LOG_H
#define NH_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

typedef void (*nh_log_fn)(int level, const char *msg, void *user);

struct nh_logger {
	nh_log_fn fn;
	void *user;
};

void nh_logf(const struct nh_logger *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A message said at most `burst` times a period, the rest counted: what
 * an outsider can make nethook say must not be a flood (nh_log.c).  The
 * caller locks it when threads share one.
 */
struct nh_ratelim {
	uint64_t start_ns; /* of the current period */
	uint64_t period_ns;
	unsigned int burst;
	unsigned int said; /* in this period */
	unsigned int quiet; /* kept quiet in this period */
};

/* true: say this one; false: it was counted */
bool nh_ratelim_take(struct nh_ratelim *rl, uint64_t now_ns);
/* Once the period is over (or with force): the number kept quiet in it,
 * its length in *span_ns, and a new period begins; else 0. */
unsigned int nh_ratelim_flush(struct nh_ratelim *rl, uint64_t now_ns,
			      bool force, uint64_t *span_ns);

#endif
