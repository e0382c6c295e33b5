// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * src/lib/core/nh_exe.c: pid -> executable, learnt from exec and fork events.
 *
 * "Dead" pids here are above /proc/sys/kernel/pid_max, so that no process
 * can have them and /proc/PID/exe never exists; one test also uses a
 * child that really ran and was reaped.
 */
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdbool.h>
#include "nh_exe.h"
#include "nh_base.h"
#include "nh_test.h"

static uint32_t dead_base;

static uint32_t dead(uint32_t k)
{
	return dead_base + k;
}

static int setup(void **state)
{
	struct nh_exe_table *t = nh_exe_table_new();

	if (!t)
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	nh_exe_table_free(*state);
	return 0;
}

static const char *self_exe(void)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

/* lookup: the path and whether it is partial */
static void expect(struct nh_exe_table *t, uint32_t pid, const char *comm,
		   const char *want, int want_partial)
{
	const char *p;
	int partial = -1;

	p = nh_exe_lookup(t, pid, comm, &partial);
	assert_non_null(p);
	assert_string_equal(p, want);
	assert_int_equal(partial, want_partial);
}

/* two dead pids that land in the same slot, found by behaviour: after
 * the second exec, the first is no longer known */
static void collide(struct nh_exe_table *t, uint32_t *a, uint32_t *b)
{
	uint32_t k;
	int partial;

	*a = dead(1000);
	for (k = 1; k < 1000000; k++) {
		nh_exe_exec(t, *a, "/probe/a");
		*b = *a + k;
		nh_exe_exec(t, *b, "/probe/b");
		nh_exe_lookup(t, *a, "a", &partial);
		if (partial)
			return;
	}
	fail_msg("no two pids share a slot");
}

static void test_exec_lookup(void **state)
{
	struct nh_exe_table *t = *state;

	nh_exe_exec(t, dead(1), "/usr/bin/curl");
	nh_exe_exec(t, dead(2), "/usr/bin/wget");
	expect(t, dead(1), "curl", "/usr/bin/curl", 0);
	expect(t, dead(2), "wget", "/usr/bin/wget", 0);
	/* asking twice gives the same */
	expect(t, dead(1), "curl", "/usr/bin/curl", 0);
}

static void test_exec_again(void **state)
{
	struct nh_exe_table *t = *state;

	nh_exe_exec(t, dead(1), "/bin/sh");
	nh_exe_exec(t, dead(1), "/usr/bin/curl");
	expect(t, dead(1), "curl", "/usr/bin/curl", 0);
}

static void test_fork_copies(void **state)
{
	struct nh_exe_table *t = *state;

	nh_exe_exec(t, dead(10), "/usr/bin/python3");
	nh_exe_fork(t, dead(11), dead(10));
	expect(t, dead(11), "python3", "/usr/bin/python3", 0);
	/* and the child's child */
	nh_exe_fork(t, dead(12), dead(11));
	expect(t, dead(12), "python3", "/usr/bin/python3", 0);
	/* the parent is unchanged */
	expect(t, dead(10), "python3", "/usr/bin/python3", 0);
	/* a child that execs has its own */
	nh_exe_exec(t, dead(11), "/usr/bin/curl");
	expect(t, dead(11), "curl", "/usr/bin/curl", 0);
	expect(t, dead(12), "python3", "/usr/bin/python3", 0);
}

static void test_fork_unknown_dead_parent(void **state)
{
	struct nh_exe_table *t = *state;

	nh_exe_fork(t, dead(21), dead(20));
	expect(t, dead(21), "worker", "worker", 1);
}

static void test_fork_live_parent(void **state)
{
	struct nh_exe_table *t = *state;

	/* never seen exec, but alive: /proc/PID/exe */
	nh_exe_fork(t, dead(31), (uint32_t)getpid());
	expect(t, dead(31), "x", self_exe(), 0);
}

static void test_unknown_dead(void **state)
{
	struct nh_exe_table *t = *state;

	expect(t, dead(40), "curl", "curl", 1);
	/* still partial when asked again */
	expect(t, dead(40), "curl", "curl", 1);
}

static void test_unknown_reaped_child(void **state)
{
	struct nh_exe_table *t = *state;
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	expect(t, (uint32_t)pid, "short-lived", "short-lived", 1);
}

