// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nh-sflt: drive libnethook's socket filter API for the integration tests.
 *
 *   nh-sflt [OPTIONS] -- COMMAND [ARGS...]
 *   nh-sflt --bad CASE
 *
 * Opens a context, registers K filters (--filters, default 1) configured
 * by the options, runs COMMAND in the context's scope (fork, then
 * nh_ctx_add_pid, then let the child exec), dispatches until it has
 * exited and every attached socket has detached, closes the context and
 * prints counters as key=value lines:
 *
 *   attach= detach= connect_out= data_out= data_in= (calls, all filters)
 *   unregistered= (sf_unregistered calls before nh_ctx_close)
 *   unregistered_total= (and after it)
 *   bytes_out= bytes_in= (nh_socket_stats at detach, first filter)
 *   peak_active= order_errors= thread_switches= main_thread_cbs= workers=
 *   held= injected= inject_errors= hold_min_ms= replaced_out= replaced_in=
 *   declined=
 *   notify_connected= notify_shut_out= notify_shut_in= notify_closing=
 *   to.I= (the destination filter I last saw in sf_connect_out)
 *   name.I= (and the name it had, nh_socket_peer_name(), or -)
 *   attach.I= detach.I= (per filter, when K > 1)
 *   status= (the command's exit status, 128+N for signal N)
 *
 * and exits with the command's status (125 when nh-sflt itself failed).
 *
 * The first filter (index 0) carries the behaviours; the others count:
 *   --rewrite-dst ADDR:PORT  sf_connect_out rewrites the destination
 *   --refuse                 sf_connect_out returns -ECONNREFUSED
 *   --rename NAME            sf_connect_out has the proxy asked for NAME
 *                            (nh_socket_set_peer_name)
 *   --out-replace FROM:TO    sf_data_out replaces FROM by TO (nh_buf_set)
 *   --in-replace FROM:TO     sf_data_in likewise
 *   --hold-ms N              sf_data_out keeps the bytes (NH_EJUSTRETURN);
 *                            another thread injects them N ms later
 *   --hold-in-ms N           the same for sf_data_in
 *   --decline                sf_attach returns 1: the socket goes unfiltered
 *   --data-error             sf_data_out returns -EPIPE: reset
 * Context and registration:
 *   --filters K              K filters (at most 16), in registration order
 *   --family 4|6|46          domain(s) registered (46: both, two handles)
 *   --count-data             the counting filters set data callbacks too
 *   --notify                 every filter sets sf_notify and counts events
 *   --events                 opts.event: end, block, redirect events on stderr
 *   --threads N              opts.threads
 *   --own-fds                NH_CTX_RELAY_OWN_FDS: a descriptor table per worker
 *   --proxy URL              opts.proxy
 *   --dns                    opts.dns = NH_DNS_PROXY (with a rule
 *                            SPEC:dns, NH_RULE_DNS)
 *   --cgroup PATH            opts.cgroup
 *   --global PATH            NH_SFLT_GLOBAL, NH_CTX_ALLOW_GLOBAL, opts.cgroup
 *   --no-add                 do not move COMMAND into the scope
 *   --rule SPEC:ACTION       nh_ctx_add_rule, in order; ACTION is pass,
 *                            divert, block[=ERRNO-NAME] or redirect=ADDR:PORT
 *   --unregister-after N     unregister every filter after N attaches
 *                            (from the dispatch loop)
 *   --unregister-in-callback ... from inside the Nth sf_attach
 *   --lines                  one "conn ..." line per detached socket
 *   --drain-ms N             wait at most N ms after COMMAND for detaches
 *   -v                       log at LOG_DEBUG too (default: up to LOG_INFO)
 *
 * --bad CASE registers something that must fail and prints
 * "result=ERRNO-NAME errno=ERRNO-NAME" (result=0 if it did not fail):
 *   flags0 sz0 global dgram domain protocol dup unknown, or a callback name
 *   (getpeername getsockname connect_in bind setoption getoption listen
 *   ioctl).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "nh_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <nethook/nethook.h>
#include <nethook/sflt.h>

#define MAX_FILTERS 16
#define MAX_RULES 16
#define MAX_WORKERS 64
#define HANDLE_BASE 0x6e680000u
#define HANDLE_V6 0x100u

enum cb { CB_ATTACH, CB_CONNECT_OUT, CB_DATA_OUT, CB_DATA_IN, CB_DETACH };

static struct {
	int nfilters;
	int family; /* 4, 6 or 46 */
	int count_data, notify, lines, verbose, no_add, events;
	unsigned int threads;
	int own_fds;
	const char *proxy, *cgroup, *rename;
	int global, dns;
	struct sockaddr_storage rewrite;
	int has_rewrite, refuse, decline, data_error;
	char *out_from, *out_to, *in_from, *in_to;
	long hold_out_ms, hold_in_ms;
	long unregister_after;
	int unregister_in_cb;
	long drain_ms;
	struct nh_rule rules[MAX_RULES];
	struct sockaddr_storage rule_target[MAX_RULES];
	int nrules;
} cfg = { .nfilters = 1, .family = 4, .unregister_after = -1, .drain_ms = 5000 };

/* counters, updated from any thread */
static struct {
	long attach[MAX_FILTERS], detach[MAX_FILTERS];
	long connect_out, data_out, data_in;
	long unregistered;
	long bytes_out, bytes_in;
	long active, peak_active;
	long order_errors, thread_switches, main_thread_cbs;
	long held, injected, inject_errors, hold_min_ms;
	long replaced_out, replaced_in;
	long notify[5];
	long stats_errors, declined;
} n = { .hold_min_ms = -1 };

static char to_seen[MAX_FILTERS][64];
static char name_seen[MAX_FILTERS][256];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t workers[MAX_WORKERS];
static int nworkers;
static pid_t main_tid;
static struct nh_ctx *ctx;
static nh_sflt_handle handles[2 * MAX_FILTERS];
static int nhandles;
static volatile int unregistered_done;
static volatile sig_atomic_t child_pid;

#define ADD(field, v) __atomic_add_fetch(&(field), (v), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

struct flow {
	int idx;
	pid_t tid;
	struct timespec t0;
};

static __thread struct {
	nh_socket_t so;
	int cb, idx;
} last;

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Filters run in registration order for every callback: filter I must
 * follow filter I-1 on the same socket and callback, on this thread. */
static void check_order(int idx, nh_socket_t so, int cb)
{
	if (idx > 0 && !cfg.decline &&
	    (last.so != so || last.cb != cb || last.idx != idx - 1))
		ADD(n.order_errors, 1);
	last.so = so;
	last.cb = cb;
	last.idx = idx;
}

static void note_thread(struct flow *f)
{
	pid_t me = tid();
	int i;

	if (f && f->tid != me)
		ADD(n.thread_switches, 1);
	if (cfg.threads > 1 && me == main_tid)
		ADD(n.main_thread_cbs, 1);
	pthread_mutex_lock(&lock);
	for (i = 0; i < nworkers && workers[i] != me; i++)
		;
	if (i == nworkers && nworkers < MAX_WORKERS)
		workers[nworkers++] = me;
	pthread_mutex_unlock(&lock);
}

static void unregister_all(void)
{
	int i, err;

	for (i = 0; i < nhandles; i++) {
		err = nh_sflt_unregister(ctx, handles[i]);
		if (err)
			fprintf(stderr,
				"nh-sflt: nh_sflt_unregister(%#x): %s\n",
				handles[i], nh_errname(-err));
	}
	unregistered_done = 1;
}

static int do_attach(int idx, void **cookie, nh_socket_t so)
{
	struct flow *f;
	long a, act;

	if (idx == 0 && cfg.decline) {
		check_order(idx, so, CB_ATTACH);
		ADD(n.declined, 1);
		return 1;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->idx = idx;
	f->tid = tid();
	clock_gettime(CLOCK_MONOTONIC, &f->t0);
	*cookie = f;
	check_order(idx, so, CB_ATTACH);
	note_thread(NULL);
	a = ADD(n.attach[idx], 1);
	if (idx == 0) {
		act = ADD(n.active, 1);
		pthread_mutex_lock(&lock);
		if (act > n.peak_active)
			n.peak_active = act;
		pthread_mutex_unlock(&lock);
		if (cfg.unregister_in_cb && a == cfg.unregister_after)
			unregister_all();
	}
	return 0;
}

#define ATTACH_FN(i)                                         \
	static int attach_##i(void **cookie, nh_socket_t so) \
	{                                                    \
		return do_attach(i, cookie, so);             \
	}
ATTACH_FN(0)
ATTACH_FN(1)
ATTACH_FN(2)
ATTACH_FN(3)
ATTACH_FN(4)
ATTACH_FN(5)
ATTACH_FN(6)
ATTACH_FN(7)
ATTACH_FN(8)
ATTACH_FN(9)
ATTACH_FN(10)
ATTACH_FN(11)
ATTACH_FN(12)
ATTACH_FN(13)
ATTACH_FN(14)
ATTACH_FN(15)
static int (*const attach_fns[MAX_FILTERS])(void **, nh_socket_t) = {
	attach_0,  attach_1,  attach_2,	 attach_3,  attach_4,  attach_5,
	attach_6,  attach_7,  attach_8,	 attach_9,  attach_10, attach_11,
	attach_12, attach_13, attach_14, attach_15,
};

static void on_detach(void *cookie, nh_socket_t so)
{
	struct flow *f = cookie;
	struct sockaddr_storage peer;
	uint64_t out = 0, in = 0;
	struct timespec t1;
	char dst[80] = "?";

	check_order(f->idx, so, CB_DETACH);
	note_thread(f);
	ADD(n.detach[f->idx], 1);
	if (f->idx == 0) {
		ADD(n.active, -1);
		if (nh_socket_stats(so, &out, &in) == 0) {
			ADD(n.bytes_out, (long)out);
			ADD(n.bytes_in, (long)in);
		} else {
			ADD(n.stats_errors, 1);
		}
		if (cfg.lines) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (nh_socket_peer(so, &peer) == 0)
				nh_fmt_addr((struct sockaddr *)&peer, dst,
					    sizeof(dst));
			printf("conn pid=%d uid=%u comm=%s exe=%s peer=%s cookie=%llu bytes_out=%llu bytes_in=%llu ms=%.1f\n",
			       (int)nh_socket_pid(so),
			       (unsigned int)nh_socket_uid(so),
			       nh_socket_comm(so) ? nh_socket_comm(so) : "?",
			       nh_socket_exe(so) ? nh_socket_exe(so) : "?", dst,
			       (unsigned long long)nh_socket_cookie(so),
			       (unsigned long long)out, (unsigned long long)in,
			       (t1.tv_sec - f->t0.tv_sec) * 1e3 +
				       (t1.tv_nsec - f->t0.tv_nsec) / 1e6);
			fflush(stdout);
		}
	}
	free(f);
}

static void on_unregistered(nh_sflt_handle handle)
{
	(void)handle;
	ADD(n.unregistered, 1);
}

static void on_notify(void *cookie, nh_socket_t so, int event, void *param)
{
	struct flow *f = cookie;

	(void)so;
	(void)param;
	note_thread(f);
	if (f->idx == 0 && event >= 1 && event <= 4)
		ADD(n.notify[event], 1);
}

static int on_connect_out(void *cookie, nh_socket_t so, struct sockaddr *to)
{
	struct flow *f = cookie;
	char buf[64];

	check_order(f->idx, so, CB_CONNECT_OUT);
	note_thread(f);
	ADD(n.connect_out, 1);
	nh_fmt_addr(to, buf, sizeof(buf));
	pthread_mutex_lock(&lock);
	snprintf(to_seen[f->idx], sizeof(to_seen[0]), "%s", buf);
	snprintf(name_seen[f->idx], sizeof(name_seen[0]), "%s",
		 nh_socket_peer_name(so) ? nh_socket_peer_name(so) : "-");
	pthread_mutex_unlock(&lock);
	if (f->idx != 0)
		return 0;
	if (cfg.rename && nh_socket_set_peer_name(so, cfg.rename))
		return -EINVAL;
	if (cfg.refuse)
		return -ECONNREFUSED;
	if (cfg.has_rewrite &&
	    (to->sa_family == AF_INET || to->sa_family == AF_INET6))
		memcpy(to, &cfg.rewrite, sizeof(cfg.rewrite));
	return 0;
}

/* Replace every FROM by TO in the buffer; the count of replacements. */
static int replace(struct nh_buf *b, const char *from, const char *to)
{
	size_t len = nh_buf_len(b), fl = strlen(from), tl = strlen(to);
	const char *d = nh_buf_data(b), *p, *end = d + len;
	char *out, *o;
	int count = 0, err;

	if (!fl || len < fl)
		return 0;
	for (p = d; p + fl <= end; p++)
		if (!memcmp(p, from, fl)) {
			count++;
			p += fl - 1;
		}
	if (!count)
		return 0;
	o = out = malloc(len + count * (tl > fl ? tl - fl : 0) + 1);
	if (!out)
		return -ENOMEM;
	for (p = d; p < end;) {
		if (p + fl <= end && !memcmp(p, from, fl)) {
			memcpy(o, to, tl);
			o += tl;
			p += fl;
		} else {
			*o++ = *p++;
		}
	}
	err = nh_buf_set(b, out, o - out);
	free(out);
	return err < 0 ? err : count;
}

/* --- held data, injected by another thread ----------------------------- */

struct held {
	struct held *next;
	nh_socket_t so;
	nh_sflt_handle from;
	int out;
	double t_held, due;
	size_t len;
	char data[];
};

static struct held *hq_head, **hq_tail = &hq_head;
static pthread_mutex_t hq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hq_cond = PTHREAD_COND_INITIALIZER;
static int hq_stop, hq_pending;
static pthread_t hq_thread;
static int hq_started;

static int hold(nh_socket_t so, int out, struct nh_buf *b, long ms)
{
	size_t len = nh_buf_len(b);
	struct held *h = malloc(sizeof(*h) + len);

	if (!h)
		return -ENOMEM;
	h->next = NULL;
	h->so = so;
	h->from = handles[0];
	h->out = out;
	h->len = len;
	h->t_held = now_ms();
	h->due = h->t_held + ms;
	memcpy(h->data, nh_buf_data(b), len);
	pthread_mutex_lock(&hq_lock);
	*hq_tail = h;
	hq_tail = &h->next;
	hq_pending++;
	pthread_cond_signal(&hq_cond);
	pthread_mutex_unlock(&hq_lock);
	ADD(n.held, 1);
	return NH_EJUSTRETURN;
}

static void *injector(void *arg)
{
	struct held *h;
	struct timespec ts;
	double t, waited;
	int err;

	(void)arg;
	pthread_mutex_lock(&hq_lock);
	for (;;) {
		if (!hq_head) {
			if (hq_stop)
				break;
			pthread_cond_wait(&hq_cond, &hq_lock);
			continue;
		}
		h = hq_head;
		t = now_ms();
		if (t < h->due) {
			clock_gettime(CLOCK_REALTIME, &ts);
			t = h->due - t;
			ts.tv_sec += (time_t)(t / 1000);
			ts.tv_nsec +=
				(long)((t - (long)(t / 1000) * 1000) * 1e6);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&hq_cond, &hq_lock, &ts);
			continue;
		}
		hq_head = h->next;
		if (!hq_head)
			hq_tail = &hq_head;
		pthread_mutex_unlock(&hq_lock);
		waited = now_ms() - h->t_held;
		if (h->out)
			err = nh_socket_inject_data_out(h->so, h->from, h->data,
							h->len);
		else
			err = nh_socket_inject_data_in(h->so, h->from, h->data,
						       h->len);
		if (err < 0) {
			ADD(n.inject_errors, 1);
			fprintf(stderr, "nh-sflt: inject %s: %s\n",
				h->out ? "out" : "in", nh_errname(-err));
		} else {
			ADD(n.injected, 1);
		}
		pthread_mutex_lock(&lock);
		if (n.hold_min_ms < 0 || waited < n.hold_min_ms)
			n.hold_min_ms = (long)waited;
		pthread_mutex_unlock(&lock);
		free(h);
		pthread_mutex_lock(&hq_lock);
		hq_pending--;
	}
	pthread_mutex_unlock(&hq_lock);
	return NULL;
}

