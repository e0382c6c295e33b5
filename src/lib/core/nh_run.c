// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A run's lock and its supervisor.  The lock (/run/nethook/PID.lock, held
 * with flock) tells a live run from a dead one.  The supervisor is a small
 * process outside the scope, in a session of its own, that waits on a
 * pipe: if nethook dies -- even by SIGKILL -- the pipe reaches EOF and the
 * supervisor kills the scope's cgroup, so a hooked program never goes on
 * running unhooked, then removes the cgroup, the run's pinned links and
 * the lock.  Killed together with nethook, it leaves the links pinned
 * (nh_pin.c): the hooks stay until a clean-up has killed the command.
 * Everything of a run goes in that order: processes, cgroup, pins, lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_cgroup.h"
#include "nh_ipf_int.h"
#include "nh_log.h"
#include "nh_pin.h"
#include "nh_run.h"

static void supervise(int rfd, const char *cgroup, const char *lock_path,
		      const char *id)
{
	char c;
	ssize_t n;

	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'q')
		_exit(0);
	nh_cgroup_kill(cgroup);
	/* a cgroup that will not go may still hold a process: its hooks,
	 * and the lock a clean-up finds them by, stay */
	if (nh_cgroup_remove(cgroup, 5000))
		_exit(1);
	nh_pin_remove(NULL, id);
	unlink(lock_path);
	_exit(0);
}

int nh_run_begin(const struct nh_logger *lg, const char *cgroup,
		 struct nh_run *run)
{
	int pfd[2] = { -1, -1 }, ret;
	char tmp[sizeof(run->lock_path)];
	const char *base;
	pid_t pid;

	memset(run, 0, sizeof(*run));
	run->lock_fd = run->super_fd = -1;
	if (mkdir(NH_RUN_DIR, 0755) && errno != EEXIST) {
		ret = -errno;
		nh_logf(lg, LOG_ERR, "cannot create %s: %s", NH_RUN_DIR,
			strerror(errno));
		return ret;
	}
	base = strrchr(cgroup, '/');
	if (!base || strncmp(base, "/nethook-", 9))
		return nh_err(-EINVAL);
	snprintf(run->id, sizeof(run->id), "%s", base + 9);
	snprintf(run->lock_path, sizeof(run->lock_path), NH_RUN_DIR "/%s.lock",
		 run->id);
	/* made under another name, locked and filled, then renamed into
	 * place: a clean-up never finds it there unlocked or empty.  Never
	 * over another: a lock of this id is a dead run's whose pid we now
	 * have, its clean-up under way or failed; taking its place would
	 * take its pins with ours, and its command would run on unhooked
	 * (-EEXIST: the caller tries another id) */
	snprintf(tmp, sizeof(tmp), NH_RUN_DIR "/.%s.new", base + 9);
	run->lock_fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (run->lock_fd < 0 || flock(run->lock_fd, LOCK_EX | LOCK_NB) ||
	    write(run->lock_fd, cgroup, strlen(cgroup)) < 0 ||
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, run->lock_path,
		      RENAME_NOREPLACE)) {
		ret = -errno;
		if (ret != -EEXIST)
			nh_logf(lg, LOG_ERR, "cannot lock %s: %s",
				run->lock_path, strerror(-ret));
		unlink(tmp);
		if (run->lock_fd >= 0)
			close(run->lock_fd);
		run->lock_fd = -1;
		return nh_err(ret);
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		ret = -errno;
		goto cleanup;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto cleanup;
	}
	if (pid == 0) {
		/* keep only the pipe and the lock: inherited BPF link fds
		 * would keep another context's programs attached */
		int a = fcntl(pfd[0], F_DUPFD, 100);
		int b = fcntl(run->lock_fd, F_DUPFD, 100);

		if (a < 0 || b < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0)
			_exit(1);
		close_range(5, ~0U, 0);
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		supervise(3, cgroup, run->lock_path, run->id);
	}
	close(pfd[0]);
	run->super_fd = pfd[1];
	run->super_pid = pid;
	return 0;
cleanup:
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	if (run->lock_fd >= 0) {
		unlink(run->lock_path);
		close(run->lock_fd);
		run->lock_fd = -1;
	}
	return nh_err(ret);
}

