// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Load the socket-layer BPF programs and attach them to one cgroup. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdbool.h>
#include "nh_base.h"
#include "nh_bpf.h"
#include "nh_features.h"
#include "nh_log.h"
#include "nh_pin.h"
#include "sock.skel.h"

struct nh_bpf {
	struct sock_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[32];
	const char *link_prog[32]; /* names its pin */
	bool scope_link[32]; /* on the scope's cgroup: pinned */
	int nr_links;
	char pin_dir[PATH_MAX]; /* "" until nh_bpf_pin() */
	bool tracing_refused;
	bool lsm_refused; /* the last load failed on an lsm_cgroup program */
	int lsm_err; /* why they are not loaded (-errno) */
	bool create_on; /* nh_sock_create attached */
	bool create_global; /* ... at the cgroup v2 root too */
	bool lsm_create_on; /* nh_lsm_socket_create attached */
	bool ping_on; /* nh_ping_egress attached */
	bool dns_on; /* nh_recvmsg4/6 attached: there is a resolver */
	bool watch_on; /* nh_dns_ingress attached: DNS answers watched */
	const struct nh_logger *lg;
};

/* libbpf prints through a global hook: route it to the current loader's
 * log at debug level, so a verifier dump never reaches a user unasked. */
static __thread const struct nh_logger *libbpf_lg;
static __thread char failed_prog[64];

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	char *msg, *line, *save = NULL;

	if (!libbpf_lg || level == LIBBPF_DEBUG)
		return 0;
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	/* "prog 'NAME': failed to load": name it in the error */
	line = strstr(msg, "prog '");
	if (line && strstr(msg, "failed to load")) {
		size_t n = strcspn(line + 6, "'");

		if (n < sizeof(failed_prog)) {
			memcpy(failed_prog, line + 6, n);
			failed_prog[n] = '\0';
		}
	}
	for (line = strtok_r(msg, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		nh_logf(libbpf_lg, LOG_DEBUG, "%s", line);
	free(msg);
	return 0;
}

void nh_bpf_close(struct nh_bpf *b)
{
	int i;

	if (!b)
		return;
	ring_buffer__free(b->rb);
	/* the caller ended the scope first: with no process left in it,
	 * nothing runs unhooked once the links go */
	for (i = 0; i < b->nr_links; i++) {
		if (bpf_link__pin_path(b->links[i]))
			bpf_link__unpin(b->links[i]);
		bpf_link__destroy(b->links[i]);
	}
	if (b->pin_dir[0])
		nh_pin_dir_remove(b->pin_dir);
	sock_bpf__destroy(b->skel);
	free(b);
}

static int pin_one(struct nh_bpf *b, int i)
{
	char p[PATH_MAX];
	int err;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", b->pin_dir,
			     b->link_prog[i]) >=
	    sizeof(p))
		return -ENAMETOOLONG;
	err = bpf_link__pin(b->links[i], p);
	if (err)
		nh_logf(b->lg, LOG_ERR, "cannot pin link %s: %s", p,
			strerror(-err));
	return err;
}

/* The scope's links outlive this process: killed, it leaves the hooks in
 * place (a diverted connect then fails) rather than a command running
 * unhooked.  Links attached later are pinned too. */
int nh_bpf_pin(struct nh_bpf *b, const char *dir)
{
	int i, err;

	if ((size_t)snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", dir) >=
	    sizeof(b->pin_dir)) {
		b->pin_dir[0] = '\0';
		return nh_err(-ENAMETOOLONG);
	}
	for (i = 0; i < b->nr_links; i++) {
		if (!b->scope_link[i])
			continue;
		err = pin_one(b, i);
		if (err)
			return nh_err(err);
	}
	return 0;
}

static int attach(struct nh_bpf *b, struct bpf_program *p, int cgroup_fd,
		  bool scope)
{
	struct bpf_link *l;
	int err;

	if (b->nr_links >= (int)(sizeof(b->links) / sizeof(b->links[0])))
		return -ENOSPC;
	if (bpf_program__type(p) == BPF_PROG_TYPE_TRACING)
		l = bpf_program__attach(p);
	else
		l = bpf_program__attach_cgroup(p, cgroup_fd);
	err = libbpf_get_error(l);
	if (err) {
		nh_logf(b->lg, LOG_ERR, "cannot attach BPF program %s: %s",
			bpf_program__name(p), strerror(-err));
		return err;
	}
	b->link_prog[b->nr_links] = bpf_program__name(p);
	b->scope_link[b->nr_links] =
		scope && bpf_program__type(p) != BPF_PROG_TYPE_TRACING;
	b->links[b->nr_links++] = l;
	if (b->scope_link[b->nr_links - 1] && b->pin_dir[0])
		return pin_one(b, b->nr_links - 1);
	return 0;
}