static int on_data_out(void *cookie, nh_socket_t so, const struct sockaddr *to,
		       struct nh_buf *data, int flags)
{
	struct flow *f = cookie;
	int r;

	(void)to;
	(void)flags;
	if (!cfg.hold_out_ms)
		check_order(f->idx, so, CB_DATA_OUT);
	note_thread(f);
	ADD(n.data_out, 1);
	if (f->idx != 0)
		return 0;
	if (cfg.data_error)
		return -EPIPE;
	if (cfg.out_from) {
		r = replace(data, cfg.out_from, cfg.out_to);
		if (r < 0)
			return r;
		ADD(n.replaced_out, r);
	}
	if (cfg.hold_out_ms)
		return hold(so, 1, data, cfg.hold_out_ms);
	return 0;
}

static int on_data_in(void *cookie, nh_socket_t so, const struct sockaddr *from,
		      struct nh_buf *data, int flags)
{
	struct flow *f = cookie;
	int r;

	(void)from;
	(void)flags;
	if (!cfg.hold_in_ms)
		check_order(f->idx, so, CB_DATA_IN);
	note_thread(f);
	ADD(n.data_in, 1);
	if (f->idx != 0)
		return 0;
	if (cfg.in_from) {
		r = replace(data, cfg.in_from, cfg.in_to);
		if (r < 0)
			return r;
		ADD(n.replaced_in, r);
	}
	if (cfg.hold_in_ms)
		return hold(so, 0, data, cfg.hold_in_ms);
	return 0;
}