static void test_unknown_live(void **state)
{
	struct nh_exe_table *t = *state;

	expect(t, (uint32_t)getpid(), "test_exe", self_exe(), 0);
	expect(t, (uint32_t)getpid(), "test_exe", self_exe(), 0);
}

static void test_relative_dead(void **state)
{
	struct nh_exe_table *t = *state;

	nh_exe_exec(t, dead(50), "./client");
	expect(t, dead(50), "client", "./client", 0);
	nh_exe_exec(t, dead(51), "bin/tool");
	expect(t, dead(51), "tool", "bin/tool", 0);
}

static void test_relative_live(void **state)
{
	struct nh_exe_table *t = *state;

	/* alive: the relative name is resolved through /proc/PID/exe */
	nh_exe_exec(t, (uint32_t)getpid(), "./test_exe");
	expect(t, (uint32_t)getpid(), "test_exe", self_exe(), 0);
}

static void test_absolute_live_kept(void **state)
{
	struct nh_exe_table *t = *state;

	/* an absolute path is what was exec'd, even if /proc says else */
	nh_exe_exec(t, (uint32_t)getpid(), "/usr/local/bin/wrapper");
	expect(t, (uint32_t)getpid(), "wrapper", "/usr/local/bin/wrapper", 0);
}

static void test_long_path(void **state)
{
	struct nh_exe_table *t = *state;
	char path[600];
	const char *p;
	int partial;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	nh_exe_exec(t, dead(60), path);
	p = nh_exe_lookup(t, dead(60), "a", &partial);
	assert_int_equal(partial, 0);
	assert_int_equal(strlen(p), NH_PATH_LEN - 1);
	assert_memory_equal(p, path, NH_PATH_LEN - 1);
	/* and a fork of it */
	nh_exe_fork(t, dead(61), dead(60));
	p = nh_exe_lookup(t, dead(61), "a", &partial);
	assert_int_equal(strlen(p), NH_PATH_LEN - 1);
}

static void test_collision_overwrites(void **state)
{
	struct nh_exe_table *t = *state;
	uint32_t a, b;

	collide(t, &a, &b);
	nh_exe_exec(t, a, "/bin/first");
	nh_exe_exec(t, b, "/bin/second");
	/* b has the slot; a is not given b's path */
	expect(t, b, "second", "/bin/second", 0);
	expect(t, a, "first", "first", 1);
	/* and back */
	nh_exe_exec(t, a, "/bin/first");
	expect(t, a, "first", "/bin/first", 0);
	expect(t, b, "second", "second", 1);
}

static void test_collision_fork(void **state)
{
	struct nh_exe_table *t = *state;
	uint32_t a, b;

	collide(t, &a, &b);
	/* fork into the parent's own slot: the child gets the whole path */
	nh_exe_exec(t, a, "/usr/lib/very/long/path/to/the/parent-binary");
	nh_exe_fork(t, b, a);
	expect(t, b, "child", "/usr/lib/very/long/path/to/the/parent-binary",
	       0);
}

static void test_collision_long_paths(void **state)
{
	struct nh_exe_table *t = *state;
	char p1[NH_PATH_LEN + 10], p2[40];
	uint32_t a, b;
	const char *p;
	int partial;

	collide(t, &a, &b);
	/* a long path, then a short one in its slot: no tail of the first */
	memset(p1, 'x', sizeof(p1) - 1);
	p1[0] = '/';
	p1[sizeof(p1) - 1] = '\0';
	snprintf(p2, sizeof(p2), "/s");
	nh_exe_exec(t, a, p1);
	nh_exe_exec(t, b, p2);
	p = nh_exe_lookup(t, b, "s", &partial);
	assert_string_equal(p, "/s");
	assert_int_equal(partial, 0);
}

static void test_pid_zero(void **state)
{
	struct nh_exe_table *t = *state;

	/* an empty table's slots must not answer for pid 0 */
	expect(t, 0, "swapper", "swapper", 1);
}

static void test_many(void **state)
{
	struct nh_exe_table *t = *state;
	char path[64];
	uint32_t i;
	const char *p;
	int partial;

	/* more pids than slots: each answer is right or partial, never
	 * another pid's path */
	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "/bin/p%u", i);
		nh_exe_exec(t, dead(100000 + i), path);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(path, sizeof(path), "/bin/p%u", i);
		p = nh_exe_lookup(t, dead(100000 + i), "p", &partial);
		if (partial)
			assert_string_equal(p, "p");
		else
			assert_string_equal(p, path);
	}
	/* the last ones written are all there */
	for (i = 9990; i < 10000; i++) {
		snprintf(path, sizeof(path), "/bin/p%u", i);
		expect(t, dead(100000 + i), "p", path, 0);
	}
}

