// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_ratelim: what an outsider can make nethook say (the relay's refusals
 * of connections it did not divert) is said at most `burst` times a
 * period, and the rest is counted, never lost: said + counted = asked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "nh_base.h"
#include "nh_log.h"

#define SEC 1000000000ull

static struct nh_ratelim fresh(void)
{
	struct nh_ratelim rl = { .burst = 10, .period_ns = SEC };

	return rl;
}

/* a burst is said, the rest of the period counted */
static void test_burst_then_quiet(void **state)
{
	struct nh_ratelim rl = fresh();
	uint64_t t = 5 * SEC, span;
	int i, said = 0;

	(void)state;
	assert_int_equal(nh_ratelim_flush(&rl, t, false, &span), 0);
	for (i = 0; i < 1000; i++)
		said += nh_ratelim_take(&rl, t + (uint64_t)i * 1000);
	assert_int_equal(said, 10);
	/* the period lasts: nothing to say yet */
	assert_int_equal(nh_ratelim_flush(&rl, t + SEC / 2, false, &span), 0);
	assert_int_equal(nh_ratelim_flush(&rl, t + SEC + 7, false, &span), 990);
	assert_true(span == SEC + 7);
	/* a new period: a new burst */
	assert_true(nh_ratelim_take(&rl, t + SEC + 8));
}

/* a port scan over many periods: every one said or counted */
static void test_scan_accounts_for_all(void **state)
{
	struct nh_ratelim rl = fresh();
	uint64_t t = SEC, span;
	unsigned int said = 0, quiet = 0, lines = 0, i;

	(void)state;
	for (i = 0; i < 28026; i++) {
		unsigned int q;

		t += SEC / 14000; /* 28,026 in 2 s, as under the scan */
		q = nh_ratelim_flush(&rl, t, false, &span);
		quiet += q;
		lines += q > 0;
		if (nh_ratelim_take(&rl, t)) {
			said++;
			lines++;
		}
	}
	quiet += nh_ratelim_flush(&rl, t, true, &span);
	lines++;
	assert_int_equal(said + quiet, 28026);
	/* about 3 periods: 10 lines each and a count */
	assert_true(lines <= 4 * 11);
}

/* nothing kept quiet: a period over needs no line, and is renewed */
static void test_quiet_period_renews(void **state)
{
	struct nh_ratelim rl = fresh();
	uint64_t span;
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		assert_true(nh_ratelim_take(&rl, SEC));
	/* a period later, with nothing kept quiet, a take renews it */
	for (i = 0; i < 10; i++)
		assert_true(nh_ratelim_take(&rl, 3 * SEC));
	assert_false(nh_ratelim_take(&rl, 3 * SEC));
	assert_int_equal(nh_ratelim_flush(&rl, 3 * SEC, true, &span), 1);
	assert_true(span == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_quiet),
		cmocka_unit_test(test_scan_accounts_for_all),
		cmocka_unit_test(test_quiet_period_renews),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