/* --- setup --------------------------------------------------------------- */

static void on_log(int level, const char *msg, void *user)
{
	static const char *const names[] = { "emerg", "alert",	 "crit",
					     "err",   "warning", "notice",
					     "info",  "debug" };

	(void)user;
	if (level > LOG_INFO && !cfg.verbose)
		return;
	fprintf(stderr, "nh-sflt: %s: %s\n",
		level >= 0 && level <= 7 ? names[level] : "?", msg);
}

static void on_event(const struct nh_event *ev, void *user)
{
	char line[1024];

	(void)user;
	nh_event_format(ev, 0, line, sizeof(line));
	fprintf(stderr, "nh-sflt: event: %s\n", line);
}

static __attribute__((noreturn)) void usage(const char *why)
{
	if (why)
		fprintf(stderr, "nh-sflt: %s\n", why);
	fprintf(stderr,
		"usage: nh-sflt [OPTIONS] -- COMMAND [ARGS...] | nh-sflt --bad CASE\n");
	exit(2);
}

/* "ADDR:PORT", "[V6]:PORT" */
static int parse_hostport(const char *s, struct sockaddr_storage *ss)
{
	char buf[128], *colon;
	socklen_t len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	return nh_parse_addr(buf, colon + 1, 0, ss, &len);
}

