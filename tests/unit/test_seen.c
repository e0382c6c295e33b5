// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_seen: addresses named by the DNS answers the scope receives
 * (NH_DNS_WATCH).  What the log relies on: an address is named by the
 * question's name, through CNAMEs, and by nothing the answer does not tie
 * to the question; the last answer wins; the table is bounded, least
 * recently used first out; a malformed or hostile answer names nothing
 * and breaks nothing.  The memory figures nh_seen.h states are printed
 * (TAP comments) and checked loosely.
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
#include <cmocka.h>
#include "nh_dns_msg.h"
#include "nh_seen.h"
#include "nh_test.h"

static struct nh_seen *mk(unsigned int max)
{
	struct nh_seen *t = NULL;

	assert_int_equal(nh_seen_new(max, &t), 0);
	assert_non_null(t);
	return t;
}

static void put(struct nh_seen *t, const char *ip, const char *name)
{
	struct sockaddr_storage ss = nh_test_sa(ip);

	assert_int_equal(nh_seen_put(t, (void *)&ss, name), 0);
}

/* the name of ip, or "" */
static const char *name_of(struct nh_seen *t, const char *ip)
{
	static char buf[NH_DNS_NAME_MAX];
	struct sockaddr_storage ss = nh_test_sa(ip);

	if (nh_seen_lookup(t, (void *)&ss, buf, sizeof(buf)))
		buf[0] = '\0';
	return buf;
}

/* ---- DNS messages written by hand: owners of any name, in any order */

struct msg {
	uint8_t b[1024];
	size_t n;
	size_t ancount_at;
};

static void put8(struct msg *m, unsigned int v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned int v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put_name(struct msg *m, const char *name)
{
	const char *p = name, *dot;

	while (*p) {
		dot = strchr(p, '.');
		if (!dot)
			dot = p + strlen(p);
		put8(m, (unsigned int)(dot - p));
		while (p < dot)
			put8(m, (unsigned char)*p++);
		if (*p)
			p++;
	}
	put8(m, 0);
}

/* a response with one question; records follow with rr_*() */
static void msg_start(struct msg *m, unsigned int rcode, const char *qname,
		      unsigned int qtype)
{
	memset(m, 0, sizeof(*m));
	put16(m, 0x1234);
	put16(m, NH_DNS_F_QR | NH_DNS_F_RD | NH_DNS_F_RA | rcode);
	put16(m, 1);
	m->ancount_at = m->n;
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, NH_DNS_C_IN);
}

static void rr_head(struct msg *m, const char *owner, unsigned int type,
		    unsigned int rdlen)
{
	unsigned int an = (unsigned int)m->b[m->ancount_at] << 8 |
			  m->b[m->ancount_at + 1];

	an++;
	m->b[m->ancount_at] = (uint8_t)(an >> 8);
	m->b[m->ancount_at + 1] = (uint8_t)an;
	put_name(m, owner);
	put16(m, type);
	put16(m, NH_DNS_C_IN);
	put16(m, 0);
	put16(m, 300);
	put16(m, rdlen);
}

static void rr_addr(struct msg *m, const char *owner, const char *ip)
{
	uint8_t a[16];
	int v6 = strchr(ip, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, a), 1);
	rr_head(m, owner, v6 ? NH_DNS_T_AAAA : NH_DNS_T_A, v6 ? 16 : 4);
	for (int i = 0; i < (v6 ? 16 : 4); i++)
		put8(m, a[i]);
}

static void rr_cname(struct msg *m, const char *owner, const char *target)
{
	size_t at;

	rr_head(m, owner, NH_DNS_T_CNAME, 0);
	at = m->n;
	put_name(m, target);
	m->b[at - 2] = (uint8_t)((m->n - at) >> 8);
	m->b[at - 1] = (uint8_t)(m->n - at);
}

static int answer(struct nh_seen *t, const struct msg *m)
{
	return nh_seen_answer(t, m->b, m->n);
}

/* ---- the table ---- */

