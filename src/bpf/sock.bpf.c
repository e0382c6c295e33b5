// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The socket filter in the kernel: per-socket record at creation, rules at
 * connect()/sendmsg(), the original peer restored at getpeername(), and a
 * TCP connection's end reported with its byte counts.  Attached to one
 * cgroup v2 only; every program goes on (NH_PROCEED) unless a rule says
 * no.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "nh_bpf_abi.h"
#include "nh_rule_match.h"

/* What a cgroup program returns (sock_addr, sock_create, skb, sockops,
 * lsm_cgroup): go on, or refuse: the call fails with the error
 * bpf_set_retval() gave, else EPERM (a datagram is dropped). */
#define NH_PROCEED 1
#define NH_REFUSE 0
/* tracepoints: their return value means nothing */
#define NH_TP_DONE 0

/* Named once, here: the socket layer's numbers (<sys/socket.h>,
 * <netinet/in.h>, <errno.h>) are not in vmlinux.h as macros.  SOCK_* and
 * IPPROTO_* are, as enums, all but IPPROTO_ICMPV6. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_ALG 38
#define AF_PACKET 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
/* iphdr.frag_off: more fragments, and the offset */
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IPPROTO_ICMPV6 58
#define EPERM 1
#define EXDEV 18
#define EAFNOSUPPORT 97
#define ENETUNREACH 101
#define ECONNABORTED 103
#define ECONNRESET 104
#define ENOBUFS 105
#define ETIMEDOUT 110
#define ECONNREFUSED 111
/* sk_shutdown bits (include/net/sock.h) */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Which events user space asked for (NH_EVMASK bits): set before the
 * load, never after, so the verifier drops the code of those not asked. */
const volatile __u32 ev_mask = 0;

/* Rules, first match wins; nr_rules may grow while loaded. */
__u32 nr_rules = 0;
/* Ring buffer records lost because it was full. */
__u64 lost_events = 0;
/* The relay: where NH_ACT_DIVERT sends connections, its own process
 * (never hooked, so nothing loops) and its network namespace. */
struct nh_bpf_addr relay4 = {};
struct nh_bpf_addr relay6 = {};
__u32 relay_tgid = 0;
__u64 relay_netns = 0;
/* nethook's resolver, where NH_ACT_DNS sends DNS (UDP and TCP on the
 * same port): family 0 while there is none */
struct nh_bpf_addr dns4 = {};
struct nh_bpf_addr dns6 = {};
/* Handoff: the relay connects a program's own socket, which it holds a
 * copy of, to the first proxy (handoff_to) and opens the tunnel on it;
 * 0 when nethook does not catch connect() that way. */
__u32 handoff_on = 0;
struct nh_bpf_addr handoff_to = {};
/* NH_SOCKPOL_*: new sockets refused, see sock_refused() */
__u32 sock_policy = 0;
/* sock_create records who made each socket (create events, handoff) */
__u32 create_record = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NH_MAX_RULES);
	__type(key, __u32);
	__type(value, struct nh_bpf_rule);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct nh_sk_info);
} sk_info SEC(".maps");

/* The relay's listening sockets, marked by nethook (NH_RELAY_MARK): the
 * mark goes with the socket, so a listener found on the relay's port
 * without it is not nethook's. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} relay_mark SEC(".maps");

/* Not an LRU map: an entry pushed out by newer ones would be a diverted
 * connection refused by the relay with nothing to tell its end.  A full
 * map files nothing more, and the kernel tells those ends itself
 * (flow_record(), flow_closed()). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NH_MAX_FLOWS);
	__type(key, struct nh_flow_key);
	__type(value, struct nh_flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* The scope cgroup, for the process tracepoints (they are not per-cgroup). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope SEC(".maps");

/* Wake the reader only once a batch has built up: a wake-up per short
 * connection costs more than the event.  User space also reads on a
 * short timer, so a lone event waits at most that long. */
#define NH_WAKE_BYTES (32 * sizeof(struct nh_bpf_event))

static __always_inline __u64 wake_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= NH_WAKE_BYTES ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

static __always_inline int ev_wanted(__u32 type)
{
	return ev_mask & NH_EVMASK(type);
}

