#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --redirect over IPv4: a client that cannot reach the address
# it asks for gets the server nethook sends it to; children are covered,
# a process outside the run is not; getpeername() keeps the original.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

far=$NH_FAR4
redirect=(run --redirect "$NH_SERVER4:80")

# curl to an unreachable documentation address, redirected.
out=$NH_TMP/small.out
nh_nethook c "${redirect[@]}" -- curl -sS -m 10 -o "$out" "http://$far/small.txt"
nh_is "curl redirected: exit status 0" "$?" 0
nh_same_file "curl redirected: body is the served file" "$out" "$(nh_web_file small.txt)"
nh_like "curl redirected: server saw the request from the client" \
	"$(cat "$NH_TMP/nginx-web/access.log")" \
	"^$NH_CLIENT4 $NH_SERVER4:80 \"GET /small.txt HTTP/1.1\" 200 1000\$"

out=$NH_TMP/big.out
nh_nethook c "${redirect[@]}" -- curl -sS -m 20 -o "$out" "http://$far/big.bin"
nh_same_file "curl redirected: 2 MiB body intact" "$out" "$(nh_web_file big.bin)"

# The port is rewritten too.
got=$(nh_nethook c run --redirect "$NH_SERVER4:8080" -- \
	curl -sS -m 10 "http://$far:9999/who")
nh_is "redirect to another port: body" "$got" web
nh_like "redirect to another port: served on 8080" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" "^$NH_CLIENT4 $NH_SERVER4:8080 "

# Children and grandchildren.
got=$(nh_nethook c "${redirect[@]}" -- \
	sh -c "sh -c 'curl -sS -m 10 http://$far/who'")
nh_is "grandchild (sh -c 'sh -c curl') redirected" "$got" web
got=$(nh_nethook c "${redirect[@]}" -- \
	sh -c "(sh -c 'curl -sS -m 10 http://$far/who') & wait")
nh_is "background grandchild redirected" "$got" web

# A process outside the run, at the same moment, is not redirected.
mark=$NH_TMP/inside-started
run_pid=
nh_bg run_pid nh_nethook c "${redirect[@]}" -- \
	sh -c "touch '$mark'; sleep 2; exec curl -sS -m 10 http://$far/who" \
	>"$NH_TMP/inside.out" 2>"$NH_TMP/inside.err"
if nh_wait_file "$mark" 10; then
	got=$(nh_in c "$NH_PROGS/nh-peer" -t 3 "$far" 80)
	alive=no
	nh_alive "$run_pid" && alive=yes
	nh_is "outside process during the run: not redirected" "$got" \
		errno=ENETUNREACH
	nh_is "outside process: nethook run was still running" "$alive" yes
	wait "$run_pid"
	nh_is "inside process at the same time: exit status 0" "$?" 0
	nh_is "inside process at the same time: redirected" \
		"$(cat "$NH_TMP/inside.out")" web
else
	nh_fail "outside process during the run" "command never started" \
		"$(cat "$NH_TMP/inside.err")"
fi

# Two runs at once, each with its own redirect, do not mix.
pid_a=
nh_bg pid_a nh_nethook c run --redirect "$NH_SERVER4:80" -- sh -c \
	"sleep 1; curl -sS -m 10 http://$far:7777/who; curl -sS -m 10 -o /dev/null -w '%{remote_port}' http://$far:7777/who" \
	>"$NH_TMP/a.out"
got=$(nh_nethook c run --redirect "$NH_SERVER4:8080" -- sh -c \
	"sleep 1; curl -sS -m 10 -o /dev/null -w '%{remote_port}' http://$far:7777/who")
wait "$pid_a"
nh_is "two runs at once: first reaches port 80" "$(cat "$NH_TMP/a.out")" "web
7777"
nh_is "two runs at once: second reaches port 8080 (curl sees 7777)" "$got" 7777
nh_like "two runs at once: server saw both ports" \
	"$(tail -n 3 "$NH_TMP/nginx-web/access.log" | awk '{ print $2 }' | sort -u | paste -sd ' ')" \
	"^$NH_SERVER4:80 $NH_SERVER4:8080\$"

# Under `ip netns exec`, which hides the cgroup2 mount by remounting /sys.
got=$(timeout 60 ip netns exec "$(nh_ns c)" "$NETHOOK" run \
	--redirect "$NH_SERVER4:80" -- curl -sS -m 10 "http://$far/who" 2>&1)
nh_is "under ip netns exec (no cgroup2 mount visible): redirected" "$got" web

# getpeername() reports the destination the program asked for.
got=$(nh_nethook c "${redirect[@]}" -- "$NH_PROGS/nh-peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$far" 80)
nh_like "getpeername after redirect: original destination" "$got" \
	"^peer=$far:80\$"
nh_like "getpeername after redirect: reply from the server" "$got" '^web$'

# Without nethook, the same program still fails (nothing left behind).
nh_is "after the runs: destination unreachable again" \
	"$(nh_in c "$NH_PROGS/nh-peer" -t 3 "$far" 80)" errno=ENETUNREACH
nh_is "after the runs: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

if ! nh_quick; then
	got=$(nh_nethook c "${redirect[@]}" -- \
		"$NH_PROGS/nh-conn" -n 1000 -c 1 -T 120 -p /who "$far" 80)
	nh_like "1000 sequential redirected connections all ok" "$got" \
		'^ok=1000 failed=0 '
	got=$(nh_nethook c "${redirect[@]}" -- \
		"$NH_PROGS/nh-conn" -n 5000 -c 16 -T 120 -p /who "$far" 80)
	nh_like "5000 redirected connections, 16 at a time, all ok" "$got" \
		'^ok=5000 failed=0 '
	nh_mkfile web huge.bin $((256 * 1024 * 1024))
	out=$NH_TMP/huge.out
	NH_TIMEOUT=120 nh_nethook c "${redirect[@]}" -- \
		curl -sS -m 100 -o "$out" "http://$far/huge.bin"
	nh_same_file "256 MiB redirected transfer intact" "$out" \
		"$(nh_web_file huge.bin)"
	rm -f "$out" "$(nh_web_file huge.bin)"
fi

nh_done
