#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The socket filter API (issue 4), data level, through tests/progs/nh-sflt:
# sf_data_out rewriting the request (seen by the server), sf_data_in
# rewriting the reply (seen by the client), holding data with
# NH_EJUSTRETURN and injecting it from another thread 200 ms later (the
# response is delayed by at least that; EOF waits for held data), sf_notify
# events, and opts.threads > 1 with concurrent flows.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nh_world_web

srv=$NH_SERVER4
alog=$NH_TMP/nginx-web/access.log
www=$(nh_www web)
echo "file aaa" >"$www/aaa"
echo "file bbb" >"$www/bbb"
echo "file bbbbbbbb" >"$www/bbbbbbbb"
echo "the secret is 1234" >"$www/secret.txt"

# --- sf_data_out: the server sees the rewritten bytes ----------------------
got=$(nh_sflt c --out-replace "GET /aaa:GET /bbb" -- \
	curl -sS -m 10 "http://$srv/aaa")
nh_is "data_out rewrite: the client gets /bbb's body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "file bbb"
nh_like "data_out rewrite: nginx logged GET /bbb" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:80 \"GET /bbb HTTP/1.1\" 200 "
nh_is "data_out rewrite: one replacement, data_out called" \
	"$(nh_kv "$got" replaced_out)" 1
got=$(nh_sflt c --out-replace "GET /aaa:GET /bbbbbbbb" -- \
	curl -sS -m 10 "http://$srv/aaa")
nh_is "data_out rewrite to longer bytes (nh_buf_set grows): body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "file bbbbbbbb"
nh_like "data_out longer rewrite: nginx logged GET /bbbbbbbb" \
	"$(tail -n 1 "$alog")" "\"GET /bbbbbbbb HTTP/1.1\" 200 "
got=$(nh_sflt c --out-replace "GET /bbbbbbbb:GET /aaa" -- \
	curl -sS -m 10 "http://$srv/bbbbbbbb")
nh_is "data_out rewrite to shorter bytes: body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "file aaa"

# --- sf_data_in: the client sees the rewritten bytes ------------------------
got=$(nh_sflt c --in-replace "1234:abcd" -- \
	curl -sS -m 10 "http://$srv/secret.txt")
nh_is "data_in rewrite: the client sees it" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "the secret is abcd"
nh_is "data_in rewrite: one replacement" "$(nh_kv "$got" replaced_in)" 1

# Data callbacks on a big transfer: bytes intact both ways.
out=$NH_TMP/big.out
got=$(nh_sflt c --count-data --in-replace "no-such-bytes-here:x" -- \
	curl -sS -m 30 -o "$out" "http://$srv/big.bin")
nh_same_file "data callbacks on 2 MiB: intact" "$out" "$(nh_web_file big.bin)"
nh_check "data callbacks on 2 MiB: sf_data_in called ($(nh_kv "$got" data_in))" \
	test "$(nh_kv "$got" data_in)" -ge 1
# A PUT nginx stores: it answers once the whole body is in (a POST to a
# static file is refused at once, and curl may stop sending early).
head -c $((1024 * 1024)) /dev/urandom >"$NH_TMP/up.bin"
got=$(nh_sflt c --count-data -- curl -sS -m 30 -o /dev/null -H 'Expect:' \
	-w '%{http_code} %{size_upload}\n' -T "$NH_TMP/up.bin" \
	"http://$srv/up/up.bin")
nh_is "data callbacks on a 1 MiB upload: all sent, stored (201)" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "201 1048576"
nh_same_file "data callbacks on a 1 MiB upload: the server's copy intact" \
	"$(nh_web_file up/up.bin)" "$NH_TMP/up.bin"
nh_check "1 MiB upload: bytes_out counted ($(nh_kv "$got" bytes_out))" \
	test "$(nh_kv "$got" bytes_out)" -ge 1048576

# --- NH_EJUSTRETURN: held, injected 200 ms later from another thread -------
base=$(nh_sflt c -- curl -sS -m 10 -o /dev/null -w '%{time_starttransfer}\n' \
	"http://$srv/who" | head -n 1)
got=$(nh_sflt c --hold-ms 200 -- curl -sS -m 10 -o "$NH_TMP/who.out" \
	-w '%{time_starttransfer}\n' "http://$srv/who")
tst=$(printf '%s\n' "$got" | head -n 1)
nh_is "hold 200 ms: body" "$(cat "$NH_TMP/who.out")" web
nh_check "hold 200 ms: response delayed (starttransfer $tst s, without hold $base s)" \
	nh_between 0.2 "$tst" 5
nh_is "hold 200 ms: held and injected, no error" \
	"$(nh_kvs "$got" held injected inject_errors attach detach)" \
	"held=1 injected=1 inject_errors=0 attach=1 detach=1"
nh_check "hold 200 ms: injected after >= 200 ms ($(nh_kv "$got" hold_min_ms))" \
	test "$(nh_kv "$got" hold_min_ms)" -ge 200
# The program half-closes right after its request: its EOF waits until the
# held request has been injected.
got=$(nh_sflt c --hold-ms 200 -- "$NH_PROGS/nh-peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$srv" 80)
nh_like "hold then EOF: the request arrives before the FIN, reply came" \
	"$got" '^web$'
nh_is "hold then EOF: counters" "$(nh_kvs "$got" injected detach)" \
	"injected=1 detach=1"
got=$(nh_sflt c --hold-in-ms 200 -- curl -sS -m 10 -o "$NH_TMP/who.out" \
	-w '%{time_starttransfer}\n' "http://$srv/who")
