// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS messages: queries, answers, responses (RFC 1035 4, RFC 2181, EDNS
 * RFC 6891, DO bit RFC 3225), reverse names (RFC 1035 3.5, RFC 3596 2.5).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include "nh_dns_msg.h"

/* Fixed part of a record after its owner: type, class, TTL, rdlength. */
#define RR_FIXED 10
/* An OPT record without options: root owner plus the fixed part. */
#define OPT_LEN (1 + RR_FIXED)
/*
 * Pointer chains longer than this are hostile: a real name of at most
 * 127 labels never needs more jumps than it has labels.
 */
#define MAX_JUMPS 127

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Read the name at off.  *end: the offset just past it where it starts
 * (past its first pointer when compressed).  out (NH_DNS_NAME_MAX bytes,
 * may be NULL) gets its presentation form, lower-cased, or "" when a
 * label byte is not a host name's.  0, -EILSEQ (well formed, not a host
 * name) or -EPROTO.
 */
static int name_read_at(const uint8_t *msg, size_t len, size_t off,
			bool compress, char *out, size_t *end)
{
	size_t pos = off, floor = off, wire = 1, o = 0;
	bool jumped = false, bad = false;
	int jumps = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -EPROTO;
		c = msg[pos];
		if (c == 0) {
			if (!jumped)
				*end = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (!compress || pos + 1 >= len)
				return -EPROTO;
			t = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/*
			 * Each jump lands below where the previous one
			 * landed (or the name began), so labels read after
			 * a jump can never lead back to it: no loop.
			 */
			if (t >= floor || ++jumps > MAX_JUMPS)
				return -EPROTO;
			if (!jumped)
				*end = pos + 2;
			jumped = true;
			floor = pos = t;
			continue;
		}
		if (c & 0xc0) /* extended (RFC 6891) or reserved label types */
			return -EPROTO;
		wire += 1 + c;
		if (wire > NH_DNS_WIRE_MAX || pos + 1 + c > len)
			return -EPROTO;
		if (o) {
			if (out)
				out[o] = '.';
			o++;
		}
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];

			if (!host_char(b))
				bad = true;
			if (b >= 'A' && b <= 'Z')
				b = (uint8_t)(b - 'A' + 'a');
			if (out)
				out[o] = (char)b;
			o++;
		}
		pos += 1 + c;
	}
	if (out)
		out[bad ? 0 : o] = '\0';
	return bad ? -EILSEQ : 0;
}

/* As name_read_at(), with out "" on any error: never half a name. */
static int name_read(const uint8_t *msg, size_t len, size_t off, bool compress,
		     char *out, size_t *end)
{
	int err = name_read_at(msg, len, off, compress, out, end);

	if (err && out)
		out[0] = '\0';
	return err;
}

/*
 * Encode a presentation-form name (a trailing dot allowed, "" and "." the
 * root) uncompressed into out.  The wire length or -EINVAL: an empty
 * label, a label over 63 bytes, a name over 255 wire bytes.  No escapes:
 * a name here came from nh_dns_query_parse() or from nethook itself.
 */
static int name_write(const char *name, uint8_t *out)
{
	size_t n = strlen(name), w = 0, i = 0;

	if (n && name[n - 1] == '.')
		n--;
	while (i < n) {
		size_t j = i;

		while (j < n && name[j] != '.')
			j++;
		if (j == i || j - i > 63 ||
		    w + 1 + (j - i) + 1 > NH_DNS_WIRE_MAX)
			return -EINVAL;
		out[w++] = (uint8_t)(j - i);
		memcpy(out + w, name + i, j - i);
		w += j - i;
		i = j + 1;
		if (j < n && i == n) /* "a..": an empty last label */
			return -EINVAL;
	}
	out[w++] = 0;
	return (int)w;
}

