// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dnsq: the clients of bench/names.sh.
 *
 *   dnsq query [-n N] [-w W] [-u] [-t MS] [-e NET/LEN] [-p PREFIX]
 *              SERVER[:PORT] SUFFIX
 *       Sends A queries over UDP to SERVER (port 53), one outstanding at
 *       a time, and times each round trip with CLOCK_MONOTONIC: from just
 *       before send to just after the answer is read.  Two series in one
 *       run: N queries for distinct names (PREFIX-d<i>.SUFFIX, never asked
 *       before in this run), then N for one repeated name
 *       (PREFIX-r.SUFFIX).  W queries for other names come first and are
 *       not timed.  The socket is connected (as glibc does) unless -u,
 *       which uses sendto/recvfrom on an unconnected socket.  Each answer
 *       must carry the query's id and question, rcode 0 and an A record,
 *       and with -e the address must lie in NET/LEN; anything else, or no
 *       answer in MS milliseconds (1000), counts as an error.
 *       Prints, per series:
 *         distinct n=N errors=E p50_us=.. p99_us=.. mean_us=.. min_us=.. max_us=.. addr=FIRST
 *       Exit status 1 if any query failed.
 *   dnsq conn [-s SECS] [-n MAX] [-6|-4] [-L] NAME PORT PATH
 *       For SECS seconds (2) or MAX connections (1000000), whichever
 *       comes first, one after the other: getaddrinfo(NAME) (AF_UNSPEC,
 *       or AF_INET6/AF_INET with -6/-4; SOCK_STREAM, no cache kept), then
 *       socket, connect to the first address that connects, send
 *       "GET PATH HTTP/1.0" with a Host header, read the reply to EOF
 *       (the server closes first), close.  Every connection looks the
 *       name up again.  Prints
 *         n=N errors=E secs=S rate=R p50_us=.. p99_us=.. lookup_p50_us=.. addr=FIRST
 *       where the latencies are from just before getaddrinfo to the end
 *       of the reply (p50/p99) and of getaddrinfo alone (lookup_p50).
 *       Exit status 1 if any connection failed.  With -L, getaddrinfo
 *       alone, in a loop (p50 and p99 are then of the lookup too).
 *
 * Blocking sockets and the C library's own calls, so that LD_PRELOAD
 * tools (proxychains4) see every call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank on a sorted array */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

static void report(const char *label, uint64_t *v, size_t n, size_t errors,
		   const char *extra)
{
	double sum = 0;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)v[i];
	printf("%s%sn=%zu errors=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f max_us=%.1f%s\n",
	       label, *label ? " " : "", n, errors, pct_us(v, n, 50),
	       pct_us(v, n, 99), n ? sum / (double)n / 1000.0 : 0.0,
	       n ? (double)v[0] / 1000.0 : 0.0,
	       n ? (double)v[n - 1] / 1000.0 : 0.0, extra);
}

/* ---- query ---- */

struct qctx {
	int fd;
	int unconnected;
	struct sockaddr_in srv;
	int timeout_ms;
	int have_net;
	uint32_t net, mask;
	char first[INET_ADDRSTRLEN];
	const char *why; /* the last error */
};

/* a query for NAME, type A, class IN, RD; returns its length */
static size_t build_query(uint8_t *b, size_t cap, uint16_t id, const char *name)
{
	size_t o = 12;
	const char *p = name;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1; /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || o + 1 + l + 5 >= cap)
			return 0;
		b[o++] = (uint8_t)l;
		memcpy(b + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	b[o++] = 0;
	b[o++] = 0;
	b[o++] = 1; /* A */
	b[o++] = 0;
	b[o++] = 1; /* IN */
	return o;
}

