// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS messages: queries as real clients send them (captured on loopback
 * from glibc's getent and getaddrinfo, dig 9.18 and Go 1.19's resolver),
 * hand-made ones per RFC 1035 and RFC 6891, answers built and walked
 * back, hostile compression, reverse names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include "nh_dns_msg.h"
#include "nh_test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- captured queries (udp/tcp port 53 of a listener in a netns) ---- */

/* getent ahosts www.Example.com: A */
static const uint8_t q_glibc_a[] = {
	0x4f, 0x8b, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0x77, 0x77, 0x77, 0x07, 0x45, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* ... and AAAA, sent together */
static const uint8_t q_glibc_aaaa[] = {
	0x17, 0x97, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0x77, 0x77, 0x77, 0x07, 0x45, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x1c, 0x00, 0x01,
};
/* getent hosts 198.18.0.5: PTR */
static const uint8_t q_glibc_ptr[] = {
	0xd7, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x35, 0x01, 0x30, 0x02, 0x31, 0x38, 0x03, 0x31, 0x39,
	0x38, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61,
	0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01,
};
/* python3 socket.getaddrinfo (glibc): A */
static const uint8_t q_python_gai[] = {
	0x08, 0x82, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x06, 0x70, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x07, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
};
/* dig: AD, EDNS 1232 with a COOKIE option */
static const uint8_t q_dig_a[] = {
	0xd5, 0xd7, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
	0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04,
	0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08,
	0x09, 0xb1, 0x4d, 0x5c, 0x8c, 0xd0, 0x61, 0xee,
};
/* dig +norec +noedns: AAAA, RD clear */
static const uint8_t q_dig_aaaa_norec[] = {
	0xe1, 0xcd, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
	0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x1c, 0x00, 0x01,
};
/* dig +dnssec: HTTPS of an underscore name, DO set */
static const uint8_t q_dig_https[] = {
	0xfb, 0xfc, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x5f, 0x34, 0x34, 0x33, 0x04, 0x5f, 0x74, 0x63, 0x70,
	0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f,
	0x6d, 0x00, 0x00, 0x41, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0,
	0x00, 0x00, 0x80, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x58,
	0xf0, 0xad, 0x40, 0xd9, 0x29, 0x37, 0x86,
};
/* dig +tcp (without the 2-byte prefix) */
static const uint8_t q_dig_tcp[] = {
	0x50, 0x2d, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
	0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04,
	0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08,
	0x8d, 0xd2, 0x3c, 0x8a, 0xbd, 0xab, 0x36, 0xbf,
};
/* dig -x 100::5 */
static const uint8_t q_dig_ptr6[] = {
	0xd0, 0xb2, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x35, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
	0x01, 0x31, 0x01, 0x30, 0x03, 0x69, 0x70, 0x36, 0x04, 0x61, 0x72, 0x70,
	0x61, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x08, 0x8a, 0xda, 0x70,
	0x26, 0xab, 0xb4, 0xb6, 0x1e,
};
/* dig . NS: the root */
static const uint8_t q_dig_root[] = {
	0x0a, 0xb5, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x29,
	0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a,
	0x00, 0x08, 0x3c, 0x86, 0x71, 0x64, 0x41, 0x0c, 0xa5, 0x54,
};
/* Go 1.19 net.Resolver (PreferGo): AAAA, EDNS, case kept */
static const uint8_t q_go_aaaa[] = {
	0x48, 0x1a, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x47, 0x6f, 0x07, 0x45, 0x78, 0x61, 0x6d, 0x70, 0x6c,
	0x65, 0x03, 0x4f, 0x52, 0x47, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00,
	0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* Go 1.19 LookupAddr: PTR */
static const uint8_t q_go_ptr[] = {
	0x9c, 0x55, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x35, 0x01, 0x30, 0x02, 0x31, 0x38, 0x03, 0x31, 0x39,
	0x38, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61,
	0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x29,
	0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

struct vec {
	const char *what;
	const uint8_t *msg;
	size_t len;
	const char *name;
	uint16_t qtype;
	bool rd, edns, edns_do;
	uint16_t edns_size;
};

#define V(n) #n, q_##n, sizeof(q_##n)

static const struct vec vecs[] = {
	{ V(glibc_a), "www.example.com", NH_DNS_T_A, true, false, false, 512 },
	{ V(glibc_aaaa), "www.example.com", NH_DNS_T_AAAA, true, false, false,
	  512 },
	{ V(glibc_ptr), "5.0.18.198.in-addr.arpa", NH_DNS_T_PTR, true, false,
	  false, 512 },
	{ V(python_gai), "python.example.net", NH_DNS_T_A, true, false, false,
	  512 },
	{ V(dig_a), "example.com", NH_DNS_T_A, true, true, false, 1232 },
	{ V(dig_aaaa_norec), "example.com", NH_DNS_T_AAAA, false, false, false,
	  512 },
	{ V(dig_https), "_443._tcp.example.com", NH_DNS_T_HTTPS, true, true,
	  true, 1232 },
	{ V(dig_tcp), "example.com", NH_DNS_T_A, true, true, false, 1232 },
	{ V(dig_ptr6),
	  "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0."
	  "ip6.arpa",
	  NH_DNS_T_PTR, true, true, false, 1232 },
	{ V(dig_root), "", NH_DNS_T_NS, true, true, false, 1232 },
	{ V(go_aaaa), "go.example.org", NH_DNS_T_AAAA, true, true, false,
	  1232 },
	{ V(go_ptr), "5.0.18.198.in-addr.arpa", NH_DNS_T_PTR, true, true, false,
	  1232 },
};

/* ---- helpers ---- */

struct seen {
	int n;
	char owner[8][NH_DNS_NAME_MAX];
	uint16_t type[8];
	uint8_t rdata[8][16];
	uint16_t rdlen[8];
	char target[8][NH_DNS_NAME_MAX];
	uint32_t ttl[8];
};

static int record(const char *owner, uint16_t type, const uint8_t *rdata,
		  uint16_t rdlen, const char *target, uint32_t ttl, void *user)
{
	struct seen *s = user;

	if (s->n == 8)
		return -E2BIG;
	strcpy(s->owner[s->n], owner);
	s->type[s->n] = type;
	s->rdlen[s->n] = rdlen;
	if (rdata) {
		assert_true(rdlen <= 16);
		memcpy(s->rdata[s->n], rdata, rdlen);
	}
	strcpy(s->target[s->n], target ? target : "-");
	s->ttl[s->n] = ttl;
	s->n++;
	return 0;
}

static int count_cb(const char *owner, uint16_t type, const uint8_t *rdata,
		    uint16_t rdlen, const char *target, uint32_t ttl,
		    void *user)
{
	(void)owner, (void)type, (void)rdata, (void)rdlen, (void)target;
	(void)ttl;
	(*(int *)user)++;
	return 0;
}

static int parse(const uint8_t *m, size_t len, struct nh_dns_query *q)
{
	return nh_dns_query_parse(m, len, q);
}

/* ---- real queries ---- */

static void test_vector(void **state)
{
	const struct vec *v = *state;
	struct nh_dns_query q, r;
	uint8_t out[1500], a4[4] = { 198, 18, 0, 5 };
	struct nh_dns_rr rr = { .type = NH_DNS_T_A, .ttl = 60 };
	struct seen s = { 0 };
	int len;

	assert_int_equal(parse(v->msg, v->len, &q), 0);
	assert_string_equal(q.name, v->name);
	assert_int_equal(q.qtype, v->qtype);
	assert_int_equal(q.qclass, NH_DNS_C_IN);
	assert_int_equal(!!(q.flags & NH_DNS_F_RD), v->rd);
	assert_int_equal(q.edns, v->edns);
	assert_int_equal(q.edns_do, v->edns_do);
	assert_int_equal(q.edns_size, v->edns_size);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(q.id, v->msg[0] << 8 | v->msg[1]);
	assert_int_equal(q.qend, NH_DNS_HDR_LEN + q.qwire_len + 4);
	/* the question is echoed byte for byte, its case kept */
	if (q.qtype == NH_DNS_T_PTR) {
		rr.type = NH_DNS_T_PTR;
		rr.name = "host.example.";
	} else if (q.qtype == NH_DNS_T_A) {
		rr.data = a4;
		rr.len = 4;
	}
	len = nh_dns_answer_build(
		&q, 0, &rr, q.qtype == NH_DNS_T_A || q.qtype == NH_DNS_T_PTR,
		q.edns_size, out, sizeof(out));
	assert_true(len > 0 && (size_t)len <= q.edns_size);
	assert_memory_equal(out + NH_DNS_HDR_LEN, v->msg + NH_DNS_HDR_LEN,
			    q.qend - NH_DNS_HDR_LEN);
	assert_int_equal(out[0] << 8 | out[1], q.id);
	assert_int_equal(out[2] & 0x81, 0x80 | (v->rd ? 1 : 0)); /* QR, RD */
	assert_int_equal(out[3], 0x80); /* RA, NOERROR */
	assert_int_equal(out[11], v->edns ? 1 : 0);
	assert_int_equal(nh_dns_response_walk(out, (size_t)len, &r, record, &s),
			 0);
	assert_string_equal(r.name, v->name);
	assert_int_equal(r.qtype, v->qtype);
	if (q.qtype == NH_DNS_T_A) {
		assert_int_equal(s.n, 1);
		assert_string_equal(s.owner[0], v->name);
		assert_memory_equal(s.rdata[0], a4, 4);
		assert_int_equal(s.ttl[0], 60);
	} else {
		/* PTR is not reported; AAAA, HTTPS, NS had none */
		assert_int_equal(s.n, 0);
	}
}

/* Cut anywhere: no header, nothing; a header, a FORMERR. */
static void test_vector_cut(void **state)
{
	const struct vec *v = *state;
	struct nh_dns_query q;

	for (size_t k = 0; k < v->len; k++) {
		int ret = parse(v->msg, k, &q);

		if (k < NH_DNS_HDR_LEN) {
			assert_int_equal(ret, -EINVAL);
		} else {
			assert_int_equal(ret, -EPROTO);
			assert_int_equal(q.id, v->msg[0] << 8 | v->msg[1]);
			/* a name only with a question (found by fuzz_dns) */
			if (!q.qend)
				assert_string_equal(q.name, "");
			assert_int_equal(nh_dns_query_rcode(ret),
					 NH_DNS_R_FORMERR);
		}
	}
}

/* ---- hand-made queries ---- */

/* A query for name: header (flags, counts), the question, then extra. */
static size_t mk(uint8_t *b, uint16_t flags, uint16_t qd, uint16_t an,
		 uint16_t ar, const void *qname, size_t qlen, uint16_t qtype,
		 const void *extra, size_t elen)
{
	size_t n = NH_DNS_HDR_LEN;

	memset(b, 0, NH_DNS_HDR_LEN);
	b[0] = 0x12, b[1] = 0x34;
	b[2] = (uint8_t)(flags >> 8), b[3] = (uint8_t)flags;
	b[5] = (uint8_t)qd, b[4] = (uint8_t)(qd >> 8);
	b[7] = (uint8_t)an;
	b[11] = (uint8_t)ar;
	memcpy(b + n, qname, qlen);
	n += qlen;
	b[n++] = (uint8_t)(qtype >> 8), b[n++] = (uint8_t)qtype;
	b[n++] = 0, b[n++] = 1;
	if (elen)
		memcpy(b + n, extra, elen);
	return n + elen;
}

#define QN        \
	"\x07"    \
	"example" \
	"\x03"    \
	"com"
#define QN_LEN sizeof(QN) /* with its root label, the NUL */
/* OPT: root, type 41, size 1232, ext rcode 0, version, DO, rdlen 0 */
#define OPT(ver, flags_hi) "\0\0\x29\x04\xd0\0" ver flags_hi "\0\0\0"

static void test_header_errors(void **state)
{
	struct nh_dns_query q;
	uint8_t b[600], out[600];
	size_t n;
	int len;

	(void)state;
	/* QR: a response, never answered */
	n = mk(b, 0x8100, 1, 0, 0, QN, QN_LEN, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), -EINVAL);
	assert_int_equal(nh_dns_query_rcode(-EINVAL), -EINVAL);
	assert_int_equal(parse(NULL, 0, &q), -EINVAL);
	assert_int_equal(parse(b, n, NULL), -EINVAL);
	/* opcode 1 (IQUERY), 2 (STATUS), 5 (UPDATE): NOTIMP, no question */
	for (int op = 1; op < 16; op++) {
		n = mk(b, (uint16_t)(op << 11 | 0x0100), 1, 0, 0, QN, QN_LEN, 1,
		       NULL, 0);
		assert_int_equal(parse(b, n, &q), -EOPNOTSUPP);
		assert_int_equal(q.id, 0x1234);
		assert_int_equal(q.qend, 0);
	}
	assert_int_equal(nh_dns_query_rcode(-EOPNOTSUPP), NH_DNS_R_NOTIMP);
	len = nh_dns_answer_build(&q, NH_DNS_R_NOTIMP, NULL, 0, 512, out,
				  sizeof(out));
	assert_int_equal(len, NH_DNS_HDR_LEN);
	assert_memory_equal(out, "\x12\x34\x81\x84\0\0\0\0\0\0\0\0", 12);
	/* answers need a question to point at */
	{
		uint8_t a[4] = { 1, 2, 3, 4 };
		struct nh_dns_rr rr = { .type = 1, .data = a, .len = 4 };

		assert_int_equal(nh_dns_answer_build(&q, 0, &rr, 1, 512, out,
						     sizeof(out)),
				 -EINVAL);
	}
	/* qdcount 0 and 2: FORMERR, header only */
	n = mk(b, 0x0100, 0, 0, 0, QN, QN_LEN, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	assert_int_equal(q.qend, 0);
	n = mk(b, 0x0100, 2, 0, 0, QN, QN_LEN, 1, "\0\0\x01\0\x01", 5);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	assert_int_equal(q.qend, 0);
	len = nh_dns_answer_build(&q, NH_DNS_R_FORMERR, NULL, 0, 512, out,
				  sizeof(out));
	assert_memory_equal(out, "\x12\x34\x81\x81\0\0\0\0\0\0\0\0", 12);
	assert_int_equal(len, 12);
	/* the header of a query is copied: id, RD, CD; TC/AA/AD are not */
	n = mk(b, 0x0730, 1, 0, 0, QN, QN_LEN, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), 0);
	len = nh_dns_answer_build(&q, 0, NULL, 0, 512, out, sizeof(out));
	assert_int_equal(len, (int)n);
	assert_memory_equal(out, "\x12\x34\x81\x90\0\x01\0\0\0\0\0\0", 12);
}

static void test_names(void **state)
{
	static const struct {
		const char *wire; /* the question's name, NUL-ended below */
		size_t len;
		int ret;
		const char *name;
	} t[] = {
#define W(s) s, sizeof(s)
		{ W("\x03WwW\x07"
		    "ExAmPle\x03"
		    "COM"),
		  0, "www.example.com" },
		{ W("\x04_srv\x04_tcp\x05my-h1"), 0, "_srv._tcp.my-h1" },
		{ W(""), 0, "" },
		{ W("\x03"
		    "a b"),
		  -EILSEQ, "" },
		{ W("\x03"
		    "a/b"),
		  -EILSEQ, "" },
		{ W("\x03"
		    "a:b"),
		  -EILSEQ, "" },
		{ W("\x03"
		    "a.b"),
		  -EILSEQ, "" },
		{ W("\x01*\x03"
		    "com"),
		  -EILSEQ, "" },
		{ W("\x02\x01"
		    "a"),
		  -EILSEQ, "" },
		{ W("\x02\xc3\xa9"), -EILSEQ, "" },
		{ W("\x02"
		    "a\x7f"),
		  -EILSEQ, "" },
		{ "\x03"
		  "a\0b",
		  5, -EILSEQ, "" },
		/* compression in a question: nothing before it to point at */
		{ W("\xc0\x0c"), -EPROTO, "" },
		{ W("\x01"
		    "a\xc0\x0c"),
		  -EPROTO, "" },
		/* extended and reserved label types */
		{ W("\x41"
		    "a"),
		  -EPROTO, "" },
		{ W("\x81"
		    "a"),
		  -EPROTO, "" },
#undef W
	};
	struct nh_dns_query q;
	uint8_t b[600], out[600];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		size_t n =
			mk(b, 0x0100, 1, 0, 0, t[i].wire, t[i].len, 1, NULL, 0);
		int ret = parse(b, n, &q);

		if (ret != t[i].ret)
			fail_msg("case %zu: %d, not %d", i, ret, t[i].ret);
		assert_string_equal(q.name, t[i].name);
		if (ret == -EILSEQ) {
			/* NXDOMAIN, the question echoed as it came */
			int len = nh_dns_answer_build(&q,
						      nh_dns_query_rcode(ret),
						      NULL, 0, 512, out,
						      sizeof(out));

			assert_int_equal(len, (int)n);
			assert_memory_equal(out + 12, b + 12, n - 12);
			assert_int_equal(out[3], 0x83);
		}
	}
}

/* Labels of 63 bytes and no more; names of 253 characters and no more. */
static void test_name_lengths(void **state)
{
	struct nh_dns_query q;
	uint8_t b[600], w[300], out[600];
	char name[300];
	size_t n, k;

	(void)state;
	w[0] = 63;
	memset(w + 1, 'a', 63);
	w[64] = 0;
	n = mk(b, 0x0100, 1, 0, 0, w, 65, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), 0);
	assert_int_equal(strlen(q.name), 63);
	w[0] = 64; /* 0x40: an extended label type */
	w[65] = 0;
	n = mk(b, 0x0100, 1, 0, 0, w, 66, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	/* 3 x 63 + 61 = 250 bytes of labels, 253 characters: 255 wire */
	for (k = 0; k < 4; k++) {
		uint8_t l = k < 3 ? 63 : 61;

		w[k * 64] = l;
		memset(w + k * 64 + 1, 'a' + (int)k, l);
	}
	w[3 * 64 + 62] = 0;
	n = mk(b, 0x0100, 1, 0, 0, w, 255, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), 0);
	assert_int_equal(strlen(q.name), 253);
	strcpy(name, q.name);
	/* and it goes back the way it came */
	q.qwire_len = 0;
	assert_int_equal(nh_dns_answer_build(&q, 0, NULL, 0, 512, out,
					     sizeof(out)),
			 (int)n);
	assert_memory_equal(out + 12, b + 12, n - 12);
	assert_int_equal(nh_dns_query_build(1, 0, name, 1, 0, out, sizeof(out)),
			 (int)n);
	/* one more: 256 wire bytes */
	w[3 * 64] = 62;
	w[3 * 64 + 62] = 'x';
	w[3 * 64 + 63] = 0;
	n = mk(b, 0x0100, 1, 0, 0, w, 256, 1, NULL, 0);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	strcat(name, "x");
	assert_int_equal(nh_dns_query_build(1, 0, name, 1, 0, out, sizeof(out)),
			 -EINVAL);
}

