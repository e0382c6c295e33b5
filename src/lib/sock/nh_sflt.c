// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket filters: the registry, and the calls a diverted socket makes into
 * it.  A registered filter is copied; sockets hold a reference to it, so
 * unregistering stops new sockets at once while attached ones keep it
 * until they detach, and sf_unregistered comes after the last detach.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nh_log.h"
#include "nh_sflt.h"
#include "nh_spec.h"

struct nh_sflt_entry {
	struct nh_sflt_entry *next;
	struct nh_sflt_filter f;
	char name[64];
	int domain;
	unsigned int refs; /* sockets attached, and the registry's own */
	bool removed;
};

/* Callbacks Linux cannot honour for a diverted connection (yet). */
static const struct {
	size_t off;
	const char *name;
} unsupported[] = {
#define U(f)                                           \
	{                                              \
		offsetof(struct nh_sflt_filter, f), #f \
	}
	U(sf_getpeername), U(sf_getsockname), U(sf_connect_in), U(sf_bind),
	U(sf_setoption),   U(sf_getoption),   U(sf_listen),	U(sf_ioctl),
#undef U
};

int nh_sflt_set_init(struct nh_sflt_set *set, const struct nh_logger *lg)
{
	memset(set, 0, sizeof(*set));
	set->lg = lg;
	return -pthread_mutex_init(&set->lock, NULL);
}

static void entry_put(struct nh_sflt_set *set, struct nh_sflt_entry *e)
{
	bool last;

	pthread_mutex_lock(&set->lock);
	last = --e->refs == 0;
	pthread_mutex_unlock(&set->lock);
	if (!last)
		return;
	if (e->f.sf_unregistered)
		e->f.sf_unregistered(e->f.sf_handle);
	free(e);
}

void nh_sflt_set_fini(struct nh_sflt_set *set)
{
	while (set->head)
		nh_sflt_remove(set, set->head->f.sf_handle);
	pthread_mutex_destroy(&set->lock);
}

bool nh_sflt_any(struct nh_sflt_set *set)
{
	return __atomic_load_n(&set->nactive, __ATOMIC_ACQUIRE) != 0;
}

int nh_sflt_add(struct nh_sflt_set *set, const struct nh_sflt_filter *f,
		int domain, bool allow_global)
{
	struct nh_sflt_entry *e, **pp;
	size_t i;

	if (!f || !(f->sf_flags & (NH_SFLT_GLOBAL | NH_SFLT_PROG)) ||
	    (f->sf_flags & ~(NH_SFLT_GLOBAL | NH_SFLT_PROG))) {
		nh_logf(set->lg, LOG_ERR,
			"socket filter: sf_flags must be NH_SFLT_GLOBAL or NH_SFLT_PROG");
		return -EINVAL;
	}
	if ((f->sf_flags & NH_SFLT_GLOBAL) && !allow_global) {
		nh_logf(set->lg, LOG_ERR,
			"socket filter %s: NH_SFLT_GLOBAL hooks every process on the host and needs a context opened with NH_CTX_ALLOW_GLOBAL",
			f->sf_name ? f->sf_name : "?");
		return -EPERM;
	}
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (*(void *const *)((const char *)f + unsupported[i].off)) {
			nh_logf(set->lg, LOG_ERR,
				"socket filter %s: %s is not supported on Linux for diverted connections",
				f->sf_name ? f->sf_name : "?",
				unsupported[i].name);
			return -EOPNOTSUPP;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->f = *f;
	snprintf(e->name, sizeof(e->name), "%s", f->sf_name ? f->sf_name : "");
	e->f.sf_name = e->name;
	e->domain = domain;
	e->refs = 1;
	pthread_mutex_lock(&set->lock);
	for (pp = &set->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->f.sf_handle == f->sf_handle) {
			pthread_mutex_unlock(&set->lock);
			free(e);
			nh_logf(set->lg, LOG_ERR,
				"socket filter %s: handle %u is in use",
				f->sf_name ? f->sf_name : "?", f->sf_handle);
			return -EEXIST;
		}
	}
	*pp = e; /* last: filters run in registration order */
	__atomic_add_fetch(&set->nactive, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&set->lock);
	return 0;
}

int nh_sflt_domain(struct nh_sflt_set *set, nh_sflt_handle h)
{
	struct nh_sflt_entry *e;
	int d = 0;

	pthread_mutex_lock(&set->lock);
	for (e = set->head; e; e = e->next)
		if (e->f.sf_handle == h)
			d = e->domain;
	pthread_mutex_unlock(&set->lock);
	return d;
}