static void test_put_lookup(void **state)
{
	struct nh_seen *t = mk(0);
	struct sockaddr_storage ss = nh_test_sa("::ffff:192.0.2.7");
	char small[4];

	(void)state;
	put(t, "192.0.2.7", "web.example");
	put(t, "2001:db8::7", "web6.example");
	assert_string_equal(name_of(t, "192.0.2.7"), "web.example");
	/* an IPv6 socket's v4-mapped destination is the IPv4 address */
	assert_string_equal(name_of(t, "::ffff:192.0.2.7"), "web.example");
	assert_string_equal(name_of(t, "2001:db8::7"), "web6.example");
	assert_string_equal(name_of(t, "192.0.2.8"), "");
	assert_int_equal(nh_seen_lookup(t, (void *)&ss, small, sizeof(small)),
			 -ENOBUFS);
	nh_seen_free(t);
	nh_seen_free(NULL);
}

static void test_last_wins(void **state)
{
	struct nh_seen *t = mk(0);
	unsigned int n;

	(void)state;
	put(t, "192.0.2.7", "a.example");
	put(t, "192.0.2.7", "a-much-longer-name.example");
	assert_string_equal(name_of(t, "192.0.2.7"),
			    "a-much-longer-name.example");
	put(t, "::ffff:192.0.2.7", "b.example");
	assert_string_equal(name_of(t, "192.0.2.7"), "b.example");
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 1);
	nh_seen_free(t);
}

static void test_lru(void **state)
{
	struct nh_seen *t = mk(4);
	unsigned int n;

	(void)state;
	put(t, "192.0.2.1", "one.example");
	put(t, "192.0.2.2", "two.example");
	put(t, "192.0.2.3", "three.example");
	put(t, "192.0.2.4", "four.example");
	/* a lookup is a use: one stays, two goes first */
	assert_string_equal(name_of(t, "192.0.2.1"), "one.example");
	put(t, "192.0.2.5", "five.example");
	assert_string_equal(name_of(t, "192.0.2.2"), "");
	assert_string_equal(name_of(t, "192.0.2.1"), "one.example");
	/* replacing a name held makes no room, and needs none */
	put(t, "192.0.2.5", "five-again.example");
	assert_string_equal(name_of(t, "192.0.2.3"), "three.example");
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 4);
	nh_seen_free(t);
}

