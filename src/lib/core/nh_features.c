// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What nethook needs from the kernel, each checked on its own so that a
 * missing one is named, not buried in a verifier dump.  The probes are a
 * first pass: the real load can still fail, and nh_bpf.c names the
 * program that did.  The exec/fork tracepoints (BTF tracing programs) are
 * not probed here: libbpf cannot probe them without a target, and
 * nethook works without them (see nh_bpf.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdbool.h>
#include "nh_base.h"
#include "nh_cgroup.h"
#include "nh_features.h"
#include "nh_log.h"
#include "nh_pin.h"

struct prog_need {
	enum bpf_prog_type type;
	const char *name;
};

static const struct prog_need progs[] = {
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
	  "BPF_PROG_TYPE_CGROUP_SOCK_ADDR (cgroup/connect4/6, sendmsg4/6, getpeername4/6)" },
	{ BPF_PROG_TYPE_CGROUP_SOCK,
	  "BPF_PROG_TYPE_CGROUP_SOCK (cgroup/sock_create)" },
	{ BPF_PROG_TYPE_SOCK_OPS, "BPF_PROG_TYPE_SOCK_OPS (sockops)" },
};

struct map_need {
	enum bpf_map_type type;
	const char *name;
};

static const struct map_need maps[] = {
	{ BPF_MAP_TYPE_SK_STORAGE,
	  "BPF_MAP_TYPE_SK_STORAGE (per-socket record)" },
	{ BPF_MAP_TYPE_RINGBUF, "BPF_MAP_TYPE_RINGBUF (events)" },
	{ BPF_MAP_TYPE_CGROUP_ARRAY,
	  "BPF_MAP_TYPE_CGROUP_ARRAY (scope of tracepoints)" },
};

struct helper_need {
	enum bpf_prog_type type;
	enum bpf_func_id id;
	const char *name;
};

static const struct helper_need helpers[] = {
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_set_retval,
	  "bpf_set_retval in cgroup/connect (block with a chosen errno; Linux 5.18+)" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_storage_get,
	  "bpf_sk_storage_get in cgroup/connect" },
	{ BPF_PROG_TYPE_CGROUP_SOCK, BPF_FUNC_sk_storage_get,
	  "bpf_sk_storage_get in cgroup/sock_create" },
	{ BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sk_storage_get,
	  "bpf_sk_storage_get in sockops" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_loop,
	  "bpf_loop in cgroup/connect (rule table; Linux 5.17+)" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_get_netns_cookie,
	  "bpf_get_netns_cookie in cgroup/connect" },
	{ BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_skc_to_tcp_sock,
	  "bpf_skc_to_tcp_sock in sockops (exact byte counts)" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_ringbuf_reserve,
	  "bpf_ringbuf_reserve in cgroup/connect" },
	{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_lookup_tcp,
	  "bpf_sk_lookup_tcp in cgroup/connect (divert only to a live relay)" },
};

static int report(const struct nh_logger *lg, bool verbose, int ok,
		  const char *what)
{
	if (ok > 0) {
		if (verbose)
			nh_logf(lg, LOG_INFO, "ok: %s", what);
		return 0;
	}
	nh_logf(lg, LOG_ERR, "missing kernel feature: %s%s", what,
		ok < 0 ? " (probe failed)" : "");
	return -ENOTSUP;
}

