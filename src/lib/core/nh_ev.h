/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The library's one event-loop style.  Whoever owns a descriptor in an
 * epoll set embeds a struct nh_ev beside it, the epoll data points at
 * that handler, and every loop runs each event's handler the same way
 * (as redis's ae.c keeps a handler per descriptor).  The handler finds
 * its owner with nh_container_of(), so no loop keeps a table of tag
 * numbers, or a switch, in step with the owners it serves.
 */
#ifndef NH_EV_H
#define NH_EV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/* The struct holding member, from a pointer to that member. */
#define nh_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct nh_ev;

/* events: what epoll reported.  >= 0 goes on (the context's loop adds
 * it up: callbacks run); < 0, an -errno, ends the loop that ran it. */
typedef int (*nh_ev_fn)(struct nh_ev *ev, uint32_t events);

struct nh_ev {
	nh_ev_fn fn;
};

/* fd joins epfd, or (nh_ev_mod) changes what it waits for; ev runs when
 * it is ready.  0 or -errno. */
static inline int nh_ev_add(int epfd, int fd, uint32_t events, struct nh_ev *ev)
{
	struct epoll_event ee = { .events = events, .data.ptr = ev };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ee) ? -errno : 0;
}

static inline int nh_ev_mod(int epfd, int fd, uint32_t events, struct nh_ev *ev)
{
	struct epoll_event ee = { .events = events, .data.ptr = ev };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ee) ? -errno : 0;
}

/* The handler of a loop's stop descriptor (an eventfd its owner writes
 * to end the thread): ends the loop. */
static inline int nh_ev_end(struct nh_ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
	return -ECANCELED;
}

/* The handler of one event epoll_wait() returned. */
static inline int nh_ev_run(const struct epoll_event *e)
{
	struct nh_ev *ev = e->data.ptr;

	return ev->fn(ev, e->events);
}

#endif
