/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Upstream proxies: URL parsing and the client side of the handshakes
 * (SOCKS5 with no-auth or RFC 1929 username/password, SOCKS4, SOCKS4a,
 * HTTP CONNECT with Basic auth, direct). Pure protocol code: no sockets,
 * no allocation, no printing. The relay moves the bytes.
 */
#ifndef NH_PROXY_H
#define NH_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

enum nh_proxy_scheme {
	NH_PROXY_DIRECT,
	NH_PROXY_SOCKS5,
	NH_PROXY_SOCKS4,
	NH_PROXY_SOCKS4A,
	NH_PROXY_HTTP,
};

#define NH_PROXY_PORT_SOCKS 1080
#define NH_PROXY_PORT_HTTP 8080
/* Most bytes of an HTTP CONNECT reply (status line and headers). */
#define NH_PROXY_HTTP_MAX_HEADER 8192

/* ?pipeline= of a proxy URL: how its handshakes may go */
enum nh_proxy_pipeline {
	NH_PROXY_PIPELINE_AUTO = 0, /* learned: stepwise until shown to work */
	NH_PROXY_PIPELINE_OFF, /* one step per round trip */
	NH_PROXY_PIPELINE_ON, /* one flight, and optimistic data */
};

struct nh_proxy_hop {
	enum nh_proxy_scheme scheme;
	enum nh_proxy_pipeline pipeline;
	char host[256]; /* as written in the URL (IPv6 without brackets) */
	/*
	 * host:port when host is numeric, else ss_family is AF_UNSPEC until
	 * nh_proxy_hop_resolve().
	 */
	struct sockaddr_storage addr;
	uint16_t port;
	char user[256], pass[256]; /* percent-decoded; empty = none */
	bool has_auth; /* socks5/http: user (and pass); socks4/4a: user id */
};

/*
 * socks5://[user[:pass]@]host[:port], socks4://[userid@]host[:port],
 * socks4a://[userid@]host[:port], http://[user[:pass]@]host[:port],
 * direct:// ; an optional trailing "/", then an optional
 * "?pipeline=auto|on|off". host is IPv4, [IPv6] (a zone as
 * %25) or a name. Schemes are case-insensitive; socks5h:// is socks5://.
 * User info is percent-decoded (%40 -> @, %3A -> :); the last '@' ends it.
 * Default ports: socks 1080, http 8080. 0 or -EINVAL, with a one-line
 * reason in err (which may be NULL).
 */
int nh_proxy_url_parse(const char *url, struct nh_proxy_hop *hop, char *err,
		       size_t errlen);
/*
 * A chain, in order: URLs separated by commas or newlines. Blank entries,
 * and lines whose first non-blank character is '#', are skipped (a
 * --proxy-file: one URL per line). direct:// only as a chain of one.
 * Returns the number of hops, or -EINVAL (also for an empty chain) or
 * -E2BIG (more than max), with the reason in err naming the entry.
 */
int nh_proxy_chain_parse(const char *text, struct nh_proxy_hop *hops, int max,
			 char *err, size_t errlen);
/*
 * Fill hop->addr from hop->host with getaddrinfo() (blocking: call it at
 * start, not in the event loop). Nothing to do for a numeric host. 0, or
 * -EHOSTUNREACH (no such name), -EAGAIN (try later), -ENOMEM, -EIO.
 */
int nh_proxy_hop_resolve(struct nh_proxy_hop *hop);
static inline bool nh_proxy_hop_resolved(const struct nh_proxy_hop *hop)
{
	return hop->scheme == NH_PROXY_DIRECT ||
	       hop->addr.ss_family != AF_UNSPEC;
}
/* Whether the hop's protocol can carry a host name (socks5, socks4a, http). */
bool nh_proxy_scheme_carries_names(enum nh_proxy_scheme s);
const char *nh_proxy_scheme_name(enum nh_proxy_scheme s);
/*
 * "socks5://192.0.2.10:1080", "http://[2001:db8::1]:3128", "direct://":
 * never credentials. Returns the length, or -ENOSPC when truncated (buf is
 * still terminated).
 */
int nh_proxy_hop_format(const struct nh_proxy_hop *hop, char *buf, size_t len);
/* A chain as the log's route says it: "socks5://a:1080,http://b:3128", or
 * "direct" with no hop. */
void nh_proxy_route_format(const struct nh_proxy_hop *hops, int nhops,
			   char *buf, size_t len);

