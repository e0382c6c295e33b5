// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The relay's and the handoff's reports, queued from their threads for
 * the one that dispatches: a ring under a lock, and an eventfd. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "nh_reports.h"

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

void nh_reports_push(struct nh_reports *r, const struct nh_relay_report *rep)
{
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

void nh_reports_wake_taken(struct nh_reports *r)
{
	uint64_t v;

	if (read(r->fd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
}

bool nh_reports_pop(struct nh_reports *r, struct nh_relay_report *rep)
{
	bool got = false;

	pthread_mutex_lock(&r->lock);
	if (r->count) {
		*rep = r->q[r->head];
		r->head = (r->head + 1) % NH_REPORT_QUEUE;
		r->count--;
		got = true;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}
