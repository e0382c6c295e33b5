// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A public struct nh_rule into the kernel's rule record. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_rule.h"
#include "nh_spec.h"

int nh_rule_compile(const struct nh_rule *rule, struct nh_bpf_rule *out)
{
	struct nh_spec spec;
	unsigned int protos;
	int err;

	if (!rule || rule->sz < offsetof(struct nh_rule, err))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = nh_spec_parse(rule->match, &spec);
	if (err)
		return err;
	memcpy(out->addr, spec.addr, 16);
	out->prefix = spec.prefix;
	out->port_lo = spec.port_lo;
	out->port_hi = spec.port_hi;
	protos = NH_OPT(rule, protos, 0u);
	if (NH_OPT(rule, flags, 0u) & ~(unsigned int)NH_RULE_LOG)
		return -EINVAL;
	if (NH_OPT(rule, flags, 0u) & NH_RULE_LOG)
		out->flags |= NH_RULE_F_LOG;
	if (protos & ~(unsigned int)(NH_RULE_TCP | NH_RULE_UDP))
		return -EINVAL;
	switch (NH_OPT(rule, domain, 0)) {
	case 0:
		break;
	case AF_INET:
		out->sock_fams = NH_FAM_INET;
		break;
	case AF_INET6:
		out->sock_fams = NH_FAM_INET6;
		break;
	default:
		return -EAFNOSUPPORT;
	}
	switch (rule->action) {
	case NH_RULE_PASS:
		out->action = NH_ACT_PASS;
		out->protos = protos ? protos : NH_PROTO_TCP | NH_PROTO_UDP;
		break;
	case NH_RULE_BLOCK:
		out->action = NH_ACT_BLOCK;
		out->protos = protos ? protos : NH_PROTO_TCP | NH_PROTO_UDP;
		if (NH_OPT(rule, err, 0) < 0 || NH_OPT(rule, err, 0) > 4095)
			return -EINVAL;
		out->err = NH_OPT(rule, err, 0);
		break;
	case NH_RULE_REDIRECT:
	case NH_RULE_DIVERT:
		/* UDP redirection is the relay's job, not yet built */
		if (protos & NH_RULE_UDP)
			return -EOPNOTSUPP;
		out->action = rule->action == NH_RULE_REDIRECT ?
				      NH_ACT_REDIRECT :
				      NH_ACT_DIVERT;
		out->protos = NH_PROTO_TCP;
		if (rule->action == NH_RULE_DIVERT)
			break; /* the relay's address is filled in later */
		if (!rule->target)
			return -EINVAL;
		err = nh_addr_from_sockaddr(rule->target, &out->target);
		if (err)
			return err;
		if (!out->target.port)
			return -EINVAL;
		break;
	case NH_RULE_DNS:
		/* where to: the context's resolver, filled in later */
		out->action = NH_ACT_DNS;
		out->protos = protos ? protos : NH_PROTO_TCP | NH_PROTO_UDP;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

NH_API int nh_rule_check(const struct nh_rule *rule)
{
	struct nh_bpf_rule out;
	int err = nh_rule_compile(rule, &out);

	return err ? nh_err(err) : 0;
}