static int errno_by_name(const char *name)
{
	int e;

	for (e = 1; e < 256; e++) {
		const char *s = strerrorname_np(e);

		if (s && !strcmp(s, name))
			return e;
	}
	return -1;
}

/* SPEC:ACTION; SPEC may hold colons, may be empty. */
static void parse_rule(char *arg)
{
	static const char *const acts[] = { ":pass", ":divert", ":block",
					    ":redirect=", ":dns" };
	struct nh_rule *r;
	char *best = NULL, *p, *act;
	size_t i;

	if (cfg.nrules == MAX_RULES)
		usage("too many rules");
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		for (p = arg; (p = strstr(p, acts[i])); p++)
			if (!best || p > best)
				best = p;
	if (!best)
		usage("--rule SPEC:pass|divert|block[=ERRNO]|redirect=ADDR:PORT");
	*best = '\0';
	act = best + 1;
	r = &cfg.rules[cfg.nrules];
	r->sz = sizeof(*r);
	r->match = arg;
	if (!strcmp(act, "pass")) {
		r->action = NH_RULE_PASS;
	} else if (!strcmp(act, "divert")) {
		r->action = NH_RULE_DIVERT;
	} else if (!strcmp(act, "dns")) {
		r->action = NH_RULE_DNS;
	} else if (!strcmp(act, "block")) {
		r->action = NH_RULE_BLOCK;
	} else if (!strncmp(act, "block=", 6)) {
		r->action = NH_RULE_BLOCK;
		r->err = errno_by_name(act + 6);
		if (r->err < 0)
			usage("unknown errno name in --rule");
	} else if (!strncmp(act, "redirect=", 9)) {
		r->action = NH_RULE_REDIRECT;
		if (parse_hostport(act + 9, &cfg.rule_target[cfg.nrules]))
			usage("bad redirect target in --rule");
		r->target = (struct sockaddr *)&cfg.rule_target[cfg.nrules];
	} else {
		usage("unknown action in --rule");
	}
	cfg.nrules++;
}