/* skips a (possibly compressed) name at *o; -1 if it runs out */
static int skip_name(const uint8_t *b, size_t n, size_t *o)
{
	while (*o < n) {
		uint8_t l = b[*o];

		if ((l & 0xc0) == 0xc0) {
			*o += 2;
			return *o <= n ? 0 : -1;
		}
		if (l & 0xc0)
			return -1;
		(*o)++;
		if (!l)
			return 0;
		*o += l;
	}
	return -1;
}

/* checks the answer to the query q (qlen bytes); 0 and *a4 set, or -1 */
static int check_answer(struct qctx *c, const uint8_t *q, size_t qlen,
			const uint8_t *b, size_t n, struct in_addr *a4)
{
	size_t o = 12;
	unsigned an, i;

	if (n < 12 || b[0] != q[0] || b[1] != q[1]) {
		c->why = "wrong id";
		return -1;
	}
	if (!(b[2] & 0x80) || (b[3] & 0x0f) != 0) {
		c->why = "not an answer, or rcode not 0";
		return -1;
	}
	if (b[2] & 0x02) {
		c->why = "truncated";
		return -1;
	}
	if (b[4] != 0 || b[5] != 1 || n < qlen ||
	    memcmp(b + 12, q + 12, qlen - 12) != 0) {
		c->why = "question not echoed";
		return -1;
	}
	o = qlen;
	an = (unsigned)b[6] << 8 | b[7];
	for (i = 0; i < an; i++) {
		uint16_t type, rdlen;

		if (skip_name(b, n, &o) || o + 10 > n)
			break;
		type = (uint16_t)(b[o] << 8 | b[o + 1]);
		rdlen = (uint16_t)(b[o + 8] << 8 | b[o + 9]);
		o += 10;
		if (o + rdlen > n)
			break;
		if (type == 1 && rdlen == 4) {
			memcpy(a4, b + o, 4);
			if (c->have_net &&
			    (ntohl(a4->s_addr) & c->mask) != c->net) {
				c->why = "address outside the expected range";
				return -1;
			}
			return 0;
		}
		o += rdlen;
	}
	c->why = "no A record";
	return -1;
}

/* one query, timed; 0 and *ns, or -1 */
static int one_query(struct qctx *c, const char *name, uint64_t *ns)
{
	uint8_t q[512], b[4096];
	size_t ql;
	uint16_t id;
	uint64_t t0, deadline;
	struct in_addr a4;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)rand();
	ql = build_query(q, sizeof(q), id, name);
	if (!ql) {
		c->why = "name too long";
		return -1;
	}
	t0 = now_ns();
	deadline = t0 + (uint64_t)c->timeout_ms * 1000000ull;
	if ((c->unconnected ? sendto(c->fd, q, ql, 0, (void *)&c->srv, sizeof(c->srv)) :
			      send(c->fd, q, ql, 0)) != (ssize_t)ql) {
		c->why = strerror(errno);
		return -1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r;
		uint64_t t;

		/* blocking read first: the common case costs no poll */
		r = recvfrom(c->fd, b, sizeof(b), 0, (void *)&from, &fl);
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			c->why = strerror(errno);
			return -1;
		}
		t = now_ns();
		if (r >= 0) {
			if (c->unconnected &&
			    (from.sin_addr.s_addr != c->srv.sin_addr.s_addr ||
			     from.sin_port != c->srv.sin_port)) {
				c->why = "answer from another address";
				return -1;
			}
			if (r >= 2 && (b[0] != q[0] || b[1] != q[1]))
				continue; /* a late answer to an earlier query */
			if (check_answer(c, q, ql, b, (size_t)r, &a4))
				return -1;
			*ns = t - t0;
			if (!c->first[0])
				inet_ntop(AF_INET, &a4, c->first, sizeof(c->first));
			return 0;
		}
		if (t >= deadline) {
			c->why = "timeout";
			return -1;
		}
	}
}

