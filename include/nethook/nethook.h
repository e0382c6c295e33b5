/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libnethook: network hooks for Linux programs.
 *
 * A context (struct nh_ctx) owns one scope -- a cgroup v2 that nethook
 * creates or one the caller names -- and the BPF programs attached to it.
 * Rules added with nh_ctx_add_rule() are evaluated inside the kernel at
 * connect() time, first match wins, and cost nothing per packet.
 *
 * Every function returning int returns 0 (or a count) on success and a
 * negative errno on failure, with errno set too.  The library never
 * prints: it reports through the log callback of struct nh_ctx_opts.
 */
#ifndef NETHOOK_NETHOOK_H
#define NETHOOK_NETHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NETHOOK_VERSION_MAJOR 0
#define NETHOOK_VERSION_MINOR 1
#define NETHOOK_VERSION_PATCH 0

/* "The filter took it": distinct from every -errno. */
#define NH_EJUSTRETURN (-4097)

/* opts.flags: permit NH_SFLT_GLOBAL (host-wide) filters. */
#define NH_CTX_ALLOW_GLOBAL 0x1
/* opts.flags: with threads > 1, each relay worker keeps its sockets in a
 * descriptor table of its own: descriptor lookups get cheaper and
 * RLIMIT_NOFILE bounds each worker, not their sum.  Socket-filter
 * callbacks that run on a worker then cannot use descriptors the program
 * opens after the relay started (the first divert rule or filter). */
#define NH_CTX_RELAY_OWN_FDS 0x2
/* User mode: no BPF program, no cgroup, no privilege.  The context keeps
 * its rules itself, and sees the program through nh_user_listen()'s
 * listener, given to nh_ctx_add_handoff(): connect() of TCP goes through
 * the proxy on the program's own socket, DNS to the context's resolver,
 * and the rules redirect and block at connect() and at a send to an
 * address.  nh_ctx_add_pid() has nothing to do (the listener follows the
 * process and its children); socket filters, IP filters,
 * nh_ctx_refuse_unhooked() and the kernel's per-connection events
 * (create, connect, end) are not there (-EOPNOTSUPP).  It is not
 * enforcement: a program can escape it (see nh_user_listen()). */
#define NH_CTX_USER 0x4

struct nh_ctx;
struct nh_event;

/* Events a context reports (bits of nh_ctx_opts.event_mask). */
enum nh_event_type {
	NH_EVENT_CREATE = 1, /* a socket was made */
	NH_EVENT_CONNECT = 2, /* connect() let through unchanged */
	NH_EVENT_BLOCK = 3, /* refused by a rule */
	NH_EVENT_REDIRECT = 4, /* destination rewritten */
	NH_EVENT_END = 5, /* a TCP connection closed */
	NH_EVENT_DNS = 6, /* the context's resolver answered a query */
};
#define NH_EVENT_MASK(t) (1u << (t))
#define NH_EVENT_MASK_DEFAULT                                               \
	(NH_EVENT_MASK(NH_EVENT_BLOCK) | NH_EVENT_MASK(NH_EVENT_REDIRECT) | \
	 NH_EVENT_MASK(NH_EVENT_END))

struct nh_proxy_chain; /* below */

/*
 * The context's resolver (nh_ctx_opts.dns), where NH_RULE_DNS sends the
 * scope's DNS, UDP and TCP, in the kernel.  NH_DNS_PROXY answers A and
 * AAAA queries with addresses of its own pool (IPv4 198.18.0.0/15, IPv6
 * 100::/64, RFC 6666's discard prefix: a connection that escaped would go
 * nowhere) and remembers name and address; a connection diverted to a
 * pool address asks the proxy chain for the name.  PTR queries of pool
 * addresses are answered from the table; every other query gets an empty
 * answer (NOERROR, no record) at once, so that nothing leaks and nothing
 * waits.  Replies reach the program from the address it asked.
 *
 * NH_DNS_WATCH has no resolver and changes nothing: the DNS answers the
 * scope receives over UDP from port 53 (IPv4, and IPv6 without extension
 * headers; not DNS over TCP) are read as they arrive, and an event whose
 * orig_dst is an address one of them gave carries that name (dst_name),
 * the name the program asked for, CNAMEs followed.  The last answer for
 * an address wins; at most dns_max_names addresses are held, the least
 * recently used dropped first.  Needs an event callback.
 */
enum nh_dns_mode {
	NH_DNS_NONE = 0, /* no resolver: NH_RULE_DNS refuses (ENETUNREACH) */
	NH_DNS_PROXY = 1,
	NH_DNS_WATCH = 2, /* no resolver; names from the answers received */
};

