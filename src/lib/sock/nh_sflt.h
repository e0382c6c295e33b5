/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Socket filters: the registry, and a diverted socket's view of it. */
#ifndef NH_SFLT_INT_H
#define NH_SFLT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "nethook/sflt.h"
#include "nh_base.h"
#include "nh_bpf_abi.h"
#include "nh_log.h"

#define NH_SFLT_PER_SOCKET 8

struct nh_sflt_entry; /* one registered filter */

/* The registry: one per context, shared with the relay's workers. */
struct nh_sflt_set {
	pthread_mutex_t lock;
	struct nh_sflt_entry *head; /* registration order */
	const struct nh_logger *lg;
	unsigned int nactive;
};

enum nh_dir { NH_DIR_OUT = 0, NH_DIR_IN = 1 };

struct nh_inject {
	struct nh_inject *next;
	struct nh_socket *so;
	enum nh_dir dir;
	int from; /* index of the filter that injects; -1: none */
	size_t held; /* what it releases of what it held */
	size_t len;
	uint8_t data[];
};

/* Where a socket's injected bytes go: its relay worker's queue. */
struct nh_inject_queue {
	pthread_mutex_t lock;
	struct nh_inject *head, **tail;
	int wake_fd;
};

struct nh_socket {
	struct nh_sflt_set *set;
	struct nh_inject_queue *q;
	void *flow; /* the relay's flow, for its data path */
	pid_t pid;
	uid_t uid;
	uint64_t cookie;
	uint64_t cgroup_id;
	char comm[NH_COMM_LEN + 1];
	char *exe;
	struct sockaddr_storage orig; /* as the program asked */
	struct sockaddr_storage to; /* after sf_connect_out */
	/* the name the relay asks the proxy for (the flow's buffer), "" for
	 * the address; NULL when nothing can carry one */
	char *name;
	size_t name_cap;
	int family; /* the program's socket: AF_INET or AF_INET6 */
	uint64_t *bytes_out, *bytes_in;
	int n;
	struct {
		struct nh_sflt_entry *f;
		void *cookie;
	} att[NH_SFLT_PER_SOCKET];
	size_t held[2]; /* bytes filters keep, per direction */
	unsigned int queued; /* injects not yet taken by the worker */
	bool dead; /* detached: injects are dropped */
	bool data; /* some filter sees the bytes: no splice */
};

struct nh_buf {
	uint8_t *data;
	size_t len;
	uint8_t *own; /* what nh_buf_set allocated */
	size_t cap;
};

int nh_sflt_set_init(struct nh_sflt_set *set, const struct nh_logger *lg);
void nh_sflt_set_fini(struct nh_sflt_set *set);
bool nh_sflt_any(struct nh_sflt_set *set);
int nh_sflt_add(struct nh_sflt_set *set, const struct nh_sflt_filter *f,
		int domain, bool allow_global);
int nh_sflt_remove(struct nh_sflt_set *set, nh_sflt_handle h);
/* the domain a handle was registered for; 0 if none */
int nh_sflt_domain(struct nh_sflt_set *set, nh_sflt_handle h);

/* A diverted connection meets the filters: sf_attach for each, in order.
 * Returns the number attached. */
int nh_sflt_attach(struct nh_socket *so);
/* sf_connect_out for each, in order; so->to may be rewritten. */
int nh_sflt_connect_out(struct nh_socket *so, char *why, size_t len);
/* The bytes of one read, through the filters after index from (-1: all).
 * 0: pass b on; NH_EJUSTRETURN: held; < 0: reset. */
int nh_sflt_data(struct nh_socket *so, enum nh_dir dir, int from,
		 struct nh_buf *b);
void nh_sflt_notify(struct nh_socket *so, int event, void *param);
/* sf_detach for each; sf_unregistered for a removed filter's last. */
void nh_sflt_detach(struct nh_socket *so, int err);

void nh_buf_init(struct nh_buf *b, uint8_t *data, size_t len);
void nh_buf_fini(struct nh_buf *b);

int nh_inject_queue_init(struct nh_inject_queue *q, int wake_fd);
void nh_inject_queue_fini(struct nh_inject_queue *q);
/* Take what was queued, oldest first; the caller frees each. */
struct nh_inject *nh_inject_take(struct nh_inject_queue *q);

#endif
