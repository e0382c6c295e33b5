/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The context's insides, shared by the files that each do one of its
 * jobs: lifecycle (nh_ctx.c), its epoll set (nh_ctx_loop.c), kernel
 * records (nh_ctx_events.c), and on the socket-filter side the chain, the
 * relay, reports, socket filters and the handoff (src/lib/sock).
 */
#ifndef NH_CTX_INT_H
#define NH_CTX_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_bpf.h"
#include "nh_chain.h"
#include "nh_exe.h"
#include "nh_ev.h"
#include "nh_ipf_int.h" /* struct nh_ipf_hooks */
#include "nh_log.h"
#include "nh_reports.h"
#include "nh_run.h"
#include "nh_sflt.h"

struct nh_relay;
struct nh_handoff;
struct nh_resolver;
struct nh_names;
struct nh_seen;
struct nh_ctx;

/* The most descriptors in the context's epoll set: its stop, the ring
 * buffer, the tick, the reports, an inline relay, the IP filter's
 * queue. */
#define NH_CTX_NWATCH 6

struct nh_ctx {
	struct nh_logger lg;
	char cgroup[PATH_MAX];
	bool own_cgroup;
	int cgroup_fd;
	int epfd;
	/* the handlers of its descriptors (nh_ev.h); each returns the
	 * callbacks it ran, or -errno to end nh_ctx_dispatch().  The IP
	 * filter's queue brings its own. */
	struct nh_ev ev_stop, ev_ring, ev_tick, ev_reports, ev_relay;
	int stop_fd;
	int tick_fd; /* reads what the kernel queued without a wake-up */
	atomic_bool stop;
	struct nh_run run;
	struct nh_bpf *bpf;
	struct nh_exe_table *exe;
	pthread_mutex_t exe_lock; /* the exe table: relay threads read it */
	void (*event)(const struct nh_event *ev, void *user);
	void *event_user;
	unsigned int event_mask;
	int64_t mono_to_real;
	int ncb;
	/* the relay, started by the first NH_RULE_DIVERT */
	struct nh_proxy_chain chain;
	unsigned int connect_timeout_ms, idle_timeout_ms, max_flows;
	struct nh_relay *relay;
	struct nh_pipe *pipe; /* what each proxy takes: with the relay */
	struct nh_handoff *handoff; /* connect() caught with seccomp */
	/* names (opts.dns): the pool, made at open, and the resolver,
	 * started by the first NH_RULE_DNS */
	unsigned int dns_mode, dns_ttl_s;
	struct nh_names *names;
	struct nh_resolver *resolver;
	struct nh_seen *seen; /* NH_DNS_WATCH: names from answers seen */
	struct nh_reports reps; /* theirs, from their threads */
	/* socket filters */
	unsigned int flags, threads;
	struct nh_sflt_set sflt;
	bool sflt_ready;
	bool user_divert; /* the caller added NH_RULE_DIVERT rules */
	int auto_rule[2]; /* per domain: the divert-all rule filters made */
	unsigned int auto_users[2];
	bool global_attached;
	/* IP filter hook (nh_ipf.c): its state, made by the first filter */
	struct nh_ipf_state *ipf;
	const struct nh_ipf_hooks *ipf_hooks; /* how to run and close it */
	char *netns;
	bool cgroup_given;
	int lsm; /* BPF LSM runs our programs: -1 not asked yet, 0, 1 */
	bool ping_guarded;
	/* NH_CTX_USER: the rules, kept here for the handoff's thread */
	struct nh_bpf_rule *urules;
	int nurules;
	char route[NH_CHAIN_MAX_HOPS * 80]; /* the log's, with no relay */
};

static inline bool nh_ctx_user(const struct nh_ctx *ctx)
{
	return ctx->flags & NH_CTX_USER;
}

/* nh_ctx_loop.c: fd joins the epoll set; fn runs (with ev, one of the
 * context's own) when it is readable */
int nh_ctx_watch(struct nh_ctx *ctx, int fd, struct nh_ev *ev, nh_ev_fn fn);

/* nh_ctx_events.c */
int64_t nh_ctx_mono_to_real(void);
/* the ring buffer's callback: one record of the kernel's */
int nh_ctx_on_record(void *user, void *data, size_t len);
/* The executable of pid, copied under the lock (relay threads read the
 * table too); 1 when only comm could be had. */
int nh_ctx_exe_copy(struct nh_ctx *ctx, uint32_t pid, const char *comm,
		    char *buf, size_t len);

/* sock/nh_divert.c: the relay, started once (divert rules, filters,
 * handoff) */
int nh_ctx_relay_ensure(struct nh_ctx *ctx);
/* sock/nh_divert.c: the pool of names (opts.dns), and the resolver */
int nh_ctx_names_open(struct nh_ctx *ctx, unsigned int max_names);
void nh_ctx_names_close(struct nh_ctx *ctx);
/* after nh_ctx_relay_ensure(): the relay says where the resolver is */
int nh_ctx_resolver_ensure(struct nh_ctx *ctx);
/* once the kernel's programs are loaded: DNS answers watched */
int nh_ctx_names_watch(struct nh_ctx *ctx);
/* a DNS answer the scope received (NH_EV_DNS_SEEN) */
void nh_ctx_on_dns_seen(struct nh_ctx *ctx, const void *data, size_t len);
/* The name the program looked up for sa, into buf, or NULL: a pool
 * address's from the resolver's table (*pool set), any other's from the
 * answers seen (NH_DNS_WATCH).  pool may be NULL. */
const char *nh_ctx_name_of(struct nh_ctx *ctx, const struct sockaddr *sa,
			   char *buf, size_t len, bool *pool);

/* sock/nh_report_log.c: the relay's and the handoff's report callback
 * (from their threads), and the handler that says them */
void nh_ctx_on_report(void *user, const struct nh_relay_report *rep);
int nh_ctx_reports_dispatch(struct nh_ctx *ctx);

#endif