static __always_inline struct nh_sk_info *info_get(struct bpf_sock *sk,
						   int create)
{
	if (!sk)
		return 0;
	return bpf_sk_storage_get(&sk_info, sk, 0,
				  create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* Fill identity from the current task (process context only). */
static __always_inline void info_identity(struct nh_sk_info *si)
{
	si->pid = bpf_get_current_pid_tgid() >> 32;
	si->uid = (__u32)bpf_get_current_uid_gid();
	si->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(si->comm, sizeof(si->comm));
}

/* An event of this type stamped now, the rest zero; NULL (and counted)
 * when the ring buffer is full. */
static __always_inline struct nh_bpf_event *ev_reserve(__u32 type)
{
	struct nh_bpf_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = bpf_ktime_get_ns();
	return e;
}

/* force: a rule asked for this one, whatever the mask says */
static __always_inline void emit_if(__u32 type, const struct nh_sk_info *si,
				    __u64 cookie, __u64 bytes_out,
				    __u64 bytes_in, int force)
{
	struct nh_bpf_event *e;

	if (!force && !ev_wanted(type))
		return;
	e = ev_reserve(type);
	if (!e)
		return;
	e->cookie = cookie;
	e->pid = si->pid;
	e->uid = si->uid;
	e->cgroup_id = si->cgroup_id;
	__builtin_memcpy(e->comm, si->comm, sizeof(e->comm));
	e->proto = si->proto;
	e->family = si->family;
	e->action = si->action;
	e->established = si->established;
	e->err = si->err;
	e->orig = si->orig;
	e->dst = si->dst;
	e->bytes_out = bytes_out;
	e->bytes_in = bytes_in;
	if (si->start_ns && type == NH_EV_END)
		e->duration_ns = e->ts_ns - si->start_ns;
	if (type == NH_EV_END && si->handoff) {
		e->hs_mode = si->hs_mode;
		e->hs_us = si->hs_us;
	}
	bpf_ringbuf_submit(e, wake_flags());
}

static __always_inline void emit(__u32 type, const struct nh_sk_info *si,
				 __u64 cookie, __u64 bytes_out, __u64 bytes_in)
{
	emit_if(type, si, cookie, bytes_out, bytes_in, 0);
}

/* is6 is a constant in each entry point: the verifier refuses a context
 * read whose offset the compiler chose at run time. */
static __always_inline void addr_from_ctx(struct bpf_sock_addr *ctx, int is6,
					  struct nh_bpf_addr *a)
{
	__u32 w[4];

	__builtin_memset(a, 0, sizeof(*a));
	if (!is6) {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		w[3] = ctx->user_ip4;
		a->family = 4;
	} else {
		w[0] = ctx->user_ip6[0];
		w[1] = ctx->user_ip6[1];
		w[2] = ctx->user_ip6[2];
		w[3] = ctx->user_ip6[3];
		a->family = 6;
	}
	__builtin_memcpy(a->addr, w, 16);
	a->port = bpf_ntohs((__u16)ctx->user_port);
}

/* Write `a` as the address connect() goes to; -errno if the socket's
 * family cannot carry it. */
static __always_inline int addr_to_ctx(struct bpf_sock_addr *ctx, int is6,
				       const struct nh_bpf_addr *a)
{
	__u32 w[4];

	__builtin_memcpy(w, a->addr, 16);
	if (!is6) {
		if (a->family != 4)
			return -EAFNOSUPPORT;
		ctx->user_ip4 = w[3];
	} else {
		ctx->user_ip6[0] = w[0];
		ctx->user_ip6[1] = w[1];
		ctx->user_ip6[2] = w[2];
		ctx->user_ip6[3] = w[3];
	}
	ctx->user_port = bpf_htons(a->port);
	return 0;
}

static __always_inline int is_ping(__u32 type, __u32 protocol)
{
	return type == SOCK_DGRAM &&
	       (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6);
}

/* The socket as the rules see it (NH_PROTO_*), and as the log names it
 * (IPPROTO_*).  An ICMP ping socket sends datagrams: UDP to the rules,
 * with no port (see do_connect()). */
static __always_inline __u8 ctx_proto(struct bpf_sock_addr *ctx, __u8 *ipproto)
{
	__u32 type = ctx->type, protocol = ctx->protocol;

	if (type == SOCK_STREAM) {
		*ipproto = IPPROTO_TCP;
		return NH_PROTO_TCP;
	}
	if (type != SOCK_DGRAM)
		return 0;
	*ipproto = is_ping(type, protocol) ? (__u8)protocol : IPPROTO_UDP;
	return NH_PROTO_UDP;
}

/* Same address and port, whatever the family tag says (a v4 proxy reached
 * from an IPv6 socket is ::ffff:a.b.c.d, tagged 6). */
static __always_inline int addr_same_ip(const struct nh_bpf_addr *a,
					const struct nh_bpf_addr *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a->addr, 8);
	__builtin_memcpy(&a1, a->addr + 8, 8);
	__builtin_memcpy(&b0, b->addr, 8);
	__builtin_memcpy(&b1, b->addr + 8, 8);
	return a0 == b0 && a1 == b1 && a->port == b->port;
}

static __always_inline int addr_eq(const struct nh_bpf_addr *a,
				   const struct nh_bpf_addr *b)
{
	return addr_same_ip(a, b) && a->family == b->family;
}

struct lookup_ctx {
	const struct nh_bpf_addr *dst;
	struct nh_bpf_rule *found;
	__u8 proto;
};

static long lookup_one(__u32 i, void *data)
{
	struct lookup_ctx *lc = data;
	struct nh_bpf_rule *r;
	__u32 key = i;

	r = bpf_map_lookup_elem(&rules, &key);
	if (!r)
		return 1;
	if (nh_rule_matches(r, lc->dst->addr, lc->dst->port, lc->proto)) {
		lc->found = r;
		return 1;
	}
	return 0;
}

/* First matching rule for a destination; PASS when none.  bpf_loop, not
 * a bounded loop: the verifier checks the body once, not NH_MAX_RULES
 * times, so loading takes milliseconds, not a second. */
static __always_inline struct nh_bpf_rule *
rules_lookup(const struct nh_bpf_addr *dst, __u8 proto)
{
	struct lookup_ctx lc = { .dst = dst, .proto = proto };
	__u32 n = nr_rules;

	if (!n)
		return 0;
	if (n > NH_MAX_RULES)
		n = NH_MAX_RULES;
	bpf_loop(n, lookup_one, &lc, 0);
	return lc.found;
}

/*
 * Is a socket nethook marked (NH_RELAY_MARK) bound at `to`, TCP or UDP, in
 * the caller's network namespace?  The relay's listeners and the
 * resolver's sockets are.  Its links are pinned and outlive it: once it is
 * gone, the port it held is anyone's, and a connection or a query sent
 * there would reach whoever bound it.
 */
static __always_inline int marked_at(struct bpf_sock_addr *ctx,
				     const struct nh_bpf_addr *to, int tcp)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 *m, w[4], tlen;
	int ok;

	__builtin_memcpy(w, to->addr, 16);
	if (to->family == 4) {
		t.ipv4.daddr = w[3];
		t.ipv4.dport = bpf_htons(to->port);
		tlen = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.daddr, w, 16);
		t.ipv6.dport = bpf_htons(to->port);
		tlen = sizeof(t.ipv6);
	}
	if (tcp)
		sk = bpf_sk_lookup_tcp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, tlen, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	m = bpf_sk_storage_get(&relay_mark, sk, 0, 0);
	ok = m && *m == NH_RELAY_MARK;
	bpf_sk_release(sk);
	return ok;
}

static __always_inline int relay_listening(struct bpf_sock_addr *ctx,
					   const struct nh_bpf_addr *to)
{
	return marked_at(ctx, to, 1);
}

/* The relay's own connects are not hooked.  Its pid alone is not enough:
 * once nethook is dead a process of the scope may be given that pid, and
 * by then the relay's marked listeners are closed (its files go before
 * its pid is free). */
static __always_inline int is_relay(struct bpf_sock_addr *ctx)
{
	if (!relay_tgid ||
	    (__u32)(bpf_get_current_pid_tgid() >> 32) != relay_tgid)
		return 0;
	return bpf_get_netns_cookie(ctx) == relay_netns &&
	       relay_listening(ctx, &relay4);
}

