/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the handoff and user mode share of a seccomp user-notification
 * listener: the caller's memory, its descriptors, who it is, and the
 * answer.  Whatever is read of the caller is trusted only once
 * nh_notif_getfd() (or SECCOMP_IOCTL_NOTIF_ID_VALID) has said the
 * notification is still alive: then the pid was not reused.
 */
#ifndef NH_NOTIF_H
#define NH_NOTIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include "nh_report.h"

/* The ABI the listeners follow; another (a 32-bit program) is not
 * theirs. */
#if defined(__x86_64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NH_AUDIT_ARCH AUDIT_ARCH_I386
#endif

struct nh_notif_ans {
	int lfd; /* the listener */
	struct seccomp_notif_resp *resp;
	size_t resp_sz; /* the kernel's size, maybe larger than ours */
};

int nh_notif_seccomp(unsigned int op, unsigned int flags, void *arg);
/* The sizes of the kernel's structs, and an answer buffer: 0 or -errno */
int nh_notif_sizes(size_t *req_sz, size_t *resp_sz);
/* A pidfd for a thread (a thread-group leader's before Linux 6.9). */
int nh_notif_pidfd(pid_t tid);
/* The system call returns val (error 0), fails with error (-errno), or
 * runs as the caller made it (go_on). */
void nh_notif_answer(const struct nh_notif_ans *a, uint64_t id, int64_t val,
		     int error, bool go_on);
/* len bytes at ptr in the caller's memory: 0 or -EFAULT */
int nh_notif_read(pid_t pid, uint64_t ptr, void *buf, size_t len);
int nh_notif_write(pid_t pid, uint64_t ptr, const void *buf, size_t len);
/* An AF_INET or AF_INET6 address the caller passed: 0 or -1 */
int nh_notif_read_addr(pid_t pid, uint64_t ptr, uint64_t len,
		       struct sockaddr_storage *ss, socklen_t *ssl);
/* Give the caller an address as getpeername()/recvfrom() do: at most
 * *alen bytes of it at addr, its length at alen_ptr.  0 or -EFAULT. */
int nh_notif_write_addr(pid_t pid, uint64_t addr, uint64_t alen_ptr,
			const struct sockaddr_storage *ss);
/* A copy of the caller's descriptor fdnum, once the notification is known
 * to be alive: >= 0, or -errno. */
int nh_notif_getfd(int lfd, const struct seccomp_notif *q, int fdnum);
/* A refused call as the report of a block (fd -1: no socket; detail
 * NULL: none, as a rule's own block); who the caller is stays the
 * caller's to fill in: rep->id.pid, uid and comm. */
void nh_notif_refusal(const struct seccomp_notif *q, int fd, int proto,
		      const struct sockaddr_storage *dst, int err,
		      const char *detail, struct nh_relay_report *rep);
/* Who the caller is, from /proc: its process, user and command. */
int nh_notif_identity(pid_t tid, uint32_t *pid, uint32_t *uid, char *comm,
		      size_t commlen);
/* SOCK_STREAM, SOCK_DGRAM ... of a socket, or -1 */
int nh_sock_type(int fd);
/* its IPPROTO_*, or -1 */
int nh_sock_protocol(int fd);
/* its AF_INET or AF_INET6 (AF_INET if it cannot be told) */
int nh_sock_domain(int fd);
/* its SO_COOKIE, 0 if none */
uint64_t nh_sock_cookie(int fd);

#endif