void nh_run_end(struct nh_run *run)
{
	if (run->super_fd >= 0) {
		if (write(run->super_fd, "q", 1) < 0) {
			/* it is gone already; nothing to tell it */
		}
		close(run->super_fd);
		run->super_fd = -1;
		while (waitpid(run->super_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (run->lock_fd >= 0) {
		unlink(run->lock_path);
		close(run->lock_fd);
		run->lock_fd = -1;
	}
}

/* name is "ID.lock" */
/* A lock held while the run's nethook is dead: its supervisor is killing
 * and removing the scope (up to 5 s for a cgroup that empties slowly).
 * Waited for, so that a clean-up finds the run gone, not half gone; true
 * once the lock is ours. */
static bool supervisor_done(int fd, const char *name)
{
	pid_t pid = (pid_t)strtol(name, NULL, 10);
	int i;

	if (pid <= 0 || !kill(pid, 0) || errno != ESRCH)
		return false; /* nethook lives: the run is live */
	for (i = 0; i < 120; i++) {
		struct timespec ts = { 0, 50 * 1000000L };

		if (!flock(fd, LOCK_EX | LOCK_NB))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int clean_lock(const struct nh_logger *lg, const char *path,
		      const char *name)
{
	char cg[PATH_MAX], id[64];
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) && !supervisor_done(fd, name)) {
		close(fd); /* a live run */
		return 0;
	}
	if (!fstat(fd, &st) && !st.st_nlink) {
		close(fd); /* its supervisor cleaned it up meanwhile */
		return 0;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(strlen(name) - 5), name);
	n = read(fd, cg, sizeof(cg) - 1);
	if (n > 0) {
		cg[n] = '\0';
		if (!access(cg, F_OK)) {
			nh_cgroup_kill(cg);
			if (nh_cgroup_remove(cg, 2000)) {
				/* its pins still hold the command: kept, with
				 * the lock that finds them, for a later try */
				nh_logf(lg, LOG_WARNING,
					"cannot remove cgroup %s of a dead run: %s",
					cg, strerror(errno));
				close(fd);
				return 0;
			}
			nh_logf(lg, LOG_INFO, "removed cgroup %s of a dead run",
				cg);
		} else if (nh_pin_attached(id)) {
			/* not seen from here (another mount namespace: `ip
			 * netns exec` remounts /sys), yet its links still
			 * hook it, so it may hold the command: its pins and
			 * lock are kept for a clean-up that sees it */
			nh_logf(lg, LOG_WARNING,
				"kept the dead run %s: its cgroup %s is not seen from here, and its hooks are still attached",
				id, cg);
			close(fd);
			return 0;
		}
	}
	nh_pin_remove(lg, id);
	unlink(path);
	nh_logf(lg, LOG_INFO, "removed stale lock %s", path);
	ret = 1;
	close(fd);
	return ret;
}

/* A lock a run died making, before it was renamed into place: its name
 * holds the pid (".PID.new", ".PID-SEQ.new").  Not by flock: a live run
 * locks it only after making it. */
static void clean_new(const char *path, const char *name)
{
	long pid = strtol(name + 1, NULL, 10);

	if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH)
		unlink(path);
}

/* A nethook-PID cgroup whose run holds no lock is a dead run's. */
static int clean_orphan_cgroups(const struct nh_logger *lg)
{
	char self[PATH_MAX], p[PATH_MAX + 300], lock[128];
	struct dirent *de;
	DIR *d;
	int n = 0, fd;

	if (nh_cgroup_self(lg, self, sizeof(self)))
		return 0;
	d = opendir(self);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		const char *id = de->d_name + 8;

		if (de->d_type != DT_DIR || strncmp(de->d_name, "nethook-", 8))
			continue;
		if (!*id || strspn(id, "0123456789-") != strlen(id) ||
		    strlen(id) > 64)
			continue;
		snprintf(lock, sizeof(lock), NH_RUN_DIR "/%s.lock", id);
		fd = open(lock, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			int busy = flock(fd, LOCK_SH | LOCK_NB) != 0;

			close(fd);
			if (busy)
				continue;
		}
		snprintf(p, sizeof(p), "%s/%s", self, de->d_name);
		nh_cgroup_kill(p);
		if (!nh_cgroup_remove(p, 2000)) {
			nh_logf(lg, LOG_INFO, "removed orphan cgroup %s", p);
			nh_pin_remove(lg, id);
			/* a dead run's lock naming it by another path (seen
			 * from another mount namespace), kept by clean_lock() */
			if (fd >= 0 && !unlink(lock))
				nh_logf(lg, LOG_INFO, "removed stale lock %s",
					lock);
			n++;
		}
	}
	closedir(d);
	return n;
}

NH_API int nh_cleanup(nh_log_fn log, void *user)
{
	struct nh_logger lg = { log, user };
	char p[300];
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(NH_RUN_DIR);
	if (d) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);

			snprintf(p, sizeof(p), NH_RUN_DIR "/%s", de->d_name);
			if (de->d_name[0] == '.' && l > 5 &&
			    !strcmp(de->d_name + l - 4, ".new")) {
				clean_new(p, de->d_name);
				continue;
			}
			if (l < 6 || strcmp(de->d_name + l - 5, ".lock"))
				continue;
			n += clean_lock(&lg, p, de->d_name);
		}
		closedir(d);
	}
	n += clean_orphan_cgroups(&lg);
	n += nh_pin_clean_stale(&lg); /* pins no lock accounts for */
	n += nh_ipf_cleanup_stale(&lg); /* IP filter chains of dead runs */
	return n;
}