static __always_inline int is_v4mapped(const struct nh_bpf_addr *a)
{
	__u32 w[3];

	__builtin_memcpy(w, a->addr, 12);
	return !w[0] && !w[1] && w[2] == bpf_htonl(0xffff);
}

/* An address nethook's resolver gives out: 198.18.0.0/15, 100::/64. */
static __always_inline int in_pool(const struct nh_bpf_addr *a)
{
	__u32 w[4];

	__builtin_memcpy(w, a->addr, 16);
	if (is_v4mapped(a))
		return (bpf_ntohl(w[3]) & 0xfffe0000) == 0xc6120000;
	return w[0] == bpf_htonl(0x01000000) && !w[1];
}

static __always_inline void emit_pass(struct nh_sk_info *si, __u64 cookie,
				      const struct nh_bpf_rule *r)
{
	emit_if(NH_EV_CONNECT, si, cookie, 0, 0,
		r && (r->flags & NH_RULE_F_LOG));
}

/* To the relay, which must be in this network namespace (a socket of
 * another namespace would reach another loopback, or nothing) and alive.
 * Refused, never let through direct. */
static __always_inline int divert(struct bpf_sock_addr *ctx, int is6,
				  struct nh_sk_info *si, int again)
{
	const struct nh_bpf_addr *to = &relay4;
	int err = 0;

	si->action = NH_ACT_DIVERT;
	if (is6 && !is_v4mapped(&si->orig))
		to = &relay6;
	if (!to->family || bpf_get_netns_cookie(ctx) != relay_netns)
		err = ENETUNREACH;
	else if (!relay_listening(ctx, to))
		err = ECONNREFUSED; /* nethook is gone */
	if (err) {
		si->action = NH_ACT_BLOCK;
		si->err = err;
		if (!again)
			emit(NH_EV_BLOCK, si, bpf_get_socket_cookie(ctx), 0, 0);
		bpf_set_retval(-err);
		return NH_REFUSE;
	}
	err = addr_to_ctx(ctx, is6, to);
	if (err) {
		si->err = -err;
		bpf_set_retval(err);
		return NH_REFUSE;
	}
	si->dst = *to;
	if (!again)
		emit(NH_EV_REDIRECT, si, bpf_get_socket_cookie(ctx), 0, 0);
	return NH_PROCEED;
}

/*
 * A DNS query (connect() or an unconnected sendmsg() to port 53) goes to
 * nethook's resolver instead, which must be alive and in this network
 * namespace: else refused, never let out.  The program's record keeps
 * the server it asked, so that answers seem to come from there
 * (recvmsg4/6, getpeername4/6).  No event: the resolver tells what it
 * answered, and a name lookup makes a socket or two each time.
 */
static __always_inline int dns_divert(struct bpf_sock_addr *ctx, int is6,
				      struct nh_sk_info *si,
				      const struct nh_bpf_addr *dst, int tcp)
{
	const struct nh_bpf_addr *to = &dns4;
	int err = 0;

	if (is6 && !is_v4mapped(dst))
		to = &dns6;
	if (!to->family || bpf_get_netns_cookie(ctx) != relay_netns)
		err = ENETUNREACH;
	else if (!marked_at(ctx, to, tcp))
		err = ECONNREFUSED; /* nethook is gone */
	if (!err)
		err = -addr_to_ctx(ctx, is6, to);
	if (err) {
		si->action = NH_ACT_BLOCK;
		si->err = err;
		si->dst = *dst;
		emit(NH_EV_BLOCK, si, bpf_get_socket_cookie(ctx), 0, 0);
		bpf_set_retval(-err);
		return NH_REFUSE;
	}
	si->dns_peer = *dst;
	return NH_PROCEED;
}

/*
 * connect() of a program's socket by nethook, for a handoff.  nethook
 * connects its copy to the first proxy itself, never to where the program
 * asked, and says in the record where the program asked to go: the rules
 * decide on that.  A diverted connection goes on; anything else fails with
 * EXDEV, and nethook lets the program's own connect() run, which meets
 * the rules as usual.  A socket this scope did not make has no record:
 * nethook refuses it before it gets here.
 */
static __always_inline int handoff_connect(struct bpf_sock_addr *ctx, int is6,
					   __u8 proto)
{
	struct nh_sk_info *si = info_get(ctx->sk, 0);
	struct nh_bpf_addr to, dst;
	struct nh_bpf_rule *r;

	if (si && si->pid == relay_tgid)
		return NH_PROCEED; /* the relay's own socket */
	if (!si || si->handoff != NH_HANDOFF_ASKED)
		goto not_mine;
	si->handoff = 0; /* one answer per question */
	if (proto != NH_PROTO_TCP || !handoff_to.family ||
	    bpf_get_netns_cookie(ctx) != relay_netns)
		goto not_mine;
	addr_from_ctx(ctx, is6, &to);
	if (!addr_same_ip(&to, &handoff_to))
		goto not_mine;
	dst = si->asked;
	r = rules_lookup(&dst, nh_rule_proto(proto, is6 ? 6 : 4));
	if (!r || r->action != NH_ACT_DIVERT)
		goto not_mine;
	/* each handoff is a connection of its own (after a failed one, the
	 * socket was disconnected): a new start and a redirect line */
	si->start_ns = bpf_ktime_get_ns();
	si->established = 0;
	si->orig = dst;
	si->proto = IPPROTO_TCP;
	si->family = is6 ? 6 : 4;
	si->err = 0;
	si->action = NH_ACT_DIVERT;
	si->handoff = NH_HANDOFF_OPENING;
	si->hs_out = 0;
	si->hs_in = 0;
	si->hs_mode = 0;
	si->hs_us = 0;
	si->dst = handoff_to;
	emit(NH_EV_REDIRECT, si, bpf_get_socket_cookie(ctx), 0, 0);
	/* the end event names where the tunnel went, as the relay's does */
	si->dst = dst;
	return NH_PROCEED;
not_mine:
	bpf_set_retval(-EXDEV);
	return NH_REFUSE;
}

