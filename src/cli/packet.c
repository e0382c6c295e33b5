// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `nethook packet`: IP filters from the command line -- log, capture,
 * drop, impair (delay, loss, rate) or rewrite the packets of a network
 * namespace, or of one command.
 *
 * One filter per family carries the actions (log and capture first, then
 * drop, rewrite, and the shaper); with --rewrite-dst another one, ahead
 * of it on the input side, translates replies back.  Delayed packets are
 * held (NH_EJUSTRETURN) in a FIFO per direction and injected when their
 * time comes, from a timer in this loop.
 *
 * With several workers (--threads; by default one per CPU, up to 4) the callbacks run on the engine's threads: the state they share
 * is under one lock, and packets are injected with it released.  When no
 * action needs more than the headers (no --pcap, no --rewrite-dst), only
 * the first 256 bytes of each packet are copied to user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "nethook/ipf.h"
#include "nethook/nat.h"
#include "cli.h"
#include "pcapw.h"
#include "shape.h"

enum { D_OUT = 0, D_IN = 1 };

struct held {
	struct nh_pkt *pkt;
	nh_ipfilter_t ref;
	uint64_t release_ns;
};

struct fifo {
	struct held *v;
	size_t cap, head, n;
};

struct popts {
	const char *netns;
	const char *filter;
	bool dir[2];
	bool dir_set; /* --dir given: else out, or both with --rate */
	const char *log;
	bool json;
	const char *pcap;
	bool drop;
	const char *loss, *delay, *rate, *rewrite;
	bool fail_closed;
	int threads; /* -1: the default */
	int verbose;
	char **argv;
};

struct pstate {
	pthread_mutex_t lock; /* what the callbacks share */
	struct popts *o;
	struct nh_ctx *ctx;
	FILE *log;
	struct nh_pcapw *pcap;
	struct nh_shape *shape[2];
	struct nh_nat *nat;
	struct nh_nat_target target;
	bool have_target;
	struct fifo q[2];
	int tfd;
	uint64_t armed_ns;
	uint64_t n[2], dropped, lost, rewritten, delayed;
	uint64_t pcap_flushed_ns;
	int family_of[2]; /* filters: which family each ref is */
	nh_ipfilter_t refs[4];
	int nrefs;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the held packets ---- */

static int fifo_push(struct fifo *f, const struct held *h)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256, i;
		struct held *v = malloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (i = 0; i < f->n; i++)
			v[i] = f->v[(f->head + i) % f->cap];
		free(f->v);
		f->v = v;
		f->cap = cap;
		f->head = 0;
	}
	f->v[(f->head + f->n) % f->cap] = *h;
	f->n++;
	return 0;
}

static struct held *fifo_front(struct fifo *f)
{
	return f->n ? &f->v[f->head] : NULL;
}

static void fifo_pop(struct fifo *f)
{
	f->head = (f->head + 1) % f->cap;
	f->n--;
}

static void arm(struct pstate *s)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t next = 0;
	int d;

	for (d = 0; d < 2; d++) {
		struct held *h = fifo_front(&s->q[d]);

		if (h && (!next || h->release_ns < next))
			next = h->release_ns;
	}
	if (next == s->armed_ns)
		return;
	s->armed_ns = next;
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000000000ull);
		its.it_value.tv_nsec = (long)(next % 1000000000ull);
	}
	timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Inject what is due; the lock is released around each injection (the
 * engine may run callbacks). */
static void release_due(struct pstate *s, bool all)
{
	uint64_t now = now_ns();
	struct held *h;
	int d;

	for (d = 0; d < 2; d++) {
		for (;;) {
			struct held x;

			pthread_mutex_lock(&s->lock);
			h = fifo_front(&s->q[d]);
			if (!h || !(all || h->release_ns <= now)) {
				pthread_mutex_unlock(&s->lock);
				break;
			}
			x = *h;
			fifo_pop(&s->q[d]);
			pthread_mutex_unlock(&s->lock);
			if (d == D_OUT)
				nh_ipf_inject_output(x.pkt, x.ref, NULL);
			else
				nh_ipf_inject_input(x.pkt, x.ref);
		}
	}
	pthread_mutex_lock(&s->lock);
	arm(s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- logging ---- */

static void proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP:
		snprintf(buf, len, "tcp");
		return;
	case IPPROTO_UDP:
		snprintf(buf, len, "udp");
		return;
	case IPPROTO_ICMP:
		snprintf(buf, len, "icmp");
		return;
	case IPPROTO_ICMPV6:
		snprintf(buf, len, "icmp6");
		return;
	}
	snprintf(buf, len, "%d", p);
}

