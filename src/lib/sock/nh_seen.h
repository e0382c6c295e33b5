/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names seen: address -> the name a DNS answer gave it, from the answers
 * the scope's programs receive (opts.dns NH_DNS_WATCH), so that the log
 * names the host behind a direct connection's address.  Nothing here
 * changes traffic; the names are for the log only.
 *
 * The last answer wins: an address several names share (virtual hosting,
 * a CDN) is named by the answer seen last before the event is written.
 * An address is named by the question's name, the one the program asked
 * for, also when the answer reached it through CNAMEs.  No TTL: a
 * connection may outlive its answer's by hours and still be named at its
 * end.  Bounded: at most max addresses, the least recently used (put or
 * looked up) dropped first.
 *
 * Every call but nh_seen_new() and nh_seen_free() takes the table's mutex
 * (the relay's reports and the kernel's records may be read on different
 * threads); memory is allocated and freed outside it.
 *
 * Memory (nh_seen_stats() bytes, glibc x86-64): the hash buckets, 8
 * bytes per power of two >= max / 2, at nh_seen_new(); each address in
 * one allocation with its name, counted as malloc counts it (usable size
 * + 8-byte header).  For max = 65,536 (the default), measured by
 * tests/unit/test_seen.c:
 *   empty table:                             0.25 MiB (262,248 B)
 *   65,536 addresses, names of 20 bytes:     5.25 MiB (5,505,144 B)
 *   65,536 addresses, names of 253 bytes:   20.25 MiB (21,233,768 B)
 * that is 256 KiB + 80 B an address with a typical name, 320 B with a
 * longest one.
 */
#ifndef NH_SEEN_H
#define NH_SEEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NH_SEEN_DEFAULT_MAX 65536u
#define NH_SEEN_MAX (1u << 20)
/* names hold at most this many bytes, without the NUL (RFC 1035) */
#define NH_SEEN_NAME_MAX 253

struct nh_seen;

/* An empty table of at most max addresses (0 = 65,536; at most 2^20)
 * into *out: 0, -EINVAL, -ENOMEM, or getrandom()'s -errno. */
int nh_seen_new(unsigned int max, struct nh_seen **out);
/* NULL is fine.  No call may be running. */
void nh_seen_free(struct nh_seen *t);

/*
 * sa (AF_INET, or AF_INET6: a v4-mapped one is the IPv4 address; the
 * port is ignored) is now named name (1..253 bytes, compared byte for
 * byte: the caller lower-cases), replacing any name it had, and is the
 * most recently used.  0, -EINVAL, -EAFNOSUPPORT, -ENOMEM.
 */
int nh_seen_put(struct nh_seen *t, const struct sockaddr *sa, const char *name);

/*
 * The name of sa, copied with its NUL into buf (len >= 254 always fits);
 * a use, for the LRU order.  0, -ENOENT, -EAFNOSUPPORT, -ENOBUFS.
 */
int nh_seen_lookup(struct nh_seen *t, const struct sockaddr *sa, char *buf,
		   size_t len);

/*
 * A DNS response a program received (msg: its first len bytes): each A
 * and AAAA record of its answer section owned by the question's name, or
 * by a name a chain of its CNAMEs leads to from it, names that address by
 * the question's name.  Records owned by any other name are not taken:
 * nothing in this answer says the program asked for them.  Only a
 * NOERROR response to one question whose answer section reads whole
 * (nh_dns_response_walk()); a CNAME chain is followed 16 names deep at
 * most.  Returns the addresses named (0 or more), or the walk's -EINVAL or
 * -EPROTO, or -ENOMEM.
 */
int nh_seen_answer(struct nh_seen *t, const uint8_t *msg, size_t len);

/* Addresses held and the bytes the table uses now; either may be NULL. */
void nh_seen_stats(struct nh_seen *t, unsigned int *entries, size_t *bytes);

#endif