/* Skip the name at off without following pointers: its end or -EPROTO. */
static int name_skip(const uint8_t *msg, size_t len, size_t off, size_t *end)
{
	size_t wire = 1;

	for (;;) {
		uint8_t c;

		if (off >= len)
			return -EPROTO;
		c = msg[off];
		if (c == 0) {
			*end = off + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len)
				return -EPROTO;
			*end = off + 2;
			return 0;
		}
		if (c & 0xc0)
			return -EPROTO;
		wire += 1 + c;
		if (wire > NH_DNS_WIRE_MAX)
			return -EPROTO;
		off += 1 + c;
	}
}

/* The records after the question: skipped, but an OPT record is read. */
static int query_records(const uint8_t *msg, size_t len, size_t off,
			 unsigned int count, unsigned int ar_from,
			 struct nh_dns_query *q)
{
	for (unsigned int i = 0; i < count; i++) {
		size_t start = off, rdlen;
		uint16_t type;
		uint32_t ttl;

		if (name_skip(msg, len, off, &off) || len - off < RR_FIXED)
			return -EPROTO;
		type = get16(msg + off);
		ttl = get32(msg + off + 4);
		rdlen = get16(msg + off + 8);
		off += RR_FIXED;
		if (len - off < rdlen)
			return -EPROTO;
		if (type == NH_DNS_T_OPT) {
			size_t o = off;

			/* RFC 6891 6.1.1: in the additional section, once,
			 * owned by the root */
			if (i < ar_from || q->edns ||
			    off - start != 1 + RR_FIXED)
				return -EPROTO;
			while (o < off + rdlen) {
				if (off + rdlen - o < 4 ||
				    off + rdlen - o - 4 < get16(msg + o + 2))
					return -EPROTO;
				o += 4 + get16(msg + o + 2);
			}
			q->edns = true;
			q->edns_size = get16(msg + off - 8);
			/* RFC 6891 6.2.5: below 512 reads as 512 */
			if (q->edns_size < NH_DNS_UDP_MAX)
				q->edns_size = NH_DNS_UDP_MAX;
			q->edns_version = (uint8_t)(ttl >> 16);
			q->edns_do = ttl & 0x8000;
		}
		off += rdlen;
	}
	return 0;
}

int nh_dns_query_parse(const uint8_t *msg, size_t len, struct nh_dns_query *q)
{
	unsigned int qd, an, ns, ar;
	size_t off;
	int name_err, err;

	if (!q)
		return -EINVAL;
	memset(q, 0, sizeof(*q));
	q->edns_size = NH_DNS_UDP_MAX;
	if (!msg || len < NH_DNS_HDR_LEN)
		return -EINVAL;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	if (q->flags & NH_DNS_F_QR)
		return -EINVAL;
	if (q->flags & NH_DNS_F_OPCODE)
		return -EOPNOTSUPP;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);
	if (qd != 1)
		return -EPROTO;
	name_err = name_read(msg, len, NH_DNS_HDR_LEN, false, q->name, &off);
	if (name_err == -EPROTO || len - off < 4) {
		q->name[0] = '\0'; /* no question: no name */
		return -EPROTO;
	}
	memcpy(q->qwire, msg + NH_DNS_HDR_LEN, off - NH_DNS_HDR_LEN);
	q->qwire_len = (uint8_t)(off - NH_DNS_HDR_LEN);
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	q->qend = (uint16_t)(off + 4);
	err = query_records(msg, len, q->qend, an + ns + ar, an + ns, q);
	if (err)
		return err;
	if (q->edns && q->edns_version)
		return -ENOPROTOOPT;
	return name_err;
}

int nh_dns_query_rcode(int err)
{
	switch (err) {
	case 0:
		return NH_DNS_R_NOERROR;
	case -EPROTO:
		return NH_DNS_R_FORMERR;
	case -EOPNOTSUPP:
		return NH_DNS_R_NOTIMP;
	case -ENOPROTOOPT:
		return NH_DNS_R_BADVERS;
	case -EILSEQ:
		return NH_DNS_R_NXDOMAIN;
	default:
		return -EINVAL;
	}
}

