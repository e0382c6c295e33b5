#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# examples/proxy-redirect, the classic socket filter (issue 4): every IPv4
# connection in scope goes to one address.  Run with a command, and on a
# cgroup until SIGINT, which unregisters the filter: a connection in
# flight keeps it until it ends, new ones go their normal way.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

ex=$NH_BUILD/examples/proxy-redirect
far=$NH_FAR4
srv=$NH_SERVER4
alog=$NH_TMP/nginx-web/access.log
err=$NH_TMP/pr.err
[ -x "$ex" ] || nh_bail "no $ex"

# --- with a command ---------------------------------------------------------
out=$NH_TMP/small.out
timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- "$ex" "$srv:80" \
	curl -sS -m 10 -o "$out" "http://$far/small.txt" 2>"$err"
nh_is "command: exit status 0" "$?" 0
nh_same_file "command: curl to an unreachable address got the server's file" \
	"$out" "$(nh_web_file small.txt)"
nh_like "command: the rewrite is reported with the process" "$(cat "$err")" \
	"^proxy-redirect: pid [0-9]+ \(curl\) $far:80 -> $srv:80\$"
nh_like "command: unregistered at the end" "$(cat "$err")" \
	'^proxy-redirect: unregistered$'
got=$(timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- "$ex" "$srv:80" \
	curl -sS -m 10 -g "http://[$NH_SERVER6]:8080/who" 2>"$err")
nh_is "command: an IPv6 connection is left alone" "$got" web
nh_like "command: IPv6 served where it asked" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT6 $NH_SERVER6:8080 "
timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- "$ex" "$srv:80" \
	sh -c 'exit 3' 2>/dev/null
nh_is "command: its exit status passed on" "$?" 3

# --- on a cgroup, until SIGINT ---------------------------------------------------
cg=$NH_CG/prx
mkdir "$cg" || nh_bail "cannot make $cg"
# in_cg CMD...: run CMD in namespace c, in the cgroup $cg
in_cg() {
	# shellcheck disable=SC2016
	nh_in c sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}
pr=
nh_bg pr nsenter "--net=/run/netns/$(nh_ns c)" -- "$ex" -c "$cg" "$srv:8080" \
	2>"$err"
for ((i = 0; i < 100; i++)); do
	grep -q 'until SIGINT' "$err" 2>/dev/null && break
	sleep 0.1
done
nh_like "cgroup: filtering the given cgroup" "$(cat "$err")" \
	"filtering $cg until SIGINT"
got=$(in_cg curl -sS -m 10 "http://$far/who")
nh_is "cgroup: a process in it is redirected" "$got" web
nh_like "cgroup: to the given port" "$(tail -n 1 "$alog")" "^$NH_CLIENT4 $srv:8080 "
got=$(nh_in c "$NH_PROGS/nh-peer" -t 3 "$far" 80)
nh_is "cgroup: a process outside it is not" "$got" errno=ENETUNREACH

# A connection open across SIGINT keeps the filter until it ends.
fl=$NH_TMP/flight.out
flight=
nh_bg flight in_cg bash -c "exec 3<>/dev/tcp/$far/80 || exit 1; sleep 1.5; \
	printf 'GET /who HTTP/1.0\r\n\r\n' >&3; cat <&3" >"$fl" 2>&1
sleep 0.5
kill -INT "$pr"
sleep 0.3
nh_is "SIGINT: still running while a connection is attached" \
	"$(nh_alive "$pr" && echo yes || echo no)" yes
wait "$flight"
nh_like "SIGINT: the connection in flight completed through the filter" \
	"$(cat "$fl")" '^web'
nh_wait_gone "$pr" 10
wait "$pr"
nh_is "SIGINT: exit status 0" "$?" 0
nh_like "SIGINT: sf_unregistered came" "$(cat "$err")" '^proxy-redirect: unregistered$'
got=$(in_cg "$NH_PROGS/nh-peer" -t 3 "$far" 80)
nh_is "after SIGINT: the cgroup's connections go their normal way" "$got" \
	errno=ENETUNREACH
nh_is "after SIGINT: the caller's cgroup is left in place" \
	"$([ -d "$cg" ] && echo yes)" yes
nh_unlike "no sanitizer report" "$(cat "$err")" 'Sanitizer|runtime error:'
nh_done
