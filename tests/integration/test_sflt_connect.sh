#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The socket filter API (issue 4), connection level, through
# tests/progs/nh-sflt: sf_connect_out rewriting the destination (IPv4,
# IPv6, family change), the process identity at sf_attach, several
# filters in registration order each seeing the previous rewrite,
# refusing in sf_connect_out, nh_sflt_unregister (from the dispatch loop
# and from inside a callback), and attach/detach counts across many
# connections (ASan: no leak when NH_BUILD is an ASan build).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nh_world_web

far=$NH_FAR4
srv=$NH_SERVER4
alog=$NH_TMP/nginx-web/access.log

# --- sf_connect_out rewrites the destination ---------------------------------
out=$NH_TMP/small.out
got=$(nh_sflt c --rewrite-dst "$srv:80" --lines -- \
	curl -sS -m 10 -o "$out" "http://$far/small.txt")
nh_is "rewrite: exit status 0" "$?" 0
nh_same_file "rewrite: body is the served file" "$out" "$(nh_web_file small.txt)"
nh_like "rewrite: the server saw the request" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:80 \"GET /small.txt HTTP/1.1\" 200 1000\$"
nh_is "rewrite: counters" "$(nh_kvs "$got" attach detach connect_out status)" \
	"attach=1 detach=1 connect_out=1 status=0"
nh_is "rewrite: sf_connect_out saw the original destination" \
	"$(nh_kv "$got" to.0)" "$far:80"
line=$(printf '%s\n' "$got" | grep '^conn ')
nh_like "nh_socket_comm: curl" "$line" ' comm=curl '
nh_like "nh_socket_exe: full path" "$line" \
	" exe=$(readlink -f "$(command -v curl)") "
nh_like "nh_socket_peer: the original destination" "$line" " peer=$far:80 "
nh_like "nh_socket_uid: 0" "$line" ' uid=0 '
nh_like "nh_socket_cookie: not 0" "$line" ' cookie=[1-9][0-9]* '
bin=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^bytes_in=//p')
bout=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^bytes_out=//p')
nh_check "nh_socket_stats: bytes_in covers the 1000-byte body ($bin)" \
	test "${bin:-0}" -ge 1000 -a "${bin:-0}" -lt 2000
nh_check "nh_socket_stats: bytes_out is the request ($bout)" \
	test "${bout:-0}" -ge 40 -a "${bout:-0}" -lt 400

out=$NH_TMP/big.out
got=$(nh_sflt c --rewrite-dst "$srv:8080" -- \
	curl -sS -m 20 -o "$out" "http://$far:9999/big.bin")
nh_same_file "rewrite to another port: 2 MiB intact" "$out" "$(nh_web_file big.bin)"
nh_like "rewrite to another port: served on 8080" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:8080 \"GET /big.bin "
nh_check "rewrite: bytes_in of the 2 MiB fetch ($(nh_kv "$got" bytes_in))" \
	test "$(nh_kv "$got" bytes_in)" -ge $((2 * 1024 * 1024))

# IPv6 socket, IPv6 destination; and a family change (v6 -> v4).
got=$(nh_sflt c --family 6 --rewrite-dst "[$NH_SERVER6]:80" -- \
	curl -sS -m 10 -g "http://[$NH_FAR6]/who")
nh_is "IPv6 filter, IPv6 rewrite: body" "$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_is "IPv6 filter: saw the original destination" "$(nh_kv "$got" to.0)" \
	"[$NH_FAR6]:80"
got=$(nh_sflt c --family 6 --rewrite-dst "$srv:8080" -- \
	curl -sS -m 10 -g "http://[$NH_FAR6]/who")
nh_is "IPv6 destination rewritten to an IPv4 one (family change): body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_like "family change: the server saw it on IPv4" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:8080 "
got=$(nh_sflt c --family 6 --rewrite-dst "$srv:80" -- \
	"$NH_PROGS/nh-peer" -6 -s 'GET /who HTTP/1.0\r\n\r\n' "$far" 80)
nh_is "v4-mapped destination reaches the AF_INET6 filter as sockaddr_in6" \
	"$(nh_kv "$got" to.0)" "[::ffff:$far]:80"
nh_like "v4-mapped: rewritten, reply from the server" "$got" '^web$'
nh_like "v4-mapped: getpeername still the original" "$got" "^peer=\[::ffff:$far\]:80\$"

# --- several filters: registration order, each sees the previous rewrite --
got=$(nh_sflt c --filters 3 --count-data --rewrite-dst "$srv:80" -- \
	sh -c "curl -sS -m 10 http://$far/who && curl -sS -m 10 -o /dev/null http://$far/big.bin")
nh_is "3 filters: counters" \
	"$(nh_kvs "$got" attach detach attach.0 attach.1 attach.2 order_errors)" \
	"attach=6 detach=6 attach.0=2 attach.1=2 attach.2=2 order_errors=0"
nh_is "3 filters: the second and third see the first one's rewrite" \
	"$(nh_kvs "$got" to.0 to.1 to.2)" "to.0=$far:80 to.1=$srv:80 to.2=$srv:80"
nh_is "3 filters: sf_unregistered once per filter by nh_ctx_close" \
	"$(nh_kv "$got" unregistered_total)" 3

# Both domains registered: each socket reaches the filter of its family.
got=$(nh_sflt c --family 46 --rewrite-dst "$srv:8080" -- sh -c \
	"curl -sS -m 10 http://$far/who; $NH_PROGS/nh-peer -6 -s 'GET /who HTTP/1.0\r\n\r\n' $far 80")
nh_is "AF_INET and AF_INET6 filters: both connections rewritten" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "AF_INET and AF_INET6 filters: one attach each, both handles unregistered at close" \
	"$(nh_kvs "$got" attach detach unregistered_total)" \
	"attach=2 detach=2 unregistered_total=2"

