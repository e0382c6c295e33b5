/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User mode: the rules, DNS and the addresses a program sees, kept with
 * no BPF program.  The handoff's thread catches the system calls
 * (nh_user_listen()); connect() it serves itself, the rest here.  A
 * datagram socket whose DNS goes to nethook's resolver has its sends
 * made and its receives read here, so that the answers come from the
 * address the program asked; a diverted socket's getpeername() is the
 * address the program asked, not the proxy's.
 */
#ifndef NH_UMODE_H
#define NH_UMODE_H

#include <stdbool.h>
#include <stdint.h>
#include "nh_bpf_abi.h"
#include "nh_log.h"
#include "nh_notif.h"
#include "nh_report.h"

struct nh_umode_opts {
	const struct nh_bpf_rule *rules; /* copied */
	int nrules;
	struct nh_bpf_addr dns4, dns6; /* the resolver; family 0: none */
	int ep; /* the loop's epoll set: receives that wait, wait there */
	const struct nh_notif_ans *ans; /* the listener's, on its thread */
	/* TCP connects no rule takes are made by nethook, and told at
	 * their end (the end events are asked for) */
	bool watch_direct;
	const struct nh_logger *lg;
	void (*report)(void *user, const struct nh_relay_report *r);
	void *user;
};

struct nh_umode;

/* What a socket's entry says. */
enum nh_upeer_kind {
	NH_UPEER_TUNNEL = 1, /* connected elsewhere: getpeername() only */
	NH_UPEER_DGRAM = 2, /* datagrams from via are said to come from orig */
	NH_UPEER_DCONN = 3, /* the same, and connected to via for orig */
	NH_UPEER_SAID = 4, /* nothing but that a refusal of it was told */
};

int nh_umode_new(const struct nh_umode_opts *o, struct nh_umode **out);
/* Waiting receives fail with EINTR; NULL is fine. */
void nh_umode_free(struct nh_umode *u);
/* The first rule for dst from a socket of that family (AF_INET,
 * AF_INET6) and protocol (NH_PROTO_*), or NULL: no rule, it passes. */
const struct nh_bpf_rule *nh_umode_rule(const struct nh_umode *u,
					const struct sockaddr_storage *dst,
					int sock_family, int proto);
/* Where a rule sends a socket of that family and type: the resolver
 * (NH_ACT_DNS) or the rule's target, as that socket reaches it.  0 or
 * -EAFNOSUPPORT. */
int nh_umode_target(const struct nh_umode *u, const struct nh_bpf_rule *r,
		    int sock_family, struct sockaddr_storage *ss,
		    socklen_t *len);
/* The socket (the caller's descriptor fdnum, whose cookie is given)
 * reaches via when it asked for orig. */
void nh_umode_peer_set(struct nh_umode *u, int fdnum, uint64_t cookie,
		       enum nh_upeer_kind kind,
		       const struct sockaddr_storage *orig,
		       const struct sockaddr_storage *via);
/* Who thread tid is (as nh_notif_identity()), remembered a second. */
int nh_umode_identity(struct nh_umode *u, pid_t tid, uint32_t *pid,
		      uint32_t *uid, char comm[NH_COMM_LEN]);
/* A refusal, as a block event (fd may be -1); detail NULL for a rule's
 * own block, which says nothing more. */
void nh_umode_refused(struct nh_umode *u, const struct seccomp_notif *q, int fd,
		      int proto, const struct sockaddr_storage *dst, int err,
		      const char *detail);
/* A notification other than connect(), answered. */
void nh_umode_notify(struct nh_umode *u, const struct seccomp_notif *q);
/* Receives past their socket's timeout fail (EAGAIN); those whose caller
 * is gone are dropped. */
void nh_umode_expire(struct nh_umode *u);

#endif
