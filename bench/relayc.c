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
 *   relayc ping [-n N] ADDR:PORT
 *       N times, one after the other: socket, connect, close.  Times
 *       connect() alone: one TCP round trip to ADDR (a ping that a
 *       packet hook on TCP sees).  Prints: n=N errors=E p50_us=..
 *       p99_us=.. min_us=.. max_us=..
 *   relayc rate [-w W] [-d SECS] [-n MAX] HOST:PORT PATH
 *       W threads (1), each in a loop until SECS (2) have passed or MAX
 *       connections (1000000) were started in all: resolve HOST with
 *       getaddrinfo (AF_UNSPEC; a name is looked up again for every
 *       connection, an address is taken as it is), socket, connect to
 *       the first address that connects, send "GET PATH HTTP/1.0", read
 *       the reply to EOF (it must start "HTTP/1.x 200"), close.  The
 *       latency of a connection runs from just before the lookup to the
 *       end of the reply.  Prints: n=N errors=E secs=S rate=R p50_us=..
 *       p99_us=.. addr=FIRST (S: until the last connection ended; R =
 *       N / S).  Exit status 1 if any connection failed.
 *
 * They raise their open-file limit to the hard limit.  IPv4 only, but
 * for the names of rate (which connect to whatever the lookup gives).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
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

static int ping(int argc, char **argv)
{
	struct sockaddr_in sin;
	int n = 20, opt, errors = 0, ok = 0;
	double *t;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return 2;
		n = atoi(optarg);
	}
	if (argc - optind != 1 || n < 1 || n > 100000) {
		fprintf(stderr, "usage: relayc ping [-n N] ADDR:PORT\n");
		return 2;
	}
	parse_addr(argv[optind], &sin);
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("calloc");
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		double t0, t1;

		if (fd < 0)
			die("socket");
		set_timeout(fd, 10);
		t0 = now_us();
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			errors++;
			close(fd);
			continue;
		}
		t1 = now_us();
		close(fd);
		t[ok++] = t1 - t0;
	}
	if (ok) {
		qsort(t, (size_t)ok, sizeof(*t), cmp_double);
		printf("n=%d errors=%d p50_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n",
		       ok, errors, t[(ok - 1) / 2], t[(ok * 99 + 99) / 100 - 1],
		       t[0], t[ok - 1]);
	} else {
		printf("n=0 errors=%d\n", errors);
	}
	free(t);
	return errors ? 1 : 0;
}

/* relayc rate: the shared state of its workers */
static struct {
	const char *host, *port;
	char req[512];
	double t_end;		/* no connection starts after this (us) */
	long max;
	pthread_mutex_t mu;
	long started, errors;
	size_t n, cap;
	double *lat;
	char first[INET6_ADDRSTRLEN];
	char why[160];
} R = { .mu = PTHREAD_MUTEX_INITIALIZER, .first = "-" };

