// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Delay, loss and rate decisions and their parsers (src/cli/shape.c). */
#include <errno.h>
#include "nh_test.h"
#include "shape.h"

struct rate_case {
	const char *in;
	int err;
	uint64_t bps;
};

/* clang-format off */
static const struct rate_case rate_cases[] = {
	{ "10mbit", 0, 10000000 },
	{ "512kbit", 0, 512000 },
	{ "1gbit", 0, 1000000000 },
	{ "1Gbit", 0, 1000000000 },
	{ "2tbit", 0, 2000000000000ull },
	{ "100", 0, 100 },
	{ "100bit", 0, 100 },
	{ "1.5mbit", 0, 1500000 },
	{ "1kibit", 0, 1024 },
	{ "1mibit", 0, 1048576 },
	{ "1bps", 0, 8 },
	{ "100kbps", 0, 800000 },
	{ "2mbps", 0, 16000000 },
	{ "1gbps", 0, 8000000000ull },
	{ "1kibps", 0, 8192 },
	{ "0", -EINVAL, 0 },
	{ "0mbit", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "mbit", -EINVAL, 0 },
	{ "10 mbit", -EINVAL, 0 },
	{ " 10mbit", -EINVAL, 0 },
	{ "10mbits", -EINVAL, 0 },
	{ "10xbit", -EINVAL, 0 },
	{ "-10mbit", -EINVAL, 0 },
	{ "1e6", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1.mbit", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },
	{ "2000tbit", -ERANGE, 0 },
};

struct delay_case {
	const char *in;
	int err;
	uint32_t d, j;
};

static const struct delay_case delay_cases[] = {
	{ "100", 0, 100000, 0 },
	{ "100:20", 0, 100000, 20000 },
	{ "100ms", 0, 100000, 0 },
	{ "100ms:20ms", 0, 100000, 20000 },
	{ "2.5:0.5", 0, 2500, 500 },
	{ "0", 0, 0, 0 },
	{ "0:10", 0, 0, 10000 },
	{ "", -EINVAL, 0, 0 },
	{ ":20", -EINVAL, 0, 0 },
	{ "100:", -EINVAL, 0, 0 },
	{ "100:20:3", -EINVAL, 0, 0 },
	{ "100s", -EINVAL, 0, 0 },
	{ "-5", -EINVAL, 0, 0 },
	{ "abc", -EINVAL, 0, 0 },
	{ "3600001", -ERANGE, 0, 0 },
};

struct loss_case {
	const char *in;
	int err;
	uint32_t ppm;
};

static const struct loss_case loss_cases[] = {
	{ "5", 0, 50000 },
	{ "5%", 0, 50000 },
	{ "0.25%", 0, 2500 },
	{ "100%", 0, 1000000 },
	{ "0", 0, 0 },
	{ "0.0001", 0, 1 },
	{ "", -EINVAL, 0 },
	{ "%", -EINVAL, 0 },
	{ "5%%", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "five", -EINVAL, 0 },
	{ "5 %", -EINVAL, 0 },
	{ "100.1", -ERANGE, 0 },
};
/* clang-format on */

static void test_rate(void **state)
{
	const struct rate_case *c = *state;
	uint64_t v = 7;

	assert_int_equal(nh_shape_parse_rate(c->in, &v), c->err);
	if (!c->err)
		assert_int_equal(v, c->bps);
	else
		assert_int_equal(v, 7);
}

static void test_delay(void **state)
{
	const struct delay_case *c = *state;
	uint32_t d = 7, j = 7;

	assert_int_equal(nh_shape_parse_delay(c->in, &d, &j), c->err);
	if (!c->err) {
		assert_int_equal(d, c->d);
		assert_int_equal(j, c->j);
	}
}

static void test_loss(void **state)
{
	const struct loss_case *c = *state;
	uint32_t v = 7;

	assert_int_equal(nh_shape_parse_loss(c->in, &v), c->err);
	if (!c->err)
		assert_int_equal(v, c->ppm);
}

static void test_parse_null(void **state)
{
	uint64_t r;
	uint32_t a, b;

	(void)state;
	assert_int_equal(nh_shape_parse_rate(NULL, &r), -EINVAL);
	assert_int_equal(nh_shape_parse_delay(NULL, &a, &b), -EINVAL);
	assert_int_equal(nh_shape_parse_loss(NULL, &a), -EINVAL);
}

/* the share of losses over 100k draws is near the percentage */
static void test_loss_share(void **state)
{
	static const uint32_t ppm[] = { 10000, 50000, 250000, 1000000 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ppm) / sizeof(ppm[0]); k++) {
		struct nh_shape_opts o = { .sz = sizeof(o),
					   .loss_ppm = ppm[k],
					   .seed = 42 };
		struct nh_shape *s = nh_shape_new(&o);
		struct nh_shape_stats st;
		uint64_t rel;
		int i, lost = 0, r;
		double share, want = ppm[k] / 1e6;

		assert_non_null(s);
		for (i = 0; i < 100000; i++) {
			r = nh_shape_decide(s, (uint64_t)i * 1000, 100, &rel);
			assert_true(r == NH_SHAPE_PASS || r == NH_SHAPE_LOSS);
			lost += r == NH_SHAPE_LOSS;
			if (r == NH_SHAPE_PASS)
				assert_int_equal(rel, (uint64_t)i * 1000);
		}
		share = lost / 100000.0;
		assert_true(share > want - 0.005 && share < want + 0.005);
		nh_shape_stats(s, &st);
		assert_int_equal(st.lost, lost);
		assert_int_equal(st.passed, 100000 - lost);
		nh_shape_free(s);
	}
}

