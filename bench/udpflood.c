// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * udpflood: small UDP datagrams as fast as one thread sends them, for
 * bench/packet.sh.
 *
 *	udpflood DST PORT SECONDS [SIZE] [CPU] [SNDBUF]
 *
 * sendmmsg() in batches of 64 to DST:PORT (IPv4) for SECONDS, SIZE bytes
 * of payload each (default 64), pinned to CPU when given (-1: not), with
 * a send buffer of SNDBUF bytes when given (packets held in a queue keep
 * theirs: a backlog of many needs a large one).  Prints the
 * number sent (ENOBUFS / EPERM -- a full or closed queue -- count as not
 * sent and back off briefly).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct mmsghdr m[BATCH];
	struct iovec iov;
	static char payload[1472];
	unsigned long sent = 0;
	struct timespec t0, t;
	double secs;
	size_t size = 64;
	int fd, i, n;

	if (argc < 4) {
		fprintf(stderr,
			"usage: udpflood DST PORT SECONDS [SIZE] [CPU] [SNDBUF]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return 2;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	secs = atof(argv[3]);
	if (argc > 4)
		size = (size_t)atoi(argv[4]);
	if (size > sizeof(payload))
		size = sizeof(payload);
	if (argc > 5 && atoi(argv[5]) >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[5]), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0 && argc > 6) {
		int sb = atoi(argv[6]);

		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("udpflood");
		return 1;
	}
	iov.iov_base = payload;
	iov.iov_len = size;
	memset(m, 0, sizeof(m));
	for (i = 0; i < BATCH; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (i = 0; i < 16; i++) {
			n = sendmmsg(fd, m, BATCH, 0);
			if (n > 0) {
				sent += (unsigned long)n;
			} else if (n < 0 && errno != EINTR) {
				/* the queue is full (fail-closed drops): back off */
				struct timespec ts = { 0, 20000 };

				nanosleep(&ts, NULL);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >=
		    secs)
			break;
	}
	printf("%lu\n", sent);
	return 0;
}