static void test_bad_args(void **state)
{
	struct nh_seen *t = mk(0), *u = NULL;
	struct sockaddr_storage ss = nh_test_sa("192.0.2.1");
	struct sockaddr_storage un = { .ss_family = AF_UNIX };
	char name[NH_SEEN_NAME_MAX + 2], buf[300];

	(void)state;
	assert_int_equal(nh_seen_new(NH_SEEN_MAX + 1, &u), -EINVAL);
	assert_null(u);
	assert_int_equal(nh_seen_put(t, (void *)&ss, ""), -EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(nh_seen_put(t, (void *)&ss, name), -EINVAL);
	name[NH_SEEN_NAME_MAX] = '\0';
	assert_int_equal(nh_seen_put(t, (void *)&ss, name), 0);
	assert_int_equal(nh_seen_lookup(t, (void *)&ss, buf, sizeof(buf)), 0);
	assert_string_equal(buf, name);
	assert_int_equal(nh_seen_put(t, (void *)&un, "x.example"),
			 -EAFNOSUPPORT);
	assert_int_equal(nh_seen_lookup(t, (void *)&un, buf, sizeof(buf)),
			 -EAFNOSUPPORT);
	nh_seen_free(t);
}

/* ---- answers ---- */

static void test_answer_a_aaaa(void **state)
{
	struct nh_seen *t = mk(0);
	struct msg m;

	(void)state;
	msg_start(&m, 0, "Web.Example", NH_DNS_T_A);
	rr_addr(&m, "web.example", "192.0.2.7");
	rr_addr(&m, "WEB.example", "192.0.2.8");
	assert_int_equal(answer(t, &m), 2);
	/* names are lower-cased, as the walk hands them out */
	assert_string_equal(name_of(t, "192.0.2.7"), "web.example");
	assert_string_equal(name_of(t, "192.0.2.8"), "web.example");
	msg_start(&m, 0, "web.example", NH_DNS_T_AAAA);
	rr_addr(&m, "web.example", "2001:db8::7");
	assert_int_equal(answer(t, &m), 1);
	assert_string_equal(name_of(t, "2001:db8::7"), "web.example");
	nh_seen_free(t);
}

/* the address is named by the name the program asked for, whatever
 * order the chain's links come in */
static void test_answer_cname(void **state)
{
	struct nh_seen *t = mk(0);
	struct msg m;

	(void)state;
	msg_start(&m, 0, "www.example", NH_DNS_T_A);
	rr_addr(&m, "edge.cdn.example", "198.51.100.9");
	rr_cname(&m, "lb.example", "edge.cdn.example");
	rr_cname(&m, "www.example", "lb.example");
	assert_int_equal(answer(t, &m), 1);
	assert_string_equal(name_of(t, "198.51.100.9"), "www.example");
	nh_seen_free(t);
}

/* records the answer does not tie to its question name nothing */
static void test_answer_unrelated(void **state)
{
	struct nh_seen *t = mk(0);
	struct msg m;

	(void)state;
	msg_start(&m, 0, "evil.example", NH_DNS_T_A);
	rr_addr(&m, "bank.example", "192.0.2.66");
	rr_cname(&m, "other.example", "evil.example");
	rr_addr(&m, "other.example", "192.0.2.67");
	rr_addr(&m, "evil.example", "192.0.2.68");
	assert_int_equal(answer(t, &m), 1);
	assert_string_equal(name_of(t, "192.0.2.66"), "");
	assert_string_equal(name_of(t, "192.0.2.67"), "");
	assert_string_equal(name_of(t, "192.0.2.68"), "evil.example");
	nh_seen_free(t);
}

static void test_answer_not_taken(void **state)
{
	struct nh_seen *t = mk(0);
	struct msg m;
	unsigned int n;

	(void)state;
	/* NXDOMAIN, SERVFAIL: nothing, even with records */
	msg_start(&m, NH_DNS_R_NXDOMAIN, "web.example", NH_DNS_T_A);
	rr_addr(&m, "web.example", "192.0.2.7");
	assert_int_equal(answer(t, &m), 0);
	msg_start(&m, NH_DNS_R_SERVFAIL, "web.example", NH_DNS_T_A);
	rr_addr(&m, "web.example", "192.0.2.7");
	assert_int_equal(answer(t, &m), 0);
	/* a query (QR clear) is not an answer */
	msg_start(&m, 0, "web.example", NH_DNS_T_A);
	rr_addr(&m, "web.example", "192.0.2.7");
	m.b[2] &= (uint8_t) ~(NH_DNS_F_QR >> 8);
	assert_int_equal(answer(t, &m), -EINVAL);
	/* a loop of CNAMEs ends, and names nothing */
	msg_start(&m, 0, "a.example", NH_DNS_T_A);
	rr_cname(&m, "a.example", "b.example");
	rr_cname(&m, "b.example", "a.example");
	assert_int_equal(answer(t, &m), 0);
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 0);
	nh_seen_free(t);
}

/* a chain is followed 16 names deep: the question and 15 links */
static void test_answer_long_chain(void **state)
{
	struct nh_seen *t = mk(0);
	char from[32], to[32];
	struct msg m;
	int i;

	(void)state;
	for (int links = 15; links <= 16; links++) {
		msg_start(&m, 0, "c0.example", NH_DNS_T_A);
		for (i = 0; i < links; i++) {
			snprintf(from, sizeof(from), "c%d.example", i);
			snprintf(to, sizeof(to), "c%d.example", i + 1);
			rr_cname(&m, from, to);
		}
		rr_addr(&m, to, links == 15 ? "192.0.2.15" : "192.0.2.16");
		assert_int_equal(answer(t, &m), links == 15 ? 1 : 0);
	}
	assert_string_equal(name_of(t, "192.0.2.15"), "c0.example");
	assert_string_equal(name_of(t, "192.0.2.16"), "");
	nh_seen_free(t);
}

/* every cut of a good answer, and bytes flipped at random: no crash, and
 * nothing named but by an answer that reads whole */
static void test_answer_hostile(void **state)
{
	struct nh_seen *t = mk(0);
	struct msg m, bad;
	uint32_t x = 12345;
	unsigned int n;
	int r;

	(void)state;
	msg_start(&m, 0, "www.example", NH_DNS_T_A);
	rr_cname(&m, "www.example", "lb.example");
	rr_addr(&m, "lb.example", "192.0.2.7");
	for (size_t k = 0; k < m.n; k++)
		assert_true(nh_seen_answer(t, m.b, k) < 0);
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 0);
	for (int i = 0; i < 20000; i++) {
		bad = m;
		for (int j = 0; j < 1 + i % 4; j++) {
			x = x * 1103515245u + 12345u;
			bad.b[(x >> 8) % bad.n] = (uint8_t)(x >> 20);
		}
		r = answer(t, &bad);
		assert_true(r >= -EPROTO && r <= 1);
	}
	/* a forged answer that reads whole is another matter: see the
	 * README; these only ever name an address by a host name */
	nh_seen_free(t);
}

