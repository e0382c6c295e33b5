/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs and user space: rule table,
 * per-socket record and ring buffer events.  Fixed-width types only, no
 * pointers, so both sides agree on every offset.
 */
#ifndef NH_BPF_ABI_H
#define NH_BPF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define NH_MAX_RULES 256
/* Diverted connections the kernel holds for the relay at once, from the
 * SYN until the relay takes them (the flows map) */
#define NH_MAX_FLOWS 65536
#define NH_COMM_LEN 16
#define NH_PATH_LEN 256

/* What a rule does; also the "route" a socket took. */
enum nh_act {
	NH_ACT_PASS = 0,
	NH_ACT_BLOCK = 1,
	NH_ACT_REDIRECT = 2,
	NH_ACT_DIVERT = 3,
	/* DNS to nethook's resolver (dns4/dns6): never logged by the
	 * kernel, the resolver tells what it answered */
	NH_ACT_DNS = 4,
};

#define NH_PROTO_TCP 0x1
#define NH_PROTO_UDP 0x2

/* Report a PASS as a "connect" event even when those are not asked for. */
#define NH_RULE_F_LOG 0x1

/* Address in IPv6 form: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d). */
struct nh_bpf_addr {
	__u8 addr[16];
	__u16 port; /* host byte order */
	__u8 family; /* 4, 6 or 0 (none) */
	__u8 pad;
};

struct nh_bpf_rule {
	__u8 addr[16]; /* network prefix, IPv6 form */
	__u8 prefix; /* 0..128, over the IPv6 form */
	__u8 action; /* enum nh_act */
	__u8 protos; /* NH_PROTO_* this rule applies to */
	__u8 flags; /* NH_RULE_F_* */
	__u16 port_lo; /* host byte order, inclusive */
	__u16 port_hi;
	__s32 err; /* NH_ACT_BLOCK: positive errno connect() gets */
	struct nh_bpf_addr target; /* NH_ACT_REDIRECT / NH_ACT_DIVERT */
	__u8 sock_fams; /* NH_FAM_* of the sockets it applies to; 0 = all */
	__u8 pad2[3];
};

/* Value nethook writes in relay_mark for each of its relay's listeners. */
#define NH_RELAY_MARK 0x6e68726cu /* "nhrl" */

#define NH_FAM_INET 0x1
#define NH_FAM_INET6 0x2

/* sock_policy: which new sockets are refused (EPERM) when they are made.
 * REFUSE: every socket the connect/sendmsg hooks cannot see (raw IP,
 * packet, IP protocols other than TCP, UDP and MPTCP, families that can
 * carry traffic off the host). */
#define NH_SOCKPOL_REFUSE 0x1

/* nh_sk_info.handoff: while the tunnel is being opened, user space
 * reports how the connection ends; once open, the kernel does. */
#define NH_HANDOFF_OPENING 1
#define NH_HANDOFF_OPEN 2
#define NH_HANDOFF_ENDED 3 /* the kernel reported the end */
/* nethook asks, just before its connect() of the copy to the first proxy,
 * that the connection to `asked` be handed off: only the kernel's rules
 * say yes (NH_HANDOFF_OPENING) */
#define NH_HANDOFF_ASKED 4

/* How a proxy handshake went (nh_sk_info.hs_mode, the end event's): one
 * step per round trip, the whole request in one flight, or that and the
 * program's first bytes with it. 0: no handshake. */
#define NH_HS_STEPWISE 1
#define NH_HS_PIPELINED 2
#define NH_HS_OPTIMISTIC 3

#define NH_SEND_REFUSE 1 /* refuse, and tell it */
#define NH_SEND_TOLD 2 /* refuse; told already */

/* Per-socket record kept in sk_storage: the socket filter's cookie. */
struct nh_sk_info {
	__u64 created_ns;
	__u64 start_ns; /* connect() */
	__u64 cgroup_id;
	__u32 pid; /* tgid of the creator */
	__u32 uid;
	char comm[NH_COMM_LEN];
	struct nh_bpf_addr orig; /* destination the program asked for */
	struct nh_bpf_addr dst; /* destination after the rules */
	__u8 action; /* enum nh_act taken at connect() */
	__u8 established;
	__u8 proto; /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family; /* 4 or 6: the socket's family */
	__s32 err;
	/* handed off (NH_HANDOFF_*): connected to the first proxy by
	 * nethook, which writes the handshake's bytes here once the tunnel
	 * is open, so the end event counts only the program's bytes */
	__u8 handoff;
	/* NH_SEND_*: a UDP socket connected to an address of nethook's
	 * resolver: connect() succeeds (the C library connects to each
	 * answer to sort them), a datagram is refused as it leaves */
	__u8 send_refused;
	__u8 hs_mode; /* handed off: how the handshake went (nh_pipe_mode) */
	__u8 pad;
	__u32 hs_out;
	__u32 hs_in;
	__u32 hs_us; /* handed off: the handshake's time, microseconds */
	struct nh_bpf_addr asked; /* NH_HANDOFF_ASKED: where the program
				   * wants to go */
	/* the DNS server the program last sent to, when NH_ACT_DNS took
	 * it to nethook's resolver: answers seem to come from there */
	struct nh_bpf_addr dns_peer;
};

