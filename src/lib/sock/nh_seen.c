// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names seen in the scope's DNS answers (see nh_seen.h): a keyed hash
 * from address to entry, and an LRU list through the entries.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nh_dns_msg.h"
#include "nh_seen.h"
#include "nh_siphash.h"

/* How many names deep a CNAME chain is followed from the question. */
#define CHAIN_MAX 16

struct ent {
	struct ent *hnext; /* the hash chain */
	struct ent *prev, *next; /* LRU: towards the most, least recent */
	uint8_t addr[16]; /* IPv6 form, IPv4 mapped */
	uint32_t hash;
	char name[]; /* NUL-terminated */
};

struct nh_seen {
	pthread_mutex_t lock;
	uint64_t key[2];
	uint32_t max, mask; /* buckets - 1 */
	struct ent **bucket;
	struct ent *head, *tail; /* most, least recently used */
	uint32_t entries;
	size_t ent_bytes;
};

static size_t ent_size(struct ent *e)
{
	return malloc_usable_size(e) + sizeof(size_t);
}

/* The address in IPv6 form: IPv4 as ::ffff:a.b.c.d, like the kernel's. */
static int addr_key(const struct sockaddr *sa, uint8_t out[16])
{
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->sa_family == AF_INET6) {
		memcpy(out, &s6->sin6_addr, 16);
		return 0;
	}
	if (sa->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &s4->sin_addr, 4);
	return 0;
}

