// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: nh_dns_msg.c.  Byte 0, bit 0 clear: the rest is a query
 * to the resolver; parsed, and when it may be answered the answer is
 * built (bits 1-2: UDP 512, UDP at the query's EDNS size, TCP; bits 3-7:
 * how many records) and walked back, which must give the same id, name,
 * type and records.  Bit 0 set: the rest is a real resolver's response,
 * walked.  See tests/fuzz/README.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "fuzz.h"
#include "nh_dns_msg.h"
#include "nh_seen.h"

static bool host_name(const char *s)
{
	size_t n = strlen(s);

	if (n > 253 || (n && (s[0] == '.' || s[n - 1] == '.')) ||
	    strstr(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

struct walked {
	int n, stop_at;
	uint16_t type;
};

static int check_rr(const char *owner, uint16_t type, const uint8_t *rdata,
		    uint16_t rdlen, const char *target, uint32_t ttl,
		    void *user)
{
	struct walked *w = user;

	CHECK(owner && host_name(owner));
	CHECK(!(ttl & 0x80000000u));
	if (type == NH_DNS_T_CNAME) {
		CHECK(!rdata && !rdlen && target && host_name(target));
	} else {
		CHECK(type == NH_DNS_T_A || type == NH_DNS_T_AAAA);
		CHECK(rdata && !target);
		CHECK(rdlen == (type == NH_DNS_T_A ? 4 : 16));
	}
	w->type = type;
	return ++w->n == w->stop_at ? 99 : 0;
}

/* A PTR name that reads as an address must be that address's name. */
static void check_ptr(const char *name)
{
	struct sockaddr_storage ss;
	char back[80], *p = back;

	if (nh_dns_ptr_addr(name, &ss))
		return;
	if (ss.ss_family == AF_INET) {
		const uint8_t *a =
			(uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;

		snprintf(back, sizeof(back), "%u.%u.%u.%u.in-addr.arpa", a[3],
			 a[2], a[1], a[0]);
	} else {
		const uint8_t *a =
			(uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;

		CHECK(ss.ss_family == AF_INET6);
		for (int i = 15; i >= 0; i--)
			p += sprintf(p, "%x.%x.", a[i] & 15, a[i] >> 4);
		strcpy(p, "ip6.arpa");
	}
	CHECK(!strcmp(back, name));
}

static void fuzz_query(uint8_t sel, const uint8_t *d, size_t n)
{
	static uint8_t out[NH_DNS_TCP_MAX];
	static const uint8_t a6[16] = { 1, 0, [15] = 9 };
	static const uint8_t a4[4] = { 198, 18, 0, 9 };
	struct nh_dns_rr rr[32];
	struct nh_dns_query q, r;
	struct walked w = { 0 };
	int ret, rcode, len, k = sel >> 3, an;
	size_t max;

	ret = nh_dns_query_parse(d, n, &q);
	CHECK(ret == 0 || ret == -EINVAL || ret == -EPROTO ||
	      ret == -EOPNOTSUPP || ret == -ENOPROTOOPT || ret == -EILSEQ);
	CHECK(host_name(q.name));
	CHECK(q.edns_size >= NH_DNS_UDP_MAX);
	CHECK(q.qend <= n);
	if (ret == -EILSEQ)
		CHECK(!q.name[0] && q.qend);
	if (ret == 0 && q.qtype == NH_DNS_T_PTR)
		check_ptr(q.name);
	rcode = nh_dns_query_rcode(ret);
	if (rcode < 0)
		return;
	if (ret == 0) {
		/* it goes back the way it came, but for case */
		len = nh_dns_query_build(q.id, q.flags, q.name, q.qtype, 0, out,
					 sizeof(out));
		CHECK(len > 0);
		CHECK(nh_dns_query_parse(out, (size_t)len, &r) == 0);
		CHECK(!strcmp(r.name, q.name) && r.qwire_len == q.qwire_len);
	} else {
		k = 0;
	}
	for (int i = 0; i < k; i++) {
		memset(&rr[i], 0, sizeof(rr[i]));
		rr[i].ttl = (uint32_t)i;
		rr[i].type = q.qtype == NH_DNS_T_AAAA ? NH_DNS_T_AAAA :
			     q.qtype == NH_DNS_T_PTR  ? NH_DNS_T_PTR :
							NH_DNS_T_A;
		rr[i].data = rr[i].type == NH_DNS_T_AAAA ? a6 : a4;
		rr[i].len = rr[i].type == NH_DNS_T_AAAA ? 16 : 4;
		rr[i].name = "host.example";
	}
	switch (sel >> 1 & 3) {
	case 0:
		max = NH_DNS_UDP_MAX;
		break;
	case 1:
		max = q.edns_size;
		break;
	default:
		max = NH_DNS_TCP_MAX;
	}
	len = nh_dns_answer_build(&q, rcode, rr, k, max, out, sizeof(out));
	if (ret == -EOPNOTSUPP || (ret == -EPROTO && !q.qend))
		CHECK(len == NH_DNS_HDR_LEN + (q.edns ? 11 : 0));
	CHECK(len >= NH_DNS_HDR_LEN && (size_t)len <= max);
	an = out[6] << 8 | out[7];
	CHECK(an <= k);
	CHECK(!!(out[2] & 2) == (an < k)); /* TC */
	CHECK((out[2] & 1) == (q.flags >> 8 & 1)); /* RD */
	CHECK((out[3] & 15) == (rcode & 15));
	CHECK(out[11] == q.edns);
	CHECK(nh_dns_query_parse(out, (size_t)len, &r) == -EINVAL);
	w.stop_at = -1;
	CHECK(nh_dns_response_walk(out, (size_t)len, &r, check_rr, &w) == 0);
	CHECK(r.id == q.id && r.qtype == q.qtype && r.qclass == q.qclass);
	CHECK(!strcmp(r.name, q.name));
	CHECK(r.qend == q.qend);
	if (q.qend)
		CHECK(!memcmp(out + NH_DNS_HDR_LEN, d + NH_DNS_HDR_LEN,
			      q.qend - NH_DNS_HDR_LEN));
	/* PTR records are not reported: only A and AAAA */
	CHECK(w.n == (k && rr[0].type != NH_DNS_T_PTR ? an : 0));
	if (q.edns) {
		/* the OPT record last: root, type 41, our size */
		CHECK(!memcmp(out + len - 11, "\0\0\x29\x04\xd0", 5));
		CHECK(out[len - 11 + 5] == rcode >> 4);
	}
}

/* the table answers name addresses in, kept from input to input */
static struct nh_seen *seen;

static void fuzz_response(const uint8_t *d, size_t n)
{
	struct nh_dns_query q;
	struct walked w = { .stop_at = -1 }, w2 = { .stop_at = 1 };
	int ret, named;

	ret = nh_dns_response_walk(d, n, &q, check_rr, &w);
	CHECK(ret == 0 || ret == -EINVAL || ret == -EPROTO);
	CHECK(host_name(q.name));
	if (ret)
		CHECK(w.n == 0);
	/* stopping at the first record */
	ret = nh_dns_response_walk(d, n, NULL, check_rr, &w2);
	CHECK(w2.n == (w.n ? 1 : 0));
	if (w.n)
		CHECK(ret == 99);
	if (n >= 2)
		CHECK(nh_dns_tcp_len(d, n) == (d[0] << 8 | d[1]) ||
		      nh_dns_tcp_len(d, n) == -EPROTO);
	/* as an answer the scope received (NH_DNS_WATCH): it fails as the
	 * walk does, or names at most the records walked */
	if (!seen)
		CHECK(nh_seen_new(64, &seen) == 0);
	named = nh_seen_answer(seen, d, n);
	if (ret == 0 || ret == 99)
		CHECK(named >= 0 && named <= w.n);
	else
		CHECK(named == ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	if (d[0] & 1)
		fuzz_response(d + 1, n - 1);
	else
		fuzz_query(d[0], d + 1, n - 1);
	return 0;
}
