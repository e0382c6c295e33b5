/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef NH_CLI_H
#define NH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "nethook/nethook.h"

#define NH_EXIT_ERROR 125
#define NH_EXIT_NOEXEC 126
#define NH_EXIT_NOTFOUND 127
#define NH_CLI_MAX_SPECS 64

#define NH_CLI_MAX_PROXIES 8

/* --dns: where the scope's DNS goes, and whether its answers name the
 * connections in the log */
enum cli_dns {
	CLI_DNS_UNSET, /* settled by cli_proxy_chain() */
	CLI_DNS_PROXY, /* nethook's resolver; the proxy resolves names */
	/* to the program's resolvers (logged under --proxy); the answers
	 * name connections in the log (the default without --proxy) */
	CLI_DNS_DIRECT,
	CLI_DNS_BLOCK, /* under --proxy */
	CLI_DNS_OFF, /* as asked, neither logged nor watched */
};

/* --mode: kernel mode (BPF and cgroups, root) or user mode (seccomp) */
enum cli_mode {
	CLI_MODE_AUTO, /* kernel mode as root, user mode otherwise */
	CLI_MODE_KERNEL,
	CLI_MODE_USER,
};

struct run_opts {
	bool attach; /* `nethook attach`: a cgroup, no COMMAND */
	const char *cgroup;
	const char *proxy[NH_CLI_MAX_PROXIES];
	int nproxy;
	const char *proxy_file;
	struct nh_proxy_chain *proxy_chain; /* parsed once, for the library */
	bool allow_udp;
	bool allow_raw; /* raw, packet and other unhooked sockets allowed */
	unsigned int connect_timeout_ms;
	unsigned int idle_timeout_ms;
	unsigned int max_flows;
	unsigned int threads; /* relay workers; 0: one per CPU, up to 4 */
	bool handoff; /* connect() caught with seccomp: no relay hop */
	enum cli_mode mode; /* settled by cli_session_open() */
	enum cli_dns dns;
	const char *redirect;
	struct sockaddr_storage redirect_addr;
	const char *match[NH_CLI_MAX_SPECS];
	int nmatch;
	const char *exclude[NH_CLI_MAX_SPECS];
	int nexclude;
	const char *block[NH_CLI_MAX_SPECS];
	int nblock;
	const char *log; /* NULL: none; "-": stderr */
	bool json;
	unsigned int events; /* NH_EVENT_MASK bits */
	const char *user;
	int verbose;
	bool quiet; /* no line per failed connection, no socks4 warning */
	char **argv; /* COMMAND and its arguments */
};

/* Parse `run` (or, with attach, `attach`) options; on error print one
 * line and return -1; 1 for --help. */
int cli_run_parse(int argc, char **argv, struct run_opts *o, FILE *err);
int cli_attach_parse(int argc, char **argv, struct run_opts *o, FILE *err);
/* Settle the proxy chain from --proxy, --proxy-file or env_proxy
 * (NETHOOK_PROXY's value), parsed once and checked now; -1 with one line
 * on err. */
int cli_proxy_chain(struct run_opts *o, const char *env_proxy, FILE *err);
/* At start, once the chain is settled: the DNS choice with -v, and a
 * warning when the chain cannot carry the names it is given. */
void cli_run_notices(const struct run_opts *o, FILE *err);
/* Blank the user names and passwords of proxy URLs, in place. */
void cli_proxy_blank(char *url);
void cli_run_opts_free(struct run_opts *o);
/* Does this run refuse the sockets its hooks cannot see? */
bool cli_refuse_unhooked(const struct run_opts *o);
/* The rule table for the kernel, in precedence order: --block first,
 * then under --proxy DNS (--dns) and other UDP, then --exclude, then
 * --match (default: all but loopback).  Returns the count
 * or -1 (with a line on err). */
int cli_run_rules(const struct run_opts *o, struct nh_rule *rules, int max,
		  FILE *err);
int cli_parse_events(const char *s, unsigned int *mask);

/* --handoff: in the child, before exec (exits on failure); in nethook,
 * after fork: -1 with a line on stderr */
void cli_handoff_child(int sock, bool user_mode);
int cli_handoff_take(int sock, pid_t child, struct nh_ctx *ctx,
		     bool user_mode);

