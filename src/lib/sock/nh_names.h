/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The resolver's name table: name <-> pool address.
 *
 * Under `nethook run --proxy URL`, the built-in resolver answers A and AAAA
 * queries with addresses from a reserved pool, and the relay, seeing a
 * connection to a pool address, asks the proxy for the name behind it.
 *
 * Pools: IPv4 198.18.0.0/15 (RFC 2544's benchmarking range) and IPv6
 * 100::/64 (RFC 6666's discard-only prefix, so a connection that escapes
 * the relay goes nowhere).  A name holds one index i, 1 <= i <= max; its
 * IPv4 address is 198.18.0.0 + i and its IPv6 address is 100:: with the
 * low 32 bits equal to that IPv4 address (100::c612:xxxx), so the A and the
 * AAAA answer of a name share the index and read alike in logs.
 *
 * Every call but nh_names_in_pool() takes the table's one mutex, for a
 * short critical section: names are hashed, and memory is allocated and
 * freed, outside it (a lookup copies its name, 253 bytes at most, inside).
 * nh_names_new() and nh_names_free() are not to race with other calls.
 *
 * Memory (nh_names_stats() bytes, glibc x86-64): the hash buckets (4 bytes
 * per power of two >= max) are allocated by nh_names_new(); entries (40
 * bytes) in blocks of 1024 as indexes are first used; each name in its own
 * allocation, counted as malloc counts it (usable size + 8-byte header).
 * For max = 65,536 (the default), measured by tests/unit/test_names.c:
 *   empty table:                          0.25 MiB (262,800 B)
 *   65,536 names of 20 bytes (typical):   4.8 MiB  (5,022,368 B)
 *   65,536 names of 253 bytes (worst):   19.8 MiB (20,750,992 B)
 * that is 256 KiB + 72 B a typical name, 312 B a longest one.  For
 * max = 131,070 the figures double.
 */
#ifndef NH_NAMES_H
#define NH_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Names hold at most this many bytes, without the NUL (RFC 1035's 253). */
#define NH_NAMES_NAME_MAX 253
#define NH_NAMES_DEFAULT_MAX 65536u
#define NH_NAMES_MAX 131070u
#define NH_NAMES_DEFAULT_TTL 3600u

struct nh_names;

/*
 * A new, empty table into *out.  max: names held at once (0 = 65,536, at
 * most 131,070, so that every index maps inside 198.18.0.0/15 and neither
 * 198.18.0.0 nor 198.19.255.255 is ever given out).  ttl_s: a name with no
 * reference expires this long after it was last used (0 = 3,600).  The
 * hash key comes from getrandom().  0, -EINVAL (max too large), -ENOMEM,
 * or getrandom()'s -errno.
 */
int nh_names_new(unsigned int max, unsigned int ttl_s, struct nh_names **out);

/* Frees the table and its names; NULL is fine.  No call may be running. */
void nh_names_free(struct nh_names *t);

/*
 * The pool address of name for family AF_INET or AF_INET6 into *ss (port
 * 0), creating the entry if the name is new.  Names are compared byte for
 * byte: the caller lower-cases them (nh_dns does).  A name already held
 * keeps its address, even if it had expired but its index was not reused
 * yet, and becomes the most recently used.
 *
 * A new name takes, in this order, an index never used, the index of an
 * expired entry (the oldest freed first), or that of the least recently
 * used entry with no reference, which is dropped: so an address is reused
 * as late as possible, and never while referenced.  Expired entries are
 * dropped here, a few per new name, from the least recently used end;
 * there is no timer.
 *
 * now_s: the caller's clock (CLOCK_MONOTONIC seconds; tests drive it).
 * 0, -EINVAL (name of length 0 or more than 253), -EAFNOSUPPORT (family),
 * -ENOSPC (full, and every entry holds a reference), -ENOMEM.
 */
int nh_names_addr(struct nh_names *t, const char *name, int family,
		  uint64_t now_s, struct sockaddr_storage *ss);

/*
 * The name behind a pool address (AF_INET, AF_INET6, or a v4-mapped IPv6
 * ::ffff:198.18.x.y), copied with its NUL into buf (len >= 254 always
 * fits).  With ref, also takes a reference: until the matching
 * nh_names_put(), the entry is neither evicted nor expired, so its address
 * cannot be given to another name; taking it counts as a use.  A lookup
 * without ref changes nothing.  0, -ENOENT (in the pool but no name: never
 * given, or expired), -EADDRNOTAVAIL (not a pool address), -ENOBUFS (len
 * too small), -EOVERFLOW (2^32 - 1 references already).
 */
int nh_names_lookup(struct nh_names *t, const struct sockaddr *sa, bool ref,
		    uint64_t now_s, char *buf, size_t len);

/*
 * Drops a reference nh_names_lookup() took on sa.  The last one makes the
 * entry the most recently used, and its ttl runs from then (the latest
 * clock the table was given).  An address with no reference: nothing.
 */
void nh_names_put(struct nh_names *t, const struct sockaddr *sa);

/* Whether sa is in either pool (v4-mapped IPv6 counts); takes no lock. */
bool nh_names_in_pool(const struct sockaddr *sa);

/*
 * Entries held (including expired ones not yet dropped) and the bytes of
 * memory the table uses now (see the figures above).  Either pointer may
 * be NULL.
 */
void nh_names_stats(const struct nh_names *t, unsigned int *entries,
		    size_t *bytes);

#endif
