// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-socks: the sockets a program could reach the network with, other
 * than the TCP and UDP ones nethook hooks at connect()/sendmsg().
 *
 *   nh-socks list             every (family, type, protocol) socket()
 *                             accepts: "FAMILY TYPE PROTOCOL" lines
 *   nh-socks try              for each such line on stdin:
 *                             "FAMILY TYPE PROTOCOL ok|errno=NAME"
 *   nh-socks raw-icmp DST     ICMP echo request from a raw socket
 *   nh-socks raw-tcp SRC DST PORT  TCP SYN built by hand (SOCK_RAW,
 *                             IPPROTO_TCP), from SRC port 40000
 *   nh-socks raw-ip SRC DST PORT   the same with its IP header too
 *                             (IPPROTO_RAW, IP_HDRINCL)
 *   nh-socks packet IFACE DST PORT  UDP datagram in a frame of our own
 *                             (AF_PACKET, broadcast link address)
 *   nh-socks uring            io_uring_setup() (its socket op is one no
 *                             seccomp filter sees)
 *   nh-socks ping [-c] DST    ICMP ping socket (SOCK_DGRAM): sendto(), or
 *                             connect() then send(); prints "reply" or
 *                             "noreply" (2 s)
 *
 * The attacks print "ok" (sent) or "errno=NAME" of the call that failed,
 * named on stderr; exit 0 when sent, 1 when not, 2 on usage errors.
 * IPv4 only but for ping, which takes IPv6 too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#ifndef AF_MAX
#define AF_MAX 46
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOCK_DCCP
#define SOCK_DCCP 6
#endif

static const int types[] = { SOCK_STREAM,    SOCK_DGRAM, SOCK_RAW,   SOCK_RDM,
			     SOCK_SEQPACKET, SOCK_DCCP,	 SOCK_PACKET };

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: nh-socks list | try | raw-icmp DST | "
			"raw-tcp SRC DST PORT | raw-ip SRC DST PORT | "
			"packet IFACE DST PORT | ping [-c] DST\n");
	exit(2);
}

static int fail(const char *op, int err)
{
	fprintf(stderr, "nh-socks: %s: %s\n", op, strerror(err));
	printf("errno=%s\n", nh_errname(err));
	return 1;
}

