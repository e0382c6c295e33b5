// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The iptables side of the IP filter: the rule text of a context's
 * chains, the text that removes chains, and running iptables-restore and
 * iptables-save (in the context's namespace, under a waiter of ours).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h> /* struct clone_args */
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "nh_ip.h"

static const char *find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
					    "/bin", "/usr/local/sbin" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

/* A fork with the exit signal chosen (0: none, so the parent's SIGCHLD
 * handling, or its ignoring SIGCHLD, never meets the child).  clone3
 * takes its arguments in a struct, the same on every architecture; raw
 * clone's order differs on s390. */
static pid_t raw_fork(int exit_signal)
{
	struct clone_args ca = { .exit_signal = (__u64)exit_signal };

	return (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
}

/*
 * The tool runs under a waiter of ours, so that its exit status reaches
 * us whatever the caller did with SIGCHLD.  A program that ignores it (a
 * daemon's habit) has the kernel reap its children as they end, status
 * and all.  The waiter is made with no exit signal, which keeps it for
 * waitpid(__WALL); it never execs, since exec restores SIGCHLD as the
 * exit signal.  It waits for the tool with SIGCHLD at its default and
 * ends with the tool's exit status (128 + N if killed by signal N).
 * Both children make only system calls, as after a fork from a threaded
 * program: clone, not glibc's fork with its handlers and locks.
 */
static __attribute__((noreturn)) void ipt_waiter(const char *path,
						 char *const argv[])
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	pid_t pid;
	int st;

	sigaction(SIGCHLD, &dfl, NULL);
	/* it never execs: the pipes' other ends, closed on exec in the
	 * tool, must close here, or the tool never sees its input end */
	close_range(3, ~0U, 0);
	pid = raw_fork(SIGCHLD);
	if (pid == 0) {
		execv(path, argv);
		_exit(127);
	}
	if (pid < 0)
		_exit(125);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(125);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * Run "iptables-restore --noflush" (input given) or "iptables-save"
 * (out given) of the family in the namespace nsfd (-1: ours).  The
 * output is malloc'd into *out.  0, or -errno / -EIO with the tool's
 * message logged.
 */
static int run_ipt(const struct nh_logger *lg, int nsfd, int family,
		   const char *input, char **out)
{
	const char *tool = input ? (family == AF_INET6 ? "ip6tables-restore" :
							 "iptables-restore") :
				   (family == AF_INET6 ? "ip6tables-save" :
							 "iptables-save");
	int in[2] = { -1, -1 }, op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	char path[PATH_MAX], errbuf[1024];
	size_t olen = 0, ocap = 0, elen = 0;
	char *obuf = NULL;
	int st, ret = 0;
	ssize_t n;
	pid_t pid;

	if (!find_tool(tool, path, sizeof(path))) {
		nh_logf(lg, LOG_ERR,
			"%s not found: the IP filter needs iptables (nft backend)",
			tool);
		return -ENOENT;
	}
	if (pipe2(in, O_CLOEXEC) || pipe2(op, O_CLOEXEC) ||
	    pipe2(ep, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	pid = raw_fork(0);
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0) {
		char *argv[4] = { path, NULL, NULL, NULL };

		/* out of the caller's process group: a signal to the group
		 * (^C, timeout(1), a supervisor) that stops the caller must
		 * not kill the tool that removes its rules */
		setpgid(0, 0);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET))
			_exit(126);
		if (input) {
			argv[1] = (char *)"--noflush";
			argv[2] = (char *)"-w";
		}
		dup2(in[0], 0);
		dup2(op[1], 1);
		dup2(ep[1], 2);
		ipt_waiter(path, argv);
	}
	close(in[0]);
	close(op[1]);
	close(ep[1]);
	in[0] = op[1] = ep[1] = -1;
	if (input) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			n = write(in[1], input + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);
	in[1] = -1;
	for (;;) {
		if (olen + 4096 >= ocap) {
			char *nb = realloc(obuf, ocap ? ocap * 2 : 16384);

			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			obuf = nb;
			ocap = ocap ? ocap * 2 : 16384;
		}
		n = read(op[0], obuf + olen, ocap - olen - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		olen += (size_t)n;
	}
	if (obuf)
		obuf[olen] = '\0';
	while ((n = read(ep[0], errbuf + elen, sizeof(errbuf) - 1 - elen)) >
		       0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			elen += (size_t)n;
	errbuf[elen] = '\0';
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (!ret && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))) {
		errbuf[strcspn(errbuf, "\n")] = '\0';
		nh_logf(lg, LOG_ERR, "%s failed (status %d): %s", tool,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1,
			elen ? errbuf :
			WIFEXITED(st) && WEXITSTATUS(st) == 126 ?
			       "cannot enter the network namespace" :
			       "no message");
		if (input)
			nh_logf(lg, LOG_DEBUG, "its input was:\n%s", input);
		ret = -EIO;
	}
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (op[0] >= 0)
		close(op[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	if (!ret && out)
		*out = obuf;
	else
		free(obuf);
	return ret;
}

/* A growing text buffer. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap : 4096) * 2 + (size_t)n;
			char *s = realloc(b->s, cap);

			if (!s) {
				b->oom = true;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
}

static void chain_name(const struct nh_ipf_state *st, char which, char *buf,
		       size_t len)
{
	snprintf(buf, len, "NH%s-%c", st->id, which);
}

static void queue_target(struct sbuf *b, const struct nh_ipf_state *st,
			 int first)
{
	if (st->nq > 1)
		sb_printf(
			b,
			" -j NFQUEUE --queue-balance %d:%d --queue-cpu-fanout",
			first, first + st->nq - 1);
	else
		sb_printf(b, " -j NFQUEUE --queue-num %d", first);
	if (!(st->flags & NH_IPF_FAIL_CLOSED))
		sb_printf(b, " --queue-bypass");
}

static int queue_num(const struct nh_ipf_state *st, int slot, int dir)
{
	return st->qbase + (slot * 2 + dir) * st->nq;
}

/* The whole rule set of one family, as iptables-restore input. */

/* One queue rule per filter of this family and direction, in the order
 * they were added: a packet goes to the first whose expression matches. */
static void queue_rules(struct sbuf *b, struct nh_ipf_state *st,
			const char *chain, int family, int dir)
{
	struct nh_ipfilter *f;

	for (f = st->filters; f; f = f->next) {
		if (f->removed || f->family != family ||
		    !(dir == DIR_OUT ? f->f.ipf_output != NULL :
				       f->f.ipf_input != NULL))
			continue;
		sb_printf(b, "-A %s", chain);
		if (f->bytecode[0])
			sb_printf(b, " -m bpf --bytecode \"%s\"", f->bytecode);
		queue_target(b, st, queue_num(st, f->slot, dir));
		sb_printf(b, " -m comment --comment \"nethook %s\"\n",
			  f->name ? f->name : "filter");
	}
}

static int build_rules(struct nh_ipf_state *st, int family, bool jumps,
		       struct sbuf *b)
{
	char co[64], cm[64], ci[64];

	chain_name(st, 'O', co, sizeof(co));
	chain_name(st, 'M', cm, sizeof(cm));
	chain_name(st, 'I', ci, sizeof(ci));
	/* raw: outgoing packets, before conntrack */
	sb_printf(b, "*raw\n:%s - [0:0]\n", co);
	sb_printf(b, "-A %s -m mark --mark 0x%x -j RETURN\n", co,
		  st->skip_mark);
	if (st->scope_cgroup)
		sb_printf(b, "-A %s -m cgroup ! --path \"%s\" -j RETURN\n", co,
			  st->cgrel);
	queue_rules(b, st, co, family, DIR_OUT);
	if (jumps)
		sb_printf(b, "-A OUTPUT -j %s\n", co);
	sb_printf(b, "COMMIT\n");
	/* mangle: the connection mark, the MSS clamp, incoming packets */
	sb_printf(b, "*mangle\n:%s - [0:0]\n:%s - [0:0]\n", cm, ci);
	if (st->scope_cgroup) {
		sb_printf(
			b,
			"-A %s -m cgroup --path \"%s\" -j CONNMARK --set-xmark 0x%x/0x%x\n",
			cm, st->cgrel, st->cm_val, st->cm_mask);
		sb_printf(b, "-A %s -m connmark ! --mark 0x%x/0x%x -j RETURN\n",
			  cm, st->cm_val, st->cm_mask);
	}
	sb_printf(
		b,
		"-A %s -p tcp --tcp-flags SYN,RST SYN -m tcpmss --mss %d:65535 -j TCPMSS --set-mss %d\n",
		cm, IPF_MSS + 1, IPF_MSS);
	if (st->tun[0])
		sb_printf(b, "-A %s -i %s -j RETURN\n", ci, st->tun);
	if (st->scope_cgroup)
		sb_printf(b, "-A %s -m connmark ! --mark 0x%x/0x%x -j RETURN\n",
			  ci, st->cm_val, st->cm_mask);
	sb_printf(
		b,
		"-A %s -p tcp --tcp-flags SYN,RST SYN -m tcpmss --mss %d:65535 -j TCPMSS --set-mss %d\n",
		ci, IPF_MSS + 1, IPF_MSS);
	queue_rules(b, st, ci, family, DIR_IN);
	if (jumps) {
		sb_printf(b, "-A OUTPUT -j %s\n", cm);
		sb_printf(b, "-A INPUT -j %s\n", ci);
	}
	sb_printf(b, "COMMIT\n");
	return b->oom ? -ENOMEM : 0;
}

int nh_ipf_rules_install(struct nh_ipf_state *st, int family)
{
	struct sbuf b = { 0 };
	int fi = family_index(family), err;

	err = build_rules(st, family, !st->installed[fi], &b);
	if (!err)
		err = run_ipt(st->lg, st->nsfd, family, b.s, NULL);
	free(b.s);
	if (!err)
		st->installed[fi] = true;
	return err;
}

/* Text to delete chains named by prefix ("NH<id>-") whose owner test
 * says so, from iptables-save output: the jumps, then the chains. */
static int build_removal(const char *save, const char *prefix_only,
			 bool (*dead)(const char *chain, void *arg), void *arg,
			 struct sbuf *b, int *nchains)
{
	const char *line = save, *nl;
	char table[32] = "", chain[64];
	bool in_table = false, any = false;
	struct sbuf del = { 0 }, chains = { 0 };

	*nchains = 0;
	for (; line && *line; line = nl ? nl + 1 : NULL) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%.*s", (int)(len - 1),
				 line + 1);
			in_table = true;
			any = false;
			continue;
		}
		if (!in_table)
			continue;
		if (len == 6 && !strncmp(line, "COMMIT", 6)) {
			if (any) {
				sb_printf(b, "*%s\n%.*s%.*sCOMMIT\n", table,
					  (int)del.len, del.s ? del.s : "",
					  (int)chains.len,
					  chains.s ? chains.s : "");
				*nchains += 1;
			}
			del.len = chains.len = 0;
			in_table = false;
			continue;
		}
		if (line[0] == ':' && !strncmp(line + 1, "NH", 2)) {
			size_t cl = strcspn(line + 1, " ");

			snprintf(chain, sizeof(chain), "%.*s",
				 (int)(cl < 63 ? cl : 63), line + 1);
			if ((prefix_only && strncmp(chain, prefix_only,
						    strlen(prefix_only))) ||
			    (dead && !dead(chain, arg)))
				continue;
			sb_printf(&chains, "-F %s\n-X %s\n", chain, chain);
			any = true;
			continue;
		}
		if (!strncmp(line, "-A ", 3)) {
			const char *j = strstr(line, " -j NH");

			if (!j || j > line + len)
				continue;
			j += 4;
			{
				size_t cl = strcspn(j, " \n");

				snprintf(chain, sizeof(chain), "%.*s",
					 (int)(cl < 63 ? cl : 63), j);
			}
			if ((prefix_only && strncmp(chain, prefix_only,
						    strlen(prefix_only))) ||
			    (dead && !dead(chain, arg)))
				continue;
			/* a jump from a built-in chain: delete that rule */
			if (strncmp(line + 3, "NH", 2))
				sb_printf(&del, "-D %.*s\n", (int)(len - 3),
					  line + 3);
		}
	}
	free(del.s);
	free(chains.s);
	return b->oom ? -ENOMEM : 0;
}

/* Remove the chains starting with prefix (or, with dead, every NH chain
 * dead() says is a dead run's) in namespace nsfd.  Count of tables. */
int nh_ipf_rules_remove(const struct nh_logger *lg, int nsfd, int family,
			const char *prefix,
			bool (*dead)(const char *chain, void *arg), void *arg)
{
	struct sbuf b = { 0 };
	char *save = NULL;
	int err, n = 0;

	err = run_ipt(lg, nsfd, family, NULL, &save);
	if (err)
		return err;
	err = build_removal(save, prefix, dead, arg, &b, &n);
	if (!err && b.len)
		err = run_ipt(lg, nsfd, family, b.s, NULL);
	free(save);
	free(b.s);
	return err ? err : n;
}
