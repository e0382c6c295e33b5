// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Upstream proxy URLs and client handshakes: SOCKS5 (RFC 1928, RFC 1929),
 * SOCKS4, SOCKS4a, HTTP CONNECT (RFC 9110 9.3.6, Basic auth RFC 7617).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "nh_proxy.h"

_Static_assert(sizeof(struct nh_proxy_hs) < 600, "nh_proxy_hs is too big");

enum {
	ST_S5_GREET = 1, /* greeting sent, method choice awaited */
	ST_S5_AUTH, /* RFC 1929 request, status awaited */
	ST_S5_CONNECT, /* CONNECT request, reply awaited */
	ST_S4_CONNECT, /* socks4/4a request, 8-byte reply awaited */
	ST_HTTP_CONNECT, /* CONNECT request, status line and headers */
};

/*
 * Longest request: HTTP CONNECT to a 255-byte name with 255-byte user and
 * password, "CONNECT h:p HTTP/1.1\r\nHost: h:p\r\n" (~560) plus
 * "Proxy-Authorization: Basic " and base64 of 511 bytes (~715) plus "\r\n".
 */
#define REQ_MAX 1536
#define HOPSTR_MAX (256 + 8)

/* ---- small helpers ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	if (strlen(b) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != b[i])
			return false;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
	c = lower(c);
	return is_digit(c) || (c >= 'a' && c <= 'z');
}

/* A host name: letters, digits, '-', '_', dot-separated non-empty labels. */
static bool name_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		*out++ = tbl[v >> 18 & 63];
		*out++ = tbl[v >> 12 & 63];
		*out++ = tbl[v >> 6 & 63];
		*out++ = tbl[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		*out++ = tbl[v >> 18 & 63];
		*out++ = tbl[v >> 12 & 63];
		*out++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

const char *nh_proxy_scheme_name(enum nh_proxy_scheme s)
{
	switch (s) {
	case NH_PROXY_DIRECT:
		return "direct";
	case NH_PROXY_SOCKS5:
		return "socks5";
	case NH_PROXY_SOCKS4:
		return "socks4";
	case NH_PROXY_SOCKS4A:
		return "socks4a";
	case NH_PROXY_HTTP:
		return "http";
	}
	return "unknown";
}

bool nh_proxy_scheme_carries_names(enum nh_proxy_scheme s)
{
	return s == NH_PROXY_SOCKS5 || s == NH_PROXY_SOCKS4A ||
	       s == NH_PROXY_HTTP;
}

/* "host:port" or "[v6]:port" as written in the URL. */
static const char *hop_str(const struct nh_proxy_hop *hop, char *buf,
			   size_t len)
{
	if (strchr(hop->host, ':'))
		snprintf(buf, len, "[%s]:%u", hop->host, hop->port);
	else
		snprintf(buf, len, "%s:%u", hop->host, hop->port);
	return buf;
}

void nh_proxy_route_format(const struct nh_proxy_hop *hops, int nhops,
			   char *buf, size_t len)
{
	size_t n = 0;
	int i;

	if (!nhops) {
		snprintf(buf, len, "direct");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < nhops && n + 1 < len; i++) {
		if (i)
			buf[n++] = ',';
		nh_proxy_hop_format(&hops[i], buf + n, len - n);
		n += strlen(buf + n);
	}
}

int nh_proxy_hop_format(const struct nh_proxy_hop *hop, char *buf, size_t len)
{
	char hs[HOPSTR_MAX];
	int n;

	if (hop->scheme == NH_PROXY_DIRECT)
		n = snprintf(buf, len, "direct://");
	else
		n = snprintf(buf, len, "%s://%s",
			     nh_proxy_scheme_name(hop->scheme),
			     hop_str(hop, hs, sizeof(hs)));
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* ---- URL parsing ---- */

/* Percent-decode s[0..n) into out (255 bytes at most, NUL-terminated). */
static int pct_decode(const char *s, size_t n, char out[256], const char *what,
		      char *err, size_t errlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3) {
				seterr(err, errlen,
				       "bad percent escape in %s (truncated)",
				       what);
				return -EINVAL;
			}
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				seterr(err, errlen,
				       "bad percent escape in %s (not two hex digits)",
				       what);
				return -EINVAL;
			}
			c = hi << 4 | lo;
			if (c == 0) {
				seterr(err, errlen, "%%00 (NUL) in %s", what);
				return -EINVAL;
			}
			i += 2;
		}
		if (o == 255) {
			seterr(err, errlen, "%s longer than 255 bytes", what);
			return -EINVAL;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *port, char *err,
		      size_t errlen)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0) {
		seterr(err, errlen, "missing port after ':'");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		/* never quoted: "user:pass" without '@' lands here */
		if (!is_digit((unsigned char)s[i]) || v > 65535) {
			seterr(err, errlen,
			       "bad port (a number 1-65535; percent-encode '@' and ':' in user info)");
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535) {
		seterr(err, errlen, "bad port %lu (1-65535)", v);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

/* host[0..n), bracketed v6 already unwrapped; fills hop->host and addr. */
static int parse_host(const char *s, size_t n, bool v6,
		      struct nh_proxy_hop *hop, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&hop->addr;
	size_t i;
	bool numeric = true;

	if (n == 0) {
		seterr(err, errlen, "missing host");
		return -EINVAL;
	}
	if (n > 255) {
		seterr(err, errlen, "host longer than 255 bytes");
		return -EINVAL;
	}
	if (v6) {
		struct addrinfo hints = { .ai_family = AF_INET6,
					  .ai_flags = AI_NUMERICHOST };
		struct addrinfo *res = NULL;
		size_t o = 0;

		/* a zone is written %25 in a URL (RFC 6874) */
		for (i = 0; i < n; i++) {
			if (s[i] == '%') {
				if (n - i < 3 || s[i + 1] != '2' ||
				    s[i + 2] != '5')
					goto bad6;
				i += 2;
				hop->host[o++] = '%';
				continue;
			}
			hop->host[o++] = s[i];
		}
		hop->host[o] = '\0';
		if (getaddrinfo(hop->host, NULL, &hints, &res) || !res)
			goto bad6;
		memcpy(&hop->addr, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
		return 0;
bad6:
		seterr(err, errlen, "bad IPv6 address \"%.*s\"", (int)n, s);
		return -EINVAL;
	}
	memcpy(hop->host, s, n);
	hop->host[n] = '\0';
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)s[i]) && s[i] != '.')
			numeric = false;
	if (inet_pton(AF_INET, hop->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (numeric) {
		seterr(err, errlen, "bad IPv4 address \"%s\"", hop->host);
		return -EINVAL;
	}
	if (!name_ok(s, n)) {
		seterr(err, errlen, "bad host name \"%s\"", hop->host);
		return -EINVAL;
	}
	return 0;
}

/* "pipeline=auto|on|off", the one option a proxy URL takes. */
static int parse_query(const char *s, size_t n, struct nh_proxy_hop *hop,
		       char *err, size_t errlen)
{
	static const char key[] = "pipeline=";
	size_t kl = sizeof(key) - 1;

	if (n < kl || memcmp(s, key, kl)) {
		seterr(err, errlen,
		       "unknown option after '?' (a proxy URL takes ?pipeline=auto|on|off)");
		return -EINVAL;
	}
	s += kl;
	n -= kl;
	if (ieq(s, n, "auto")) {
		hop->pipeline = NH_PROXY_PIPELINE_AUTO;
	} else if (ieq(s, n, "on")) {
		hop->pipeline = NH_PROXY_PIPELINE_ON;
	} else if (ieq(s, n, "off")) {
		hop->pipeline = NH_PROXY_PIPELINE_OFF;
	} else {
		seterr(err, errlen, "bad ?pipeline= value (auto, on or off)");
		return -EINVAL;
	}
	return 0;
}

static int url_parse_n(const char *url, size_t n, struct nh_proxy_hop *hop,
		       char *err, size_t errlen)
{
	const char *p, *end, *at = NULL, *hs, *colon = NULL, *q;
	size_t i, slen;
	int ret;

	memset(hop, 0, sizeof(*hop));
	hop->addr.ss_family = AF_UNSPEC;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= ' ' || c >= 0x7f) {
			seterr(err, errlen,
			       "bad character 0x%02x at offset %zu of the URL",
			       c, i);
			return -EINVAL;
		}
	}
	p = memmem(url, n, "://", 3);
	if (!p) {
		seterr(err, errlen,
		       "missing scheme (socks5://, socks4://, socks4a://, http:// or direct://)");
		return -EINVAL;
	}
	slen = (size_t)(p - url);
	if (ieq(url, slen, "socks5") || ieq(url, slen, "socks5h")) {
		hop->scheme = NH_PROXY_SOCKS5;
	} else if (ieq(url, slen, "socks4")) {
		hop->scheme = NH_PROXY_SOCKS4;
	} else if (ieq(url, slen, "socks4a")) {
		hop->scheme = NH_PROXY_SOCKS4A;
	} else if (ieq(url, slen, "http")) {
		hop->scheme = NH_PROXY_HTTP;
	} else if (ieq(url, slen, "direct")) {
		hop->scheme = NH_PROXY_DIRECT;
	} else if (ieq(url, slen, "https")) {
		seterr(err, errlen,
		       "https:// proxies (TLS to the proxy) are not supported");
		return -EINVAL;
	} else {
		seterr(err, errlen, "unknown scheme \"%.*s\"",
		       (int)(slen > 16 ? 16 : slen), url);
		return -EINVAL;
	}
	p += 3;
	end = url + n;
	q = memchr(p, '?', (size_t)(end - p));
	if (q) {
		ret = parse_query(q + 1, (size_t)(end - q - 1), hop, err,
				  errlen);
		if (ret)
			return ret;
		end = q;
	}
	if (end > p && end[-1] == '/')
		end--;
	if (hop->scheme == NH_PROXY_DIRECT) {
		if (end != p) {
			seterr(err, errlen, "direct:// takes no host");
			return -EINVAL;
		}
		return 0;
	}
	/* no path, query or fragment; never quote it: it may hold secrets */
	for (i = 0; p + i < end; i++) {
		if (p[i] == '/' || p[i] == '?' || p[i] == '#') {
			seterr(err, errlen,
			       "unexpected '%c' after the host (only a trailing '/' and ?pipeline= are allowed; percent-encode / ? # @ in user info)",
			       p[i]);
			return -EINVAL;
		}
		if (p[i] == '@')
			at = p + i;
	}
	hs = p;
	if (at) {
		const char *uc = memchr(p, ':', (size_t)(at - p));
		const char *uend = uc ? uc : at;

		if (at == p) {
			seterr(err, errlen, "empty user info before '@'");
			return -EINVAL;
		}
		if (uc && (hop->scheme == NH_PROXY_SOCKS4 ||
			   hop->scheme == NH_PROXY_SOCKS4A)) {
			seterr(err, errlen,
			       "%s takes a user id, not a password",
			       nh_proxy_scheme_name(hop->scheme));
			return -EINVAL;
		}
		ret = pct_decode(p, (size_t)(uend - p), hop->user, "user name",
				 err, errlen);
		if (ret)
			return ret;
		if (uc) {
			ret = pct_decode(uc + 1, (size_t)(at - uc - 1),
					 hop->pass, "password", err, errlen);
			if (ret)
				return ret;
		}
		if (!hop->user[0]) {
			seterr(err, errlen, "empty user name");
			return -EINVAL;
		}
		if (hop->scheme == NH_PROXY_HTTP && strchr(hop->user, ':')) {
			seterr(err, errlen,
			       "an http Basic auth user name cannot contain ':'");
			return -EINVAL;
		}
		hop->has_auth = true;
		hs = at + 1;
	}
	if (hs == end) {
		seterr(err, errlen, "missing host");
		return -EINVAL;
	}
	if (*hs == '[') {
		const char *rb = memchr(hs, ']', (size_t)(end - hs));

		if (!rb) {
			seterr(err, errlen, "unterminated [IPv6] address");
			return -EINVAL;
		}
		if (rb + 1 != end && rb[1] != ':') {
			seterr(err, errlen, "unexpected text after ']'");
			return -EINVAL;
		}
		if (rb + 1 != end)
			colon = rb + 1;
		ret = parse_host(hs + 1, (size_t)(rb - hs - 1), true, hop, err,
				 errlen);
	} else {
		colon = memchr(hs, ':', (size_t)(end - hs));
		if (colon &&
		    memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
			seterr(err, errlen,
			       "an IPv6 address must be in brackets: [2001:db8::1]:1080");
			return -EINVAL;
		}
		ret = parse_host(hs, (size_t)((colon ? colon : end) - hs),
				 false, hop, err, errlen);
	}
	if (ret)
		return ret;
	if (colon) {
		ret = parse_port(colon + 1, (size_t)(end - colon - 1),
				 &hop->port, err, errlen);
		if (ret)
			return ret;
	} else {
		hop->port = hop->scheme == NH_PROXY_HTTP ? NH_PROXY_PORT_HTTP :
							   NH_PROXY_PORT_SOCKS;
	}
	if (hop->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&hop->addr)->sin_port = htons(hop->port);
	else if (hop->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&hop->addr)->sin6_port =
			htons(hop->port);
	return 0;
}