/* A program per socket made runs only for those who asked to see each
 * one, or who need its maker's identity before it connects, or a policy
 * on what may be made; the LSM ones only for a policy, on the scope. */
static bool attach_now(const struct nh_bpf *b, const struct bpf_program *p)
{
	return bpf_program__autoload(p) &&
	       bpf_program__type(p) != BPF_PROG_TYPE_LSM &&
	       (p != b->skel->progs.nh_sock_create || b->create_on) &&
	       (p != b->skel->progs.nh_ping_egress || b->ping_on) &&
	       (p != b->skel->progs.nh_dns_ingress || b->watch_on) &&
	       ((p != b->skel->progs.nh_recvmsg4 &&
		 p != b->skel->progs.nh_recvmsg6) ||
		b->dns_on);
}

static bool is_lsm(const struct bpf_program *p)
{
	return p && bpf_program__type(p) == BPF_PROG_TYPE_LSM;
}

int nh_bpf_attach_cgroup(struct nh_bpf *b, int cgroup_fd)
{
	struct bpf_program *p;
	int err;

	bpf_object__for_each_program(p, b->skel->obj) {
		if (!attach_now(b, p) ||
		    bpf_program__type(p) == BPF_PROG_TYPE_TRACING)
			continue;
		/* a policy on sockets is the scope's, never the host's */
		if (p == b->skel->progs.nh_sock_create) {
			if (!b->skel->bss->create_record ||
			    b->skel->bss->sock_policy)
				continue;
			b->create_global = true;
		}
		err = attach(b, p, cgroup_fd, false);
		if (err)
			return nh_err(err);
	}
	return 0;
}

static int load(struct nh_bpf *b, unsigned int ev_mask, bool exec_tracking,
		bool lsm)
{
	struct bpf_program *p;
	int err;

	sock_bpf__destroy(b->skel);
	b->skel = sock_bpf__open();
	if (!b->skel) {
		err = -errno;
		nh_logf(b->lg, LOG_ERR, "cannot open the BPF object: %s",
			strerror(errno));
		return err;
	}
	b->skel->rodata->ev_mask = ev_mask;
	/* identity is taken at connect(), or when the socket is made if
	 * nh_sock_create is attached */
	b->create_on = ev_mask & NH_EVMASK(NH_EV_CREATE);
	b->skel->bss->create_record = b->create_on;
	/* the policy on sockets other than AF_INET/6 needs them; without,
	 * it falls back to what user space can do (see nh_ctx.c) */
	if (!lsm)
		bpf_program__set_autoload(b->skel->progs.nh_lsm_socket_create,
					  false);
	if (!exec_tracking) {
		bpf_program__set_autoload(b->skel->progs.nh_exec, false);
		bpf_program__set_autoload(b->skel->progs.nh_fork, false);
	}
	failed_prog[0] = '\0';
	err = sock_bpf__load(b->skel);
	if (!err)
		return 0;
	p = failed_prog[0] ? bpf_object__find_program_by_name(b->skel->obj,
							      failed_prog) :
			     NULL;
	b->tracing_refused = p && bpf_program__type(p) == BPF_PROG_TYPE_TRACING;
	b->lsm_refused = is_lsm(p);
	if (b->lsm_refused)
		b->lsm_err = err;
	nh_logf(b->lg,
		b->tracing_refused || b->lsm_refused ? LOG_DEBUG : LOG_ERR,
		"the kernel refused BPF program %s: %s (run `nethook check`)",
		p ? bpf_program__name(p) : "?", strerror(-err));
	return err;
}