static void split_replace(char *arg, char **from, char **to)
{
	char *c = strchr(arg, ':');

	if (!c || c == arg)
		usage("--out-replace/--in-replace FROM:TO");
	*c = '\0';
	*from = arg;
	*to = c + 1;
}

static long num(const char *s)
{
	long v = nh_parse_num(s, 1000000000L);

	if (v < 0)
		usage("bad number");
	return v;
}

static void fill_filter(struct nh_sflt_filter *f, int idx)
{
	int data = idx == 0 ? (cfg.out_from || cfg.in_from || cfg.hold_out_ms ||
			       cfg.hold_in_ms || cfg.data_error ||
			       cfg.count_data) :
			      cfg.count_data;

	memset(f, 0, sizeof(*f));
	f->sz = sizeof(*f);
	f->sf_handle = HANDLE_BASE + idx;
	f->sf_flags = cfg.global ? NH_SFLT_GLOBAL : NH_SFLT_PROG;
	f->sf_name = "nh-sflt";
	f->sf_unregistered = on_unregistered;
	f->sf_attach = attach_fns[idx];
	f->sf_detach = on_detach;
	f->sf_connect_out = on_connect_out;
	if (cfg.notify)
		f->sf_notify = on_notify;
	if (data) {
		f->sf_data_out = on_data_out;
		f->sf_data_in = on_data_in;
	}
}

/* Callbacks Linux cannot honour: only their presence matters. */
static int cb_sa(void *c, nh_socket_t so, struct sockaddr **sa)
{
	(void)c, (void)so, (void)sa;
	return 0;
}

static int cb_csa(void *c, nh_socket_t so, const struct sockaddr *sa)
{
	(void)c, (void)so, (void)sa;
	return 0;
}

static int cb_bind(void *c, nh_socket_t so, struct sockaddr *sa)
{
	(void)c, (void)so, (void)sa;
	return 0;
}