enum nh_ev_type {
	NH_EV_CREATE = 1,
	NH_EV_CONNECT = 2,
	NH_EV_BLOCK = 3,
	NH_EV_REDIRECT = 4,
	NH_EV_END = 5,
	NH_EV_EXEC = 6, /* process identity; not a log event */
	NH_EV_FORK = 7,
	NH_EV_DNS_SEEN = 8, /* a DNS answer the scope received; not a log
			     * event */
};

#define NH_EVMASK(t) (1u << (t))

/* NH_EV_CREATE .. NH_EV_END */
struct nh_bpf_event {
	__u32 type;
	__u32 pid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u64 cookie; /* socket cookie */
	__u64 cgroup_id;
	__u64 duration_ns;
	__u64 bytes_out;
	__u64 bytes_in;
	__u32 uid;
	__s32 err; /* positive errno, 0 = none */
	__u8 proto; /* IPPROTO_* */
	__u8 family; /* socket family: 4 or 6 */
	__u8 action; /* enum nh_act: route */
	__u8 established;
	/* NH_EV_BLOCK of a socket refused when it was made (no destination):
	 * socket()'s arguments; sk_family 0 for every other event */
	__u8 sk_family;
	__u8 sk_type;
	__u16 sk_protocol;
	char comm[NH_COMM_LEN];
	struct nh_bpf_addr orig;
	struct nh_bpf_addr dst;
	/* NH_EV_END of a handed-off connection: its handshake's mode and
	 * time (nh_sk_info.hs_mode, hs_us); 0 otherwise */
	__u32 hs_mode;
	__u32 hs_us;
};

#define NH_EXE_DEPTH 24 /* path components walked up from the file */
#define NH_EXE_COMP 64

/* NH_EV_EXEC */
struct nh_bpf_proc_event {
	__u32 type;
	__u32 pid;
	/* exec: components of the executable's path, leaf first, walked in
	 * the kernel (so a relative execve("./x") of a process gone by the
	 * time we read this is still known in full); ncomp with
	 * NH_EXE_WHOLE when the walk reached the root */
	__u32 ncomp;
	char comm[NH_COMM_LEN];
	char path[NH_PATH_LEN]; /* exec: file name as given to execve() */
	char comp[NH_EXE_DEPTH][NH_EXE_COMP];
};

#define NH_EXE_WHOLE 0x80000000u

/* NH_EV_FORK: a child inherits its parent's executable */
struct nh_bpf_fork_event {
	__u32 type;
	__u32 pid; /* the child */
	__u32 ppid;
	__u32 pad;
};

/* NH_EV_DNS_SEEN: the start of a DNS message from UDP port 53, as a
 * socket of the scope received it (IPv4, or IPv6 without extension
 * headers).  512 bytes: a plain DNS answer over UDP, and room for the
 * answer section of nearly every EDNS one; a longer message is cut
 * (wire_len says so) and its records are then not read. */
#define NH_DNS_SEEN_MAX 512

struct nh_bpf_dns_event {
	__u32 type;
	__u16 len; /* bytes in data */
	__u16 wire_len; /* the DNS message's length as received */
	__u8 data[NH_DNS_SEEN_MAX];
};

/*
 * A diverted connection, as the relay sees it after accept(): the client's
 * address and port and the relay's port.  Written by sockops before the
 * SYN leaves, so it exists by the time the relay can accept.
 */
struct nh_flow_key {
	__u8 caddr[16]; /* IPv6 form */
	__u16 cport; /* host byte order */
	__u16 rport;
};

struct nh_flow_val {
	struct nh_bpf_addr orig;
	__u64 cookie;
	__u64 cgroup_id;
	__u64 start_ns;
	__u32 pid;
	__u32 uid;
	char comm[NH_COMM_LEN];
	__u8 family; /* the program's socket: 4 or 6 */
	/* the program's socket took the relay's SYN-ACK: the relay's
	 * side of this 4-tuple is that socket's connection */
	__u8 established;
	__u8 pad[6];
};

#endif /* NH_BPF_ABI_H */
