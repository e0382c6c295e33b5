// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-conn: open many TCP connections to an HTTP server and count them.
 *
 *   nh-conn [-6] [-x] [-n COUNT] [-c CONCURRENCY] [-T LIMIT_S]
 *           [-t IO_S] [-p PATH] ADDR PORT
 *
 * Each connection sends "GET PATH HTTP/1.0" and reads the reply to EOF;
 * it is ok when the reply's status is 200.  -x only connects and closes.
 * No connection is started after LIMIT_S seconds (default 60); each
 * connect, send and receive gives up after IO_S seconds (default 5).
 * Prints one line:
 *   ok=N failed=N not_started=N seconds=S rate=R/s [first_error=WHAT]
 * and exits 0 only when all COUNT connections were ok.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

static struct {
	struct sockaddr_storage dst;
	socklen_t len;
	char request[512];
	int connect_only;
	long count;
	int io_ms;
	double deadline;
} cfg;

static long next_conn, n_ok, n_failed;
static char first_error[64];
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_error(const char *what)
{
	pthread_mutex_lock(&error_lock);
	if (!first_error[0])
		snprintf(first_error, sizeof(first_error), "%s", what);
	pthread_mutex_unlock(&error_lock);
}

/* Read the reply to EOF; 0 if its status line says 200. */
static int read_reply(int fd)
{
	char head[16] = "", buf[16384];
	size_t got = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (got < sizeof(head) - 1) {
			size_t k = sizeof(head) - 1 - got;

			k = (size_t)n < k ? (size_t)n : k;
			memcpy(head + got, buf, k);
			got += k;
		}
	}
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (strncmp(head, "HTTP/1.", 7) || strncmp(head + 8, " 200", 4)) {
		note_error("http-status");
		return 1;
	}
	return 0;
}

static int one_conn(void)
{
	size_t len = strlen(cfg.request), off = 0;
	int fd, err;
	ssize_t n;

	fd = socket(cfg.dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	err = nh_connect_timeout(fd, (struct sockaddr *)&cfg.dst, cfg.len,
				 cfg.io_ms);
	if (err || cfg.connect_only)
		goto out;
	nh_set_io_timeout(fd, cfg.io_ms);
	while (off < len) {
		n = send(fd, cfg.request + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		off += n;
	}
	err = read_reply(fd);
out:
	close(fd);
	return err;
}

static void *worker(void *arg)
{
	int err;

	(void)arg;
	while (now() < cfg.deadline &&
	       __atomic_fetch_add(&next_conn, 1, __ATOMIC_RELAXED) <
		       cfg.count) {
		err = one_conn();
		if (!err) {
			__atomic_fetch_add(&n_ok, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_fetch_add(&n_failed, 1, __ATOMIC_RELAXED);
		if (err < 0)
			note_error(nh_errname(-err));
	}
	return NULL;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: nh-conn [-6] [-x] [-n COUNT] [-c CONCURRENCY] "
			"[-T LIMIT_S] [-t IO_S] [-p PATH] ADDR PORT\n");
	exit(2);
}

static long num_arg(long max)
{
	long v = nh_parse_num(optarg, max);

	if (v <= 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	long threads = 1, limit = 60, io = 5, i;
	pthread_t tid[MAX_THREADS];
	const char *path = "/";
	double start, secs;
	int force6 = 0, opt;

	cfg.count = 1;
	while ((opt = getopt(argc, argv, "6xn:c:T:t:p:")) != -1) {
		switch (opt) {
		case '6':
			force6 = 1;
			break;
		case 'x':
			cfg.connect_only = 1;
			break;
		case 'n':
			cfg.count = num_arg(100000000);
			break;
		case 'c':
			threads = num_arg(MAX_THREADS);
			break;
		case 'T':
			limit = num_arg(86400);
			break;
		case 't':
			io = num_arg(3600);
			break;
		case 'p':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || path[0] != '/' ||
	    nh_parse_addr(argv[optind], argv[optind + 1], force6, &cfg.dst,
			  &cfg.len))
		usage();
	if ((size_t)snprintf(cfg.request, sizeof(cfg.request),
			     "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
			     argv[optind]) >= sizeof(cfg.request))
		usage();
	cfg.io_ms = io * 1000;
	if (threads > cfg.count)
		threads = cfg.count;

	start = now();
	cfg.deadline = start + limit;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&tid[i], NULL, worker, NULL)) {
			fprintf(stderr, "nh-conn: cannot start threads\n");
			return 1;
		}
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	secs = now() - start;

	printf("ok=%ld failed=%ld not_started=%ld seconds=%.3f rate=%.1f/s",
	       n_ok, n_failed, cfg.count - n_ok - n_failed, secs,
	       secs > 0 ? n_ok / secs : 0.0);
	if (first_error[0])
		printf(" first_error=%s", first_error);
	printf("\n");
	return n_ok == cfg.count ? 0 : 1;
}