int cmd_run(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_packet(int argc, char **argv);

/* fails.c: a line on standard error for each connection the proxy
 * failed, at most 10 a second, the rest counted */
struct cli_fails {
	uint64_t start_ns; /* of the current second */
	unsigned int said; /* lines in it */
	unsigned int quiet; /* failures kept quiet in it */
};

/* "nethook: web.example:80 via socks5://192.0.2.10:1080: why" when ev is
 * a diverted connection that failed before its tunnel opened, or one the
 * relay or the handoff refused; else false */
bool cli_fail_line(const struct nh_event *ev, char *buf, size_t len);
/* Each event, in order (now: CLOCK_MONOTONIC); the end says how many
 * were kept quiet last. */
void cli_fails_event(struct cli_fails *st, const struct nh_event *ev,
		     uint64_t now_ns, FILE *f);
void cli_fails_end(struct cli_fails *st, FILE *f);

struct event_out {
	FILE *f; /* --log; NULL: none */
	bool json;
	unsigned int mask; /* the events --log asked for */
	unsigned int extra; /* the events asked for the failure lines only */
	bool fails; /* tell failed connections on standard error */
	struct cli_fails fl;
};

struct cli_session {
	struct nh_ctx *ctx;
	struct event_out out;
	/* no BPF LSM: a seccomp filter in COMMAND refuses packet sockets and
	 * the other families instead */
	bool refuse_in_child;
};

int cli_session_open(struct run_opts *o, struct cli_session *s);
void cli_session_close(struct cli_session *s);

void cli_log(int level, const char *msg, void *user);
/* refuse.c: no BPF LSM: a seccomp filter refuses socket() of packet
 * sockets and of families but unix, inet, netlink and alg, and
 * io_uring; -1 on error */
int cli_refuse_unhooked_child(void);

/*
 * spawn.c: COMMAND under a context's scope, as run and packet start it.
 * cli_spawn_init() blocks the signals passed on to COMMAND (INT, TERM,
 * HUP, QUIT, USR1, USR2) before anything is set up; cli_spawn_fork()
 * forks the child, which waits; the caller puts it in the scope with
 * cli_spawn_release(), which lets it exec; cli_spawn_loop() passes
 * signals on and runs the watches until COMMAND exits, and returns its
 * status (or, with no COMMAND, 0 at the first signal but USR1/USR2);
 * cli_spawn_close() reaps a child the loop did not (its status, or -1)
 * and closes the rest.  -1 on error, with a line on stderr where the
 * library did not say why.
 */
struct cli_spawn {
	sigset_t orig; /* the mask before: COMMAND gets it back */
	int sfd; /* the signals passed on */
	int go[2]; /* a byte: the child is in the scope, exec */
	int pfd; /* COMMAND's pidfd */
	pid_t pid;
};

/* What the child does on its way to exec; each exits on failure. */
struct cli_child {
	char **argv;
	void (*early)(void *arg); /* before it waits to be released */
	void (*late)(void *arg); /* in the scope, signals still blocked */
	void *arg;
};

/* A descriptor the loop watches besides the signals and COMMAND. */
struct cli_watch {
	int fd;
	void (*fn)(void *arg); /* it is readable */
	void *arg;
};

/* nothing open yet: cli_spawn_close() has nothing to do */
#define CLI_SPAWN_INIT                                            \
	{                                                         \
		.sfd = -1, .go = { -1, -1 }, .pfd = -1, .pid = -1 \
	}

int cli_spawn_init(struct cli_spawn *sp);
int cli_spawn_fork(struct cli_spawn *sp, const struct cli_child *c);
int cli_spawn_release(struct cli_spawn *sp, struct nh_ctx *ctx);
int cli_spawn_loop(struct cli_spawn *sp, const struct cli_watch *w, int nw);
int cli_spawn_close(struct cli_spawn *sp);
/* become COMMAND; 127 if not found, 126 if not executable */
void cli_exec(char **argv) __attribute__((noreturn));
/* COMMAND's exit status, 128+N for signal N */
int cli_wait_status(pid_t pid);
extern int cli_verbose;

/* usage.c: the options of run and attach, written once */
extern const char cli_run_options[];
extern const char cli_run_notes[];
void cli_usage_run(FILE *f);
void cli_usage_attach(FILE *f);

#endif
