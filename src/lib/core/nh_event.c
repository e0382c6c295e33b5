// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Events: from the kernel's record to struct nh_event, and to a log line. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdbool.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_dns_msg.h"
#include "nh_event.h"
#include "nh_spec.h"

const char *nh_errno_name(int err)
{
	switch (err) {
	case 0:
		return NULL;
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ECONNRESET:
		return "ECONNRESET";
	case ECONNABORTED:
		return "ECONNABORTED";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EINVAL:
		return "EINVAL";
	case ENOENT:
		return "ENOENT";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EPROTO:
		return "EPROTO";
	case EMFILE:
		return "EMFILE";
	case EPIPE:
		return "EPIPE";
	case ENOMEM:
		return "ENOMEM";
	case EIO:
		return "EIO";
	case EHOSTDOWN:
		return "EHOSTDOWN";
	case EPROTONOSUPPORT:
		return "EPROTONOSUPPORT";
	case ENOBUFS:
		return "ENOBUFS";
	default:
		return "EUNKNOWN";
	}
}

/* The kernel's numbers are the public ones: an event and its route are
 * copied across, not translated. */
_Static_assert((int)NH_EV_CREATE == (int)NH_EVENT_CREATE &&
		       (int)NH_EV_CONNECT == (int)NH_EVENT_CONNECT &&
		       (int)NH_EV_BLOCK == (int)NH_EVENT_BLOCK &&
		       (int)NH_EV_REDIRECT == (int)NH_EVENT_REDIRECT &&
		       (int)NH_EV_END == (int)NH_EVENT_END,
	       "enum nh_ev_type (nh_bpf_abi.h) is enum nh_event_type");
_Static_assert(NH_EVMASK(NH_EV_END) == NH_EVENT_MASK(NH_EVENT_END),
	       "the kernel's ev_mask bits are NH_EVENT_MASK()'s");
_Static_assert((int)NH_ACT_PASS == (int)NH_ROUTE_DIRECT &&
		       (int)NH_ACT_BLOCK == (int)NH_ROUTE_BLOCK &&
		       (int)NH_ACT_REDIRECT == (int)NH_ROUTE_REDIRECT &&
		       (int)NH_ACT_DIVERT == (int)NH_ROUTE_DIVERT,
	       "enum nh_act (nh_bpf_abi.h) is enum nh_route");

const char *nh_hs_mode_name(unsigned int mode)
{
	switch (mode) {
	case NH_HS_STEPWISE:
		return "stepwise";
	case NH_HS_PIPELINED:
		return "pipelined";
	case NH_HS_OPTIMISTIC:
		return "optimistic";
	default:
		return NULL;
	}
}

void nh_event_from_bpf(const struct nh_bpf_event *be, int64_t mono_to_real,
		       struct nh_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->sz = sizeof(*ev);
	ev->type = (enum nh_event_type)be->type;
	ev->ts_ns = (uint64_t)((int64_t)be->ts_ns + mono_to_real);
	ev->pid = (pid_t)be->pid;
	ev->uid = be->uid;
	ev->cgroup_id = be->cgroup_id;
	ev->cookie = be->cookie;
	ev->proto = be->proto;
	nh_addr_to_sockaddr(&be->orig, &ev->orig_dst);
	nh_addr_to_sockaddr(&be->dst, &ev->new_dst);
	ev->route = (enum nh_route)be->action;
	ev->bytes_out = be->bytes_out;
	ev->bytes_in = be->bytes_in;
	ev->duration_ns = be->duration_ns;
	ev->established = be->established;
	ev->err = be->err;
	ev->sock_family = be->sk_family;
	ev->sock_type = be->sk_type;
	ev->sock_protocol = be->sk_protocol;
	ev->handshake = nh_hs_mode_name(be->hs_mode);
	ev->handshake_ns = (uint64_t)be->hs_us * 1000ull;
}

