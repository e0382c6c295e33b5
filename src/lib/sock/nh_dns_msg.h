/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS messages (RFC 1035, EDNS RFC 6891) for the context's resolver: read
 * a program's query, write the answer, walk the answers of a real
 * resolver's response.  Pure protocol code: no sockets, no allocation, no
 * printing.
 *
 * Names.  A name is handed out in presentation form: labels joined by
 * '.', lower-cased ASCII, no trailing dot, "" for the root.  Since
 * nethook hands names on to a SOCKS5 or HTTP proxy, a name is accepted
 * only when every label byte is an ASCII letter, digit, '-' or '_' (SRV
 * and service names use '_'): a '.', NUL, '/', ':', space, control or
 * non-ASCII byte inside a label would be read differently by the proxy,
 * or not at all.  Such a query is well formed DNS, so it is not a FORMERR:
 * nh_dns_query_parse() says -EILSEQ and the resolver answers NXDOMAIN
 * (nh_dns_query_rcode()), the honest answer for a name no proxy can reach,
 * and one that stops a stub resolver at once where REFUSED or FORMERR
 * would send it to the next server and back.
 */
#ifndef NH_DNS_MSG_H
#define NH_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A name in presentation form with its NUL: at most 253 chars + NUL. */
#define NH_DNS_NAME_MAX 256
/* A name in wire form, root label included (RFC 1035 3.1). */
#define NH_DNS_WIRE_MAX 255
#define NH_DNS_HDR_LEN 12
/* Largest answer over UDP without EDNS, and over TCP (RFC 1035 4.2). */
#define NH_DNS_UDP_MAX 512
#define NH_DNS_TCP_MAX 65535
/* The UDP payload size the resolver offers in its OPT record: the DNS
 * flag day 2020 figure, which fits any path's MTU unfragmented. */
#define NH_DNS_EDNS_SIZE 1232
/* Room for nh_dns_type_name()'s "TYPE65535". */
#define NH_DNS_TYPE_NAME_MAX 10

/* Header flags (the second 16-bit word). */
#define NH_DNS_F_QR 0x8000
#define NH_DNS_F_OPCODE 0x7800
#define NH_DNS_F_AA 0x0400
#define NH_DNS_F_TC 0x0200
#define NH_DNS_F_RD 0x0100
#define NH_DNS_F_RA 0x0080
#define NH_DNS_F_AD 0x0020
#define NH_DNS_F_CD 0x0010
#define NH_DNS_F_RCODE 0x000f

enum nh_dns_type {
	NH_DNS_T_A = 1,
	NH_DNS_T_NS = 2,
	NH_DNS_T_CNAME = 5,
	NH_DNS_T_SOA = 6,
	NH_DNS_T_PTR = 12,
	NH_DNS_T_MX = 15,
	NH_DNS_T_TXT = 16,
	NH_DNS_T_AAAA = 28,
	NH_DNS_T_SRV = 33,
	NH_DNS_T_OPT = 41,
	NH_DNS_T_SVCB = 64,
	NH_DNS_T_HTTPS = 65,
	NH_DNS_T_ANY = 255,
};

#define NH_DNS_C_IN 1

enum nh_dns_rcode {
	NH_DNS_R_NOERROR = 0,
	NH_DNS_R_FORMERR = 1,
	NH_DNS_R_SERVFAIL = 2,
	NH_DNS_R_NXDOMAIN = 3,
	NH_DNS_R_NOTIMP = 4,
	NH_DNS_R_REFUSED = 5,
	/* extended (RFC 6891 6.1.3): only in an answer with an OPT record */
	NH_DNS_R_BADVERS = 16,
};

struct nh_dns_query {
	uint16_t id;
	uint16_t flags; /* header flags as received (RD, CD...) */
	uint16_t qtype, qclass;
	char name[NH_DNS_NAME_MAX]; /* see the top of this file */
	/*
	 * The question's name as received, in wire form: the answer echoes
	 * it byte for byte, so that a client that checks the case of its
	 * question (DNS 0x20) takes the answer.  qwire_len 0: the answer
	 * encodes name instead (a query filled in by hand).
	 */
	uint8_t qwire[NH_DNS_WIRE_MAX];
	uint8_t qwire_len;
	uint16_t qend; /* offset just past the question; 0: no question */
	bool edns; /* an OPT record was present */
	bool edns_do; /* its DO bit (RFC 3225), which the answer copies */
	uint8_t edns_version;
	uint16_t edns_size; /* its UDP payload size, at least 512 (512: none) */
};

/*
 * Read a query.  Returns 0 or, for what cannot be answered as asked:
 * -EINVAL: not a query (QR set) or shorter than a header: drop it;
 * -EOPNOTSUPP: opcode other than QUERY: answer NOTIMP (no question);
 * -EPROTO: malformed: qdcount other than 1, a name cut short, a label
 *  type other than plain (compression too: a question has nothing to
 *  point at), a record after the question cut short, an OPT record not
 *  owned by the root, or two of them: answer FORMERR;
 * -ENOPROTOOPT: EDNS version other than 0: answer BADVERS;
 * -EILSEQ: a name that is not a host name (top of this file): answer
 *  NXDOMAIN.
 * id and flags are filled from any header.  With -EPROTO, q->qend is not
 * 0 when the question itself was read (the answer may echo it), else
 * q->name is ""; with -ENOPROTOOPT and -EILSEQ it always is, and q->name
 * is "" for -EILSEQ.
 * EDNS fields are filled whenever the OPT record was read.  Records in
 * the answer and authority sections and other additional records are
 * skipped; bytes after the last record are ignored.
 */
