// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the --rate, --delay and --loss parsers, and the shaper
 * they configure fed a stream of packets.  Byte 0 picks the parser, then
 * the text up to a NUL byte; what follows drives packet sizes and gaps.
 * Checked: a packet is never released before it arrives.
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct nh_shape_opts so = { .sz = sizeof(so) };
	const uint8_t *nul, *p;
	struct nh_shape *s;
	uint64_t now = 1000000000ull, rel;
	char text[128];
	size_t tl;
	int r = -EINVAL;

	if (n < 1)
		return 0;
	nul = memchr(d + 1, 0, n - 1);
	tl = nul ? (size_t)(nul - d - 1) : n - 1;
	fuzz_text_copy(text, sizeof(text), d + 1, tl);
	switch (d[0] % 3) {
	case 0:
		r = nh_shape_parse_rate(text, &so.rate_bps);
		break;
	case 1:
		r = nh_shape_parse_delay(text, &so.delay_us, &so.jitter_us);
		break;
	default:
		r = nh_shape_parse_loss(text, &so.loss_ppm);
	}
	CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r || !nul)
		return 0;
	CHECK(so.loss_ppm <= 1000000);
	so.reorder = d[0] & 0x80;
	s = nh_shape_new(&so);
	if (!s)
		return 0;
	for (p = nul + 1; p + 1 < d + n; p += 2) {
		now += (uint64_t)p[0] * 1000;
		r = nh_shape_decide(s, now, 40 + (size_t)p[1] * 6, &rel);
		CHECK(r >= 0);
		CHECK(r != NH_SHAPE_PASS || rel >= now);
	}
	nh_shape_free(s);
	return 0;
}