static void test_query_build(void **state)
{
	static const char *const bad[] = {
		"a..b", ".a", "..", "a..",
		("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaa.com")
	};
	struct nh_dns_query q;
	uint8_t b[600];
	int len;

	(void)state;
	len = nh_dns_query_build(7, NH_DNS_F_RD, "Example.COM.", NH_DNS_T_AAAA,
				 1400, b, sizeof(b));
	assert_int_equal(len, 12 + 13 + 4 + 11);
	assert_int_equal(parse(b, (size_t)len, &q), 0);
	assert_string_equal(q.name, "example.com");
	assert_int_equal(q.qtype, NH_DNS_T_AAAA);
	assert_true(q.edns && q.edns_size == 1400 && q.id == 7);
	for (const char *r = "."; r; r = r[0] ? "" : NULL) {
		len = nh_dns_query_build(7, 0, r, NH_DNS_T_NS, 0, b, sizeof(b));
		assert_int_equal(len, 12 + 1 + 4);
		assert_int_equal(parse(b, (size_t)len, &q), 0);
		assert_string_equal(q.name, "");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(nh_dns_query_build(7, 0, bad[i], 1, 0, b,
						    sizeof(b)),
				 -EINVAL);
	assert_int_equal(nh_dns_query_build(7, 0, "a.com", 1, 0, b, 20),
			 -ENOSPC);
	assert_int_equal(nh_dns_query_build(7, 0, "a.com", 1, 1232, b, 30),
			 -ENOSPC);
}

static void test_edns(void **state)
{
	struct nh_dns_query q;
	uint8_t b[600], out[600];
	size_t n;
	int len;

	(void)state;
	/* version 1: BADVERS, rcode 16 = 0 in the header, 1 in the OPT */
	n = mk(b, 0x0100, 1, 0, 1, QN, QN_LEN, 1, OPT("\x01", "\x80"), 11);
	assert_int_equal(parse(b, n, &q), -ENOPROTOOPT);
	assert_true(q.edns && q.edns_do && q.edns_version == 1 && q.qend);
	assert_int_equal(nh_dns_query_rcode(-ENOPROTOOPT), NH_DNS_R_BADVERS);
	len = nh_dns_answer_build(&q, NH_DNS_R_BADVERS, NULL, 0, q.edns_size,
				  out, sizeof(out));
	assert_int_equal(len, (int)n);
	assert_int_equal(out[3], 0x80);
	assert_memory_equal(out + n - 11, "\0\0\x29\x04\xd0\x01\0\x80\0\0\0",
			    11);
	/* an extended rcode needs an OPT record to carry it */
	q.edns = false;
	assert_int_equal(nh_dns_answer_build(&q, NH_DNS_R_BADVERS, NULL, 0, 512,
					     out, sizeof(out)),
			 -EINVAL);
	/* two OPT: FORMERR (RFC 6891 6.1.1), the question read */
	n = mk(b, 0x0100, 1, 0, 2, QN, QN_LEN, 1,
	       OPT("\0", "\0") OPT("\0", "\0"), 22);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	assert_int_not_equal(q.qend, 0);
	/* an OPT in the answer section */
	n = mk(b, 0x0100, 1, 1, 0, QN, QN_LEN, 1, OPT("\0", "\0"), 11);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	/* an OPT not owned by the root */
	n = mk(b, 0x0100, 1, 0, 1, QN, QN_LEN, 1,
	       "\x01"
	       "a" OPT("\0", "\0"),
	       13);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	/* options that overrun the rdata */
	n = mk(b, 0x0100, 1, 0, 1, QN, QN_LEN, 1,
	       "\0\0\x29\x04\xd0\0\0\0\0\0\x06\0\x0a\0\x08\0\0", 17);
	assert_int_equal(parse(b, n, &q), -EPROTO);
	/* a size below 512 reads as 512 */
	n = mk(b, 0x0100, 1, 0, 1, QN, QN_LEN, 1,
	       "\0\0\x29\x00\x10\0\0\0\0\0\0", 11);
	assert_int_equal(parse(b, n, &q), 0);
	assert_true(q.edns && !q.edns_do && q.edns_size == 512);
	/* other records before it are skipped, compressed or not */
	n = mk(b, 0x0100, 1, 1, 2, QN, QN_LEN, 1,
	       "\xc0\x0c\0\x01\0\x01\0\0\0\0\0\x04\1\2\3\4"
	       "\0\0\x10\0\x01\0\0\0\0\0\x01\x00" OPT("\0", "\x80"),
	       16 + 12 + 11);
	assert_int_equal(parse(b, n, &q), 0);
	assert_true(q.edns && q.edns_do && q.edns_size == 1232);
	/* and trailing bytes ignored */
	assert_int_equal(parse(b, n + 3, &q), 0);
}

static void test_answer_roundtrip(void **state)
{
	uint8_t a4[4] = { 198, 18, 0, 7 }, a6[16] = { 1, 0, [15] = 7 };
	struct nh_dns_rr rr[3] = {
		{ .type = NH_DNS_T_A, .ttl = 60, .data = a4, .len = 4 },
		{ .type = NH_DNS_T_AAAA,
		  .ttl = 0x80000001u,
		  .data = a6,
		  .len = 16 },
		{ .type = NH_DNS_T_CNAME, .ttl = 5, .name = "Other.Example." },
	};
	struct nh_dns_query q, r;
	struct seen s = { 0 };
	uint8_t b[600], out[600];
	int len;

	(void)state;
	len = nh_dns_query_build(9, NH_DNS_F_RD, "www.example.com", 1, 0, b,
				 sizeof(b));
	assert_int_equal(parse(b, (size_t)len, &q), 0);
	len = nh_dns_answer_build(&q, 0, rr, 3, 512, out, sizeof(out));
	assert_int_equal(len, 33 + 16 + 28 + 12 + 15);
	assert_int_equal(out[7], 3);
	assert_int_equal(nh_dns_response_walk(out, (size_t)len, &r, record, &s),
			 0);
	assert_int_equal(r.id, 9);
	assert_int_equal(r.flags, 0x8180);
	assert_string_equal(r.name, "www.example.com");
	assert_int_equal(s.n, 3);
	assert_string_equal(s.owner[1], "www.example.com");
	assert_int_equal(s.type[1], NH_DNS_T_AAAA);
	assert_int_equal(s.rdlen[1], 16);
	assert_memory_equal(s.rdata[1], a6, 16);
	assert_int_equal(s.ttl[1], 0); /* top bit set: 0 (RFC 2181 8) */
	assert_string_equal(s.target[2], "other.example");
	assert_int_equal(s.type[2], NH_DNS_T_CNAME);
	/* PTR rdata: the name uncompressed */
	rr[0].type = NH_DNS_T_PTR;
	rr[0].name = "a.b";
	len = nh_dns_answer_build(&q, 0, rr, 1, 512, out, sizeof(out));
	assert_int_equal(len, 33 + 12 + 5);
	assert_memory_equal(out + 33,
			    "\xc0\x0c\0\x0c\0\x01\0\0\0\x3c\0\x05"
			    "\x01"
			    "a\x01"
			    "b\0",
			    17);
	/* bad records */
	rr[0].name = "a..b";
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 512, out, 600),
			 -EINVAL);
	rr[0].name = NULL;
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 512, out, 600),
			 -EINVAL);
	rr[0].type = NH_DNS_T_A;
	rr[0].data = a4;
	rr[0].len = 3;
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 512, out, 600),
			 -EINVAL);
	rr[0].len = 4;
	rr[1].len = 4;
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 2, 512, out, 600),
			 -EINVAL);
	assert_int_equal(nh_dns_answer_build(&q, -1, NULL, 0, 512, out, 600),
			 -EINVAL);
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, -1, 512, out, 600),
			 -EINVAL);
	/* no room for the header and question */
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 512, out, 32),
			 -ENOSPC);
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 32, out, 600),
			 -ENOSPC);
	assert_int_equal(nh_dns_answer_build(&q, 0, rr, 1, 512, out, 33), 33);
	assert_int_equal(out[2] & 0x02, 0x02); /* TC */
}