struct nh_ctx_opts {
	size_t sz; /* sizeof(struct nh_ctx_opts); fields past sz read as zero */
	unsigned int flags;
	/* absolute path of a cgroup v2 directory; NULL = a new one
	 * nethook creates (nethook-<pid> under the caller's) and removes */
	const char *cgroup;
	const char *netns; /* scope of IP filters; NULL = the caller's */
	const char *proxy; /* upstream for diverted flows; NULL = direct */
	unsigned int threads;
	/* level: a syslog priority; NULL = silent */
	void (*log)(int level, const char *msg, void *user);
	void *log_user;
	/* Events, delivered by nh_ctx_dispatch(); NULL = none are made. */
	void (*event)(const struct nh_event *ev, void *user);
	void *event_user;
	unsigned int event_mask; /* NH_EVENT_MASK() bits; 0 = default */
	/* the relay (diverted flows): 0 = the default */
	unsigned int
		connect_timeout_ms; /* connect and each proxy handshake; 10 s */
	unsigned int idle_timeout_ms; /* close a flow idle this long; none */
	unsigned int max_flows; /* concurrent flows; 65536 */
	/* the chain parsed already (nh_proxy_chain_new()); when set, proxy
	 * is not read.  The context takes a copy: free it when you like. */
	const struct nh_proxy_chain *proxy_chain;
	/* the resolver (enum nh_dns_mode) */
	unsigned int dns;
	/* names (NH_DNS_WATCH: addresses) held at once; 0 = 65536 */
	unsigned int dns_max_names;
	unsigned int dns_ttl_s; /* TTL of its answers; 0 = 60 */
};

/*
 * A proxy chain, parsed once: each of the n entries is one URL or more,
 * separated by commas or lines ('#' starts a comment line), as
 * opts.proxy takes them.  0, or -errno with the reason in why (a bad URL,
 * more than 8 proxies, direct:// in a chain).  Names are resolved when a
 * context opens with it.  NULL is fine for nh_proxy_chain_free().
 */
int nh_proxy_chain_new(const char *const *urls, unsigned int n,
		       struct nh_proxy_chain **chain, char *why, size_t len);
void nh_proxy_chain_free(struct nh_proxy_chain *chain);
/*
 * Whether a host name can reach the end of the chain: 1 when its last
 * proxy can be asked for a name (socks5, socks4a, http CONNECT), 0 when
 * it takes addresses only (socks4), -ENOENT for direct://, which has no
 * proxy to ask, -EINVAL for NULL.  When hop is not NULL, the last proxy
 * is written there as the log's route writes it
 * ("socks4://192.0.2.10:1080", never credentials; "direct://").
 */
int nh_proxy_chain_carries_names(const struct nh_proxy_chain *chain, char *hop,
				 size_t len);

int nh_ctx_open(const struct nh_ctx_opts *opts, struct nh_ctx **ctx);
/* Unregisters everything; processes left in a cgroup nethook created get
 * SIGTERM, then are killed after 2 s, and the cgroup is removed.  NULL is
 * fine. */
void nh_ctx_close(struct nh_ctx *ctx);
/* Processes in a scope nethook created: SIGTERM, then SIGKILL after
 * grace_ms.  1 if there were any, 0 if none. */
int nh_ctx_end_scope(struct nh_ctx *ctx, int grace_ms);
/* Move a process into the scope. */
int nh_ctx_add_pid(struct nh_ctx *ctx, pid_t pid);
const char *nh_ctx_cgroup(const struct nh_ctx *ctx);
/* Pollable; readable when there is work for nh_ctx_dispatch(). */
int nh_ctx_fd(const struct nh_ctx *ctx);
/* Number of callbacks run, or -errno. */
int nh_ctx_dispatch(struct nh_ctx *ctx, int timeout_ms);
/* Dispatch until nh_ctx_stop(). */
int nh_ctx_run(struct nh_ctx *ctx);
/* Safe from a signal handler and from other threads.  nethook's own
 * threads block every signal, so handlers run only on the caller's
 * threads: block the signal there before nh_ctx_close() and no handler
 * can call this on a context being freed. */
void nh_ctx_stop(struct nh_ctx *ctx);
/* Events the kernel dropped because the ring buffer was full. */
uint64_t nh_ctx_lost_events(const struct nh_ctx *ctx);

enum nh_rule_action {
	NH_RULE_PASS,
	NH_RULE_BLOCK,
	NH_RULE_REDIRECT,
	NH_RULE_DIVERT,
	/* DNS to the context's resolver (opts.dns): UDP, connected or not,
	 * and TCP; the program sees its answers come from where it asked */
	NH_RULE_DNS,
};

/* Which transport protocols a rule covers (nh_rule.protos). */
#define NH_RULE_TCP 0x1
#define NH_RULE_UDP 0x2

