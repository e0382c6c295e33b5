// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_names: the resolver's table of names and pool addresses.  What the
 * resolver and the relay rely on: a name's A and AAAA share one index and
 * keep it, an address maps back to its name, a referenced address is never
 * given to another name, the least recently used go first, the unused
 * expire, and only pool addresses are ever claimed.  The last cases print
 * the memory figures nh_names.h states and the cost of a call (TAP
 * comments, not asserted).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "nh_names.h"
#include "nh_test.h"

static struct nh_names *mk(unsigned int max, unsigned int ttl)
{
	struct nh_names *t = NULL;

	assert_int_equal(nh_names_new(max, ttl, &t), 0);
	assert_non_null(t);
	return t;
}

static const char *ip_of(const struct sockaddr_storage *ss)
{
	static char bufs[4][INET6_ADDRSTRLEN];
	static int k;
	char *b = bufs[k++ % 4];

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
			  b, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)ss)->sin6_addr, b,
			  INET6_ADDRSTRLEN);
	return b;
}

/* name's address as text */
static const char *addr(struct nh_names *t, const char *name, int family,
			uint64_t now)
{
	struct sockaddr_storage ss;

	assert_int_equal(nh_names_addr(t, name, family, now, &ss), 0);
	return ip_of(&ss);
}

/* nh_names_lookup() of ip (as text) into buf[254] */
static int lookup(struct nh_names *t, const char *ip, bool ref, uint64_t now,
		  char *buf)
{
	struct sockaddr_storage ss = nh_test_sa(ip);

	return nh_names_lookup(t, (struct sockaddr *)&ss, ref, now, buf, 254);
}

static void assert_names(struct nh_names *t, const char *ip, uint64_t now,
			 const char *want)
{
	char buf[254];

	assert_int_equal(lookup(t, ip, false, now, buf), 0);
	assert_string_equal(buf, want);
}

static void put(struct nh_names *t, const char *ip)
{
	struct sockaddr_storage ss = nh_test_sa(ip);

	nh_names_put(t, (struct sockaddr *)&ss);
}

/* A and AAAA of a name share the index, and read alike */
static void test_families_share_index(void **state)
{
	struct nh_names *t = mk(0, 0);

	(void)state;
	assert_string_equal(addr(t, "example.com", AF_INET, 1), "198.18.0.1");
	assert_string_equal(addr(t, "example.com", AF_INET6, 1), "100::c612:1");
	assert_string_equal(addr(t, "example.org", AF_INET6, 1), "100::c612:2");
	assert_string_equal(addr(t, "example.org", AF_INET, 1), "198.18.0.2");
	assert_names(t, "198.18.0.1", 1, "example.com");
	assert_names(t, "100::c612:1", 1, "example.com");
	assert_names(t, "100::c612:2", 1, "example.org");
	nh_names_free(t);
}

/* a name keeps its address; another name gets another */
static void test_same_name_same_addr(void **state)
{
	struct nh_names *t = mk(0, 0);
	char a[64];

	(void)state;
	snprintf(a, sizeof(a), "%s", addr(t, "a.test", AF_INET, 1));
	assert_string_equal(addr(t, "a.test", AF_INET, 2), a);
	assert_string_not_equal(addr(t, "b.test", AF_INET, 3), a);
	assert_string_equal(addr(t, "a.test", AF_INET, 4), a);
	/* byte for byte: the caller lower-cases */
	assert_string_not_equal(addr(t, "A.test", AF_INET, 5), a);
	nh_names_free(t);
}

/* 10,000 names in a row: all distinct, all round-trip, both ways */
static void test_ten_thousand(void **state)
{
	struct nh_names *t = mk(0, 0);
	struct sockaddr_storage ss, ss6;
	unsigned int i, n;
	char name[64], buf[254];

	(void)state;
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host-%u.example.net", i);
		assert_int_equal(nh_names_addr(t, name, AF_INET, 7, &ss), 0);
		assert_int_equal(
			ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr),
			0xc6120000u + i + 1);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host-%u.example.net", i);
		assert_int_equal(nh_names_addr(t, name, AF_INET6, 8, &ss6), 0);
		assert_int_equal(nh_names_lookup(t, (struct sockaddr *)&ss6,
						 false, 8, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, name);
		assert_int_equal(nh_names_addr(t, name, AF_INET, 8, &ss), 0);
		assert_int_equal(nh_names_lookup(t, (struct sockaddr *)&ss,
						 false, 8, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, name);
	}
	nh_names_stats(t, &n, NULL);
	assert_int_equal(n, 10000);
	nh_names_free(t);
}