int nh_bpf_open(const struct nh_logger *lg, int cgroup_fd, unsigned int ev_mask,
		int (*cb)(void *user, void *data, size_t len), void *user,
		struct nh_bpf **out)
{
	struct bpf_program *p;
	struct nh_bpf *b;
	__u32 zero = 0;
	bool lsm;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return nh_err(-ENOMEM);
	b->lg = lg;
	libbpf_lg = lg;
	libbpf_set_print(libbpf_print);
	/* a skeleton loaded twice costs more than this probe */
	b->lsm_err = nh_features_lsm_cgroup();
	lsm = !b->lsm_err;
	err = load(b, ev_mask, cb != NULL, lsm);
	if (err && b->lsm_refused) {
		nh_logf(lg, LOG_DEBUG,
			"lsm_cgroup programs refused: no BPF LSM policy on sockets");
		lsm = false;
		err = load(b, ev_mask, cb != NULL, false);
	}
	/* without BTF tracing, executables come from /proc/PID/exe only */
	if (err && b->tracing_refused) {
		nh_logf(lg, LOG_WARNING,
			"exec tracking unavailable (tp_btf/sched_process_exec refused): executable paths of short-lived processes may be names only");
		err = load(b, ev_mask, false, lsm);
	}
	if (err)
		goto cleanup;
	err = bpf_map_update_elem(bpf_map__fd(b->skel->maps.scope), &zero,
				  &cgroup_fd, BPF_ANY);
	if (err) {
		err = -errno;
		nh_logf(lg, LOG_ERR, "cannot set the scope cgroup: %s",
			strerror(errno));
		goto cleanup;
	}
	bpf_object__for_each_program(p, b->skel->obj) {
		if (!attach_now(b, p))
			continue;
		err = attach(b, p, cgroup_fd, true);
		if (err)
			goto cleanup;
	}
	if (cb) {
		b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events),
					 (ring_buffer_sample_fn)cb, user, NULL);
		if (!b->rb) {
			err = -errno;
			nh_logf(lg, LOG_ERR,
				"cannot open the event ring buffer: %s",
				strerror(errno));
			goto cleanup;
		}
	}
	*out = b;
	return 0;
cleanup:
	nh_bpf_close(b);
	return nh_err(err);
}

int nh_bpf_add_rule(struct nh_bpf *b, const struct nh_bpf_rule *r)
{
	__u32 i = b->skel->bss->nr_rules;

	if (i >= NH_MAX_RULES)
		return nh_err(-ENOSPC);
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.rules), &i, r,
				BPF_ANY))
		return nh_err(-errno);
	/* the rule is in place before the count lets the kernel read it */
	__atomic_store_n(&b->skel->bss->nr_rules, i + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Index of the rule just added, for nh_bpf_rule_disable(). */
int nh_bpf_nr_rules(const struct nh_bpf *b)
{
	return (int)b->skel->bss->nr_rules;
}

/* A rule stops matching at once: one byte, written in place. */
int nh_bpf_rule_disable(struct nh_bpf *b, int idx)
{
	struct nh_bpf_rule r;
	__u32 i = (__u32)idx;
	int fd = bpf_map__fd(b->skel->maps.rules);

	if (bpf_map_lookup_elem(fd, &i, &r))
		return nh_err(-errno);
	r.protos = 0; /* matches no protocol */
	if (bpf_map_update_elem(fd, &i, &r, BPF_EXIST))
		return nh_err(-errno);
	return 0;
}

int nh_bpf_fd(const struct nh_bpf *b)
{
	return b->rb ? ring_buffer__epoll_fd(b->rb) : -1;
}

int nh_bpf_poll(struct nh_bpf *b, int timeout_ms)
{
	if (!b->rb)
		return 0;
	/* consume, not poll: records may sit there without a wake-up */
	if (timeout_ms)
		ring_buffer__poll(b->rb, timeout_ms);
	return ring_buffer__consume(b->rb);
}

uint64_t nh_bpf_lost(const struct nh_bpf *b)
{
	return __atomic_load_n(&b->skel->bss->lost_events, __ATOMIC_RELAXED);
}

int nh_bpf_flows_fd(const struct nh_bpf *b)
{
	return bpf_map__fd(b->skel->maps.flows);
}

void nh_bpf_set_relay(struct nh_bpf *b, const struct nh_bpf_addr *a4,
		      const struct nh_bpf_addr *a6, uint32_t tgid,
		      uint64_t netns)
{
	b->skel->bss->relay4 = *a4;
	b->skel->bss->relay6 = *a6;
	b->skel->bss->relay_netns = netns;
	__atomic_store_n(&b->skel->bss->relay_tgid, tgid, __ATOMIC_RELEASE);
}

/* The kernel diverts to the relay only while a listener it finds on the
 * relay's address carries this mark: it dies with the socket. */
int nh_bpf_mark_relay(struct nh_bpf *b, int listen_fd)
{
	__u32 mark = NH_RELAY_MARK;

	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.relay_mark),
				&listen_fd, &mark, BPF_ANY))
		return nh_err(-errno);
	return 0;
}

