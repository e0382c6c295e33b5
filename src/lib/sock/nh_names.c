// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The resolver's name table (see nh_names.h): a keyed hash from name to
 * index, an array from index to entry, and an LRU list threaded through
 * the array by index.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "nh_names.h"
#include "nh_siphash.h"

#define POOL4 0xc6120000u /* 198.18.0.0 */
#define POOL4_MASK 0xfffe0000u /* /15 */

/* Entries come in blocks, so that a table that holds few names is small. */
#define BLOCK_SHIFT 10
#define BLOCK (1u << BLOCK_SHIFT)

/*
 * Expired entries dropped by one new name at most: bounds the time a new
 * name holds the lock, and still outpaces the new names themselves.
 */
#define EXPIRE_BATCH 8

struct ent {
	char *name; /* NULL: free (never used, or on the free queue) */
	uint64_t last; /* when last used, on the table's clock */
	/*
	 * LRU neighbours (0: none) while held with no reference; on the
	 * free queue, next is the next free index.
	 */
	uint32_t prev, next;
	uint32_t hnext; /* the hash chain */
	uint32_t hash;
	uint32_t refs;
	uint8_t len;
};

struct nh_names {
	pthread_mutex_t lock;
	uint64_t key[2];
	uint32_t max, ttl;
	uint32_t mask; /* buckets - 1 */
	uint32_t *bucket; /* head index of each chain, 0: empty */
	struct ent **block; /* (max >> BLOCK_SHIFT) + 1 blocks */
	uint32_t nblocks;
	uint32_t fresh; /* the lowest index never used */
	uint32_t free_head, free_tail; /* expired, dropped: oldest first */
	uint32_t lru_head, lru_tail; /* most, least recently used */
	uint32_t entries;
	uint64_t clock; /* the latest now_s seen: the list is in its order */
	size_t name_bytes;
};

static struct ent *ent_at(const struct nh_names *t, uint32_t i)
{
	return &t->block[i >> BLOCK_SHIFT][i & (BLOCK - 1)];
}

/* The entry at i if it holds a name (live or expired), else NULL. */
static struct ent *ent_held(const struct nh_names *t, uint32_t i)
{
	struct ent *e;

	if (!i || i >= t->fresh)
		return NULL;
	e = ent_at(t, i);
	return e->name ? e : NULL;
}

static bool ent_expired(const struct nh_names *t, const struct ent *e,
			uint64_t now)
{
	return !e->refs && now >= e->last && now - e->last >= t->ttl;
}

static void lru_unlink(struct nh_names *t, uint32_t i)
{
	struct ent *e = ent_at(t, i);

	if (e->prev)
		ent_at(t, e->prev)->next = e->next;
	else
		t->lru_head = e->next;
	if (e->next)
		ent_at(t, e->next)->prev = e->prev;
	else
		t->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void lru_push(struct nh_names *t, uint32_t i)
{
	struct ent *e = ent_at(t, i);

	e->prev = 0;
	e->next = t->lru_head;
	if (t->lru_head)
		ent_at(t, t->lru_head)->prev = i;
	else
		t->lru_tail = i;
	t->lru_head = i;
}

/*
 * A use: the clock never goes back, so the list stays in order of last
 * even when callers' clocks are read a little apart.
 */
static void ent_touch(struct nh_names *t, uint32_t i, uint64_t now)
{
	struct ent *e = ent_at(t, i);

	if (now > t->clock)
		t->clock = now;
	e->last = t->clock;
	if (!e->refs) {
		lru_unlink(t, i);
		lru_push(t, i);
	}
}

static uint32_t find(const struct nh_names *t, const char *name, size_t len,
		     uint32_t h)
{
	uint32_t i;

	for (i = t->bucket[h & t->mask]; i; i = ent_at(t, i)->hnext) {
		const struct ent *e = ent_at(t, i);

		if (e->hash == h && e->len == len &&
		    !memcmp(e->name, name, len))
			return i;
	}
	return 0;
}

/*
 * Takes the (unreferenced) entry at i out of the hash and the list; its
 * name is returned, to be freed once the lock is let go.
 */
static char *drop(struct nh_names *t, uint32_t i)
{
	struct ent *e = ent_at(t, i);
	uint32_t *pp = &t->bucket[e->hash & t->mask];
	char *name = e->name;

	while (*pp != i)
		pp = &ent_at(t, *pp)->hnext;
	*pp = e->hnext;
	lru_unlink(t, i);
	t->name_bytes -= malloc_usable_size(name) + sizeof(size_t);
	t->entries--;
	e->name = NULL;
	e->hnext = 0;
	return name;
}

static void free_push(struct nh_names *t, uint32_t i)
{
	ent_at(t, i)->next = 0;
	if (t->free_tail)
		ent_at(t, t->free_tail)->next = i;
	else
		t->free_head = i;
	t->free_tail = i;
}

static uint32_t free_pop(struct nh_names *t)
{
	uint32_t i = t->free_head;

	t->free_head = ent_at(t, i)->next;
	if (!t->free_head)
		t->free_tail = 0;
	ent_at(t, i)->next = 0;
	return i;
}

int nh_names_new(unsigned int max, unsigned int ttl_s, struct nh_names **out)
{
	struct nh_names *t;
	uint32_t nb = 1;
	int r;

	*out = NULL;
	if (!max)
		max = NH_NAMES_DEFAULT_MAX;
	if (max > NH_NAMES_MAX)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* names come from whoever chooses what the program resolves */
	r = nh_siphash_key(t->key);
	if (r) {
		free(t);
		return r;
	}
	while (nb < max)
		nb <<= 1;
	t->max = max;
	t->ttl = ttl_s ? ttl_s : NH_NAMES_DEFAULT_TTL;
	t->mask = nb - 1;
	t->fresh = 1;
	t->nblocks = (max >> BLOCK_SHIFT) + 1;
	t->bucket = calloc(nb, sizeof(*t->bucket));
	t->block = calloc(t->nblocks, sizeof(*t->block));
	r = -ENOMEM;
	if (!t->bucket || !t->block)
		goto fail;
	r = -pthread_mutex_init(&t->lock, NULL);
	if (r)
		goto fail;
	*out = t;
	return 0;
fail:
	free(t->bucket);
	free(t->block);
	free(t);
	return r;
}

void nh_names_free(struct nh_names *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 1; i < t->fresh; i++)
		free(ent_at(t, i)->name);
	for (i = 0; i < t->nblocks; i++)
		free(t->block[i]);
	free(t->block);
	free(t->bucket);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void fill(struct sockaddr_storage *ss, int family, uint32_t i)
{
	uint32_t a = htonl(POOL4 + i);

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = a;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr.s6_addr[0] = 0x01;
		memcpy(&sin6->sin6_addr.s6_addr[12], &a, 4);
	}
}

