/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pcap-filter expressions for raw IP packets (src/lib/ip/pcapf.c):
 * compiled with libpcap for DLT_RAW (12 on Linux: the packet starts at
 * the IPv4 or IPv6 header, both families; LINKTYPE_RAW 101 is a file
 * format number that pcap_open_dead() refuses), written as xt_bpf
 * `--bytecode` text, and matched in user space.
 */
#ifndef NH_PCAPF_H
#define NH_PCAPF_H

#include <stddef.h>
#include <stdint.h>

/* The most classic BPF instructions xt_bpf takes. */
#define NH_PCAPF_MAX_INSNS 64

struct nh_pcapf_prog;

/*
 * expr into "N,code jt jf k,code jt jf k,..." in bytecode[len], its
 * instruction count in *ninsns (may be NULL).  NULL or "" matches every
 * packet.  -EINVAL with pcap's message in err for an expression libpcap
 * refuses; -E2BIG with a message naming the count when it needs more
 * than 64 instructions (*ninsns is set then too); -ENOSPC when bytecode
 * is too small; -ENOMEM.  err may be NULL.
 */
int nh_pcapf_compile(const char *expr, char *bytecode, size_t len, int *ninsns,
		     char *err, size_t errlen);

/*
 * A kernel program for expr that never misses a matching packet: expr
 * itself when it fits in 64 instructions (returns 0, *exact = NULL), else
 * a coarser one -- a part of expr that every match satisfies (the left
 * side or an operand of a trailing "and"), or, failing that, every
 * packet -- and the exact program in *exact for nh_pcapf_match() in user
 * space (returns 1).  Errors as nh_pcapf_compile, never -E2BIG.
 */
int nh_pcapf_plan(const char *expr, char *bytecode, size_t len, int *ninsns,
		  struct nh_pcapf_prog **exact, char *err, size_t errlen);

/* Any length of program, for user-space matching. */
int nh_pcapf_prog_new(const char *expr, struct nh_pcapf_prog **out, char *err,
		      size_t errlen);
void nh_pcapf_prog_free(struct nh_pcapf_prog *prog);
int nh_pcapf_prog_len(const struct nh_pcapf_prog *prog);
/* xt_bpf text of any program (no 64 limit); -ENOSPC. */
int nh_pcapf_prog_bytecode(const struct nh_pcapf_prog *prog, char *buf,
			   size_t len);
/* 1 when the packet (starting at the IP header) matches, 0 when not;
 * thread-safe. */
int nh_pcapf_match(const struct nh_pcapf_prog *prog, const uint8_t *pkt,
		   size_t len);

#endif /* NH_PCAPF_H */
