/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Small helpers shared by the unit tests: a growing list of cmocka tests,
 * one per row of a table, each with its own name, so that every case is
 * one "ok N - name" line in the TAP output.
 */
#ifndef NH_TEST_H
#define NH_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct nh_tests {
	struct CMUnitTest *v;
	size_t n;
	size_t cap;
};

/*
 * A test name safe for a TAP line: no control characters (a newline would
 * end the line) and no '#' (that starts a TAP directive such as SKIP).
 */
static inline void nh_test_clean_name(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '#')
			*s = '?';
	}
}

static inline void nh_tests_add(struct nh_tests *ts, CMUnitTestFunction fn,
				void *state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void nh_tests_add(struct nh_tests *ts, CMUnitTestFunction fn,
				void *state, const char *fmt, ...)
{
	va_list ap;
	char *name;

	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? 2 * ts->cap : 64;
		ts->v = realloc(ts->v, ts->cap * sizeof(*ts->v));
		if (!ts->v)
			abort();
	}
	va_start(ap, fmt);
	if (vasprintf(&name, fmt, ap) < 0)
		abort();
	va_end(ap);
	nh_test_clean_name(name);
	memset(&ts->v[ts->n], 0, sizeof(ts->v[ts->n]));
	ts->v[ts->n].name = name;
	ts->v[ts->n].test_func = fn;
	ts->v[ts->n].initial_state = state;
	ts->n++;
}

/* Runs them all; the count of failures, so main() can return it. */
static inline int nh_tests_run(struct nh_tests *ts, const char *group)
{
	size_t i;
	int r;

	r = _cmocka_run_group_tests(group, ts->v, ts->n, NULL, NULL);
	for (i = 0; i < ts->n; i++)
		free((char *)ts->v[i].name);
	free(ts->v);
	ts->v = NULL;
	ts->n = ts->cap = 0;
	return r ? 1 : 0;
}

/*
 * A C-escaped rendering of s for a test name, "(null)" for NULL.  Uses one
 * of a few rotating static buffers, so several fit in one printf.
 */
static inline const char *nh_q(const char *s)
{
	static char bufs[4][160];
	static int k;
	char *b = bufs[k++ % 4], *p = b;
	size_t left = sizeof(bufs[0]) - 8;

	if (!s)
		return "(null)";
	*p++ = '"';
	for (; *s && left > 4; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
			left -= 2;
		} else if (c < 0x20 || c >= 0x7f || c == '#') {
			p += sprintf(p, "\\x%02x", c);
			left -= 4;
		} else {
			*p++ = (char)c;
			left--;
		}
	}
	if (*s) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p++ = '"';
	*p = '\0';
	return b;
}

/* An address (no port) for a test: IPv4 or IPv6 text; fails the test
 * on anything else. */
static inline struct sockaddr_storage nh_test_sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			fail_msg("bad test address %s", ip);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			fail_msg("bad test address %s", ip);
	}
	return ss;
}

#endif /* NH_TEST_H */
