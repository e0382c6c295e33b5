// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup v2: find the hierarchy, make and remove nethook's cgroups. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "nh_base.h"
#include "nh_cgroup.h"
#include "nh_log.h"

#define NH_PRIVATE_CGROUP2 NH_RUN_DIR "/cgroup2"

static int find_cgroup2(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *mnt, *save = NULL;
		int i;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		/* fields: id parent maj:min root mountpoint ... */
		mnt = strtok_r(line, " ", &save);
		for (i = 0; i < 4 && mnt; i++)
			mnt = strtok_r(NULL, " ", &save);
		if (!mnt || strchr(mnt, '\\'))
			continue;
		if ((size_t)snprintf(buf, len, "%s", mnt) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * The cgroup v2 mount point.  `ip netns exec` remounts /sys and hides it;
 * then a private mount of our own is as good (same hierarchy).
 */
int nh_cgroup_mount(const struct nh_logger *lg, char *buf, size_t len)
{
	int ret = find_cgroup2(buf, len);

	if (ret != -ENOENT)
		return ret;
	if (mkdir(NH_RUN_DIR, 0755) && errno != EEXIST)
		goto fail;
	if (mkdir(NH_PRIVATE_CGROUP2, 0755) && errno != EEXIST)
		goto fail;
	if (mount("cgroup2", NH_PRIVATE_CGROUP2, "cgroup2",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		goto fail;
	nh_logf(lg, LOG_DEBUG, "no cgroup2 mount visible: mounted one at %s",
		NH_PRIVATE_CGROUP2);
	return find_cgroup2(buf, len);
fail:
	ret = -errno;
	nh_logf(lg, LOG_ERR,
		"no cgroup v2 hierarchy is mounted and mounting one failed: %s",
		strerror(errno));
	return ret;
}

/* Absolute path of the calling process's own cgroup v2. */
int nh_cgroup_self(const struct nh_logger *lg, char *buf, size_t len)
{
	char mnt[PATH_MAX], line[PATH_MAX];
	FILE *f;
	int ret;

	ret = nh_cgroup_mount(lg, mnt, sizeof(mnt));
	if (ret)
		return ret;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	ret = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		/* the root cgroup is "/": no trailing slash after mnt */
		if (!strcmp(line + 3, "/"))
			line[3] = '\0';
		ret = (size_t)snprintf(buf, len, "%s%s", mnt, line + 3) >= len ?
			      -ENAMETOOLONG :
			      0;
		break;
	}
	fclose(f);
	return ret;
}

int nh_cgroup_create(const char *path)
{
	if (mkdir(path, 0755))
		return -errno;
	return 0;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd, ret = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int nh_cgroup_add_pid(const char *path, pid_t pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	return write_file(path, "cgroup.procs", v);
}

/* 1 if any process is in the cgroup or below, 0 if none, -errno */
int nh_cgroup_populated(const char *path)
{
	char p[PATH_MAX], line[64];
	FILE *f;
	int ret = -ENOENT;

	snprintf(p, sizeof(p), "%s/cgroup.events", path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "populated ", 10)) {
			ret = line[10] == '1';
			break;
		}
	}
	fclose(f);
	return ret;
}

static int signal_procs(const char *path, int sig)
{
	char p[PATH_MAX];
	FILE *f;
	int pid, n = 0;

	snprintf(p, sizeof(p), "%s/cgroup.procs", path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1) {
		if (pid > 0 && pid != getpid() && !kill(pid, sig))
			n++;
	}
	fclose(f);
	return n;
}

/* Signal every process in the cgroup and its descendants. */
int nh_cgroup_signal(const char *path, int sig)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = signal_procs(path, sig);

	if (n < 0)
		return n;
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (nh_cgroup_signal(p, sig) > 0)
			n++;
	}
	closedir(d);
	return n;
}

int nh_cgroup_kill(const char *path)
{
	int ret = write_file(path, "cgroup.kill", "1");

	/* cgroup.kill is 5.14+: fall back to SIGKILL one by one */
	if (ret == -ENOENT)
		ret = nh_cgroup_signal(path, SIGKILL) < 0 ? -ESRCH : 0;
	return ret;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int remove_tree(const char *path)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		remove_tree(p);
	}
	closedir(d);
	return rmdir(path) ? -errno : 0;
}

/* Wait up to wait_ms for the cgroup to empty, then remove it (and any
 * cgroups the program made below it). */
int nh_cgroup_remove(const char *path, int wait_ms)
{
	int waited = 0, ret;

	while ((ret = nh_cgroup_populated(path)) == 1 && waited < wait_ms) {
		sleep_ms(10);
		waited += 10;
	}
	if (ret == -ENOENT)
		return 0;
	return remove_tree(path);
}
