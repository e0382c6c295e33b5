// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Dead runs: the chains of a run that is gone (its lock free, or no lock
 * and no process), in the namespaces their lock files name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "nh_ip.h"

/* "NH<pid>-<seq>-X": is that run gone?  cleaning: "<pid>-<seq>" of
 * the dead run being cleaned, whose lock the cleaner holds. */
static bool chain_dead(const char *chain, void *cleaning_arg)
{
	const char *cleaning = cleaning_arg;
	char lock[128];
	long pid;
	char *end;
	int fd;

	if (strncmp(chain, "NH", 2))
		return false;
	pid = strtol(chain + 2, &end, 10);
	if (end == chain + 2 || *end != '-' || pid <= 0)
		return false;
	{
		/* "<pid>-<seq>" */
		char *e2;
		long seq = strtol(end + 1, &e2, 10);

		if (e2 == end + 1 || *e2 != '-')
			return false;
		snprintf(lock, sizeof(lock), NH_RUN_DIR "/ipf-%ld-%ld", pid,
			 seq);
		if (cleaning[0] &&
		    !strcmp(lock + sizeof(NH_RUN_DIR "/ipf-") - 1, cleaning))
			return true;
	}
	fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		bool busy = flock(fd, LOCK_SH | LOCK_NB) != 0;

		close(fd);
		return !busy;
	}
	/* no lock file: alive only if the process is */
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

static int clean_ns(const struct nh_logger *lg, int nsfd, const char *what,
		    const char *cleaning)
{
	int n = 0, r, fi, err = 0;

	for (fi = 0; fi < 2; fi++) {
		r = nh_ipf_rules_remove(lg, nsfd, fi ? AF_INET6 : AF_INET, NULL,
					chain_dead, (void *)cleaning);
		if (r < 0)
			err = r;
		if (r > 0) {
			nh_logf(lg, LOG_INFO,
				"removed IP filter chains of dead runs (%s) in %s",
				fi ? "IPv6" : "IPv4", what);
			n += r;
		}
	}
	return err ? err : n;
}

static bool same_ns(int fd, unsigned long long dev, unsigned long long ino)
{
	struct stat sb;

	return fd >= 0 && !fstat(fd, &sb) &&
	       (unsigned long long)sb.st_dev == dev &&
	       (unsigned long long)sb.st_ino == ino;
}

/* The namespace a dead run used: its path, ours, or one under
 * /run/netns with the same inode.  -1 when it is gone. */
static int find_ns(const char *path, unsigned long long dev,
		   unsigned long long ino, bool *ours)
{
	char p[PATH_MAX];
	struct dirent *de;
	int fd;
	DIR *d;

	*ours = false;
	if (path[0]) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (!ino || same_ns(fd, dev, ino)))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (same_ns(fd, dev, ino)) {
		*ours = true;
		return fd;
	}
	if (fd >= 0)
		close(fd);
	d = opendir("/run/netns");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/netns/%s", de->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (same_ns(fd, dev, ino)) {
			closedir(d);
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return -1;
}

/* Each /run/nethook/ipf-* whose owner is gone names the namespace its
 * chains are in: remove every dead run's chains there. */
int nh_ipf_cleanup_stale(const struct nh_logger *lg)
{
	char path[300], txt[PATH_MAX + 64];
	struct dirent *de;
	int n = 0, fd, nsfd;
	DIR *d;

	d = opendir(NH_RUN_DIR);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long long dev = 0, ino = 0;
		char *l2;
		int r;
		ssize_t len;
		bool ours;

		if (strncmp(de->d_name, "ipf-", 4))
			continue;
		snprintf(path, sizeof(path), NH_RUN_DIR "/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			close(fd); /* alive */
			continue;
		}
		len = read(fd, txt, sizeof(txt) - 1);
		txt[len > 0 ? len : 0] = '\0';
		l2 = strchr(txt, '\n');
		if (l2) {
			*l2++ = '\0';
			if (sscanf(l2, "%llu:%llu", &dev, &ino) != 2)
				dev = ino = 0;
		}
		nsfd = find_ns(txt, dev, ino, &ours);
		r = 0;
		if (nsfd >= 0) {
			r = clean_ns(lg, ours ? -1 : nsfd,
				     txt[0] ? txt :
				     ours   ? "this network namespace" :
					      "its network namespace",
				     de->d_name + 4);
			if (r > 0)
				n++;
			close(nsfd);
		}
		/* kept for another try when the rules could not be removed */
		if (r >= 0)
			unlink(path);
		close(fd);
	}
	closedir(d);
	return n;
}