int nh_proxy_url_parse(const char *url, struct nh_proxy_hop *hop, char *err,
		       size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!url || !hop) {
		seterr(err, errlen, "no URL");
		return -EINVAL;
	}
	return url_parse_n(url, strlen(url), hop, err, errlen);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int nh_proxy_chain_parse(const char *text, struct nh_proxy_hop *hops, int max,
			 char *err, size_t errlen)
{
	const char *line = text, *nl;
	bool multi;
	int count = 0, lineno = 0, ret;
	char why[200];

	if (err && errlen)
		err[0] = '\0';
	if (!text || !hops || max <= 0) {
		seterr(err, errlen, "no proxy given");
		return -EINVAL;
	}
	multi = strchr(text, '\n') != NULL;
	for (; line; line = nl ? nl + 1 : NULL) {
		const char *le, *q;

		nl = strchr(line, '\n');
		le = nl ? nl : line + strlen(line);
		lineno++;
		while (line < le && blank(*line))
			line++;
		if (line == le || *line == '#')
			continue;
		for (q = line; q < le;) {
			const char *pe = memchr(q, ',', (size_t)(le - q));
			const char *s = q, *e = pe ? pe : le;

			q = pe ? pe + 1 : le;
			while (s < e && blank(*s))
				s++;
			while (e > s && blank(e[-1]))
				e--;
			if (s == e)
				continue;
			if (count == max) {
				seterr(err, errlen,
				       "more than %d proxies in the chain",
				       max);
				return -E2BIG;
			}
			ret = url_parse_n(s, (size_t)(e - s), &hops[count], why,
					  sizeof(why));
			if (ret) {
				if (multi)
					seterr(err, errlen, "line %d: %s",
					       lineno, why);
				else
					seterr(err, errlen, "proxy %d: %s",
					       count + 1, why);
				return ret;
			}
			count++;
		}
	}
	if (count == 0) {
		seterr(err, errlen, "no proxy URL given");
		return -EINVAL;
	}
	if (count > 1) {
		int i;

		for (i = 0; i < count; i++) {
			if (hops[i].scheme == NH_PROXY_DIRECT) {
				seterr(err, errlen,
				       "direct:// cannot be part of a chain (proxy %d of %d)",
				       i + 1, count);
				return -EINVAL;
			}
		}
	}
	return count;
}

