// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* User mode's connections and their ends, from sock_diag. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include "nh_time.h"
#include "nh_udiag.h"

#define UD_BUCKETS 4096

/* include/net/tcp_states.h: not in the uapi headers */
enum {
	UD_ESTABLISHED = 1,
	UD_CLOSE_WAIT = 8,
};

/* What an open connection's end line needs, kept small: an idle tunnel
 * costs this much (the report itself is 800 bytes, most of it a name
 * and a detail an open connection has no use for). */
struct ud_conn {
	struct ud_conn *next;
	uint64_t cookie;
	int family;
	bool seen, open; /* in this look; still the program's */
	bool redirect, direct;
	uint8_t hs_mode;
	uint64_t hs_ns;
	struct nh_flow_val id;
	struct sockaddr_in6 to; /* an AF_INET one fits */
	char *name; /* NULL: none */
};

struct nh_udiag {
	int nl;
	nh_udiag_report_fn report;
	void *user;
	unsigned int n, nfam[2];
	uint32_t seq;
	struct ud_conn *b[UD_BUCKETS];
	char buf[32768] __attribute__((aligned(8)));
};

int nh_udiag_new(nh_udiag_report_fn report, void *user, struct nh_udiag **out)
{
	struct nh_udiag *d;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		       NETLINK_SOCK_DIAG);
	if (d->nl < 0) {
		free(d);
		return -errno;
	}
	d->report = report;
	d->user = user;
	*out = d;
	return 0;
}

static unsigned int bucket(uint64_t cookie)
{
	return (unsigned int)((cookie * 0x9e3779b97f4a7c15ull) >> 52) %
	       UD_BUCKETS;
}

int nh_udiag_add(struct nh_udiag *d, uint64_t cookie, int family,
		 const struct nh_relay_report *rep)
{
	struct ud_conn *c;
	unsigned int k = bucket(cookie);

	if (!cookie)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (rep->name[0]) {
		c->name = strdup(rep->name);
		if (!c->name) {
			free(c);
			return -ENOMEM;
		}
	}
	c->cookie = cookie;
	c->family = family;
	c->redirect = rep->redirect;
	c->direct = rep->direct;
	c->hs_mode = rep->hs_mode;
	c->hs_ns = rep->hs_ns;
	c->id = rep->id;
	memcpy(&c->to, &rep->to, sizeof(c->to));
	c->next = d->b[k];
	d->b[k] = c;
	d->n++;
	d->nfam[family == AF_INET6]++;
	return 0;
}

static struct ud_conn *find(struct nh_udiag *d, uint64_t cookie)
{
	struct ud_conn *c;

	for (c = d->b[bucket(cookie)]; c; c = c->next)
		if (c->cookie == cookie)
			return c;
	return NULL;
}

/* One socket of the dump: a watched one is seen, and still open while the program has not closed it (a peer's FIN alone,
 * CLOSE_WAIT, leaves it the program's). */
static void seen(struct nh_udiag *d, const struct inet_diag_msg *m)
{
	uint64_t cookie = (uint64_t)m->id.idiag_cookie[0] |
			  (uint64_t)m->id.idiag_cookie[1] << 32;
	struct ud_conn *c = find(d, cookie);

	if (!c)
		return;
	c->seen = true;
	c->open = m->idiag_state == UD_ESTABLISHED ||
		  m->idiag_state == UD_CLOSE_WAIT;
}

/* Dump one family's TCP sockets: 0, or -errno (then nothing is told
 * ended from this look). */
static int dump(struct nh_udiag *d, int family)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} q = { 0 };
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	size_t off, step;
	ssize_t n;

	q.h.nlmsg_len = sizeof(q);
	q.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	/* what is left of a dump that failed half-way is not this one's */
	q.h.nlmsg_seq = ++d->seq;
	q.r.sdiag_family = (__u8)family;
	q.r.sdiag_protocol = IPPROTO_TCP;
	/* only the states that are still the program's: what is missing
	 * has ended (a dump of TIME_WAIT sockets would be most of it) */
	q.r.idiag_states = 1u << UD_ESTABLISHED | 1u << UD_CLOSE_WAIT;
	if (sendto(d->nl, &q, sizeof(q), 0, (void *)&k, sizeof(k)) < 0)
		return -errno;
	for (;;) {
		n = recv(d->nl, d->buf, sizeof(d->buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		/* NLMSG_OK() and NLMSG_NEXT() by hand: theirs compare signed
		 * and unsigned */
		for (off = 0; off + sizeof(*h) <= (size_t)n; off += step) {
			h = (struct nlmsghdr *)(void *)(d->buf + off);
			if (h->nlmsg_len < sizeof(*h) ||
			    h->nlmsg_len > (size_t)n - off)
				break;
			step = NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_seq != d->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >=
				    NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				seen(d, NLMSG_DATA(h));
		}
	}
}

/* The end of c, told; c is freed by the caller. */
static void tell(struct nh_udiag *d, struct ud_conn *c)
{
	struct nh_relay_report r;

	memset(&r, 0, sizeof(r));
	r.id = c->id;
	r.end_ns = nh_now_ns();
	r.established = true;
	r.bytes_unknown = true;
	r.redirect = c->redirect;
	r.direct = c->direct;
	r.hs_mode = c->hs_mode;
	r.hs_ns = c->hs_ns;
	memcpy(&r.to, &c->to, sizeof(c->to));
	if (c->name)
		snprintf(r.name, sizeof(r.name), "%s", c->name);
	d->report(d->user, &r);
}

static void sweep(struct nh_udiag *d, bool all)
{
	struct ud_conn **p, *c;
	unsigned int k;

	for (k = 0; k < UD_BUCKETS; k++) {
		p = &d->b[k];
		while ((c = *p)) {
			if (!all && c->seen && c->open) {
				c->seen = false;
				p = &c->next;
				continue;
			}
			*p = c->next;
			tell(d, c);
			d->n--;
			d->nfam[c->family == AF_INET6]--;
			free(c->name);
			free(c);
		}
	}
}

void nh_udiag_poll(struct nh_udiag *d)
{
	if (!d || !d->n)
		return;
	if ((d->nfam[0] && dump(d, AF_INET)) ||
	    (d->nfam[1] && dump(d, AF_INET6))) {
		/* a look that failed tells nothing: all stay open */
		unsigned int k;
		struct ud_conn *c;

		for (k = 0; k < UD_BUCKETS; k++)
			for (c = d->b[k]; c; c = c->next)
				c->seen = false;
		return;
	}
	sweep(d, false);
}

void nh_udiag_free(struct nh_udiag *d)
{
	if (!d)
		return;
	nh_udiag_poll(d);
	sweep(d, true);
	close(d->nl);
	free(d);
}