#define T(fn, name)                             \
	{                                       \
		name, fn, setup, teardown, NULL \
	}

/* The path the kernel walked, leaf first, joined. */
static void set_comps(struct nh_bpf_proc_event *pe, const char *const *c,
		      uint32_t n, bool whole)
{
	uint32_t i;

	memset(pe, 0, sizeof(*pe));
	for (i = 0; i < n; i++)
		snprintf(pe->comp[i], NH_EXE_COMP, "%s", c[i]);
	pe->ncomp = n | (whole ? NH_EXE_WHOLE : 0);
}

static void test_join(void **state)
{
	static const char *const c[] = { "curl", "bin", "usr" };
	struct nh_bpf_proc_event *pe = calloc(1, sizeof(*pe));
	char buf[64];

	(void)state;
	set_comps(pe, c, 3, true);
	assert_int_equal(nh_exe_join(pe, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/usr/bin/curl");
	free(pe);
}

static void test_join_refuses(void **state)
{
	static const char *const c[] = { "curl", "bin", "usr" };
	char full[NH_EXE_COMP], buf[64];
	const char *longc[] = { full };
	struct nh_bpf_proc_event *pe = calloc(1, sizeof(*pe));

	(void)state;
	set_comps(pe, c, 3, false); /* the walk did not reach the root */
	assert_int_equal(nh_exe_join(pe, buf, sizeof(buf)), -1);
	set_comps(pe, c, 0, true); /* nothing */
	assert_int_equal(nh_exe_join(pe, buf, sizeof(buf)), -1);
	set_comps(pe, c, 3, true); /* does not fit */
	assert_int_equal(nh_exe_join(pe, buf, 10), -1);
	memset(full, 'x', sizeof(full) - 1);
	full[sizeof(full) - 1] = '\0';
	set_comps(pe, longc, 1, true); /* a name maybe cut short */
	assert_int_equal(nh_exe_join(pe, buf, sizeof(buf)), -1);
	pe->ncomp = (NH_EXE_DEPTH + 1) | NH_EXE_WHOLE; /* hostile count */
	assert_int_equal(nh_exe_join(pe, buf, sizeof(buf)), -1);
	free(pe);
}

/* clang-format off */
static const struct CMUnitTest tests[] = {
	T(test_join, "kernel-walked path joined: /usr/bin/curl"),
	T(test_join_refuses,
	  "kernel-walked path: incomplete, empty, too long, hostile count refused"),
	T(test_exec_lookup, "exec then lookup"),
	T(test_exec_again, "a second exec replaces the first"),
	T(test_fork_copies, "fork copies the parent's path, down the tree"),
	T(test_fork_unknown_dead_parent,
	  "fork of an unknown dead parent: child partial with comm"),
	T(test_fork_live_parent,
	  "fork of an unknown live parent: /proc/PID/exe"),
	T(test_unknown_dead, "unknown dead pid: partial, comm"),
	T(test_unknown_reaped_child,
	  "unknown pid of a reaped child: partial, comm"),
	T(test_unknown_live, "unknown live pid: /proc/PID/exe, not partial"),
	T(test_relative_dead, "relative exec path of a dead pid kept as given"),
	T(test_relative_live, "relative exec path of a live pid resolved"),
	T(test_absolute_live_kept, "absolute exec path kept as given"),
	T(test_long_path, "long path cut to NH_PATH_LEN-1, terminated"),
	T(test_collision_overwrites,
	  "slot collision: the newer wins, the older is partial"),
	T(test_collision_fork, "slot collision: fork into the parent's slot"),
	T(test_collision_long_paths,
	  "slot collision: short path over a long one"),
	T(test_pid_zero, "pid 0 in an empty table: partial"),
	T(test_many, "more pids than slots: never another pid's path"),
};
/* clang-format on */

int main(void)
{
	unsigned long pid_max = 4194304;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");

	if (f) {
		if (fscanf(f, "%lu", &pid_max) != 1)
			pid_max = 4194304;
		fclose(f);
	}
	/* above any pid there can be; room for the offsets used */
	dead_base = (uint32_t)pid_max + 1000;
	return cmocka_run_group_tests_name("exe", tests, NULL, NULL) ? 1 : 0;
}
