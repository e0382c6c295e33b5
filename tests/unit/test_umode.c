// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh_umode: user mode's sends and receives, served for a real program.
 * A child installs the very listener `nethook run` gives its command
 * (nh_user_listen(): no privilege needed), and this process serves its
 * notifications with nh_umode_notify(), as the handoff's thread does.
 * What a program must see: a DNS query to 192.0.2.53:53 reaches the
 * resolver (here a socket on 127.0.0.1) from the program's own port,
 * and its answer comes from 192.0.2.53:53, through sendto/recvfrom and
 * sendmsg/recvmsg; a datagram a rule blocks fails with that rule's
 * errno and is told once; one no rule takes goes as made; an
 * unconnected socket has no peer; an empty socket with MSG_DONTWAIT says
 * EAGAIN; a receive that waits is answered when the answer comes.  No
 * packet leaves loopback.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "nethook/nethook.h"
#include "nh_ev.h"
#include "nh_notif.h"
#include "nh_rule.h"
#include "nh_umode.h"
#include "nh_test.h"

static int blocks;

static void on_report(void *user, const struct nh_relay_report *r)
{
	(void)user;
	if (r->blocked && r->err == EPERM && r->proto == IPPROTO_UDP)
		blocks++;
}

static int udp_lo(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (void *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (void *)&a, &l), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct sockaddr_in sin4(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* "192.0.2.53:53" */
static const char *str(const struct sockaddr_in *a, char *buf, size_t len)
{
	char ip[32];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
	return buf;
}

/* The program: each step's outcome, one word each, up the pipe. */
static void program(int up, int res, uint16_t pass_port)
{
	struct sockaddr_in dns = sin4("192.0.2.53", 53), from;
	struct sockaddr_in far = sin4("203.0.113.9", 9);
	struct sockaddr_in pass = sin4("127.0.0.1", pass_port);
	char out[1024], buf[64], a[64];
	struct iovec iov[2] = { { "q", 1 }, { "2", 1 } }, riov = { buf, 8 };
	struct msghdr m = { 0 };
	socklen_t fl = sizeof(from);
	int lfd, s, n = 0;
	ssize_t r;

	lfd = nh_user_listen();
	if (write(up, &lfd, sizeof(lfd)) != sizeof(lfd) || lfd < 0)
		_exit(2);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	r = sendto(s, "q1", 2, 0, (void *)&dns, sizeof(dns));
	n += snprintf(out + n, sizeof(out) - (size_t)n, "sendto=%zd", r);
	memset(buf, 0, sizeof(buf));
	r = recvfrom(s, buf, sizeof(buf), 0, (void *)&from, &fl);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " recvfrom=%zd:%s:%s",
		      r, buf, str(&from, a, sizeof(a)));
	r = sendto(s, "x", 1, 0, (void *)&far, sizeof(far));
	n += snprintf(out + n, sizeof(out) - (size_t)n, " blocked=%s",
		      r < 0 ? strerrorname_np(errno) : "sent");
	r = sendto(s, "x", 1, 0, (void *)&far, sizeof(far));
	r = sendto(s, "p", 1, 0, (void *)&pass, sizeof(pass));
	n += snprintf(out + n, sizeof(out) - (size_t)n, " pass=%zd", r);
	fl = sizeof(from);
	r = getpeername(s, (void *)&from, &fl);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " peer=%s",
		      r < 0 ? strerrorname_np(errno) : "some");
	m.msg_name = &dns;
	m.msg_namelen = sizeof(dns);
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	r = sendmsg(s, &m, 0);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " sendmsg=%zd", r);
	memset(&m, 0, sizeof(m));
	memset(buf, 0, sizeof(buf));
	memset(&from, 0, sizeof(from));
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	m.msg_iov = &riov;
	m.msg_iovlen = 1;
	r = recvmsg(s, &m, 0);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " recvmsg=%zd:%s:%s:%u",
		      r, buf, str(&from, a, sizeof(a)), m.msg_namelen);
	r = recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, (void *)&from, &fl);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " empty=%s",
		      r < 0 ? strerrorname_np(errno) : "data");
	if (write(res, out, (size_t)n) != n)
		_exit(3);
	_exit(0);
}

