// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The library's own threads take no signals: a process's handlers run
 * on its own threads, where it can block them (before nh_ctx_close(),
 * say) and know that no handler runs on a context being freed.
 */
#include <pthread.h>
#include <signal.h>
#include "nh_base.h"
#include "nh_thread.h"

int nh_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}
