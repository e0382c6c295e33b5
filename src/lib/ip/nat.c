// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Stateful destination translation: a table of flows, keyed both by the
 * outgoing tuple and by the tuple its replies carry, with LRU eviction
 * and timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "nethook/nat.h"
#include "nh_internal.h"
#include "nh_pkt.h"

#define TH_FIN_ 0x01
#define TH_SYN_ 0x02
#define TH_RST_ 0x04
#define TH_ACK_ 0x10

struct nat_key {
	uint8_t family;
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
};

struct nat_ent {
	struct nat_key fwd; /* the outgoing packets' tuple */
	struct nat_key rev; /* the replies' tuple */
	struct nat_ent *fnext, *rnext; /* hash chains */
	struct nat_ent *lprev, *lnext; /* LRU: lnext towards older */
	uint64_t last_ms;
	uint8_t fin_out, fin_in, closed;
};

struct nh_nat {
	struct nh_nat_target target;
	bool has_target;
	struct nat_ent **fb, **rb;
	uint32_t mask;
	struct nat_ent lru; /* lru.lnext: newest, lru.lprev: oldest */
	size_t count, max;
	uint32_t udp_to, tcp_to, closed_to;
	uint64_t (*now_ms)(void *user);
	void *user;
	uint32_t seed;
};

