#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Soak (needs root): one nethook run, through the relay and with
# --handoff, carries a fixed mix for a fixed count — short connections,
# kept-alive requests, idle connections held at once, large transfers,
# connections by name (only the proxy host knows the names, and the
# client's DNS goes to nethook's resolver), a proxy that refuses and one
# that resets — then, while nethook still
# runs, its descriptors are back to their start value and its resident
# memory within a bound of its start; after it exits, every connection has
# exactly one end line.  NH_SOAK=N multiplies the counts (default 1:
# about a minute a mode here; NH_QUICK halves them for the ASan pass).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
. "$(dirname "$0")/names.sh"
nh_require_nethook
nhp_require_peers
nhn_require
ulimit -n 16384 2>/dev/null || ulimit -n 4096
export NH_TIMEOUT=400
NHN_NAMES=100 NHN_PROXY_PORTS=1080,1090,1091
nhn_world # the proxy host alone knows n0..n99.web.example
nhp_dante dante 1080 none
# the client's resolver answers nothing: its names come from nethook
nhn_etc soak "nameserver $NHN_NS4
options timeout:1 attempts:1"
nhp_fake refuse "$NHP_P4" 1090 s5-reply-refused 400
nhp_fake midreset "$NHP_P4" 1091 s5-midreset 400
# kept-alive requests need a server that keeps them: nginx in w, port 8081
NH_NGINX_KEEPALIVE=30 nh_nginx w keep "$NHP_W4:8081"

k=${NH_SOAK:-1}
short=$((1000 * k)) idle=$((1000 * k)) keep=$((200 * k)) big=$((5 * k)) bad=$((20 * k))
names=$((200 * k))
if nh_quick; then
	short=$((short / 2)) idle=$((idle / 2)) keep=$((keep / 2))
fi
# RSS may grow by what the allocator keeps, not with the count of flows
rss_bound_kb=16384
conn=$NH_PROGS/nh-conn
hold=$NH_SRCDIR/tests/integration/holdconns.py
who=http://$NHP_W4/who

# fds PID: nethook's open descriptors (nhp_rss_kb: its resident kB)
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# the kept-alive requests: one curl, one connection, many URLs
urls=$NH_TMP/urls
for ((i = 0; i < keep; i++)); do echo "url = \"http://$NHP_W4:8081/who\""; done >"$urls"