static const char *const family_names[] = {
	[1] = "unix",	    [2] = "inet",      [3] = "ax25",
	[4] = "ipx",	    [5] = "appletalk", [6] = "netrom",
	[7] = "bridge",	    [8] = "atmpvc",    [9] = "x25",
	[10] = "inet6",	    [11] = "rose",     [12] = "decnet",
	[13] = "netbeui",   [14] = "security", [15] = "key",
	[16] = "netlink",   [17] = "packet",   [18] = "ash",
	[19] = "econet",    [20] = "atmsvc",   [21] = "rds",
	[22] = "sna",	    [23] = "irda",     [24] = "pppox",
	[25] = "wanpipe",   [26] = "llc",      [27] = "ib",
	[28] = "mpls",	    [29] = "can",      [30] = "tipc",
	[31] = "bluetooth", [32] = "iucv",     [33] = "rxrpc",
	[34] = "isdn",	    [35] = "phonet",   [36] = "ieee802154",
	[37] = "caif",	    [38] = "alg",      [39] = "nfc",
	[40] = "vsock",	    [41] = "kcm",      [42] = "qipcrtr",
	[43] = "smc",	    [44] = "xdp",      [45] = "mctp",
};

static const char *family_name(int family)
{
	if (family > 0 &&
	    family < (int)(sizeof(family_names) / sizeof(family_names[0])) &&
	    family_names[family])
		return family_names[family];
	return NULL;
}

static bool is_ping(int type, int protocol)
{
	return type == SOCK_DGRAM &&
	       (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6);
}

/* The log's proto: the transport, or for a socket refused when it was
 * made, the kind of socket (raw, packet, udplite, vsock...). */