static int attach_once(struct nh_bpf *b, struct bpf_program *p, bool *on,
		       int cgroup_fd)
{
	int err;

	if (*on)
		return 0;
	err = attach(b, p, cgroup_fd, true);
	if (err)
		return nh_err(err);
	*on = true;
	return 0;
}

int nh_bpf_attach_create(struct nh_bpf *b, int cgroup_fd)
{
	int err;

	err = attach_once(b, b->skel->progs.nh_sock_create, &b->create_on,
			  cgroup_fd);
	if (!err)
		__atomic_store_n(&b->skel->bss->create_record, 1,
				 __ATOMIC_RELEASE);
	return err;
}

/* 0 if the lsm_cgroup programs are loaded, else why not (-errno) */
int nh_bpf_lsm_loaded(const struct nh_bpf *b)
{
	if (bpf_program__autoload(b->skel->progs.nh_lsm_socket_create))
		return 0;
	return b->lsm_err ? b->lsm_err : -EOPNOTSUPP;
}

/* The policy on every family but inet, in the BPF LSM. */
int nh_bpf_attach_lsm(struct nh_bpf *b, int cgroup_fd)
{
	if (nh_bpf_lsm_loaded(b))
		return nh_err(nh_bpf_lsm_loaded(b));
	return attach_once(b, b->skel->progs.nh_lsm_socket_create,
			   &b->lsm_create_on, cgroup_fd);
}

/* Ping datagrams checked per destination, as they leave. */
int nh_bpf_attach_ping(struct nh_bpf *b, int cgroup_fd)
{
	return attach_once(b, b->skel->progs.nh_ping_egress, &b->ping_on,
			   cgroup_fd);
}

/* Refuse new sockets (NH_SOCKPOL_* bits, added to those set before). */
int nh_bpf_refuse_sockets(struct nh_bpf *b, int cgroup_fd, unsigned int pol)
{
	int err;

	if (b->create_global)
		return nh_err(-EBUSY);
	err = attach_once(b, b->skel->progs.nh_sock_create, &b->create_on,
			  cgroup_fd);
	if (err)
		return err;
	__atomic_fetch_or(&b->skel->bss->sock_policy, pol, __ATOMIC_RELEASE);
	return 0;
}

/* DNS to the resolver at a4/a6, and its answers seem to come from where
 * the program sent: recvmsg4/6 run on every datagram the scope reads
 * with an address, so only once there is a resolver. */
int nh_bpf_attach_dns(struct nh_bpf *b, int cgroup_fd,
		      const struct nh_bpf_addr *a4, const struct nh_bpf_addr *a6)
{
	bool on6 = b->dns_on;
	int err;

	b->skel->bss->dns4 = *a4;
	b->skel->bss->dns6 = *a6;
	err = attach_once(b, b->skel->progs.nh_recvmsg4, &b->dns_on,
			  cgroup_fd);
	if (!err)
		err = attach_once(b, b->skel->progs.nh_recvmsg6, &on6,
				  cgroup_fd);
	return err;
}

/* DNS answers the scope receives, copied to the ring buffer: a program on
 * every datagram the scope receives, so only when names are watched. */
int nh_bpf_attach_dns_watch(struct nh_bpf *b, int cgroup_fd)
{
	return attach_once(b, b->skel->progs.nh_dns_ingress, &b->watch_on,
			   cgroup_fd);
}

void nh_bpf_set_handoff(struct nh_bpf *b, const struct nh_bpf_addr *to)
{
	b->skel->bss->handoff_to = *to;
	__atomic_store_n(&b->skel->bss->handoff_on, 1, __ATOMIC_RELEASE);
}

int nh_bpf_sk_info_fd(const struct nh_bpf *b)
{
	return bpf_map__fd(b->skel->maps.sk_info);
}
