// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Injection: packets sent on as if just sent (a raw socket, marked so
 * that our own chains let them pass) or just received (a tun device our
 * chains skip), after the filters past the injecting one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "nh_ip.h"

/* ---- injection of new packets ---- */

static int raw_open_fn(void *arg)
{
	int *fam = arg, fd, one = 1;

	fd = socket(*fam, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (*fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	return fd;
}

int nh_ipf_send_raw(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	const uint8_t *p = pkt->data;
	struct sockaddr_storage ss;
	socklen_t sl;
	int v = pkt->len ? p[0] >> 4 : 0, fi, fam;
	uint32_t mark = st->skip_mark;

	if (v != 4 && v != 6)
		return -EINVAL;
	fam = v == 6 ? AF_INET6 : AF_INET;
	fi = family_index(fam);
	if (__atomic_load_n(&st->rawfd[fi], __ATOMIC_ACQUIRE) < 0) {
		int fd;

		pthread_mutex_lock(&st->lock);
		if (st->rawfd[fi] >= 0) {
			pthread_mutex_unlock(&st->lock);
			goto have;
		}
		fd = nh_ipf_in_ns(st, raw_open_fn, &fam);
		if (fd >= 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark))) {
			int e = -errno;

			close(fd);
			fd = e;
		}
		if (fd >= 0)
			__atomic_store_n(&st->rawfd[fi], fd, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&st->lock);
		if (fd < 0)
			return fd;
	}
have:
	memset(&ss, 0, sizeof(ss));
	if (v == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		if (pkt->len < 20)
			return -EINVAL;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p + 16, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (pkt->len < 40)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p + 24, 16);
		sl = sizeof(*sin6);
	}
	if (sendto(st->rawfd[fi], p, pkt->len, 0, (struct sockaddr *)&ss, sl) <
	    0)
		return -errno;
	return 0;
}

static int tun_open_fn(void *arg)
{
	struct nh_ipf_state *st = arg;
	struct ifreq ifr;
	char path[128];
	int fd, s, err;
	FILE *f;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "nhi%08x",
		 (unsigned int)getpid() * 64u + (st->skip_mark & 0xffffu));
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		close(fd);
		return err;
	}
	snprintf(st->tun, sizeof(st->tun), "%s", ifr.ifr_name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
			ifr.ifr_flags |= IFF_UP;
			ioctl(s, SIOCSIFFLAGS, &ifr);
		}
		close(s);
	}
	/* packets from anywhere arrive through it */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
		 st->tun);
	f = fopen(path, "we");
	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local",
		 st->tun);
	f = fopen(path, "we");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	return fd;
}

int nh_ipf_send_tun(struct nh_ipf_state *st, struct nh_pkt *pkt)
{
	ssize_t n;

	if (__atomic_load_n(&st->tunfd, __ATOMIC_ACQUIRE) < 0) {
		int fd = -1, fi;

		pthread_mutex_lock(&st->lock);
		if (st->tunfd < 0) {
			fd = nh_ipf_in_ns(st, tun_open_fn, st);
			if (fd >= 0) {
				/* its packets are not hooked again */
				for (fi = 0; fi < 2; fi++)
					if (st->installed[fi])
						nh_ipf_rules_install(
							st, fi ? AF_INET6 :
								 AF_INET);
				__atomic_store_n(&st->tunfd, fd,
						 __ATOMIC_RELEASE);
			}
		}
		pthread_mutex_unlock(&st->lock);
		if (fd < 0 &&
		    __atomic_load_n(&st->tunfd, __ATOMIC_ACQUIRE) < 0) {
			nh_logf(st->lg, LOG_ERR,
				"IP filter: cannot make a tun device for input injection: %s",
				strerror(-fd));
			return fd;
		}
	}
	n = write(st->tunfd, pkt->data, pkt->len);
	return n < 0 ? -errno : 0;
}

static int inject(struct nh_pkt *pkt, nh_ipfilter_t ref, int dir,
		  struct nh_ipf_pktopts *opts)
{
	struct ipf_run *cur_run;
	struct nh_ipf_state *st;
	int r, err = 0, family;
	bool counted = false;