/* One hop's handshake. Opaque; in the header so it embeds without malloc. */
#define NH_PROXY_HS_DONE 0xff /* state once the tunnel is open */
#define NH_PROXY_HS_WINDOW 160 /* request bytes handed out per output call */
#define NH_PROXY_HS_STATUS 96 /* HTTP status line kept for the error */
struct nh_proxy_hs {
	const struct nh_proxy_hop *hop;
	int err; /* 0, or -errno once failed */
	uint8_t scheme;
	uint8_t state;
	uint8_t tfamily; /* 0: thost is the target; 4, 6: taddr */
	uint8_t status_len;
	bool pipelined; /* the whole request in one flight */
	uint8_t taddr[16];
	uint16_t tport;
	uint16_t out_len; /* the current request */
	uint16_t out_off; /* bytes of it sent */
	uint16_t win_off; /* offset in it of u.out[0] */
	uint16_t win_len; /* 0: u.out is not rendered */
	uint16_t in_got; /* bytes of the current reply */
	uint16_t in_need; /* socks5 connect reply length, once known */
	uint16_t line_len; /* http: bytes in the current line */
	uint16_t seg_end; /* end of the request the awaited reply answers */
	uint32_t rx_total; /* reply bytes of the whole handshake */
	uint8_t ibuf[4];
	char status[NH_PROXY_HS_STATUS];
	char thost[256];
	union {
		uint8_t out[NH_PROXY_HS_WINDOW];
		char err[NH_PROXY_HS_WINDOW];
	} u;
};

/*
 * Prepare hs to ask hop to connect to target (AF_INET or AF_INET6, at the
 * sockaddr's port, or at target_port if that port is 0; v4-mapped IPv6 is
 * sent as IPv4) or, when target_host is non-empty and the protocol can
 * carry a name (socks5 domain, socks4a, http), to target_host:target_port;
 * a numeric target_host is sent as an address. hop must stay valid and
 * unchanged while hs is used; target_host is copied. Never fails: an
 * impossible target (IPv6 through socks4, a name without an address
 * through socks4, a bad name, nothing at all) makes the first output or
 * input call return -EAFNOSUPPORT, -EDESTADDRREQ or -EINVAL with the
 * reason in nh_proxy_hs_error(). direct:// is done at once.
 */
void nh_proxy_hs_init(struct nh_proxy_hs *hs, const struct nh_proxy_hop *hop,
		      const struct sockaddr *target, const char *target_host,
		      uint16_t target_port);
/*
 * Right after init: send the whole request in one flight (socks5: the
 * greeting offering one method, the authentication and the CONNECT) and
 * read the replies in order. Nothing changes for socks4 and http, whose
 * request is one already.
 */
void nh_proxy_hs_pipeline(struct nh_proxy_hs *hs);
/*
 * Ask hop to connect to the next hop of a chain: by name when next's host
 * is a name and hop can carry one, else by next->addr (resolved).
 */
void nh_proxy_hs_init_hop(struct nh_proxy_hs *hs,
			  const struct nh_proxy_hop *hop,
			  const struct nh_proxy_hop *next);
/*
 * Bytes to send now (*len may be 0: nothing to send, wait for input).
 * Returns 0 (in progress), 1 (done: tunnel open, nothing to send) or the
 * -errno of the failure. *buf stays valid until the next call on hs.
 */
int nh_proxy_hs_output(struct nh_proxy_hs *hs, const uint8_t **buf,
		       size_t *len);
/* n bytes of the last output were sent (n <= *len). */
void nh_proxy_hs_sent(struct nh_proxy_hs *hs, size_t n);
/*
 * Feed bytes received from the proxy. *consumed is how many belong to the
 * handshake: never past the end of the reply (HTTP: the blank line ending
 * the headers; SOCKS: the reply with its bound address); the rest is the
 * first data of the tunnel. Returns 0 (need more), 1 (done, tunnel open)
 * or -errno:
 *   -ECONNREFUSED  refused (socks5 0x01, 0x05, unassigned codes; socks4
 *                  0x5B..0x5D; http non-2xx status)
 *   -EACCES        authentication rejected or no acceptable method
 *   -EPERM         socks5 0x02 not allowed by ruleset
 *   -ENETUNREACH, -EHOSTUNREACH, -ETIMEDOUT   socks5 0x03, 0x04, 0x06
 *   -EOPNOTSUPP, -EAFNOSUPPORT                socks5 0x07, 0x08
 *   -EPROTO        garbage, wrong version, bad reserved byte or address
 *                  type, oversize headers, SOCKS data (or an HTTP 2xx)
 *                  before the request was all sent; an HTTP error status
 *                  sent early is taken as that error
 * Once done or failed, further calls consume nothing and return the same.
 */
int nh_proxy_hs_input(struct nh_proxy_hs *hs, const uint8_t *buf, size_t len,
		      size_t *consumed);
/*
 * The proxy closed its side before the handshake was done: -ECONNRESET
 * when it had sent no reply byte, -EPROTO (truncated) otherwise; 1 if the
 * handshake was already done.
 */
int nh_proxy_hs_eof(struct nh_proxy_hs *hs);
/* 0 in progress, 1 done, -errno failed. */
static inline int nh_proxy_hs_status(const struct nh_proxy_hs *hs)
{
	return hs->err ? hs->err : hs->state == NH_PROXY_HS_DONE;
}
/* Whether all of the current request is sent and a reply is awaited. */
static inline bool nh_proxy_hs_want_input(const struct nh_proxy_hs *hs)
{
	return !hs->err && hs->state != NH_PROXY_HS_DONE &&
	       hs->out_off == hs->out_len;
}
/*
 * After a failure, one line naming the hop, e.g. "socks5 reply 0x05
 * connection refused from 192.0.2.10:1080"; "" before.
 */
const char *nh_proxy_hs_error(const struct nh_proxy_hs *hs);

#endif
