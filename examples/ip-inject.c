// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ip-inject: a filter that drops outgoing UDP to a port, a datagram
 * crafted by hand and injected past it, then the filter removed.
 *
 *	ip-inject [--netns PATH] [--input] SRC DST PORT MESSAGE [HOLD_MS]
 *
 * With --input, the crafted datagram SRC -> DST arrives instead, as if
 * just received (nh_ipf_inject_input: through a tun device in the
 * namespace), for a local socket on DST:PORT; the filter then drops
 * incoming datagrams to PORT.
 *
 * 1. adds an IPv4 filter dropping "udp dst port PORT" (prints "filter");
 * 2. builds an IPv4/UDP datagram SRC:PORT -> DST:PORT carrying MESSAGE
 *    (nh_pkt_new, nh_pkt_fix_checksums) and injects it with
 *    nh_ipf_inject_output: filters up to and including this one do not
 *    see it, so it leaves although the filter drops that port (prints
 *    "injected");
 * 3. keeps the filter HOLD_MS (default 2000) -- what other programs send
 *    to that port meanwhile is dropped -- then removes it with
 *    nh_ipf_remove (prints "removed") and waits as long again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <nethook/nethook.h>
#include <nethook/ipf.h>

static unsigned long dropped;

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_WARNING)
		fprintf(stderr, "ip-inject: %s\n", msg);
}

static int drop_output(void *cookie, struct nh_pkt **data,
		       struct nh_ipf_pktopts *options)
{
	(void)cookie;
	(void)data;
	(void)options;
	dropped++;
	return -EPERM; /* the expression chose them: drop */
}

static int drop_input(void *cookie, struct nh_pkt **data, int offset,
		      uint8_t protocol)
{
	(void)cookie;
	(void)data;
	(void)offset;
	(void)protocol;
	dropped++;
	return -EPERM;
}

static void detached(void *cookie)
{
	(void)cookie;
	printf("detached\n");
	fflush(stdout);
}

/* dispatch for ms milliseconds */
static void run_for(struct nh_ctx *ctx, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long el;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= ms)
			break;
		nh_ctx_dispatch(ctx, (int)(ms - el));
	}
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	struct nh_ipf_filter f = { .sz = sizeof(f) };
	struct in_addr src, dst;
	uint8_t buf[1500] = { 0 };
	struct nh_ctx *ctx;
	nh_ipfilter_t ref;
	struct nh_pkt *pkt;
	char match[64];
	int i = 1, port, hold = 2000, err, input = 0;
	size_t mlen, len;

	if (argc > 2 && !strcmp(argv[1], "--netns")) {
		opts.netns = argv[2];
		i = 3;
	}
	if (argc > i && !strcmp(argv[i], "--input")) {
		input = 1;
		i++;
	}
	if (argc - i < 4 || argc - i > 5 ||
	    inet_pton(AF_INET, argv[i], &src) != 1 ||
	    inet_pton(AF_INET, argv[i + 1], &dst) != 1 ||
	    (port = atoi(argv[i + 2])) <= 0 || port > 65535) {
		fprintf(stderr,
			"usage: ip-inject [--netns PATH] [--input] SRC DST PORT MESSAGE [HOLD_MS]\n");
		return 2;
	}
	if (argc - i == 5)
		hold = atoi(argv[i + 4]);
	mlen = strlen(argv[i + 3]);
	if (mlen > sizeof(buf) - 28)
		mlen = sizeof(buf) - 28;
	err = nh_ctx_open(&opts, &ctx);
	if (err) {
		fprintf(stderr, "ip-inject: %s\n", strerror(-err));
		return 1;
	}
	snprintf(match, sizeof(match), "udp dst port %d", port);
	f.name = "ip-inject";
	f.match = match;
	if (input)
		f.ipf_input = drop_input;
	else
		f.ipf_output = drop_output;
	f.ipf_detach = detached;
	err = nh_ipf_addv4(ctx, &f, &ref);
	if (err) {
		fprintf(stderr, "ip-inject: nh_ipf_addv4: %s\n",
			strerror(-err));
		nh_ctx_close(ctx);
		return 1;
	}
	printf("filter\n");
	fflush(stdout);

	/* IPv4 header, UDP header, message; checksums left to nethook */
	len = 28 + mlen;
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[6] = 0x40; /* DF */
	buf[8] = 64;
	buf[9] = 17;
	memcpy(buf + 12, &src, 4);
	memcpy(buf + 16, &dst, 4);
	buf[20] = buf[22] = (uint8_t)(port >> 8);
	buf[21] = buf[23] = (uint8_t)port;
	buf[24] = (uint8_t)((8 + mlen) >> 8);
	buf[25] = (uint8_t)(8 + mlen);
	memcpy(buf + 28, argv[i + 3], mlen);
	pkt = nh_pkt_new(buf, len);
	if (!pkt || nh_pkt_fix_checksums(pkt)) {
		fprintf(stderr, "ip-inject: cannot build the datagram\n");
		nh_pkt_free(pkt);
		nh_ctx_close(ctx);
		return 1;
	}
	err = input ? nh_ipf_inject_input(pkt, ref) :
		      nh_ipf_inject_output(pkt, ref, NULL);
	if (err) {
		fprintf(stderr, "ip-inject: nh_ipf_inject_%s: %s\n",
			input ? "input" : "output", strerror(-err));
		nh_ctx_close(ctx);
		return 1;
	}
	printf("injected\n");
	fflush(stdout);
	run_for(ctx, hold);
	err = nh_ipf_remove(ref);
	printf("removed %s dropped=%lu\n", err ? strerror(-err) : "ok",
	       dropped);
	fflush(stdout);
	run_for(ctx, hold);
	nh_ctx_close(ctx);
	return err ? 1 : 0;
}
