// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A seccomp listener's caller: its memory, its descriptors, who it is,
 * and the answer it waits for. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "nh_notif.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

int nh_notif_seccomp(unsigned int op, unsigned int flags, void *arg)
{
	return (int)syscall(SYS_seccomp, op, flags, arg);
}

int nh_notif_sizes(size_t *req_sz, size_t *resp_sz)
{
	struct seccomp_notif_sizes sz;

	if (nh_notif_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sz))
		return -errno;
	/* the kernel's structs may be larger than ours */
	*req_sz = sz.seccomp_notif > sizeof(struct seccomp_notif) ?
			  sz.seccomp_notif :
			  sizeof(struct seccomp_notif);
	*resp_sz = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ?
			   sz.seccomp_notif_resp :
			   sizeof(struct seccomp_notif_resp);
	return 0;
}

int nh_notif_pidfd(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = 0;
	FILE *f;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	fd = (int)syscall(SYS_pidfd_open, tid, 0);
	if (fd >= 0 || errno != EINVAL)
		return fd;
	/* before Linux 6.9, only a thread-group leader has a pidfd */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
}

void nh_notif_answer(const struct nh_notif_ans *a, uint64_t id, int64_t val,
		     int error, bool go_on)
{
	memset(a->resp, 0, a->resp_sz);
	a->resp->id = id;
	a->resp->val = error ? 0 : val;
	a->resp->error = error;
	a->resp->flags = go_on ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
	/* ENOENT: the caller was killed meanwhile */
	ioctl(a->lfd, SECCOMP_IOCTL_NOTIF_SEND, a->resp);
}

int nh_notif_read(pid_t pid, uint64_t ptr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)ptr, len };

	if (!len)
		return 0;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ?
		       0 :
		       -EFAULT;
}

int nh_notif_write(pid_t pid, uint64_t ptr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)ptr, len };

	if (!len)
		return 0;
	return process_vm_writev(pid, &local, 1, &remote, 1, 0) ==
			       (ssize_t)len ?
		       0 :
		       -EFAULT;
}

int nh_notif_read_addr(pid_t pid, uint64_t ptr, uint64_t len,
		       struct sockaddr_storage *ss, socklen_t *ssl)
{
	if (!ptr || len < sizeof(struct sockaddr_in) || len > sizeof(*ss))
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (nh_notif_read(pid, ptr, ss, (size_t)len))
		return -1;
	if (ss->ss_family == AF_INET6 && len < sizeof(struct sockaddr_in6))
		return -1;
	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return -1;
	*ssl = (socklen_t)len;
	return 0;
}

int nh_notif_write_addr(pid_t pid, uint64_t addr, uint64_t alen_ptr,
			const struct sockaddr_storage *ss)
{
	socklen_t have, len = ss->ss_family == AF_INET6 ?
				      sizeof(struct sockaddr_in6) :
				      sizeof(struct sockaddr_in);

	if (!addr || !alen_ptr)
		return 0;
	if (nh_notif_read(pid, alen_ptr, &have, sizeof(have)))
		return -EFAULT;
	/* truncated as the kernel does, and the full length told */
	if (nh_notif_write(pid, addr, ss, have < len ? have : len) ||
	    nh_notif_write(pid, alen_ptr, &len, sizeof(len)))
		return -EFAULT;
	return 0;
}

int nh_notif_getfd(int lfd, const struct seccomp_notif *q, int fdnum)
{
	int pfd, fd, e;

	/* the pidfd first, then the id check: the descriptor taken is the
	 * caller's */
	pfd = nh_notif_pidfd((pid_t)q->pid);
	if (pfd < 0)
		return -errno;
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &q->id)) {
		e = errno;
		close(pfd);
		return -e;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pfd, fdnum, 0);
	e = errno;
	close(pfd);
	return fd < 0 ? -e : fd;
}

int nh_notif_identity(pid_t tid, uint32_t *pid, uint32_t *uid, char *comm,
		      size_t commlen)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = '\0';
			memcpy(comm, line + 6, strnlen(line + 6, commlen - 1));
		}
		if (!strncmp(line, "Tgid:", 5))
			sscanf(line + 5, "%u", pid);
		else if (!strncmp(line, "Uid:", 4))
			sscanf(line + 4, "%u", uid);
	}
	fclose(f);
	return *pid ? 0 : -ESRCH;
}

int nh_sock_type(int fd)
{
	int type = 0;
	socklen_t l = sizeof(int);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) ? -1 : type;
}

int nh_sock_protocol(int fd)
{
	int proto = 0;
	socklen_t l = sizeof(int);

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) ? -1 :
								       proto;
}

uint64_t nh_sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t l = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l);
	return c;
}