int nh_features_check(const struct nh_logger *lg, bool verbose)
{
	char mnt[PATH_MAX];
	int ret = 0;
	size_t i;

	if (geteuid() != 0) {
		nh_logf(lg, LOG_ERR,
			"nethook needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
		return nh_err(-EPERM);
	}
	if (nh_cgroup_mount(lg, mnt, sizeof(mnt))) {
		nh_logf(lg, LOG_ERR, "missing kernel feature: cgroup v2");
		ret = -ENOTSUP;
	} else if (verbose) {
		nh_logf(lg, LOG_INFO, "ok: cgroup v2 mounted at %s", mnt);
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		nh_logf(lg, LOG_ERR,
			"missing kernel feature: BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)");
		ret = -ENOTSUP;
	} else if (verbose) {
		nh_logf(lg, LOG_INFO, "ok: BTF at /sys/kernel/btf/vmlinux");
	}
	/* without one, killing nethook would unhook its command */
	if (nh_pin_root(lg, mnt, sizeof(mnt))) {
		nh_logf(lg, LOG_ERR,
			"missing kernel feature: a BPF filesystem to pin links in (CONFIG_BPF_SYSCALL, mount -t bpf)");
		ret = -ENOTSUP;
	} else if (verbose) {
		nh_logf(lg, LOG_INFO, "ok: links pinned under %s", mnt);
	}
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (report(lg, verbose,
			   libbpf_probe_bpf_prog_type(progs[i].type, NULL),
			   progs[i].name))
			ret = -ENOTSUP;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (report(lg, verbose,
			   libbpf_probe_bpf_map_type(maps[i].type, NULL),
			   maps[i].name))
			ret = -ENOTSUP;
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (report(lg, verbose,
			   libbpf_probe_bpf_helper(helpers[i].type,
						   helpers[i].id, NULL),
			   helpers[i].name))
			ret = -ENOTSUP;
	/* optional: without it, a policy on sockets falls back */
	if (verbose) {
		char why[256];

		if (nh_features_bpf_lsm(why, sizeof(why)))
			nh_logf(lg, LOG_INFO,
				"ok: BPF LSM (lsm_cgroup/socket_create: packet sockets and other families refused under a policy)");
		else
			nh_logf(lg, LOG_WARNING,
				"optional kernel feature missing: BPF LSM: %s; `nethook run` refuses packet sockets and other families with a seccomp filter in COMMAND instead",
				why);
	}
	return ret ? nh_err(ret) : 0;
}

#define LSM_LIST "/sys/kernel/security/lsm"

/* In a child: securityfs, mounted in a mount namespace of its own (it
 * is often not mounted at all), then thrown away with the child.  Only
 * system calls: the caller may have threads. */
static void lsm_list_child(int fd)
{
	char buf[512];
	ssize_t n;
	int lfd;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(1);
	/* mounted already here, or now */
	lfd = open(LSM_LIST, O_RDONLY | O_CLOEXEC);
	if (lfd < 0 &&
	    !mount("securityfs", "/sys/kernel/security", "securityfs",
		   MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		lfd = open(LSM_LIST, O_RDONLY | O_CLOEXEC);
	if (lfd < 0)
		_exit(1);
	n = read(lfd, buf, sizeof(buf));
	if (n <= 0 || write(fd, buf, (size_t)n) != n)
		_exit(1);
	_exit(0);
}

/* The active LSMs, comma-separated ("lockdown,capability,bpf"). */
static int lsm_list(char *buf, size_t len)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		lsm_list_child(p[1]);
	}
	close(p[1]);
	n = read(p[0], buf, len - 1);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Load the smallest lsm_cgroup program on socket_create: the kernel may
 * lack them (before 6.0, no CONFIG_BPF_LSM) or a policy may refuse them. */
int nh_features_lsm_cgroup(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o,
		    .expected_attach_type = BPF_LSM_CGROUP);
	int id, fd;

	id = libbpf_find_vmlinux_btf_id("socket_create", BPF_LSM_CGROUP);
	if (id < 0)
		return id;
	o.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, NULL, "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &o);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Does the kernel run BPF LSM programs?  It must take one (Linux 6.0+,
 * CONFIG_BPF_LSM, no policy against it), and "bpf" must be among the
 * active LSMs (CONFIG_LSM or lsm= on the command line): otherwise an
 * lsm_cgroup program attaches and never runs.  1 if so, 0 if not (why
 * says so), never -errno: not knowing is not having it.
 * NETHOOK_NO_BPF_LSM=1 says no, to use (and test) what nethook does
 * without.
 */
int nh_features_bpf_lsm(char *why, size_t len)
{
	char list[512], *tok, *save = NULL;
	const char *env = secure_getenv("NETHOOK_NO_BPF_LSM");
	int err;

	if (env && *env && strcmp(env, "0")) {
		snprintf(why, len, "NETHOOK_NO_BPF_LSM is set");
		return 0;
	}
	/* whether the kernel loads lsm_cgroup programs (CONFIG_BPF_LSM,
	 * Linux 6.0+) the load says: libbpf cannot probe them */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, len, "no BTF");
		return 0;
	}
	if (lsm_list(list, sizeof(list))) {
		snprintf(why, len, "cannot read %s", LSM_LIST);
		return 0;
	}
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			break;
	if (!tok) {
		snprintf(why, len, "\"bpf\" is not an active LSM (lsm=%.200s)",
			 list);
		return 0;
	}
	err = nh_features_lsm_cgroup();
	if (err) {
		snprintf(why, len,
			 "the kernel refused an lsm_cgroup program: %s",
			 strerror(-err));
		return 0;
	}
	return 1;
}

NH_API int nh_check_features(nh_log_fn log, void *user)
{
	struct nh_logger lg = { log, user };

	return nh_features_check(&lg, true);
}
