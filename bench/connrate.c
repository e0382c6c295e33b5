// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connrate: a TCP connection-rate client and its server, for bench/run.sh.
 *
 *   connrate serve [-t THREADS] ADDR:PORT=REPLY [ADDR:PORT=REPLY...]
 *       THREADS blocking threads per address (SO_REUSEPORT listeners);
 *       each accepted connection: read the request, write REPLY, close.
 *   connrate client [-w WORKERS] [-d SECONDS] [-n MAX] [-e EXPECT] ADDR:PORT
 *       WORKERS threads, each in a loop: socket, connect, send a tiny
 *       request, read the whole reply (checked against EXPECT), close with
 *       SO_LINGER 0 (a reset: no TIME_WAIT on either side, so a long run
 *       never runs out of ports or time-wait buckets).  Stops after
 *       SECONDS or MAX connections in all, whichever comes first.
 *       Prints: conns=N errors=E secs=S rate=R cpu_us=C: R connections
 *       per second, C microseconds of this process's CPU time (user +
 *       system, including the BPF programs run in its system calls and
 *       the softirq work done in its context) per connection.
 *       Exit status 1 if any connection failed or got the wrong reply.
 *
 * IPv4 only: the benchmark's addresses are all IPv4.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ "GET / HTTP/1.0\r\n\r\n"
#define MAX_LISTEN 8
#define MAX_THREADS 64

static void die(const char *what)
{
	fprintf(stderr, "connrate: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	char buf[64], *colon;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, buf, &sin->sin_addr) == 1 ? 0 : -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- server ---- */

struct listener {
	struct sockaddr_in addr;
	const char *reply;
	size_t reply_len;
};

static void *serve_thread(void *arg)
{
	const struct listener *l = arg;
	int one = 1, lfd;
	char buf[512];

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(lfd, (const void *)&l->addr, sizeof(l->addr)))
		die("bind");
	if (listen(lfd, 1024))
		die("listen");
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		set_timeouts(fd, 2);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* the request is tiny and arrives in one segment */
		if (read(fd, buf, sizeof(buf)) > 0 && l->reply_len)
			if (write(fd, l->reply, l->reply_len) < 0) {
				/* the client gave up: nothing to do */
			}
		close(fd);
	}
	return NULL;
}

static int cmd_serve(int argc, char **argv)
{
	static struct listener ls[MAX_LISTEN];
	int nthreads = 2, nl = 0, opt, i, j;
	pthread_t t;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return 2;
		nthreads = atoi(optarg);
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || optind >= argc)
		return fprintf(stderr, "connrate serve: bad usage\n"), 2;
	for (i = optind; i < argc && nl < MAX_LISTEN; i++, nl++) {
		char *eq = strchr(argv[i], '=');

		if (eq)
			*eq = 0;
		if (parse_addr(argv[i], &ls[nl].addr))
			return fprintf(stderr, "connrate: bad address %s\n",
				       argv[i]),
			       2;
		ls[nl].reply = eq ? eq + 1 : "";
		ls[nl].reply_len = strlen(ls[nl].reply);
	}
	for (i = 0; i < nl; i++)
		for (j = 0; j < nthreads; j++)
			if ((errno = pthread_create(&t, NULL, serve_thread,
						    &ls[i])))
				die("pthread_create");
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}

/* ---- client ---- */

static struct sockaddr_in dst;
static const char *expect = "";
static size_t expect_len;
static double deadline;
static long max_conns;
static atomic_long started, done, failed;
static char first_err[160];
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_error(const char *what, int err)
{
	atomic_fetch_add(&failed, 1);
	pthread_mutex_lock(&err_lock);
	if (!first_err[0])
		snprintf(first_err, sizeof(first_err), "%s: %s", what,
			 err ? strerror(err) : "unexpected reply");
	pthread_mutex_unlock(&err_lock);
}

static int one_conn(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[512];
	size_t got = 0;
	int fd, one = 1;
	ssize_t n = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		note_error("socket", errno);
		return -1;
	}
	set_timeouts(fd, 2);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const void *)&dst, sizeof(dst))) {
		note_error("connect", errno);
		goto fail;
	}
	if (write(fd, REQ, sizeof(REQ) - 1) != sizeof(REQ) - 1) {
		note_error("write", errno);
		goto fail;
	}
	/* the server writes the whole reply, then closes */
	while (got < sizeof(buf) &&
	       (n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	if (n < 0 && got < expect_len) {
		note_error("read", errno);
		goto fail;
	}
	if (got != expect_len || memcmp(buf, expect, expect_len)) {
		note_error("reply", 0);
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return 0;
fail:
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return -1;
}

static void *client_thread(void *arg)
{
	(void)arg;
	for (;;) {
		if (atomic_fetch_add(&started, 1) >= max_conns)
			break;
		if (now() >= deadline)
			break;
		if (one_conn() == 0)
			atomic_fetch_add(&done, 1);
		/* stop early when it is plainly broken */
		if (atomic_load(&failed) > 100)
			break;
	}
	return NULL;
}

static int cmd_client(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	double secs = 2, t0, t1, cpu0, cpu1;
	struct rusage ru;
	int workers = 1, opt, i;

	max_conns = 10000000;
	while ((opt = getopt(argc, argv, "w:d:n:e:")) != -1) {
		switch (opt) {
		case 'w':
			workers = atoi(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'n':
			max_conns = atol(optarg);
			break;
		case 'e':
			expect = optarg;
			break;
		default:
			return 2;
		}
	}
	if (workers < 1 || workers > MAX_THREADS || secs <= 0 || secs > 600 ||
	    max_conns < 1 || optind + 1 != argc ||
	    parse_addr(argv[optind], &dst))
		return fprintf(stderr, "connrate client: bad usage\n"), 2;
	expect_len = strlen(expect);
	signal(SIGPIPE, SIG_IGN);
	getrusage(RUSAGE_SELF, &ru);
	cpu0 = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	t0 = now();
	deadline = t0 + secs;
	for (i = 0; i < workers; i++)
		if ((errno = pthread_create(&th[i], NULL, client_thread, NULL)))
			die("pthread_create");
	for (i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	cpu1 = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("conns=%ld errors=%ld secs=%.3f rate=%.1f cpu_us=%.2f\n",
	       atomic_load(&done), atomic_load(&failed), t1 - t0,
	       atomic_load(&done) / (t1 - t0),
	       atomic_load(&done) ? (cpu1 - cpu0) * 1e6 / atomic_load(&done) :
				    0);
	if (first_err[0])
		fprintf(stderr, "connrate: first error: %s\n", first_err);
	return atomic_load(&failed) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return cmd_client(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: connrate serve [-t N] ADDR:PORT=REPLY...\n"
		"       connrate client [-w N] [-d SECS] [-n MAX] [-e EXPECT] ADDR:PORT\n");
	return 2;
}