/* What a log line says of a packet, read once for both forms. */
struct pkt_desc {
	struct nh_pkt_hdrs h;
	int af; /* 0: the headers could not be read whole */
	bool ports; /* TCP or UDP: h.sport and h.dport */
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char flags[8]; /* TCP's, "FSRPAU" order */
	char proto[16];
	char ts[48]; /* "2026-05-01T12:00:00.000000Z" */
};

static void pkt_desc(const struct nh_pkt *pkt, struct pkt_desc *d)
{
	static const char names[] = "FSRPAU";
	uint64_t ts = real_ns();
	time_t t = (time_t)(ts / 1000000000ull);
	char *fp = d->flags;
	char tbuf[32];
	struct tm tm;
	int i;

	memset(d, 0, sizeof(*d));
	strcpy(d->src, "?");
	strcpy(d->dst, "?");
	d->h.sz = sizeof(d->h);
	if (nh_pkt_headers(pkt, &d->h) == 0) {
		d->af = d->h.version == 6 ? AF_INET6 : AF_INET;
		inet_ntop(d->af, d->h.src, d->src, sizeof(d->src));
		inet_ntop(d->af, d->h.dst, d->dst, sizeof(d->dst));
	}
	d->ports = d->h.l4 &&
		   (d->h.proto == IPPROTO_TCP || d->h.proto == IPPROTO_UDP);
	if (d->h.proto == IPPROTO_TCP && d->h.l4)
		for (i = 0; i < 6; i++)
			if (d->h.tcp_flags & (1 << i))
				*fp++ = names[i];
	*fp = '\0';
	proto_name(d->h.proto, d->proto, sizeof(d->proto));
	gmtime_r(&t, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(d->ts, sizeof(d->ts), "%s.%06uZ", tbuf,
		 (unsigned int)(ts % 1000000000ull / 1000));
}

static void log_json(struct pstate *s, int dir, const struct nh_pkt *pkt,
		     const char *action)
{
	struct pkt_desc d;

	pkt_desc(pkt, &d);
	fprintf(s->log,
		"{\"ts\":\"%s\",\"dir\":\"%s\",\"proto\":\"%s\",\"src\":\"%s\",",
		d.ts, dir == D_OUT ? "out" : "in", d.proto, d.src);
	if (d.ports)
		fprintf(s->log, "\"sport\":%u,", d.h.sport);
	fprintf(s->log, "\"dst\":\"%s\",", d.dst);
	if (d.ports)
		fprintf(s->log, "\"dport\":%u,", d.h.dport);
	if (d.flags[0])
		fprintf(s->log, "\"flags\":\"%s\",", d.flags);
	fprintf(s->log, "\"len\":%u,%s\"action\":\"%s\"}\n",
		(unsigned int)nh_pkt_orig_len(pkt),
		nh_pkt_truncated(pkt) ? "\"truncated\":true," : "", action);
}

/* ADDR:PORT, [ADDR6]:PORT, or the address alone */
static void with_port(const struct pkt_desc *d, const char *a,
		      unsigned int port, char *buf, size_t len)
{
	if (d->af && d->ports)
		snprintf(buf, len, d->af == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
			 port);
	else
		snprintf(buf, len, "%s", a);
}

static void log_line(struct pstate *s, int dir, const struct nh_pkt *pkt,
		     const char *action)
{
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
	struct pkt_desc d;

	if (!s->log)
		return;
	if (s->o->json) {
		log_json(s, dir, pkt, action);
		return;
	}
	pkt_desc(pkt, &d);
	/* the text form says ports and flags only of headers read whole;
	 * JSON says what could be read */
	if (!d.af)
		d.flags[0] = '\0';
	with_port(&d, d.src, d.h.sport, src, sizeof(src));
	with_port(&d, d.dst, d.h.dport, dst, sizeof(dst));
	fprintf(s->log, "%s %s %s %s > %s len=%u%s%s%s %s\n", d.ts,
		dir == D_OUT ? "out" : "in", d.proto, src, dst,
		(unsigned int)nh_pkt_orig_len(pkt), d.flags[0] ? " flags=" : "",
		d.flags, nh_pkt_truncated(pkt) ? " truncated" : "", action);
}

/* ---- the callbacks ---- */

static struct pstate *g_state;

static int act_locked(struct pstate *s, int dir, struct nh_pkt **pp,
		      nh_ipfilter_t ref)
{
	struct nh_pkt *pkt = *pp;
	const char *action = "pass";
	uint64_t rel = 0, now;
	int r;

	s->n[dir]++;
	if (s->pcap) {
		uint64_t t = real_ns();

		nh_pcapw_write(s->pcap, nh_pkt_peek(pkt), nh_pkt_len(pkt),
			       nh_pkt_orig_len(pkt), t);
		/* the main loop flushes only when inline: workers do it too */
		if (t - s->pcap_flushed_ns > 200000000ull) {
			nh_pcapw_flush(s->pcap);
			s->pcap_flushed_ns = t;
		}
	}
	if (s->o->drop) {
		s->dropped++;
		log_line(s, dir, pkt, "drop");
		return -EPERM;
	}
	if (s->have_target && dir == D_OUT) {
		r = nh_nat_out(s->nat, pkt);
		if (r > 0) {
			s->rewritten++;
			action = "rewrite";
		}
	}
	if (s->shape[dir]) {
		now = now_ns();
		r = nh_shape_decide(s->shape[dir], now, nh_pkt_orig_len(pkt),
				    &rel);
		if (r == NH_SHAPE_LOSS || r == NH_SHAPE_OVERLIMIT) {
			s->lost++;
			log_line(s, dir, pkt,
				 r == NH_SHAPE_LOSS ? "loss" : "overlimit");
			return -ENOBUFS;
		}
		if (rel > now || s->q[dir].n) {
			struct held h = { pkt, ref, rel };

			log_line(s, dir, pkt,
				 s->have_target && !strcmp(action, "rewrite") ?
					 "rewrite,delay" :
					 "delay");
			if (fifo_push(&s->q[dir], &h) == 0) {
				s->delayed++;
				arm(s);
				return NH_EJUSTRETURN;
			}
		}
	}
	log_line(s, dir, pkt, action);
	return 0;
}

static int act(struct pstate *s, int dir, struct nh_pkt **pp, nh_ipfilter_t ref)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = act_locked(s, dir, pp, ref);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int find_ref(struct pstate *s, void *cookie, nh_ipfilter_t *ref)
{
	intptr_t i = (intptr_t)cookie;

	if (i < 0 || i >= s->nrefs)
		return -1;
	*ref = s->refs[i];
	return 0;
}

static int cb_output(void *cookie, struct nh_pkt **data,
		     struct nh_ipf_pktopts *options)
{
	nh_ipfilter_t ref;

	(void)options;
	if (find_ref(g_state, cookie, &ref))
		return 0;
	return act(g_state, D_OUT, data, ref);
}

static int cb_input(void *cookie, struct nh_pkt **data, int offset,
		    uint8_t protocol)
{
	nh_ipfilter_t ref;

	(void)offset;
	(void)protocol;
	if (find_ref(g_state, cookie, &ref))
		return 0;
	return act(g_state, D_IN, data, ref);
}

/* replies of rewritten flows: their source back to what the program
 * asked for */
static int cb_back(void *cookie, struct nh_pkt **data, int offset,
		   uint8_t protocol)
{
	(void)cookie;
	(void)offset;
	(void)protocol;
	pthread_mutex_lock(&g_state->lock);
	if (nh_nat_in(g_state->nat, *data) > 0)
		g_state->rewritten++;
	pthread_mutex_unlock(&g_state->lock);
	return 0;
}

/* ---- options ---- */

enum {
	O_NETNS = 0x100,
	O_FILTER,
	O_DIR,
	O_LOG,
	O_JSON,
	O_PCAP,
	O_DROP,
	O_LOSS,
	O_DELAY,
	O_RATE,
	O_REWRITE,
	O_FAIL,
	O_THREADS,
};

static const struct option popts_long[] = {
	{ "netns", required_argument, NULL, O_NETNS },
	{ "filter", required_argument, NULL, O_FILTER },
	{ "dir", required_argument, NULL, O_DIR },
	{ "log", required_argument, NULL, O_LOG },
	{ "json", no_argument, NULL, O_JSON },
	{ "pcap", required_argument, NULL, O_PCAP },
	{ "drop", no_argument, NULL, O_DROP },
	{ "loss", required_argument, NULL, O_LOSS },
	{ "delay", required_argument, NULL, O_DELAY },
	{ "rate", required_argument, NULL, O_RATE },
	{ "rewrite-dst", required_argument, NULL, O_REWRITE },
	{ "fail", required_argument, NULL, O_FAIL },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void packet_usage(FILE *f)
{
	fprintf(f,
		"usage: nethook packet [--netns PATH] [--filter EXPR] [--dir out|in|both]\n"
		"                      ACTION... [-- COMMAND [ARGS...]]\n"
		"  --filter EXPR        pcap-filter expression (\"tcp dst port 80\"); default all\n"
		"  --dir out|in|both    which packets (default out; with --rate, both)\n"
		"  --netns PATH         the network namespace (COMMAND runs there too)\n"
		"  --fail open|closed   when nethook is gone: packets pass (default) or drop\n"
		"  --threads N          N workers, each reading its own queues (1: one thread;\n"
		"                       default: one per CPU, up to 4)\n"
		"actions:\n"
		"  --log FILE|-         one line per packet ('-' = standard error); --json\n"
		"  --pcap FILE          a capture file (raw IP)\n"
		"  --drop               drop them\n"
		"  --loss PCT           drop this share, at random\n"
		"  --delay MS[:JITTER]  hold each this long (+- jitter)\n"
		"  --rate RATE          at most this rate each way hooked (tc units: 10mbit,\n"
		"                       512kbit): a download is slowed too\n"
		"  --rewrite-dst ADDR[:PORT]  new destination; replies are translated back\n"
		"With COMMAND only its packets are hooked (its connections' replies by a\n"
		"conntrack mark; connections it did not start are not hooked), and the\n"
		"exit status is COMMAND's; without, until interrupted.\n");
}

static int parse(int argc, char **argv, struct popts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->dir[D_OUT] = true;
	o->threads = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+vh", popts_long, NULL)) != -1) {
		switch (c) {
		case O_NETNS:
			o->netns = optarg;
			break;
		case O_FILTER:
			o->filter = optarg;
			break;
		case O_DIR:
			o->dir_set = true;
			o->dir[D_OUT] = !strcmp(optarg, "out") ||
					!strcmp(optarg, "both");
			o->dir[D_IN] = !strcmp(optarg, "in") ||
				       !strcmp(optarg, "both");
			if (!o->dir[0] && !o->dir[1]) {
				fprintf(stderr,
					"nethook packet: --dir: out, in or both, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case O_LOG:
			o->log = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_PCAP:
			o->pcap = optarg;
			break;
		case O_DROP:
			o->drop = true;
			break;
		case O_LOSS:
			o->loss = optarg;
			break;
		case O_DELAY:
			o->delay = optarg;
			break;
		case O_RATE:
			o->rate = optarg;
			break;
		case O_REWRITE:
			o->rewrite = optarg;
			break;
		case O_FAIL:
			if (!strcmp(optarg, "open") ||
			    !strcmp(optarg, "closed")) {
				o->fail_closed = !strcmp(optarg, "closed");
				break;
			}
			fprintf(stderr,
				"nethook packet: --fail: open or closed, not '%s'\n",
				optarg);
			return -1;
		case O_THREADS: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 64) {
				fprintf(stderr,
					"nethook packet: --threads: 1 to 64, not '%s'\n",
					optarg);
				return -1;
			}
			o->threads = (int)v;
			break;
		}
		case 'v':
			o->verbose++;
			break;
		case 'h':
			return 1;
		default:
			fprintf(stderr,
				"nethook packet: see nethook packet --help\n");
			return -1;
		}
	}
	if (optind < argc) {
		o->argv = argv + optind;
		if (optind > 0 && strcmp(argv[optind - 1], "--")) {
			fprintf(stderr,
				"nethook packet: unexpected '%s' (COMMAND goes after --)\n",
				argv[optind]);
			return -1;
		}
	}
	if (!o->log && !o->pcap && !o->drop && !o->loss && !o->delay &&
	    !o->rate && !o->rewrite) {
		fprintf(stderr,
			"nethook packet: no action (--log, --pcap, --drop, --loss, --delay, --rate, --rewrite-dst)\n");
		return -1;
	}
	/* "a program's rate" is what it sends and what it receives: the
	 * bulk of a download comes in */
	if (o->rate && !o->dir_set)
		o->dir[D_IN] = true;
	if (o->drop && (o->loss || o->delay || o->rate || o->rewrite)) {
		fprintf(stderr,
			"nethook packet: --drop goes with --log and --pcap only\n");
		return -1;
	}
	return 0;
}

static int setup_actions(struct pstate *s)
{
	struct popts *o = s->o;
	struct nh_shape_opts so = { .sz = sizeof(so) };
	int err, d;

	if (o->loss && (err = nh_shape_parse_loss(o->loss, &so.loss_ppm))) {
		fprintf(stderr,
			"nethook packet: --loss %s: a percentage (0-100)\n",
			o->loss);
		return -1;
	}
	if (o->delay && (err = nh_shape_parse_delay(o->delay, &so.delay_us,
						    &so.jitter_us))) {
		fprintf(stderr,
			"nethook packet: --delay %s: MS[:JITTER] in milliseconds\n",
			o->delay);
		return -1;
	}
	if (o->rate && (err = nh_shape_parse_rate(o->rate, &so.rate_bps))) {
		fprintf(stderr,
			"nethook packet: --rate %s: a rate as tc writes it (10mbit, 512kbit)\n",
			o->rate);
		return -1;
	}
	so.seed = (uint64_t)getpid() ^ now_ns();
	if (o->loss || o->delay || o->rate) {
		for (d = 0; d < 2; d++) {
			struct nh_shape_opts sd = so;

			if (!o->dir[d])
				continue;
			/* in only for --rate's sake: a download is capped,
			 * and the delay and loss asked for are not doubled */
			if (d == D_IN && !o->dir_set)
				sd.delay_us = sd.jitter_us = sd.loss_ppm = 0;
			s->shape[d] = nh_shape_new(&sd);
			if (!s->shape[d]) {
				fprintf(stderr, "nethook packet: %s\n",
					strerror(errno));
				return -1;
			}
		}
	}
	if (o->rewrite) {
		struct nh_nat_opts no = { .sz = sizeof(no) };

		if (nh_nat_parse_target(o->rewrite, &s->target)) {
			fprintf(stderr,
				"nethook packet: --rewrite-dst %s: ADDR, ADDR:PORT or [ADDR6]:PORT\n",
				o->rewrite);
			return -1;
		}
		s->nat = nh_nat_new(&no);
		if (!s->nat || nh_nat_set_target(s->nat, &s->target)) {
			fprintf(stderr, "nethook packet: %s\n",
				strerror(errno));
			return -1;
		}
		s->have_target = true;
	}
	if (o->log) {
		s->log = strcmp(o->log, "-") ? fopen(o->log, "ae") : stderr;
		if (!s->log) {
			fprintf(stderr, "nethook packet: --log %s: %s\n",
				o->log, strerror(errno));
			return -1;
		}
		setvbuf(s->log, NULL, _IOLBF, 0);
	}
	if (o->pcap) {
		err = nh_pcapw_open(o->pcap, &s->pcap);
		if (err) {
			fprintf(stderr, "nethook packet: --pcap %s: %s\n",
				o->pcap, strerror(-err));
			return -1;
		}
	}
	return 0;
}

static int add_filters(struct pstate *s)
{
	static const int fams[2] = { AF_INET, AF_INET6 };
	struct popts *o = s->o;
	char back[128];
	int i, err;

	for (i = 0; i < 2; i++) {
		struct nh_ipf_filter f = { .sz = sizeof(f) };
		nh_ipfilter_t ref;

		/* a rewrite of one family: only that family's packets */
		if (s->have_target && s->target.family != (i ? 6 : 4) &&
		    !o->log && !o->pcap && !o->loss && !o->delay && !o->rate)
			continue;
		if (s->have_target && s->target.family == (i ? 6 : 4)) {
			char a[INET6_ADDRSTRLEN];
			struct nh_ipf_filter bf = { .sz = sizeof(bf) };

			inet_ntop(fams[i], s->target.addr, a, sizeof(a));
			if (s->target.port)
				snprintf(back, sizeof(back),
					 "src host %s and src port %u", a,
					 s->target.port);
			else
				snprintf(back, sizeof(back), "src host %s", a);
			bf.name = "rewrite-back";
			bf.match = back;
			bf.ipf_input = cb_back;
			err = (i ? nh_ipf_addv6 : nh_ipf_addv4)(s->ctx, &bf,
								&ref);
			if (err < 0)
				return -1;
		}
		f.cookie = (void *)(intptr_t)s->nrefs;
		f.name = "packet";
		f.match = o->filter;
		f.ipf_output = o->dir[D_OUT] ? cb_output : NULL;
		f.ipf_input = o->dir[D_IN] ? cb_input : NULL;
		err = (i ? nh_ipf_addv6 : nh_ipf_addv4)(s->ctx, &f, &ref);
		if (err < 0)
			return -1;
		s->refs[s->nrefs++] = ref;
	}
	return 0;
}

/* ---- running ---- */

/* COMMAND's way to exec: into the namespace first */
static void child_late(void *netns)
{
	int fd;

	if (!netns)
		return;
	fd = open(netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "nethook: --netns %s: %s\n", (char *)netns,
			strerror(errno));
		_exit(NH_EXIT_ERROR);
	}
	close(fd);
}