/* the same seed, the same draws */
static void test_seed_repeatable(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o),
				   .loss_ppm = 300000,
				   .delay_us = 10000,
				   .jitter_us = 5000,
				   .reorder = 1,
				   .seed = 7 };
	struct nh_shape *a = nh_shape_new(&o), *b = nh_shape_new(&o);
	uint64_t ra, rb;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(nh_shape_decide(a, 0, 10, &ra),
				 nh_shape_decide(b, 0, 10, &rb));
		assert_int_equal(ra, rb);
	}
	nh_shape_free(a);
	nh_shape_free(b);
}

/* 1500-byte packets offered at twice the rate: released at ~the rate,
 * the queue bounded (drops beyond it) */
static void test_rate_release(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o), .rate_bps = 10000000 };
	struct nh_shape *s = nh_shape_new(&o);
	struct nh_shape_stats st;
	uint64_t now = 1000000000ull, rel, first = 0, last = 0, prev = 0;
	uint64_t bytes = 0, gap = 1500ull * 8 * 1000000000ull / 20000000;
	int i, r, passed = 0;
	double rate;

	(void)state;
	for (i = 0; i < 20000; i++, now += gap) {
		r = nh_shape_decide(s, now, 1500, &rel);
		assert_true(r == NH_SHAPE_PASS || r == NH_SHAPE_OVERLIMIT);
		if (r != NH_SHAPE_PASS)
			continue;
		assert_true(rel >= now);
		assert_true(rel >= prev);
		/* never more than ~200 ms queued */
		assert_true(rel - now <= 210000000ull);
		prev = rel;
		if (!passed++)
			first = rel;
		else
			bytes += 1500;
		last = rel;
	}
	rate = bytes * 8.0 / ((last - first) / 1e9);
	assert_true(rate > 9.9e6 && rate < 10.1e6);
	nh_shape_stats(s, &st);
	assert_true(st.overlimit > 5000); /* about half */
	assert_int_equal(st.passed, passed);
	nh_shape_free(s);
}

/* below the rate: no waiting at all */
static void test_rate_under(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o), .rate_bps = 10000000 };
	struct nh_shape *s = nh_shape_new(&o);
	uint64_t now = 0, rel;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++, now += 2000000) { /* 1500 B / 2 ms */
		assert_int_equal(nh_shape_decide(s, now, 1500, &rel),
				 NH_SHAPE_PASS);
		assert_int_equal(rel, now);
	}
	nh_shape_free(s);
}