/* An MPTCP socket connects through its first subflow, a TCP socket the
 * kernel made: the rules ran on the subflow, and getpeername() asks the
 * MPTCP socket, which needs the record too.  Not a subflow: nothing. */
static __always_inline void mptcp_mirror(struct bpf_sock_addr *ctx,
					 const struct nh_sk_info *si)
{
	struct mptcp_sock *msk;
	struct nh_sk_info *m;

	if (!ctx->sk)
		return;
	msk = bpf_skc_to_mptcp_sock(ctx->sk);
	if (!msk)
		return;
	m = bpf_sk_storage_get(&sk_info, msk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (m)
		*m = *si;
}

static __always_inline int do_connect(struct bpf_sock_addr *ctx, int is6)
{
	struct nh_bpf_rule *r;
	struct nh_sk_info *si;
	struct nh_bpf_addr dst;
	__u8 ipproto = 0, proto = ctx_proto(ctx, &ipproto);
	int err, again;

	if (!proto)
		return NH_PROCEED;
	if (is_relay(ctx))
		return handoff_on ? handoff_connect(ctx, is6, proto) : 1;
	addr_from_ctx(ctx, is6, &dst);
	/* an echo request has no port: the one in the address is ignored,
	 * and must not make it match a rule for a UDP port (DNS) */
	if (ipproto != IPPROTO_TCP && ipproto != IPPROTO_UDP)
		dst.port = 0;
	r = rules_lookup(&dst, nh_rule_proto(proto, is6 ? 6 : 4));
	/* nothing to change and nobody asking: leave the socket untouched,
	 * so an unmatched connection costs only the lookup */
	if ((!r || r->action == NH_ACT_PASS) &&
	    !(r && (r->flags & NH_RULE_F_LOG)) && !ev_wanted(NH_EV_CONNECT) &&
	    !ev_wanted(NH_EV_END))
		return NH_PROCEED;
	si = info_get(ctx->sk, 1);
	if (!si)
		return NH_PROCEED;
	if (!si->pid)
		info_identity(si);
	/* the same refused or failed connect() tried again on the socket:
	 * reported once.  A socket that got through once and was then
	 * disconnected (connect(AF_UNSPEC)) makes a new connection. */
	again = si->start_ns && !si->established && addr_eq(&dst, &si->orig);
	if (!again) {
		si->proto = ipproto;
		si->family = is6 ? 6 : 4;
		si->start_ns = bpf_ktime_get_ns();
		si->established = 0;
		si->orig = dst;
	}
	si->err = 0;
	si->dst = dst;
	si->action = NH_ACT_PASS;
	si->handoff = 0;
	si->send_refused = 0;

	if (!r || r->action == NH_ACT_PASS) {
		if (!again)
			emit_pass(si, bpf_get_socket_cookie(ctx), r);
		return NH_PROCEED;
	}
	if (r->action == NH_ACT_BLOCK && ipproto == IPPROTO_UDP &&
	    in_pool(&dst)) {
		/* getaddrinfo() connects a UDP socket to each answer to sort
		 * them, and sends nothing: that connect() goes on, quietly;
		 * a datagram is refused as it leaves (dgram_egress()) */
		si->action = NH_ACT_BLOCK;
		si->err = r->err ? r->err : ECONNREFUSED;
		si->send_refused = NH_SEND_REFUSE;
		return NH_PROCEED;
	}
	if (r->action == NH_ACT_BLOCK) {
		si->action = NH_ACT_BLOCK;
		si->err = r->err ? r->err : ECONNREFUSED;
		if (!again)
			emit(NH_EV_BLOCK, si, bpf_get_socket_cookie(ctx), 0, 0);
		bpf_set_retval(-si->err);
		return NH_REFUSE;
	}
	if (r->action == NH_ACT_DNS) {
		si->action = NH_ACT_DNS;
		return dns_divert(ctx, is6, si, &dst, proto == NH_PROTO_TCP);
	}
	if (r->action == NH_ACT_DIVERT) {
		err = divert(ctx, is6, si, again);
		mptcp_mirror(ctx, si);
		return err;
	}
	err = addr_to_ctx(ctx, is6, &r->target);
	si->action = r->action;
	if (err) {
		si->err = -err;
		si->dst = r->target; /* what it would have gone to */
		if (!again)
			emit(NH_EV_REDIRECT, si, bpf_get_socket_cookie(ctx), 0,
			     0);
		bpf_set_retval(err);
		return NH_REFUSE;
	}
	si->dst = r->target;
	if (si->family == 6 && r->target.family == 4)
		si->dst.family = 6; /* reached as ::ffff:a.b.c.d */
	if (!again)
		emit(NH_EV_REDIRECT, si, bpf_get_socket_cookie(ctx), 0, 0);
	mptcp_mirror(ctx, si);
	return NH_PROCEED;
}

SEC("cgroup/connect4")
int nh_connect4(struct bpf_sock_addr *ctx)
{
	return do_connect(ctx, 0);
}

SEC("cgroup/connect6")
int nh_connect6(struct bpf_sock_addr *ctx)
{
	return do_connect(ctx, 1);
}

/* Unconnected UDP: connect4/6 never see it, so block rules apply here. */
static __always_inline int do_sendmsg(struct bpf_sock_addr *ctx, int is6)
{
	struct nh_bpf_rule *r;
	struct nh_sk_info *si, tmp;
	struct nh_bpf_addr dst;

	if (is_relay(ctx))
		return NH_PROCEED;
	addr_from_ctx(ctx, is6, &dst);
	r = rules_lookup(&dst, nh_rule_proto(NH_PROTO_UDP, is6 ? 6 : 4));
	if (!r || (r->action != NH_ACT_BLOCK && r->action != NH_ACT_DNS &&
		   !(r->flags & NH_RULE_F_LOG)))
		return NH_PROCEED;
	si = info_get(ctx->sk, 1);
	if (r->action == NH_ACT_DNS) {
		/* without a record its answers could not be restored */
		if (!si) {
			bpf_set_retval(-ENOBUFS);
			return NH_REFUSE;
		}
		if (!si->pid)
			info_identity(si);
		si->proto = IPPROTO_UDP;
		si->family = is6 ? 6 : 4;
		return dns_divert(ctx, is6, si, &dst, 0);
	}
	if (!si) {
		__builtin_memset(&tmp, 0, sizeof(tmp));
		si = &tmp;
	}
	if (!si->pid)
		info_identity(si);
	si->proto = IPPROTO_UDP;
	si->family = is6 ? 6 : 4;
	si->orig = dst;
	si->dst = dst;
	if (r->action != NH_ACT_BLOCK) {
		si->action = NH_ACT_PASS;
		si->err = 0;
		emit_pass(si, bpf_get_socket_cookie(ctx), r);
		return NH_PROCEED;
	}
	si->action = NH_ACT_BLOCK;
	si->err = EPERM;
	emit(NH_EV_BLOCK, si, bpf_get_socket_cookie(ctx), 0, 0);
	return NH_REFUSE;
}

SEC("cgroup/sendmsg4")
int nh_sendmsg4(struct bpf_sock_addr *ctx)
{
	return do_sendmsg(ctx, 0);
}

SEC("cgroup/sendmsg6")
int nh_sendmsg6(struct bpf_sock_addr *ctx)
{
	return do_sendmsg(ctx, 1);
}

/* The program sees the address it asked for, not the one it reached. */
static __always_inline int do_getpeername(struct bpf_sock_addr *ctx, int is6)
{
	struct nh_sk_info *si = info_get(ctx->sk, 0);

	if (!si)
		return NH_PROCEED;
	if (si->action == NH_ACT_DNS)
		addr_to_ctx(ctx, is6, &si->dns_peer);
	else if (si->action == NH_ACT_REDIRECT || si->action == NH_ACT_DIVERT)
		addr_to_ctx(ctx, is6, &si->orig);
	return NH_PROCEED;
}

SEC("cgroup/getpeername4")
int nh_getpeername4(struct bpf_sock_addr *ctx)
{
	return do_getpeername(ctx, 0);
}

SEC("cgroup/getpeername6")
int nh_getpeername6(struct bpf_sock_addr *ctx)
{
	return do_getpeername(ctx, 1);
}

/* A datagram from nethook's resolver to a socket whose query it took:
 * from the server the program asked (glibc, musl and Go drop an answer
 * from anyone else). */
static __always_inline int do_recvmsg(struct bpf_sock_addr *ctx, int is6)
{
	struct nh_sk_info *si = info_get(ctx->sk, 0);
	const struct nh_bpf_addr *res = &dns4;
	struct nh_bpf_addr from;

	if (!si || !si->dns_peer.family)
		return NH_PROCEED;
	addr_from_ctx(ctx, is6, &from);
	if (is6 && !is_v4mapped(&from))
		res = &dns6;
	if (res->family && addr_same_ip(&from, res))
		addr_to_ctx(ctx, is6, &si->dns_peer);
	return NH_PROCEED;
}

SEC("cgroup/recvmsg4")
int nh_recvmsg4(struct bpf_sock_addr *ctx)
{
	return do_recvmsg(ctx, 0);
}

SEC("cgroup/recvmsg6")
int nh_recvmsg6(struct bpf_sock_addr *ctx)
{
	return do_recvmsg(ctx, 1);
}

/* Under the policy, may an AF_INET/AF_INET6 socket of this type and
 * (resolved) protocol be made?  Only what connect4/6 and sendmsg4/6 see:
 * TCP, MPTCP (its subflows are TCP sockets that inherit the cgroup) and
 * UDP; ICMP ping sockets too (their datagrams meet the rules as they
 * leave, see dgram_egress()).  Raw sockets, UDP-Lite, SCTP
 * and whatever else an IP protocol may be would reach the network
 * unseen. */
static __always_inline int inet_refused(__u32 type, __u32 protocol)
{
	if (is_ping(type, protocol) || !(sock_policy & NH_SOCKPOL_REFUSE))
		return 0;
	if (type == SOCK_STREAM &&
	    (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP))
		return 0;
	if (type == SOCK_DGRAM && protocol == IPPROTO_UDP)
		return 0;
	return 1;
}

/* The other families: only those whose sockets cannot carry traffic off
 * the host.  AF_UNIX stays on it; AF_NETLINK talks to the kernel (the
 * resolver and every network tool need it; what root may configure
 * through it is root's anyway); AF_ALG is the kernel's crypto API.
 * Packet, XDP, vsock, CAN, Bluetooth, TIPC, RDS, SMC, KCM... are
 * refused. */
static __always_inline int family_refused(__u32 family)
{
	if (!(sock_policy & NH_SOCKPOL_REFUSE))
		return 0;
	return family != AF_UNIX && family != AF_NETLINK && family != AF_ALG &&
	       family != AF_INET && family != AF_INET6;
}

/* A block event for a socket refused when it was made: no destination,
 * socket()'s arguments instead. */
static __always_inline void emit_refused(__u32 family, __u32 type,
					 __u32 protocol)
{
	struct nh_bpf_event *e;

	if (!ev_wanted(NH_EV_BLOCK))
		return;
	e = ev_reserve(NH_EV_BLOCK);
	if (!e)
		return;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (family == AF_INET || family == AF_INET6) {
		e->family = family == AF_INET ? 4 : 6;
		e->proto = protocol < 256 ? (__u8)protocol : 0;
	}
	e->action = NH_ACT_BLOCK;
	e->err = EPERM;
	e->sk_family = (__u8)family;
	e->sk_type = (__u8)type;
	e->sk_protocol = (__u16)protocol;
	bpf_ringbuf_submit(e, wake_flags());
}

/* Identity is captured when the socket is made: later callbacks may run
 * in softirq context, where "current" is whoever happens to be running.
 * Returning 0 makes socket() fail with EPERM. */
SEC("cgroup/sock_create")
int nh_sock_create(struct bpf_sock *sk)
{
	__u32 family = sk->family, type = sk->type, protocol = sk->protocol;
	struct nh_sk_info *si;

	if (family != AF_INET && family != AF_INET6)
		return NH_PROCEED;
	if (inet_refused(type, protocol)) {
		emit_refused(family, type, protocol);
		return NH_REFUSE;
	}
	if (!create_record || (type != SOCK_STREAM && type != SOCK_DGRAM))
		return NH_PROCEED;
	si = info_get(sk, 1);
	if (!si)
		return NH_PROCEED;
	info_identity(si);
	si->created_ns = bpf_ktime_get_ns();
	si->proto = type == SOCK_STREAM	    ? IPPROTO_TCP :
		    is_ping(type, protocol) ? (__u8)protocol :
					      IPPROTO_UDP;
	si->family = family == AF_INET ? 4 : 6;
	emit(NH_EV_CREATE, si, bpf_get_socket_cookie(sk), 0, 0);
	return NH_PROCEED;
}

/* Every family but AF_INET/AF_INET6 (which cgroup/sock_create judges, on
 * the protocol the kernel resolved): only inet_create() and
 * inet6_create() run cgroup/sock_create, so packet sockets and the rest
 * meet the policy here, in the cgroup of the task calling socket().
 * Sockets the kernel makes for itself pass. */
SEC("lsm_cgroup/socket_create")
int BPF_PROG(nh_lsm_socket_create, int family, int type, int protocol, int kern)
{
	if (kern || !family_refused((__u32)family))
		return NH_PROCEED;
	emit_refused((__u32)family, (__u32)type, (__u32)protocol);
	return NH_REFUSE;
}

/* A datagram of a UDP socket connected to an address of nethook's
 * resolver (do_connect()): refused as it leaves, and told once per
 * socket.  Dropping it makes send() fail with EPERM. */
static __always_inline int udp_refused(struct __sk_buff *skb,
				       struct bpf_sock *sk)
{
	struct nh_sk_info *si = bpf_sk_storage_get(&sk_info, sk, 0, 0);

	if (!si || !si->send_refused)
		return NH_PROCEED;
	if (si->send_refused == NH_SEND_REFUSE) {
		si->send_refused = NH_SEND_TOLD;
		si->err = EPERM;
		emit(NH_EV_BLOCK, si, bpf_get_socket_cookie(skb), 0, 0);
	}
	return NH_REFUSE;
}

/* A datagram of a ping socket, on its way out: sendmsg4/6 never run for
 * those (only UDP calls them), so the rules meet each echo request here,
 * as do_sendmsg() meets UDP: as UDP, with no port.  Dropping it makes
 * sendto() fail with EPERM.  A connected ping socket was judged by
 * connect4/6 already; the verdict is the same. */
static __always_inline int dgram_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct nh_sk_info si = {};
	struct nh_bpf_rule *r;
	__u32 w[4];
	int is6;

	if (!sk)
		return NH_PROCEED;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return NH_PROCEED;
	if (sk->type == SOCK_DGRAM && sk->protocol == IPPROTO_UDP)
		return udp_refused(skb, sk);
	if (!is_ping(sk->type, sk->protocol))
		return NH_PROCEED;
	is6 = sk->family == AF_INET6;
	if (is6) {
		if (bpf_skb_load_bytes(skb, offsetof(struct ipv6hdr, daddr), w,
				       16))
			return NH_PROCEED;
		si.orig.family = 6;
	} else {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		if (bpf_skb_load_bytes(skb, offsetof(struct iphdr, daddr),
				       &w[3], 4))
			return NH_PROCEED;
		si.orig.family = 4;
	}
	__builtin_memcpy(si.orig.addr, w, 16);
	r = rules_lookup(&si.orig, nh_rule_proto(NH_PROTO_UDP, is6 ? 6 : 4));
	if (!r || r->action != NH_ACT_BLOCK)
		return NH_PROCEED;
	info_identity(&si);
	si.proto = is6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	si.family = is6 ? 6 : 4;
	si.dst = si.orig;
	si.action = NH_ACT_BLOCK;
	si.err = EPERM;
	emit(NH_EV_BLOCK, &si, bpf_get_socket_cookie(skb), 0, 0);
	return NH_REFUSE;
}