static const char *proto_name(const struct nh_event *ev, char *buf, size_t len)
{
	int fam = NH_OPT(ev, sock_family, 0), type = NH_OPT(ev, sock_type, 0);
	int protocol = NH_OPT(ev, sock_protocol, 0);
	const char *name;

	if (fam == AF_INET || fam == AF_INET6) {
		if (type == SOCK_RAW)
			return "raw";
		if (is_ping(type, protocol))
			return protocol == IPPROTO_ICMP ? "icmp" : "icmpv6";
		if (protocol == IPPROTO_UDPLITE)
			return "udplite";
		if (protocol == IPPROTO_SCTP)
			return "sctp";
		snprintf(buf, len, "ipproto-%d", protocol);
		return buf;
	}
	if (fam) {
		name = family_name(fam);
		if (name)
			return name;
		snprintf(buf, len, "af-%d", fam);
		return buf;
	}
	switch (ev->proto) {
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	return "tcp";
}

static const char *type_name(int type)
{
	static const char *const names[] = {
		[SOCK_STREAM] = "SOCK_STREAM",
		[SOCK_DGRAM] = "SOCK_DGRAM",
		[SOCK_RAW] = "SOCK_RAW",
		[SOCK_RDM] = "SOCK_RDM",
		[SOCK_SEQPACKET] = "SOCK_SEQPACKET",
		[SOCK_DCCP] = "SOCK_DCCP",
		[SOCK_PACKET] = "SOCK_PACKET",
	};

	if (type > 0 && type < (int)(sizeof(names) / sizeof(names[0])))
		return names[type];
	return NULL;
}

static void protocol_str(int fam, int protocol, char *buf, size_t len)
{
	static const struct {
		int n;
		const char *name;
	} ip[] = {
		{ IPPROTO_ICMP, "IPPROTO_ICMP" },
		{ IPPROTO_TCP, "IPPROTO_TCP" },
		{ IPPROTO_UDP, "IPPROTO_UDP" },
		{ IPPROTO_ICMPV6, "IPPROTO_ICMPV6" },
		{ IPPROTO_SCTP, "IPPROTO_SCTP" },
		{ IPPROTO_UDPLITE, "IPPROTO_UDPLITE" },
		{ IPPROTO_RAW, "IPPROTO_RAW" },
		{ 262, "IPPROTO_MPTCP" },
	}, eth[] = {
		{ 0x0003, "ETH_P_ALL" },
		{ 0x0800, "ETH_P_IP" },
		{ 0x0806, "ETH_P_ARP" },
		{ 0x86dd, "ETH_P_IPV6" },
	};
	size_t i;

	if (fam == AF_INET || fam == AF_INET6) {
		for (i = 0; i < sizeof(ip) / sizeof(ip[0]); i++)
			if (ip[i].n == protocol) {
				snprintf(buf, len, "%s", ip[i].name);
				return;
			}
	} else if (fam == AF_PACKET) {
		/* a packet socket's protocol is an EtherType, in network
		 * byte order */
		int et = ntohs((uint16_t)protocol);

		for (i = 0; i < sizeof(eth) / sizeof(eth[0]); i++)
			if (eth[i].n == et) {
				snprintf(buf, len, "htons(%s)", eth[i].name);
				return;
			}
		snprintf(buf, len, "htons(0x%04x)", et);
		return;
	}
	snprintf(buf, len, "%d", protocol);
}

void nh_event_sock_detail(const struct nh_event *ev, char *buf, size_t len)
{
	int fam = ev->sock_family, type = ev->sock_type;
	char fbuf[32], tbuf[16], pbuf[40];
	const char *tname = type_name(type), *why;

	if (family_name(fam))
		snprintf(fbuf, sizeof(fbuf), "AF_%s", family_name(fam));
	else
		snprintf(fbuf, sizeof(fbuf), "%d", fam);
	for (char *c = fbuf; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	if (tname)
		snprintf(tbuf, sizeof(tbuf), "%s", tname);
	else
		snprintf(tbuf, sizeof(tbuf), "%d", type);
	protocol_str(fam, ev->sock_protocol, pbuf, sizeof(pbuf));
	if (fam != AF_INET && fam != AF_INET6)
		why = fam == AF_PACKET ?
			      "packet sockets send below the IP hooks" :
			      "this family is not hooked";
	else if (type == SOCK_RAW)
		why = "raw IP sockets are not hooked at connect or sendmsg";
	else
		why = "only TCP, UDP and MPTCP are hooked";
	snprintf(buf, len, "socket(%s, %s, %s) refused: %s", fbuf, tbuf, pbuf,
		 why);
}

static const char *event_name(enum nh_event_type t)
{
	switch (t) {
	case NH_EVENT_CREATE:
		return "create";
	case NH_EVENT_CONNECT:
		return "connect";
	case NH_EVENT_BLOCK:
		return "block";
	case NH_EVENT_REDIRECT:
		return "redirect";
	case NH_EVENT_END:
		return "end";
	case NH_EVENT_DNS:
		return "dns";
	}
	return "unknown";
}

static const char *route_name(enum nh_route r)
{
	switch (r) {
	case NH_ROUTE_DIRECT:
		return "direct";
	case NH_ROUTE_BLOCK:
		return "block";
	case NH_ROUTE_REDIRECT:
		return "redirect";
	case NH_ROUTE_DIVERT:
		return "divert";
	}
	return "unknown";
}

static const char *result_name(const struct nh_event *ev)
{
	if (ev->route == NH_ROUTE_BLOCK)
		return "blocked";
	if (ev->err)
		return "error";
	if (ev->type == NH_EVENT_END && !ev->established)
		return "failed";
	if (ev->type == NH_EVENT_CREATE)
		return NULL;
	return "ok";
}

/* snprintf that keeps counting past the end, like snprintf itself */
struct out {
	char *buf;
	size_t len;
	size_t n;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(o->n < o->len ? o->buf + o->n : NULL,
		      o->n < o->len ? o->len - o->n : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->n += (size_t)r;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and past U+10FFFF are not UTF-8 */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string; comm and exe come from programs and may hold anything,
 * including a name the kernel cut in the middle of a character: what is
 * not UTF-8 becomes U+FFFD, so every line stays valid JSON. */
static void put_json_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n;

	put(o, "\"");
	while (*p) {
		unsigned char c = *p;

		n = utf8_len(p);
		if (n == 0) {
			put(o, "\\ufffd");
			p++;
		} else if (n > 1) {
			put(o, "%.*s", n, (const char *)p);
			p += n;
		} else {
			if (c == '"' || c == '\\')
				put(o, "\\%c", c);
			else if (c < 0x20 || c == 0x7f)
				put(o, "\\u%04x", c);
			else
				put(o, "%c", c);
			p++;
		}
	}
	put(o, "\"");
}

/* A text value: no spaces or controls, so a line splits on blanks */
static void put_text_str(struct out *o, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		put(o, "%c", c <= 0x20 || c == 0x7f ? '?' : c);
	}
}

static void put_str(struct out *o, bool json, const char *key, const char *val)
{
	if (json) {
		put(o, ",\"%s\":", key);
		if (val)
			put_json_str(o, val);
		else
			put(o, "null");
	} else if (val) {
		put(o, " %s=", key);
		put_text_str(o, val);
	}
}

static void put_u64(struct out *o, bool json, const char *key, bool have,
		    uint64_t v)
{
	if (json)
		have ? put(o, ",\"%s\":%" PRIu64, key, v) :
		       put(o, ",\"%s\":null", key);
	else if (have)
		put(o, " %s=%" PRIu64, key, v);
}

static const char *rcode_name(unsigned int rcode, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR",	 "FORMERR", "SERVFAIL",
					     "NXDOMAIN", "NOTIMP",  "REFUSED" };

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}

/* The destination as the program named it: "web.example:80" when it
 * connected to the address the resolver gave for that name. */
static void orig_format(const struct nh_event *ev, char *buf, size_t len)
{
	const struct sockaddr_storage *ss = &ev->orig_dst;
	unsigned int port;

	if (!NH_OPT(ev, orig_name, NULL)) {
		nh_sockaddr_format((const void *)ss, buf, len);
		return;
	}
	port = ntohs(ss->ss_family == AF_INET ?
			     ((const struct sockaddr_in *)ss)->sin_port :
			     ((const struct sockaddr_in6 *)ss)->sin6_port);
	snprintf(buf, len, "%s:%u", ev->orig_name, port);
}

/* The log's "name": the host the program looked up for orig_dst, a
 * pool address's name included; an older caller's struct has only
 * orig_name. */
static const char *dst_name(const struct nh_event *ev)
{
	const char *name = NH_OPT(ev, dst_name, NULL);

	return name ? name : NH_OPT(ev, orig_name, NULL);
}

/* What the resolver answered: who asked is not known (a port on
 * loopback), the name, its type and the address given are. */
static void format_dns(struct out *o, const struct nh_event *ev, bool json)
{
	char ans[64], tbuf[16], rbuf[16];

	ans[0] = '\0';
	if (ev->new_dst.ss_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)&ev->new_dst)->sin_addr,
			  ans, sizeof(ans));
	else if (ev->new_dst.ss_family == AF_INET6)
		inet_ntop(
			AF_INET6,
			&((const struct sockaddr_in6 *)&ev->new_dst)->sin6_addr,
			ans, sizeof(ans));
	put_str(o, json, "name", ev->orig_name ? ev->orig_name : "");
	put_str(o, json, "type",
		nh_dns_type_name((uint16_t)ev->dns_type, tbuf, sizeof(tbuf)));
	put_str(o, json, "answer", ans[0] ? ans : NULL);
	put_str(o, json, "rcode",
		rcode_name(ev->dns_rcode, rbuf, sizeof(rbuf)));
	put_str(o, json, "route", ev->route_desc ? ev->route_desc : "pool");
}

