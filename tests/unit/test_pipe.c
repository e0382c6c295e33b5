// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_pipe: what a proxy takes, learned by the probe, against scripted
 * SOCKS5 servers on loopback (a thread of this program): one that answers
 * the whole flight, one that stalls after the first reply (microsocks),
 * one that closes, one that tunnels to itself and relays the early bytes,
 * one that takes the flight but drops the early bytes.  Then the modes
 * ?pipeline= fixes, and a failure on a real connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "nh_pipe.h"
#include "nh_proxy.h"

enum fake_mode { F_REFUSE, F_STALL, F_CLOSE, F_TUNNEL, F_DROP };

struct fake {
	int lfd;
	uint16_t port;
	enum fake_mode mode;
	pthread_t th;
	size_t got; /* bytes of the flight read */
};

static void *fake_main(void *arg)
{
	static const uint8_t ok[] = { 5, 0, 0, 1, 127, 0, 0, 1, 0, 80 };
	static const uint8_t no[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 };
	struct fake *f = arg;
	uint8_t buf[256];
	ssize_t n;
	int c;

	c = accept(f->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	/* one recv: all of the flight, as it came in one segment */
	n = recv(c, buf, sizeof(buf), 0);
	f->got = n > 0 ? (size_t)n : 0;
	switch (f->mode) {
	case F_REFUSE:
		send(c, "\x05\x00", 2, 0);
		send(c, no, sizeof(no), 0);
		break;
	case F_STALL:
		/* answers the greeting, drops the rest, waits for more */
		send(c, "\x05\x00", 2, 0);
		recv(c, buf, sizeof(buf), 0);
		break;
	case F_CLOSE:
		break;
	case F_TUNNEL:
		send(c, "\x05\x00", 2, 0);
		send(c, ok, sizeof(ok), 0);
		/* the nested greeting, answered by "itself" */
		send(c, "\x05\x00", 2, 0);
		recv(c, buf, sizeof(buf), 0);
		break;
	case F_DROP:
		send(c, "\x05\x00", 2, 0);
		send(c, ok, sizeof(ok), 0);
		recv(c, buf, sizeof(buf), 0);
		break;
	}
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->mode = mode;
	f->got = 0;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (void *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (void *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	/* an accept() still waiting (no probe came) returns */
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
}

struct said {
	pthread_mutex_t lock;
	char last[512];
	int n;
};

static void log_cb(int level, const char *msg, void *user)
{
	struct said *s = user;

	(void)level;
	pthread_mutex_lock(&s->lock);
	snprintf(s->last, sizeof(s->last), "%s", msg);
	s->n++;
	pthread_mutex_unlock(&s->lock);
}

/* Wait (up to 5 s) until the probe has said what it learned. */
static void wait_said(struct said *s, int n)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, got;

	for (i = 0; i < 500; i++) {
		pthread_mutex_lock(&s->lock);
		got = s->n;
		pthread_mutex_unlock(&s->lock);
		if (got >= n)
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("the probe said nothing in 5 s");
}

static struct nh_proxy_hop hop_at(uint16_t port, const char *q)
{
	struct nh_proxy_hop hop;
	char url[128], err[256];

	snprintf(url, sizeof(url), "socks5://127.0.0.1:%u%s", port, q);
	if (nh_proxy_url_parse(url, &hop, err, sizeof(err)))
		fail_msg("%s: %s", url, err);
	return hop;
}

/* One probe of a scripted proxy: the mode learned, and what was said. */
static enum nh_pipe_mode learn(enum fake_mode mode, struct said *s)
{
	struct nh_logger lg = { log_cb, s };
	struct nh_proxy_hop hop;
	struct nh_pipe *p;
	enum nh_pipe_mode m;
	struct fake f;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	fake_start(&f, mode);
	hop = hop_at(f.port, "");
	p = nh_pipe_new(&hop, 1, 3000, &lg);
	assert_non_null(p);
	/* the first ask starts the probe and is answered stepwise */
	assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_STEPWISE);
	wait_said(s, 1);
	m = nh_pipe_mode(p, 0);
	nh_pipe_free(p);
	fake_stop(&f);
	/* greeting 3, CONNECT to 127.0.0.1 10, nested greeting 3: one
	 * segment */
	assert_int_equal(f.got, 16);
	return m;
}

static void test_learned(void **state)
{
	struct said s;

	(void)state;
	assert_int_equal(learn(F_REFUSE, &s), NH_PIPE_PIPELINED);
	assert_non_null(strstr(s.last, "would not tunnel to itself"));
	assert_int_equal(learn(F_STALL, &s), NH_PIPE_STEPWISE);
	assert_non_null(strstr(s.last, "stalls"));
	assert_int_equal(learn(F_CLOSE, &s), NH_PIPE_STEPWISE);
	assert_non_null(strstr(s.last, "one step per round trip"));
	assert_int_equal(learn(F_TUNNEL, &s), NH_PIPE_OPTIMISTIC);
	assert_non_null(strstr(s.last, "optimistic data"));
	assert_int_equal(learn(F_DROP, &s), NH_PIPE_PIPELINED);
	assert_non_null(strstr(s.last, "not relayed"));
}

static void test_fixed_and_failed(void **state)
{
	struct nh_proxy_hop hops[3];
	struct nh_logger lg;
	struct nh_pipe *p;
	struct said s;

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	lg = (struct nh_logger){ log_cb, &s };
	/* nothing listens there: no probe is made for on and off */
	hops[0] = hop_at(9, "?pipeline=on");
	hops[1] = hop_at(9, "?pipeline=off");
	hops[2] = hop_at(9, "?pipeline=on");
	p = nh_pipe_new(hops, 3, 1000, &lg);
	assert_non_null(p);
	assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_OPTIMISTIC);
	assert_int_equal(nh_pipe_mode(p, 1), NH_PIPE_STEPWISE);
	assert_int_equal(nh_pipe_mode(p, 3), NH_PIPE_STEPWISE);
	assert_int_equal(nh_pipe_mode(NULL, 0), NH_PIPE_STEPWISE);
	/* on is the user's word: a failure does not take it back */
	nh_pipe_failed(p, 0, NH_PIPE_OPTIMISTIC, "test");
	assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_OPTIMISTIC);
	assert_int_equal(s.n, 0);
	nh_pipe_free(p);
	nh_pipe_free(NULL);

	/* auto, learned optimistic, then a real failure: one step down,
	 * said once */
	{
		struct fake f;

		fake_start(&f, F_TUNNEL);
		hops[0] = hop_at(f.port, "");
		p = nh_pipe_new(hops, 1, 3000, &lg);
		nh_pipe_mode(p, 0);
		wait_said(&s, 1);
		fake_stop(&f);
		assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_OPTIMISTIC);
		nh_pipe_failed(p, 0, NH_PIPE_OPTIMISTIC, "it closed");
		assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_PIPELINED);
		assert_int_equal(s.n, 2);
		assert_non_null(strstr(s.last, "optimistic data off"));
		/* a second report of the same failure says nothing more */
		nh_pipe_failed(p, 0, NH_PIPE_OPTIMISTIC, "it closed");
		assert_int_equal(s.n, 2);
		nh_pipe_failed(p, 0, NH_PIPE_PIPELINED, "garbage");
		assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_STEPWISE);
		assert_int_equal(s.n, 3);
		nh_pipe_free(p);
	}

	/* learnt optimistic, then a flight without early bytes fails: the
	 * flight is what failed, so stepwise at once */
	{
		struct fake f;

		fake_start(&f, F_TUNNEL);
		hops[0] = hop_at(f.port, "");
		s.n = 0;
		p = nh_pipe_new(hops, 1, 3000, &lg);
		nh_pipe_mode(p, 0);
		wait_said(&s, 1);
		fake_stop(&f);
		assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_OPTIMISTIC);
		nh_pipe_failed(p, 0, NH_PIPE_PIPELINED, "it closed");
		assert_int_equal(nh_pipe_mode(p, 0), NH_PIPE_STEPWISE);
		assert_non_null(strstr(s.last, "pipelined handshakes off"));
		nh_pipe_free(p);
	}
}

/* Freed while the probe waits on a stalling proxy: it stops there. */
static void test_free_during_probe(void **state)
{
	struct nh_logger lg;
	struct nh_proxy_hop hop;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct nh_pipe *p;
	struct said s;
	struct fake f;

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	lg = (struct nh_logger){ log_cb, &s };
	fake_start(&f, F_STALL);
	hop = hop_at(f.port, "");
	p = nh_pipe_new(&hop, 1, 10000, &lg);
	nh_pipe_mode(p, 0);
	nanosleep(&ts, NULL);
	nh_pipe_free(p);
	fake_stop(&f);
	/* stopped, not waited out: a probe that ran to its end would have
	 * said "stalls" */
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learned),
		cmocka_unit_test(test_fixed_and_failed),
		cmocka_unit_test(test_free_during_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