SEC("cgroup_skb/egress")
int nh_ping_egress(struct __sk_buff *skb)
{
	return dgram_egress(skb);
}

/* The DNS header's second word, and where its answer count sits. */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_HDR_LEN 12

struct dns_hdr {
	__u16 id, flags, qdcount, ancount, nscount, arcount;
};

/* Where the UDP header starts in a datagram to a socket of the scope,
 * or -1: not UDP, a fragment (reassembled by now, as a rule), or IPv6
 * with extension headers (which DNS answers do not carry). */
static __always_inline int udp_offset(struct __sk_buff *skb)
{
	struct ipv6hdr ip6;
	struct iphdr ip;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) ||
		    ip.protocol != IPPROTO_UDP ||
		    (ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return -1;
		return ip.ihl * 4;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) ||
		    ip6.nexthdr != IPPROTO_UDP)
			return -1;
		return sizeof(ip6);
	}
	return -1;
}

/*
 * A DNS answer on its way to a program of the scope: its first bytes go
 * to user space, which names the addresses in it (NH_DNS_WATCH).  Only
 * responses from port 53 to a standard query that hold answer records:
 * anything else a socket may receive costs a few loads here and nothing
 * in user space.  Never a verdict: the datagram goes on as it came.
 */
static __always_inline void dns_seen(struct __sk_buff *skb)
{
	struct nh_bpf_dns_event *e;
	struct udphdr uh;
	struct dns_hdr dh;
	/* 64 bits: a 32-bit one is zero-extended into a fresh register,
	 * and the bounds checked there never reach the call's argument */
	__u64 len, ulen;
	int off;

	off = udp_offset(skb);
	if (off < 0 || bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)) ||
	    uh.source != bpf_htons(53))
		return;
	off += sizeof(uh);
	if (bpf_skb_load_bytes(skb, off, &dh, sizeof(dh)))
		return;
	if ((dh.flags & bpf_htons(DNS_F_QR | DNS_F_OPCODE)) !=
		    bpf_htons(DNS_F_QR) ||
	    !dh.ancount)
		return;
	len = skb->len - off;
	ulen = bpf_ntohs(uh.len);
	if (ulen >= sizeof(uh) && ulen - sizeof(uh) < len)
		len = ulen - sizeof(uh);
	if (len < DNS_HDR_LEN || len > 0xffff)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	e->type = NH_EV_DNS_SEEN;
	e->wire_len = (__u16)len;
	if (len > NH_DNS_SEEN_MAX)
		len = NH_DNS_SEEN_MAX;
	/* the verifier needs the clamped length itself in the call, not a
	 * copy clang kept from before the clamp; and a non-zero one */
	barrier_var(len);
	e->len = (__u16)len;
	if (len < DNS_HDR_LEN || bpf_skb_load_bytes(skb, off, e->data, len)) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	bpf_ringbuf_submit(e, wake_flags());
}

