// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target: address specs (--match, --exclude, --block), ADDR:PORT
 * (--redirect, proxy hosts) and the rule compiler.  Byte 0 picks the rule's
 * action, the rest is the text.  Checked: a parsed ADDR:PORT formats back
 * to one that parses to the same address; a parsed spec compiles to a
 * rule, and that rule matches the spec's own address.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "fuzz.h"
#include "nethook/nethook.h"
#include "nh_rule.h"
#include "nh_spec.h"

static void sockaddr_roundtrip(const char *text)
{
	struct sockaddr_storage a, b;
	char f[80];

	if (nh_sockaddr_parse(text, &a))
		return;
	CHECK(a.ss_family == AF_INET || a.ss_family == AF_INET6);
	CHECK(nh_sockaddr_format((void *)&a, f, sizeof(f)) > 0);
	CHECK(nh_sockaddr_parse(f, &b) == 0);
	CHECK(a.ss_family == b.ss_family || a.ss_family == AF_INET6);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const enum nh_rule_action acts[] = { NH_RULE_PASS,
						    NH_RULE_BLOCK,
						    NH_RULE_DIVERT };
	struct nh_rule rule = { .sz = sizeof(rule) };
	struct nh_bpf_rule out;
	struct nh_spec spec;
	char text[512];
	int r;

	if (n < 1)
		return 0;
	fuzz_text_copy(text, sizeof(text), d + 1, n - 1);
	sockaddr_roundtrip(text);
	r = nh_spec_parse(text, &spec);
	CHECK(r == 0 || r == -EINVAL);
	if (r)
		return 0;
	CHECK(spec.prefix <= 128 && spec.port_lo <= spec.port_hi);
	CHECK(nh_spec_matches(&spec, spec.addr, spec.port_lo) == 1);
	rule.action = acts[d[0] % 3];
	rule.match = text;
	rule.err = d[0] & 0x80 ? EHOSTUNREACH : 0;
	r = nh_rule_compile(&rule, &out);
	CHECK(r == 0);
	CHECK(out.prefix == spec.prefix && out.port_lo == spec.port_lo &&
	      out.port_hi == spec.port_hi);
	return 0;
}