/*
 * The index a new name gets, under the lock (see nh_names_addr() for the
 * order); names of dropped entries go into dead[] (EXPIRE_BATCH at
 * most, or the one victim), *spare is the caller's block, taken if a new one is needed.  0 with
 * -errno in *err when there is none.
 */
static uint32_t take_index(struct nh_names *t, uint64_t now, char **dead,
			   unsigned int *ndead, struct ent **spare, int *err)
{
	uint32_t i, b;
	int k;

	for (k = 0; k < EXPIRE_BATCH && t->lru_tail &&
		    ent_expired(t, ent_at(t, t->lru_tail), now);
	     k++) {
		i = t->lru_tail;
		dead[(*ndead)++] = drop(t, i);
		free_push(t, i);
	}
	if (t->fresh <= t->max) {
		b = t->fresh >> BLOCK_SHIFT;
		if (!t->block[b]) {
			t->block[b] = *spare;
			*spare = NULL;
			/* another caller took the block made for us */
			if (!t->block[b])
				t->block[b] = calloc(BLOCK, sizeof(struct ent));
			if (!t->block[b]) {
				*err = -ENOMEM;
				return 0;
			}
		}
		return t->fresh++;
	}
	if (t->free_head)
		return free_pop(t);
	if (t->lru_tail) {
		i = t->lru_tail;
		dead[(*ndead)++] = drop(t, i);
		return i;
	}
	*err = -ENOSPC;
	return 0;
}

/* A new name at the free index i, the most recently used. */
static void ent_set(struct nh_names *t, uint32_t i, char *name, size_t len,
		    uint32_t h, uint64_t now)
{
	struct ent *e = ent_at(t, i);

	e->name = name;
	e->len = (uint8_t)len;
	e->hash = h;
	e->refs = 0;
	e->hnext = t->bucket[h & t->mask];
	t->bucket[h & t->mask] = i;
	if (now > t->clock)
		t->clock = now;
	e->last = t->clock;
	lru_push(t, i);
	t->entries++;
	t->name_bytes += malloc_usable_size(name) + sizeof(size_t);
}