int nh_dns_query_parse(const uint8_t *msg, size_t len, struct nh_dns_query *q);

/*
 * The rcode that answers a query nh_dns_query_parse() returned err for
 * (NOERROR for 0, the caller then picks its own), or -EINVAL: drop it.
 */
int nh_dns_query_rcode(int err);

/* One answer record, owned by the question's name, class IN. */
struct nh_dns_rr {
	uint16_t type;
	uint32_t ttl;
	/* rdata of other types: A 4 bytes, AAAA 16 (network order) */
	const uint8_t *data;
	uint16_t len;
	/* rdata of PTR, CNAME and NS: a name in presentation form (a
	 * trailing dot allowed), written uncompressed */
	const char *name;
};

/*
 * Write the answer to q into buf: the header (q's id, QR, opcode QUERY,
 * RD and CD copied from the query, RA, AA clear, rcode), the question
 * echoed (qwire, or name re-encoded; qtype, qclass), then the records of
 * rr[0..n) owned by the question's name (a pointer to offset 12), then,
 * when the query had EDNS, an OPT record (RFC 6891 6.1.1: a responder
 * answers EDNS with EDNS) offering NH_DNS_EDNS_SIZE, version 0, the DO
 * bit copied, no option, and the upper bits of an extended rcode.
 * With q->qend 0, only a header (qdcount 0; n must be 0) and the OPT
 * record: a FORMERR or NOTIMP to a query whose question was not read.
 * The answer is kept within max bytes (and buflen, and 65535): for UDP
 * 512, or q->edns_size; for TCP NH_DNS_TCP_MAX.  Records that do not fit
 * are left out from the first that does not fit on, and TC is set; the
 * OPT record is kept.  Returns the length written, -ENOSPC when not even
 * the header, question and OPT record fit, or -EINVAL (a bad record: an A
 * not 4 bytes, an AAAA not 16, a bad name; rcode above 15 without EDNS).
 */
int nh_dns_answer_build(const struct nh_dns_query *q, int rcode,
			const struct nh_dns_rr *rr, int n, size_t max,
			uint8_t *buf, size_t buflen);

/*
 * Write a query for name (presentation form) and qtype, class IN, with
 * the header flags given (NH_DNS_F_RD for a recursive one) and, when
 * edns_size is not 0, an OPT record offering it.  For tests and for
 * asking a real resolver.  The length written, or -EINVAL (a bad name)
 * or -ENOSPC.
 */
int nh_dns_query_build(uint16_t id, uint16_t flags, const char *name,
		       uint16_t qtype, uint16_t edns_size, uint8_t *buf,
		       size_t buflen);

/*
 * Called by nh_dns_response_walk() for each A, AAAA and CNAME record of
 * class IN in the answer section, in order: the owner name; the type; for
 * A and AAAA the address (rdlen 4 or 16) and target NULL; for CNAME rdata
 * NULL, rdlen 0 and target the name it points to; the TTL (RFC 2181 8: 0
 * when its top bit is set).  Returns 0 to go on, anything else to stop.
 */
typedef int (*nh_dns_rr_cb)(const char *owner, uint16_t type,
			    const uint8_t *rdata, uint16_t rdlen,
			    const char *target, uint32_t ttl, void *user);

/*
 * Walk a response (a real resolver's answer to a program): fill q, when
 * not NULL, with its header and question (name "" when it has none, or
 * when the name is not a host name), then call cb for each record of the
 * answer section that it reports.  The whole answer section is read
 * first, so cb is called only for a well-formed one.  Compressed names
 * are followed backwards only (each pointer lower than where the last
 * jump landed: no loop), at most 127 jumps, within the message; labels of
 * at most 63 bytes, names of at most 255 wire bytes.  A record whose
 * owner or target is not a host name is skipped.  Returns 0, whatever cb
 * returned to stop, -EINVAL (not a response: shorter than a header, or QR
 * clear) or -EPROTO (opcode other than QUERY, qdcount above 1, a name or
 * record cut short or malformed, an A or AAAA of the wrong size).
 */
int nh_dns_response_walk(const uint8_t *msg, size_t len, struct nh_dns_query *q,
			 nh_dns_rr_cb cb, void *user);

/*
 * The address a reverse name stands for: "5.0.18.198.in-addr.arpa" (four
 * decimal labels, no leading zero) gives AF_INET 198.18.0.5, a name of 32
 * one-nibble labels under ip6.arpa gives AF_INET6; any case, an optional
 * trailing dot; port 0.  0 or -EINVAL (anything else, shorter reverse
 * names for whole networks too).
 */
int nh_dns_ptr_addr(const char *name, struct sockaddr_storage *ss);

/*
 * TCP framing (RFC 1035 4.2.2): each message is preceded by its length,
 * two bytes in network order.  nh_dns_tcp_len() reads the prefix at the
 * start of buf: the message's length, -EAGAIN when fewer than 2 bytes
 * are there, -EPROTO when it is shorter than a DNS header.
 */
int nh_dns_tcp_len(const uint8_t *buf, size_t len);
/* Write the 2-byte prefix for a message of len bytes. */
void nh_dns_tcp_prefix(uint8_t *buf, uint16_t len);

/*
 * "A", "AAAA", "HTTPS"... for a type, or "TYPE123" (RFC 3597) written to
 * buf (at least NH_DNS_TYPE_NAME_MAX bytes).  Never NULL.
 */
const char *nh_dns_type_name(uint16_t type, char *buf, size_t buflen);

#endif
