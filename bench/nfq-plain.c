// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nfq-plain: the baseline of bench/packet.sh -- the classic
 * libnetfilter_queue loop, one recv() and one verdict per packet.
 *
 *	nfq-plain QUEUE SECONDS [REWRITE_DST]
 *
 * Binds QUEUE (copy mode: whole packets), accepts every packet with
 * nfq_set_verdict(); with REWRITE_DST (IPv4), rewrites each IPv4
 * packet's destination to it (IP and UDP/TCP checksums updated) and
 * returns it with the verdict.  Exits after SECONDS; prints the number of
 * packets handled and the seconds from the first to the last of them.
 *
 * The loop is the canonical one: a blocking recv() (with a 100 ms
 * timeout, to see the deadline) and one verdict per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static unsigned long count;
static struct timespec first, last;
static int rewrite;
static uint32_t new_dst;

static void csum_fix(uint8_t *field, uint32_t old_w, uint32_t new_w)
{
	/* RFC 1624 for a 32-bit word */
	uint32_t s = (uint16_t) ~((field[0] << 8) | field[1]);

	s += (uint16_t) ~(old_w >> 16) + (uint16_t) ~(old_w & 0xffff);
	s += (new_w >> 16) + (new_w & 0xffff);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	field[0] = (uint8_t)(s >> 8);
	field[1] = (uint8_t)s;
}

static int cb(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg,
	      struct nfq_data *nfa, void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id = ph ? ntohl(ph->packet_id) : 0;
	unsigned char *p;
	int len;

	(void)nfmsg;
	(void)data;
	clock_gettime(CLOCK_MONOTONIC, &last);
	if (!count++)
		first = last;
	if (rewrite) {
		len = nfq_get_payload(nfa, &p);
		if (len >= 20 && (p[0] >> 4) == 4) {
			unsigned int ihl = (p[0] & 15u) * 4u;
			uint32_t od, nd;

			memcpy(&od, p + 16, 4);
			od = ntohl(od);
			nd = ntohl(new_dst);
			memcpy(p + 16, &new_dst, 4);
			csum_fix(p + 10, od, nd);
			if (p[9] == IPPROTO_UDP && (size_t)len >= ihl + 8 &&
			    (p[ihl + 6] | p[ihl + 7]))
				csum_fix(p + ihl + 6, od, nd);
			else if (p[9] == IPPROTO_TCP && (size_t)len >= ihl + 20)
				csum_fix(p + ihl + 16, od, nd);
			return nfq_set_verdict(qh, id, NF_ACCEPT, (uint32_t)len,
					       p);
		}
	}
	return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
}

int main(int argc, char **argv)
{
	static char buf[65536 + 4096] __attribute__((aligned));
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	struct timeval tv = { 0, 100000 };
	struct timespec t0, t;
	int fd, rv, sz = 16 << 20;
	double secs;

	if (argc < 3) {
		fprintf(stderr,
			"usage: nfq-plain QUEUE SECONDS [REWRITE_DST]\n");
		return 2;
	}
	secs = atof(argv[2]);
	if (argc > 3) {
		rewrite = 1;
		if (inet_pton(AF_INET, argv[3], &new_dst) != 1)
			return 2;
	}
	h = nfq_open();
	if (!h || nfq_bind_pf(h, AF_INET) < 0) {
		perror("nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)atoi(argv[1]), cb, NULL);
	if (!qh || nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		perror("nfq_create_queue");
		return 1;
	}
	nfq_set_queue_maxlen(qh, 16384);
	fd = nfq_fd(h);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >=
		    secs)
			break;
		rv = (int)recv(fd, buf, sizeof(buf), 0);
		if (rv < 0) {
			if (errno == ENOBUFS || errno == EAGAIN ||
			    errno == EINTR)
				continue;
			break;
		}
		nfq_handle_packet(h, buf, rv);
	}
	nfq_destroy_queue(qh);
	nfq_close(h);
	printf("%lu %.6f\n", count,
	       (double)(last.tv_sec - first.tv_sec) +
		       (double)(last.tv_nsec - first.tv_nsec) / 1e9);
	return 0;
}
