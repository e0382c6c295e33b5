// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run`: COMMAND in a hooked cgroup of its own. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

#define MAX_RULES 256

struct creds {
	bool set;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char name[128];
	char home[256];
};

static int add_rules(struct nh_ctx *ctx, const struct run_opts *o);
static void drain(struct nh_ctx *ctx);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_event(const struct nh_event *ev, void *user)
{
	struct event_out *out = user;
	/* the rules' NH_RULE_LOG events come whatever the mask: only what
	 * was asked for the failure lines alone stays out of the log */
	bool logged = out->f && !(out->extra & NH_EVENT_MASK(ev->type));
	char line[2048];

	if (logged) {
		nh_event_format(ev, out->json ? NH_FORMAT_JSON : 0, line,
				sizeof(line));
		fprintf(out->f, "%s\n", line);
		fflush(out->f);
	}
	/* a log on standard error has said it already, in full */
	if (out->fails && !(logged && out->f == stderr))
		cli_fails_event(&out->fl, ev, mono_ns(), stderr);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* USER[:GROUP], names or numbers; resolved before fork (NSS is not for
 * a forked child). */
static int resolve_user(const char *spec, struct creds *c)
{
	char user[128], *group;
	struct passwd *pw;
	struct group *gr;

	snprintf(user, sizeof(user), "%s", spec);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	pw = all_digits(user) ? getpwuid((uid_t)atol(user)) : getpwnam(user);
	if (!pw && !all_digits(user)) {
		fprintf(stderr, "nethook: --user: no user '%s'\n", user);
		return -1;
	}
	c->uid = pw ? pw->pw_uid : (uid_t)atol(user);
	c->gid = pw ? pw->pw_gid : (gid_t)c->uid;
	snprintf(c->name, sizeof(c->name), "%s", pw ? pw->pw_name : user);
	snprintf(c->home, sizeof(c->home), "%s", pw ? pw->pw_dir : "/");
	if (group && *group) {
		gr = all_digits(group) ? getgrgid((gid_t)atol(group)) :
					 getgrnam(group);
		if (!gr && !all_digits(group)) {
			fprintf(stderr, "nethook: --user: no group '%s'\n",
				group);
			return -1;
		}
		c->gid = gr ? gr->gr_gid : (gid_t)atol(group);
	}
	c->ngroups = 64;
	if (!pw ||
	    getgrouplist(pw->pw_name, c->gid, c->groups, &c->ngroups) < 0) {
		c->groups[0] = c->gid;
		c->ngroups = 1;
	}
	c->set = true;
	return 0;
}

/* What the child needs on its way to COMMAND. */
struct run_child {
	int hf[2]; /* --handoff, user mode: the listener goes up hf[1] */
	const struct creds *creds;
	bool refuse_unhooked;
	bool user_mode;
};

/* Before it waits: the handoff's listener, made in the child so that it
 * catches COMMAND's connects, sent up (the parent waits for it). */
static void child_early(void *arg)
{
	struct run_child *c = arg;

	if (c->hf[0] >= 0)
		close(c->hf[0]);
	if (c->hf[1] >= 0)
		cli_handoff_child(c->hf[1], c->user_mode);
}

/* In the scope: the seccomp filter, then the user COMMAND runs as. */
static void child_late(void *arg)
{
	struct run_child *rc = arg;
	const struct creds *c = rc->creds;

	/* before --user: without no_new_privs, the filter needs root */
	if (rc->refuse_unhooked && cli_refuse_unhooked_child()) {
		fprintf(stderr,
			"nethook: cannot refuse packet sockets (seccomp): %s\n",
			strerror(errno));
		_exit(NH_EXIT_ERROR);
	}
	if (c->set) {
		if (setgroups((size_t)c->ngroups, c->groups) ||
		    setgid(c->gid) || setuid(c->uid)) {
			fprintf(stderr, "nethook: --user %s: %s\n", c->name,
				strerror(errno));
			_exit(NH_EXIT_ERROR);
		}
		setenv("HOME", c->home, 1);
		setenv("USER", c->name, 1);
		setenv("LOGNAME", c->name, 1);
	}
}

/* Read what is still in the ring buffer: a connection closed by a
 * process's exit is reported just after it. */
static void drain(struct nh_ctx *ctx)
{
	int quiet = 0, i;

	for (i = 0; i < 100 && quiet < 3; i++)
		quiet = nh_ctx_dispatch(ctx, 20) > 0 ? 0 : quiet + 1;
}

static void dispatch(void *ctx)
{
	nh_ctx_dispatch(ctx, 0);
}

/* Raise the open-file limit: each relayed flow holds six descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	/* the hard limit too, where root may (CAP_SYS_RESOURCE) */
	f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { nr_open, nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Sockets the hooks cannot see (raw, packet...): refused in the kernel;
 * without the BPF LSM, packet sockets and other families by a seccomp
 * filter in COMMAND. */
static int refuse_unhooked(struct cli_session *s, const struct run_opts *o)
{
	int r;

	if (o->allow_raw) {
		fprintf(stderr,
			"nethook: --allow-raw: raw, packet and other sockets the hooks cannot see are allowed; what goes through them is neither %s nor logged\n",
			o->proxy_chain ? "proxied, blocked" :
			o->redirect    ? "redirected, blocked" :
					 "blocked");
		return 0;
	}
	if (!cli_refuse_unhooked(o))
		return 0;
	if (o->mode == CLI_MODE_USER) {
		/* no kernel hook sees sockets made: the filter in COMMAND */
		s->refuse_in_child = true;
		if (o->verbose)
			fprintf(stderr,
				"nethook: a seccomp filter refuses COMMAND's packet sockets, families but unix, inet, netlink and alg, and io_uring (EPERM, not logged)\n");
		return 0;
	}
	r = nh_ctx_refuse_unhooked(s->ctx);
	if (r < 0)
		return -1;
	if (r > 0)
		return 0;
	if (o->attach) {
		fprintf(stderr,
			"nethook: no BPF LSM: packet sockets and the other families but unix, inet, netlink and alg are not refused in %s (raw IP sockets are)\n",
			nh_ctx_cgroup(s->ctx));
		return 0;
	}
	s->refuse_in_child = true;
	if (o->verbose)
		fprintf(stderr,
			"nethook: no BPF LSM: a seccomp filter refuses COMMAND's packet sockets, families but unix, inet, netlink and alg, and io_uring (EPERM, not logged)\n");
	return 0;
}

/* What user mode cannot do, said before anything starts. */
static int user_mode_check(const struct run_opts *o)
{
	const char *why = NULL;

	if (o->user && geteuid() != 0)
		why = "--user needs root (it changes COMMAND's user)";
	else if (o->events & (NH_EVENT_MASK(NH_EVENT_CREATE) |
			      NH_EVENT_MASK(NH_EVENT_CONNECT)))
		why = "--events create and connect come from the kernel's hooks: kernel mode only";
	if (!why)
		return 0;
	fprintf(stderr, "nethook: user mode: %s\n", why);
	return -1;
}

/* The log's first line in user mode: what it has, and what it has not
 * (the kernel's per-connection events). */
static void log_start(struct event_out *out, const struct run_opts *o)
{
	struct timespec now;
	char ts[64];
	struct tm tm;

	(void)o;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
	if (out->json)
		fprintf(out->f,
			"{\"ts\":\"%s\",\"event\":\"start\",\"mode\":\"user\"}\n",
			ts);
	else
		fprintf(out->f, "%s start mode=user\n", ts);
	fflush(out->f);
}

/* What run and attach share: the checks, the log, the context, the rules. */
int cli_session_open(struct run_opts *o, struct cli_session *s)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts) };
	long ncpu;

	memset(s, 0, sizeof(*s));
	if (cli_proxy_chain(o, getenv("NETHOOK_PROXY"), stderr))
		return -1;
	/* credentials stay with nethook, not with the program */
	unsetenv("NETHOOK_PROXY");
	cli_verbose = o->verbose;
	if (o->mode == CLI_MODE_AUTO)
		o->mode = geteuid() == 0 || o->attach ? CLI_MODE_KERNEL :
							CLI_MODE_USER;
	if (o->mode == CLI_MODE_KERNEL && geteuid() != 0) {
		fprintf(stderr,
			"nethook: kernel mode needs root (it loads BPF programs and makes cgroups)%s\n",
			o->attach ?
				"" :
				"; without root, --mode user catches COMMAND's system calls instead");
		return -1;
	}
	if (o->mode == CLI_MODE_USER && user_mode_check(o))
		return -1;
	if (o->verbose)
		fprintf(stderr, "nethook: %s\n",
			o->mode == CLI_MODE_USER ?
				"user mode: COMMAND's system calls are caught with seccomp (no BPF, no cgroup, no root); convenience, not enforcement" :
				"kernel mode: BPF hooks on COMMAND's own cgroup");
	cli_run_notices(o, stderr);
	if (o->log) {
		s->out.json = o->json;
		s->out.f = strcmp(o->log, "-") ? fopen(o->log, "ae") : stderr;
		if (!s->out.f) {
			fprintf(stderr, "nethook: --log %s: %s\n", o->log,
				strerror(errno));
			return -1;
		}
		s->out.mask = o->events;
		if (o->mode == CLI_MODE_USER)
			log_start(&s->out, o);
	}
	/* the relay's and the handoff's failures come as end and block
	 * events: asked for even with no --log (the kernel then reports
	 * every connection's end, to be dropped here) */
	s->out.fails = o->proxy_chain && !o->quiet;
	if (s->out.fails)
		s->out.extra = (NH_EVENT_MASK(NH_EVENT_END) |
				NH_EVENT_MASK(NH_EVENT_BLOCK)) &
			       ~s->out.mask;
	opts.event_mask = s->out.mask | s->out.extra;
	if (opts.event_mask) {
		opts.event = on_event;
		opts.event_user = &s->out;
	}
	opts.log = cli_log;
	if (o->mode == CLI_MODE_USER)
		opts.flags |= NH_CTX_USER;
	/* the relay's data path on one worker per core: the command has no
	 * filter of its own that would need them on one thread */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	opts.threads = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (unsigned int)ncpu;
	if (o->threads)
		opts.threads = o->threads;
	/* what runs on the relay's workers (the log) writes to descriptors
	 * open before the relay starts */
	opts.flags |= NH_CTX_RELAY_OWN_FDS;
	opts.cgroup = o->cgroup;
	opts.proxy_chain = o->proxy_chain;
	opts.connect_timeout_ms = o->connect_timeout_ms;
	opts.idle_timeout_ms = o->idle_timeout_ms;
	opts.max_flows = o->max_flows;
	if (o->dns == CLI_DNS_PROXY)
		opts.dns = NH_DNS_PROXY;
	/* the answers name connections in the log, and nowhere else: no
	 * log, no program on the scope's every incoming datagram */
	else if (o->dns == CLI_DNS_DIRECT && s->out.f &&
		 o->mode != CLI_MODE_USER)
		opts.dns = NH_DNS_WATCH;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (nh_ctx_open(&opts, &s->ctx) < 0)
		return -1;
	if (add_rules(s->ctx, o))
		return -1;
	return refuse_unhooked(s, o);
}