NH_API int nh_event_format(const struct nh_event *ev, unsigned int flags,
			   char *buf, size_t len)
{
	bool json = flags & NH_FORMAT_JSON, end, blocked;
	struct out o = { buf, len, 0 };
	char ts[64], orig[NH_DNS_NAME_MAX + 8], dst[64], pbuf[32];
	struct tm tm;
	bool nodst;
	const char *hs;
	time_t sec = (time_t)(ev->ts_ns / 1000000000ull);

	if (len)
		buf[0] = '\0';
	gmtime_r(&sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec,
		 (unsigned int)(ev->ts_ns % 1000000000ull / 1000));
	end = ev->type == NH_EVENT_END;
	blocked = ev->route == NH_ROUTE_BLOCK;
	/* made, or refused when made: no destination yet */
	nodst = ev->type == NH_EVENT_CREATE || NH_OPT(ev, sock_family, 0);
	if (json)
		put(&o, "{\"ts\":\"%s\",\"event\":\"%s\"", ts,
		    event_name(ev->type));
	else
		put(&o, "%s %s", ts, event_name(ev->type));
	if (ev->type == NH_EVENT_DNS) {
		format_dns(&o, ev, json);
		if (json)
			put(&o, "}");
		return (int)o.n;
	}
	put_u64(&o, json, "pid", true, (uint64_t)ev->pid);
	put_str(&o, json, "comm", ev->comm ? ev->comm : "");
	put_str(&o, json, "exe", ev->exe);
	if (json)
		put(&o, ",\"exe_partial\":%s",
		    ev->exe_partial ? "true" : "false");
	else if (ev->exe_partial)
		put(&o, " exe_partial=1");
	put_u64(&o, json, "uid", true, ev->uid);
	put_u64(&o, json, "cgroup_id", true, ev->cgroup_id);
	/* the socket's cookie: ties a connection's lines together */
	put_u64(&o, json, "id", ev->cookie != 0, ev->cookie);
	put_str(&o, json, "proto", proto_name(ev, pbuf, sizeof(pbuf)));
	if (!nodst) {
		orig_format(ev, orig, sizeof(orig));
		nh_sockaddr_format((const void *)&ev->new_dst, dst,
				   sizeof(dst));
	}
	put_str(&o, json, "orig_dst", !nodst ? orig : NULL);
	put_str(&o, json, "name", !nodst ? dst_name(ev) : NULL);
	put_str(&o, json, "new_dst", !nodst && !blocked ? dst : NULL);
	put_str(&o, json, "route",
		ev->type == NH_EVENT_CREATE  ? NULL :
		NH_OPT(ev, route_desc, NULL) ? ev->route_desc :
					       route_name(ev->route));
	put_u64(&o, json, "bytes_out", end && !NH_OPT(ev, bytes_unknown, 0),
		ev->bytes_out);
	put_u64(&o, json, "bytes_in", end && !NH_OPT(ev, bytes_unknown, 0),
		ev->bytes_in);
	if (json)
		end ? put(&o, ",\"duration_ms\":%.3f",
			  (double)ev->duration_ns / 1e6) :
		      put(&o, ",\"duration_ms\":null");
	else if (end)
		put(&o, " duration_ms=%.3f", (double)ev->duration_ns / 1e6);
	/* how the tunnel through the proxies opened, and how long it took */
	hs = end ? NH_OPT(ev, handshake, NULL) : NULL;
	put_str(&o, json, "handshake", hs);
	if (json)
		hs ? put(&o, ",\"handshake_ms\":%.3f",
			 (double)NH_OPT(ev, handshake_ns, 0ull) / 1e6) :
		     put(&o, ",\"handshake_ms\":null");
	else if (hs)
		put(&o, " handshake_ms=%.3f",
		    (double)NH_OPT(ev, handshake_ns, 0ull) / 1e6);
	put_str(&o, json, "result", result_name(ev));
	put_str(&o, json, "error", nh_errno_name(ev->err));
	if (json) {
		put_str(&o, json, "detail", NH_OPT(ev, detail, NULL));
	} else if (NH_OPT(ev, detail, NULL)) {
		/* words, quoted: the one text value that may hold blanks */
		const char *d;

		put(&o, " detail=\"");
		for (d = ev->detail; *d; d++)
			put(&o, "%c",
			    *d == '"' || (unsigned char)*d < 0x20 ? '\'' : *d);
		put(&o, "\"");
	}
	if (json)
		put(&o, "}");
	return (int)o.n;
}