static uint64_t mono_ms(void *user)
{
	struct timespec ts;

	(void)user;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_target(const char *s, struct nh_nat_target *out)
{
	char buf[64], *host, *port = NULL, *end;
	const char *colon;
	unsigned long p = 0;

	if (!s || !out || strlen(s) >= sizeof(buf))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	strcpy(buf, s);
	host = buf;
	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (!end)
			return -EINVAL;
		*end = '\0';
		host = buf + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
	} else {
		colon = strchr(buf, ':');
		if (colon && !strchr(colon + 1, ':')) {
			buf[colon - buf] = '\0';
			port = buf + (colon - buf) + 1;
		}
	}
	if (port) {
		if (*port < '0' || *port > '9')
			return -EINVAL;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || *end || p == 0 || p > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = 4;
		if (buf[0] == '[')
			return -EINVAL;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = 6;
		if (port && buf[0] != '[')
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	out->port = (uint16_t)p;
	return 0;
}

NH_API int nh_nat_parse_target(const char *s, struct nh_nat_target *out)
{
	int err = parse_target(s, out);

	return err ? nh_err(err) : 0;
}

NH_API struct nh_nat *nh_nat_new(const struct nh_nat_opts *o)
{
	struct nh_nat *t;
	uint32_t max = 65536, nb = 1;

	if (o && o->sz && o->sz < offsetof(struct nh_nat_opts, now_ms)) {
		errno = EINVAL;
		return NULL;
	}
	if (o && o->max_entries)
		max = o->max_entries;
	while (nb < max && nb < (1u << 24))
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fb = calloc(nb, sizeof(*t->fb));
	t->rb = calloc(nb, sizeof(*t->rb));
	if (!t->fb || !t->rb) {
		nh_nat_free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->mask = nb - 1;
	t->max = max;
	t->lru.lnext = t->lru.lprev = &t->lru;
	t->udp_to = o && o->udp_timeout_ms ? o->udp_timeout_ms : 30000;
	t->tcp_to = o && o->tcp_timeout_ms ? o->tcp_timeout_ms : 7200000;
	t->closed_to = o && o->tcp_closed_timeout_ms ?
			       o->tcp_closed_timeout_ms :
			       10000;
	t->now_ms = o && o->now_ms ? o->now_ms : mono_ms;
	t->user = o ? o->user : NULL;
	t->seed = (uint32_t)(uintptr_t)t * 2654435761u ^ 0x5bd1e995u;
	return t;
}

NH_API void nh_nat_free(struct nh_nat *t)
{
	struct nat_ent *e, *next;

	if (!t)
		return;
	if (t->lru.lnext) {
		for (e = t->lru.lnext; e != &t->lru; e = next) {
			next = e->lnext;
			free(e);
		}
	}
	free(t->fb);
	free(t->rb);
	free(t);
}

NH_API int nh_nat_set_target(struct nh_nat *t, const struct nh_nat_target *to)
{
	if (!t)
		return nh_err(-EINVAL);
	if (!to) {
		t->has_target = false;
		return 0;
	}
	if (to->family != 4 && to->family != 6)
		return nh_err(-EINVAL);
	t->target = *to;
	t->has_target = true;
	return 0;
}

NH_API size_t nh_nat_count(const struct nh_nat *t)
{
	return t ? t->count : 0;
}

static uint32_t key_hash(const struct nh_nat *t, const struct nat_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u ^ t->seed;
	size_t i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	h ^= h >> 15;
	return h & t->mask;
}

static uint32_t timeout_of(const struct nh_nat *t, const struct nat_ent *e)
{
	if (e->fwd.proto != IPPROTO_TCP)
		return t->udp_to;
	return e->closed ? t->closed_to : t->tcp_to;
}

static void unlink_chain(struct nat_ent **head, struct nat_ent *e, bool fwd)
{
	struct nat_ent **pp = head;

	while (*pp && *pp != e)
		pp = fwd ? &(*pp)->fnext : &(*pp)->rnext;
	if (*pp)
		*pp = fwd ? e->fnext : e->rnext;
}

static void ent_remove(struct nh_nat *t, struct nat_ent *e)
{
	unlink_chain(&t->fb[key_hash(t, &e->fwd)], e, true);
	unlink_chain(&t->rb[key_hash(t, &e->rev)], e, false);
	e->lprev->lnext = e->lnext;
	e->lnext->lprev = e->lprev;
	t->count--;
	free(e);
}

static void lru_front(struct nh_nat *t, struct nat_ent *e)
{
	e->lprev->lnext = e->lnext;
	e->lnext->lprev = e->lprev;
	e->lnext = t->lru.lnext;
	e->lprev = &t->lru;
	t->lru.lnext->lprev = e;
	t->lru.lnext = e;
}

static bool expired(const struct nh_nat *t, const struct nat_ent *e,
		    uint64_t now)
{
	return now >= e->last_ms && now - e->last_ms > timeout_of(t, e);
}

NH_API void nh_nat_expire(struct nh_nat *t)
{
	struct nat_ent *e, *prev;
	uint64_t now;

	if (!t)
		return;
	now = t->now_ms(t->user);
	for (e = t->lru.lprev; e != &t->lru; e = prev) {
		prev = e->lprev;
		if (expired(t, e, now))
			ent_remove(t, e);
	}
}

static struct nat_ent *lookup(struct nh_nat *t, const struct nat_key *k,
			      bool fwd, uint64_t now)
{
	struct nat_ent *e;

	e = fwd ? t->fb[key_hash(t, k)] : t->rb[key_hash(t, k)];
	for (; e; e = fwd ? e->fnext : e->rnext) {
		if (!memcmp(fwd ? &e->fwd : &e->rev, k, sizeof(*k)))
			break;
	}
	if (e && expired(t, e, now)) {
		ent_remove(t, e);
		return NULL;
	}
	return e;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/*
 * The key of a packet as it travels: echo requests (out) keep their
 * identifier as the source "port", echo replies (in) as the destination
 * one, so that a reply's key is the request's turned around.
 */
static int pkt_key(const uint8_t *p, const struct nh_pkt_info *in, bool out,
		   struct nat_key *k)
{
	size_t alen = in->version == 4 ? 4 : 16;

	if (!in->l4)
		return 0; /* not one we know, or a later fragment */
	memset(k, 0, sizeof(*k));
	k->family = in->version;
	k->proto = in->proto;
	memcpy(k->src, in->src, alen);
	memcpy(k->dst, in->dst, alen);
	switch (in->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		k->sport = in->sport;
		k->dport = in->dport;
		return 1;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		uint8_t type = p[in->hdr_len];
		bool req = type == 8 || type == 128;
		bool rep = type == 0 || type == 129;

		if (out ? !req : !rep)
			return 0;
		if (out)
			k->sport = in->sport;
		else
			k->dport = in->sport;
		return 1;
	}
	default:
		return 0;
	}
}

/* Address at addr_off and (TCP/UDP) port at port_off of the packet
 * become addr / port, checksums following. */
static void rewrite(struct nh_pkt *pkt, const struct nh_pkt_info *in,
		    uint32_t addr_off, const uint8_t *addr, uint32_t port_off,
		    uint16_t port)
{
	uint8_t *p = pkt->data, *csum = NULL, nport[2];
	size_t alen = in->version == 4 ? 4 : 16;
	bool l4_pseudo = in->proto != IPPROTO_ICMP;
	bool udp0 = false;

	/* a first fragment's checksum covers the whole datagram: adjusting
	 * it is right all the same */
	if (in->csum_off)
		csum = p + in->csum_off;
	if (csum && in->proto == IPPROTO_UDP && in->version == 4 && !csum[0] &&
	    !csum[1])
		udp0 = true; /* no checksum: stays so */
	nport[0] = (uint8_t)(port >> 8);
	nport[1] = (uint8_t)port;

	if (!pkt->csum_partial) {
		if (in->version == 4)
			nh_csum_replace(p + 10, p + addr_off, addr, 4);
		if (csum && !udp0 && l4_pseudo)
			nh_csum_replace(csum, p + addr_off, addr, alen);
		if (csum && !udp0 && port_off)
			nh_csum_replace(csum, p + port_off, nport, 2);
		if (csum && !udp0 && in->proto == IPPROTO_UDP && !csum[0] &&
		    !csum[1])
			csum[0] = csum[1] = 0xff;
	}
	memcpy(p + addr_off, addr, alen);
	if (port_off)
		memcpy(p + port_off, nport, 2);
	if (pkt->csum_partial)
		nh_pkt_fix_checksums(pkt);
	pkt->modified = 1;
}

static void tcp_track(struct nat_ent *e, uint8_t flags, bool out)
{
	if (e->fwd.proto != IPPROTO_TCP)
		return;
	if (flags & TH_RST_)
		e->closed = 1;
	if (flags & TH_FIN_) {
		if (out)
			e->fin_out = 1;
		else
			e->fin_in = 1;
	}
	if (e->fin_out && e->fin_in)
		e->closed = 1;
}

static int nat_out(struct nh_nat *t, struct nh_pkt *pkt,
		   const struct nh_nat_target *to)
{
	struct nh_pkt_info in;
	struct nat_key k, rk;
	struct nat_ent *e, *old;
	uint64_t now;
	size_t alen;
	bool ports;
	uint32_t b;
	int r;

	if (!t || !pkt || pkt->truncated)
		return -EINVAL;
	r = nh_pkt_parse(pkt->data, pkt->len, &in);
	if (r)
		return r;
	if (!pkt_key(pkt->data, &in, true, &k) || in.pseudo_dst_off)
		return 0; /* (a routing header's final hop is not ours) */
	alen = in.version == 4 ? 4 : 16;
	ports = in.proto == IPPROTO_TCP || in.proto == IPPROTO_UDP;
	now = t->now_ms(t->user);
	e = lookup(t, &k, true, now);
	if (e && e->closed && in.proto == IPPROTO_TCP &&
	    (in.tcp_flags & (TH_SYN_ | TH_ACK_)) == TH_SYN_) {
		ent_remove(t, e); /* a new connection on the same tuple */
		e = NULL;
	}
	if (!e) {
		if (!to || to->family != in.version)
			return 0;
		memset(&rk, 0, sizeof(rk));
		rk.family = k.family;
		rk.proto = k.proto;
		memcpy(rk.src, to->addr, alen);
		rk.sport = ports && to->port ? to->port : k.dport;
		memcpy(rk.dst, k.src, alen);
		rk.dport = k.sport;
		if (!memcmp(rk.src, k.dst, alen) && rk.sport == k.dport)
			return 0; /* already going there */
		if (is_icmp(k.proto)) {
			rk.dport = k.sport;
			rk.sport = 0;
		}
		old = lookup(t, &rk, false, now);
		if (old)
			ent_remove(t, old); /* its replies would be ours */
		if (t->count >= t->max)
			ent_remove(t, t->lru.lprev);
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->fwd = k;
		e->rev = rk;
		b = key_hash(t, &k);
		e->fnext = t->fb[b];
		t->fb[b] = e;
		b = key_hash(t, &rk);
		e->rnext = t->rb[b];
		t->rb[b] = e;
		e->lprev = &t->lru;
		e->lnext = t->lru.lnext;
		t->lru.lnext->lprev = e;
		t->lru.lnext = e;
		t->count++;
	} else {
		lru_front(t, e);
	}
	e->last_ms = now;
	tcp_track(e, in.tcp_flags, true);
	rewrite(pkt, &in, in.version == 4 ? 16 : 24, e->rev.src,
		ports ? in.hdr_len + 2 : 0, e->rev.sport);
	return 1;
}

NH_API int nh_nat_out(struct nh_nat *t, struct nh_pkt *pkt)
{
	int r;

	if (!t)
		return nh_err(-EINVAL);
	r = nat_out(t, pkt, t->has_target ? &t->target : NULL);
	return r < 0 ? nh_err(r) : r;
}

NH_API int nh_nat_out_to(struct nh_nat *t, struct nh_pkt *pkt,
			 const struct nh_nat_target *to)
{
	int r = nat_out(t, pkt, to);

	return r < 0 ? nh_err(r) : r;
}

static int nat_in(struct nh_nat *t, struct nh_pkt *pkt)
{
	struct nh_pkt_info in;
	struct nat_key k;
	struct nat_ent *e;
	uint64_t now;
	bool ports;
	int r;

	if (!t || !pkt || pkt->truncated)
		return -EINVAL;
	r = nh_pkt_parse(pkt->data, pkt->len, &in);
	if (r)
		return r;
	if (!pkt_key(pkt->data, &in, false, &k))
		return 0;
	now = t->now_ms(t->user);
	e = lookup(t, &k, false, now);
	if (!e)
		return 0;
	lru_front(t, e);
	e->last_ms = now;
	tcp_track(e, in.tcp_flags, false);
	ports = in.proto == IPPROTO_TCP || in.proto == IPPROTO_UDP;
	rewrite(pkt, &in, in.version == 4 ? 12 : 8, e->fwd.dst,
		ports ? in.hdr_len : 0, e->fwd.dport);
	return 1;
}

NH_API int nh_nat_in(struct nh_nat *t, struct nh_pkt *pkt)
{
	int r = nat_in(t, pkt);

	return r < 0 ? nh_err(r) : r;
}
