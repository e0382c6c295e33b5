// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz driver for nh_proxy.c: proxy URLs, chains and every handshake fed
 * hostile replies in hostile chunks.
 *
 * libFuzzer:
 *   clang -std=gnu11 -D_GNU_SOURCE -DNH_LIBFUZZER -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Isrc/lib/sock \
 *     tests/unit/fuzz_proxy.c src/lib/sock/nh_proxy.c -o /tmp/fuzz_proxy
 *   /tmp/fuzz_proxy -max_total_time=60
 * Standalone (any compiler): runs the given files as inputs, or without
 * arguments N (default 200000) pseudo-random inputs from a fixed seed:
 *   cc ... tests/unit/fuzz_proxy.c src/lib/sock/nh_proxy.c -o /tmp/fuzz_proxy
 *   /tmp/fuzz_proxy [N | FILE...]
 * Input: byte 0 picks the hop and target, byte 1 the chunk sizes, the rest
 * is what the proxy says (and, for byte 0 >= 0xf0, a URL or chain).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nh_proxy.h"

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

static const char *const urls[] = {
	"socks5://192.0.2.10",
	"socks5://u:p@192.0.2.10:1080",
	"socks4://192.0.2.10",
	"socks4a://id@192.0.2.10",
	"http://192.0.2.10:3128",
	"http://u:p@[2001:db8::1]:3128",
	"direct://",
	"socks5://[2001:db8::1]",
};

static void fuzz_text(const uint8_t *d, size_t n)
{
	char text[2048], err[256], f[300];
	struct nh_proxy_hop hops[8];
	int r;

	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, d, n);
	text[n] = '\0';
	r = nh_proxy_url_parse(text, &hops[0], err, sizeof(err));
	CHECK(r == 0 || (r == -EINVAL && err[0]));
	if (r == 0) {
		CHECK(strlen(hops[0].user) < 256 && strlen(hops[0].pass) < 256);
		CHECK(nh_proxy_hop_format(&hops[0], f, sizeof(f)) > 0);
	}
	r = nh_proxy_chain_parse(text, hops, 8, err, sizeof(err));
	CHECK((r >= 1 && r <= 8) || ((r == -EINVAL || r == -E2BIG) && err[0]));
}

static void fuzz_hs(const uint8_t *d, size_t n)
{
	struct nh_proxy_hop hop;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct nh_proxy_hs hs;
	uint8_t sel = d[0], ch = d[1];
	size_t off = 2, c;
	const uint8_t *b;
	size_t len;
	char err[256];
	int r = 0;

	CHECK(nh_proxy_url_parse(urls[sel & 7], &hop, err, sizeof(err)) == 0);
	memset(&ss, 0, sizeof(ss));
	if (sel & 8) {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6,
			  sel & 0x40 ? "::ffff:198.51.100.7" : "2001:db8::7",
			  &s6->sin6_addr);
		s6->sin6_port = htons(443);
	} else {
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, "198.51.100.7", &s4->sin_addr);
		s4->sin_port = htons(80);
	}
	nh_proxy_hs_init(&hs, &hop, sel & 0x20 ? NULL : (struct sockaddr *)&ss,
			 sel & 0x10 ? "example.com" : NULL, 8080);
	while (off < n) {
		size_t k = 1 + (ch & 15), sendn;

		ch = (uint8_t)(ch * 37 + 11);
		r = nh_proxy_hs_output(&hs, &b, &len);
		CHECK(r == 0 || r == 1 || r < 0);
		if (r < 0)
			break;
		if (len) {
			/* send some of it, sometimes all */
			sendn = ch & 1 ? len : 1 + len / 2;
			nh_proxy_hs_sent(&hs, sendn);
			continue;
		}
		if (k > n - off)
			k = n - off;
		r = nh_proxy_hs_input(&hs, d + off, k, &c);
		CHECK(c <= k);
		CHECK(r == 0 || r == 1 || r < 0);
		if (r)
			break;
		CHECK(c == k);
		off += k;
	}
	if (r < 0) {
		CHECK(nh_proxy_hs_error(&hs)[0]);
		CHECK(nh_proxy_hs_status(&hs) == r);
	}
	r = nh_proxy_hs_eof(&hs);
	CHECK(r == 1 || r < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 2)
		return 0;
	if (d[0] >= 0xf0)
		fuzz_text(d + 1, n - 1);
	else
		fuzz_hs(d, n);
	return 0;
}

#ifndef NH_LIBFUZZER
static uint64_t rng = 0x6e657468756b21ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

int main(int argc, char **argv)
{
/* binary replies hold NUL bytes: their length from sizeof, not strlen */
#define SEED(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *b;
		size_t n;
	} good[] = {
		SEED("\x05\x00\x05\x00\x00\x01\x01\x02\x03\x04\x00\x50"),
		SEED("\x05\x02\x01\x00\x05\x00\x00\x03\x05hello\x00\x50"),
		SEED("HTTP/1.1 200 OK\r\nA: b\r\n\r\nDATA"),
		SEED("socks5://u%41:p@[2001:db8::1]:1080/,http://h\n#c\nsocks4a://x@h"),
	};
	static uint8_t buf[1 << 16];
	long i, iters = 200000;
	size_t n, k;

	if (argc > 1 && !(argv[1][0] >= '0' && argv[1][0] <= '9')) {
		for (i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");

			if (!f) {
				perror(argv[i]);
				return 1;
			}
			n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
		}
		return 0;
	}
	if (argc > 1)
		iters = strtol(argv[1], NULL, 10);
	for (i = 0; i < iters; i++) {
		n = 2 + rnd() % 600;
		for (k = 0; k < n; k++)
			buf[k] = (uint8_t)rnd();
		if (rnd() & 1) { /* a good reply or URL, mutated */
			unsigned int gi = rnd() % 4;
			const char *g = good[gi].b;
			size_t gl = good[gi].n;

			if (g[0] == 's')
				buf[0] = 0xf0;
			memcpy(buf + (g[0] == 's' ? 1 : 2), g, gl);
			n = gl + 2;
			for (k = rnd() % 4; k > 0; k--)
				buf[1 + rnd() % (n - 1)] = (uint8_t)rnd();
			n = 2 + rnd() % (n - 1);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_proxy: %ld inputs, no failure\n", iters);
	return 0;
}
#endif