# --- sf_attach declining: the socket goes on unfiltered --------------------
got=$(nh_sflt c --decline --rewrite-dst "$srv:8080" -- \
	curl -sS -m 10 "http://$srv/who")
nh_is "sf_attach returns 1: the connection goes on" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_like "sf_attach returns 1: unfiltered (not rewritten)" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:80 "
nh_is "sf_attach returns 1: no other callback, no detach" \
	"$(nh_kvs "$got" declined attach connect_out detach)" \
	"declined=1 attach=0 connect_out=0 detach=0"
got=$(nh_sflt c --filters 2 --decline -- curl -sS -m 10 "http://$srv/who")
nh_is "first filter declines: the second still attaches and detaches" \
	"$(nh_kvs "$got" attach.0 detach.0 attach.1 detach.1)" \
	"attach.0=0 detach.0=0 attach.1=1 detach.1=1"

# --- refusing in sf_connect_out resets the client promptly -----------------
before=$(nh_access_count)
got=$(nh_sflt c --refuse -- sh -c "s=\$(date +%s%N); curl -s -m 10 -o /dev/null http://$srv/who; e=\$?; echo curl_ms=\$(( (\$(date +%s%N) - s) / 1000000 )) rc=\$e")
ms=$(printf '%s\n' "$got" | sed -n 's/^curl_ms=\([0-9]*\) .*/\1/p')
rc=$(printf '%s\n' "$got" | sed -n 's/^curl_ms=.* rc=//p')
nh_check "refuse: curl fails with 56 or 7 (got ${rc:-none})" \
	test "${rc:-x}" = 56 -o "${rc:-x}" = 7
nh_check "refuse: promptly, curl took < 1000 ms (${ms:-?} ms)" \
	test "${ms:-99999}" -lt 1000
nh_is "refuse: the server never saw it" "$(nh_access_count)" "$before"
nh_is "refuse: attached and detached once" \
	"$(nh_kvs "$got" attach detach)" "attach=1 detach=1"
nh_like "refuse: the reason is logged (opts.log)" \
	"$(grep -v ': event: ' "$NH_SFLT_ERR")" 'refused the connection'
nh_sflt c --refuse --events -- curl -s -m 10 -o /dev/null "http://$srv/who" >/dev/null
nh_like "refuse: the end event carries the reason" "$(cat "$NH_SFLT_ERR")" \
	'event: .* end .*refused the connection'

# --- nh_sflt_unregister: new connections go their normal way -------------
got=$(nh_sflt c --unregister-after 1 --rewrite-dst "$srv:8080" -- sh -c \
	"curl -sS -m 10 http://$srv/who; sleep 1; curl -sS -m 10 http://$srv/who; $NH_PROGS/nh-peer -t 3 $far 80")
nh_is "unregister: both fetches ok" "$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "unregister: the first was rewritten to 8080, the second not" \
	"$(tail -n 2 "$alog" | awk '{ print $2 }' | paste -sd ' ')" \
	"$srv:8080 $srv:80"
nh_like "unregister: no diversion left (the far address is unreachable again)" \
	"$got" '^errno=ENETUNREACH$'
nh_is "unregister: counters" \
	"$(nh_kvs "$got" attach detach unregistered unregistered_total)" \
	"attach=1 detach=1 unregistered=1 unregistered_total=1"

got=$(nh_sflt c --unregister-after 1 --unregister-in-callback \
	--rewrite-dst "$srv:8080" -- sh -c \
	"curl -sS -m 10 http://$srv/who; sleep 0.5; curl -sS -m 10 http://$srv/who")
nh_is "unregister from inside sf_attach: both fetches ok" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "unregister from inside sf_attach: that connection keeps the filter, the next does not" \
	"$(tail -n 2 "$alog" | awk '{ print $2 }' | paste -sd ' ')" \
	"$srv:8080 $srv:80"
nh_is "unregister from inside sf_attach: counters" \
	"$(nh_kvs "$got" attach detach unregistered)" \
	"attach=1 detach=1 unregistered=1"

# --- attach/detach counts match exactly across many connections ----------
count=500
nh_quick && count=100
got=$(NH_TIMEOUT=150 nh_sflt c --rewrite-dst "$srv:80" -- \
	"$NH_PROGS/nh-conn" -n "$count" -c 4 -T 120 -p /who "$far" 80)
nh_like "$count connections through the filter, 4 at a time, all ok" "$got" \
	"^ok=$count failed=0 "
nh_is "$count connections: attach and detach counted exactly" \
	"$(nh_kvs "$got" attach detach connect_out unregistered_total)" \
	"attach=$count detach=$count connect_out=$count unregistered_total=1"
# two filters with data callbacks on two workers; then the same with a
# descriptor table per worker (NH_CTX_RELAY_OWN_FDS)
for v in "2 threads|" "2 threads, a descriptor table each|--own-fds"; do
	IFS='|' read -r what own <<<"$v"
	# shellcheck disable=SC2086
	got=$(NH_TIMEOUT=150 nh_sflt c --filters 2 --count-data --threads 2 $own \
		--rewrite-dst "$srv:80" -- \
		"$NH_PROGS/nh-conn" -n "$count" -c 8 -T 120 -p /who "$far" 80)
	nh_like "$count connections, 2 filters with data callbacks, $what: all ok" \
		"$got" "^ok=$count failed=0 "
	nh_is "$count connections, 2 filters, $what: counts and order" \
		"$(nh_kvs "$got" attach detach order_errors thread_switches main_thread_cbs)" \
		"attach=$((2 * count)) detach=$((2 * count)) order_errors=0 thread_switches=0 main_thread_cbs=0"
done

nh_is "after the runs: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_sflt_sanitizers
nh_done