/* full: the least recently used (by nh_names_addr) goes, its index reused */
static void test_lru_order(void **state)
{
	struct nh_names *t = mk(3, 0);
	unsigned int n;

	(void)state;
	assert_string_equal(addr(t, "a", AF_INET, 1), "198.18.0.1");
	assert_string_equal(addr(t, "b", AF_INET, 2), "198.18.0.2");
	assert_string_equal(addr(t, "c", AF_INET, 3), "198.18.0.3");
	assert_string_equal(addr(t, "a", AF_INET, 4), "198.18.0.1");
	/* b is the oldest now */
	assert_string_equal(addr(t, "d", AF_INET, 5), "198.18.0.2");
	assert_names(t, "198.18.0.2", 5, "d");
	/* then c, then a */
	assert_string_equal(addr(t, "e", AF_INET, 6), "198.18.0.3");
	assert_string_equal(addr(t, "f", AF_INET, 7), "198.18.0.1");
	/* b went: it comes back at the oldest's index (d's) */
	assert_string_equal(addr(t, "b", AF_INET, 8), "198.18.0.2");
	assert_names(t, "198.18.0.3", 8, "e");
	assert_names(t, "198.18.0.1", 8, "f");
	/* a lookup without a reference is no use: e stays the oldest */
	assert_names(t, "198.18.0.3", 9, "e");
	assert_string_equal(addr(t, "g", AF_INET, 10), "198.18.0.3");
	nh_names_stats(t, &n, NULL);
	assert_int_equal(n, 3);
	nh_names_free(t);
}

/* referenced entries are never evicted; all referenced: -ENOSPC */
static void test_refs_pin(void **state)
{
	struct nh_names *t = mk(2, 0);
	struct sockaddr_storage ss;
	char buf[254];

	(void)state;
	assert_string_equal(addr(t, "a", AF_INET, 1), "198.18.0.1");
	assert_string_equal(addr(t, "b", AF_INET, 2), "198.18.0.2");
	assert_int_equal(lookup(t, "198.18.0.1", true, 3, buf), 0);
	assert_string_equal(buf, "a");
	/* a is older by nh_names_addr, but held: b goes */
	assert_string_equal(addr(t, "c", AF_INET, 4), "198.18.0.2");
	/* two references on c, through either family */
	assert_int_equal(lookup(t, "100::c612:2", true, 5, buf), 0);
	assert_int_equal(lookup(t, "198.18.0.2", true, 5, buf), 0);
	assert_string_equal(buf, "c");
	assert_int_equal(nh_names_addr(t, "d", AF_INET, 6, &ss), -ENOSPC);
	/* a name held still answers, held or not */
	assert_string_equal(addr(t, "a", AF_INET6, 6), "100::c612:1");
	put(t, "198.18.0.2");
	assert_int_equal(nh_names_addr(t, "d", AF_INET, 7, &ss), -ENOSPC);
	put(t, "100::c612:2");
	/* a put more than taken is nothing */
	put(t, "198.18.0.2");
	assert_string_equal(addr(t, "d", AF_INET, 8), "198.18.0.2");
	assert_names(t, "198.18.0.1", 8, "a");
	/* a once released is the one to go (d was used since) */
	put(t, "198.18.0.1");
	assert_string_equal(addr(t, "d", AF_INET, 9), "198.18.0.2");
	assert_string_equal(addr(t, "e", AF_INET, 10), "198.18.0.1");
	nh_names_free(t);
}

/* a referenced name outlives its ttl; the ttl runs from the release */
static void test_ref_holds_past_ttl(void **state)
{
	struct nh_names *t = mk(0, 10);
	char buf[254];

	(void)state;
	addr(t, "a", AF_INET, 100);
	assert_int_equal(lookup(t, "198.18.0.1", true, 105, buf), 0);
	assert_names(t, "198.18.0.1", 1000, "a");
	/* released: the table's latest clock is 105 */
	put(t, "198.18.0.1");
	assert_names(t, "198.18.0.1", 114, "a");
	assert_int_equal(lookup(t, "198.18.0.1", false, 115, buf), -ENOENT);
	nh_names_free(t);
}