tst=$(printf '%s\n' "$got" | head -n 1)
nh_is "hold in 200 ms: body" "$(cat "$NH_TMP/who.out")" web
nh_check "hold in 200 ms: response delayed ($tst s)" nh_between 0.2 "$tst" 5
out=$NH_TMP/big2.out
got=$(nh_sflt c --hold-in-ms 20 -- curl -sS -m 60 -o "$out" "http://$srv/big.bin")
nh_same_file "hold in 20 ms on every chunk of 2 MiB: intact, in order" \
	"$out" "$(nh_web_file big.bin)"
nh_is "hold in on 2 MiB: all injected, all detached" \
	"$(nh_kvs "$got" inject_errors detach)" "inject_errors=0 detach=1"

# Several filters: the one that held injects, the next one sees the bytes.
got=$(nh_sflt c --filters 2 --hold-ms 50 --count-data -- \
	curl -sS -m 10 "http://$srv/who")
nh_is "hold in the first of 2 filters: body" "$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_is "hold in the first of 2 filters: the second sees the injected request once" \
	"$(nh_kvs "$got" held injected data_out)" "held=1 injected=1 data_out=2"

# --- a data callback's error resets the connection --------------------------
got=$(nh_sflt c --data-error -- sh -c "s=\$(date +%s%N); curl -s -m 10 -o /dev/null http://$srv/who; e=\$?; echo curl_ms=\$(( (\$(date +%s%N) - s) / 1000000 )) rc=\$e")
rc=$(printf '%s\n' "$got" | sed -n 's/^curl_ms=.* rc=//p')
ms=$(printf '%s\n' "$got" | sed -n 's/^curl_ms=\([0-9]*\) .*/\1/p')
nh_check "sf_data_out returns -EPIPE: curl reset (exit ${rc:-?}), promptly (${ms:-?} ms)" \
	test "${rc:-x}" = 56 -a "${ms:-99999}" -lt 1000
nh_is "sf_data_out error: detached" "$(nh_kvs "$got" attach detach)" \
	"attach=1 detach=1"

# --- sf_notify ------------------------------------------------------------
for data in "" --count-data; do
	got=$(nh_sflt c --notify $data -- "$NH_PROGS/nh-peer" \
		-s 'GET /who HTTP/1.0\r\n\r\n' "$srv" 80)
	nh_is "sf_notify ${data:-(no data callbacks: zero-copy path)}: connected, both shutdowns, closing, once each" \
		"$(nh_kvs "$got" notify_connected notify_shut_out notify_shut_in notify_closing)" \
		"notify_connected=1 notify_shut_out=1 notify_shut_in=1 notify_closing=1"
done

# --- opts.threads > 1 ----------------------------------------------------------
got=$(nh_sflt c --threads 2 --hold-ms 300 --count-data -- sh -c \
	"curl -sS -m 10 http://$srv/who & curl -sS -m 10 http://$srv:8080/who & wait")
nh_is "threads 2, two concurrent held flows: both bodies" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "threads 2, two concurrent flows: counters" \
	"$(nh_kvs "$got" attach detach peak_active injected main_thread_cbs thread_switches)" \
	"attach=2 detach=2 peak_active=2 injected=2 main_thread_cbs=0 thread_switches=0"
out=$NH_TMP/big3.out
got=$(nh_sflt c --threads 4 --in-replace "no-such-bytes:x" -- sh -c \
	"curl -sS -m 30 -o $out http://$srv/big.bin & curl -sS -m 30 -o $out.2 http://$srv:8080/big.bin & wait")
nh_same_file "threads 4, two concurrent 2 MiB flows with data callbacks: first intact" \
	"$out" "$(nh_web_file big.bin)"
nh_same_file "threads 4, two concurrent 2 MiB flows: second intact" \
	"$out.2" "$(nh_web_file big.bin)"
nh_is "threads 4: every callback of a flow on one worker, none on the dispatching thread" \
	"$(nh_kvs "$got" detach main_thread_cbs thread_switches)" \
	"detach=2 main_thread_cbs=0 thread_switches=0"

# NH_CTX_RELAY_OWN_FDS: the workers' sockets in tables of their own; held
# bytes come back through nh_socket_inject_data_* from the main thread
got=$(nh_sflt c --threads 2 --own-fds --hold-ms 300 --count-data -- sh -c \
	"curl -sS -m 10 http://$srv/who & curl -sS -m 10 http://$srv:8080/who & wait")
nh_is "own descriptor tables, two concurrent held flows: both bodies" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "own descriptor tables: counters" \
	"$(nh_kvs "$got" attach detach injected main_thread_cbs thread_switches)" \
	"attach=2 detach=2 injected=2 main_thread_cbs=0 thread_switches=0"
out=$NH_TMP/big4.out
got=$(nh_sflt c --threads 2 --own-fds --in-replace "no-such-bytes:x" -- \
	curl -sS -m 30 -o "$out" "http://$srv/big.bin")
nh_same_file "own descriptor tables: a 2 MiB flow with data callbacks intact" \
	"$out" "$(nh_web_file big.bin)"
# the context closes while a worker still has a flow open (an idle client
# outlives the command): the flow ends on its worker, its filter is told once
t0=$(date +%s%N)
got=$(nh_sflt c --threads 2 --own-fds --drain-ms 200 -- sh -c \
	"python3 -c 'import socket, time; s = socket.create_connection((\"$srv\", 80)); time.sleep(30)' & sleep 0.5")
t1=$(date +%s%N)
nh_is "own descriptor tables, closed with a flow open: attached and detached once" \
	"$(nh_kvs "$got" attach detach main_thread_cbs)" "attach=1 detach=1 main_thread_cbs=0"
nh_check "own descriptor tables, closed with a flow open: no wait for the client ($(((t1 - t0) / 1000000)) ms)" \
	test $(((t1 - t0) / 1000000)) -lt 4000

nh_sflt_sanitizers
nh_done
