#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook attach --cgroup PATH --proxy URL (issue 3): an existing cgroup
# (made here, under the harness's test cgroup) with a running process
# moved into it is proxied while attach runs; SIGINT (and SIGTERM)
# detaches cleanly and the process's next connection is no longer
# proxied; the process and its cgroup are left alone.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_microsocks ms "$NHP_P4" 1081

log=$NH_TMP/log
cg=$NH_CG/attached
mkdir "$cg" || nh_bail "cannot make $cg"
res=$NH_TMP/results

# A client in the client's namespace, outside any nethook cgroup: every
# 0.2 s one curl, one line "N web" or "N fail" (bounded: 150 s at most).
nh_bg client_pid nsenter "--net=/run/netns/${NH_ID}c" -- sh -c '
	i=0
	while [ $i -lt 750 ]; do
		i=$((i + 1))
		if out=$(curl -s -m 2 "$1"); then echo "$i $out"; else echo "$i fail"; fi
		sleep 0.2
	done' sh "http://$NHP_W4/who" >"$res" 2>/dev/null

# nlines: lines of results so far
nlines() { wc -l <"$res"; }
# wait_for WORD SECS: until a line after line $from says WORD
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		tail -n +"$((from + 1))" "$res" | grep -q " $1\$" && return 0
		sleep 0.1
	done
	return 1
}

sleep 1
nh_like "before attach: the client cannot reach the server" "$(cat "$res")" \
	'^[0-9]+ fail$'
echo "$client_pid" >"$cg/cgroup.procs" || nh_bail "cannot move the client into $cg"
nh_is "the client is in the cgroup" "$(grep -c "^$client_pid\$" "$cg/cgroup.procs")" 1

# attach_cycle SIGNAL: attach, see the client proxied, send SIGNAL, see
# the client direct again.
attach_cycle() {
	local sig=$1 pid rc i
	rm -f "$log" "$NH_TMP/attach.err"
	nh_bg att_pid nh_nethook c attach --cgroup "$cg" -v --log "$log" \
		--proxy "socks5://$NHP_P4:1081" 2>"$NH_TMP/attach.err"
	for ((i = 0; i < 100; i++)); do
		grep -q 'attached to' "$NH_TMP/attach.err" 2>/dev/null && break
		sleep 0.1
	done
	nh_like "attach ($sig): says it attached" "$(cat "$NH_TMP/attach.err")" \
		"attached to .*attached"
	from=$(nlines)
	if wait_for web 10; then
		nh_ok "attach ($sig): the running client's next connections are proxied"
	else
		nh_fail "attach ($sig): the running client's next connections are proxied" \
			"$(tail -n 5 "$res")" "$(tail -n 5 "$NH_TMP/attach.err")"
	fi
	pid=$(nhp_nethook_pid "$att_pid")
	nh_like "attach ($sig): found the nethook process" "$pid" '^[0-9]+$'
	kill "-$sig" "${pid:-$att_pid}"
	t0=$(nhp_ms)
	wait "$att_pid"
	rc=$?
	nh_is "attach ($sig): exits 0 on $sig" "$rc" 0
	nh_check "attach ($sig): detaches within 3 s ($(($(nhp_ms) - t0)) ms)" \
		test $(($(nhp_ms) - t0)) -lt 3000
	from=$(nlines)
	sleep 1.2
	nh_like "attach ($sig): after detach the client's connections fail again (not proxied)" \
		"$(tail -n +"$((from + 1))" "$res" | tr '\n' ' ')" \
		'^([0-9]+ fail )+$'
	nh_is "attach ($sig): client still alive and still in the cgroup" \
		"$(nh_alive "$client_pid" && echo alive) $(grep -c "^$client_pid\$" "$cg/cgroup.procs")" \
		"alive 1"
	nh_like "attach ($sig): end lines for the client's proxied connections" \
		"$(nhp_log_end "$log")" \
		"comm=curl .*orig_dst=$NHP_W4:80 .*route=socks5://$NHP_P4:1081 .*result=ok"
	if [ -x /usr/sbin/bpftool ] || command -v bpftool >/dev/null; then
		nh_is "attach ($sig): no BPF program left on the cgroup" \
			"$(bpftool cgroup show "$cg" 2>/dev/null | awk 'NR > 1' | head -n 3)" ""
	fi
	nh_is "attach ($sig): the cgroup is still there, nothing added below it" \
		"$(find "$cg" -mindepth 1 -type d | head -n 3)" ""
}
attach_cycle INT
attach_cycle TERM

nh_nethook c attach --cgroup "$NH_CG/no-such-cgroup" --proxy "socks5://$NHP_P4:1081" \
	2>"$NH_TMP/err"
rc=$?
nh_check "attach to a missing cgroup fails (exit $rc)" test "$rc" -ne 0
nh_like "attach to a missing cgroup: names it" "$(cat "$NH_TMP/err")" no-such-cgroup
nh_nethook c attach --cgroup "$cg" --redirect "$NHP_P4:80" \
	--proxy "socks5://$NHP_P4:1081" 2>/dev/null
nh_is "attach: --redirect with --proxy exits 125" "$?" 125

nhp_kill_peer "$client_pid"
nh_done