SEC("cgroup_skb/ingress")
int nh_dns_ingress(struct __sk_buff *skb)
{
	dns_seen(skb);
	return NH_PROCEED;
}

/*
 * The kernel ended an established connection (a reset, a timeout) but its
 * error is gone already: getsockopt(SO_ERROR) takes sk_err without the
 * socket's lock, so a program asking just then -- curl does, right after
 * connect() returns, which is when a proxy that resets as the tunnel
 * opens does it -- may take it between the kernel setting it and this
 * callback.  Only an abort goes from ESTABLISHED straight to CLOSE; one
 * the program makes (connect(AF_UNSPEC), close() with unread data or
 * SO_LINGER 0) runs under the socket's lock, while a reset or a timer
 * handled in softirq finds the socket unowned.  Only for a handed-off
 * socket, whose peer is the proxy itself: a relayed socket's peer is the
 * relay, whose own end line says how the tunnel ended, and a direct one
 * keeps what the kernel left (a full CI run logged 57 of 1000 relayed
 * connections, whose bodies were whole, as reset with this for all).
 */
static __always_inline bool aborted_untold(const struct bpf_sock_ops *skops,
					   struct tcp_sock *tp)
{
	return skops->args[0] == BPF_TCP_ESTABLISHED &&
	       !tp->inet_conn.icsk_inet.sk.sk_lock.owned;
}

