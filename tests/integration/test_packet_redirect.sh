#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The IP filter moving connections: examples/ip-redirect (ipf_output
# rewrites the destination and re-injects, ipf_input translates replies
# back) and `nethook packet --rewrite-dst`, each moving a curl download
# from the host it asked for to another one.
#
#   c 192.0.2.1 ---- s 192.0.2.2 ("web")
#   c 203.0.113.1 -- t 203.0.113.2 ("other")

. "$(dirname "$0")/lib.sh"
. "$NH_SRCDIR/tests/integration/packet.sh"
nh_require_nethook
nh_world_web
nh_netns t
nh_link c t
nh_addr c to-t 203.0.113.1/24
nh_addr t to-c 203.0.113.2/24
nh_route t 192.0.2.0/24 203.0.113.1
nh_nginx t other 203.0.113.2:80 203.0.113.2:8080
nh_mkfile other big.bin $((3 * 1024 * 1024))
head -c 1000 /dev/urandom >"$(nh_www other)/small.txt"
[ -x "$NH_EXAMPLES/ip-redirect" ] || nh_bail "no $NH_EXAMPLES/ip-redirect"

other_file() { echo "$(nh_www other)/$1"; }

# ex_start: examples/ip-redirect in c, moving web:80 to other:8080, in
# the background ($ex: timeout's pid); returns once it says "ready" (or
# after 10 s).
ex_start() {
	ex=
	rm -f "$NH_TMP/ex.out"
	nh_bg ex timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- \
		"$NH_EXAMPLES/ip-redirect" "$NH_SERVER4:80" 203.0.113.2:8080 \
		>"$NH_TMP/ex.out" 2>"$NH_TMP/ex.err"
	for ((i = 0; i < 100; i++)); do
		grep -q ready "$NH_TMP/ex.out" 2>/dev/null && break
		sleep 0.1
	done
}

# --- the example ---------------------------------------------------------
ex_start
nh_is "ip-redirect: ready" "$(cat "$NH_TMP/ex.out")" ready
got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4/who")
nh_is "ip-redirect: curl to web reaches other" "$got" other
nh_in c curl -sS -m 20 -o "$NH_TMP/ex.big" "http://$NH_SERVER4/big.bin"
nh_same_file "ip-redirect: 3 MiB download from other, body intact" \
	"$NH_TMP/ex.big" "$(other_file big.bin)"
nh_like "ip-redirect: other served it on 8080, to the client" \
	"$(tail -n 1 "$NH_TMP/nginx-other/access.log")" \
	"^$NH_CLIENT4 203.0.113.2:8080 \"GET /big.bin HTTP/1.1\" 200 "
got=$(nh_in c curl -sS -m 10 -o /dev/null -w '%{remote_ip}:%{remote_port}' \
	"http://$NH_SERVER4/small.txt")
nh_is "ip-redirect: curl still sees the address it asked for" "$got" \
	"$NH_SERVER4:80"
got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4:8080/who")
nh_is "ip-redirect: other ports are left alone" "$got" web
kill -TERM "$ex"
nh_wait_gone "$ex" 10
nh_like "ip-redirect: counted what it did" "$(cat "$NH_TMP/ex.err")" \
	'[1-9][0-9]* packets redirected, [1-9][0-9]* replies translated'
nh_is "ip-redirect: its rules are gone" "$(nh_ipf_rules c)" ""
got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4/who")
nh_is "ip-redirect: after it, web again" "$got" web

# A program using the library, stopped by a signal to its whole process
# group (^C, timeout(1)), again while it removes its rules: the iptables
# tools it runs for that are out of the group's reach, and finish.
ex_start
pg=$(ps -o pgid= -p "$ex" | tr -d ' ')
for ((i = 0; i < 100; i++)); do
	kill -TERM -- "-$pg" 2>/dev/null || break
	sleep 0.002
done
nh_wait_gone "$ex" 10
wait "$ex"
nh_is "ip-redirect, TERM to its process group again and again: exit 0, rules gone" \
	"$? $(nh_ipf_rules c)" "0 "

# --- nethook packet --rewrite-dst ------------------------------------------
pk=
if nh_pkt_bg pk "$NH_TMP/rw.err" c --rewrite-dst 203.0.113.2:8080 \
	--filter "tcp dst port 80"; then
	got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4/who")
	nh_is "--rewrite-dst: curl to web reaches other" "$got" other
	nh_in c curl -sS -m 20 -o "$NH_TMP/rw.big" "http://$NH_SERVER4/big.bin"
	nh_same_file "--rewrite-dst: 3 MiB body intact" "$NH_TMP/rw.big" \
		"$(other_file big.bin)"
	got=$(nh_in c "$NH_PROGS/nh-conn" -n 200 -c 4 -T 60 -p /who \
		"$NH_SERVER4" 80)
	nh_like "--rewrite-dst: 200 connections, 4 at a time, all ok" "$got" \
		'^ok=200 failed=0 '
	nh_pkt_stop "$pk"
fi
nh_is "--rewrite-dst: no rules left" "$(nh_ipf_rules c)" ""

# One command only: its connections move, another process's do not.
mark=$NH_TMP/started
pk=
nh_bg pk timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- \
	"$NETHOOK" packet --rewrite-dst 203.0.113.2:8080 \
	--filter "tcp dst port 80" -- sh -c \
	"touch '$mark'; sleep 2; curl -sS -m 10 http://$NH_SERVER4/who" \
	>"$NH_TMP/cmd.out" 2>"$NH_TMP/cmd.err"
if nh_wait_file "$mark" 10; then
	sleep 0.5
	got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4/who")
	nh_is "-- COMMAND: another process is not rewritten" "$got" web
	wait "$pk"
	nh_is "-- COMMAND: exit status is the command's" "$?" 0
	nh_is "-- COMMAND: its connection is rewritten" \
		"$(cat "$NH_TMP/cmd.out")" other
else
	nh_fail "-- COMMAND started" "$(cat "$NH_TMP/cmd.err")"
fi
nh_is "-- COMMAND: no rules left" "$(nh_ipf_rules c)" ""
nh_is "no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

nh_done