static int query_main(int argc, char **argv)
{
	struct qctx c = { .timeout_ms = 1000 };
	long n = 1000, w = 20;
	const char *prefix = NULL, *suffix, *server;
	char pfx[32], name[256], hostbuf[64], *colon;
	struct timeval tv;
	uint64_t *v;
	size_t got, errors, total_err = 0;
	long i;
	int opt, series;

	while ((opt = getopt(argc, argv, "n:w:ut:e:p:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'w': w = atol(optarg); break;
		case 'u': c.unconnected = 1; break;
		case 't': c.timeout_ms = atoi(optarg); break;
		case 'p': prefix = optarg; break;
		case 'e': {
			char nb[64], *sl;
			struct in_addr a;
			int len;

			snprintf(nb, sizeof(nb), "%s", optarg);
			sl = strchr(nb, '/');
			len = sl ? atoi(sl + 1) : 32;
			if (sl)
				*sl = 0;
			if (inet_pton(AF_INET, nb, &a) != 1 || len < 0 || len > 32)
				goto usage;
			c.mask = len ? ~0u << (32 - len) : 0;
			c.net = ntohl(a.s_addr) & c.mask;
			c.have_net = 1;
			break;
		}
		default: goto usage;
		}
	}
	if (argc - optind != 2 || n < 1 || n > 1000000 || w < 0 || c.timeout_ms < 1)
		goto usage;
	server = argv[optind];
	suffix = argv[optind + 1];
	snprintf(hostbuf, sizeof(hostbuf), "%s", server);
	colon = strchr(hostbuf, ':');
	c.srv.sin_family = AF_INET;
	c.srv.sin_port = htons(colon ? (uint16_t)atoi(colon + 1) : 53);
	if (colon)
		*colon = 0;
	if (inet_pton(AF_INET, hostbuf, &c.srv.sin_addr) != 1)
		goto usage;
	if (!prefix) {
		/* names never asked before, even across runs */
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)getpid();
		snprintf(pfx, sizeof(pfx), "b%08x", r);
		prefix = pfx;
	}

	c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0) {
		perror("dnsq: socket");
		return 2;
	}
	/* the wait for an answer is bounded by this, then by the deadline */
	tv.tv_sec = c.timeout_ms / 1000;
	tv.tv_usec = (c.timeout_ms % 1000) * 1000;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!c.unconnected && connect(c.fd, (void *)&c.srv, sizeof(c.srv))) {
		perror("dnsq: connect");
		return 2;
	}
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 2;
	for (i = 0; i < w; i++) {
		uint64_t ns;

		snprintf(name, sizeof(name), "%s-w%ld.%s", prefix, i, suffix);
		if (one_query(&c, name, &ns))
			fprintf(stderr, "dnsq: warm-up %s: %s\n", name, c.why);
	}
	for (series = 0; series < 2; series++) {
		const char *why = NULL;

		got = errors = 0;
		c.first[0] = 0;
		for (i = 0; i < n; i++) {
			uint64_t ns;

			if (series == 0)
				snprintf(name, sizeof(name), "%s-d%ld.%s", prefix, i, suffix);
			else
				snprintf(name, sizeof(name), "%s-r.%s", prefix, suffix);
			if (one_query(&c, name, &ns)) {
				errors++;
				why = c.why;
				continue;
			}
			v[got++] = ns;
		}
		{
			char extra[96];

			snprintf(extra, sizeof(extra), " addr=%s", c.first[0] ? c.first : "-");
			report(series ? "repeated" : "distinct", v, got, errors, extra);
		}
		if (why)
			fprintf(stderr, "dnsq: %s: %zu errors, the last: %s\n",
				series ? "repeated" : "distinct", errors, why);
		total_err += errors;
	}
	fflush(stdout);
	return total_err ? 1 : 0;
usage:
	fprintf(stderr, "usage: dnsq query [-n N] [-w W] [-u] [-t MS] [-e NET/LEN] [-p PREFIX] SERVER[:PORT] SUFFIX\n");
	return 2;
}

/* ---- conn ---- */