static int cb_setopt(void *c, nh_socket_t so, int level, int name,
		     const void *val, socklen_t len)
{
	(void)c, (void)so, (void)level, (void)name, (void)val, (void)len;
	return 0;
}

static int cb_getopt(void *c, nh_socket_t so, int level, int name, void *val,
		     socklen_t *len)
{
	(void)c, (void)so, (void)level, (void)name, (void)val, (void)len;
	return 0;
}

static int cb_listen(void *c, nh_socket_t so)
{
	(void)c, (void)so;
	return 0;
}

static int cb_ioctl(void *c, nh_socket_t so, unsigned long req, void *argp)
{
	(void)c, (void)so, (void)req, (void)argp;
	return 0;
}

static const char *ename(int err)
{
	return err ? nh_errname(err < 0 ? -err : err) : "0";
}

static int bad_case(const char *which)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	struct nh_sflt_filter f;
	int err, type = SOCK_STREAM, domain = AF_INET, proto = 0;

	fill_filter(&f, 0);
	if (!strcmp(which, "flags0"))
		f.sf_flags = 0;
	else if (!strcmp(which, "sz0"))
		f.sz = 0;
	else if (!strcmp(which, "global"))
		f.sf_flags = NH_SFLT_GLOBAL;
	else if (!strcmp(which, "dgram"))
		type = SOCK_DGRAM;
	else if (!strcmp(which, "domain"))
		domain = AF_UNIX;
	else if (!strcmp(which, "protocol"))
		proto = IPPROTO_UDP;
	else if (!strcmp(which, "getpeername"))
		f.sf_getpeername = cb_sa;
	else if (!strcmp(which, "getsockname"))
		f.sf_getsockname = cb_sa;
	else if (!strcmp(which, "connect_in"))
		f.sf_connect_in = cb_csa;
	else if (!strcmp(which, "bind"))
		f.sf_bind = cb_bind;
	else if (!strcmp(which, "setoption"))
		f.sf_setoption = cb_setopt;
	else if (!strcmp(which, "getoption"))
		f.sf_getoption = cb_getopt;
	else if (!strcmp(which, "listen"))
		f.sf_listen = cb_listen;
	else if (!strcmp(which, "ioctl"))
		f.sf_ioctl = cb_ioctl;
	else if (strcmp(which, "dup") && strcmp(which, "unknown"))
		usage("unknown --bad case");

	err = nh_ctx_open(&opts, &ctx);
	if (err < 0) {
		fprintf(stderr, "nh-sflt: nh_ctx_open: %s\n", ename(err));
		return 125;
	}
	if (!strcmp(which, "unknown")) {
		errno = 0;
		err = nh_sflt_unregister(ctx, 0xdeadbeefu);
	} else {
		if (!strcmp(which, "dup")) {
			err = nh_sflt_register(ctx, &f, domain, type, proto);
			printf("first=%s\n", ename(err));
		}
		errno = 0;
		err = nh_sflt_register(ctx, &f, domain, type, proto);
	}
	printf("result=%s errno=%s\n", ename(err), ename(errno));
	if (!strcmp(which, "dup")) {
		/* the first registration is still there, and only it */
		err = nh_sflt_unregister(ctx, f.sf_handle);
		printf("unregister=%s\n", ename(err));
		err = nh_sflt_unregister(ctx, f.sf_handle);
		printf("unregister_again=%s\n", ename(err));
	} else if (err == 0) {
		nh_sflt_unregister(ctx, f.sf_handle);
	}
	/* a good filter still registers on this context */
	fill_filter(&f, 1);
	err = nh_sflt_register(ctx, &f, AF_INET, SOCK_STREAM, 0);
	printf("good_after=%s\n", ename(err));
	nh_ctx_close(ctx);
	return 0;
}

