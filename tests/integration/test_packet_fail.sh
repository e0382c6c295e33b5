#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The IP filter's edges: a crafted UDP datagram injected with
# nh_ipf_inject_output arrives (past a filter that drops that port), and
# removing the filter restores traffic (examples/ip-inject); killing
# nethook leaves traffic flowing (fail-open) or blocked (fail-closed) and
# `nethook cleanup` restores it; a full-size loopback transfer (MTU 65536)
# and, unless NH_QUICK, a 1 GB transfer pass through the queue intact.

. "$(dirname "$0")/lib.sh"
. "$NH_SRCDIR/tests/integration/packet.sh"
nh_require_nethook
nh_world_web
[ -x "$NH_EXAMPLES/ip-inject" ] || nh_bail "no $NH_EXAMPLES/ip-inject"

# --- inject_output and remove ---------------------------------------------
r1=
nh_bg r1 nh_udp_recv s "$NH_SERVER4" 9999 7 >"$NH_TMP/inj.udp"
sleep 0.5
ex=
nh_bg ex timeout -k 5 30 nsenter "--net=/run/netns/$(nh_ns c)" -- \
	"$NH_EXAMPLES/ip-inject" "$NH_CLIENT4" "$NH_SERVER4" 9999 crafted 2000 \
	>"$NH_TMP/inj.out" 2>"$NH_TMP/inj.err"
for ((i = 0; i < 100; i++)); do
	grep -q injected "$NH_TMP/inj.out" 2>/dev/null && break
	sleep 0.1
done
nh_in c "$NH_PROGS/nh-udp" "$NH_SERVER4" 9999 while-filtered >/dev/null
for ((i = 0; i < 100; i++)); do
	grep -q removed "$NH_TMP/inj.out" 2>/dev/null && break
	sleep 0.1
done
nh_in c "$NH_PROGS/nh-udp" "$NH_SERVER4" 9999 after-removal >/dev/null
wait "$ex"
nh_is "ip-inject: exit status 0" "$?" 0
wait "$r1"
nh_is "inject_output: the crafted datagram arrived; the filter dropped the other; after nh_ipf_remove traffic flows" \
	"$(cat "$NH_TMP/inj.udp")" "crafted
after-removal"
nh_like "nh_ipf_remove: ipf_detach called, one packet dropped" \
	"$(cat "$NH_TMP/inj.out")" '^removed ok dropped=1$'
nh_like "nh_ipf_remove: detach" "$(cat "$NH_TMP/inj.out")" '^detached$'

# The same from a program that ignores SIGCHLD, as daemons often do: the
# kernel reaps such a program's children as they end, and the iptables
# tools' exit status must still reach the library.
r1=
nh_bg r1 nh_udp_recv s "$NH_SERVER4" 9999 5 >"$NH_TMP/chld.udp"
sleep 0.5
timeout -k 5 30 nsenter "--net=/run/netns/$(nh_ns c)" -- python3 -c '
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], sys.argv[1:])' "$NH_EXAMPLES/ip-inject" \
	"$NH_CLIENT4" "$NH_SERVER4" 9999 crafted-chld 500 \
	>"$NH_TMP/chld.out" 2>"$NH_TMP/chld.err"
nh_is "ip-inject ignoring SIGCHLD: exit status 0" "$?" 0
wait "$r1"
nh_is "ip-inject ignoring SIGCHLD: the crafted datagram arrived, rules gone" \
	"$(cat "$NH_TMP/chld.udp") $(nh_ipf_rules c)" "crafted-chld "

# --- inject_input: a crafted datagram arrives, as if just received ---------
r2=
nh_bg r2 nh_udp_recv c "$NH_CLIENT4" 9998 6 >"$NH_TMP/inin.udp"
sleep 0.5
nh_in s "$NH_PROGS/nh-udp" "$NH_CLIENT4" 9998 before-filter >/dev/null
timeout -k 5 30 nsenter "--net=/run/netns/$(nh_ns c)" -- \
	"$NH_EXAMPLES/ip-inject" --input "$NH_SERVER4" "$NH_CLIENT4" 9998 \
	crafted-in 1500 >"$NH_TMP/inin.out" 2>"$NH_TMP/inin.err" &
ex=$!
for ((i = 0; i < 100; i++)); do
	grep -q injected "$NH_TMP/inin.out" 2>/dev/null && break
	sleep 0.1
