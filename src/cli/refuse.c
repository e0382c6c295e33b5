// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `nethook run` without a BPF LSM: the seccomp filter COMMAND gets in
 * its place (how COMMAND is started is spawn.c's). */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "cli.h"

#if defined(__x86_64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_X86_64
#define NH_AUDIT_ARCH32 AUDIT_ARCH_I386
#define NH_X32_BIT 0x40000000u /* x32 programs: same arch, this bit set */
#elif defined(__aarch64__)
#define NH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef NH_X32_BIT
#define NH_X32_BIT 0
#endif
#ifndef NH_AUDIT_ARCH32
#define NH_AUDIT_ARCH32 0 /* no such arch: never matches */
#endif
/* i386 system call numbers, for 32-bit programs on x86_64 */
#define NH_I386_SOCKETCALL 102
#define NH_I386_SOCKET 359
#define NH_SYS_SOCKET 1 /* socketcall()'s call number for socket() */
#define NH_NR_IO_URING_SETUP 425 /* the same on every arch */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NH_ARG_LO(i) offsetof(struct seccomp_data, args[i])
#else
#define NH_ARG_LO(i) (offsetof(struct seccomp_data, args[i]) + 4)
#endif

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))

/*
 * Where no BPF LSM refuses packet sockets and the families that could
 * carry traffic off the host (vsock, XDP, CAN...), a seccomp filter in
 * COMMAND does: socket() of any family but those nh_ctx_refuse_unhooked()
 * allows, and SOCK_PACKET, fail with EPERM.  io_uring, whose socket op
 * no filter sees, cannot be set up (as under Docker's default profile);
 * nor can a 32-bit program make a socket through socketcall(), whose
 * arguments no filter can read.  Raw IP sockets are left to
 * cgroup/sock_create, which logs them: CAP_NET_RAW stays, since without
 * it the kernel would refuse them before any hook saw them.  Installed
 * as root (CAP_SYS_ADMIN), so no no_new_privs: setuid programs work.
 */
int cli_refuse_unhooked_child(void)
{
#ifdef NH_AUDIT_ARCH
	/* jump offsets count from the next instruction; index in [] */
	struct sock_filter f[] = {
		/* [0] */ LD(offsetof(struct seccomp_data, arch)),
		/* [1] */ JEQ(NH_AUDIT_ARCH, 2, 0),
		/* [2] */ JEQ(NH_AUDIT_ARCH32, 7, 0),
		/* [3] */ RET(SECCOMP_RET_ALLOW),
		/* [4] native */ LD(offsetof(struct seccomp_data, nr)),
		/* [5] */ JEQ(__NR_socket, 10, 0),
		/* [6] */ JEQ(__NR_socket | NH_X32_BIT, 9, 0),
		/* [7] */ JEQ(NH_NR_IO_URING_SETUP, 17, 0),
		/* [8] */ JEQ(NH_NR_IO_URING_SETUP | NH_X32_BIT, 16, 0),
		/* [9] */ RET(SECCOMP_RET_ALLOW),
		/* [10] 32-bit */ LD(offsetof(struct seccomp_data, nr)),
		/* [11] */ JEQ(NH_I386_SOCKET, 4, 0),
		/* [12] */ JEQ(NH_NR_IO_URING_SETUP, 12, 0),
		/* [13] */ JEQ(NH_I386_SOCKETCALL, 0, 12),
		/* [14] */ LD(NH_ARG_LO(0)),
		/* [15] */ JEQ(NH_SYS_SOCKET, 9, 10),
		/* [16] socket() */ LD(NH_ARG_LO(1)),
		/* [17] */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),
		/* [18] */ JEQ(SOCK_PACKET, 6, 0),
		/* [19] */ LD(NH_ARG_LO(0)),
		/* [20] */ JEQ(AF_UNIX, 5, 0),
		/* [21] */ JEQ(AF_INET, 4, 0),
		/* [22] */ JEQ(AF_INET6, 3, 0),
		/* [23] */ JEQ(AF_NETLINK, 2, 0),
		/* [24] */ JEQ(AF_ALG, 1, 0),
		/* [25] */ RET(SECCOMP_RET_ERRNO | EPERM),
		/* [26] */ RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) ? -1 : 0;
#else
	errno = EOPNOTSUPP;
	return -1;
#endif
}