static void test_sends_and_receives(void **state)
{
	struct nh_rule rb = { .sz = sizeof(rb),
			      .action = NH_RULE_BLOCK,
			      .match = "203.0.113.0/24",
			      .err = EPERM,
			      .protos = NH_RULE_UDP };
	struct nh_rule rd = { .sz = sizeof(rd),
			      .action = NH_RULE_DNS,
			      .match = "[::/0]:53" };
	struct nh_bpf_rule rules[2];
	struct nh_umode_opts o = { 0 };
	struct nh_notif_ans ans = { -1, NULL, 0 };
	struct seccomp_notif *q;
	struct nh_umode *u = NULL;
	uint16_t rport, pport, from_port = 0;
	int up[2], res[2], rfd, pfd, ep, fdnum = -1, pidfd, st = -1, got_q = 0;
	char got[1024] = "", buf[64];
	size_t req_sz;
	pid_t pid;
	time_t t0 = time(NULL);

	(void)state;
	assert_int_equal(nh_rule_compile(&rb, &rules[0]), 0);
	assert_int_equal(nh_rule_compile(&rd, &rules[1]), 0);
	rfd = udp_lo(&rport);
	pfd = udp_lo(&pport);
	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		program(up[1], res[1], pport);
	close(up[1]);
	close(res[1]);
	assert_int_equal(read(up[0], &fdnum, sizeof(fdnum)), sizeof(fdnum));
	if (fdnum < 0) {
		waitpid(pid, NULL, 0);
		skip(); /* no seccomp user notification here (Linux 5.19+) */
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ans.lfd = (int)syscall(SYS_pidfd_getfd, pidfd, fdnum, 0);
	assert_true(ans.lfd >= 0);
	assert_int_equal(nh_notif_sizes(&req_sz, &ans.resp_sz), 0);
	q = calloc(1, req_sz);
	ans.resp = calloc(1, ans.resp_sz);
	o.rules = rules;
	o.nrules = 2;
	o.dns4.family = 4;
	o.dns4.port = rport;
	o.dns4.addr[10] = o.dns4.addr[11] = 0xff;
	o.dns4.addr[12] = 127;
	o.dns4.addr[15] = 1;
	o.ep = ep;
	o.ans = &ans;
	o.report = on_report;
	assert_int_equal(nh_umode_new(&o, &u), 0);
	/* serve until the program is done, 10 s at most */
	while (waitpid(pid, &st, WNOHANG) == 0 && time(NULL) - t0 < 10) {
		struct pollfd pf[3] = { { ans.lfd, POLLIN, 0 },
					{ rfd, POLLIN, 0 },
					{ ep, POLLIN, 0 } };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct epoll_event ev;
		ssize_t n;

		if (poll(pf, 3, 100) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			memset(q, 0, req_sz);
			if (!ioctl(ans.lfd, SECCOMP_IOCTL_NOTIF_RECV, q))
				nh_umode_notify(u, q);
		}
		if (pf[1].revents & POLLIN) {
			/* the resolver: "q.." gets "a.." back */
			n = recvfrom(rfd, buf, sizeof(buf), 0, (void *)&from,
				     &fl);
			if (n > 0) {
				got_q++;
				from_port = ntohs(from.sin_port);
				buf[0] = 'a';
				sendto(rfd, buf, (size_t)n, 0, (void *)&from,
				       fl);
			}
		}
		if ((pf[2].revents & POLLIN) && epoll_wait(ep, &ev, 1, 0) == 1)
			nh_ev_run(&ev);
	}
	assert_true(read(res[0], got, sizeof(got) - 1) > 0);
	print_message("# %s\n", got);
	assert_string_equal(
		got,
		"sendto=2 recvfrom=2:a1:192.0.2.53:53 blocked=EPERM pass=1 peer=ENOTCONN sendmsg=2 recvmsg=2:a2:192.0.2.53:53:16 empty=EAGAIN");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* both queries from the program's one port; the refusal told once */
	assert_int_equal(got_q, 2);
	assert_true(from_port != 0 && from_port != rport);
	assert_int_equal(blocks, 1);
	/* the datagram no rule took went as made, from the same port */
	{
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);

		assert_int_equal(recvfrom(pfd, buf, sizeof(buf), MSG_DONTWAIT,
					  (void *)&from, &fl),
				 1);
		assert_int_equal(ntohs(from.sin_port), from_port);
	}
	nh_umode_free(u);
	free(q);
	free(ans.resp);
	close(ans.lfd);
	close(pidfd);
	close(ep);
	close(rfd);
	close(pfd);
	close(up[0]);
	close(res[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sends_and_receives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