done
nh_in s "$NH_PROGS/nh-udp" "$NH_CLIENT4" 9998 while-filtered >/dev/null
wait "$ex"
nh_is "ip-inject --input: exit status 0" "$?" 0
wait "$r2"
nh_is "inject_input: the crafted datagram reached the local socket; the filter dropped the other incoming one" \
	"$(cat "$NH_TMP/inin.udp")" "before-filter
crafted-in"
nh_like "inject_input: one incoming datagram dropped" \
	"$(cat "$NH_TMP/inin.out")" '^removed ok dropped=1$'

# --- fail-open / fail-closed -------------------------------------------------
for mode in open closed; do
	pk=
	nh_pkt_bg pk "$NH_TMP/fail-$mode.err" c --fail "$mode" --log /dev/null ||
		continue
	got=$(nh_in c curl -sS -m 5 "http://$NH_SERVER4/who" 2>&1)
	nh_is "--fail $mode: traffic flows through nethook" "$got" web
	kill -KILL "$(nh_pkt_pid "$pk")"
	nh_wait_gone "$pk" 10
	# (checked at once: any nethook starting on the machine removes a
	# dead run's chains, as `nethook cleanup` does)
	rules=$(nh_ipf_rules c)
	got=$(nh_in c curl -sS -m 2 "http://$NH_SERVER4/who" 2>&1)
	if [ "$mode" = open ]; then
		nh_is "--fail open: nethook killed, traffic still flows" "$got" web
	else
		nh_like "--fail closed: nethook killed, traffic blocked" "$got" \
			'timed out|Connection refused|Failed'
	fi
	nh_like "--fail $mode: its queue rule is still there" "$rules" NFQUEUE
	out=$(nh_nethook c cleanup 2>&1)
	nh_is "--fail $mode: no rules after cleanup" "$(nh_ipf_rules c)" ""
	got=$(nh_in c curl -sS -m 5 "http://$NH_SERVER4/who" 2>&1)
	nh_is "--fail $mode: traffic flows after cleanup" "$got" web
done

# --- full-size packets on loopback ---------------------------------------
nh_in c ip link set lo mtu 65536
nh_mkfile local lo.bin $((64 * 1024 * 1024))
# (--pcap: whole packets reach user space; --log alone copies headers)
if nh_pkt_bg pk "$NH_TMP/lo.err" c --dir both --filter "tcp port 80" \
	--log /dev/null --pcap /dev/null; then
	nh_in c curl -sS -m 60 -o "$NH_TMP/lo.out" "http://127.0.0.1/lo.bin"
	nh_same_file "loopback MTU 65536: 64 MiB through the queue, intact" \
		"$NH_TMP/lo.out" "$(nh_www local)/lo.bin"
	got=$(printf 'GET /who HTTP/1.0\r\n\r\n' | nh_in c timeout 10 \
		curl -sS -m 5 "http://127.0.0.1/who")
	nh_is "loopback: small requests too" "$got" local
	nh_pkt_stop "$pk"
	# GSO packets on lo can exceed the 65531-byte copy range whatever
	# the MSS: they reach the filter read-only and go on unchanged
	nh_like "loopback: counted" "$(cat "$NH_TMP/lo.err")" \
		'[0-9]+ truncated'
	rm -f "$NH_TMP/lo.out"
fi
rm -f "$(nh_www local)/lo.bin"

# --- 1 GB --------------------------------------------------------------------
if nh_quick; then
	nh_skip "1 GB transfer through the queue" "NH_QUICK"
else
	nh_mkfile web gig.bin $((1024 * 1024 * 1024))
	want=$(sha256sum <"$(nh_web_file gig.bin)" | cut -d' ' -f1)
	if NH_TIMEOUT=300 nh_pkt_bg pk "$NH_TMP/gig.err" c --dir both \
		--filter "tcp port 80" --pcap /dev/null; then
		got=$(nh_in c curl -sS -m 240 "http://$NH_SERVER4/gig.bin" |
			sha256sum | cut -d' ' -f1)
		nh_is "1 GB through the queue (both ways), intact" "$got" "$want"
		nh_pkt_stop "$pk"
		nh_like "1 GB: no packet was truncated" "$(cat "$NH_TMP/gig.err")" \
			' 0 truncated'
	fi
	rm -f "$(nh_web_file gig.bin)"
fi
nh_is "no rules left" "$(nh_ipf_rules c)" ""
nh_is "no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

nh_done
