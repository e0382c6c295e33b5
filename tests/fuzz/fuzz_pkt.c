// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: the packet parser (IPv4 and IPv6 headers, options and
 * extension headers, fragments, TCP/UDP/ICMP headers) and the checksum
 * fixer on what it accepts.  Byte 0 picks the parse flags, the rest is
 * the packet.  Checked: what the parser reports lies inside the buffer.
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "nh_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static uint8_t copy[1 << 16];
	struct nh_pkt_info in;
	struct nh_pkt pkt;
	unsigned int flags;
	int r;

	if (n < 1 || n - 1 > sizeof(copy))
		return 0;
	flags = d[0] & 1 ? NH_PARSE_PARTIAL : 0;
	d++;
	n--;
	r = nh_pkt_parse_ex(d, n, flags, &in);
	CHECK(r == 0 || r == -EPROTO || r == -EINVAL);
	if (r)
		return 0;
	CHECK(in.version == 4 || in.version == 6);
	CHECK(in.hdr_len <= n);
	CHECK(in.payload_off <= n || in.truncated);
	CHECK(!in.csum_off || (size_t)in.csum_off + 2 <= n || in.truncated);
	CHECK(in.truncated ? in.ip_len > n : in.ip_len <= n);
	/* fixing the checksums of an accepted packet stays inside it */
	memcpy(copy, d, n);
	nh_pkt_init_borrowed(&pkt, copy, n);
	r = nh_pkt_fix_checksums_ex(&pkt, 0);
	CHECK(r <= 0);
	nh_pkt_release(&pkt);
	return 0;
}
