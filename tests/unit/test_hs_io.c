// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_hs_io_step: a proxy handshake driven on a real (non-blocking) socket,
 * the far end of a socketpair playing the proxy.  What the relay and the
 * handoff rely on: only the reply's bytes are taken, the counts are the
 * handshake's, a short reply waits, and failures say whether the socket
 * or the proxy failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "nh_hs_io.h"

#define B(lit) lit, sizeof(lit) - 1

struct pair {
	int us, proxy;
	struct nh_proxy_hop hop;
	struct sockaddr_in target;
	struct nh_proxy_hs hs;
	struct nh_hs_io_count c;
};

/* socks5:// to 198.51.100.7:80, over a fresh socketpair */
static void pair_open(struct pair *p)
{
	int sv[2];
	char err[128];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->us = sv[0];
	p->proxy = sv[1];
	assert_int_equal(fcntl(p->us, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(nh_proxy_url_parse("socks5://192.0.2.10:1080", &p->hop,
					    err, sizeof(err)),
			 0);
	p->target.sin_family = AF_INET;
	p->target.sin_port = htons(80);
	inet_pton(AF_INET, "198.51.100.7", &p->target.sin_addr);
	nh_proxy_hs_init(&p->hs, &p->hop, (void *)&p->target, NULL, 0);
}

static void pair_close(struct pair *p)
{
	if (p->us >= 0)
		close(p->us);
	if (p->proxy >= 0)
		close(p->proxy);
}

static void proxy_says(struct pair *p, const void *b, size_t n)
{
	assert_int_equal(write(p->proxy, b, n), (ssize_t)n);
}

/* what the proxy has been sent, as hex */
static void proxy_got(struct pair *p, const char *want_hex)
{
	uint8_t buf[256];
	char hex[600] = "";
	ssize_t n = recv(p->proxy, buf, sizeof(buf), MSG_DONTWAIT);
	ssize_t i;

	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	assert_string_equal(hex, want_hex);
}

static int step(struct pair *p, bool *io)
{
	return nh_hs_io_step(p->us, &p->hs, &p->c, io, NULL);
}

/* the proxy takes no-auth: the step answers it and asks to connect */
static void greeted(struct pair *p, bool *io)
{
	proxy_says(p, B("\x05\x00"));
	assert_int_equal(step(p, io), 0);
}

/* The whole reply and the first bytes of the tunnel in one go: the step
 * takes the reply, the tunnel's bytes stay in the socket. */
static void test_reply_then_data(void **state)
{
	struct pair p;
	char rest[16] = "";
	bool io;

	(void)state;
	pair_open(&p);
	greeted(&p, &io);
	proxy_got(&p, "050100"
		      "050100"
		      "01c6336407"
		      "0050");
	proxy_says(&p, B("\x05\x00\x00\x01\xc0\x00\x02\x0a\x04\x38"
			 "SSH-2.0-x\r\n"));
	assert_int_equal(step(&p, &io), 1);
	assert_int_equal(p.c.out, 13);
	assert_int_equal(p.c.in, 12);
	assert_int_equal(read(p.us, rest, sizeof(rest) - 1), 11);
	assert_string_equal(rest, "SSH-2.0-x\r\n");
	pair_close(&p);
}

/* A reply that comes a byte at a time: each step waits, none takes more
 * than the reply. */
static void test_reply_in_pieces(void **state)
{
	static const uint8_t reply[] = {
		5, 0, 5, 0, 0, 1, 192, 0, 2, 10, 4, 56
	};
	struct pair p;
	size_t i;
	bool io;

	(void)state;
	pair_open(&p);
	for (i = 0; i < sizeof(reply); i++) {
		assert_int_equal(step(&p, &io), 0);
		proxy_says(&p, &reply[i], 1);
	}
	assert_int_equal(step(&p, &io), 1);
	assert_int_equal(p.c.in, sizeof(reply));
	pair_close(&p);
}

static void test_refused(void **state)
{
	struct pair p;
	bool io = true;

	(void)state;
	pair_open(&p);
	greeted(&p, &io);
	proxy_says(&p, B("\x05\x05\x00\x01\xc0\x00\x02\x0a\x04\x38"));
	assert_int_equal(step(&p, &io), -ECONNREFUSED);
	assert_false(io);
	assert_non_null(strstr(nh_proxy_hs_error(&p.hs), "0x05"));
	pair_close(&p);
}

static void test_closed_before_reply(void **state)
{
	struct pair p;
	bool io = true;

	(void)state;
	pair_open(&p);
	shutdown(p.proxy, SHUT_WR);
	assert_int_equal(step(&p, &io), -ECONNRESET);
	assert_false(io);
	pair_close(&p);
}

static void test_truncated(void **state)
{
	struct pair p;
	bool io = true;

	(void)state;
	pair_open(&p);
	greeted(&p, &io);
	proxy_says(&p, B("\x05\x00\x00"));
	shutdown(p.proxy, SHUT_WR);
	assert_int_equal(step(&p, &io), -EPROTO);
	assert_false(io);
	pair_close(&p);
}

/* The socket fails, not the proxy: io says so. */
static void test_socket_error(void **state)
{
	struct pair p;
	bool io = false;

	(void)state;
	pair_open(&p);
	close(p.proxy);
	p.proxy = -1;
	assert_int_equal(step(&p, &io), -EPIPE);
	assert_true(io);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_then_data),
		cmocka_unit_test(test_reply_in_pieces),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_closed_before_reply),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_socket_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
