// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * conn-log: run a command and print one line per TCP connection it made,
 * with the process, the destination, the bytes each way and the duration.
 * A socket filter with two callbacks: sf_attach notes the time in the
 * socket's cookie, sf_detach prints the line and frees it.
 *
 *	conn-log COMMAND [ARGS...]
 *
 * Each line, written when the connection has closed both ways:
 *	conn pid=PID comm=NAME exe=PATH dst=ADDR:PORT bytes_out=N bytes_in=N duration_ms=MS
 * The exit status is the command's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <nethook/nethook.h>
#include <nethook/sflt.h>

#define CONN_LOG_HANDLE 0x636c6f67 /* "clog" */

static int attached;

struct conn {
	struct timespec start;
};

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_WARNING)
		fprintf(stderr, "conn-log: %s\n", msg);
}

static int conn_attach(void **cookie, nh_socket_t so)
{
	struct conn *c = calloc(1, sizeof(*c));

	(void)so;
	if (!c)
		return -ENOMEM; /* not filtered: the connection goes on */
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	*cookie = c;
	attached++;
	return 0;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static void conn_detach(void *cookie, nh_socket_t so)
{
	struct conn *c = cookie;
	struct sockaddr_storage dst;
	uint64_t out = 0, in = 0;
	struct timespec end;
	const char *comm = nh_socket_comm(so), *exe = nh_socket_exe(so);
	char d[INET6_ADDRSTRLEN + 8] = "?";

	clock_gettime(CLOCK_MONOTONIC, &end);
	if (nh_socket_peer(so, &dst) == 0)
		fmt_addr(&dst, d, sizeof(d));
	nh_socket_stats(so, &out, &in);
	printf("conn pid=%d comm=%s exe=%s dst=%s bytes_out=%llu bytes_in=%llu duration_ms=%.3f\n",
	       (int)nh_socket_pid(so), comm ? comm : "?", exe ? exe : "?", d,
	       (unsigned long long)out, (unsigned long long)in,
	       (end.tv_sec - c->start.tv_sec) * 1e3 +
		       (end.tv_nsec - c->start.tv_nsec) / 1e6);
	fflush(stdout);
	free(c);
	attached--;
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = {
		.sz = sizeof(opts),
		.log = on_log,
	};
	struct nh_sflt_filter filter = {
		.sz = sizeof(filter),
		.sf_handle = CONN_LOG_HANDLE,
		.sf_flags = NH_SFLT_PROG,
		.sf_name = "conn-log",
		.sf_attach = conn_attach,
		.sf_detach = conn_detach,
	};
	struct nh_ctx *ctx;
	int go[2], status = 1, i, err;
	pid_t pid;
	char c;

	if (argc < 2) {
		fprintf(stderr, "usage: conn-log COMMAND [ARGS...]\n");
		return 2;
	}
	err = nh_ctx_open(&opts, &ctx);
	if (err < 0) {
		fprintf(stderr, "conn-log: nh_ctx_open: %s\n", strerror(-err));
		return 1;
	}
	err = nh_sflt_register(ctx, &filter, AF_INET, SOCK_STREAM, 0);
	if (!err) {
		filter.sf_handle++;
		err = nh_sflt_register(ctx, &filter, AF_INET6, SOCK_STREAM, 0);
	}
	if (err < 0) {
		fprintf(stderr, "conn-log: nh_sflt_register: %s\n",
			strerror(-err));
		goto cleanup;
	}
	if (pipe(go))
		goto cleanup;
	pid = fork();
	if (pid == 0) {
		/* wait until we are in the scope, then become the command */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(go[0]);
	if (pid < 0 || nh_ctx_add_pid(ctx, pid) < 0 ||
	    write(go[1], "g", 1) != 1)
		goto cleanup;
	close(go[1]);
	while (waitpid(pid, &status, WNOHANG) == 0)
		nh_ctx_dispatch(ctx, 100);
	/* connections closed as the command exited detach just after */
	for (i = 0; i < 50 && attached > 0; i++)
		nh_ctx_dispatch(ctx, 100);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
cleanup:
	nh_ctx_close(ctx);
	return status;
}
