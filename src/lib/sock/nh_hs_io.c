// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One proxy hop's handshake, driven on a non-blocking socket. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "nh_hs_io.h"

static bool early_left(const struct nh_hs_early *e)
{
	return e && e->off < e->len;
}

/* 1: all of it sent; 0: the socket is full; -errno */
static int early_send(int fd, struct nh_hs_early *e)
{
	ssize_t n;

	while (early_left(e)) {
		n = send(fd, e->buf + e->off, e->len - e->off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		e->off += (uint32_t)n;
	}
	return 1;
}

int nh_hs_io_step(int fd, struct nh_proxy_hs *hs, struct nh_hs_io_count *c,
		  bool *io, struct nh_hs_early *early)
{
	uint8_t buf[8192];
	const uint8_t *out;
	size_t len, used;
	ssize_t n;
	int r, flags;

	*io = false;
	for (;;) {
		r = nh_proxy_hs_output(hs, &out, &len);
		if (r < 0)
			return r;
		if (r == 1)
			goto done;
		if (len) {
			/* the rest of the flight follows: one segment */
			flags = MSG_NOSIGNAL | MSG_DONTWAIT;
			if (early_left(early) ||
			    (size_t)(hs->out_len - hs->out_off) > len)
				flags |= MSG_MORE;
			n = send(fd, out, len, flags);
			if (n < 0 && errno == EAGAIN)
				return 0;
			if (n < 0)
				goto io_error;
			nh_proxy_hs_sent(hs, (size_t)n);
			c->out += (uint64_t)n;
			continue;
		}
		/* a full socket does not stop the reply being read */
		if (early_send(fd, early) < 0)
			goto io_error;
		/* replies to a flight come in several writes with nothing
		 * of ours to carry the ack: a Nagle-ing proxy (or one in the
		 * middle of a chain) would hold the next one for our
		 * delayed ack, 40 ms */
		if (hs->pipelined)
			setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 },
				   sizeof(int));
		n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			goto io_error;
		if (n == 0) {
			/* says how much of the reply came: "truncated after
			 * 3 bytes", or nothing at all */
			r = nh_proxy_hs_eof(hs);
			return r < 0 ? r : -ECONNRESET;
		}
		used = 0;
		r = nh_proxy_hs_input(hs, buf, (size_t)n, &used);
		if (used && recv(fd, buf, used, MSG_DONTWAIT) != (ssize_t)used)
			goto io_error;
		c->in += used;
		if (r < 0)
			return r;
		if (r == 1)
			goto done;
		if (!used)
			return 0;
	}
done:
	r = early_send(fd, early);
	if (r < 0)
		goto io_error;
	return r;
io_error:
	*io = true;
	return errno ? -errno : -EIO;
}
