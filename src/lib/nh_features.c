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
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "nh_internal.h"

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
	return ret ? nh_err(ret) : 0;
}

NH_API int nh_check_features(nh_log_fn log, void *user)
{
	struct nh_logger lg = { log, user };

	return nh_features_check(&lg, true);
}
