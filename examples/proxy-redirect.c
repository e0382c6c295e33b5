// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * proxy-redirect: the classic socket filter.  Every IPv4 TCP connection
 * in scope is sent to one address -- a transparent proxy, say -- instead
 * of where the program asked.
 *
 *	proxy-redirect [-c CGROUP] ADDR:PORT [COMMAND [ARGS...]]
 *
 * sf_attach stores the proxy address in the socket's cookie, sf_connect_out
 * rewrites the IPv4 destination to it, sf_detach frees the cookie.  With a
 * COMMAND, it runs the command in a new scope and exits with its status;
 * without, it filters the cgroup given with -c (an absolute path of a
 * cgroup v2 directory) until SIGINT or SIGTERM.  Either way, a signal
 * unregisters the filter and it waits for sf_unregistered before exiting:
 * from then on new connections go their normal way.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <nethook/nethook.h>
#include <nethook/sflt.h>

#define PROXY_REDIRECT_HANDLE 0x70726478 /* "prdx" */

static struct sockaddr_storage proxy;
static struct nh_ctx *ctx;
static volatile sig_atomic_t stopping;
static volatile sig_atomic_t child;
static int unregistered;

static void on_log(int level, const char *msg, void *user)
{
	(void)user;
	if (level <= LOG_NOTICE)
		fprintf(stderr, "proxy-redirect: %s\n", msg);
}

static void fmt_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static int pr_attach(void **cookie, nh_socket_t so)
{
	struct sockaddr_storage *to = malloc(sizeof(*to));

	(void)so;
	if (!to)
		return -ENOMEM; /* not filtered */
	memcpy(to, &proxy, sizeof(*to));
	*cookie = to;
	return 0;
}

static int pr_connect_out(void *cookie, nh_socket_t so, struct sockaddr *to)
{
	char from[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
	const char *comm = nh_socket_comm(so);

	if (to->sa_family != AF_INET)
		return 0;
	fmt_addr(to, from, sizeof(from));
	memcpy(to, cookie, sizeof(struct sockaddr_storage));
	fmt_addr(to, dst, sizeof(dst));
	fprintf(stderr, "proxy-redirect: pid %d (%s) %s -> %s\n",
		(int)nh_socket_pid(so), comm ? comm : "?", from, dst);
	return 0;
}

static void pr_detach(void *cookie, nh_socket_t so)
{
	(void)so;
	free(cookie);
}

static void pr_unregistered(nh_sflt_handle handle)
{
	(void)handle;
	unregistered = 1;
}

static void on_signal(int sig)
{
	stopping = 1;
	if (child > 0)
		kill(child, sig);
	nh_ctx_stop(ctx);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon = strrchr(s, ':');
	size_t n;
	long port;

	if (!colon || colon == s)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535)
		return -1;
	n = colon - s;
	if (s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	return -1;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr,
		"usage: proxy-redirect [-c CGROUP] ADDR:PORT [COMMAND [ARGS...]]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct nh_ctx_opts opts = { .sz = sizeof(opts), .log = on_log };
	struct nh_sflt_filter filter = {
		.sz = sizeof(filter),
		.sf_handle = PROXY_REDIRECT_HANDLE,
		.sf_flags = NH_SFLT_PROG,
		.sf_name = "proxy-redirect",
		.sf_unregistered = pr_unregistered,
		.sf_attach = pr_attach,
		.sf_detach = pr_detach,
		.sf_connect_out = pr_connect_out,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, err, go[2], status = 0, rc = 1, i;
	pid_t pid = 0;
	char c;

	while ((opt = getopt(argc, argv, "+c:")) != -1) {
		if (opt != 'c')
			usage();
		opts.cgroup = optarg;
	}
	if (optind >= argc || parse_addr(argv[optind], &proxy))
		usage();
	optind++;
	if (optind >= argc && !opts.cgroup) {
		fprintf(stderr,
			"proxy-redirect: no COMMAND: -c CGROUP is needed\n");
		usage();
	}

	err = nh_ctx_open(&opts, &ctx);
	if (err < 0) {
		fprintf(stderr, "proxy-redirect: nh_ctx_open: %s\n",
			strerror(-err));
		return 1;
	}
	err = nh_sflt_register(ctx, &filter, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (err < 0) {
		fprintf(stderr, "proxy-redirect: nh_sflt_register: %s\n",
			strerror(-err));
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (optind < argc) {
		if (pipe(go))
			goto out;
		pid = fork();
		if (pid == 0) {
			close(go[1]);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			if (read(go[0], &c, 1) != 1)
				_exit(127);
			execvp(argv[optind], argv + optind);
			fprintf(stderr, "proxy-redirect: %s: %s\n",
				argv[optind], strerror(errno));
			_exit(127);
		}
		close(go[0]);
		if (pid < 0)
			goto out;
		child = pid;
		if (nh_ctx_add_pid(ctx, pid) < 0 || write(go[1], "g", 1) != 1) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out;
		}
		close(go[1]);
		while (waitpid(pid, &status, WNOHANG) == 0)
			nh_ctx_dispatch(ctx, 100);
		child = 0;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) :
					 128 + WTERMSIG(status);
	} else {
		fprintf(stderr, "proxy-redirect: filtering %s until SIGINT\n",
			nh_ctx_cgroup(ctx));
		while (!stopping) {
			err = nh_ctx_run(ctx);
			if (err < 0 && err != -EINTR) {
				fprintf(stderr,
					"proxy-redirect: nh_ctx_run: %s\n",
					strerror(-err));
				goto out;
			}
		}
		rc = 0;
	}

	/* new connections go their normal way from here; the ones in flight
	 * keep the filter until they detach, then sf_unregistered */
	err = nh_sflt_unregister(ctx, filter.sf_handle);
	if (err < 0)
		fprintf(stderr, "proxy-redirect: nh_sflt_unregister: %s\n",
			strerror(-err));
	for (i = 0; i < 100 && !unregistered; i++)
		nh_ctx_dispatch(ctx, 100);
	fprintf(stderr, "proxy-redirect: %s\n",
		unregistered ? "unregistered" : "sf_unregistered never came");
	if (!unregistered && rc == 0)
		rc = 1;
out:
	nh_ctx_close(ctx);
	return rc;
}
