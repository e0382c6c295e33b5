// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What the context knows of names, for its events: the resolver's pool
 * and the names seen in DNS answers.  Only reads the tables: the events'
 * side calls it, and it calls nothing of the context's. */
#include <stddef.h>
#include <string.h>
#include "nh_ctx_int.h"
#include "nh_log.h"
#include "nh_names.h"
#include "nh_seen.h"
#include "nh_time.h"

void nh_ctx_on_dns_seen(struct nh_ctx *ctx, const void *data, size_t len)
{
	const struct nh_bpf_dns_event *de = data;
	int n;

	if (!ctx->seen || len < offsetof(struct nh_bpf_dns_event, data) ||
	    de->len > NH_DNS_SEEN_MAX ||
	    len < offsetof(struct nh_bpf_dns_event, data) + de->len)
		return;
	n = nh_seen_answer(ctx->seen, de->data, de->len);
	/* a longer answer was cut in the kernel: its records are not
	 * read, and its addresses stay unnamed */
	if (n < 0 || de->wire_len > de->len)
		nh_logf(&ctx->lg, LOG_DEBUG,
			"a DNS answer of %u bytes%s not read: %s", de->wire_len,
			de->wire_len > de->len ? " (cut at 512)" : "",
			n < 0 ? strerror(-n) : "cut");
}

const char *nh_ctx_name_of(struct nh_ctx *ctx, const struct sockaddr *sa,
			   char *buf, size_t len, bool *pool)
{
	bool in_pool = ctx->names && nh_names_in_pool(sa);

	if (pool)
		*pool = in_pool;
	if (in_pool)
		return nh_names_lookup(ctx->names, sa, false,
				       nh_now_ns() / 1000000000ull, buf, len) ?
			       NULL :
			       buf;
	if (ctx->seen && sa->sa_family != AF_UNSPEC &&
	    !nh_seen_lookup(ctx->seen, sa, buf, len))
		return buf;
	return NULL;
}