/* 100 A records: 512 bytes hold 30, 1232 with EDNS 74; TC either way. */
static void test_answer_truncated(void **state)
{
	static uint8_t out[NH_DNS_TCP_MAX];
	struct nh_dns_rr rr[100];
	uint8_t a[100][4], b[600];
	struct nh_dns_query q;
	int len, n = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		a[i][0] = 198, a[i][1] = 18, a[i][2] = 0, a[i][3] = (uint8_t)i;
		rr[i] = (struct nh_dns_rr){
			.type = 1, .ttl = 1, .data = a[i], .len = 4
		};
	}
	len = nh_dns_query_build(1, NH_DNS_F_RD, "example.com", 1, 0, b,
				 sizeof(b));
	assert_int_equal(parse(b, (size_t)len, &q), 0);
	len = nh_dns_answer_build(&q, 0, rr, 100, q.edns_size, out,
				  sizeof(out));
	assert_int_equal(len, 29 + 30 * 16);
	assert_int_equal(out[2], 0x83); /* QR, TC, RD */
	assert_int_equal(out[7], 30);
	assert_int_equal(
		nh_dns_response_walk(out, (size_t)len, NULL, count_cb, &n), 0);
	assert_int_equal(n, 30);
	/* TCP: all of them */
	len = nh_dns_answer_build(&q, 0, rr, 100, NH_DNS_TCP_MAX, out,
				  sizeof(out));
	assert_int_equal(len, 29 + 100 * 16);
	assert_int_equal(out[2], 0x81);
	/* EDNS: the OPT record stays, within the client's 1232 */
	len = nh_dns_query_build(1, NH_DNS_F_RD, "example.com", 1, 1232, b,
				 sizeof(b));
	assert_int_equal(parse(b, (size_t)len, &q), 0);
	len = nh_dns_answer_build(&q, 0, rr, 100, q.edns_size, out,
				  sizeof(out));
	assert_int_equal(len, 29 + 74 * 16 + 11);
	assert_true(len <= 1232);
	assert_int_equal(out[2], 0x83);
	assert_int_equal(out[7], 74);
	assert_int_equal(out[11], 1);
	assert_memory_equal(out + len - 11, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
}