for mode in relay handoff; do
	flag=
	[ "$mode" = handoff ] && flag=--handoff
	log=$NH_TMP/soak-$mode.log
	mark=$NH_TMP/soak-$mode
	rm -f "$log" "$mark".*
	# The workload runs in the scope, between two marks: "up" when
	# nethook's relay is ready (measured before), "done" when the mix
	# is over (measured after, nethook still up), and it waits for
	# "go" so nethook is measured before it exits.
	work="touch $mark.up; while [ ! -e $mark.start ]; do sleep 0.05; done
		$conn -n $short -c 32 -T 120 $NHP_W4 80 >$mark.short
		curl -sS -m 60 -K $urls -o /dev/null -w '%{http_code} %{num_connects}\n' >$mark.keep
		python3 $hold $idle $NHP_W4 1 80 >$mark.idle
		for i in \$(seq $big); do curl -sS -m 60 -o /dev/null -w '%{size_download}\n' http://$NHP_W4/big.bin; done >$mark.big
		for i in \$(seq $bad); do curl -s -m 5 -o /dev/null $who; done
		for i in \$(seq $names); do curl -sS -m 10 http://n\$((i % $NHN_NAMES)).web.example/who; done >$mark.names
		touch $mark.done; while [ ! -e $mark.go ]; do sleep 0.05; done"
	nh_bg pid timeout -k 5 400 nsenter "--net=/run/netns/$(nh_ns c)" -- \
		unshare -m --propagation private -- sh -c "$NHN_WRAP" sh \
		"$NH_TMP/etc-soak" "$NETHOOK" run $flag --log "$log" \
		--proxy "socks5://$NHP_P4:1080" -- sh -c "$work" 2>"$mark.err"
	nh_wait_file "$mark.up" 30 || nh_bail "$mode: nethook did not start"
	nhpid=$(nhp_nethook_pid "$pid")
	sleep 0.5
	fd0=$(fds "$nhpid") rss0=$(nhp_rss_kb "$nhpid")
	touch "$mark.start"
	# the failing proxies go through a second nethook of the same mode
	# in the same namespace while the first one works
	failing="for i in \$(seq $bad); do curl -s -m 5 -o /dev/null $who; done"
	nh_nethook c run $flag --log "$mark.refuse.log" --proxy "socks5://$NHP_P4:1090" \
		-- sh -c "$failing" 2>/dev/null
	nh_nethook c run $flag --log "$mark.reset.log" --proxy "socks5://$NHP_P4:1091" \
		-- sh -c "$failing" 2>/dev/null
	nh_wait_file "$mark.done" 300 || nh_fail "$mode: the mix did not finish in 300 s"
	# idle pipes are given back after 1 s without bytes
	sleep 2.5
	fd1=$(fds "$nhpid") rss1=$(nhp_rss_kb "$nhpid")
	touch "$mark.go"
	wait "$pid"
	rc=$?

	nh_is "$mode: the mix ran, nethook exit 0" "$rc" 0
	nh_like "$mode: $short short connections, all served" "$(cat "$mark.short")" "^ok=$short failed=0 "
	nh_is "$mode: $keep kept-alive requests, all 200, on one connection" \
		"$(grep -c '^200 ' "$mark.keep") $(awk '{ n += $2 } END { print n + 0 }' "$mark.keep")" \
		"$keep 1"
	nh_like "$mode: $idle idle connections held at once, all served" \
		"$(cat "$mark.idle")" "^open=$idle reset=0 served=$idle\$"
	nh_is "$mode: $big large transfers, whole" \
		"$(grep -c "^$((2 * 1024 * 1024))\$" "$mark.big")" "$big"
	nh_is "$mode: $names connections by $NHN_NAMES names, all served" \
		"$(grep -c '^web$' "$mark.names")" "$names"
	nh_is "$mode: descriptors back to their start ($fd0 -> $fd1)" "$fd1" "$fd0"
	nh_check "$mode: resident memory within ${rss_bound_kb} kB of its start ($rss0 -> $rss1 kB)" \
		test "$((rss1 - rss0))" -le "$rss_bound_kb"
	# one end line per connection: curl's kept-alive one, nh-conn's,
	# the held ones, the large ones and the last few
	want=$((short + 1 + idle + big + bad + names))
	nh_is "$mode: one end line per connection ($want)" \
		"$(nhp_log_end "$log" | wc -l)" "$want"
	# (a program that closes with bytes unread resets its connection:
	# its doing, and said so)
	nh_is "$mode: every end line ok, or a reset by the program" \
		"$(nhp_log_end "$log" | grep -Ev ' result=ok|reset by peer by the program"$' | sed 's/.*result=//')" ""
	nh_is "$mode: a refusing proxy: $bad end lines, each an error" \
		"$(nhp_log_end "$mark.refuse.log" | grep -c 'result=error error=ECONNREFUSED')" "$bad"
	nh_is "$mode: a proxy resetting mid-download: $bad end lines, each ECONNRESET" \
		"$(nhp_log_end "$mark.reset.log" | grep -c 'result=error error=ECONNRESET')" "$bad"
	nh_is "$mode: the end lines by name name their host ($names)" \
		"$(nhp_log_end "$log" | grep -cE ' orig_dst=n[0-9]+\.web\.example:80 ')" "$names"
	nh_unlike "$mode: no sanitizer report" "$(cat "$mark.err")" 'ERROR: (Address|Leak)Sanitizer|runtime error:'
	nhn_no_leak "$mode soak"
done

# Connections still open when the program exits, and so when nethook
# stops: each has its end line all the same, saying why it ended.
held='import socket, sys
for i in range(50):
	s = socket.create_connection((sys.argv[1], 8081))
	s.sendall(b"GET /who HTTP/1.1\r\nHost: x\r\n\r\n")
	s.recv(4096)
	globals()["k%d" % i] = s'
for mode in relay handoff; do
	flag=
	[ "$mode" = handoff ] && flag=--handoff
	log=$NH_TMP/exit-$mode.log
	nh_nethook c run $flag --log "$log" --proxy "socks5://$NHP_P4:1080" -- \
		python3 -c "$held" "$NHP_W4" 2>/dev/null
	nh_is "$mode: 50 connections open as the program exits: 50 end lines" \
		"$(nhp_log_end "$log" | wc -l)" 50
	nh_is "$mode: ... each ok, reset by the program, or saying nethook stopped first" \
		"$(nhp_log_end "$log" | grep -Ev ' result=ok|error=ECONNABORTED detail="nethook stopped|reset by peer by the program"$' | sed 's/.*result=//')" ""
done

nh_done