int nh_sflt_remove(struct nh_sflt_set *set, nh_sflt_handle h)
{
	struct nh_sflt_entry *e, **pp;

	pthread_mutex_lock(&set->lock);
	for (pp = &set->head; (e = *pp); pp = &e->next)
		if (e->f.sf_handle == h)
			break;
	if (!e) {
		pthread_mutex_unlock(&set->lock);
		return -ENOENT;
	}
	*pp = e->next;
	e->removed = true;
	__atomic_sub_fetch(&set->nactive, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&set->lock);
	entry_put(set, e); /* the registry's reference */
	return 0;
}

int nh_sflt_attach(struct nh_socket *so)
{
	struct nh_sflt_set *set = so->set;
	struct nh_sflt_entry *e, *cand[NH_SFLT_PER_SOCKET];
	int n = 0, i;

	pthread_mutex_lock(&set->lock);
	for (e = set->head; e && n < NH_SFLT_PER_SOCKET; e = e->next) {
		if (e->domain != so->family)
			continue;
		e->refs++;
		cand[n++] = e;
	}
	pthread_mutex_unlock(&set->lock);
	so->n = 0;
	for (i = 0; i < n; i++) {
		void *cookie = NULL;

		/* non-zero: this filter leaves the socket alone */
		if (cand[i]->f.sf_attach && cand[i]->f.sf_attach(&cookie, so)) {
			entry_put(set, cand[i]);
			continue;
		}
		so->att[so->n].f = cand[i];
		so->att[so->n].cookie = cookie;
		so->n++;
		if (cand[i]->f.sf_data_in || cand[i]->f.sf_data_out)
			so->data = true;
	}
	return so->n;
}

int nh_sflt_connect_out(struct nh_socket *so, char *why, size_t len)
{
	int i, r;

	for (i = 0; i < so->n; i++) {
		const struct nh_sflt_filter *f = &so->att[i].f->f;

		if (!f->sf_connect_out)
			continue;
		r = f->sf_connect_out(so->att[i].cookie, so,
				      (struct sockaddr *)&so->to);
		if (r < 0) {
			snprintf(why, len,
				 "socket filter %s refused the connection: %s",
				 f->sf_name, strerror(-r));
			return r;
		}
		if (so->to.ss_family != AF_INET &&
		    so->to.ss_family != AF_INET6) {
			snprintf(
				why, len,
				"socket filter %s rewrote the destination to address family %d",
				f->sf_name, so->to.ss_family);
			return -EAFNOSUPPORT;
		}
	}
	return 0;
}

int nh_sflt_data(struct nh_socket *so, enum nh_dir dir, int from,
		 struct nh_buf *b)
{
	int i, r;