/* bytes of each packet copied when the actions read only headers: an
 * IPv6 header with extension headers and a TCP header with options */
#define PKT_COPY 256

/* Several workers where they pay: bench/packet.sh on 2 CPUs, two
 * senders, gave 353k pkt/s with two queues and workers against 273k with
 * one; with one sender, cpu-fanout puts everything in one queue and the
 * second worker costs nothing.  One per CPU, up to 4. */
static unsigned int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 1;
	return n > 4 ? 4 : (unsigned int)n;
}

static void report(struct pstate *s)
{
	struct nh_ipf_stats st = { .sz = sizeof(st) };

	if (!s->o->verbose || !s->ctx)
		return;
	nh_ipf_get_stats(s->ctx, &st);
	fprintf(stderr,
		"nethook: packets out=%" PRIu64 " in=%" PRIu64
		" dropped=%" PRIu64 " lost=%" PRIu64 " delayed=%" PRIu64
		" rewritten=%" PRIu64 "; queue: %" PRIu64 " packets, %" PRIu64
		" modified, %" PRIu64 " verdict messages in %" PRIu64
		" writes, %" PRIu64 " truncated\n",
		s->n[0], s->n[1], s->dropped, s->lost, s->delayed, s->rewritten,
		st.packets, st.modified, st.verdict_msgs, st.batches,
		st.truncated);
}

