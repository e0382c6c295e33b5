// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pcap-filter compilation and matching (src/lib/ip/pcapf.c) and the pcap
 * file writer (src/cli/pcapw.c), read back by hand and by libpcap.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "nh_test.h"
#include "nh_pcapf.h"
#include "pcapw.h"
#include "nh_pkt.h"

static const uint8_t A4[4] = { 192, 0, 2, 1 }, B4[4] = { 198, 51, 100, 7 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

/* several ports, a port range, two protocols: 69 instructions */
static const char *big_expr =
	"tcp and (port 80 or port 443 or port 8080 or port 8443 or "
	"portrange 9000-9100) or udp and (port 53 or port 123)";

static int match(const char *expr, struct nh_pkt *pkt)
{
	struct nh_pcapf_prog *prog;
	int r;

	assert_int_equal(nh_pcapf_prog_new(expr, &prog, NULL, 0), 0);
	r = nh_pcapf_match(prog, nh_pkt_peek(pkt), nh_pkt_len(pkt));
	nh_pcapf_prog_free(prog);
	return r;
}

static void test_udp_port(void **state)
{
	char bc[2048], err[256];
	int n = 0;
	struct nh_pkt *hit4 = nh_pkt_build_udp4(A4, B4, 1234, 9999, "x", 1);
	struct nh_pkt *hit6 = nh_pkt_build_udp6(A6, B6, 1234, 9999, "x", 1);
	struct nh_pkt *src4 = nh_pkt_build_udp4(A4, B4, 9999, 1234, "x", 1);
	struct nh_pkt *tcp4 =
		nh_pkt_build_tcp(4, A4, B4, 1, 9999, 0, 0, 2, NULL, 0);

	(void)state;
	assert_int_equal(nh_pcapf_compile("udp and dst port 9999", bc,
					  sizeof(bc), &n, err, sizeof(err)),
			 0);
	assert_true(n > 0 && n <= 64);
	assert_int_equal(atoi(bc), n);
	assert_non_null(strstr(bc, ",6 0 0 "));
	/* N then N groups of four numbers */
	{
		int commas = 0;
		const char *c;

		for (c = bc; *c; c++)
			commas += *c == ',';
		assert_int_equal(commas, n);
	}
	assert_int_equal(match("udp and dst port 9999", hit4), 1);
	assert_int_equal(match("udp and dst port 9999", hit6), 1);
	assert_int_equal(match("udp and dst port 9999", src4), 0);
	assert_int_equal(match("udp and dst port 9999", tcp4), 0);
	assert_int_equal(match("ip6", hit6), 1);
	assert_int_equal(match("ip6", hit4), 0);
	assert_int_equal(match("dst host 198.51.100.7", hit4), 1);
	assert_int_equal(match("src host 198.51.100.7", hit4), 0);
	assert_int_equal(match("tcp[tcpflags] & tcp-syn != 0", tcp4), 1);
	nh_pkt_free(hit4);
	nh_pkt_free(hit6);
	nh_pkt_free(src4);
	nh_pkt_free(tcp4);
}

static void test_empty_matches_all(void **state)
{
	char bc[256];
	int n;
	struct nh_pkt *p = nh_pkt_build_udp4(A4, B4, 1, 2, NULL, 0);

	(void)state;
	assert_int_equal(nh_pcapf_compile(NULL, bc, sizeof(bc), &n, NULL, 0),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(match("", p), 1);
	nh_pkt_free(p);
}

static void test_too_big(void **state)
{
	char bc[4096], err[256];
	int n = 0;

	(void)state;
	assert_int_equal(nh_pcapf_compile(big_expr, bc, sizeof(bc), &n, err,
					  sizeof(err)),
			 -E2BIG);
	assert_true(n > 64);
	{
		char num[16];

		snprintf(num, sizeof(num), "%d", n);
		assert_non_null(strstr(err, num));
	}
	assert_non_null(strstr(err, "64"));
}

static void test_garbage(void **state)
{
	char bc[256], err[256] = "";
	struct nh_pcapf_prog *prog = (void *)1;

	(void)state;
	assert_int_equal(nh_pcapf_compile("udp and dts port 9", bc, sizeof(bc),
					  NULL, err, sizeof(err)),
			 -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(nh_pcapf_compile("port 99999", bc, sizeof(bc), NULL,
					  err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "99999"));
	assert_int_equal(nh_pcapf_prog_new("(((", &prog, NULL, 0), -EINVAL);
	assert_null(prog);
}

static void test_small_buffer(void **state)
{
	char bc[10];

	(void)state;
	assert_int_equal(nh_pcapf_compile("udp", bc, sizeof(bc), NULL, NULL, 0),
			 -ENOSPC);
}

/* a coarse kernel program that keeps every match, the exact one in user
 * space */
static void test_plan(void **state)
{
	/* 86 instructions; "tcp and (ports)" is 68, "tcp" fits */
	const char *expr = "tcp and (port 1 or port 2 or port 3 or port 4 or "
			   "port 5 or port 6 or port 7 or port 8 or port 9 or "
			   "port 10 or port 11 or port 12 or port 13 or "
			   "port 14 or port 15 or port 16) and "
			   "not src net 10.0.0.0/8";
	char bc[4096], err[256];
	struct nh_pcapf_prog *exact = NULL;
	int n, r, i;

	(void)state;
	r = nh_pcapf_plan("udp", bc, sizeof(bc), &n, &exact, err, sizeof(err));
	assert_int_equal(r, 0);
	assert_null(exact);

	r = nh_pcapf_plan(expr, bc, sizeof(bc), &n, &exact, err, sizeof(err));
	assert_int_equal(r, 1);
	assert_non_null(exact);
	assert_true(n <= 64);
	assert_true(nh_pcapf_prog_len(exact) > 64);
	/* the coarse program is the left side that fits: "tcp" */
	assert_int_equal(
		nh_pcapf_compile("tcp", err, sizeof(err), NULL, NULL, 0), 0);
	assert_string_equal(bc, err);
	for (i = 0; i < 20; i++) {
		struct nh_pkt *p = nh_pkt_build_tcp(
			4, A4, B4, 50000, (uint16_t)i, 0, 0, 2, NULL, 0);
		int m = nh_pcapf_match(exact, nh_pkt_peek(p), nh_pkt_len(p));

		assert_int_equal(m, i >= 1 && i <= 16);
		nh_pkt_free(p);
	}
	nh_pcapf_prog_free(exact);

	/* "and" and "or" group to the left: big_expr is
	 * ((tcp and P) or udp) and Q, so its left side is a superset */
	r = nh_pcapf_plan(big_expr, bc, sizeof(bc), &n, &exact, err,
			  sizeof(err));
	nh_pcapf_prog_free(exact);
	assert_int_equal(r, 1);
	assert_true(n > 1 && n <= 64);
	{
		char e2[512];

		snprintf(e2, sizeof(e2), "%s or icmp", big_expr);
		r = nh_pcapf_plan(e2, bc, sizeof(bc), &n, &exact, err,
				  sizeof(err));
		nh_pcapf_prog_free(exact);
		assert_int_equal(r, 1);
		assert_int_equal(n, 1); /* an "or" last: every packet */
	}

	r = nh_pcapf_plan("udp and and", bc, sizeof(bc), &n, &exact, err,
			  sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_null(exact);
}

/* ---- the pcap writer ---- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void test_pcapw(void **state)
{
	char path[] = "/tmp/nh-pcapw-XXXXXX";
	char errbuf[PCAP_ERRBUF_SIZE];
	struct nh_pkt *a = nh_pkt_build_udp4(A4, B4, 1, 2, "hello", 5);
	struct nh_pkt *b = nh_pkt_build_udp6(A6, B6, 3, 4, "world!", 6);
	struct nh_pcapw *w;
	uint8_t buf[256];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	FILE *f;
	size_t n;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(nh_pcapw_open(path, &w), 0);
	assert_int_equal(nh_pcapw_write(w, nh_pkt_peek(a), nh_pkt_len(a), 0,
					1700000000123456789ull),
			 0);
	assert_int_equal(nh_pcapw_write(w, nh_pkt_peek(b), nh_pkt_len(b), 1500,
					1700000001000000000ull),
			 0);
	assert_int_equal(nh_pcapw_write(NULL, "x", 1, 0, 0), -EINVAL);
	assert_int_equal(nh_pcapw_close(w), 0);

	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, 24 + 16 + 33 + 16 + 54);
	assert_int_equal(rd32(buf), 0xa1b2c3d4);
	assert_int_equal(buf[4] | buf[5] << 8, 2);
	assert_int_equal(rd32(buf + 16), 65535);
	assert_int_equal(rd32(buf + 20), 101);
	assert_int_equal(rd32(buf + 24), 1700000000);
	assert_int_equal(rd32(buf + 28), 123456);
	assert_int_equal(rd32(buf + 32), 33);
	assert_int_equal(rd32(buf + 36), 33);
	assert_memory_equal(buf + 40, nh_pkt_peek(a), 33);
	assert_int_equal(rd32(buf + 73), 1700000001);
	assert_int_equal(rd32(buf + 81), 54);
	assert_int_equal(rd32(buf + 85), 1500);

	/* libpcap reads it */
	pc = pcap_open_offline(path, errbuf);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_RAW);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->caplen, 33);
	assert_int_equal(h->ts.tv_usec, 123456);
	assert_memory_equal(data, nh_pkt_peek(a), 33);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->len, 1500);
	assert_int_equal(pcap_next_ex(pc, &h, &data), PCAP_ERROR_BREAK);
	pcap_close(pc);

	/* tshark or tcpdump, when installed, open it */
	if (!system("command -v tcpdump >/dev/null 2>&1")) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "tcpdump -nr %s >/dev/null 2>&1",
			 path);
		assert_int_equal(system(cmd), 0);
	}
	if (!system("command -v tshark >/dev/null 2>&1")) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "tshark -r %s >/dev/null 2>&1",
			 path);
		assert_int_equal(system(cmd), 0);
	}
	unlink(path);
	nh_pkt_free(a);
	nh_pkt_free(b);
}

static void test_pcapw_snaplen(void **state)
{
	char path[] = "/tmp/nh-pcapw-XXXXXX";
	char errbuf[PCAP_ERRBUF_SIZE];
	static uint8_t big[70000];
	struct nh_pcapw *w;
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	assert_int_equal(nh_pcapw_open("/nonexistent/dir/x.pcap", &w), -ENOENT);
	assert_int_equal(nh_pcapw_open(path, &w), 0);
	big[0] = 0x60;
	assert_int_equal(nh_pcapw_write(w, big, sizeof(big), 0, 0), 0);
	assert_int_equal(nh_pcapw_close(w), 0);
	pc = pcap_open_offline(path, errbuf);
	assert_non_null(pc);
	assert_int_equal(pcap_next_ex(pc, &h, &data), 1);
	assert_int_equal(h->caplen, 65535);
	assert_int_equal(h->len, 70000);
	pcap_close(pc);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_port),
		cmocka_unit_test(test_empty_matches_all),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_pcapw),
		cmocka_unit_test(test_pcapw_snaplen),
	};

	return cmocka_run_group_tests_name("pcapf", tests, NULL, NULL) ? 1 : 0;
}