	for (i = from + 1; i < so->n; i++) {
		const struct nh_sflt_filter *f = &so->att[i].f->f;
		size_t len = b->len;

		r = dir == NH_DIR_OUT ?
			    (f->sf_data_out ?
				     f->sf_data_out(so->att[i].cookie, so,
						    (struct sockaddr *)&so->to,
						    b, 0) :
				     0) :
			    (f->sf_data_in ?
				     f->sf_data_in(so->att[i].cookie, so,
						   (struct sockaddr *)&so->to,
						   b, 0) :
				     0);
		if (r == NH_EJUSTRETURN) {
			/* what it kept: the bytes as it left them (or, if it
			 * emptied the buffer, as they came) */
			__atomic_add_fetch(&so->held[dir],
					   b->len ? b->len : len,
					   __ATOMIC_RELAXED);
			return r;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void nh_sflt_notify(struct nh_socket *so, int event, void *param)
{
	int i;

	for (i = 0; i < so->n; i++)
		if (so->att[i].f->f.sf_notify)
			so->att[i].f->f.sf_notify(so->att[i].cookie, so, event,
						  param);
}

void nh_sflt_detach(struct nh_socket *so, int err)
{
	int i;

	nh_sflt_notify(so, NH_SOCK_EVT_CLOSING, &err);
	so->dead = true;
	for (i = 0; i < so->n; i++) {
		if (so->att[i].f->f.sf_detach)
			so->att[i].f->f.sf_detach(so->att[i].cookie, so);
		entry_put(so->set, so->att[i].f);
	}
	so->n = 0;
}

void nh_buf_init(struct nh_buf *b, uint8_t *data, size_t len)
{
	b->data = data;
	b->len = len;
	b->own = NULL;
	b->cap = len;
}

void nh_buf_fini(struct nh_buf *b)
{
	free(b->own);
	b->own = NULL;
}

NH_API void *nh_buf_data(struct nh_buf *b)
{
	return b ? b->data : NULL;
}

NH_API size_t nh_buf_len(const struct nh_buf *b)
{
	return b ? b->len : 0;
}

NH_API int nh_buf_set(struct nh_buf *b, const void *data, size_t len)
{
	uint8_t *p;

	if (!b || (!data && len))
		return nh_err(-EINVAL);
	if (len <= b->cap) {
		memmove(b->data, data, len);
		b->len = len;
		return 0;
	}
	p = malloc(len);
	if (!p)
		return nh_err(-ENOMEM);
	memcpy(p, data, len); /* data may be the old buffer */
	free(b->own);
	b->own = b->data = p;
	b->len = b->cap = len;
	return 0;
}

NH_API pid_t nh_socket_pid(nh_socket_t so)
{
	return so ? so->pid : -1;
}

NH_API uid_t nh_socket_uid(nh_socket_t so)
{
	return so ? so->uid : (uid_t)-1;
}

NH_API const char *nh_socket_comm(nh_socket_t so)
{
	return so ? so->comm : NULL;
}

NH_API const char *nh_socket_exe(nh_socket_t so)
{
	return so ? (so->exe ? so->exe : so->comm) : NULL;
}

NH_API uint64_t nh_socket_cookie(nh_socket_t so)
{
	return so ? so->cookie : 0;
}

NH_API uint64_t nh_socket_cgroup_id(nh_socket_t so)
{
	return so ? so->cgroup_id : 0;
}

NH_API int nh_socket_peer(nh_socket_t so, struct sockaddr_storage *ss)
{
	if (!so || !ss)
		return nh_err(-EINVAL);
	*ss = so->orig;
	return 0;
}

NH_API const char *nh_socket_peer_name(nh_socket_t so)
{
	return so && so->name && so->name[0] ? so->name : NULL;
}

NH_API int nh_socket_set_peer_name(nh_socket_t so, const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!so || !so->name || n > 253 || n >= so->name_cap)
		return nh_err(-EINVAL);
	/* what a proxy takes as a host name: no blank, no control, no
	 * delimiter of the requests it goes in */
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' ||
		    (unsigned char)name[i] >= 0x7f || strchr("/:@[]", name[i]))
			return nh_err(-EINVAL);
	memcpy(so->name, name ? name : "", n + 1);
	return 0;
}

NH_API int nh_socket_stats(nh_socket_t so, uint64_t *bytes_out,
			   uint64_t *bytes_in)
{
	if (!so)
		return nh_err(-EINVAL);
	if (bytes_out)
		*bytes_out = so->bytes_out ? *so->bytes_out : 0;
	if (bytes_in)
		*bytes_in = so->bytes_in ? *so->bytes_in : 0;
	return 0;
}

static int inject(nh_socket_t so, enum nh_dir dir, nh_sflt_handle from,
		  const void *data, size_t len)
{
	struct nh_inject *it;
	uint64_t one = 1;
	int i, idx = -1;

	if (!so || !so->q)
		return nh_err(-EINVAL);
	for (i = 0; i < so->n; i++)
		if (so->att[i].f->f.sf_handle == from)
			idx = i;
	if (idx < 0)
		return nh_err(-ENOENT);
	it = malloc(sizeof(*it) + (data ? len : 0));
	if (!it)
		return nh_err(-ENOMEM);
	it->next = NULL;
	it->so = so;
	it->dir = dir;
	it->from = idx;
	it->held = len;
	it->len = data ? len : 0;
	if (data)
		memcpy(it->data, data, len);
	pthread_mutex_lock(&so->q->lock);
	*so->q->tail = it;
	so->q->tail = &it->next;
	so->queued++;
	pthread_mutex_unlock(&so->q->lock);
	if (write(so->q->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the worker is awake anyway */
	}
	return 0;
}

NH_API int nh_socket_inject_data_out(nh_socket_t so, nh_sflt_handle from,
				     const void *data, size_t len)
{
	return inject(so, NH_DIR_OUT, from, data, len);
}

NH_API int nh_socket_inject_data_in(nh_socket_t so, nh_sflt_handle from,
				    const void *data, size_t len)
{
	return inject(so, NH_DIR_IN, from, data, len);
}

int nh_inject_queue_init(struct nh_inject_queue *q, int wake_fd)
{
	q->head = NULL;
	q->tail = &q->head;
	q->wake_fd = wake_fd;
	return -pthread_mutex_init(&q->lock, NULL);
}

void nh_inject_queue_fini(struct nh_inject_queue *q)
{
	struct nh_inject *it;

	while ((it = nh_inject_take(q)))
		free(it);
	pthread_mutex_destroy(&q->lock);
}

struct nh_inject *nh_inject_take(struct nh_inject_queue *q)
{
	struct nh_inject *it;

	pthread_mutex_lock(&q->lock);
	it = q->head;
	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = &q->head;
		it->so->queued--;
	}
	pthread_mutex_unlock(&q->lock);
	return it;
}
