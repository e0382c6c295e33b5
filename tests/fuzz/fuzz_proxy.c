// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: nh_proxy.c's proxy URLs, chains and --proxy-file text,
 * and every handshake (SOCKS5, SOCKS4/4a, HTTP CONNECT) fed hostile
 * replies in hostile chunks.  Input: byte 0 picks the hop and target,
 * byte 1 the chunk sizes, the rest is what the proxy says (for byte 0 >=
 * 0xf0, a URL or chain instead).  See tests/fuzz/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "nh_proxy.h"

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
	/* the whole request in one flight: replies read in order */
	if (ch & 0x80)
		nh_proxy_hs_pipeline(&hs);
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