/* the context's work, and the capture flushed after it */
static void on_ctx(void *arg)
{
	struct pstate *s = arg;

	nh_ctx_dispatch(s->ctx, 0);
	if (s->pcap) {
		pthread_mutex_lock(&s->lock);
		nh_pcapw_flush(s->pcap);
		pthread_mutex_unlock(&s->lock);
	}
}

/* the first held packet's time came */
static void on_timer(void *arg)
{
	struct pstate *s = arg;
	uint64_t v;

	if (read(s->tfd, &v, sizeof(v)) < 0) {
		/* not expired: the check is cheap */
	}
	s->armed_ns = 0;
	release_due(s, false);
}

int cmd_packet(int argc, char **argv)
{
	struct nh_ctx_opts copts = { .sz = sizeof(copts) };
	struct nh_ipf_opts ipfo = { .sz = sizeof(ipfo) };
	struct cli_child ch = { NULL, NULL, child_late, NULL };
	struct cli_watch w[2];
	struct cli_spawn sp = CLI_SPAWN_INIT;
	struct pstate s;
	struct popts o;
	int status = NH_EXIT_ERROR, r, d;

	r = parse(argc, argv, &o);
	if (r > 0) {
		packet_usage(stdout);
		return 0;
	}
	if (r < 0)
		return NH_EXIT_ERROR;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	s.o = &o;
	s.tfd = -1;
	g_state = &s;
	cli_verbose = o.verbose;
	if (geteuid() != 0) {
		fprintf(stderr,
			"nethook: needs root (netfilter rules and queues)\n");
		return NH_EXIT_ERROR;
	}
	if (setup_actions(&s))
		goto cleanup;
	r = cli_spawn_init(&sp);
	signal(SIGPIPE, SIG_IGN);
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r || s.tfd < 0)
		goto cleanup;
	copts.log = cli_log;
	copts.netns = o.netns;
	copts.threads = o.threads > 0 ? (unsigned int)o.threads :
					default_threads();
	if (nh_ctx_open(&copts, &s.ctx) < 0)
		goto cleanup;
	ipfo.flags = (o.argv ? NH_IPF_SCOPE_CGROUP : 0) |
		     (o.fail_closed ? NH_IPF_FAIL_CLOSED : 0);
	/* headers are all the actions read unless one keeps or changes the
	 * whole packet */
	if (!o.pcap && !o.rewrite)
		ipfo.copy_range = PKT_COPY;
	if (nh_ipf_ctx_setopts(s.ctx, &ipfo) < 0)
		goto cleanup;
	if (add_filters(&s))
		goto cleanup;
	if (o.verbose)
		fprintf(stderr,
			"nethook: packet: hooking %s packets%s%s%s%s%s\n",
			o.dir[0] && o.dir[1] ? "outgoing and incoming" :
			o.dir[0]	     ? "outgoing" :
					       "incoming",
			o.filter ? " matching \"" : "",
			o.filter ? o.filter : "", o.filter ? "\"" : "",
			o.argv ? " of " : "", o.argv ? o.argv[0] : "");
	if (o.argv) {
		ch.argv = o.argv;
		ch.arg = (void *)o.netns;
		if (cli_spawn_fork(&sp, &ch) || cli_spawn_release(&sp, s.ctx))
			goto cleanup;
	}
	w[0] = (struct cli_watch){ nh_ctx_fd(s.ctx), on_ctx, &s };
	w[1] = (struct cli_watch){ s.tfd, on_timer, &s };
	status = cli_spawn_loop(&sp, w, 2);
	if (o.argv)
		nh_ctx_end_scope(s.ctx, 2000);
cleanup:
	r = cli_spawn_close(&sp);
	if (r >= 0)
		status = r;
	/* what is still held goes on now */
	if (s.ctx)
		release_due(&s, true);
	report(&s);
	nh_ctx_close(s.ctx);
	for (d = 0; d < 2; d++) {
		nh_shape_free(s.shape[d]);
		free(s.q[d].v);
	}
	nh_nat_free(s.nat);
	if (s.pcap)
		nh_pcapw_close(s.pcap);
	if (s.log && s.log != stderr)
		fclose(s.log);
	pthread_mutex_destroy(&s.lock);
	if (s.tfd >= 0)
		close(s.tfd);
	return status;
}