/* ---- responses ---- */

/*
 * www.example.com CNAME web.example.net, web.example.net A 192.0.2.1 and
 * AAAA 2001:db8::1, compressed as a real resolver does, then an SOA in
 * the authority section and an OPT.
 */
static const uint8_t resp[] =
	"\xab\xcd\x81\x80\0\1\0\4\0\0\0\1"
	/* 12: question */
	"\3www\7example\3com\0\0\1\0\1"
	/* 33: CNAME, target at 45 (its "com" a pointer to 24) */
	"\xc0\x0c\0\5\0\1\0\0\x0e\x10\0\x0e"
	"\3web\7example\xc0\x18"
	/* 59: a TXT of the same name, not reported */
	"\xc0\x0c\0\x10\0\1\0\0\0\1\0\2\1x"
	/* 73: A */
	"\xc0\x2d\0\1\0\1\0\0\0\x3c\0\4\xc0\0\2\1"
	/* 89: AAAA */
	"\xc0\x2d\0\x1c\0\1\0\0\0\x3c\0\x10"
	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"
	/* 117: OPT */
	"\0\0\x29\x04\xd0\0\0\0\0\0\0";
#define RESP_LEN (sizeof(resp) - 1)

static void test_walk(void **state)
{
	struct nh_dns_query q;
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(nh_dns_response_walk(resp, RESP_LEN, &q, record, &s),
			 0);
	assert_int_equal(q.id, 0xabcd);
	assert_string_equal(q.name, "www.example.com");
	assert_int_equal(q.qtype, NH_DNS_T_A);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.owner[0], "www.example.com");
	assert_string_equal(s.target[0], "web.example.com");
	assert_int_equal(s.ttl[0], 3600);
	assert_string_equal(s.owner[1], "web.example.com");
	assert_memory_equal(s.rdata[1], "\xc0\0\2\1", 4);
	assert_int_equal(s.type[2], NH_DNS_T_AAAA);
	/* without a callback or a query */
	assert_int_equal(nh_dns_response_walk(resp, RESP_LEN, NULL, NULL, NULL),
			 0);
	/* every cut: an error and no callback (the OPT is not walked) */
	for (size_t k = 0; k < RESP_LEN - 11; k++) {
		int n = 0,
		    ret = nh_dns_response_walk(resp, k, &q, count_cb, &n);

		assert_int_equal(ret, k < 12 ? -EINVAL : -EPROTO);
		assert_int_equal(n, 0);
	}
}