/* A record's rdata as it goes on the wire: into tmp for a name. */
static int rr_rdata(const struct nh_dns_rr *rr, uint8_t *tmp,
		    const uint8_t **data)
{
	switch (rr->type) {
	case NH_DNS_T_PTR:
	case NH_DNS_T_CNAME:
	case NH_DNS_T_NS:
		*data = tmp;
		return rr->name ? name_write(rr->name, tmp) : -EINVAL;
	case NH_DNS_T_A:
		if (rr->len != 4)
			return -EINVAL;
		break;
	case NH_DNS_T_AAAA:
		if (rr->len != 16)
			return -EINVAL;
		break;
	case NH_DNS_T_OPT: /* a pseudo-record: never an answer */
		return -EINVAL;
	}
	if (!rr->data && rr->len)
		return -EINVAL;
	*data = rr->data;
	return rr->len;
}

int nh_dns_answer_build(const struct nh_dns_query *q, int rcode,
			const struct nh_dns_rr *rr, int n, size_t max,
			uint8_t *buf, size_t buflen)
{
	uint8_t tmp[NH_DNS_WIRE_MAX];
	const uint8_t *qname = NULL, *data;
	size_t limit = max, pos, optlen, qlen = 0;
	uint16_t flags, ancount = 0;
	int i, w;

	if (!q || !buf || n < 0 || (n && !rr) || (n && !q->qend) || rcode < 0 ||
	    rcode > 0xfff || (rcode > 15 && !q->edns))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (rr_rdata(&rr[i], tmp, &data) < 0)
			return -EINVAL;
	if (limit > buflen)
		limit = buflen;
	if (limit > NH_DNS_TCP_MAX)
		limit = NH_DNS_TCP_MAX;
	if (q->qend) {
		if (q->qwire_len) {
			qname = q->qwire;
			qlen = q->qwire_len;
		} else {
			w = name_write(q->name, tmp);
			if (w < 0)
				return -EINVAL;
			qname = tmp;
			qlen = (size_t)w;
		}
	}
	optlen = q->edns ? OPT_LEN : 0;
	pos = NH_DNS_HDR_LEN + (qname ? qlen + 4 : 0);
	if (pos + optlen > limit)
		return -ENOSPC;
	if (qname) {
		memmove(buf + NH_DNS_HDR_LEN, qname, qlen);
		put16(buf + NH_DNS_HDR_LEN + qlen, q->qtype);
		put16(buf + NH_DNS_HDR_LEN + qlen + 2, q->qclass);
	}
	flags = NH_DNS_F_QR | NH_DNS_F_RA | (rcode & NH_DNS_F_RCODE) |
		(q->flags & (NH_DNS_F_RD | NH_DNS_F_CD));
	for (i = 0; i < n; i++) {
		int rdlen = rr_rdata(&rr[i], tmp, &data);

		/* RFC 2181 9: what does not fit is left out, and TC says so */
		if (pos + 2 + RR_FIXED + (size_t)rdlen + optlen > limit) {
			flags |= NH_DNS_F_TC;
			break;
		}
		put16(buf + pos, 0xc000 | NH_DNS_HDR_LEN);
		put16(buf + pos + 2, rr[i].type);
		put16(buf + pos + 4, NH_DNS_C_IN);
		put32(buf + pos + 6, rr[i].ttl);
		put16(buf + pos + 10, (uint16_t)rdlen);
		if (rdlen)
			memcpy(buf + pos + 12, data, (size_t)rdlen);
		pos += 2 + RR_FIXED + (size_t)rdlen;
		ancount++;
	}
	if (q->edns) {
		buf[pos] = 0;
		put16(buf + pos + 1, NH_DNS_T_OPT);
		put16(buf + pos + 3, NH_DNS_EDNS_SIZE);
		/* extended rcode, version 0, DO copied (RFC 3225 3) */
		put32(buf + pos + 5, (uint32_t)(rcode >> 4) << 24 |
					     (q->edns_do ? 0x8000u : 0));
		put16(buf + pos + 9, 0);
		pos += OPT_LEN;
	}
	put16(buf, q->id);
	put16(buf + 2, flags);
	put16(buf + 4, qname ? 1 : 0);
	put16(buf + 6, ancount);
	put16(buf + 8, 0);
	put16(buf + 10, q->edns ? 1 : 0);
	return (int)pos;
}

