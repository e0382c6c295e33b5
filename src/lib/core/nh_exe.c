// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pid -> executable, learnt from the exec and fork tracepoints.  By the
 * time an event is read, a short-lived client may be gone and
 * /proc/PID/exe with it; what was seen at exec stays.  Fixed size: an old
 * entry is overwritten by a new one in its slot.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nh_base.h"
#include "nh_exe.h"

#define NH_EXE_SLOTS 4096

struct nh_exe_entry {
	uint32_t pid;
	char path[NH_PATH_LEN];
};

struct nh_exe_table {
	struct nh_exe_entry e[NH_EXE_SLOTS];
	char scratch[PATH_MAX];
};

struct nh_exe_table *nh_exe_table_new(void)
{
	return calloc(1, sizeof(struct nh_exe_table));
}

void nh_exe_table_free(struct nh_exe_table *t)
{
	free(t);
}

static struct nh_exe_entry *slot(struct nh_exe_table *t, uint32_t pid)
{
	return &t->e[(pid * 2654435761u) % NH_EXE_SLOTS];
}

static const char *find(struct nh_exe_table *t, uint32_t pid)
{
	struct nh_exe_entry *e = slot(t, pid);

	return e->pid == pid && e->path[0] ? e->path : NULL;
}

static void put(struct nh_exe_table *t, uint32_t pid, const char *path)
{
	struct nh_exe_entry *e = slot(t, pid);

	size_t n = strnlen(path, sizeof(e->path) - 1);

	e->pid = pid;
	memmove(e->path, path, n);
	e->path[n] = '\0';
}

static int proc_exe(uint32_t pid, char *buf, size_t len)
{
	char p[64];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%u/exe", pid);
	n = readlink(p, buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

void nh_exe_exec(struct nh_exe_table *t, uint32_t pid, const char *path)
{
	/* execve("./x") names a file relative to a cwd we cannot see later */
	if (path[0] != '/' && !proc_exe(pid, t->scratch, sizeof(t->scratch)))
		path = t->scratch;
	put(t, pid, path);
}

void nh_exe_fork(struct nh_exe_table *t, uint32_t child, uint32_t parent)
{
	const char *p = find(t, parent);

	if (p && slot(t, child) == slot(t, parent)) {
		size_t n = strnlen(p, sizeof(t->scratch) - 1);

		memcpy(t->scratch, p, n);
		t->scratch[n] = '\0';
		p = t->scratch;
	}
	if (!p && !proc_exe(parent, t->scratch, sizeof(t->scratch)))
		p = t->scratch;
	if (p)
		put(t, child, p);
}

const char *nh_exe_lookup(struct nh_exe_table *t, uint32_t pid,
			  const char *comm, int *partial)
{
	const char *p = find(t, pid);

	*partial = 0;
	if (p)
		return p;
	if (!proc_exe(pid, t->scratch, sizeof(t->scratch))) {
		put(t, pid, t->scratch);
		return find(t, pid);
	}
	*partial = 1;
	return comm;
}

/* The path the kernel walked, leaf first, as "/a/b/c"; -1 if it did not
 * reach the root or does not fit. */
int nh_exe_join(const struct nh_bpf_proc_event *pe, char *buf, size_t len)
{
	uint32_t n = pe->ncomp & ~NH_EXE_WHOLE, i;
	size_t off = 0, l;

	if (!(pe->ncomp & NH_EXE_WHOLE) || n == 0 || n > NH_EXE_DEPTH)
		return -1;
	for (i = n; i-- > 0;) {
		l = strnlen(pe->comp[i], NH_EXE_COMP);
		if (l == 0 || l >= NH_EXE_COMP - 1 || off + 1 + l + 1 > len)
			return -1; /* empty, or maybe cut short */
		buf[off++] = '/';
		memcpy(buf + off, pe->comp[i], l);
		off += l;
	}
	buf[off] = '\0';
	return 0;
}