/* nh_rule.flags: report each connection this rule passes as a "connect"
 * event, even when those are not in the event mask. */
#define NH_RULE_LOG 0x1

struct nh_rule {
	size_t sz;
	enum nh_rule_action action;
	/* an address spec, e.g. "198.51.100.0/24:443" or "[2001:db8::/32]:80";
	 * NULL or "" matches everything */
	const char *match;
	const struct sockaddr *target; /* NH_RULE_REDIRECT: where to */
	int err; /* NH_RULE_BLOCK: the errno connect() gets (0 = ECONNREFUSED) */
	/* 0 = the action's natural set: TCP for REDIRECT and DIVERT,
	 * TCP and UDP for PASS and BLOCK */
	unsigned int protos;
	unsigned int flags; /* NH_RULE_LOG */
	/* AF_INET or AF_INET6: only sockets of that family; 0 = all */
	int domain;
};

/* Evaluated in the kernel at connect() (and, for BLOCK, at an
 * unconnected UDP sendmsg()), first match wins.  NH_RULE_DIVERT sends the
 * connection to the relay, which reaches the destination through
 * opts.proxy (or directly); its target is ignored.  ICMP ping sockets
 * (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6) meet the rules as UDP with port 0:
 * at connect(), and, for BLOCK, each datagram as it leaves (sendto()
 * fails with EPERM). */
int nh_ctx_add_rule(struct nh_ctx *ctx, const struct nh_rule *rule);

/* Whether nh_ctx_add_rule() would take the rule as it is written (its
 * match, flags, protocols, domain, action and target), with no context
 * yet: a command can check its options before it opens one.  0, or the
 * -errno nh_ctx_add_rule() gives such a rule (-EINVAL for a malformed
 * match, -EOPNOTSUPP, -EAFNOSUPPORT). */
int nh_rule_check(const struct nh_rule *rule);

/*
 * Refuse, with EPERM and a block event, every new socket of the scope
 * that the rules could not see: raw IP sockets, IP protocols other than
 * TCP, UDP and MPTCP (UDP-Lite, SCTP...), and every family but AF_INET,
 * AF_INET6, AF_UNIX, AF_NETLINK and AF_ALG (packet, XDP, vsock...).
 * Sockets that exist already, and those the kernel makes for itself,
 * are left alone.  Returns 1 when all of it is enforced; 0 when the
 * kernel has no BPF LSM, so that only AF_INET/AF_INET6 sockets are
 * checked: the caller should then refuse the other families itself in
 * the processes of the scope (`nethook run` installs a seccomp filter
 * on socket() in its command); -errno on failure.
 */
int nh_ctx_refuse_unhooked(struct nh_ctx *ctx);

/*
 * Handoff: diverted connections with no relay on their data path.
 *
 * A process calls nh_handoff_listen() before it execs the program (as
 * root, or with no_new_privs set): from then on every connect() of it and
 * of its descendants waits for whoever holds the returned descriptor (a
 * seccomp user notification).  It passes that descriptor to
 * nh_ctx_add_handoff(), which takes it.  For each TCP connect() that the
 * context's rules divert, nethook connects the program's own socket to
 * the first proxy of opts.proxy and opens the tunnel through the chain
 * on it; then connect() returns 0 (or the error: a proxy that refuses
 * fails connect() with ECONNREFUSED, say), and the program talks to the
 * proxy itself, as under an LD_PRELOAD proxifier, static and Go programs
 * included.  Every other connect() goes on untouched and meets the rules
 * in the kernel as usual; a connect seccomp cannot see (io_uring, a
 * 32-bit program) still reaches the relay.  Needs a proxy (not
 * direct://) and no socket filters; Linux 5.19 or later
 * (nh_handoff_listen() fails with -EOPNOTSUPP before).  Descriptors
 * are close-on-exec: the listener does not leak into the program.
 */
int nh_handoff_listen(void);
/*
 * User mode (NH_CTX_USER): like nh_handoff_listen(), but it catches what
 * user mode needs, and needs no privilege (it sets no_new_privs):
 * connect(), sendto() and recvfrom() with an address, sendmsg(),
 * sendmmsg(), recvmsg() and getpeername().  io_uring_setup() fails with
 * EPERM; a program of another ABI (32-bit) gets ENOSYS for every system
 * call, and the log says why.  Convenience, not enforcement: a program
 * can change its arguments between nethook's look and the kernel's (from
 * another thread), and calls not caught (recvmmsg, for one) are left as
 * they are.  Linux 5.19 or later.
 */
int nh_user_listen(void);
int nh_ctx_add_handoff(struct nh_ctx *ctx, int listen_fd);