static int try_one(int fam, int type, int proto)
{
	int fd = socket(fam, type, proto);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Every protocol number of one family and type: 0..255, and MPTCP for
 * IP.  A packet socket's protocol is an EtherType in network order:
 * none, the usual ones (closing each packet socket waits for an RCU
 * grace period: a thousand of them would take seconds). */
static int list_family(int fam)
{
	static const int ip_extra[] = { IPPROTO_MPTCP };
	const int eth[] = { 0, htons(ETH_P_ALL), htons(ETH_P_IP),
			    htons(ETH_P_IPV6) };
	int t, p, n = 0, nprotos;

	for (t = 0; t < (int)(sizeof(types) / sizeof(types[0])); t++) {
		/* SOCK_PACKET is a packet socket, whatever the family */
		bool packet = fam == AF_PACKET || types[t] == SOCK_PACKET;
		bool ip = fam == AF_INET || fam == AF_INET6;

		nprotos = packet ? 4 : ip ? 257 : 256;
		for (p = 0; p < nprotos; p++) {
			int proto = packet  ? eth[p] :
				    p < 256 ? p :
					      ip_extra[p - 256];
			int r = try_one(fam, types[t], proto);

			/* no such family at all: nothing more to ask */
			if (r == -EAFNOSUPPORT && !n && !t && !p)
				return 0;
			if (!r) {
				printf("%d %d %d\n", fam, types[t], proto);
				n++;
			}
		}
	}
	return n;
}

static int cmd_list(void)
{
	int fam;

	for (fam = 1; fam < AF_MAX; fam++)
		list_family(fam);
	return 0;
}

static int cmd_try(void)
{
	int fam, type, proto, r;

	while (scanf("%d %d %d", &fam, &type, &proto) == 3) {
		r = try_one(fam, type, proto);
		if (r)
			printf("%d %d %d errno=%s\n", fam, type, proto,
			       nh_errname(-r));
		else
			printf("%d %d %d ok\n", fam, type, proto);
	}
	return 0;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static int parse4(const char *addr, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
		return -1;
	if (port) {
		long v = nh_parse_num(port, 65535);

		if (v < 0)
			return -1;
		sin->sin_port = htons((uint16_t)v);
	}
	return 0;
}

/* An ICMP echo request: type 8, id and sequence 0x4e48 ("NH"). */
static size_t echo(uint8_t *b, int v6)
{
	memset(b, 0, 16);
	b[0] = v6 ? 128 : 8;
	b[4] = 'N';
	b[5] = 'H';
	b[7] = 1;
	memcpy(b + 8, "nethook!", 8);
	if (!v6) {
		uint16_t c = csum(b, 16, 0);

		memcpy(b + 2, &c, 2);
	}
	return 16;
}

static int cmd_raw_icmp(const char *dst)
{
	struct sockaddr_in sin;
	uint8_t b[16];
	int fd;

	if (parse4(dst, NULL, &sin))
		usage();
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket", errno);
	if (sendto(fd, b, echo(b, 0), 0, (void *)&sin, sizeof(sin)) < 0)
		return fail("sendto", errno);
	printf("ok\n");
	return 0;
}

/* A TCP SYN from port 40000, checksummed over the IPv4 pseudo-header. */
static size_t syn(uint8_t *b, struct in_addr src, struct in_addr dst,
		  uint16_t dport)
{
	uint8_t ph[12];
	uint32_t sum = 0;
	uint16_t c;
	size_t i;

	memset(b, 0, 20);
	b[0] = 40000 >> 8;
	b[1] = 40000 & 0xff;
	memcpy(b + 2, &dport, 2);
	b[7] = 1; /* sequence number */
	b[12] = 5 << 4; /* 20 bytes of header */
	b[13] = 0x02; /* SYN */
	b[14] = 0xff; /* window */
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	ph[10] = 0;
	ph[11] = 20;
	for (i = 0; i < 12; i += 2)
		sum += (uint32_t)(ph[i] << 8 | ph[i + 1]);
	c = csum(b, 20, sum);
	memcpy(b + 16, &c, 2);
	return 20;
}

static int cmd_raw_tcp(const char *from, const char *dst, const char *port,
		       int hdrincl)
{
	struct sockaddr_in sin;
	struct in_addr src;
	uint8_t b[40];
	size_t len;
	int fd;

	/* the source is given: asking the kernel would take a UDP socket,
	 * which nethook hooks */
	if (parse4(dst, port, &sin) || inet_pton(AF_INET, from, &src) != 1)
		usage();
	fd = socket(AF_INET, SOCK_RAW, hdrincl ? IPPROTO_RAW : IPPROTO_TCP);
	if (fd < 0)
		return fail("socket", errno);
	len = syn(b + (hdrincl ? 20 : 0), src, sin.sin_addr, sin.sin_port);
	if (hdrincl) {
		struct iphdr *ip = (void *)b;

		memset(ip, 0, 20);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->saddr = src.s_addr;
		ip->daddr = sin.sin_addr.s_addr;
		ip->tot_len = htons(40);
		len += 20; /* the kernel fills in id and checksum */
	}
	/* the port means nothing to a raw socket */
	sin.sin_port = 0;
	if (sendto(fd, b, len, 0, (void *)&sin, sizeof(sin)) < 0)
		return fail("sendto", errno);
	printf("ok\n");
	return 0;
}

/* UDP in IPv4, to the link's broadcast address: no ARP, no route. */
static int cmd_packet(const char *ifname, const char *dst, const char *port)
{
	struct sockaddr_ll sll = { 0 };
	struct sockaddr_in sin;
	struct iphdr *ip;
	uint8_t b[36];
	int fd;

	if (parse4(dst, port, &sin))
		usage();
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (fd < 0)
		return fail("socket", errno);
	memset(b, 0, sizeof(b));
	ip = (void *)b;
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(0xc0000201); /* 192.0.2.1, claimed */
	ip->daddr = sin.sin_addr.s_addr;
	ip->tot_len = htons(sizeof(b));
	ip->check = csum(b, 20, 0);
	memcpy(b + 20, "\x9c\x40", 2); /* from port 40000 */
	memcpy(b + 22, &sin.sin_port, 2);
	b[25] = 16; /* UDP length; checksum 0: none */
	memcpy(b + 28, "nethook!", 8);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	if (!sll.sll_ifindex)
		return fail("if_nametoindex", errno);
	if (sendto(fd, b, sizeof(b), 0, (void *)&sll, sizeof(sll)) < 0)
		return fail("sendto", errno);
	printf("ok\n");
	return 0;
}

static int cmd_uring(void)
{
	unsigned char params[120] = { 0 }; /* struct io_uring_params */
	long fd = syscall(425 /* io_uring_setup, on every arch */, 1, params);

	if (fd < 0)
		return fail("io_uring_setup", errno);
	close((int)fd);
	printf("ok\n");
	return 0;
}

static int cmd_ping(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	uint8_t b[64];
	int conn = 0, fd, v6;

	if (argc > 0 && !strcmp(argv[0], "-c")) {
		conn = 1;
		argc--;
		argv++;
	}
	if (argc != 1 || nh_parse_addr(argv[0], "0", 0, &ss, &len))
		usage();
	v6 = ss.ss_family == AF_INET6;
	fd = socket(ss.ss_family, SOCK_DGRAM,
		    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket", errno);
	if (conn) {
		if (connect(fd, (void *)&ss, len))
			return fail("connect", errno);
		if (send(fd, b, echo(b, v6), 0) < 0)
			return fail("send", errno);
	} else if (sendto(fd, b, echo(b, v6), 0, (void *)&ss, len) < 0) {
		return fail("sendto", errno);
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	printf(poll(&pfd, 1, 2000) == 1 && recv(fd, b, sizeof(b), 0) > 0 ?
		       "reply\n" :
		       "noreply\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "list") && argc == 2)
		return cmd_list();
	if (!strcmp(argv[1], "try") && argc == 2)
		return cmd_try();
	if (!strcmp(argv[1], "raw-icmp") && argc == 3)
		return cmd_raw_icmp(argv[2]);
	if (!strcmp(argv[1], "raw-tcp") && argc == 5)
		return cmd_raw_tcp(argv[2], argv[3], argv[4], 0);
	if (!strcmp(argv[1], "raw-ip") && argc == 5)
		return cmd_raw_tcp(argv[2], argv[3], argv[4], 1);
	if (!strcmp(argv[1], "packet") && argc == 5)
		return cmd_packet(argv[2], argv[3], argv[4]);
	if (!strcmp(argv[1], "uring") && argc == 2)
		return cmd_uring();
	if (!strcmp(argv[1], "ping"))
		return cmd_ping(argc - 2, argv + 2);
	usage();
}