static void on_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	struct nh_sflt_filter filt;
	int i, go[2], status = 0, rc = 125, err, ai;
	long unreg_before = 0;
	const char *a;
	double deadline;
	pid_t pid = -1;
	char c;

	for (ai = 1; ai < argc; ai++) {
		a = argv[ai];
		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-')
			break;
#define ARG() (ai + 1 < argc ? argv[++ai] : (usage("missing value"), ""))
		if (!strcmp(a, "--bad"))
			return bad_case(ARG());
		else if (!strcmp(a, "--rewrite-dst")) {
			if (parse_hostport(ARG(), &cfg.rewrite))
				usage("--rewrite-dst ADDR:PORT");
			cfg.has_rewrite = 1;
		} else if (!strcmp(a, "--refuse"))
			cfg.refuse = 1;
		else if (!strcmp(a, "--decline"))
			cfg.decline = 1;
		else if (!strcmp(a, "--data-error"))
			cfg.data_error = 1;
		else if (!strcmp(a, "--out-replace"))
			split_replace(ARG(), &cfg.out_from, &cfg.out_to);
		else if (!strcmp(a, "--in-replace"))
			split_replace(ARG(), &cfg.in_from, &cfg.in_to);
		else if (!strcmp(a, "--hold-ms"))
			cfg.hold_out_ms = num(ARG());
		else if (!strcmp(a, "--hold-in-ms"))
			cfg.hold_in_ms = num(ARG());
		else if (!strcmp(a, "--filters")) {
			cfg.nfilters = (int)num(ARG());
			if (cfg.nfilters < 1 || cfg.nfilters > MAX_FILTERS)
				usage("--filters 1..16");
		} else if (!strcmp(a, "--family")) {
			cfg.family = (int)num(ARG());
			if (cfg.family != 4 && cfg.family != 6 &&
			    cfg.family != 46)
				usage("--family 4|6|46");
		} else if (!strcmp(a, "--count-data"))
			cfg.count_data = 1;
		else if (!strcmp(a, "--notify"))
			cfg.notify = 1;
		else if (!strcmp(a, "--events"))
			cfg.events = 1;
		else if (!strcmp(a, "--threads"))
			cfg.threads = (unsigned int)num(ARG());
		else if (!strcmp(a, "--own-fds"))
			cfg.own_fds = 1;
		else if (!strcmp(a, "--dns"))
			cfg.dns = 1;
		else if (!strcmp(a, "--rename"))
			cfg.rename = ARG();
		else if (!strcmp(a, "--proxy"))
			cfg.proxy = ARG();
		else if (!strcmp(a, "--cgroup"))
			cfg.cgroup = ARG();
		else if (!strcmp(a, "--global")) {
			cfg.cgroup = ARG();
			cfg.global = 1;
		} else if (!strcmp(a, "--no-add"))
			cfg.no_add = 1;
		else if (!strcmp(a, "--rule"))
			parse_rule(ARG());
		else if (!strcmp(a, "--unregister-after"))
			cfg.unregister_after = num(ARG());
		else if (!strcmp(a, "--unregister-in-callback"))
			cfg.unregister_in_cb = 1;
		else if (!strcmp(a, "--lines"))
			cfg.lines = 1;
		else if (!strcmp(a, "--drain-ms"))
			cfg.drain_ms = num(ARG());
		else if (!strcmp(a, "-v"))
			cfg.verbose = 1;
		else
			usage("unknown option");
#undef ARG
	}
	if (ai < argc && !strcmp(argv[ai], "--"))
		ai++;
	if (ai >= argc)
		usage("no command");
	if (cfg.unregister_in_cb && cfg.unregister_after < 1)
		usage("--unregister-in-callback needs --unregister-after N");

	main_tid = tid();
	if (cfg.events) {
		opts.event = on_event;
		opts.event_mask = NH_EVENT_MASK(NH_EVENT_END) |
				  NH_EVENT_MASK(NH_EVENT_BLOCK) |
				  NH_EVENT_MASK(NH_EVENT_REDIRECT);
	}
	opts.threads = cfg.threads;
	opts.proxy = cfg.proxy;
	opts.dns = cfg.dns ? NH_DNS_PROXY : NH_DNS_NONE;
	opts.cgroup = cfg.cgroup;
	if (cfg.global)
		opts.flags |= NH_CTX_ALLOW_GLOBAL;
	if (cfg.own_fds)
		opts.flags |= NH_CTX_RELAY_OWN_FDS;
	err = nh_ctx_open(&opts, &ctx);
	if (err < 0) {
		fprintf(stderr, "nh-sflt: nh_ctx_open: %s\n", nh_errname(-err));
		return 125;
	}
	for (i = 0; i < cfg.nrules; i++) {
		err = nh_ctx_add_rule(ctx, &cfg.rules[i]);
		if (err < 0) {
			fprintf(stderr, "nh-sflt: nh_ctx_add_rule(%d): %s\n", i,
				nh_errname(-err));
			goto out;
		}
	}
	for (i = 0; i < cfg.nfilters; i++) {
		fill_filter(&filt, i);
		if (cfg.family != 6) {
			err = nh_sflt_register(ctx, &filt, AF_INET, SOCK_STREAM,
					       IPPROTO_TCP);
			if (err < 0)
				goto reg_failed;
			handles[nhandles++] = filt.sf_handle;
		}
		if (cfg.family != 4) {
			filt.sf_handle += cfg.family == 46 ? HANDLE_V6 : 0;
			err = nh_sflt_register(ctx, &filt, AF_INET6,
					       SOCK_STREAM, 0);
			if (err < 0)
				goto reg_failed;
			handles[nhandles++] = filt.sf_handle;
		}
	}
	if (cfg.hold_out_ms || cfg.hold_in_ms) {
		if (pthread_create(&hq_thread, NULL, injector, NULL))
			goto out;
		hq_started = 1;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (pipe(go))
		goto out;
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		close(go[0]);
		execvp(argv[ai], argv + ai);
		fprintf(stderr, "nh-sflt: %s: %s\n", argv[ai], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	if (pid < 0)
		goto out;
	child_pid = pid;
	if (!cfg.no_add) {
		err = nh_ctx_add_pid(ctx, pid);
		if (err < 0) {
			fprintf(stderr, "nh-sflt: nh_ctx_add_pid: %s\n",
				nh_errname(-err));
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out;
		}
	}
	if (write(go[1], "g", 1) != 1)
		goto out;
	close(go[1]);

	for (;;) {
		err = waitpid(pid, &status, WNOHANG);
		if (err == pid)
			break;
		err = nh_ctx_dispatch(ctx, 50);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "nh-sflt: nh_ctx_dispatch: %s\n",
				nh_errname(-err));
			break;
		}
		if (cfg.unregister_after >= 0 && !cfg.unregister_in_cb &&
		    !unregistered_done &&
		    GET(n.attach[0]) >= cfg.unregister_after)
			unregister_all();
	}
	if (err != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	/* let the last sockets detach and held data go */
	deadline = now_ms() + cfg.drain_ms;
	while (now_ms() < deadline) {
		pthread_mutex_lock(&hq_lock);
		i = hq_pending;
		pthread_mutex_unlock(&hq_lock);
		err = nh_ctx_dispatch(ctx, 20);
		if (!i && GET(n.active) == 0 && err <= 0)
			break;
	}
	if (GET(n.active))
		fprintf(stderr,
			"nh-sflt: %ld sockets still attached after %ld ms\n",
			GET(n.active), cfg.drain_ms);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	goto out;

reg_failed:
	fprintf(stderr, "nh-sflt: nh_sflt_register(%d): %s\n", i,
		nh_errname(-err));
out:
	unreg_before = GET(n.unregistered);
	if (hq_started) {
		pthread_mutex_lock(&hq_lock);
		hq_stop = 1;
		pthread_cond_signal(&hq_cond);
		pthread_mutex_unlock(&hq_lock);
		pthread_join(hq_thread, NULL);
	}
	nh_ctx_close(ctx);
	child_pid = 0;
	{
		long at = 0, de = 0;

		for (i = 0; i < cfg.nfilters; i++) {
			at += n.attach[i];
			de += n.detach[i];
		}
		printf("attach=%ld\ndetach=%ld\n", at, de);
	}
	printf("connect_out=%ld\ndata_out=%ld\ndata_in=%ld\n", n.connect_out,
	       n.data_out, n.data_in);
	printf("unregistered=%ld\nunregistered_total=%ld\n", unreg_before,
	       n.unregistered);
	printf("bytes_out=%ld\nbytes_in=%ld\nstats_errors=%ld\n", n.bytes_out,
	       n.bytes_in, n.stats_errors);
	printf("peak_active=%ld\norder_errors=%ld\nthread_switches=%ld\n",
	       n.peak_active, n.order_errors, n.thread_switches);
	printf("main_thread_cbs=%ld\nworkers=%d\n", n.main_thread_cbs,
	       nworkers);
	printf("held=%ld\ninjected=%ld\ninject_errors=%ld\nhold_min_ms=%ld\n",
	       n.held, n.injected, n.inject_errors, n.hold_min_ms);
	printf("replaced_out=%ld\nreplaced_in=%ld\ndeclined=%ld\n",
	       n.replaced_out, n.replaced_in, n.declined);
	printf("notify_connected=%ld\nnotify_shut_out=%ld\nnotify_shut_in=%ld\nnotify_closing=%ld\n",
	       n.notify[NH_SOCK_EVT_CONNECTED],
	       n.notify[NH_SOCK_EVT_SHUTDOWN_OUT],
	       n.notify[NH_SOCK_EVT_SHUTDOWN_IN],
	       n.notify[NH_SOCK_EVT_CLOSING]);
	for (i = 0; i < cfg.nfilters; i++)
		printf("to.%d=%s\nname.%d=%s\n", i,
		       to_seen[i][0] ? to_seen[i] : "-", i,
		       name_seen[i][0] ? name_seen[i] : "-");
	if (cfg.nfilters > 1)
		for (i = 0; i < cfg.nfilters; i++)
			printf("attach.%d=%ld\ndetach.%d=%ld\n", i, n.attach[i],
			       i, n.detach[i]);
	printf("status=%d\n", rc);
	return rc;
}
