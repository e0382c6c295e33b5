// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* SipHash-1-3 with a random key (see nh_siphash.h). */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include "nh_siphash.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = rotl(v1, 13); \
		v1 ^= v0;          \
		v0 = rotl(v0, 32); \
		v2 += v3;          \
		v3 = rotl(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = rotl(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = rotl(v1, 17); \
		v1 ^= v2;          \
		v2 = rotl(v2, 32); \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t m;

	memcpy(&m, p, 8);
	return le64toh(m);
}

/* the last 0-7 bytes */
static uint64_t le_tail(const uint8_t *p, size_t n)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		m |= (uint64_t)p[i] << (8 * i);
	return m;
}

uint64_t nh_siphash13(const uint64_t key[2], const void *data, size_t len)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull;
	uint64_t v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull;
	uint64_t v3 = key[1] ^ 0x7465646279746573ull;
	const uint8_t *p = data;
	size_t left = len;
	uint64_t m;

	for (; left >= 8; p += 8, left -= 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	m = le_tail(p, left) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int nh_siphash_key(uint64_t key[2])
{
	ssize_t n;

	do
		n = getrandom(key, 2 * sizeof(key[0]), 0);
	while (n < 0 && errno == EINTR);
	if (n != 2 * (ssize_t)sizeof(key[0]))
		return n < 0 ? -errno : -EIO;
	return 0;
}
