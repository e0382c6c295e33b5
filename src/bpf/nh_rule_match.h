/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Rule matching, compiled both into the BPF programs and into user space,
 * so that the unit tests exercise the very code the kernel runs.
 */
#ifndef NH_RULE_MATCH_H
#define NH_RULE_MATCH_H

#include "nh_bpf_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* A mask of the first `bits` bits of a 32-bit word in network byte order. */
static __always_inline __u32 nh_be32_mask(int bits)
{
	__u32 m;

	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffffu;
	m = 0xffffffffu << (32 - bits);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	m = __builtin_bswap32(m);
#endif
	return m;
}

static __always_inline int nh_word_in_prefix(const __u8 *net, int prefix,
					     const __u8 *addr, int i)
{
	__u32 a, n, m = nh_be32_mask(prefix - 32 * i);

	__builtin_memcpy(&a, addr + 4 * i, 4);
	__builtin_memcpy(&n, net + 4 * i, 4);
	return (a & m) == (n & m);
}

/* Unrolled by hand: a four-step loop inside the rule loop looks
 * infinite to some verifiers. */
static __always_inline int nh_addr_in_prefix(const __u8 *net, int prefix,
					     const __u8 *addr)
{
	return nh_word_in_prefix(net, prefix, addr, 0) &&
	       nh_word_in_prefix(net, prefix, addr, 1) &&
	       nh_word_in_prefix(net, prefix, addr, 2) &&
	       nh_word_in_prefix(net, prefix, addr, 3);
}

/* The proto argument of nh_rule_matches(): NH_PROTO_* and, when known,
 * the socket's family (4 or 6) as NH_FAM_* << 4. */
static __always_inline __u8 nh_rule_proto(__u8 proto, int family)
{
	if (family == 4)
		return proto | NH_FAM_INET << 4;
	if (family == 6)
		return proto | NH_FAM_INET6 << 4;
	return proto;
}

/* Does rule r apply to a connection to addr:port (host order) over proto? */
static __always_inline int nh_rule_matches(const struct nh_bpf_rule *r,
					   const __u8 *addr, __u16 port,
					   __u8 proto)
{
	if (!(r->protos & proto))
		return 0;
	/* proto carries the socket's family in its high bits, see
	 * nh_rule_proto(); rules for one family of sockets skip the other */
	if (r->sock_fams && (proto >> 4) && !(r->sock_fams & (proto >> 4)))
		return 0;
	if (port < r->port_lo || port > r->port_hi)
		return 0;
	return nh_addr_in_prefix(r->addr, r->prefix, addr);
}

#endif /* NH_RULE_MATCH_H */
