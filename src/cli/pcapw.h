/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A pcap capture file writer (src/cli/pcapw.c): the classic format
 * (magic a1b2c3d4 in the machine's byte order, version 2.4, microsecond
 * timestamps), LINKTYPE_RAW (101: each record starts at the IPv4 or IPv6
 * header), snaplen 65535.  Not thread-safe: one writer at a time.
 */
#ifndef NH_CLI_PCAPW_H
#define NH_CLI_PCAPW_H

#include <stddef.h>
#include <stdint.h>

#define NH_PCAPW_LINKTYPE_RAW 101
#define NH_PCAPW_SNAPLEN 65535

struct nh_pcapw;

/* Creates (truncates) path, or writes to stdout when path is "-"; writes
 * the file header.  -errno. */
int nh_pcapw_open(const char *path, struct nh_pcapw **out);
/* The same on a file descriptor it takes over (closed by
 * nh_pcapw_close, or here on failure). */
int nh_pcapw_fdopen(int fd, struct nh_pcapw **out);
/*
 * One packet: len bytes at data (more than 65535 are cut to it),
 * orig_len its length on the wire (0: len), ts_ns the capture time in
 * ns since the epoch (CLOCK_REALTIME).  Buffered: nh_pcapw_flush writes
 * it out.  -EINVAL, -EIO / -ENOSPC / ... from the write.
 */
int nh_pcapw_write(struct nh_pcapw *w, const void *data, size_t len,
		   size_t orig_len, uint64_t ts_ns);
int nh_pcapw_flush(struct nh_pcapw *w);
/* Flushes and closes; the first error of the file's life, or 0. */
int nh_pcapw_close(struct nh_pcapw *w);

#endif /* NH_CLI_PCAPW_H */