int nh_seen_new(unsigned int max, struct nh_seen **out)
{
	struct nh_seen *t;
	uint32_t nb = 1;
	int r;

	*out = NULL;
	if (!max)
		max = NH_SEEN_DEFAULT_MAX;
	if (max > NH_SEEN_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* the addresses come from whoever answers the program's queries */
	r = nh_siphash_key(t->key);
	if (r) {
		free(t);
		return r;
	}
	/* two addresses a chain when full: short walks, a small array */
	while (nb < max / 2)
		nb <<= 1;
	t->max = max;
	t->mask = nb - 1;
	t->bucket = calloc(nb, sizeof(*t->bucket));
	r = t->bucket ? -pthread_mutex_init(&t->lock, NULL) : -ENOMEM;
	if (r) {
		free(t->bucket);
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void nh_seen_free(struct nh_seen *t)
{
	struct ent *e, *next;

	if (!t)
		return;
	for (e = t->head; e; e = next) {
		next = e->next;
		free(e);
	}
	pthread_mutex_destroy(&t->lock);
	free(t->bucket);
	free(t);
}

static struct ent **find(struct nh_seen *t, const uint8_t addr[16], uint32_t h)
{
	struct ent **pp;

	for (pp = &t->bucket[h & t->mask]; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && !memcmp((*pp)->addr, addr, 16))
			return pp;
	return pp;
}

static void lru_unlink(struct nh_seen *t, struct ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct nh_seen *t, struct ent *e)
{
	e->prev = NULL;
	e->next = t->head;
	if (t->head)
		t->head->prev = e;
	else
		t->tail = e;
	t->head = e;
}

/* Out of the table (not freed). */
static void ent_remove(struct nh_seen *t, struct ent **pp)
{
	struct ent *e = *pp;

	*pp = e->hnext;
	lru_unlink(t, e);
	t->entries--;
	t->ent_bytes -= ent_size(e);
}

int nh_seen_put(struct nh_seen *t, const struct sockaddr *sa, const char *name)
{
	struct ent *e, *old = NULL, **pp;
	size_t len;
	int err;

	len = strnlen(name, NH_SEEN_NAME_MAX + 1);
	if (!len || len > NH_SEEN_NAME_MAX)
		return -EINVAL;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	err = addr_key(sa, e->addr);
	if (err) {
		free(e);
		return err;
	}
	memcpy(e->name, name, len + 1);
	e->hash = (uint32_t)nh_siphash13(t->key, e->addr, 16);

	pthread_mutex_lock(&t->lock);
	pp = find(t, e->addr, e->hash);
	if (*pp) {
		old = *pp;
		ent_remove(t, pp);
	} else if (t->entries >= t->max) {
		/* the least recently used makes room */
		old = t->tail;
		ent_remove(t, find(t, old->addr, old->hash));
		pp = find(t, e->addr, e->hash);
	}
	e->hnext = *pp;
	*pp = e;
	lru_push(t, e);
	t->entries++;
	t->ent_bytes += ent_size(e);
	pthread_mutex_unlock(&t->lock);
	free(old);
	return 0;
}

int nh_seen_lookup(struct nh_seen *t, const struct sockaddr *sa, char *buf,
		   size_t len)
{
	uint8_t addr[16];
	struct ent *e;
	uint32_t h;
	int err;

	err = addr_key(sa, addr);
	if (err)
		return err;
	h = (uint32_t)nh_siphash13(t->key, addr, 16);
	pthread_mutex_lock(&t->lock);
	e = *find(t, addr, h);
	if (!e) {
		err = -ENOENT;
	} else if (strlen(e->name) >= len) {
		err = -ENOBUFS;
	} else {
		strcpy(buf, e->name);
		lru_unlink(t, e);
		lru_push(t, e);
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void nh_seen_stats(struct nh_seen *t, unsigned int *entries, size_t *bytes)
{
	pthread_mutex_lock(&t->lock);
	if (entries)
		*entries = t->entries;
	if (bytes)
		*bytes = sizeof(*t) +
			 ((size_t)t->mask + 1) * sizeof(*t->bucket) +
			 t->ent_bytes;
	pthread_mutex_unlock(&t->lock);
}

/* ---- an answer: the question's name and the names its CNAMEs lead to */

struct chain {
	char name[CHAIN_MAX][NH_DNS_NAME_MAX];
	int n;
	bool grew;
};

static bool chain_has(const struct chain *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return true;
	return false;
}

/* A CNAME from a name of the chain adds its target. */
static int chain_grow(const char *owner, uint16_t type, const uint8_t *rdata,
		      uint16_t rdlen, const char *target, uint32_t ttl,
		      void *user)
{
	struct chain *c = user;

	(void)rdata;
	(void)rdlen;
	(void)ttl;
	if (type != NH_DNS_T_CNAME || c->n >= CHAIN_MAX ||
	    !chain_has(c, owner) || chain_has(c, target))
		return 0;
	snprintf(c->name[c->n++], NH_DNS_NAME_MAX, "%s", target);
	c->grew = true;
	return 0;
}

struct naming {
	struct nh_seen *t;
	const struct chain *c;
	int named;
	int err;
};

static int name_addr(const char *owner, uint16_t type, const uint8_t *rdata,
		     uint16_t rdlen, const char *target, uint32_t ttl,
		     void *user)
{
	struct naming *nm = user;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int err;

	(void)target;
	(void)ttl;
	if ((type != NH_DNS_T_A && type != NH_DNS_T_AAAA) ||
	    !chain_has(nm->c, owner))
		return 0;
	if (type == NH_DNS_T_A && rdlen == 4) {
		memcpy(&s4.sin_addr, rdata, 4);
		err = nh_seen_put(nm->t, (const void *)&s4, nm->c->name[0]);
	} else if (type == NH_DNS_T_AAAA && rdlen == 16) {
		memcpy(&s6.sin6_addr, rdata, 16);
		err = nh_seen_put(nm->t, (const void *)&s6, nm->c->name[0]);
	} else {
		return 0;
	}
	if (err) {
		nm->err = err;
		return 1;
	}
	nm->named++;
	return 0;
}

int nh_seen_answer(struct nh_seen *t, const uint8_t *msg, size_t len)
{
	struct nh_dns_query q;
	struct chain *c;
	struct naming nm = { .t = t };
	int err;

	/* the whole answer section is checked before anything is taken */
	err = nh_dns_response_walk(msg, len, &q, NULL, NULL);
	if (err)
		return err;
	if ((q.flags & NH_DNS_F_RCODE) != NH_DNS_R_NOERROR || !q.name[0] ||
	    q.qclass != NH_DNS_C_IN)
		return 0;
	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->name[0], NH_DNS_NAME_MAX, "%s", q.name);
	c->n = 1;
	/* each walk adds every link whose owner is known: records may come
	 * in any order */
	do {
		c->grew = false;
		nh_dns_response_walk(msg, len, NULL, chain_grow, c);
	} while (c->grew && c->n < CHAIN_MAX);
	nm.c = c;
	nh_dns_response_walk(msg, len, NULL, name_addr, &nm);
	free(c);
	return nm.err ? nm.err : nm.named;
}