static __always_inline void sockops_state(struct bpf_sock_ops *skops,
					  struct nh_sk_info *si)
{
	__u64 out = skops->bytes_acked, in = skops->bytes_received;
	struct bpf_sock *sk = skops->sk;
	struct tcp_sock *tp;

	if (skops->args[1] != BPF_TCP_CLOSE || !sk ||
	    si->handoff == NH_HANDOFF_OPENING)
		return;
	/* the kernel counts sequence space: the SYN, and each FIN, take
	 * one; the log counts bytes of data */
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp) {
		__u8 shut = tp->inet_conn.icsk_inet.sk.sk_shutdown;
		int sk_err = tp->inet_conn.icsk_inet.sk.sk_err;

		/* reset by the peer, or timed out: set before the state
		 * changes, and not yet taken by the program */
		if (si->established && !si->err && sk_err > 0)
			si->err = sk_err;
		else if (si->handoff && si->established && !si->err &&
			 aborted_untold(skops, tp))
			si->err = tp->inet_conn.icsk_retransmits ||
						  tp->inet_conn.icsk_probes_out ?
					  ETIMEDOUT :
					  ECONNRESET;

		if (out && si->established)
			out--;
		if (out && (shut & SEND_SHUTDOWN) &&
		    tp->snd_una == tp->write_seq)
			out--;
		if (in && (shut & RCV_SHUTDOWN))
			in--;
	}
	if (si->handoff) {
		out = out > si->hs_out ? out - si->hs_out : 0;
		in = in > si->hs_in ? in - si->hs_in : 0;
		/* before the state is stored: nethook, seeing it closed,
		 * knows whether the end was told */
		si->handoff = NH_HANDOFF_ENDED;
	}
	emit(NH_EV_END, si, bpf_get_socket_cookie(skops), out, in);
}

/* The key the relay looks a diverted connection up by: the client's
 * address and port as the relay will see them, and the relay's port. */
static __always_inline void flow_key(struct bpf_sock_ops *skops,
				     const struct nh_sk_info *si,
				     struct nh_flow_key *k)
{
	__u32 w[4];

	__u32 l0 = skops->local_ip6[0], l1 = skops->local_ip6[1];
	__u32 l2 = skops->local_ip6[2], l3 = skops->local_ip6[3];
	__u32 l4 = skops->local_ip4, fam = skops->family;
	__u32 lport = skops->local_port, rport = skops->remote_port;

	/* every field read on every path: a context offset picked at run
	 * time is refused by the verifier */
	if (fam == AF_INET6 && !is_v4mapped(&si->dst)) {
		w[0] = l0;
		w[1] = l1;
		w[2] = l2;
		w[3] = l3;
	} else {
		/* IPv4, or IPv4-mapped: the relay sees an IPv4 peer */
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		w[3] = l4;
	}
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->caddr, w, 16);
	k->cport = (__u16)lport;
	k->rport = (__u16)bpf_ntohl(rport);
}

/* Source address and port are chosen by now, and the SYN not yet sent:
 * the entry is there before the relay can accept the connection. */
static __always_inline void flow_record(struct bpf_sock_ops *skops,
					struct nh_sk_info *si)
{
	struct nh_flow_key k;
	struct nh_flow_val v = {};

	flow_key(skops, si, &k);
	v.orig = si->orig;
	v.cookie = bpf_get_socket_cookie(skops);
	v.cgroup_id = si->cgroup_id;
	v.start_ns = si->start_ns;
	v.pid = si->pid;
	v.uid = si->uid;
	v.family = si->family;
	__builtin_memcpy(v.comm, si->comm, sizeof(v.comm));
	/* the map full: the relay will find no entry and refuse the
	 * connection; its end is told when the socket closes */
	if (bpf_map_update_elem(&flows, &k, &v, BPF_ANY))
		si->err = ENOBUFS;
}

/* The program's socket took the relay's SYN-ACK: only a SYN this socket
 * sent can have been answered so (the ACK must match its own initial
 * sequence number), so from here on the relay's side of this 4-tuple is
 * the connection this socket made.  Marked before the final ACK leaves,
 * hence before the relay can accept that connection. */
static __always_inline void flow_established(struct bpf_sock_ops *skops,
					     struct nh_sk_info *si)
{
	struct nh_flow_key k;
	struct nh_flow_val *v;