int nh_names_addr(struct nh_names *t, const char *name, int family,
		  uint64_t now_s, struct sockaddr_storage *ss)
{
	char *dead[EXPIRE_BATCH + 2], *copy;
	struct ent *spare = NULL;
	unsigned int ndead = 0, k;
	bool need_block;
	size_t len;
	uint32_t h, i;
	int r = 0;

	len = strnlen(name, NH_NAMES_NAME_MAX + 1);
	if (!len || len > NH_NAMES_NAME_MAX)
		return -EINVAL;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	h = (uint32_t)nh_siphash13(t->key, name, len);

	pthread_mutex_lock(&t->lock);
	i = find(t, name, len, h);
	if (i)
		ent_touch(t, i, now_s);
	need_block = t->fresh <= t->max && !t->block[t->fresh >> BLOCK_SHIFT];
	pthread_mutex_unlock(&t->lock);
	if (i) {
		fill(ss, family, i);
		return 0;
	}

	/* new: allocate out of the lock, then look again */
	copy = malloc(len + 1);
	if (need_block)
		spare = calloc(BLOCK, sizeof(*spare));
	if (!copy || (need_block && !spare)) {
		free(copy);
		free(spare);
		return -ENOMEM;
	}
	memcpy(copy, name, len + 1);

	pthread_mutex_lock(&t->lock);
	i = find(t, name, len, h);
	if (i) {
		/* another caller added it meanwhile */
		ent_touch(t, i, now_s);
		dead[ndead++] = copy;
	} else {
		i = take_index(t, now_s, dead, &ndead, &spare, &r);
		if (i)
			ent_set(t, i, copy, len, h, now_s);
		else
			dead[ndead++] = copy;
	}
	pthread_mutex_unlock(&t->lock);

	for (k = 0; k < ndead; k++)
		free(dead[k]);
	free(spare);
	if (r)
		return r;
	fill(ss, family, i);
	return 0;
}

/*
 * The index a pool address stands for: 0 with 0 when in the pool but not
 * of a shape we give out, -EADDRNOTAVAIL when not in the pool.
 */
static int pool_index(const struct sockaddr *sa, uint32_t *idx)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t pool6[8] = { 0x01 };
	const uint8_t *b;
	bool ours6;
	uint32_t a;

	*idx = 0;
	if (sa->sa_family == AF_INET) {
		a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		ours6 = false;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		ours6 = !memcmp(b, pool6, sizeof(pool6));
		if (!ours6 && memcmp(b, mapped, sizeof(mapped)))
			return -EADDRNOTAVAIL;
		/* the whole /64 is ours, named or not */
		if (ours6 && (b[8] | b[9] | b[10] | b[11]))
			return 0;
		a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15];
	} else {
		return -EADDRNOTAVAIL;
	}
	if ((a & POOL4_MASK) != POOL4)
		return ours6 ? 0 : -EADDRNOTAVAIL;
	*idx = a - POOL4;
	return 0;
}

bool nh_names_in_pool(const struct sockaddr *sa)
{
	uint32_t i;

	return pool_index(sa, &i) == 0;
}

int nh_names_lookup(struct nh_names *t, const struct sockaddr *sa, bool ref,
		    uint64_t now_s, char *buf, size_t len)
{
	struct ent *e;
	uint32_t i;
	int r;

	r = pool_index(sa, &i);
	if (r)
		return r;
	pthread_mutex_lock(&t->lock);
	e = i <= t->max ? ent_held(t, i) : NULL;
	if (!e || ent_expired(t, e, now_s))
		r = -ENOENT;
	else if (len <= e->len)
		r = -ENOBUFS;
	else if (ref && e->refs == UINT32_MAX)
		r = -EOVERFLOW;
	if (!r) {
		memcpy(buf, e->name, e->len + 1u);
		if (ref) {
			if (now_s > t->clock)
				t->clock = now_s;
			e->last = t->clock;
			if (!e->refs++)
				lru_unlink(t, i);
		}
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

void nh_names_put(struct nh_names *t, const struct sockaddr *sa)
{
	struct ent *e;
	uint32_t i;

	if (pool_index(sa, &i))
		return;
	pthread_mutex_lock(&t->lock);
	e = i <= t->max ? ent_held(t, i) : NULL;
	if (e && e->refs && !--e->refs) {
		e->last = t->clock;
		lru_push(t, i);
	}
	pthread_mutex_unlock(&t->lock);
}

void nh_names_stats(const struct nh_names *t, unsigned int *entries,
		    size_t *bytes)
{
	struct nh_names *w = (struct nh_names *)t; /* the lock only */
	size_t b;
	uint32_t i;

	pthread_mutex_lock(&w->lock);
	b = sizeof(*t) + (t->mask + 1ull) * sizeof(*t->bucket) +
	    t->nblocks * sizeof(*t->block) + t->name_bytes;
	for (i = 0; i < t->nblocks; i++)
		if (t->block[i])
			b += BLOCK * sizeof(struct ent);
	if (entries)
		*entries = t->entries;
	if (bytes)
		*bytes = b;
	pthread_mutex_unlock(&w->lock);
}