/* the unused expire; their indexes are reused only after fresh ones */
static void test_expiry(void **state)
{
	struct nh_names *t = mk(4, 10);
	unsigned int n;
	char buf[254];

	(void)state;
	addr(t, "a", AF_INET, 100);
	addr(t, "b", AF_INET, 104);
	assert_names(t, "198.18.0.1", 109, "a");
	assert_int_equal(lookup(t, "198.18.0.1", false, 110, buf), -ENOENT);
	assert_int_equal(lookup(t, "198.18.0.1", true, 110, buf), -ENOENT);
	assert_names(t, "198.18.0.2", 113, "b");
	/* expired but not reused: asked again, the same address */
	assert_string_equal(addr(t, "a", AF_INET, 112), "198.18.0.1");
	assert_names(t, "198.18.0.1", 120, "a");
	/* a new name drops the expired (b) and takes a fresh index */
	assert_string_equal(addr(t, "c", AF_INET, 121), "198.18.0.3");
	nh_names_stats(t, &n, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(lookup(t, "198.18.0.2", false, 121, buf), -ENOENT);
	assert_string_equal(addr(t, "d", AF_INET, 121), "198.18.0.4");
	/* fresh ones used up: the expired index next, not the LRU a */
	assert_string_equal(addr(t, "e", AF_INET, 121), "198.18.0.2");
	assert_names(t, "198.18.0.1", 121, "a");
	/* all expired: dropped a few a call, oldest index first */
	assert_string_equal(addr(t, "f", AF_INET, 200), "198.18.0.1");
	nh_names_stats(t, &n, NULL);
	assert_int_equal(n, 1);
	assert_string_equal(addr(t, "g", AF_INET, 200), "198.18.0.3");
	assert_string_equal(addr(t, "h", AF_INET, 200), "198.18.0.4");
	assert_string_equal(addr(t, "i", AF_INET, 200), "198.18.0.2");
	nh_names_free(t);
}

/* v4-mapped IPv6 is the IPv4 address */
static void test_v4_mapped(void **state)
{
	struct nh_names *t = mk(0, 0);
	char buf[254];

	(void)state;
	addr(t, "a", AF_INET, 1);
	addr(t, "b", AF_INET6, 1);
	assert_names(t, "::ffff:198.18.0.1", 1, "a");
	assert_names(t, "::ffff:198.18.0.2", 1, "b");
	assert_int_equal(lookup(t, "::ffff:198.18.0.3", false, 1, buf),
			 -ENOENT);
	assert_int_equal(lookup(t, "::ffff:10.0.0.1", false, 1, buf),
			 -EADDRNOTAVAIL);
	/* a reference through the mapped form, dropped through the plain */
	assert_int_equal(lookup(t, "::ffff:198.18.0.1", true, 1, buf), 0);
	put(t, "198.18.0.1");
	nh_names_free(t);
}

struct lk_case {
	const char *ip;
	int want;
};

/* what is not ours, and what is ours but has no name */
static void test_lookup_errors(void **state)
{
	static const struct lk_case c[] = {
		{ "10.0.0.1", -EADDRNOTAVAIL },
		{ "198.17.255.255", -EADDRNOTAVAIL },
		{ "198.20.0.0", -EADDRNOTAVAIL },
		{ "2001:db8::1", -EADDRNOTAVAIL },
		{ "100:0:0:1::c612:1", -EADDRNOTAVAIL },
		{ "::198.18.0.1", -EADDRNOTAVAIL },
		{ "64:ff9b::c612:1", -EADDRNOTAVAIL },
		{ "198.18.0.0", -ENOENT },
		{ "198.18.0.2", -ENOENT },
		{ "198.19.255.254", -ENOENT },
		{ "198.19.255.255", -ENOENT },
		{ "100::", -ENOENT },
		{ "100::1", -ENOENT },
		{ "100::1:c612:1", -ENOENT },
		{ "100::c613:ffff", -ENOENT },
	};
	struct nh_names *t = mk(0, 0);
	struct sockaddr_storage ss;
	char buf[254];
	size_t i;

	(void)state;
	addr(t, "a", AF_INET, 1);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (lookup(t, c[i].ip, false, 1, buf) != c[i].want)
			fail_msg("%s: %d, want %d", c[i].ip,
				 lookup(t, c[i].ip, false, 1, buf), c[i].want);
		/* a put of these is nothing */
		put(t, c[i].ip);
	}
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(nh_names_lookup(t, (struct sockaddr *)&ss, false, 1,
					 buf, sizeof(buf)),
			 -EADDRNOTAVAIL);
	nh_names_put(t, (struct sockaddr *)&ss);
	assert_false(nh_names_in_pool((struct sockaddr *)&ss));
	/* a buffer too small for the name */
	ss = nh_test_sa("198.18.0.1");
	assert_int_equal(nh_names_lookup(t, (struct sockaddr *)&ss, false, 1,
					 buf, 1),
			 -ENOBUFS);
	assert_int_equal(nh_names_lookup(t, (struct sockaddr *)&ss, false, 1,
					 buf, 2),
			 0);
	assert_string_equal(buf, "a");
	nh_names_free(t);
}