int nh_proxy_hop_resolve(struct nh_proxy_hop *hop)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	int ret;

	if (nh_proxy_hop_resolved(hop))
		return 0;
	ret = getaddrinfo(hop->host, NULL, &hints, &res);
	if (ret == 0 && res && res->ai_addrlen <= sizeof(hop->addr) &&
	    (res->ai_family == AF_INET || res->ai_family == AF_INET6)) {
		memset(&hop->addr, 0, sizeof(hop->addr));
		memcpy(&hop->addr, res->ai_addr, res->ai_addrlen);
		if (res->ai_family == AF_INET)
			((struct sockaddr_in *)&hop->addr)->sin_port =
				htons(hop->port);
		else
			((struct sockaddr_in6 *)&hop->addr)->sin6_port =
				htons(hop->port);
		freeaddrinfo(res);
		return 0;
	}
	if (res)
		freeaddrinfo(res);
	switch (ret) {
	case 0:
		return -EHOSTUNREACH;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

/* ---- handshakes ---- */

static int hs_fail(struct nh_proxy_hs *hs, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int hs_fail(struct nh_proxy_hs *hs, int err, const char *fmt, ...)
{
	va_list ap;

	hs->err = err;
	va_start(ap, fmt);
	vsnprintf(hs->u.err, sizeof(hs->u.err), fmt, ap);
	va_end(ap);
	return err;
}

static const char *hs_name(const struct nh_proxy_hs *hs)
{
	return nh_proxy_scheme_name((enum nh_proxy_scheme)hs->scheme);
}

/* The target as text: "name:port", "192.0.2.1:80", "[2001:db8::1]:443". */
static size_t target_str(const struct nh_proxy_hs *hs, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (hs->tfamily == 4) {
		inet_ntop(AF_INET, hs->taddr, a, sizeof(a));
		n = snprintf(buf, len, "%s:%u", a, hs->tport);
	} else if (hs->tfamily == 6) {
		inet_ntop(AF_INET6, hs->taddr, a, sizeof(a));
		n = snprintf(buf, len, "[%s]:%u", a, hs->tport);
	} else {
		n = snprintf(buf, len, "%s:%u", hs->thost, hs->tport);
	}
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static size_t put(uint8_t *d, size_t o, const void *s, size_t n)
{
	memcpy(d + o, s, n);
	return o + n;
}

/* The request of one state into d. */
static size_t render_one(const struct nh_proxy_hs *hs, uint8_t state,
			 uint8_t *d)
{
	const struct nh_proxy_hop *hop = hs->hop;
	size_t o = 0, ul, pl, hl;
	uint8_t pb[2] = { (uint8_t)(hs->tport >> 8), (uint8_t)hs->tport };

	switch (state) {
	case ST_S5_GREET:
		d[o++] = 5;
		if (hs->pipelined) {
			/* one method: the requests after it depend on it */
			d[o++] = 1;
			d[o++] = hop->has_auth ? 2 : 0;
			return o;
		}
		d[o++] = hop->has_auth ? 2 : 1;
		d[o++] = 0;
		if (hop->has_auth)
			d[o++] = 2;
		return o;
	case ST_S5_AUTH:
		ul = strnlen(hop->user, 255);
		pl = strnlen(hop->pass, 255);
		d[o++] = 1;
		d[o++] = (uint8_t)ul;
		o = put(d, o, hop->user, ul);
		d[o++] = (uint8_t)pl;
		return put(d, o, hop->pass, pl);
	case ST_S5_CONNECT:
		d[o++] = 5;
		d[o++] = 1; /* CONNECT */
		d[o++] = 0;
		if (hs->tfamily == 4) {
			d[o++] = 1;
			o = put(d, o, hs->taddr, 4);
		} else if (hs->tfamily == 6) {
			d[o++] = 4;
			o = put(d, o, hs->taddr, 16);
		} else {
			hl = strnlen(hs->thost, 255);
			d[o++] = 3;
			d[o++] = (uint8_t)hl;
			o = put(d, o, hs->thost, hl);
		}
		return put(d, o, pb, 2);
	case ST_S4_CONNECT:
		d[o++] = 4;
		d[o++] = 1; /* CONNECT */
		o = put(d, o, pb, 2);
		if (hs->tfamily == 4) {
			o = put(d, o, hs->taddr, 4);
		} else { /* socks4a: 0.0.0.x, x != 0, then the name */
			static const uint8_t a[4] = { 0, 0, 0, 1 };

			o = put(d, o, a, 4);
		}
		if (hop->has_auth)
			o = put(d, o, hop->user, strnlen(hop->user, 255));
		d[o++] = 0;
		if (hs->tfamily == 0) {
			o = put(d, o, hs->thost, strnlen(hs->thost, 255));
			d[o++] = 0;
		}
		return o;
	case ST_HTTP_CONNECT: {
		char t[300], cred[512], b64[700];
		size_t tl = target_str(hs, t, sizeof(t));

		o = put(d, o, "CONNECT ", 8);
		o = put(d, o, t, tl);
		o = put(d, o, " HTTP/1.1\r\nHost: ", 17);
		o = put(d, o, t, tl);
		o = put(d, o, "\r\n", 2);
		if (hop->has_auth) {
			ul = strnlen(hop->user, 255);
			pl = strnlen(hop->pass, 255);
			memcpy(cred, hop->user, ul);
			cred[ul] = ':';
			memcpy(cred + ul + 1, hop->pass, pl);
			base64((const uint8_t *)cred, ul + 1 + pl, b64);
			o = put(d, o, "Proxy-Authorization: Basic ", 27);
			o = put(d, o, b64, strlen(b64));
			o = put(d, o, "\r\n", 2);
		}
		return put(d, o, "\r\n", 2);
	}
	}
	return 0;
}

/* Render the whole current request into d (REQ_MAX bytes): pipelined,
 * every request of the handshake. */
static size_t render(const struct nh_proxy_hs *hs, uint8_t *d)
{
	size_t o;

	if (!hs->pipelined)
		return render_one(hs, hs->state, d);
	o = render_one(hs, ST_S5_GREET, d);
	if (hs->hop->has_auth)
		o += render_one(hs, ST_S5_AUTH, d + o);
	return o + render_one(hs, ST_S5_CONNECT, d + o);
}

/* Where the request a pipelined state's reply answers ends in the
 * flight: a reply may come before the rest is sent, not before its own. */
static uint16_t flight_end(const struct nh_proxy_hs *hs, uint8_t state)
{
	uint16_t greet = 3, auth = 0;

	if (hs->hop->has_auth)
		auth = (uint16_t)(3 + strnlen(hs->hop->user, 255) +
				  strnlen(hs->hop->pass, 255));
	if (state == ST_S5_GREET)
		return greet;
	if (state == ST_S5_AUTH)
		return (uint16_t)(greet + auth);
	return hs->out_len;
}

static void fill_window(struct nh_proxy_hs *hs)
{
	uint8_t req[REQ_MAX];
	size_t n = render(hs, req), w;

	hs->out_len = (uint16_t)n;
	if (hs->out_off > n)
		hs->out_off = (uint16_t)n;
	w = n - hs->out_off;
	if (w > sizeof(hs->u.out))
		w = sizeof(hs->u.out);
	memcpy(hs->u.out, req + hs->out_off, w);
	hs->win_off = hs->out_off;
	hs->win_len = (uint16_t)w;
}

static void start(struct nh_proxy_hs *hs, uint8_t state)
{
	hs->state = state;
	hs->in_got = 0;
	hs->in_need = 0;
	hs->line_len = 0;
	if (hs->pipelined) {
		/* the request went with the first: only the reply is new */
		hs->seg_end = flight_end(hs, state);
		return;
	}
	hs->out_off = 0;
	fill_window(hs);
	hs->seg_end = hs->out_len;
}

void nh_proxy_hs_pipeline(struct nh_proxy_hs *hs)
{
	if (hs->err || hs->state != ST_S5_GREET || hs->out_off)
		return;
	hs->pipelined = true;
	hs->win_len = 0;
	fill_window(hs);
	hs->seg_end = flight_end(hs, ST_S5_GREET);
}

/* The target as the handshake sends it: an IPv4-mapped IPv6 address is
 * the IPv4 address it carries. */
static void target_set(struct nh_proxy_hs *hs, int family, const uint8_t *a,
		       uint16_t port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	if (family == AF_INET6 && !memcmp(a, mapped, 12)) {
		family = AF_INET;
		a += 12;
	}
	hs->tfamily = family == AF_INET ? 4 : 6;
	memcpy(hs->taddr, a, family == AF_INET ? 4 : 16);
	hs->tport = port;
}

static bool target_from_sockaddr(struct nh_proxy_hs *hs,
				 const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;

		target_set(hs, AF_INET, (const uint8_t *)&s->sin_addr,
			   ntohs(s->sin_port));
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;

		target_set(hs, AF_INET6, s->sin6_addr.s6_addr,
			   ntohs(s->sin6_port));
		return true;
	}
	return false;
}

/* A numeric target_host ("192.0.2.1", "2001:db8::1", "[2001:db8::1]"),
 * parsed straight into the target: no sockaddr built to be taken apart. */
static bool target_numeric(struct nh_proxy_hs *hs, const char *h, size_t n,
			   uint16_t port)
{
	char buf[INET6_ADDRSTRLEN + 2];
	uint8_t a[16];

	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		target_set(hs, AF_INET, a, port);
		return true;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		target_set(hs, AF_INET6, a, port);
		return true;
	}
	return false;
}

void nh_proxy_hs_init(struct nh_proxy_hs *hs, const struct nh_proxy_hop *hop,
		      const struct sockaddr *target, const char *target_host,
		      uint16_t target_port)
{
	char hn[HOPSTR_MAX], t[300];
	bool have = false;
	size_t n;

	memset(hs, 0, sizeof(*hs));
	hs->hop = hop;
	hs->scheme = (uint8_t)hop->scheme;
	if (hop->scheme == NH_PROXY_DIRECT) {
		hs->state = NH_PROXY_HS_DONE;
		return;
	}
	if (target_host && target_host[0]) {
		n = strlen(target_host);
		if (target_numeric(hs, target_host, n, target_port)) {
			have = true;
		} else if (nh_proxy_scheme_carries_names(hop->scheme)) {
			if (!name_ok(target_host, n)) {
				hs_fail(hs, -EINVAL,
					"bad target host name for %s proxy %s",
					hs_name(hs),
					hop_str(hop, hn, sizeof(hn)));
				return;
			}
			memcpy(hs->thost, target_host, n + 1);
			hs->tport = target_port;
			hs->tfamily = 0;
			have = true;
		}
	}
	if (!have && target) {
		have = target_from_sockaddr(hs, target);
		if (have && !hs->tport)
			hs->tport = target_port;
	}
	if (!have) {
		if (target && !(target_host && target_host[0]))
			hs_fail(hs, -EAFNOSUPPORT,
				"target address family %d not supported by %s proxy %s",
				target->sa_family, hs_name(hs),
				hop_str(hop, hn, sizeof(hn)));
		else if (target_host && target_host[0])
			hs_fail(hs, -EDESTADDRREQ,
				"%s cannot carry the name %.64s and no address was given (use socks4a) for %s",
				hs_name(hs), target_host,
				hop_str(hop, hn, sizeof(hn)));
		else
			hs_fail(hs, -EDESTADDRREQ, "no target for %s proxy %s",
				hs_name(hs), hop_str(hop, hn, sizeof(hn)));
		return;
	}
	if (hs->tfamily == 6 && (hop->scheme == NH_PROXY_SOCKS4 ||
				 hop->scheme == NH_PROXY_SOCKS4A)) {
		target_str(hs, t, sizeof(t));
		hs_fail(hs, -EAFNOSUPPORT,
			"%s cannot carry the IPv6 target %s through %s (use socks5 or http)",
			hs_name(hs), t, hop_str(hop, hn, sizeof(hn)));
		return;
	}
	switch (hop->scheme) {
	case NH_PROXY_SOCKS5:
		start(hs, ST_S5_GREET);
		break;
	case NH_PROXY_SOCKS4:
	case NH_PROXY_SOCKS4A:
		start(hs, ST_S4_CONNECT);
		break;
	case NH_PROXY_HTTP:
		start(hs, ST_HTTP_CONNECT);
		break;
	default:
		hs_fail(hs, -EINVAL, "unknown proxy scheme %d", hop->scheme);
		break;
	}
}

void nh_proxy_hs_init_hop(struct nh_proxy_hs *hs,
			  const struct nh_proxy_hop *hop,
			  const struct nh_proxy_hop *next)
{
	bool name = next->addr.ss_family == AF_UNSPEC ||
		    nh_proxy_scheme_carries_names(hop->scheme);
	bool resolved = next->addr.ss_family != AF_UNSPEC;

	/* a numeric host is carried as its address by hs_init anyway */
	nh_proxy_hs_init(hs, hop,
			 resolved ? (const struct sockaddr *)&next->addr : NULL,
			 name ? next->host : NULL, next->port);
}

int nh_proxy_hs_output(struct nh_proxy_hs *hs, const uint8_t **buf, size_t *len)
{
	*buf = hs->u.out;
	*len = 0;
	if (hs->err)
		return hs->err;
	if (hs->state == NH_PROXY_HS_DONE)
		return 1;
	if (hs->out_off >= hs->out_len)
		return 0;
	if (!hs->win_len || hs->out_off < hs->win_off ||
	    hs->out_off >= hs->win_off + hs->win_len)
		fill_window(hs);
	*buf = hs->u.out + (hs->out_off - hs->win_off);
	*len = (size_t)(hs->win_off + hs->win_len - hs->out_off);
	return 0;
}

void nh_proxy_hs_sent(struct nh_proxy_hs *hs, size_t n)
{
	size_t left;

	if (hs->err || hs->state == NH_PROXY_HS_DONE)
		return;
	left = (size_t)(hs->out_len - hs->out_off);
	if (n > left)
		n = left;
	hs->out_off = (uint16_t)(hs->out_off + n);
}

static const struct {
	int err;
	const char *text;
} s5_replies[] = {
	[1] = { -ECONNREFUSED, "general SOCKS server failure" },
	[2] = { -EPERM, "connection not allowed by ruleset" },
	[3] = { -ENETUNREACH, "network unreachable" },
	[4] = { -EHOSTUNREACH, "host unreachable" },
	[5] = { -ECONNREFUSED, "connection refused" },
	[6] = { -ETIMEDOUT, "TTL expired" },
	[7] = { -EOPNOTSUPP, "command not supported" },
	[8] = { -EAFNOSUPPORT, "address type not supported" },
};

static int s5_byte(struct nh_proxy_hs *hs, uint8_t b, const char *hn)
{
	uint16_t i = hs->in_got++;

	if (i < sizeof(hs->ibuf))
		hs->ibuf[i] = b;
	switch (hs->state) {
	case ST_S5_GREET:
		if (i == 0 && b != 5)
			return hs_fail(
				hs, -EPROTO,
				"socks5 malformed reply (version 0x%02x) from %s",
				b, hn);
		if (i == 0)
			return 0;
		if (b == 0 && hs->pipelined && hs->hop->has_auth)
			return hs_fail(
				hs, -EPROTO,
				"socks5 malformed reply (method 0x00 not offered) from %s",
				hn);
		if (b == 0) {
			start(hs, ST_S5_CONNECT);
			return 0;
		}
		if (b == 2 && hs->hop->has_auth) {
			start(hs, ST_S5_AUTH);
			return 0;
		}
		if (b == 2)
			return hs_fail(
				hs, -EACCES,
				"socks5 proxy %s requires username/password auth and none was given",
				hn);
		if (b == 0xff)
			return hs_fail(
				hs, -EACCES,
				"socks5 no acceptable auth method (offered %s) at %s",
				hs->hop->has_auth ?
					"none and username/password" :
					"none",
				hn);
		return hs_fail(
			hs, -EPROTO,
			"socks5 malformed reply (method 0x%02x not offered) from %s",
			b, hn);
	case ST_S5_AUTH:
		/* RFC 1929 says 0x01; some servers echo 0x05 */
		if (i == 0 && b != 1 && b != 5)
			return hs_fail(
				hs, -EPROTO,
				"socks5 malformed auth reply (version 0x%02x) from %s",
				b, hn);
		if (i == 0)
			return 0;
		if (b != 0)
			return hs_fail(
				hs, -EACCES,
				"socks5 auth rejected (status 0x%02x) by %s", b,
				hn);
		start(hs, ST_S5_CONNECT);
		return 0;
	case ST_S5_CONNECT:
		switch (i) {
		case 0:
			if (b != 5)
				return hs_fail(
					hs, -EPROTO,
					"socks5 malformed reply (version 0x%02x) from %s",
					b, hn);
			return 0;
		case 1:
			if (b == 0)
				return 0;
			if (b < sizeof(s5_replies) / sizeof(s5_replies[0]))
				return hs_fail(hs, s5_replies[b].err,
					       "socks5 reply 0x%02x %s from %s",
					       b, s5_replies[b].text, hn);
			return hs_fail(
				hs, -ECONNREFUSED,
				"socks5 reply 0x%02x (unassigned) from %s", b,
				hn);
		case 2:
			if (b != 0)
				return hs_fail(
					hs, -EPROTO,
					"socks5 malformed reply (reserved byte 0x%02x) from %s",
					b, hn);
			return 0;
		case 3:
			if (b == 1)
				hs->in_need = 4 + 4 + 2;
			else if (b == 4)
				hs->in_need = 4 + 16 + 2;
			else if (b != 3)
				return hs_fail(
					hs, -EPROTO,
					"socks5 malformed reply (address type 0x%02x) from %s",
					b, hn);
			return 0;
		case 4:
			if (hs->ibuf[3] == 3)
				hs->in_need = (uint16_t)(4 + 1 + b + 2);
			break;
		}
		if (hs->in_got == hs->in_need) {
			hs->state = NH_PROXY_HS_DONE;
			return 1;
		}
		return 0;
	}
	return hs_fail(hs, -EINVAL, "bad handshake state %u", hs->state);
}

static int s4_byte(struct nh_proxy_hs *hs, uint8_t b, const char *hn)
{
	uint16_t i = hs->in_got++;

	if (i == 0 && b != 0)
		return hs_fail(hs, -EPROTO,
			       "%s malformed reply (version 0x%02x) from %s",
			       hs_name(hs), b, hn);
	if (i == 1) {
		switch (b) {
		case 0x5a:
			break;
		case 0x5b:
			return hs_fail(
				hs, -ECONNREFUSED,
				"%s reply 0x5b request rejected or failed from %s",
				hs_name(hs), hn);
		case 0x5c:
			return hs_fail(
				hs, -ECONNREFUSED,
				"%s reply 0x5c rejected: no identd on the client, from %s",
				hs_name(hs), hn);
		case 0x5d:
			return hs_fail(
				hs, -ECONNREFUSED,
				"%s reply 0x5d rejected: user id not confirmed by identd, from %s",
				hs_name(hs), hn);
		default:
			return hs_fail(
				hs, -EPROTO,
				"%s malformed reply (code 0x%02x) from %s",
				hs_name(hs), b, hn);
		}
	}
	if (hs->in_got == 8) {
		hs->state = NH_PROXY_HS_DONE;
		return 1;
	}
	return 0;
}

/* The status line so far, printable, for an error message. */
static void status_text(const struct nh_proxy_hs *hs, size_t from, char *buf,
			size_t len)
{
	size_t i, o = 0;

	for (i = from; i < hs->status_len && o + 5 < len; i++) {
		unsigned char c = (unsigned char)hs->status[i];

		if (c >= ' ' && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	buf[o] = '\0';
}

static int http_status_line(struct nh_proxy_hs *hs, const char *hn)
{
	const char *s = hs->status;
	char txt[NH_PROXY_HS_STATUS];

	if (hs->status_len < 12 || memcmp(s, "HTTP/1.", 7) ||
	    !is_digit((unsigned char)s[7]) || s[8] != ' ' ||
	    !is_digit((unsigned char)s[9]) || !is_digit((unsigned char)s[10]) ||
	    !is_digit((unsigned char)s[11]) ||
	    (hs->status_len > 12 && s[12] != ' ')) {
		status_text(hs, 0, txt, 48);
		return hs_fail(
			hs, -EPROTO,
			"http proxy sent a malformed status line \"%s\" from %s",
			txt, hn);
	}
	if (s[9] != '2') {
		status_text(hs, 9, txt, sizeof(txt));
		return hs_fail(hs, -ECONNREFUSED,
			       "http CONNECT status %s from %s", txt, hn);
	}
	if (hs->out_off != hs->out_len)
		return hs_fail(
			hs, -EPROTO,
			"http proxy %s answered %.3s before the request was complete",
			hn, s + 9);
	return 0;
}

static int http_byte(struct nh_proxy_hs *hs, uint8_t b, const char *hn)
{
	bool in_status = hs->in_need == 0;

	if (++hs->in_got > NH_PROXY_HTTP_MAX_HEADER)
		return hs_fail(
			hs, -EPROTO,
			"http proxy sent %u header bytes without an end from %s",
			hs->in_got, hn);
	if (b == '\n') {
		if (in_status) {
			int ret = http_status_line(hs, hn);

			if (ret)
				return ret;
			hs->in_need = 1;
		} else if (hs->line_len == 0) {
			hs->state = NH_PROXY_HS_DONE;
			return 1;
		}
		hs->line_len = 0;
		return 0;
	}
	if (b == '\r')
		return 0;
	hs->line_len++;
	if (!in_status)
		return 0;
	if (hs->status_len < sizeof(hs->status) - 1)
		hs->status[hs->status_len++] = (char)b;
	if (hs->line_len <= 7 && b != (uint8_t) "HTTP/1."[hs->line_len - 1]) {
		char txt[48];

		status_text(hs, 0, txt, sizeof(txt));
		return hs_fail(
			hs, -EPROTO,
			"http malformed reply \"%s\" (not an HTTP/1 status line) from %s",
			txt, hn);
	}
	return 0;
}

int nh_proxy_hs_input(struct nh_proxy_hs *hs, const uint8_t *buf, size_t len,
		      size_t *consumed)
{
	char hn[HOPSTR_MAX];
	size_t i;
	int ret = 0;

	*consumed = 0;
	if (hs->err)
		return hs->err;
	if (hs->state == NH_PROXY_HS_DONE)
		return 1;
	if (!len)
		return 0;
	hop_str(hs->hop, hn, sizeof(hn));
	for (i = 0; i < len; i++) {
		if (hs->out_off < hs->seg_end && hs->state != ST_HTTP_CONNECT) {
			*consumed = i;
			return hs_fail(
				hs, -EPROTO,
				"%s proxy %s sent data before the request was complete",
				hs_name(hs), hn);
		}
		hs->rx_total++;
		switch (hs->state) {
		case ST_S5_GREET:
		case ST_S5_AUTH:
		case ST_S5_CONNECT:
			ret = s5_byte(hs, buf[i], hn);
			break;
		case ST_S4_CONNECT:
			ret = s4_byte(hs, buf[i], hn);
			break;
		case ST_HTTP_CONNECT:
			ret = http_byte(hs, buf[i], hn);
			break;
		default:
			ret = hs_fail(hs, -EINVAL, "bad handshake state %u",
				      hs->state);
			break;
		}
		if (ret) {
			*consumed = i + 1;
			return ret;
		}
	}
	*consumed = len;
	return 0;
}

int nh_proxy_hs_eof(struct nh_proxy_hs *hs)
{
	char hn[HOPSTR_MAX];

	if (hs->err)
		return hs->err;
	if (hs->state == NH_PROXY_HS_DONE)
		return 1;
	hop_str(hs->hop, hn, sizeof(hn));
	if (hs->rx_total == 0)
		return hs_fail(
			hs, -ECONNRESET,
			"%s proxy %s closed the connection without replying",
			hs_name(hs), hn);
	if (hs->state == ST_HTTP_CONNECT)
		return hs_fail(
			hs, -EPROTO,
			"http reply truncated after %u header bytes from %s",
			hs->in_got, hn);
	if (hs->in_got == 0)
		return hs_fail(
			hs, -EPROTO,
			"%s proxy %s closed the connection before replying to the %s request",
			hs_name(hs), hn,
			hs->state == ST_S5_AUTH ? "auth" : "connect");
	return hs_fail(hs, -EPROTO, "%s reply truncated after %u bytes from %s",
		       hs_name(hs), hs->in_got, hn);
}

const char *nh_proxy_hs_error(const struct nh_proxy_hs *hs)
{
	return hs->err ? hs->u.err : "";
}
