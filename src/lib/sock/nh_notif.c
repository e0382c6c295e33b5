// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A seccomp listener: the filters that make one (the handoff's and user
 * mode's), and its caller: its memory, its descriptors, who it is, and
 * the answer it waits for. */
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
#include <stddef.h>
#include <sys/prctl.h>
#include <linux/filter.h>
#include "nethook/nethook.h"
#include "nh_base.h"
#include "nh_notif.h"
#include "nh_spec.h"
#include "nh_time.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

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

	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) ? -1 : proto;
}

int nh_sock_domain(int fd)
{
	int fam = AF_INET;
	socklen_t l = sizeof(fam);

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &fam, &l);
	return fam;
}

void nh_notif_refusal(const struct seccomp_notif *q, int fd, int proto,
		      const struct sockaddr_storage *dst, int err,
		      const char *detail, struct nh_relay_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->id.pid = q->pid;
	rep->id.start_ns = rep->end_ns = nh_now_ns();
	rep->id.family = dst->ss_family == AF_INET6 ? 6 : 4;
	nh_addr_from_sockaddr((const void *)dst, &rep->id.orig);
	if (fd >= 0)
		rep->id.cookie = nh_sock_cookie(fd);
	rep->proto = proto;
	rep->err = err;
	rep->blocked = true;
	rep->handoff = true;
	if (detail)
		snprintf(rep->detail, sizeof(rep->detail), "%s", detail);
}

uint64_t nh_sock_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t l = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &l);
	return c;
}

#ifdef NH_AUDIT_ARCH
static int listen_install(struct sock_filter *f, unsigned short n)
{
	struct sock_fprog prog = { n, f };
	int fd;

	/* killable only: a signal must not cut a connect() short while we
	 * talk on its socket, or the program could send before the tunnel
	 * is open (Go retries an interrupted connect by polling) */
	fd = nh_notif_seccomp(SECCOMP_SET_MODE_FILTER,
			      SECCOMP_FILTER_FLAG_NEW_LISTENER |
				      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			      &prog);
	if (fd < 0 && errno == EINVAL)
		return nh_err(-EOPNOTSUPP);
	if (fd < 0)
		return nh_err(-errno);
	return fd;
}
#endif

NH_API int nh_handoff_listen(void)
{
#ifdef NH_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		/* another ABI (a 32-bit program): its connects reach the
		 * relay, through the cgroup hook */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NH_AUDIT_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return listen_install(f, sizeof(f) / sizeof(f[0]));
#else
	return nh_err(-EOPNOTSUPP);
#endif
}

/* offset of the low and high words of argument n */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define ARG_HI(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#else
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#define ARG_HI(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#endif

NH_API int nh_user_listen(void)
{
#ifdef NH_AUDIT_ARCH
	/* jump offsets count from the next instruction: NOTIFY is at 18,
	 * EPERM at 19 */
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
		/* 1: another ABI is not followed: told and refused */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NH_AUDIT_ARCH, 0, 16),
		/* 2 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		/* 3: x32 */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 14, 0),
		/* 4: io_uring sends where no filter looks */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 14, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 12, 0),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 11, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, 10, 0),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_recvmsg, 9, 0),
		/* 9 */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpeername, 8, 0),
		/* 10, 11: with an address only (argument 4) */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_recvfrom, 1, 0),
		/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(4)),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
		/* 15 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(4)),
		/* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		/* 17 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 18 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		/* 19 */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
	};

	/* what an unprivileged process needs to install a filter; a
	 * set-user-ID program under it runs without its privileges */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return nh_err(-errno);
	return listen_install(f, sizeof(f) / sizeof(f[0]));
#else
	return nh_err(-EOPNOTSUPP);
#endif
}
