// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A run's cgroup links, pinned in a BPF filesystem under
 * <bpffs>/nethook/<run>/ (one file per link), so that the hooks outlive
 * nethook: killed together with its supervisor, it leaves a command whose
 * diverted connections fail, never one that connects directly.  The pins
 * go when the run's processes are gone: at a normal exit, in the
 * supervisor, or in the clean-up of a dead run -- never before, or the
 * command would run on unhooked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <stdbool.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_log.h"
#include "nh_pin.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define NH_SYS_BPFFS "/sys/fs/bpf"
/* `ip netns exec` remounts /sys, and many hosts mount no bpffs at all */
#define NH_PRIVATE_BPFFS NH_RUN_DIR "/bpf"

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

/* A bpffs of our own.  Under a lock on the directory: two runs starting
 * at once would stack two mounts, and the second would hide the first's
 * pins from every clean-up. */
static int mount_private(void)
{
	int fd, ret = 0;

	if (mkdir(NH_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(NH_PRIVATE_BPFFS, 0700) && errno != EEXIST)
		return -errno;
	fd = open(NH_PRIVATE_BPFFS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		ret = -errno;
		goto cleanup;
	}
	if (!is_bpffs(NH_PRIVATE_BPFFS) &&
	    mount("bpf", NH_PRIVATE_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0700"))
		ret = -errno;
cleanup:
	close(fd);
	return ret;
}

/* Is a pinned link still attached to a cgroup? */
static bool link_attached(const char *path)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	bool on = true; /* when in doubt, keep it */
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return errno != ENOENT;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		on = info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id;
	close(fd);
	return on;
}

static bool dir_attached(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	bool on = false;

	if (!d)
		return false;
	while (!on && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		on = link_attached(p);
	}
	closedir(d);
	return on;
}

/* <bpffs>/nethook, made if need be: /sys/fs/bpf when it is a bpffs,
 * else one nethook mounts at /run/nethook/bpf. */
int nh_pin_root(const struct nh_logger *lg, char *buf, size_t len)
{
	const char *fs = NH_SYS_BPFFS;
	int ret;

	if (!is_bpffs(fs)) {
		fs = NH_PRIVATE_BPFFS;
		ret = mount_private();
		if (ret) {
			nh_logf(lg, LOG_ERR,
				"no BPF filesystem at %s, and mounting one at %s failed: %s",
				NH_SYS_BPFFS, fs, strerror(-ret));
			return nh_err(ret);
		}
	}
	if ((size_t)snprintf(buf, len, "%s/nethook", fs) >= len)
		return nh_err(-ENAMETOOLONG);
	if (mkdir(buf, 0700) && errno != EEXIST) {
		ret = -errno;
		nh_logf(lg, LOG_ERR, "cannot create %s: %s", buf,
			strerror(errno));
		return nh_err(ret);
	}
	return 0;
}

/* The directory a run pins its links in, made empty. */
int nh_pin_run_dir(const struct nh_logger *lg, const char *run_id, char *buf,
		   size_t len)
{
	char root[PATH_MAX];
	int ret;

	ret = nh_pin_root(lg, root, sizeof(root));
	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/%s", root, run_id) >= len)
		return nh_err(-ENAMETOOLONG);
	/* a dead run of the same pid left it: gone with its cgroup, unless
	 * something still hooks through them */
	if (!access(buf, F_OK)) {
		if (dir_attached(buf)) {
			nh_logf(lg, LOG_ERR,
				"%s: pinned links of an earlier run, still attached to a cgroup",
				buf);
			return nh_err(-EBUSY);
		}
		nh_pin_dir_remove(buf);
	}
	if (mkdir(buf, 0700)) {
		ret = -errno;
		nh_logf(lg, LOG_ERR, "cannot create %s: %s", buf,
			strerror(errno));
		return nh_err(ret);
	}
	return 0;
}

/* Unpin everything in dir, then dir; 1 if it was there. */
int nh_pin_dir_remove(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* a name that does not fit is not one nethook pinned */
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) <
		    sizeof(p))
			unlink(p);
	}
	closedir(d);
	return rmdir(dir) ? 0 : 1;
}

/* What run_id pinned, in every bpffs it may have used (/sys/fs/bpf may
 * have been mounted since); only once its processes are gone. */
int nh_pin_remove(const struct nh_logger *lg, const char *run_id)
{
	static const char *const roots[] = { NH_SYS_BPFFS, NH_PRIVATE_BPFFS };
	char p[PATH_MAX];
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (!is_bpffs(roots[i]))
			continue;
		snprintf(p, sizeof(p), "%s/nethook/%s", roots[i], run_id);
		if (nh_pin_dir_remove(p)) {
			nh_logf(lg, LOG_INFO, "removed the pinned links %s", p);
			n++;
		}
	}
	return n;
}

/* Does a link run_id pinned still hook a cgroup? */
bool nh_pin_attached(const char *run_id)
{
	static const char *const roots[] = { NH_SYS_BPFFS, NH_PRIVATE_BPFFS };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (!is_bpffs(roots[i]))
			continue;
		snprintf(p, sizeof(p), "%s/nethook/%s", roots[i], run_id);
		if (dir_attached(p))
			return true;
	}
	return false;
}

static int clean_root(const struct nh_logger *lg, const char *root)
{
	char p[PATH_MAX], lock[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/nethook", root);
	d = opendir(p);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '/'))
			continue;
		/* a run with a lock, live or dead, is the lock's business:
		 * nh_cleanup() removes a dead one's pins after its cgroup */
		snprintf(lock, sizeof(lock), NH_RUN_DIR "/%s.lock", de->d_name);
		if (!access(lock, F_OK))
			continue;
		snprintf(p, sizeof(p), "%s/nethook/%s", root, de->d_name);
		if (dir_attached(p)) {
			nh_logf(lg, LOG_WARNING,
				"kept the pinned links %s: no lock names their run, and their cgroup still exists",
				p);
			continue;
		}
		if (nh_pin_dir_remove(p)) {
			nh_logf(lg, LOG_INFO, "removed the pinned links %s", p);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Pins no lock accounts for: their links hook nothing any more (the
 * cgroup they were on is gone) and go; attached ones stay. */
int nh_pin_clean_stale(const struct nh_logger *lg)
{
	int n = 0;

	if (is_bpffs(NH_SYS_BPFFS))
		n += clean_root(lg, NH_SYS_BPFFS);
	if (is_bpffs(NH_PRIVATE_BPFFS))
		n += clean_root(lg, NH_PRIVATE_BPFFS);
	return n;
}
