// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The context's IP-filter state: made by the first filter or option,
 * its options, the engine's start (queues, lock file, scope, workers), its
 * counters, its teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include "nh_ip.h"
#include "nh_pcapf.h"

/* contexts made by this process: names, marks, queue numbers */
static atomic_uint ipf_seq;

/* ---- state ---- */

static const struct nh_ipf_hooks hooks = {
	.close = nh_ipf_close,
};

int nh_ipf_state_get(struct nh_ctx *ctx, struct nh_ipf_state **out)
{
	struct nh_ipf_state **slot = nh_ctx_ipf_slot(ctx, &hooks);
	struct nh_ipf_state *st;
	const char *ns = nh_ctx_netns(ctx);
	unsigned int seq;
	int err;

	if (*slot) {
		*out = *slot;
		return 0;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->ctx = ctx;
	st->lg = nh_ctx_logger(ctx);
	st->nsfd = st->tunfd = st->lockfd = -1;
	st->rawfd[0] = st->rawfd[1] = -1;
	pthread_mutex_init(&st->lock, NULL);
	seq = atomic_fetch_add(&ipf_seq, 1);
	st->seq = seq;
	snprintf(st->id, sizeof(st->id), "%d-%u", (int)getpid(), seq);
	st->skip_mark = 0x4e480000u |
			((unsigned int)getpid() * 16u + seq) % 0xffffu;
	st->cm_mask = 0x7f000000u;
	st->cm_val = (((unsigned int)getpid() + seq * 13u) % 127u + 1u) << 24;
	*slot = st;
	*out = st;
	if (ns) {
		snprintf(st->netns, sizeof(st->netns), "%s", ns);
		st->nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		if (st->nsfd < 0) {
			err = -errno;
			nh_logf(st->lg, LOG_ERR,
				"cannot open network namespace %s: %s", ns,
				strerror(errno));
			return err;
		}
		/* a file, a directory, /dev/null: said now, not by a
		 * setns() that fails later with a bare EINVAL */
		if (ioctl(st->nsfd, NS_GET_NSTYPE) != CLONE_NEWNET) {
			nh_logf(st->lg, LOG_ERR,
				"%s is not a network namespace (such as "
				"/run/netns/NAME or /proc/PID/ns/net)",
				ns);
			return -EINVAL;
		}
	}
	return 0;
}

/* The lock file naming the namespace: what `nethook cleanup` reads. */
static int write_lock(struct nh_ipf_state *st)
{
	char txt[PATH_MAX + 64];
	int n;

	if (mkdir(NH_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	snprintf(st->lock_path, sizeof(st->lock_path), NH_RUN_DIR "/ipf-%s",
		 st->id);
	st->lockfd = open(st->lock_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
	if (st->lockfd < 0 || flock(st->lockfd, LOCK_EX | LOCK_NB))
		return -errno;
	{
		struct stat sb;
		char self[64];

		snprintf(self, sizeof(self), "/proc/%d/ns/net", (int)getpid());
		if (st->nsfd >= 0 ? fstat(st->nsfd, &sb) : stat(self, &sb))
			memset(&sb, 0, sizeof(sb));
		n = snprintf(txt, sizeof(txt), "%s\n%llu:%llu\n", st->netns,
			     (unsigned long long)sb.st_dev,
			     (unsigned long long)sb.st_ino);
	}
	if (write(st->lockfd, txt, (size_t)n) != n)
		return -EIO;
	return 0;
}

/* First filter: the queue sockets, their queues, the lock, the scope,
 * the workers. */
int nh_ipf_engine_start(struct nh_ipf_state *st)
{
	unsigned int threads = nh_ctx_threads(st->ctx);
	int err, k;

	if (st->engine)
		return 0;
	st->threaded = threads > 1;
	st->nq = threads > 1 ?
			 (int)(threads > IPF_MAX_NQ ? IPF_MAX_NQ : threads) :
			 1;
	if ((nh_ctx_cgroup_given(st->ctx) ||
	     (st->flags & NH_IPF_SCOPE_CGROUP)) &&
	    !(st->flags & NH_IPF_SCOPE_NETNS)) {
		char mnt[PATH_MAX];
		const char *cg = nh_ctx_cgroup(st->ctx);
		size_t ml;

		err = nh_cgroup_mount(st->lg, mnt, sizeof(mnt));
		if (err)
			return err;
		ml = strlen(mnt);
		if (!cg || strncmp(cg, mnt, ml))
			return -EINVAL;
		snprintf(st->cgrel, sizeof(st->cgrel), "%s",
			 cg[ml] ? cg + ml : "/");
		if (strchr(st->cgrel, '"'))
			return -EINVAL;
		st->scope_cgroup = true;
	}
	st->w = calloc((size_t)st->nq, sizeof(*st->w));
	if (!st->w)
		return -ENOMEM;
	for (k = 0; k < st->nq; k++) {
		st->w[k].st = st;
		st->w[k].idx = k;
		st->w[k].fd = st->w[k].epfd = st->w[k].stopfd = -1;
	}
	st->engine = true;
	for (k = 0; k < st->nq; k++) {
		err = nh_ipf_worker_open(st, &st->w[k]);
		if (err)
			return err;
	}
	err = nh_ipf_nfq_bind_block(st);
	if (err) {
		nh_logf(st->lg, LOG_ERR, "cannot bind netfilter queues: %s",
			strerror(-err));
		return err;
	}
	err = write_lock(st);
	if (err) {
		nh_logf(st->lg, LOG_ERR, "cannot write %s: %s", st->lock_path,
			strerror(-err));
		return err;
	}
	for (k = 0; k < st->nq; k++)
		fcntl(st->w[k].fd, F_SETFL,
		      fcntl(st->w[k].fd, F_GETFL) | O_NONBLOCK);
	if (st->threaded) {
		for (k = 0; k < st->nq; k++) {
			err = nh_ipf_worker_start(&st->w[k]);
			if (err) {
				nh_logf(st->lg, LOG_ERR,
					"IP filter: cannot start a worker: %s",
					strerror(-err));
				return err;
			}
		}
	} else {
		st->ev.fn = nh_ipf_on_queue;
		err = nh_ev_add(nh_ctx_epfd(st->ctx), st->w[0].fd, EPOLLIN,
				&st->ev);
		if (err)
			return err;
	}
	nh_logf(st->lg, LOG_DEBUG,
		"IP filter: queues %d-%d, %d per filter and direction, %s, %s, scope %s%s",
		st->qbase, st->qbase + IPF_MAX_FILTERS * 2 * st->nq - 1, st->nq,
		st->threaded ? "one worker thread each" : "dispatched inline",
		st->flags & NH_IPF_FAIL_CLOSED ? "fail-closed" : "fail-open",
		st->scope_cgroup ? "cgroup " : "netns ",
		st->scope_cgroup ? st->cgrel :
		st->netns[0]	 ? st->netns :
				   "(own)");
	return 0;
}

NH_API int nh_ipf_ctx_setopts(struct nh_ctx *ctx,
			      const struct nh_ipf_opts *opts)
{
	const unsigned int known = NH_IPF_SCOPE_CGROUP | NH_IPF_FAIL_CLOSED |
				   NH_IPF_SCOPE_NETNS;
	struct nh_ipf_state *st;
	int err;

	if (!ctx || !opts || opts->sz < sizeof(*opts) ||
	    (opts->flags & ~known) ||
	    (opts->copy_range && opts->copy_range < 60))
		return nh_err(-EINVAL);
	err = nh_ipf_state_get(ctx, &st);
	if (err)
		return nh_err(err);
	if (st->engine) {
		nh_logf(st->lg, LOG_ERR,
			"IP filter options must be set before the first filter");
		return nh_err(-EBUSY);
	}
	st->flags = opts->flags;
	st->copy_range = opts->copy_range > IPF_COPY ? 0 : opts->copy_range;
	return 0;
}

static void stats_add(struct nh_ipf_stats *a, const struct nh_ipf_stats *b)
{
	a->packets += b->packets;
	a->accepted += b->accepted;
	a->modified += b->modified;
	a->dropped += b->dropped;
	a->held += b->held;
	a->injected += b->injected;
	a->batches += b->batches;
	a->verdict_msgs += b->verdict_msgs;
	a->truncated += b->truncated;
}

NH_API int nh_ipf_get_stats(struct nh_ctx *ctx, struct nh_ipf_stats *out)
{
	struct nh_ipf_stats sum;
	struct nh_ipf_state *st;

	if (!ctx || !out || out->sz < sizeof(*out))
		return nh_err(-EINVAL);
	st = *nh_ctx_ipf_slot(ctx, NULL);
	memset(&sum, 0, sizeof(sum));
	if (st) {
		int k;

		pthread_mutex_lock(&st->lock);
		sum = st->xstats;
		pthread_mutex_unlock(&st->lock);
		/* the workers' own: read while they may run (counters only) */
		for (k = 0; st->w && k < st->nq; k++)
			stats_add(&sum, &st->w[k].stats);
	}
	/* a caller built against a later, larger struct keeps its tail */
	sum.sz = out->sz;
	memcpy(out, &sum, sizeof(sum));
	return 0;
}

/* ---- teardown ---- */

void nh_ipf_close(struct nh_ipf_state *st)
{
	struct nh_ipfilter *f, *next;
	char prefix[64];
	size_t i;
	int fi, k;

	if (!st)
		return;
	/* the workers first: from here on this thread alone runs */
	for (k = 0; st->w && k < st->nq; k++)
		nh_ipf_worker_stop(&st->w[k]);
	snprintf(prefix, sizeof(prefix), "NH%s-", st->id);
	for (fi = 0; fi < 2; fi++)
		if (st->installed[fi] &&
		    nh_ipf_rules_remove(st->lg, st->nsfd,
					fi ? AF_INET6 : AF_INET, prefix, NULL,
					NULL) < 0)
			nh_logf(st->lg, LOG_WARNING,
				"IP filter: could not remove chains %s* (nethook cleanup will)",
				prefix);
	/* packets the callbacks still hold go on unchanged; their structs
	 * stay the callers' to free */
	for (k = 0; st->w && k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];
		int j;

		if (!w->nl)
			continue;
		worker_enter(w);
		for (i = 0; i < st->held.cap; i++) {
			struct nh_pkt *p = st->held.v[i];

			if (!p || p == HELD_TOMB ||
			    queue_worker(st, p->q.qnum) != w)
				continue;
			nh_ipf_verdict_give(st, p, true, NULL);
			p->q.queue = NULL;
			p->q.state = NH_PKT_DONE;
		}
		for (j = 0; j < IPF_MAX_FILTERS * 2; j++) {
			int qi = j * st->nq + w->idx;

			nh_ipf_verdict_flush_plain(w, &st->q[qi],
						   (uint16_t)(st->qbase + qi));
		}
		nh_ipf_verdict_flush(w);
		worker_leave(w);
	}
	for (f = st->filters; f; f = next) {
		next = f->next;
		if (!f->removed && f->f.ipf_detach)
			f->f.ipf_detach(f->f.cookie);
		nh_pcapf_prog_free(f->pf);
		free(f->name);
		free(f->match);
		free(f);
	}
	for (k = 0; st->w && k < st->nq; k++) {
		struct ipf_worker *w = &st->w[k];

		if (w->nl)
			mnl_socket_close(w->nl);
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->stopfd >= 0)
			close(w->stopfd);
		free(w->rbuf);
		free(w->sbuf);
	}
	free(st->w);
	for (fi = 0; fi < 2; fi++)
		if (st->rawfd[fi] >= 0)
			close(st->rawfd[fi]);
	if (st->tunfd >= 0)
		close(st->tunfd);
	if (st->nsfd >= 0)
		close(st->nsfd);
	if (st->lockfd >= 0) {
		unlink(st->lock_path);
		close(st->lockfd);
	}
	free(st->held.v);
	pthread_mutex_destroy(&st->lock);
	free(st);
}