/* the pools' edges, no table needed */
static void test_in_pool(void **state)
{
	static const struct {
		const char *ip;
		bool in;
	} c[] = {
		{ "198.17.255.255", false },
		{ "198.18.0.0", true },
		{ "198.18.0.1", true },
		{ "198.19.255.255", true },
		{ "198.20.0.0", false },
		{ "0.0.0.0", false },
		{ "255.255.255.255", false },
		{ "100::", true },
		{ "100::1", true },
		{ "100::ffff:ffff:ffff:ffff", true },
		{ "100:0:0:1::1", false },
		{ "100:0:0:1::c612:1", false },
		{ "ff::c612:1", false },
		{ "101::c612:1", false },
		{ "::ffff:198.18.0.1", true },
		{ "::ffff:198.19.255.255", true },
		{ "::ffff:198.17.255.255", false },
		{ "::ffff:198.20.0.0", false },
		{ "::198.18.0.1", false },
		{ "::1", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sockaddr_storage ss = nh_test_sa(c[i].ip);

		if (nh_names_in_pool((struct sockaddr *)&ss) != c[i].in)
			fail_msg("%s: want %s", c[i].ip,
				 c[i].in ? "in" : "out");
	}
}

/* arguments: names' lengths, families, capacity */
static void test_bad_args(void **state)
{
	struct nh_names *t = NULL;
	struct sockaddr_storage ss;
	char name[300];

	(void)state;
	assert_int_equal(nh_names_new(NH_NAMES_MAX + 1, 0, &t), -EINVAL);
	assert_null(t);
	nh_names_free(NULL);
	t = mk(NH_NAMES_MAX, 0);
	assert_int_equal(nh_names_addr(t, "", AF_INET, 1, &ss), -EINVAL);
	memset(name, 'x', sizeof(name));
	name[254] = '\0';
	assert_int_equal(nh_names_addr(t, name, AF_INET, 1, &ss), -EINVAL);
	name[253] = '\0';
	assert_int_equal(nh_names_addr(t, name, AF_INET, 1, &ss), 0);
	assert_names(t, "198.18.0.1", 1, name);
	assert_int_equal(nh_names_addr(t, "a", AF_UNIX, 1, &ss), -EAFNOSUPPORT);
	assert_int_equal(nh_names_addr(t, "a", AF_UNSPEC, 1, &ss),
			 -EAFNOSUPPORT);
	nh_names_free(t);
}

/* the largest table reaches 198.19.255.254 and no further */
static void test_full_range(void **state)
{
	struct nh_names *t = mk(NH_NAMES_MAX, 0);
	struct sockaddr_storage ss;
	unsigned int i;
	char name[32];

	(void)state;
	for (i = 1; i <= NH_NAMES_MAX; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(nh_names_addr(t, name, AF_INET, 1, &ss), 0);
	}
	assert_string_equal(ip_of(&ss), "198.19.255.254");
	assert_string_equal(addr(t, name, AF_INET6, 1), "100::c613:fffe");
	/* the next evicts n1, at 198.18.0.1 */
	assert_string_equal(addr(t, "one.more", AF_INET, 2), "198.18.0.1");
	nh_names_free(t);
}

static size_t fill_table(struct nh_names *t, unsigned int n, size_t len,
			 unsigned int *entries)
{
	struct sockaddr_storage ss;
	char name[NH_NAMES_NAME_MAX + 1];
	unsigned int i;
	size_t bytes;

	char num[16];

	memset(name, 'x', len);
	name[len] = '\0';
	for (i = 0; i < n; i++) {
		/* distinct names of exactly len (>= 8) bytes */
		snprintf(num, sizeof(num), "%08u", i);
		memcpy(name, num, 8);
		assert_int_equal(nh_names_addr(t, name, AF_INET, 1, &ss), 0);
	}
	nh_names_stats(t, entries, &bytes);
	return bytes;
}

/* what the table takes: the figures nh_names.h states */
static void test_stats(void **state)
{
	struct nh_names *t;
	unsigned int n;
	size_t empty, b20, b253, b;

	(void)state;
	t = mk(0, 10);
	nh_names_stats(t, &n, &empty);
	assert_int_equal(n, 0);
	assert_true(empty >= 65536 * 4 && empty < 300 * 1024);
	nh_names_stats(t, NULL, NULL);
	b20 = fill_table(t, 65536, 20, &n);
	assert_int_equal(n, 65536);
	assert_true(b20 > empty + 65536 * (40 + 21));
	/* names that expire are dropped by the new ones; memory follows */
	addr(t, "late.example", AF_INET, 100);
	nh_names_stats(t, &n, &b);
	assert_true(n < 65536 && b < b20);
	nh_names_free(t);

	t = mk(0, 0);
	b253 = fill_table(t, 65536, 253, &n);
	assert_int_equal(n, 65536);
	assert_true(b253 > 65536 * 254);
	nh_names_free(t);

	printf("# nh_names memory, max 65536: empty %zu B (%.2f MiB), "
	       "65536 x 20-byte names %zu B (%.1f MiB), "
	       "65536 x 253-byte names %zu B (%.1f MiB)\n",
	       empty, empty / 1048576.0, b20, b20 / 1048576.0, b253,
	       b253 / 1048576.0);
}

/*
 * Four threads at once: the resolver's addr, the relay's lookup with a
 * reference and put, in a table small enough to evict all the time.  A
 * referenced address must keep its name throughout.
 */
#define TH_N 4
#define TH_ITER 20000
#define TH_NAMES 600
#define TH_MAX 256

struct th_arg {
	struct nh_names *t;
	unsigned int seed;
	unsigned int nospc;
	int bad;
};

static void *hammer(void *p)
{
	struct th_arg *a = p;
	struct sockaddr_storage ss, again;
	char name[32], buf[254];
	unsigned int i, x = a->seed;
	int r;

	for (i = 0; i < TH_ITER; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(name, sizeof(name), "t%u.example",
			 (x >> 8) % TH_NAMES);
		r = nh_names_addr(a->t, name, (x & 1) ? AF_INET6 : AF_INET,
				  i / 1000, &ss);
		if (r == -ENOSPC) {
			a->nospc++;
			continue;
		}
		if (r) {
			a->bad++;
			break;
		}
		r = nh_names_lookup(a->t, (struct sockaddr *)&ss, true,
				    i / 1000, buf, sizeof(buf));
		if (r == -ENOENT)
			continue; /* reused meanwhile: inherent */
		if (r) {
			a->bad++;
			break;
		}
		/* held: its name keeps this address */
		if (nh_names_addr(a->t, buf, ss.ss_family, i / 1000, &again) ||
		    memcmp(&again, &ss, sizeof(ss)))
			a->bad++;
		nh_names_put(a->t, (struct sockaddr *)&ss);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct nh_names *t = mk(TH_MAX, 5);
	struct th_arg a[TH_N];
	pthread_t th[TH_N];
	struct sockaddr_storage ss;
	char name[32];
	unsigned int i, n;

	(void)state;
	for (i = 0; i < TH_N; i++) {
		a[i] = (struct th_arg){ .t = t, .seed = i * 7919u + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &a[i]),
				 0);
	}
	for (i = 0; i < TH_N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(a[i].bad, 0);
		/* 4 references at most at once, in a table of 256 */
		assert_int_equal(a[i].nospc, 0);
	}
	/* every reference was put: a whole table of new names fits */
	for (i = 0; i < TH_MAX; i++) {
		snprintf(name, sizeof(name), "after%u", i);
		assert_int_equal(nh_names_addr(t, name, AF_INET, 100, &ss), 0);
	}
	nh_names_stats(t, &n, NULL);
	assert_int_equal(n, TH_MAX);
	nh_names_free(t);
}

static uint64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The cost of a call, median over batches of 100 (100,000 calls): a name
 * held, a new name in a full table (one eviction each), and a lookup.
 */
#define BENCH_BATCH 100
#define BENCH_BATCHES 1000
#define BENCH_NAMES 4096

static char bench_names[2 * BENCH_NAMES][40];

static double bench(struct nh_names *t, int what)
{
	static uint64_t per[BENCH_BATCHES];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_storage ss;
	unsigned int b, k, j = 0;
	char buf[254];
	uint64_t t0;
	int r = 0;

	for (b = 0; b < BENCH_BATCHES; b++) {
		t0 = ns_now();
		for (k = 0; k < BENCH_BATCH; k++, j++) {
			if (what == 0) {
				r |= nh_names_addr(t,
						   bench_names[j % BENCH_NAMES],
						   AF_INET, 1, &ss);
			} else if (what == 1) {
				/* two sets by turns: every call is new */
				r |= nh_names_addr(
					t, bench_names[j % (2 * BENCH_NAMES)],
					AF_INET, 1, &ss);
			} else {
				sin.sin_addr.s_addr =
					htonl(0xc6120001u + j % BENCH_NAMES);
				r |= nh_names_lookup(t, (struct sockaddr *)&sin,
						     false, 1, buf,
						     sizeof(buf));
			}
		}
		per[b] = ns_now() - t0;
	}
	assert_int_equal(r, 0);
	qsort(per, BENCH_BATCHES, sizeof(per[0]), cmp_u64);
	return (double)per[BENCH_BATCHES / 2] / BENCH_BATCH;
}

static void test_bench(void **state)
{
	struct nh_names *t = mk(BENCH_NAMES, 0);
	struct sockaddr_storage ss;
	double hit, miss, lk;
	unsigned int i;

	(void)state;
	for (i = 0; i < 2 * BENCH_NAMES; i++)
		snprintf(bench_names[i], sizeof(bench_names[i]),
			 "cdn-%u.static.example.com", i);
	for (i = 0; i < BENCH_NAMES; i++)
		assert_int_equal(
			nh_names_addr(t, bench_names[i], AF_INET, 1, &ss), 0);
	hit = bench(t, 0);
	lk = bench(t, 2);
	miss = bench(t, 1);
	nh_names_free(t);
	printf("# nh_names cost, median of %u x %u calls: addr (held) %.0f "
	       "ns, addr (new, evicting) %.0f ns, lookup %.0f ns\n",
	       BENCH_BATCHES, BENCH_BATCH, hit, miss, lk);
}

int main(void)
{
	struct nh_tests ts = { 0 };

	nh_tests_add(&ts, test_families_share_index, NULL,
		     "A and AAAA share an index");
	nh_tests_add(&ts, test_same_name_same_addr, NULL,
		     "same name, same address");
	nh_tests_add(&ts, test_ten_thousand, NULL, "10000 names round-trip");
	nh_tests_add(&ts, test_lru_order, NULL, "LRU eviction order");
	nh_tests_add(&ts, test_refs_pin, NULL,
		     "references pin; all referenced: ENOSPC");
	nh_tests_add(&ts, test_ref_holds_past_ttl, NULL,
		     "a reference outlives the ttl");
	nh_tests_add(&ts, test_expiry, NULL, "expiry, fresh indexes first");
	nh_tests_add(&ts, test_v4_mapped, NULL, "v4-mapped lookup");
	nh_tests_add(&ts, test_lookup_errors, NULL,
		     "not ours: EADDRNOTAVAIL; ours unnamed: ENOENT");
	nh_tests_add(&ts, test_in_pool, NULL, "pool edges");
	nh_tests_add(&ts, test_bad_args, NULL, "bad arguments");
	nh_tests_add(&ts, test_full_range, NULL, "131070 names, no further");
	nh_tests_add(&ts, test_stats, NULL, "memory figures");
	nh_tests_add(&ts, test_threads, NULL, "4 threads");
	nh_tests_add(&ts, test_bench, NULL, "cost of a call");
	return nh_tests_run(&ts, "names");
}
