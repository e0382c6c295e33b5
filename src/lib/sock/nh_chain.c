// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The proxy chain: parsed once, by whoever has the text first (the
 * command through nh_proxy_chain_new(), or nh_ctx_open() from
 * opts.proxy), then resolved by the context. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nh_chain.h"
#include "nh_log.h"

int nh_chain_parse(const char *text, struct nh_proxy_chain *c, char *why,
		   size_t len)
{
	int n;

	n = nh_proxy_chain_parse(text, c->hops, NH_CHAIN_MAX_HOPS, why, len);
	if (n < 0)
		return n;
	c->nhops = n;
	return 0;
}

int nh_chain_resolve(struct nh_proxy_chain *c, const struct nh_logger *lg)
{
	int i, err;

	for (i = 0; i < c->nhops; i++) {
		/* a hop named to a proxy that can carry names is resolved
		 * by that proxy, where the name may mean something else */
		if (i && nh_proxy_scheme_carries_names(c->hops[i - 1].scheme))
			continue;
		err = nh_proxy_hop_resolve(&c->hops[i]);
		if (err) {
			/* getaddrinfo's answers, in its words, not as the
			 * errno nh_proxy_hop_resolve() maps them to */
			nh_logf(lg, LOG_ERR, "proxy: cannot resolve %s: %s",
				c->hops[i].host,
				err == -EHOSTUNREACH ?
					"no address for this name" :
				err == -EAGAIN ?
					"the resolver did not answer (try again)" :
					strerror(-err));
			return err;
		}
	}
	/* direct:// alone is a relay with no hop */
	if (c->nhops == 1 && c->hops[0].scheme == NH_PROXY_DIRECT)
		c->nhops = 0;
	return 0;
}

NH_API int nh_proxy_chain_new(const char *const *urls, unsigned int n,
			      struct nh_proxy_chain **out, char *why,
			      size_t len)
{
	struct nh_proxy_chain *c = NULL;
	char *text = NULL;
	size_t tlen = 1;
	unsigned int i;
	int err;

	if (why && len)
		why[0] = '\0';
	if (!out || (n && !urls))
		return nh_err(-EINVAL);
	*out = NULL;
	for (i = 0; i < n; i++)
		tlen += strlen(urls[i] ? urls[i] : "") + 1;
	text = calloc(1, tlen);
	c = calloc(1, sizeof(*c));
	if (!text || !c) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* one text, parsed once: an entry may hold several URLs itself
	 * (commas, or lines of a file) */
	for (i = 0; i < n; i++) {
		if (i)
			strcat(text, ",");
		strcat(text, urls[i] ? urls[i] : "");
	}
	err = nh_chain_parse(text, c, why, len);
	if (err)
		goto cleanup;
	*out = c;
	c = NULL;
cleanup:
	if (text) {
		/* credentials, gone from memory with the text */
		explicit_bzero(text, tlen);
		free(text);
	}
	free(c);
	return err ? nh_err(err) : 0;
}

NH_API void nh_proxy_chain_free(struct nh_proxy_chain *c)
{
	if (!c)
		return;
	explicit_bzero(c, sizeof(*c));
	free(c);
}

NH_API int nh_proxy_chain_carries_names(const struct nh_proxy_chain *c,
					char *hop, size_t len)
{
	const struct nh_proxy_hop *last;

	if (hop && len)
		hop[0] = '\0';
	if (!c)
		return nh_err(-EINVAL);
	/* a resolved direct:// has no hop; a parsed one has one */
	if (!c->nhops) {
		if (hop && len)
			snprintf(hop, len, "direct://");
		return nh_err(-ENOENT);
	}
	last = &c->hops[c->nhops - 1];
	if (hop && len)
		nh_proxy_hop_format(last, hop, len);
	if (last->scheme == NH_PROXY_DIRECT)
		return nh_err(-ENOENT);
	return nh_proxy_scheme_carries_names(last->scheme);
}
