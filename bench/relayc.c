// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * relayc: the small clients and the idle-connection server of
 * bench/relay.sh.  Blocking sockets and plain connect(), so that
 * LD_PRELOAD tools (proxychains4) see every call.
 *
 *   relayc ttfb [-n N] ADDR:PORT PATH
 *       N times, one after the other: socket, connect, send
 *       "GET PATH HTTP/1.0", read the reply to EOF, close.  Measures the
 *       time from just before connect() to the first byte of the reply.
 *       Prints: n=N errors=E p50_us=.. p99_us=.. mean_us=..
 *       Exit status 1 if any request failed.
 *   relayc hold [-t SECS] -n N1[,N2...] ADDR:PORT
 *       Prints "ready pid=PID" and waits for SIGUSR1; then opens
 *       connections up to N1, each checked end to end by reading the one
 *       byte the server sends on accept, prints "held N1", waits for
 *       SIGUSR1 again, goes on to N2, and so on; then closes them all.
 *       Each wait gives up after SECS (30) and the whole run then ends.
 *       On a failure it prints "failed at N: REASON" and "held N" with
 *       the count it reached, and exits 1 after the stage's wait.
 *   relayc serve ADDR:PORT
 *       Accepts connections, writes one byte to each and keeps it open
 *       until the peer closes (one thread, epoll).  Prints "ready".
 *
 * Both raise their open-file limit to the hard limit.  IPv4 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "relayc: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void parse_addr(const char *s, struct sockaddr_in *sin)
{
	char buf[64], *colon;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		goto bad;
	*colon = 0;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1)
		return;
bad:
	fprintf(stderr, "relayc: bad address '%s' (want A.B.C.D:PORT)\n", s);
	exit(2);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void set_timeout(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int ttfb(int argc, char **argv)
{
	struct sockaddr_in sin;
	int n = 200, opt, errors = 0, ok = 0;
	char req[512], buf[16384];
	double *t, sum = 0;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return 2;
		n = atoi(optarg);
	}
	if (argc - optind != 2 || n < 1 || n > 1000000) {
		fprintf(stderr, "usage: relayc ttfb [-n N] ADDR:PORT PATH\n");
		return 2;
	}
	parse_addr(argv[optind], &sin);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
		 argv[optind + 1], argv[optind]);
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("calloc");
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		double t0, t1 = 0;
		ssize_t r;
		size_t got = 0;
		int good = 0;

		if (fd < 0)
			die("socket");
		set_timeout(fd, 10);
		t0 = now_us();
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
		    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
			errors++;
			close(fd);
			continue;
		}
		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			if (!got) {
				t1 = now_us();
				good = r >= 12 && !memcmp(buf, "HTTP/1.", 7) &&
				       !memcmp(buf + 8, " 200", 4);
			}
			got += (size_t)r;
		}
		close(fd);
		if (r < 0 || !good) {
			errors++;
			continue;
		}
		t[ok++] = t1 - t0;
		sum += t1 - t0;
	}
	if (ok) {
		qsort(t, (size_t)ok, sizeof(*t), cmp_double);
		int k = (ok * 99 + 99) / 100 - 1; /* nearest rank */

		printf("n=%d errors=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
		       ok, errors, t[(ok - 1) / 2], t[k], sum / ok);
	} else {
		printf("n=0 errors=%d\n", errors);
	}
	free(t);
	return errors ? 1 : 0;
}

/* Wait for SIGUSR1 (blocked); 0 when it came, -1 after secs. */
static int wait_usr1(int secs)
{
	sigset_t set;
	struct timespec ts = { .tv_sec = secs };

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigtimedwait(&set, NULL, &ts) == SIGUSR1 ? 0 : -1;
}

static int hold(int argc, char **argv)
{
	struct sockaddr_in sin;
	int secs = 30, opt, nst = 0, held = 0, failed = 0;
	int stages[16];
	char *list = NULL, *tok, *save;
	int *fds;
	sigset_t set;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		if (opt == 'n')
			list = optarg;
		else if (opt == 't')
			secs = atoi(optarg);
		else
			return 2;
	}
	if (argc - optind != 1 || !list) {
		fprintf(stderr,
			"usage: relayc hold [-t SECS] -n N1[,N2...] ADDR:PORT\n");
		return 2;
	}
	for (tok = strtok_r(list, ",", &save); tok && nst < 16;
	     tok = strtok_r(NULL, ",", &save)) {
		stages[nst] = atoi(tok);
		if (stages[nst] < 1 || stages[nst] > 200000 ||
		    (nst && stages[nst] <= stages[nst - 1])) {
			fprintf(stderr,
				"relayc: -n: increasing counts from 1 to 200000\n");
			return 2;
		}
		nst++;
	}
	parse_addr(argv[optind], &sin);
	raise_nofile();
	fds = calloc((size_t)stages[nst - 1], sizeof(*fds));
	if (!fds)
		die("calloc");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	if (wait_usr1(secs))
		return 1;
	for (int s = 0; s < nst && !failed; s++) {
		while (held < stages[s]) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			char c;

			if (fd < 0) {
				printf("failed at %d: socket: %s\n", held,
				       strerror(errno));
				failed = 1;
				break;
			}
			set_timeout(fd, 10);
			if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
				printf("failed at %d: connect: %s\n", held,
				       strerror(errno));
				close(fd);
				failed = 1;
				break;
			}
			if (read(fd, &c, 1) != 1) {
				printf("failed at %d: no byte from the server: %s\n",
				       held, errno ? strerror(errno) : "EOF");
				close(fd);
				failed = 1;
				break;
			}
			fds[held++] = fd;
		}
		printf("held %d\n", held);
		fflush(stdout);
		if (wait_usr1(secs))
			break;
	}
	for (int i = 0; i < held; i++)
		close(fds[i]);
	free(fds);
	return failed;
}

static int serve(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct epoll_event ev, evs[256];
	int lfd, ep, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: relayc serve ADDR:PORT\n");
		return 2;
	}
	parse_addr(argv[2], &sin);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 4096))
		die("bind/listen");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll_ctl");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[512];

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK |
							    SOCK_CLOEXEC)) >=
				       0) {
					if (write(c, "h", 1) != 1) {
						close(c);
						continue;
					}
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c,
						      &ev))
						close(c);
				}
				continue;
			}
			/* the peer sent something or closed: drain, close on EOF */
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EAGAIN))
				close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ttfb"))
		return ttfb(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return hold(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	fprintf(stderr, "usage: relayc ttfb|hold|serve ... (see the source)\n");
	return 2;
}