void cli_session_close(struct cli_session *s)
{
	if (s->ctx) {
		drain(s->ctx);
		/* events nobody asked to see are nobody's loss */
		if (s->out.f && nh_ctx_lost_events(s->ctx)) {
			fprintf(stderr,
				"nethook: %llu events lost (ring buffer full)\n",
				(unsigned long long)nh_ctx_lost_events(s->ctx));
			if (s->out.f && s->out.json)
				fprintf(s->out.f,
					"{\"event\":\"lost\",\"count\":%llu}\n",
					(unsigned long long)nh_ctx_lost_events(
						s->ctx));
		}
	}
	/* the relay's last reports come as it closes: counted, then said */
	nh_ctx_close(s->ctx);
	s->ctx = NULL;
	if (s->out.fails)
		cli_fails_end(&s->out.fl, stderr);
	if (s->out.f && s->out.f != stderr)
		fclose(s->out.f);
	s->out.f = NULL;
}

int cmd_run(int argc, char **argv)
{
	int status = NH_EXIT_ERROR;
	struct creds creds = { 0 };
	struct cli_session sess = { 0 };
	struct run_child rc = { { -1, -1 }, &creds, false, false };
	struct cli_child ch = { NULL, child_early, child_late, &rc };
	struct cli_watch w;
	struct cli_spawn sp = CLI_SPAWN_INIT;
	struct run_opts o;
	int r;

	r = cli_run_parse(argc, argv, &o, stderr);
	if (r > 0) {
		cli_usage_run(stdout);
		return 0;
	}
	if (r < 0)
		return NH_EXIT_ERROR;
	if (o.user && resolve_user(o.user, &creds))
		return NH_EXIT_ERROR;
	if (cli_spawn_init(&sp))
		goto cleanup;
	if (cli_session_open(&o, &sess))
		goto cleanup;
	rc.user_mode = o.mode == CLI_MODE_USER;
	if ((o.handoff || rc.user_mode) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rc.hf)) {
		fprintf(stderr, "nethook: socketpair: %s\n", strerror(errno));
		goto cleanup;
	}
	ch.argv = o.argv;
	rc.refuse_unhooked = sess.refuse_in_child;
	if (cli_spawn_fork(&sp, &ch))
		goto cleanup;
	if (rc.hf[1] >= 0) {
		close(rc.hf[1]);
		rc.hf[1] = -1;
		if (cli_handoff_take(rc.hf[0], sp.pid, sess.ctx, rc.user_mode))
			goto cleanup;
	}
	if (cli_spawn_release(&sp, sess.ctx))
		goto cleanup;
	w = (struct cli_watch){ nh_ctx_fd(sess.ctx), dispatch, sess.ctx };
	status = cli_spawn_loop(&sp, &w, 1);
	nh_ctx_end_scope(sess.ctx, 2000);
cleanup:
	if (rc.hf[0] >= 0)
		close(rc.hf[0]);
	if (rc.hf[1] >= 0)
		close(rc.hf[1]);
	cli_spawn_close(&sp);
	cli_session_close(&sess);
	cli_run_opts_free(&o);
	return status;
}

static int add_rules(struct nh_ctx *ctx, const struct run_opts *o)
{
	struct nh_rule rules[MAX_RULES];
	int n, i;

	n = cli_run_rules(o, rules, MAX_RULES, stderr);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (nh_ctx_add_rule(ctx, &rules[i]) < 0)
			return -1;
	return 0;
}
