/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF side: the programs loaded, attached, pinned; their maps and ring. */
#ifndef NH_BPF_H
#define NH_BPF_H

#include <stddef.h>
#include <stdint.h>
#include "nh_bpf_abi.h"
#include "nh_log.h"

struct nh_bpf;
int nh_bpf_open(const struct nh_logger *lg, int cgroup_fd, unsigned int ev_mask,
		int (*cb)(void *user, void *data, size_t len), void *user,
		struct nh_bpf **out);
void nh_bpf_close(struct nh_bpf *b);
int nh_bpf_add_rule(struct nh_bpf *b, const struct nh_bpf_rule *r);
int nh_bpf_fd(const struct nh_bpf *b);
int nh_bpf_poll(struct nh_bpf *b, int timeout_ms);
uint64_t nh_bpf_lost(const struct nh_bpf *b);
int nh_bpf_flows_fd(const struct nh_bpf *b);
int nh_bpf_nr_rules(const struct nh_bpf *b);
int nh_bpf_rule_disable(struct nh_bpf *b, int idx);
/* pin the scope's links (and those attached later) in dir; unpinned by
 * nh_bpf_close() */
int nh_bpf_pin(struct nh_bpf *b, const char *dir);
/* attach the cgroup programs to one more cgroup (NH_SFLT_GLOBAL) */
int nh_bpf_attach_cgroup(struct nh_bpf *b, int cgroup_fd);
void nh_bpf_set_relay(struct nh_bpf *b, const struct nh_bpf_addr *a4,
		      const struct nh_bpf_addr *a6, uint32_t tgid,
		      uint64_t netns);
/* a listening socket of the relay: connections may be diverted to it */
int nh_bpf_mark_relay(struct nh_bpf *b, int listen_fd);
/* Who made each socket, from the kernel, before it connects. */
int nh_bpf_attach_create(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_lsm_loaded(const struct nh_bpf *b);
int nh_bpf_attach_lsm(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_attach_ping(struct nh_bpf *b, int cgroup_fd);
int nh_bpf_refuse_sockets(struct nh_bpf *b, int cgroup_fd, unsigned int pol);
/* DNS to nethook's resolver, its answers from where the program asked */
int nh_bpf_attach_dns(struct nh_bpf *b, int cgroup_fd,
		      const struct nh_bpf_addr *a4, const struct nh_bpf_addr *a6);
/* DNS answers the scope receives reach the ring (NH_EV_DNS_SEEN) */
int nh_bpf_attach_dns_watch(struct nh_bpf *b, int cgroup_fd);
/* connect() of a program's socket by the relay goes to the first proxy */
void nh_bpf_set_handoff(struct nh_bpf *b, const struct nh_bpf_addr *to);
int nh_bpf_sk_info_fd(const struct nh_bpf *b);

#endif