int nh_dns_query_build(uint16_t id, uint16_t flags, const char *name,
		       uint16_t qtype, uint16_t edns_size, uint8_t *buf,
		       size_t buflen)
{
	uint8_t wire[NH_DNS_WIRE_MAX];
	size_t pos;
	int w;

	if (!name || !buf)
		return -EINVAL;
	w = name_write(name, wire);
	if (w < 0)
		return w;
	pos = NH_DNS_HDR_LEN + (size_t)w + 4;
	if (pos + (edns_size ? OPT_LEN : 0) > buflen)
		return -ENOSPC;
	memset(buf, 0, NH_DNS_HDR_LEN);
	put16(buf, id);
	put16(buf + 2, flags);
	put16(buf + 4, 1);
	memcpy(buf + NH_DNS_HDR_LEN, wire, (size_t)w);
	put16(buf + pos - 4, qtype);
	put16(buf + pos - 2, NH_DNS_C_IN);
	if (edns_size) {
		put16(buf + 10, 1);
		buf[pos] = 0;
		put16(buf + pos + 1, NH_DNS_T_OPT);
		put16(buf + pos + 3, edns_size);
		put32(buf + pos + 5, 0);
		put16(buf + pos + 9, 0);
		pos += OPT_LEN;
	}
	return (int)pos;
}

/* One answer record read by walk_answers(). */
struct rr_view {
	uint16_t type, rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
	bool report; /* IN, of a type reported, names host names */
	char owner[NH_DNS_NAME_MAX], target[NH_DNS_NAME_MAX];
};

static int rr_read(const uint8_t *msg, size_t len, size_t *off,
		   struct rr_view *v)
{
	size_t p, rend, tend;
	uint16_t class;
	int owner_err, err;

	owner_err = name_read(msg, len, *off, true, v->owner, &p);
	if (owner_err == -EPROTO || len - p < RR_FIXED)
		return -EPROTO;
	v->type = get16(msg + p);
	class = get16(msg + p + 2);
	v->ttl = get32(msg + p + 4);
	if (v->ttl & 0x80000000u)
		v->ttl = 0;
	v->rdlen = get16(msg + p + 8);
	p += RR_FIXED;
	if (len - p < v->rdlen)
		return -EPROTO;
	v->rdata = msg + p;
	rend = p + v->rdlen;
	*off = rend;
	v->report = class == NH_DNS_C_IN && !owner_err;
	if (class != NH_DNS_C_IN)
		return 0;
	switch (v->type) {
	case NH_DNS_T_A:
		return v->rdlen == 4 ? 0 : -EPROTO;
	case NH_DNS_T_AAAA:
		return v->rdlen == 16 ? 0 : -EPROTO;
	case NH_DNS_T_CNAME:
		/* the target may point back into the message, but must end
		 * where the rdata does */
		err = name_read(msg, rend, p, true, v->target, &tend);
		if (err == -EPROTO || tend != rend)
			return -EPROTO;
		if (err)
			v->report = false;
		return 0;
	default:
		v->report = false;
		return 0;
	}
}

static int walk_answers(const uint8_t *msg, size_t len, size_t off,
			unsigned int an, nh_dns_rr_cb cb, void *user)
{
	struct rr_view v;
	int err;

	for (unsigned int i = 0; i < an; i++) {
		err = rr_read(msg, len, &off, &v);
		if (err)
			return err;
		if (!cb || !v.report)
			continue;
		err = v.type == NH_DNS_T_CNAME ? cb(v.owner, v.type, NULL, 0,
						    v.target, v.ttl, user) :
						 cb(v.owner, v.type, v.rdata,
						    v.rdlen, NULL, v.ttl, user);
		if (err)
			return err;
	}
	return 0;
}

