// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sockets of nethook's own servers on loopback. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "nh_lo.h"

int nh_lo_socket(int family, int type, uint16_t port, int backlog,
		 bool reuseport)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, one = 1, err;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	}
	if (bind(fd, (void *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, backlog))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
