// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One proxy hop's handshake, driven on a non-blocking socket. */
#include <errno.h>
#include <sys/socket.h>
#include "nh_hs_io.h"

int nh_hs_io_step(int fd, struct nh_proxy_hs *hs, struct nh_hs_io_count *c,
		  bool *io)
{
	uint8_t buf[8192];
	const uint8_t *out;
	size_t len, used;
	ssize_t n;
	int r;

	*io = false;
	for (;;) {
		r = nh_proxy_hs_output(hs, &out, &len);
		if (r < 0)
			return r;
		if (len) {
			n = send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				return 0;
			if (n < 0)
				goto io_error;
			nh_proxy_hs_sent(hs, (size_t)n);
			c->out += (uint64_t)n;
			continue;
		}
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
			return 1;
		if (!used)
			return 0;
	}
io_error:
	*io = true;
	return errno ? -errno : -EIO;
}