static int stop_cb(const char *owner, uint16_t type, const uint8_t *rdata,
		   uint16_t rdlen, const char *target, uint32_t ttl, void *user)
{
	(void)owner, (void)type, (void)rdata, (void)rdlen, (void)target;
	(void)ttl;
	return ++*(int *)user == 2 ? 7 : 0;
}

/* Copy of resp with bytes changed at off. */
static int walk_patched(size_t off, const void *p, size_t n)
{
	uint8_t m[RESP_LEN];
	int calls = 0, ret;

	memcpy(m, resp, sizeof(m));
	memcpy(m + off, p, n);
	ret = nh_dns_response_walk(m, sizeof(m), NULL, count_cb, &calls);
	if (ret)
		assert_int_equal(calls, 0);
	return ret;
}

static void test_walk_hostile(void **state)
{
	uint8_t m[600];
	int calls = 0;

	(void)state;
	assert_int_equal(
		nh_dns_response_walk(resp, RESP_LEN, NULL, stop_cb, &calls), 7);
	assert_int_equal(calls, 2);
	/* a query is not a response */
	assert_int_equal(walk_patched(2, "\x01", 1), -EINVAL);
	/* opcode, qdcount 2 */
	assert_int_equal(walk_patched(2, "\x89", 1), -EPROTO);
	assert_int_equal(walk_patched(4, "\0\2", 2), -EPROTO);
	/* qdcount 0: no question, records still read from offset 12 */
	/* pointer to itself (33), forward (past it), out of range */
	assert_int_equal(walk_patched(33, "\xc0\x21", 2), -EPROTO);
	assert_int_equal(walk_patched(33, "\xc0\x30", 2), -EPROTO);
	assert_int_equal(walk_patched(33, "\xff\xff", 2), -EPROTO);
	/* the CNAME target's pointer to itself, forward, to the record */
	assert_int_equal(walk_patched(57, "\xc0\x39", 2), -EPROTO);
	assert_int_equal(walk_patched(57, "\xc0\x3b", 2), -EPROTO);
	/* label types 01 and 10 */
	assert_int_equal(walk_patched(45, "\x43", 1), -EPROTO);
	assert_int_equal(walk_patched(45, "\x83", 1), -EPROTO);
	/* A of 5 bytes, AAAA of 4 (then lengths no longer add up either) */
	assert_int_equal(walk_patched(83, "\0\5", 2), -EPROTO);
	/* a CNAME whose target ends before its rdata does */
	assert_int_equal(walk_patched(44, "\x0c", 1), -EPROTO);
	/* a CNAME target or owner that is not a host name: skipped */
	assert_int_equal(walk_patched(46, "w b", 3), 0);
	calls = 0;
	memcpy(m, resp, RESP_LEN);
	m[46] = '/';
	assert_int_equal(
		nh_dns_response_walk(m, RESP_LEN, NULL, count_cb, &calls), 0);
	assert_int_equal(calls, 0); /* all three are owned by web/... */
	/* class CH: skipped */
	memcpy(m, resp, RESP_LEN);
	m[78] = 3; /* the A record */
	calls = 0;
	assert_int_equal(
		nh_dns_response_walk(m, RESP_LEN, NULL, count_cb, &calls), 0);
	assert_int_equal(calls, 2);
}