/* a burst within the bucket goes at once; the rest is spaced */
static void test_rate_burst(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o),
				   .rate_bps = 8000000,
				   .burst_bytes = 3000 };
	struct nh_shape *s = nh_shape_new(&o);
	uint64_t rel[6];
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_int_equal(nh_shape_decide(s, 1000, 1000, &rel[i]),
				 NH_SHAPE_PASS);
	/* 1000 B at 1 MB/s = 1 ms each; 3000 B of burst */
	assert_int_equal(rel[0], 1000);
	assert_int_equal(rel[2], 1000);
	assert_int_equal(rel[3], 1000 + 1000000);
	assert_int_equal(rel[5], 1000 + 3000000);
	nh_shape_free(s);
}

static void test_delay_order(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o),
				   .delay_us = 100000,
				   .jitter_us = 20000,
				   .seed = 1 };
	struct nh_shape *s = nh_shape_new(&o);
	uint64_t now = 0, rel, prev = 0, min = UINT64_MAX, max = 0;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++, now += 100000) {
		assert_int_equal(nh_shape_decide(s, now, 100, &rel),
				 NH_SHAPE_PASS);
		assert_true(rel >= prev); /* order kept */
		assert_true(rel >= now + 80000000ull);
		prev = rel;
	}
	nh_shape_free(s);

	/* with reorder: the delay itself spans [80, 120] ms, uniformly */
	o.reorder = 1;
	s = nh_shape_new(&o);
	for (i = 0, now = 0; i < 10000; i++, now += 100000) {
		nh_shape_decide(s, now, 100, &rel);
		if (rel - now < min)
			min = rel - now;
		if (rel - now > max)
			max = rel - now;
	}
	assert_true(min >= 80000000ull && min < 80100000ull);
	assert_true(max <= 120000000ull && max > 119900000ull);
	nh_shape_free(s);

	/* a plain delay */
	o.jitter_us = 0;
	s = nh_shape_new(&o);
	assert_int_equal(nh_shape_decide(s, 5, 100, &rel), NH_SHAPE_PASS);
	assert_int_equal(rel, 5 + 100000000ull);
	nh_shape_free(s);
}

static void test_bad_opts(void **state)
{
	struct nh_shape_opts o = { .sz = sizeof(o), .loss_ppm = 1000001 };
	uint64_t rel;

	(void)state;
	errno = 0;
	assert_null(nh_shape_new(&o));
	assert_int_equal(errno, EINVAL);
	assert_null(nh_shape_new(NULL));
	assert_int_equal(nh_shape_decide(NULL, 0, 1, &rel), -EINVAL);
	nh_shape_free(NULL);
}

int main(void)
{
	struct nh_tests ts = { 0 };
	size_t i;

	for (i = 0; i < sizeof(rate_cases) / sizeof(rate_cases[0]); i++)
		nh_tests_add(&ts, test_rate, (void *)&rate_cases[i], "rate %s",
			     nh_q(rate_cases[i].in));
	for (i = 0; i < sizeof(delay_cases) / sizeof(delay_cases[0]); i++)
		nh_tests_add(&ts, test_delay, (void *)&delay_cases[i],
			     "delay %s", nh_q(delay_cases[i].in));
	for (i = 0; i < sizeof(loss_cases) / sizeof(loss_cases[0]); i++)
		nh_tests_add(&ts, test_loss, (void *)&loss_cases[i], "loss %s",
			     nh_q(loss_cases[i].in));
	nh_tests_add(&ts, test_parse_null, NULL, "parsers: NULL");
	nh_tests_add(&ts, test_loss_share, NULL, "loss share over 100k draws");
	nh_tests_add(&ts, test_seed_repeatable, NULL, "same seed, same draws");
	nh_tests_add(&ts, test_rate_release, NULL,
		     "rate: release times give the rate, queue bounded");
	nh_tests_add(&ts, test_rate_under, NULL, "rate: under it, no wait");
	nh_tests_add(&ts, test_rate_burst, NULL, "rate: burst then spacing");
	nh_tests_add(&ts, test_delay_order, NULL, "delay: jitter range, order");
	nh_tests_add(&ts, test_bad_opts, NULL, "bad options");
	return nh_tests_run(&ts, "shape");
}