int nh_dns_response_walk(const uint8_t *msg, size_t len, struct nh_dns_query *q,
			 nh_dns_rr_cb cb, void *user)
{
	struct nh_dns_query tmp;
	unsigned int qd, an;
	size_t off = NH_DNS_HDR_LEN;
	int err;

	if (!q)
		q = &tmp;
	memset(q, 0, sizeof(*q));
	q->edns_size = NH_DNS_UDP_MAX;
	if (!msg || len < NH_DNS_HDR_LEN)
		return -EINVAL;
	q->id = get16(msg);
	q->flags = get16(msg + 2);
	if (!(q->flags & NH_DNS_F_QR))
		return -EINVAL;
	if (q->flags & NH_DNS_F_OPCODE)
		return -EPROTO;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	if (qd > 1)
		return -EPROTO;
	if (qd) {
		err = name_read(msg, len, off, true, q->name, &off);
		if (err == -EPROTO || len - off < 4)
			return -EPROTO;
		q->qtype = get16(msg + off);
		q->qclass = get16(msg + off + 2);
		off += 4;
		q->qend = (uint16_t)off;
	}
	/* all of it checked before cb hears of any of it */
	err = walk_answers(msg, len, off, an, NULL, NULL);
	if (err || !cb)
		return err;
	return walk_answers(msg, len, off, an, cb, user);
}

/* A decimal label 0..255 without leading zero, ending at '.' or NUL. */
static int ptr_octet(const char **s)
{
	const char *p = *s;
	int v = 0, n = 0;

	while (*p >= '0' && *p <= '9' && n < 3) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (!n || v > 255 || (n > 1 && **s == '0') || *p != '.')
		return -EINVAL;
	*s = p + 1;
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s is suffix (any case), an optional trailing dot and nothing more. */
static bool is_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(suffix);

	return !strncasecmp(s, suffix, n) &&
	       (!s[n] || (s[n] == '.' && !s[n + 1]));
}

int nh_dns_ptr_addr(const char *name, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *p = name;
	uint8_t a[16];
	int i, v;

	if (!name || !ss)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		v = ptr_octet(&p);
		if (v < 0)
			break;
		a[3 - i] = (uint8_t)v;
	}
	if (i == 4 && is_suffix(p, "in-addr.arpa")) {
		memset(ss, 0, sizeof(*ss));
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		return 0;
	}
	p = name;
	memset(a, 0, sizeof(a));
	for (i = 0; i < 32; i++) {
		v = hexval(p[0]);
		if (v < 0 || p[1] != '.')
			return -EINVAL;
		a[15 - i / 2] |= (uint8_t)(i & 1 ? v << 4 : v);
		p += 2;
	}
	if (!is_suffix(p, "ip6.arpa"))
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a, 16);
	return 0;
}

int nh_dns_tcp_len(const uint8_t *buf, size_t len)
{
	if (len < 2)
		return -EAGAIN;
	if (get16(buf) < NH_DNS_HDR_LEN)
		return -EPROTO;
	return get16(buf);
}

void nh_dns_tcp_prefix(uint8_t *buf, uint16_t len)
{
	put16(buf, len);
}

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{ NH_DNS_T_A, "A" },	     { NH_DNS_T_NS, "NS" },
	{ NH_DNS_T_CNAME, "CNAME" }, { NH_DNS_T_SOA, "SOA" },
	{ NH_DNS_T_PTR, "PTR" },     { NH_DNS_T_MX, "MX" },
	{ NH_DNS_T_TXT, "TXT" },     { NH_DNS_T_AAAA, "AAAA" },
	{ NH_DNS_T_SRV, "SRV" },     { NH_DNS_T_OPT, "OPT" },
	{ NH_DNS_T_SVCB, "SVCB" },   { NH_DNS_T_HTTPS, "HTTPS" },
	{ NH_DNS_T_ANY, "ANY" },
};

const char *nh_dns_type_name(uint16_t type, char *buf, size_t buflen)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	if (!buf || buflen < NH_DNS_TYPE_NAME_MAX)
		return "TYPE?";
	snprintf(buf, buflen, "TYPE%u", type);
	return buf;
}