	flow_key(skops, si, &k);
	v = bpf_map_lookup_elem(&flows, &k);
	if (v)
		v->established = 1;
}

/*
 * The entry must not outlive the socket it was filed for, or whoever gets
 * that address and port next (any local user can bind a loopback port)
 * could connect to the relay and be taken for the program.  On the way to
 * CLOSE the callback runs before the kernel unhashes the socket and frees
 * its port, so nobody can hold the 4-tuple while the entry is there.
 *
 * One close keeps it: a graceful close that the kernel turns into a
 * TIME_WAIT (or orphaned FIN_WAIT2) socket, which it has put in the hash
 * in this socket's place before this callback (the socket is unhashed by
 * then).  The connection is whole and may still sit in the relay's accept
 * queue with the program's request in it (connect, send, close: a client
 * that does not wait for an answer); the TIME_WAIT socket keeps holding
 * the 4-tuple, and the relay's side of it holds it on the relay's end
 * until the relay takes it, and then removes the entry.
 */
static __always_inline void flow_closed(struct bpf_sock_ops *skops,
					struct nh_sk_info *si)
{
	struct bpf_sock *sk = skops->sk;
	struct nh_flow_key k;
	struct tcp_sock *tp;

	flow_key(skops, si, &k);
	if (skops->args[1] != BPF_TCP_CLOSE || !sk)
		return;
	if (si->err == ENOBUFS) {
		/* never filed (flow_record()): nothing for the relay to
		 * take, however it closed, and no tunnel ever opened */
		si->dst = si->orig;
		si->established = 0;
		emit(NH_EV_END, si, bpf_get_socket_cookie(skops), 0, 0);
		return;
	}
	tp = bpf_skc_to_tcp_sock(sk);
	if (tp && !tp->inet_conn.icsk_inet.sk.__sk_common.skc_nulls_node.pprev)
		return;
	if (bpf_map_delete_elem(&flows, &k))
		return; /* the relay took it, and tells its end */
	/* closed before the relay took it: nothing went further, and
	 * whoever removes the entry tells the end */
	si->err = ECONNABORTED;
	si->dst = si->orig;
	emit(NH_EV_END, si, bpf_get_socket_cookie(skops), 0, 0);
}

/* Relayed: the relay takes the flows entry and reports the end, with its
 * route; the kernel only keeps the entry in step with the socket. */
static __always_inline int relayed(const struct nh_sk_info *si)
{
	return si->action == NH_ACT_DIVERT && !si->handoff;
}

SEC("sockops")
int nh_sockops(struct bpf_sock_ops *skops)
{
	struct nh_sk_info *si;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		si = info_get(skops->sk, 0);
		if (!si)
			break;
		if (relayed(si))
			flow_record(skops, si);
		if (si->action == NH_ACT_DNS)
			break; /* the resolver's: not a connection to log */
		if (relayed(si) || ev_wanted(NH_EV_END))
			bpf_sock_ops_cb_flags_set(
				skops, skops->bpf_sock_ops_cb_flags |
					       BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		si = info_get(skops->sk, 0);
		if (!si)
			break;
		si->established = 1;
		if (relayed(si))
			flow_established(skops, si);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		si = info_get(skops->sk, 0);
		if (!si)
			break;
		if (relayed(si))
			flow_closed(skops, si);
		else
			sockops_state(skops, si);
		break;
	}
	return NH_PROCEED;
}

struct walk_ctx {
	struct nh_bpf_proc_event *e;
	struct dentry *d;
	struct mount *m;
	__u32 n;
	__u32 whole;
};

/* One step up the executable's path: a component, or a mount crossed. */
static long walk_one(__u32 i, void *data)
{
	struct walk_ctx *w = data;
	/* locals, not w->...: CO-RE relocates only kernel types */
	struct dentry *d = w->d, *parent, *root;
	struct mount *m = w->m, *up;
	const unsigned char *name;
	__u32 n = w->n;

	root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == root) {
		up = BPF_CORE_READ(m, mnt_parent);
		if (up == m) {
			w->whole = 1; /* the root of it all */
			return 1;
		}
		w->d = BPF_CORE_READ(m, mnt_mountpoint);
		w->m = up;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) {
		w->whole = 1;
		return 1;
	}
	if (n >= NH_EXE_DEPTH)
		return 1;
	name = BPF_CORE_READ(d, d_name.name);
	if (bpf_probe_read_kernel_str(w->e->comp[n], NH_EXE_COMP, name) < 0)
		return 1;
	w->n = n + 1;
	w->d = parent;
	return 0;
}

/* Process identity for the log: the executable, for processes in scope
 * only.  BTF tracepoints: they need no tracefs mount, and see the task
 * and the file being executed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(nh_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct nh_bpf_proc_event *e;
	struct walk_ctx w = {};
	struct vfsmount *vm;

	if (bpf_current_task_under_cgroup(&scope, 0) != 1)
		return NH_TP_DONE;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NH_TP_DONE;
	}
	e->type = NH_EV_EXEC;
	e->pid = p->tgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->path, sizeof(e->path), bprm->filename);
	w.e = e;
	w.d = BPF_CORE_READ(bprm, file, f_path.dentry);
	vm = BPF_CORE_READ(bprm, file, f_path.mnt);
	w.m = container_of(vm, struct mount, mnt);
	bpf_loop(2 * NH_EXE_DEPTH, walk_one, &w, 0);
	e->ncomp = w.n | (w.whole ? NH_EXE_WHOLE : 0);
	/* at once: the reader may still find the process alive */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return NH_TP_DONE;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(nh_fork, struct task_struct *parent, struct task_struct *child)
{
	struct nh_bpf_fork_event *e;

	/* a new thread shares its process's identity: nothing to learn */
	if (child->pid != child->tgid)
		return NH_TP_DONE;
	if (bpf_current_task_under_cgroup(&scope, 0) != 1)
		return NH_TP_DONE;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NH_TP_DONE;
	}
	e->type = NH_EV_FORK;
	e->pid = child->tgid;
	e->ppid = parent->tgid;
	e->pad = 0;
	bpf_ringbuf_submit(e, wake_flags());
	return NH_TP_DONE;
}
