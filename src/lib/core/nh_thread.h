/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Threads of the library. */
#ifndef NH_THREAD_H
#define NH_THREAD_H

#include <pthread.h>

/* pthread_create with every signal blocked in the new thread (nh_thread.c);
 * -errno */
int nh_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