/*
 * A response of four A records, each owned by a label in front of the
 * previous owner (a pointer backwards): the first label of first bytes,
 * the others of 63; the last owner is 3 x 64 + 1 + first + 1 wire bytes.
 */
static size_t long_name_msg(uint8_t *m, uint8_t first)
{
	size_t n = NH_DNS_HDR_LEN, prev = 0;

	memset(m, 0, NH_DNS_HDR_LEN);
	m[2] = 0x81;
	m[7] = 4; /* no question, four answers */
	for (int k = 0; k < 4; k++) {
		uint8_t l = k ? 63 : first;
		size_t here = n;

		m[n] = l;
		memset(m + n + 1, 'a' + k, l);
		n += 1 + l;
		if (!k) {
			m[n++] = 0;
		} else {
			m[n++] = 0xc0 | (uint8_t)(prev >> 8);
			m[n++] = (uint8_t)prev;
		}
		prev = here;
		memcpy(m + n, "\0\1\0\1\0\0\0\1\0\4\1\2\3\4", 14);
		n += 14;
	}
	return n;
}

static void test_walk_long(void **state)
{
	struct seen s = { 0 };
	uint8_t m[600];
	size_t n;

	(void)state;
	n = long_name_msg(m, 61);
	assert_int_equal(nh_dns_response_walk(m, n, NULL, record, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(strlen(s.owner[3]), 253);
	assert_int_equal(s.owner[3][0], 'd');
	assert_int_equal(s.owner[3][253 - 61 - 1], '.');
	n = long_name_msg(m, 62);
	assert_int_equal(nh_dns_response_walk(m, n, NULL, record, &s), -EPROTO);
	assert_int_equal(s.n, 4); /* no more calls */
}

/* ---- reverse names, framing, type names ---- */

static void test_ptr_addr(void **state)
{
	static const struct {
		const char *name, *addr; /* NULL: -EINVAL */
	} t[] = {
		{ "5.0.18.198.in-addr.arpa", "198.18.0.5" },
		{ "5.0.18.198.IN-ADDR.ARPA.", "198.18.0.5" },
		{ "255.0.0.0.in-addr.arpa", "0.0.0.255" },
		{ "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0."
		  "ip6.arpa",
		  "100::5" },
		{ "B.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0."
		  "2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4."
		  "IP6.ARPA.",
		  "4321:0:1:2:3:4:567:89ab" },
		{ "05.0.18.198.in-addr.arpa", NULL },
		{ "256.0.18.198.in-addr.arpa", NULL },
		{ "1000.0.18.198.in-addr.arpa", NULL },
		{ "0.18.198.in-addr.arpa", NULL },
		{ "5.5.0.18.198.in-addr.arpa", NULL },
		{ "5.0.18.198.in-addr.arpa.com", NULL },
		{ "5.0.18.198.in-addr.arpa..", NULL },
		{ "5.0.18.198.ip6.arpa", NULL },
		{ "-5.0.18.198.in-addr.arpa", NULL },
		{ "5..18.198.in-addr.arpa", NULL },
		{ "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0." /* 31 nibbles */
		  "0.0.0.0.0.0.0.0.0.0.0.1.0.0.0."
		  "ip6.arpa",
		  NULL },
		{ "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0."
		  "0.ip6.arpa",
		  NULL },
		{ "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0."
		  "ip6.arpa",
		  NULL },
		{ "50.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.0.0.0.0.0.0.0.0.1.0.0.0."
		  "ip6.arpa",
		  NULL },
		{ "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		  "0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0."
		  "in-addr.arpa",
		  NULL },
		{ "example.com", NULL },
		{ "", NULL },
	};
	struct sockaddr_storage ss;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int ret = nh_dns_ptr_addr(t[i].name, &ss);

		if (!t[i].addr) {
			if (ret != -EINVAL)
				fail_msg("%s: %d", t[i].name, ret);
			continue;
		}
		if (ret)
			fail_msg("%s: %d", t[i].name, ret);
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET,
				  &((struct sockaddr_in *)&ss)->sin_addr, buf,
				  sizeof(buf));
		else
			inet_ntop(AF_INET6,
				  &((struct sockaddr_in6 *)&ss)->sin6_addr, buf,
				  sizeof(buf));
		assert_string_equal(buf, t[i].addr);
	}
	assert_int_equal(nh_dns_ptr_addr(NULL, &ss), -EINVAL);
}

