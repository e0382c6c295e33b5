/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef NH_INTERNAL_H
#define NH_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>
#include "nethook/nethook.h"
#include "nh_bpf_abi.h"

#define NH_API __attribute__((visibility("default")))

/* Fields of a caller's struct that it may not have, read as zero. */
#define NH_OPT(opts, field, def)                                        \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + \
					 sizeof((opts)->field) ?        \
		 (opts)->field :                                        \
		 (def))

#define NH_RUN_DIR "/run/nethook"

typedef void (*nh_log_fn)(int level, const char *msg, void *user);

struct nh_logger {
	nh_log_fn fn;
	void *user;
};

void nh_logf(const struct nh_logger *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A message said at most `burst` times a period, the rest counted: what
 * an outsider can make nethook say must not be a flood (nh_log.c).  The
 * caller locks it when threads share one.
 */
struct nh_ratelim {
	uint64_t start_ns; /* of the current period */
	uint64_t period_ns;
	unsigned int burst;
	unsigned int said; /* in this period */
	unsigned int quiet; /* kept quiet in this period */
};

/* true: say this one; false: it was counted */
bool nh_ratelim_take(struct nh_ratelim *rl, uint64_t now_ns);
/* Once the period is over (or with force): the number kept quiet in it,
 * its length in *span_ns, and a new period begins; else 0. */
unsigned int nh_ratelim_flush(struct nh_ratelim *rl, uint64_t now_ns,
			      bool force, uint64_t *span_ns);

/* Return -err and set errno: the library's one way out of a failure. */
static inline int nh_err(int err)
{
	errno = err < 0 ? -err : err;
	return err < 0 ? err : -err;
}

/* cgroup v2 (nh_cgroup.c) */
int nh_cgroup_mount(const struct nh_logger *lg, char *buf, size_t len);
int nh_cgroup_self(const struct nh_logger *lg, char *buf, size_t len);
int nh_cgroup_create(const char *path);
int nh_cgroup_add_pid(const char *path, pid_t pid);
int nh_cgroup_populated(const char *path);
int nh_cgroup_signal(const char *path, int sig);
int nh_cgroup_kill(const char *path);
int nh_cgroup_remove(const char *path, int wait_ms);

/* run locks and the supervisor (nh_lock.c, nh_super.c) */
struct nh_run {
	int lock_fd;
	int super_fd; /* write end: closing it without "q" kills the scope */
	pid_t super_pid;
	char lock_path[128];
	char id[64]; /* PID or PID-SEQ: names its lock, cgroup and pins */
};
int nh_run_begin(const struct nh_logger *lg, const char *cgroup,
		 struct nh_run *run);
void nh_run_end(struct nh_run *run);

/* links pinned in a BPF filesystem, <bpffs>/nethook/<run id> (nh_pin.c) */
int nh_pin_root(const struct nh_logger *lg, char *buf, size_t len);
int nh_pin_run_dir(const struct nh_logger *lg, const char *run_id, char *buf,
		   size_t len);
int nh_pin_dir_remove(const char *dir);
int nh_pin_remove(const struct nh_logger *lg, const char *run_id);
int nh_pin_clean_stale(const struct nh_logger *lg);

/* process identity (nh_exe.c) */
struct nh_exe_table;
struct nh_exe_table *nh_exe_table_new(void);
void nh_exe_table_free(struct nh_exe_table *t);
void nh_exe_exec(struct nh_exe_table *t, uint32_t pid, const char *path);
void nh_exe_fork(struct nh_exe_table *t, uint32_t child, uint32_t parent);
int nh_exe_join(const struct nh_bpf_proc_event *pe, char *buf, size_t len);
/* The executable of pid; *partial when only comm could be had. */
const char *nh_exe_lookup(struct nh_exe_table *t, uint32_t pid,
			  const char *comm, int *partial);

/* kernel features (nh_features.c) */
int nh_features_check(const struct nh_logger *lg, bool verbose);
int nh_features_bpf_lsm(char *why, size_t len);
int nh_features_lsm_cgroup(void);

/* BPF side (nh_bpf.c) */
struct nh_bpf;
int nh_bpf_open(const struct nh_logger *lg, int cgroup_fd, unsigned int ev_mask,
		int (*cb)(void *user, void *data, size_t len), void *user,
		struct nh_bpf **out);
void nh_bpf_close(struct nh_bpf *b);
int nh_bpf_add_rule(struct nh_bpf *b, const struct nh_bpf_rule *r);
int nh_bpf_fd(const struct nh_bpf *b);
int nh_bpf_poll(struct nh_bpf *b, int timeout_ms);
uint64_t nh_bpf_lost(const struct nh_bpf *b);
int nh_bpf_flows_fd(const struct nh_bpf *b);
int nh_bpf_nr_rules(const struct nh_bpf *b);
int nh_bpf_rule_disable(struct nh_bpf *b, int idx);
/* pin the scope's links (and those attached later) in dir; unpinned by
 * nh_bpf_close() */
int nh_bpf_pin(struct nh_bpf *b, const char *dir);
/* attach the cgroup programs to one more cgroup (NH_SFLT_GLOBAL) */
int nh_bpf_attach_cgroup(struct nh_bpf *b, int cgroup_fd);
void nh_bpf_set_relay(struct nh_bpf *b, const struct nh_bpf_addr *a4,
		      const struct nh_bpf_addr *a6, uint32_t tgid,
		      uint64_t netns);
/* a listening socket of the relay: connections may be diverted to it */
int nh_bpf_mark_relay(struct nh_bpf *b, int listen_fd);
/* Who made each socket, from the kernel, before it connects. */
int nh_bpf_attach_create(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_lsm_loaded(const struct nh_bpf *b);
int nh_bpf_attach_lsm(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_attach_ping(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_refuse_sockets(struct nh_bpf *b, int cgroup_fd, unsigned int pol);
/* connect() of a program's socket by the relay goes to the first proxy */
void nh_bpf_set_handoff(struct nh_bpf *b, const struct nh_bpf_addr *to);
int nh_bpf_sk_info_fd(const struct nh_bpf *b);

/* pthread_create with every signal blocked in the new thread (nh_thread.c);
 * -errno */
int nh_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

/* rules (nh_rule.c) */
int nh_rule_compile(const struct nh_rule *rule, struct nh_bpf_rule *out);

/* events (nh_event.c) */
const char *nh_errno_name(int err);
/* detail of a block of a socket refused when made: "socket(AF_PACKET,
 * SOCK_RAW, htons(ETH_P_ALL)) refused: ..." */
void nh_event_sock_detail(const struct nh_event *ev, char *buf, size_t len);
void nh_event_from_bpf(const struct nh_bpf_event *be, int64_t mono_to_real,
		       struct nh_event *ev);

#endif