static int conn_main(int argc, char **argv)
{
	double secs = 2;
	long max = 1000000;
	int family = AF_UNSPEC, opt, lookup_only = 0;
	const char *name, *port, *path;
	char req[512], buf[4096], first[INET6_ADDRSTRLEN] = "-";
	uint64_t *lat, *look, t_start, t_end;
	size_t n = 0, errors = 0;
	const char *why = NULL;

	while ((opt = getopt(argc, argv, "s:n:46L")) != -1) {
		switch (opt) {
		case 's': secs = atof(optarg); break;
		case 'n': max = atol(optarg); break;
		case '4': family = AF_INET; break;
		case '6': family = AF_INET6; break;
		case 'L': lookup_only = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind != 3 || secs <= 0 || secs > 600 || max < 1 || max > 10000000)
		goto usage;
	name = argv[optind];
	port = argv[optind + 1];
	path = argv[optind + 2];
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, name);
	lat = calloc((size_t)max, sizeof(*lat));
	look = calloc((size_t)max, sizeof(*look));
	if (!lat || !look)
		return 2;
	t_start = now_ns();
	t_end = t_start + (uint64_t)(secs * 1e9);
	while ((long)(n + errors) < max) {
		struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
		struct addrinfo *res = NULL, *ai;
		uint64_t t0 = now_ns(), t1;
		int fd = -1, rc, ok = 0;
		size_t got = 0;

		if (t0 >= t_end)
			break;
		rc = getaddrinfo(name, port, &hints, &res);
		t1 = now_ns();
		if (rc) {
			why = gai_strerror(rc);
			errors++;
			continue;
		}
		if (lookup_only) {
			ai = res;
			if (first[0] == '-')
				inet_ntop(ai->ai_family, ai->ai_family == AF_INET ?
					  (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
					  (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
					  first, sizeof(first));
			freeaddrinfo(res);
			look[n] = lat[n] = t1 - t0;
			n++;
			continue;
		}
		for (ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0)
				continue;
			if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
				break;
			why = strerror(errno);
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && first[0] == '-') {
			const void *a = ai->ai_family == AF_INET ?
				(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
				(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

			inet_ntop(ai->ai_family, a, first, sizeof(first));
		}
		freeaddrinfo(res);
		if (fd < 0) {
			errors++;
			continue;
		}
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
			for (;;) {
				ssize_t r = recv(fd, buf, sizeof(buf), 0);

				if (r > 0) {
					got += (size_t)r;
					continue;
				}
				if (r == 0 && got >= 12 && !memcmp(buf, "HTTP/1.", 7))
					ok = 1; /* the status line is in the first read */
				if (r < 0)
					why = strerror(errno);
				else if (!ok)
					why = "short or bad reply";
				break;
			}
		} else {
			why = strerror(errno);
		}
		close(fd);
		if (!ok) {
			errors++;
			continue;
		}
		look[n] = t1 - t0;
		lat[n] = now_ns() - t0;
		n++;
	}
	{
		double el = (double)(now_ns() - t_start) / 1e9;

		qsort(lat, n, sizeof(*lat), cmp_u64);
		qsort(look, n, sizeof(*look), cmp_u64);
		printf("n=%zu errors=%zu secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f lookup_p50_us=%.1f addr=%s\n",
		       n, errors, el, (double)n / el, pct_us(lat, n, 50),
		       pct_us(lat, n, 99), pct_us(look, n, 50), first);
	}
	if (why && errors)
		fprintf(stderr, "dnsq: conn: %zu errors, the last: %s\n", errors, why);
	fflush(stdout);
	return errors ? 1 : 0;
usage:
	fprintf(stderr, "usage: dnsq conn [-s SECS] [-n MAX] [-6|-4] [-L] NAME PORT PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "query"))
		return query_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "conn"))
		return conn_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: dnsq query|conn ... (see the source)\n");
	return 2;
}
