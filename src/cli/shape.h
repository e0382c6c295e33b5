/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network impairment decisions for `nethook packet --delay --loss --rate`
 * (src/cli/shape.c): pure logic, the clock passed in.  For each packet
 * nh_shape_decide() says drop (loss, or the rate queue is full) or when
 * to release it; the caller holds it until then.
 *
 * Order: loss first (a lost packet uses no bandwidth), then the rate
 * (a token bucket of burst_bytes refilled at rate_bps, packets queued
 * FIFO behind it; a packet that would find more than limit_bytes queued
 * ahead of it is dropped), then delay +- jitter (uniform).  Release times
 * never go backwards unless reorder is set.  Not thread-safe.
 */
#ifndef NH_CLI_SHAPE_H
#define NH_CLI_SHAPE_H

#include <stddef.h>
#include <stdint.h>

struct nh_shape_opts {
	size_t sz; /* sizeof(struct nh_shape_opts) */
	uint32_t delay_us;
	uint32_t jitter_us; /* delay varies uniformly in [-jitter, +jitter] */
	uint32_t loss_ppm; /* parts per million, 0..1000000 */
	uint64_t rate_bps; /* bits per second; 0: no rate */
	uint32_t burst_bytes; /* 0: 10 ms at the rate, at least 1514 */
	uint32_t limit_bytes; /* 0: 200 ms at the rate, at least 16 * 1514 */
	uint64_t seed; /* the loss and jitter draws; 0 is a seed too */
	uint8_t reorder; /* jitter may reorder packets */
};

enum nh_shape_verdict {
	NH_SHAPE_PASS = 0, /* release at *release_ns */
	NH_SHAPE_LOSS = 1, /* drop: --loss */
	NH_SHAPE_OVERLIMIT = 2, /* drop: the rate queue is full */
};

struct nh_shape_stats {
	uint64_t passed, lost, overlimit;
};

struct nh_shape;

/* NULL + errno (EINVAL: loss over 1000000, ENOMEM) */
struct nh_shape *nh_shape_new(const struct nh_shape_opts *opts);
void nh_shape_free(struct nh_shape *s);
/* A packet of len bytes arriving at now_ns (a monotonic clock): an
 * enum nh_shape_verdict, *release_ns set for NH_SHAPE_PASS (>= now_ns);
 * -EINVAL on NULL arguments. */
int nh_shape_decide(struct nh_shape *s, uint64_t now_ns, size_t len,
		    uint64_t *release_ns);
void nh_shape_stats(const struct nh_shape *s, struct nh_shape_stats *st);

/* tc's units: a bare number and "bit" are bits per second; kbit, mbit,
 * gbit, tbit (powers of 1000), kibit, mibit, gibit, tibit (of 1024);
 * bps (bytes per second), kbps, mbps, gbps, tbps, kibps, mibps, gibps,
 * tibps; case-insensitive, decimals allowed ("1.5mbit").  -EINVAL on
 * anything else or zero, -ERANGE over 10^15 bit/s. */
int nh_shape_parse_rate(const char *s, uint64_t *bits_per_s);
/* "MS[:JITTER]" in milliseconds, decimals and an "ms" suffix allowed
 * ("100", "100:20", "2.5ms:0.5ms"); -EINVAL, -ERANGE over one hour. */
int nh_shape_parse_delay(const char *s, uint32_t *delay_us,
			 uint32_t *jitter_us);
/* "5", "5%", "0.25%": 0 to 100 percent into parts per million; -EINVAL,
 * -ERANGE over 100. */
int nh_shape_parse_loss(const char *s, uint32_t *ppm);

#endif /* NH_CLI_SHAPE_H */