/* One connection of relayc rate: 0 when the reply came whole. */
static int rate_one(char *why, size_t whysz, char *addr, size_t addrsz)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	char buf[16384], head[16];
	size_t got = 0;
	ssize_t r;
	int fd = -1, rc;

	rc = getaddrinfo(R.host, R.port, &hints, &res);
	if (rc) {
		snprintf(why, whysz, "getaddrinfo: %s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		set_timeout(fd, 10);
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		snprintf(why, whysz, "connect: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		inet_ntop(ai->ai_family, ai->ai_family == AF_INET ?
			  (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			  (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
			  addr, (socklen_t)addrsz);
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	if (send(fd, R.req, strlen(R.req), MSG_NOSIGNAL) != (ssize_t)strlen(R.req)) {
		snprintf(why, whysz, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (got < sizeof(head))
			memcpy(head + got, buf,
			       (size_t)r < sizeof(head) - got ? (size_t)r : sizeof(head) - got);
		got += (size_t)r;
	}
	close(fd);
	if (r < 0) {
		snprintf(why, whysz, "read: %s", strerror(errno));
		return -1;
	}
	if (got < 12 || memcmp(head, "HTTP/1.", 7) || memcmp(head + 8, " 200", 4)) {
		snprintf(why, whysz, "short or bad reply (%zu bytes)", got);
		return -1;
	}
	return 0;
}

static void *rate_worker(void *arg)
{
	char why[160], addr[INET6_ADDRSTRLEN];

	(void)arg;
	for (;;) {
		double t0 = now_us(), t1;
		int rc;

		pthread_mutex_lock(&R.mu);
		if (t0 >= R.t_end || R.started >= R.max) {
			pthread_mutex_unlock(&R.mu);
			break;
		}
		R.started++;
		pthread_mutex_unlock(&R.mu);
		why[0] = 0;
		addr[0] = 0;
		rc = rate_one(why, sizeof(why), addr, sizeof(addr));
		t1 = now_us();
		pthread_mutex_lock(&R.mu);
		if (rc) {
			R.errors++;
			if (!R.why[0])
				snprintf(R.why, sizeof(R.why), "%s", why);
		} else {
			if (R.n == R.cap) {
				size_t cap = R.cap ? R.cap * 2 : 4096;
				double *l = realloc(R.lat, cap * sizeof(*l));

				if (!l)
					die("realloc");
				R.lat = l;
				R.cap = cap;
			}
			R.lat[R.n++] = t1 - t0;
			if (R.first[0] == '-')
				snprintf(R.first, sizeof(R.first), "%s", addr);
		}
		pthread_mutex_unlock(&R.mu);
	}
	return NULL;
}

static int rate(int argc, char **argv)
{
	int w = 1, opt;
	double secs = 2, t_start, el;
	char hostport[300], *colon;
	pthread_t th[64];

	R.max = 1000000;
	while ((opt = getopt(argc, argv, "w:d:n:")) != -1) {
		switch (opt) {
		case 'w': w = atoi(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'n': R.max = atol(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 2 || w < 1 || w > 64 || secs <= 0 || secs > 600 ||
	    R.max < 1 || strlen(argv[optind]) >= sizeof(hostport)) {
		fprintf(stderr,
			"usage: relayc rate [-w W] [-d SECS] [-n MAX] HOST:PORT PATH\n");
		return 2;
	}
	strcpy(hostport, argv[optind]);
	colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1]) {
		fprintf(stderr, "relayc: bad address '%s' (want HOST:PORT)\n",
			argv[optind]);
		return 2;
	}
	*colon = 0;
	R.host = hostport;
	R.port = colon + 1;
	snprintf(R.req, sizeof(R.req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
		 argv[optind + 1], R.host);
	raise_nofile();
	t_start = now_us();
	R.t_end = t_start + secs * 1e6;
	for (int i = 0; i < w; i++)
		if (pthread_create(&th[i], NULL, rate_worker, NULL)) {
			errno = EAGAIN;
			die("pthread_create");
		}
	for (int i = 0; i < w; i++)
		pthread_join(th[i], NULL);
	el = (now_us() - t_start) / 1e6;
	if (R.n) {
		size_t n = R.n;

		qsort(R.lat, n, sizeof(*R.lat), cmp_double);
		printf("n=%zu errors=%ld secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f addr=%s\n",
		       n, R.errors, el, (double)n / el, R.lat[(n - 1) / 2],
		       R.lat[(n * 99 + 99) / 100 - 1], R.first);
	} else {
		printf("n=0 errors=%ld secs=%.3f\n", R.errors, el);
	}
	if (R.errors)
		fprintf(stderr, "relayc: rate: %ld failed, the first: %s\n",
			R.errors, R.why);
	free(R.lat);
	return R.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "ttfb"))
		return ttfb(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return hold(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "ping"))
		return ping(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "rate"))
		return rate(argc - 1, argv + 1);
	fprintf(stderr, "usage: relayc ttfb|hold|serve|ping|rate ... (see the source)\n");
	return 2;
}