/* Route a connection took, as in the log's "route". */
enum nh_route {
	NH_ROUTE_DIRECT = 0,
	NH_ROUTE_BLOCK = 1,
	NH_ROUTE_REDIRECT = 2,
	NH_ROUTE_DIVERT = 3,
};

/* One event.  Valid only during the callback. */
struct nh_event {
	size_t sz;
	enum nh_event_type type;
	uint64_t ts_ns; /* CLOCK_REALTIME */
	pid_t pid;
	uid_t uid;
	const char *comm;
	const char *exe; /* full path, or the name when exe_partial */
	int exe_partial;
	uint64_t cgroup_id;
	uint64_t cookie; /* the kernel's socket cookie, 0 if unknown */
	int proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6 */
	struct sockaddr_storage orig_dst;
	struct sockaddr_storage new_dst;
	enum nh_route route;
	uint64_t bytes_out;
	uint64_t bytes_in;
	uint64_t duration_ns;
	int established;
	int err; /* positive errno, 0 = none */
	/* diverted flows: the chain, "socks5://192.0.2.10:1080" or "direct" */
	const char *route_desc;
	/* why it failed, in words: "socks5 reply 0x05 connection refused
	 * from 192.0.2.10:1080"; NULL if it did not */
	const char *detail;
	/* a block of a socket refused when it was made (no destination):
	 * the family, type and protocol given to socket(); sock_family is
	 * 0 for every other event */
	int sock_family;
	int sock_type;
	int sock_protocol;
	/* orig_dst is an address the resolver gave for this name (a pool
	 * address): the name the program asked for; NH_EVENT_DNS: the name
	 * queried.  NULL otherwise. */
	const char *orig_name;
	/* NH_EVENT_DNS: the query's type (1 A, 28 AAAA, 12 PTR ...), the
	 * answer's rcode, and the address answered in new_dst (AF_UNSPEC if
	 * none) */
	unsigned int dns_type;
	unsigned int dns_rcode;
	/* the host name the program looked up for orig_dst, the log's
	 * "name": orig_name for a pool address; for any other, the name a
	 * DNS answer the scope received last gave that address (opts.dns
	 * NH_DNS_WATCH); NULL when none is known.  orig_dst stays the
	 * address then. */
	const char *dst_name;
	/* NH_EVENT_END of a connection through proxies: how the handshake
	 * went, "stepwise" (one step per round trip), "pipelined" (the
	 * whole request in one flight) or "optimistic" (and the program's
	 * first bytes with it); NULL when there was none.  handshake_ns:
	 * from the start of the connect to the first proxy until the
	 * tunnel was open. */
	const char *handshake;
	uint64_t handshake_ns;
	/* NH_EVENT_END in user mode (NH_CTX_USER): the bytes went between
	 * the program and the proxy with nothing of nethook's on their way,
	 * and were not counted: bytes_out and bytes_in are 0 and mean
	 * nothing (the log writes null, or leaves them out) */
	int bytes_unknown;
};

/* One address and one port, "192.0.2.1:80" or "[2001:db8::1]:443" (what
 * nh_rule.target takes), into ss as AF_INET or AF_INET6: 0 or -EINVAL. */
int nh_sockaddr_parse(const char *s, struct sockaddr_storage *ss);
/* An address as the log writes it, "192.0.2.1:80", "[2001:db8::1]:443",
 * a v4-mapped one as IPv4, "-" for a family but AF_INET and AF_INET6.
 * Returns the length it needed, like snprintf. */
int nh_sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* One log line for an event, without newline: text ("TS EVENT k=v ...")
 * or JSON.  Returns the length it needed, like snprintf. */
#define NH_FORMAT_JSON 0x1
int nh_event_format(const struct nh_event *ev, unsigned int flags, char *buf,
		    size_t len);

/* Check that the kernel and the privileges have what nethook needs.
 * Each missing feature is named through log at LOG_ERR; each present
 * one at LOG_INFO.  0 when all is there, else -ENOTSUP / -EPERM. */
int nh_check_features(void (*log)(int level, const char *msg, void *user),
		      void *user);
/* What user mode (NH_CTX_USER, nh_user_listen()) needs, tried in a
 * child: seccomp user notification with no_new_privs (Linux 5.19+),
 * pidfd_getfd() and process_vm_readv() on it (Yama ptrace_scope 0 or
 * 1).  Logged as nh_check_features() does; 0, -ENOTSUP or -EPERM. */
int nh_check_user_mode(void (*log)(int level, const char *msg, void *user),
		       void *user);

/* Remove what dead runs left: their cgroups and locks.  Returns how
 * many runs were cleaned. */
int nh_cleanup(void (*log)(int level, const char *msg, void *user), void *user);

const char *nh_version(void);

#ifdef __cplusplus
}
#endif

#endif /* NETHOOK_NETHOOK_H */
