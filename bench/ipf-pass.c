// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ipf-pass: nethook's side of bench/packet.sh -- one IP filter on the
 * public API whose callback passes each packet, or rewrites its IPv4
 * destination.
 *
 *	ipf-pass [--threads N] [--rewrite ADDR] [--fail-closed] MATCH SECONDS
 *
 * Adds an IPv4 ipf_output filter for MATCH (a pcap-filter expression) in
 * the caller's network namespace, prints "ready", runs SECONDS (with
 * --threads N > 1 on N workers, else in nh_ctx_dispatch), prints the
 * number of packets its callback saw and the seconds from the first to the
 * last of them.  --rewrite: the callback asks for
 * writable data (nh_pkt_data) and sets the destination; nethook fixes the
 * checksums.  Fail-closed: a full queue drops, nothing gets past
 * unfiltered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <nethook/nethook.h>
#include <nethook/ipf.h>

static atomic_ulong seen;
static _Atomic int64_t first_ns = INT64_MAX, last_ns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static struct in_addr new_dst;
static int rewrite;

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_WARNING)
		fprintf(stderr, "ipf-pass: %s\n", msg);
}

static int out_cb(void *cookie, struct nh_pkt **data,
		  struct nh_ipf_pktopts *options)
{
	int64_t t = now_ns(), v;

	(void)cookie;
	(void)options;
	atomic_fetch_add_explicit(&seen, 1, memory_order_relaxed);
	/* workers race: keep the smallest and the largest */
	v = atomic_load_explicit(&first_ns, memory_order_relaxed);
	while (t < v && !atomic_compare_exchange_weak(&first_ns, &v, t))
		;
	v = atomic_load_explicit(&last_ns, memory_order_relaxed);
	while (t > v && !atomic_compare_exchange_weak(&last_ns, &v, t))
		;
	if (rewrite) {
		uint8_t *p = nh_pkt_data(*data);

		if (nh_pkt_len(*data) >= 20 && (p[0] >> 4) == 4)
			memcpy(p + 16, &new_dst, 4);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	struct nh_ipf_opts ipfo = { .sz = sizeof(ipfo),
				    .flags = NH_IPF_FAIL_CLOSED };
	struct nh_ipf_filter f = { .sz = sizeof(f) };
	struct timespec t0, t;
	struct nh_ctx *ctx;
	nh_ipfilter_t ref;
	double secs;
	int i = 1, err;

	opts.cgroup = NULL;
	while (i < argc && !strncmp(argv[i], "--", 2)) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			opts.threads = (unsigned int)atoi(argv[i + 1]);
			i += 2;
		} else if (!strcmp(argv[i], "--rewrite") && i + 1 < argc) {
			rewrite = 1;
			if (inet_pton(AF_INET, argv[i + 1], &new_dst) != 1)
				return 2;
			i += 2;
		} else {
			break;
		}
	}
	if (argc - i != 2) {
		fprintf(stderr,
			"usage: ipf-pass [--threads N] [--rewrite ADDR] MATCH SECONDS\n");
		return 2;
	}
	secs = atof(argv[i + 1]);
	err = nh_ctx_open(&opts, &ctx);
	if (err) {
		fprintf(stderr, "ipf-pass: %s\n", strerror(-err));
		return 1;
	}
	/* fail-closed: a full queue drops packets instead of letting them
	 * past the filter */
	nh_ipf_ctx_setopts(ctx, &ipfo);
	f.name = "bench";
	f.match = argv[i];
	f.ipf_output = out_cb;
	err = nh_ipf_addv4(ctx, &f, &ref);
	if (err) {
		fprintf(stderr, "ipf-pass: nh_ipf_addv4: %s\n", strerror(-err));
		nh_ctx_close(ctx);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		double el;

		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (double)(t.tv_sec - t0.tv_sec) +
		     (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (el >= secs)
			break;
		nh_ctx_dispatch(ctx, (int)((secs - el) * 1000) + 1);
	}
	nh_ctx_close(ctx);
	printf("%lu %.6f\n", (unsigned long)atomic_load(&seen),
	       atomic_load(&seen) ? (double)(atomic_load(&last_ns) -
					     atomic_load(&first_ns)) /
					    1e9 :
				    0.0);
	return 0;
}
