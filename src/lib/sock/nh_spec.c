// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nh_base.h"
#include "nh_spec.h"
#include "nh_rule_match.h"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff };

static int parse_uint(const char *s, size_t n, unsigned long max,
		      unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* PORT or PORT-PORT */
static int parse_ports(const char *s, struct nh_spec *spec)
{
	const char *dash = strchr(s, '-');
	unsigned long lo, hi;

	if (dash) {
		if (parse_uint(s, (size_t)(dash - s), 65535, &lo) ||
		    parse_uint(dash + 1, strlen(dash + 1), 65535, &hi))
			return -EINVAL;
	} else {
		if (parse_uint(s, strlen(s), 65535, &lo))
			return -EINVAL;
		hi = lo;
	}
	if (lo == 0 || lo > hi)
		return -EINVAL;
	spec->port_lo = (uint16_t)lo;
	spec->port_hi = (uint16_t)hi;
	return 0;
}

/* ADDR or ADDR/LEN into spec; family 4 or 6 */
static int parse_prefix(const char *s, size_t n, int family,
			struct nh_spec *spec)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned long len;
	char *slash;
	int i;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (parse_uint(slash + 1, strlen(slash + 1),
			       family == 4 ? 32 : 128, &len))
			return -EINVAL;
	} else {
		len = family == 4 ? 32 : 128;
	}
	if (family == 4) {
		struct in_addr a4;

		/* inet_pton takes only the full dotted quad: what we want */
		if (inet_pton(AF_INET, buf, &a4) != 1)
			return -EINVAL;
		memcpy(spec->addr, v4mapped_prefix, 12);
		memcpy(spec->addr + 12, &a4, 4);
		spec->prefix = (uint8_t)(96 + len);
	} else {
		if (inet_pton(AF_INET6, buf, spec->addr) != 1)
			return -EINVAL;
		spec->prefix = (uint8_t)len;
	}
	spec->family = (uint8_t)family;
	/* keep only the network part, so equal specs compare equal */
	for (i = 0; i < 4; i++) {
		uint32_t w, m = nh_be32_mask(spec->prefix - 32 * i);

		memcpy(&w, spec->addr + 4 * i, 4);
		w &= m;
		memcpy(spec->addr + 4 * i, &w, 4);
	}
	return 0;
}

int nh_spec_parse(const char *s, struct nh_spec *spec)
{
	const char *colon, *end;

	memset(spec, 0, sizeof(*spec));
	spec->port_lo = 0;
	spec->port_hi = 65535;
	spec->family = 6;
	if (!s || !*s)
		return 0;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || parse_prefix(s + 1, (size_t)(end - s - 1), 6, spec))
			return -EINVAL;
		if (end[1] == '\0')
			return 0;
		if (end[1] != ':')
			return -EINVAL;
		return parse_ports(end + 2, spec);
	}
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		/* a bare IPv6 address or prefix: no port can follow */
		return parse_prefix(s, strlen(s), 6, spec);
	if (!colon)
		return parse_prefix(s, strlen(s), 4, spec);
	if (parse_prefix(s, (size_t)(colon - s), 4, spec))
		return -EINVAL;
	return parse_ports(colon + 1, spec);
}

int nh_spec_matches(const struct nh_spec *spec, const uint8_t addr[16],
		    uint16_t port)
{
	if (port < spec->port_lo || port > spec->port_hi)
		return 0;
	return nh_addr_in_prefix(spec->addr, spec->prefix, addr);
}

NH_API int nh_sockaddr_parse(const char *s, struct sockaddr_storage *ss)
{
	struct nh_spec spec;
	struct nh_bpf_addr a;

	if (!s || !*s || !ss || nh_spec_parse(s, &spec))
		return nh_err(-EINVAL);
	if (spec.prefix != 128 || spec.port_lo != spec.port_hi ||
	    spec.port_lo == 0)
		return nh_err(-EINVAL);
	memset(&a, 0, sizeof(a));
	memcpy(a.addr, spec.addr, 16);
	a.port = spec.port_lo;
	a.family = spec.family;
	nh_addr_to_sockaddr(&a, ss);
	return 0;
}

int nh_addr_from_sockaddr(const struct sockaddr *sa, struct nh_bpf_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		memcpy(a->addr, v4mapped_prefix, 12);
		memcpy(a->addr + 12, &in->sin_addr, 4);
		a->port = ntohs(in->sin_port);
		a->family = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(a->addr, &in6->sin6_addr, 16);
		a->port = ntohs(in6->sin6_port);
		a->family = memcmp(a->addr, v4mapped_prefix, 12) ? 6 : 4;
		return 0;
	}
	return -EAFNOSUPPORT;
}

bool nh_sockaddr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	struct nh_bpf_addr x, y;

	if (nh_addr_from_sockaddr(a, &x) || nh_addr_from_sockaddr(b, &y))
		return false;
	return !memcmp(x.addr, y.addr, sizeof(x.addr)) && x.port == y.port;
}

void nh_addr_to_sockaddr(const struct nh_bpf_addr *a,
			 struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a->addr + 12, 4);
		in->sin_port = htons(a->port);
	} else if (a->family == 6) {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a->addr, 16);
		in6->sin6_port = htons(a->port);
	}
}

int nh_sockaddr_for_family(const struct sockaddr_storage *sa, int family,
			   struct sockaddr_storage *ss, socklen_t *len)
{
	const struct sockaddr_in *s4 = (const void *)sa;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (sa->ss_family == family &&
	    (family == AF_INET || family == AF_INET6)) {
		*len = family == AF_INET ? sizeof(struct sockaddr_in) :
					   sizeof(struct sockaddr_in6);
		memcpy(ss, sa, *len);
		return 0;
	}
	if (family != AF_INET6 || sa->ss_family != AF_INET)
		return -EAFNOSUPPORT;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = s4->sin_port;
	memcpy(&s6->sin6_addr, v4mapped_prefix, 12);
	memcpy(&s6->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
	*len = sizeof(*s6);
	return 0;
}

NH_API int nh_sockaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	struct nh_bpf_addr a;

	if (!sa || nh_addr_from_sockaddr(sa, &a))
		return snprintf(buf, len, "-");
	if (a.family == 4) {
		inet_ntop(AF_INET, a.addr + 12, host, sizeof(host));
		return snprintf(buf, len, "%s:%u", host, a.port);
	}
	inet_ntop(AF_INET6, a.addr, host, sizeof(host));
	return snprintf(buf, len, "[%s]:%u", host, a.port);
}
