// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Delay, loss and rate decisions: a seeded PRNG for loss and jitter, a
 * token bucket (GCRA) with a bounded FIFO for the rate.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "shape.h"

struct nh_shape {
	struct nh_shape_opts o;
	uint64_t rng[2];
	uint64_t tat_ns; /* theoretical arrival time of the next packet */
	uint64_t tau_ns; /* the burst, as time at the rate */
	uint64_t last_release_ns;
	struct nh_shape_stats st;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift128+ */
static uint64_t rng_next(struct nh_shape *s)
{
	uint64_t a = s->rng[0], b = s->rng[1];

	s->rng[0] = b;
	a ^= a << 23;
	s->rng[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return s->rng[1] + b;
}

/* uniform in [0, n) */
static uint64_t rng_below(struct nh_shape *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

/* time to send len bytes at the rate, ns */
static uint64_t xmit_ns(const struct nh_shape *s, uint64_t len)
{
	return (uint64_t)((unsigned __int128)len * 8 * 1000000000ull /
			  s->o.rate_bps);
}

struct nh_shape *nh_shape_new(const struct nh_shape_opts *opts)
{
	struct nh_shape *s;
	uint64_t x, bytes_s;

	if (!opts || (opts->sz && opts->sz < sizeof(*opts)) ||
	    opts->loss_ppm > 1000000) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->o = *opts;
	x = opts->seed;
	s->rng[0] = splitmix64(&x);
	s->rng[1] = splitmix64(&x);
	if (s->o.rate_bps) {
		bytes_s = s->o.rate_bps / 8;
		if (!s->o.burst_bytes)
			s->o.burst_bytes =
				(uint32_t)(bytes_s / 100 > 1514 ?
						   (bytes_s / 100 > UINT32_MAX ?
							    UINT32_MAX :
							    bytes_s / 100) :
						   1514);
		if (!s->o.limit_bytes)
			s->o.limit_bytes =
				(uint32_t)(bytes_s / 5 > 16 * 1514 ?
						   (bytes_s / 5 > UINT32_MAX ?
							    UINT32_MAX :
							    bytes_s / 5) :
						   16 * 1514);
		s->tau_ns = xmit_ns(s, s->o.burst_bytes);
	}
	return s;
}

void nh_shape_free(struct nh_shape *s)
{
	free(s);
}

void nh_shape_stats(const struct nh_shape *s, struct nh_shape_stats *st)
{
	if (s && st)
		*st = s->st;
}

int nh_shape_decide(struct nh_shape *s, uint64_t now, size_t len,
		    uint64_t *release_ns)
{
	uint64_t rel = now, t, backlog;
	int64_t d;

	if (!s || !release_ns)
		return -EINVAL;
	if (s->o.loss_ppm && rng_below(s, 1000000) < s->o.loss_ppm) {
		s->st.lost++;
		return NH_SHAPE_LOSS;
	}
	if (s->o.rate_bps) {
		/* bytes queued ahead of this packet: time until the bucket
		 * has drained what is ahead, at the rate */
		t = s->tat_ns > now ? s->tat_ns - now : 0;
		t = t > s->tau_ns ? t - s->tau_ns : 0;
		backlog = (uint64_t)((unsigned __int128)t * s->o.rate_bps /
				     8000000000ull);
		if (backlog && backlog + len > s->o.limit_bytes) {
			s->st.overlimit++;
			return NH_SHAPE_OVERLIMIT;
		}
		/* it leaves once the bucket holds its bytes: when its own
		 * finish time is within the burst */
		s->tat_ns =
			(s->tat_ns > now ? s->tat_ns : now) + xmit_ns(s, len);
		if (s->tat_ns > now + s->tau_ns)
			rel = s->tat_ns - s->tau_ns;
	}
	if (s->o.delay_us || s->o.jitter_us) {
		d = (int64_t)s->o.delay_us * 1000;
		if (s->o.jitter_us)
			d += ((int64_t)rng_below(
				      s, 2 * (uint64_t)s->o.jitter_us + 1) -
			      (int64_t)s->o.jitter_us) *
			     1000;
		if (d > 0)
			rel += (uint64_t)d;
	}
	if (!s->o.reorder && rel < s->last_release_ns)
		rel = s->last_release_ns;
	s->last_release_ns = rel;
	s->st.passed++;
	*release_ns = rel;
	return NH_SHAPE_PASS;
}

/* ---- parsing ---- */

/* digits [. digits]; *end past them; -EINVAL when there are none */
static int parse_num(const char *s, double *v, const char **end)
{
	const char *p = s;
	char buf[64];
	size_t n;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	n = (size_t)(p - s);
	if (n >= sizeof(buf))
		return -ERANGE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	*end = p;
	return 0;
}

static const struct {
	const char *unit;
	double mult; /* to bits per second */
} rate_units[] = {
	{ "", 1 },
	{ "bit", 1 },
	{ "kbit", 1e3 },
	{ "mbit", 1e6 },
	{ "gbit", 1e9 },
	{ "tbit", 1e12 },
	{ "kibit", 1024.0 },
	{ "mibit", 1048576.0 },
	{ "gibit", 1073741824.0 },
	{ "tibit", 1099511627776.0 },
	{ "bps", 8 },
	{ "kbps", 8e3 },
	{ "mbps", 8e6 },
	{ "gbps", 8e9 },
	{ "tbps", 8e12 },
	{ "kibps", 8 * 1024.0 },
	{ "mibps", 8 * 1048576.0 },
	{ "gibps", 8 * 1073741824.0 },
	{ "tibps", 8 * 1099511627776.0 },
};

int nh_shape_parse_rate(const char *s, uint64_t *bits_per_s)
{
	const char *end;
	double v;
	size_t i;
	int r;

	if (!s || !bits_per_s)
		return -EINVAL;
	r = parse_num(s, &v, &end);
	if (r)
		return r;
	for (i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++) {
		if (strcasecmp(end, rate_units[i].unit))
			continue;
		v = v * rate_units[i].mult + 0.5;
		if (v > 1e15)
			return -ERANGE;
		if (v < 1)
			return -EINVAL;
		*bits_per_s = (uint64_t)v;
		return 0;
	}
	return -EINVAL;
}

/* milliseconds, an optional "ms", into microseconds; *end past them */
static int parse_ms(const char *s, uint32_t *us, const char **end)
{
	double v;
	int r;

	r = parse_num(s, &v, end);
	if (r)
		return r;
	if (!strncasecmp(*end, "ms", 2))
		*end += 2;
	if (v > 3600000)
		return -ERANGE;
	*us = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

int nh_shape_parse_delay(const char *s, uint32_t *delay_us, uint32_t *jitter_us)
{
	const char *end;
	uint32_t d, j = 0;
	int r;

	if (!s || !delay_us || !jitter_us)
		return -EINVAL;
	r = parse_ms(s, &d, &end);
	if (r)
		return r;
	if (*end == ':') {
		r = parse_ms(end + 1, &j, &end);
		if (r)
			return r;
	}
	if (*end)
		return -EINVAL;
	*delay_us = d;
	*jitter_us = j;
	return 0;
}

int nh_shape_parse_loss(const char *s, uint32_t *ppm)
{
	const char *end;
	double v;
	int r;

	if (!s || !ppm)
		return -EINVAL;
	r = parse_num(s, &v, &end);
	if (r)
		return r;
	if (*end == '%')
		end++;
	if (*end)
		return -EINVAL;
	if (v > 100)
		return -ERANGE;
	*ppm = (uint32_t)(v * 10000 + 0.5);
	return 0;
}
