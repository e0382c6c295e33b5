/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * SipHash-1-3 (Aumasson and Bernstein) for the tables whose keys come
 * from outside: names a program resolves, addresses a DNS answer gives,
 * both chosen by whoever controls what it looks up (a web page, a mail
 * header).  With a key from getrandom(), nobody can choose keys that
 * share a chain and turn each lookup into a walk; an unkeyed or
 * seed-only hash (FNV) can be attacked by differential multicollisions
 * whatever the seed.  1-3 rounds, as Python and Rust's HashMap use: the
 * flooding attack needs no more, and the keys are short.
 */
#ifndef NH_SIPHASH_H
#define NH_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A fresh key from getrandom(): 0 or -errno. */
int nh_siphash_key(uint64_t key[2]);
uint64_t nh_siphash13(const uint64_t key[2], const void *data, size_t len);

#endif
