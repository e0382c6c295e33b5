/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reports of the relay's and the handoff's threads, queued for the
 * thread that dispatches the context. */
#ifndef NH_REPORTS_H
#define NH_REPORTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "nh_report.h"

struct nh_reports {
	pthread_mutex_t lock;
	struct nh_relay_report *q; /* a ring; NULL until a relay starts */
	unsigned int head, count;
	int fd; /* eventfd: readable when some are queued */
	uint64_t lost; /* the queue was full */
};

/* the lock; the eventfd comes with nh_reports_open(), the queue with
 * nh_reports_start() (a relay needs it) */
void nh_reports_init(struct nh_reports *r);
int nh_reports_open(struct nh_reports *r);
int nh_reports_start(struct nh_reports *r);
void nh_reports_fini(struct nh_reports *r);
/* from any thread; counted as lost when the queue is full */
void nh_reports_push(struct nh_reports *r, const struct nh_relay_report *rep);
/* the wake-up read: then pop until there is none */
void nh_reports_wake_taken(struct nh_reports *r);
bool nh_reports_pop(struct nh_reports *r, struct nh_relay_report *rep);
uint64_t nh_reports_lost(const struct nh_reports *r);

#endif
