// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ip-redirect: the classic IP filter.  Outgoing IPv4 packets to FROM get
 * TO as their destination (and TO's port, when given) and are re-injected
 * with nh_ipf_inject_output(), the callback returning NH_EJUSTRETURN; the
 * replies of those flows get FROM back as their source, so a TCP
 * connection through it completes and the program never sees TO.
 *
 *	ip-redirect [--netns PATH] FROM[:PORT] TO[:PORT]
 *
 * Runs until interrupted; prints "ready" once the filter is in place.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <nethook/nethook.h>
#include <nethook/ipf.h>

#define MAX_FLOWS 4096

/* a redirected flow: protocol and the local port */
struct flow {
	uint8_t proto;
	uint16_t sport;
	uint16_t orig_port;
};

struct redirect {
	struct in_addr from, to;
	uint16_t from_port, to_port; /* 0: any / unchanged */
	struct flow flows[MAX_FLOWS];
	unsigned int nflows;
	nh_ipfilter_t ref;
	unsigned long out, in;
};

static struct nh_ctx *ctx;

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_WARNING)
		fprintf(stderr, "ip-redirect: %s\n", msg);
}

static void on_signal(int sig)
{
	(void)sig;
	nh_ctx_stop(ctx);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* TCP or UDP, unfragmented (or a first fragment): its ports are at p + hl */
static int ports_at(const uint8_t *p, size_t len, size_t *hl)
{
	*hl = (size_t)(p[0] & 0xf) * 4;
	if ((p[9] != IPPROTO_TCP && p[9] != IPPROTO_UDP) ||
	    (get16(p + 6) & 0x1fff) || len < *hl + 4)
		return 0;
	return 1;
}

static struct flow *find_flow(struct redirect *r, uint8_t proto, uint16_t sport)
{
	unsigned int i;

	for (i = 0; i < r->nflows; i++)
		if (r->flows[i].proto == proto && r->flows[i].sport == sport)
			return &r->flows[i];
	return NULL;
}

static int redirect_output(void *cookie, struct nh_pkt **data,
			   struct nh_ipf_pktopts *options)
{
	struct redirect *r = cookie;
	uint8_t *p;
	size_t hl;
	int err;

	(void)options;
	p = nh_pkt_data(*data); /* writable: nethook fixes the checksums */
	if (nh_pkt_len(*data) < 20 || (p[0] >> 4) != 4 ||
	    memcmp(p + 16, &r->from, 4) || !ports_at(p, nh_pkt_len(*data), &hl))
		return 0;
	if (r->from_port && get16(p + hl + 2) != r->from_port)
		return 0;
	if (!find_flow(r, p[9], get16(p + hl)) && r->nflows < MAX_FLOWS) {
		struct flow *f = &r->flows[r->nflows++];

		f->proto = p[9];
		f->sport = get16(p + hl);
		f->orig_port = get16(p + hl + 2);
	}
	memcpy(p + 16, &r->to, 4);
	if (r->to_port)
		put16(p + hl + 2, r->to_port);
	nh_pkt_fix_checksums(*data);
	r->out++;
	/* on its way as if just sent; this filter does not see it again */
	err = nh_ipf_inject_output(*data, r->ref, NULL);
	if (err)
		fprintf(stderr, "ip-redirect: inject: %s\n", strerror(-err));
	*data = NULL;
	return NH_EJUSTRETURN;
}

static int redirect_input(void *cookie, struct nh_pkt **data, int offset,
			  uint8_t protocol)
{
	struct redirect *r = cookie;
	struct flow *f;
	uint8_t *p;
	size_t hl;

	(void)offset;
	(void)protocol;
	p = (uint8_t *)nh_pkt_peek(*data);
	if (nh_pkt_len(*data) < 20 || (p[0] >> 4) != 4 ||
	    memcmp(p + 12, &r->to, 4) || !ports_at(p, nh_pkt_len(*data), &hl))
		return 0;
	f = find_flow(r, p[9], get16(p + hl + 2));
	if (!f || (r->to_port && get16(p + hl) != r->to_port))
		return 0;
	p = nh_pkt_data(*data);
	memcpy(p + 12, &r->from, 4);
	put16(p + hl, f->orig_port);
	r->in++;
	return 0; /* goes on, checksums fixed by nethook */
}

static int parse_addr(const char *s, struct in_addr *a, uint16_t *port)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strchr(buf, ':');
	*port = 0;
	if (colon) {
		*colon = '\0';
		*port = (uint16_t)atoi(colon + 1);
		if (!*port)
			return -1;
	}
	return inet_pton(AF_INET, buf, a) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	static struct redirect r;
	struct nh_ipf_filter f = { .sz = sizeof(f) };
	char match[64];
	sigset_t stop;
	int i = 1, err;

	if (argc > 2 && !strcmp(argv[1], "--netns")) {
		opts.netns = argv[2];
		i = 3;
	}
	if (argc - i != 2 || parse_addr(argv[i], &r.from, &r.from_port) ||
	    parse_addr(argv[i + 1], &r.to, &r.to_port)) {
		fprintf(stderr,
			"usage: ip-redirect [--netns PATH] FROM[:PORT] TO[:PORT]\n");
		return 2;
	}
	err = nh_ctx_open(&opts, &ctx);
	if (err) {
		fprintf(stderr, "ip-redirect: %s\n", strerror(-err));
		return 1;
	}
	/* only what matters leaves the kernel: packets to FROM, and the
	 * packets from TO */
	{
		char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r.from, from, sizeof(from));
		inet_ntop(AF_INET, &r.to, to, sizeof(to));
		snprintf(match, sizeof(match), "dst host %s or src host %s",
			 from, to);
	}
	f.cookie = &r;
	f.name = "ip-redirect";
	f.ipf_output = redirect_output;
	f.ipf_input = redirect_input;
	f.match = match;
	err = nh_ipf_addv4(ctx, &f, &r.ref);
	if (err) {
		fprintf(stderr, "ip-redirect: nh_ipf_addv4: %s\n",
			strerror(-err));
		nh_ctx_close(ctx);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	err = nh_ctx_run(ctx);
	/* a late signal must not reach a context being closed: blocked
	 * here, it cannot run anywhere (nethook's threads take none) */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	fprintf(stderr,
		"ip-redirect: %lu packets redirected, %lu replies translated\n",
		r.out, r.in);
	nh_ctx_close(ctx);
	return err < 0 ? 1 : 0;
}
