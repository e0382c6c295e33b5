/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The socket filter: the macOS sflt_register() model on Linux.
 *
 * A filter registered on a context sees every TCP connection its context
 * diverts (NH_RULE_DIVERT; registering a filter on a context with no
 * divert rule diverts every connection of its domain in scope).  The
 * kernel sends such a connection to nethook's relay; there, before
 * anything else, the filter's sf_attach is called with the process
 * identity captured in the kernel, then sf_connect_out with the original
 * destination, which it may rewrite (the classic use: point it at a
 * proxy server).  sf_data_out / sf_data_in see the bytes each way and
 * may change, hold (NH_EJUSTRETURN) or refuse them; sf_detach is called
 * once, after both directions have closed and no held data remains.
 *
 * Callbacks run on the thread that calls nh_ctx_dispatch() when the
 * context's opts.threads is 0 or 1; with N > 1 they run on N workers, all
 * callbacks of one connection on one worker, and filters must be
 * thread-safe.  Several filters on one socket run in registration order
 * for every callback.
 *
 * Linux cannot honour sf_getpeername, sf_getsockname, sf_connect_in,
 * sf_bind, sf_setoption, sf_getoption, sf_listen and sf_ioctl for diverted
 * connections yet: a filter that sets one is refused with -EOPNOTSUPP and
 * a log message naming it, never silently ignored.
 */
#ifndef NETHOOK_SFLT_H
#define NETHOOK_SFLT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "nethook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t nh_sflt_handle;
/* Valid from sf_attach until sf_detach returns. */
typedef struct nh_socket *nh_socket_t;
/* The bytes of one read or write, in place. */
struct nh_buf;

/* Every new socket on the host (attach at the cgroup v2 root); needs a
 * context opened with NH_CTX_ALLOW_GLOBAL. */
#define NH_SFLT_GLOBAL 0x1
/* Only sockets in the context's scope. */
#define NH_SFLT_PROG 0x2

/* sf_notify events; param is NULL unless said otherwise. */
enum nh_sock_event {
	NH_SOCK_EVT_CONNECTED = 1, /* the way to the destination is open */
	NH_SOCK_EVT_SHUTDOWN_OUT = 2, /* the program finished sending */
	NH_SOCK_EVT_SHUTDOWN_IN = 3, /* the destination finished sending */
	NH_SOCK_EVT_CLOSING =
		4, /* about to detach; param: int *errno, 0 if clean */
};

struct nh_sflt_filter {
	size_t sz; /* sizeof(struct nh_sflt_filter): the struct may grow */
	nh_sflt_handle sf_handle;
	int sf_flags; /* NH_SFLT_GLOBAL or NH_SFLT_PROG */
	const char *sf_name;
	void (*sf_unregistered)(nh_sflt_handle handle);
	/* non-zero: don't filter this socket (it goes on unfiltered) */
	int (*sf_attach)(void **cookie, nh_socket_t so);
	void (*sf_detach)(void *cookie, nh_socket_t so);
	void (*sf_notify)(void *cookie, nh_socket_t so, int event, void *param);
	int (*sf_getpeername)(void *cookie, nh_socket_t so,
			      struct sockaddr **sa);
	int (*sf_getsockname)(void *cookie, nh_socket_t so,
			      struct sockaddr **sa);
	/* 0: pass on (changed or not); NH_EJUSTRETURN: the filter kept the
	 * bytes; another negative errno: reset the connection */
	int (*sf_data_in)(void *cookie, nh_socket_t so,
			  const struct sockaddr *from, struct nh_buf *data,
			  int flags);
	int (*sf_data_out)(void *cookie, nh_socket_t so,
			   const struct sockaddr *to, struct nh_buf *data,
			   int flags);
	int (*sf_connect_in)(void *cookie, nh_socket_t so,
			     const struct sockaddr *from);
	/* to points at a struct sockaddr_storage: rewrite it in place, family
	 * included; 0 proceeds, a negative errno refuses (reset) */
	int (*sf_connect_out)(void *cookie, nh_socket_t so,
			      struct sockaddr *to);
	int (*sf_bind)(void *cookie, nh_socket_t so, struct sockaddr *to);
	int (*sf_setoption)(void *cookie, nh_socket_t so, int level, int name,
			    const void *val, socklen_t len);
	int (*sf_getoption)(void *cookie, nh_socket_t so, int level, int name,
			    void *val, socklen_t *len);
	int (*sf_listen)(void *cookie, nh_socket_t so);
	int (*sf_ioctl)(void *cookie, nh_socket_t so, unsigned long request,
			void *argp);
};

/* domain AF_INET or AF_INET6 (the socket's family: an IPv4-mapped
 * destination of an AF_INET6 socket reaches an AF_INET6 filter, as
 * sockaddr_in6), type SOCK_STREAM (SOCK_DGRAM: -EOPNOTSUPP until UDP is
 * relayed), protocol 0 or IPPROTO_TCP.  -EINVAL for a filter whose sz is
 * below this struct's size or for sf_flags 0, -EPERM
 * for NH_SFLT_GLOBAL without NH_CTX_ALLOW_GLOBAL, -EEXIST for a handle in
 * use, -EOPNOTSUPP for a callback Linux cannot honour. */
int nh_sflt_register(struct nh_ctx *ctx, const struct nh_sflt_filter *filter,
		     int domain, int type, int protocol);
/* New connections no longer reach the filter; those it is attached to
 * keep it until they detach, then sf_unregistered is called.  -ENOENT
 * for an unknown handle. */
int nh_sflt_unregister(struct nh_ctx *ctx, nh_sflt_handle handle);

/* who and what the socket is */
pid_t nh_socket_pid(nh_socket_t so);
uid_t nh_socket_uid(nh_socket_t so);
const char *nh_socket_comm(nh_socket_t so); /* process name */
const char *
nh_socket_exe(nh_socket_t so); /* executable, as full as can be had */
uint64_t nh_socket_cookie(nh_socket_t so); /* the kernel's socket cookie */
uint64_t nh_socket_cgroup_id(nh_socket_t so);
/* the original destination */
int nh_socket_peer(nh_socket_t so, struct sockaddr_storage *ss);
/* The name the program looked up for that destination, when it is an
 * address nethook's resolver gave (opts.dns): the relay asks the proxy
 * for this name, not for the address.  NULL otherwise.  Valid until the
 * next nh_socket_set_peer_name() or the socket's detach. */
const char *nh_socket_peer_name(nh_socket_t so);
/* From sf_connect_out: have the proxy connect to this name (at most 253
 * characters; the port is the destination's), or, with NULL, to the
 * destination's address as sf_connect_out leaves it.  -EINVAL for a bad
 * name or outside a relayed connection. */
int nh_socket_set_peer_name(nh_socket_t so, const char *name);
int nh_socket_stats(nh_socket_t so, uint64_t *bytes_out, uint64_t *bytes_in);

/* Data held by a filter (sf_data_* returned NH_EJUSTRETURN) is sent on
 * later with these; filters up to and including `from` do not see it
 * again.  Safe from any thread.  len counts against what the filter
 * holds, so a filter that drops held bytes says so with data NULL and the
 * count dropped: a direction's EOF waits until nothing is held. */
int nh_socket_inject_data_out(nh_socket_t so, nh_sflt_handle from,
			      const void *data, size_t len);
int nh_socket_inject_data_in(nh_socket_t so, nh_sflt_handle from,
			     const void *data, size_t len);

void *nh_buf_data(struct nh_buf *b);
size_t nh_buf_len(const struct nh_buf *b);
/* replace the content */
int nh_buf_set(struct nh_buf *b, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NETHOOK_SFLT_H */