/* ---- memory, threads ---- */

static size_t fill(struct nh_seen *t, unsigned int n, size_t len)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	char name[NH_SEEN_NAME_MAX + 1];
	size_t bytes;

	memset(name, 'x', len);
	name[len] = '\0';
	for (unsigned int i = 0; i < n; i++) {
		s4.sin_addr.s_addr = htonl(0xc6330000u + i);
		assert_int_equal(nh_seen_put(t, (void *)&s4, name), 0);
	}
	nh_seen_stats(t, NULL, &bytes);
	return bytes;
}

static void test_stats(void **state)
{
	struct nh_seen *t = mk(0);
	size_t empty, b20, b253;
	unsigned int n;

	(void)state;
	nh_seen_stats(t, &n, &empty);
	assert_int_equal(n, 0);
	b20 = fill(t, 65536, 20);
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 65536);
	/* a 65,537th address drops the least recently used */
	fill(t, 65537, 20);
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 65536);
	nh_seen_free(t);
	t = mk(0);
	b253 = fill(t, 65536, 253);
	nh_seen_free(t);
	printf("# empty %zu B; 65,536 addresses, 20-byte names %zu B "
	       "(%.1f B each); 253-byte names %zu B (%.1f B each)\n",
	       empty, b20, (double)(b20 - empty) / 65536, b253,
	       (double)(b253 - empty) / 65536);
	assert_true(empty < 300 * 1024);
	assert_true(b20 < empty + 65536 * 96);
	assert_true(b253 < empty + 65536 * 336);
}

#define TH_N 4

static void *hammer(void *arg)
{
	struct nh_seen *t = arg;
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	char name[32], buf[64];
	int bad = 0;

	for (unsigned int i = 0; i < 20000; i++) {
		s4.sin_addr.s_addr = htonl(0xc0000200u + i % 300);
		snprintf(name, sizeof(name), "n%u.example", i % 300);
		if (nh_seen_put(t, (void *)&s4, name))
			bad++;
		if (!nh_seen_lookup(t, (void *)&s4, buf, sizeof(buf)) &&
		    strcmp(buf, name))
			bad++;
	}
	return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
	struct nh_seen *t = mk(256);
	pthread_t th[TH_N];
	unsigned int n;
	void *r;

	(void)state;
	for (int i = 0; i < TH_N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, t), 0);
	for (int i = 0; i < TH_N; i++) {
		assert_int_equal(pthread_join(th[i], &r), 0);
		assert_int_equal((intptr_t)r, 0);
	}
	nh_seen_stats(t, &n, NULL);
	assert_int_equal(n, 256);
	nh_seen_free(t);
}

int main(void)
{
	struct nh_tests ts = { 0 };

	nh_tests_add(&ts, test_put_lookup, NULL,
		     "put and lookup, v4-mapped is IPv4");
	nh_tests_add(&ts, test_last_wins, NULL, "the last name wins");
	nh_tests_add(&ts, test_lru, NULL, "bounded, least recently used out");
	nh_tests_add(&ts, test_bad_args, NULL, "bad arguments");
	nh_tests_add(&ts, test_answer_a_aaaa, NULL, "A and AAAA answers");
	nh_tests_add(&ts, test_answer_cname, NULL,
		     "through CNAMEs, named as asked");
	nh_tests_add(&ts, test_answer_unrelated, NULL,
		     "records not tied to the question name nothing");
	nh_tests_add(&ts, test_answer_not_taken, NULL,
		     "errors, queries, CNAME loops name nothing");
	nh_tests_add(&ts, test_answer_long_chain, NULL,
		     "a chain is followed 16 names deep");
	nh_tests_add(&ts, test_answer_hostile, NULL,
		     "cut and garbled answers: no crash");
	nh_tests_add(&ts, test_stats, NULL, "memory figures");
	nh_tests_add(&ts, test_threads, NULL, "4 threads");
	return nh_tests_run(&ts, "seen");
}