static void test_misc(void **state)
{
	char buf[NH_DNS_TYPE_NAME_MAX];
	uint8_t p[2];

	(void)state;
	assert_string_equal(nh_dns_type_name(1, buf, sizeof(buf)), "A");
	assert_string_equal(nh_dns_type_name(28, buf, sizeof(buf)), "AAAA");
	assert_string_equal(nh_dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	assert_string_equal(nh_dns_type_name(123, buf, sizeof(buf)), "TYPE123");
	assert_string_equal(nh_dns_type_name(65535, buf, sizeof(buf)),
			    "TYPE65535");
	assert_string_equal(nh_dns_type_name(65535, buf, 4), "TYPE?");
	assert_int_equal(nh_dns_tcp_len(p, 1), -EAGAIN);
	nh_dns_tcp_prefix(p, 300);
	assert_memory_equal(p, "\x01\x2c", 2);
	assert_int_equal(nh_dns_tcp_len(p, 2), 300);
	nh_dns_tcp_prefix(p, 11);
	assert_int_equal(nh_dns_tcp_len(p, 2), -EPROTO);
	assert_int_equal(nh_dns_query_rcode(0), NH_DNS_R_NOERROR);
	assert_int_equal(nh_dns_query_rcode(-EILSEQ), NH_DNS_R_NXDOMAIN);
	assert_int_equal(nh_dns_query_rcode(-ENOMEM), -EINVAL);
}

int main(void)
{
	struct nh_tests ts = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		nh_tests_add(&ts, test_vector, (void *)&vecs[i], "query %s",
			     vecs[i].what);
		nh_tests_add(&ts, test_vector_cut, (void *)&vecs[i],
			     "query %s cut at every byte", vecs[i].what);
	}
	nh_tests_add(&ts, test_header_errors, NULL, "header errors");
	nh_tests_add(&ts, test_names, NULL, "names");
	nh_tests_add(&ts, test_name_lengths, NULL, "name lengths");
	nh_tests_add(&ts, test_query_build, NULL, "query build");
	nh_tests_add(&ts, test_edns, NULL, "edns");
	nh_tests_add(&ts, test_answer_roundtrip, NULL, "answer round trip");
	nh_tests_add(&ts, test_answer_truncated, NULL, "answer truncated");
	nh_tests_add(&ts, test_walk, NULL, "walk");
	nh_tests_add(&ts, test_walk_hostile, NULL, "walk hostile");
	nh_tests_add(&ts, test_walk_long, NULL, "walk long names");
	nh_tests_add(&ts, test_ptr_addr, NULL, "ptr addr");
	nh_tests_add(&ts, test_misc, NULL, "type names, tcp framing, rcodes");
	return nh_tests_run(&ts, "dns_msg");
}