	if (!pkt || !ref) {
		nh_pkt_free(pkt);
		return nh_err(-EINVAL);
	}
	st = ref->st;
	family = ref->family;
	if (pkt->len && (pkt->data[0] >> 4) == 6)
		family = AF_INET6;
	else if (pkt->len && (pkt->data[0] >> 4) == 4)
		family = AF_INET;
	cur_run = run_of(pkt);
	if (cur_run)
		cur_run->cur = NULL; /* handed back from its own callback */
	pkt->q.run = NULL;
	if (pkt->q.state == NH_PKT_HELD && pkt->q.queue == st) {
		/* stays counted until its verdict went: no batch verdict
		 * can cover it meanwhile */
		counted = nh_ipf_held_unhold(st, pkt);
		if (pkt->q.dir != dir) {
			/* the other way: drop the queued one, send a copy */
			uint16_t qn = pkt->q.qnum;

			nh_ipf_verdict_give(st, pkt, false, NULL);
			if (counted)
				nh_ipf_held_uncount(st, qn);
			counted = false;
			pkt->q.state = NH_PKT_NEW;
			pkt->q.queue = NULL;
		}
	} else if (pkt->q.state == NH_PKT_HELD) {
		/* another context's: treat as new */
		nh_ipf_held_freed(pkt);
		pkt->q.state = NH_PKT_NEW;
	}
	pthread_mutex_lock(&st->lock);
	st->xstats.injected++;
	pthread_mutex_unlock(&st->lock);
	if (nh_pkt_own(pkt) < 0) {
		/* borrowed data cannot outlive the dispatch, and there is no
		 * memory to copy it: dropped, and the caller told */
		if (pkt->q.state == NH_PKT_HELD) {
			uint16_t qn = pkt->q.qnum;

			nh_ipf_verdict_give(st, pkt, false, NULL);
			if (counted)
				nh_ipf_held_uncount(st, qn);
		}
		nh_pkt_free(pkt);
		return nh_err(-ENOMEM);
	}
	{
		struct nh_pkt_q qs;
		struct ipf_run run;
		struct nh_pkt *cur;

		run_init(&run, pkt->q.state == NH_PKT_HELD ? pkt : NULL);
		qs = pkt->q;
		r = nh_ipf_filters_run(st, &run, &pkt, dir, family, ref, false,
				       false, &qs);
		cur = run_end(&run);
		if (cur != pkt && run.cur_freed && r != RUN_TAKEN &&
		    qs.state == NH_PKT_HELD) {
			nh_ipf_verdict_id(st, qs.qnum, qs.id, false, NULL, 0,
					  NULL);
			if (counted)
				nh_ipf_held_uncount(st, qs.qnum);
			return 0;
		}
		if (r == RUN_TAKEN) {
			if (cur && cur->q.state == NH_PKT_HELD) {
				nh_ipf_held_hold(st, cur, counted);
			} else {
				if (!cur && run.cur_freed &&
				    qs.state == NH_PKT_HELD)
					nh_ipf_verdict_id(st, qs.qnum, qs.id,
							  false, NULL, 0, NULL);
				if (counted)
					nh_ipf_held_uncount(st, qs.qnum);
			}
			return 0;
		}
	}
	if (pkt->q.state == NH_PKT_HELD) {
		uint16_t qn = pkt->q.qnum;

		nh_ipf_verdict_give(st, pkt, r == RUN_ACCEPT, opts);
		if (counted)
			nh_ipf_held_uncount(st, qn);
	} else if (r == RUN_ACCEPT) {
		if (pkt->dirty)
			nh_pkt_fix_checksums(pkt);
		err = dir == DIR_OUT ? nh_ipf_send_raw(st, pkt) :
				       nh_ipf_send_tun(st, pkt);
		if (err)
			nh_logf(st->lg, LOG_DEBUG, "IP filter: inject_%s: %s",
				dir == DIR_OUT ? "output" : "input",
				strerror(-err));
	}
	nh_pkt_free(pkt);
	return err ? nh_err(err) : 0;
}

NH_API int nh_ipf_inject_output(struct nh_pkt *data, nh_ipfilter_t filter_ref,
				struct nh_ipf_pktopts *options)
{
	return inject(data, filter_ref, DIR_OUT, options);
}

NH_API int nh_ipf_inject_input(struct nh_pkt *data, nh_ipfilter_t filter_ref)
{
	return inject(data, filter_ref, DIR_IN, NULL);
}
