#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Issue 12, fault injection: nethook's kernel table full.  The one BPF map
# of fixed size on the connection path is `flows` (src/bpf/sock.bpf.c):
# one entry for each diverted connection from its SYN until the relay
# takes it, 65,536 at most.  Here it is filled for real: a program under
# `nethook run --proxy` opens more connections at once than that, and
# while it does, their SYNs to the relay are dropped (an iptables rule in
# the client's own namespace), so that none is taken.  Then the program
# closes most of them itself, the SYNs go through again, and it waits for
# the rest: 500 that were filed before the table filled and 500 that came
# after.  What a user checks:
# - the program sees an answer or an error for every connection, never a
#   hang, and nothing reaches the web server but through the proxy (the
#   client has no route to it: a connection that got through without the
#   proxy would show in its log from another address);
# - every connection has exactly one `end` line, and one refused because
#   the table was full says so (`error=ENOBUFS`);
# - the table is empty again once they are done, and a new connection
#   goes through the proxy as before;
# - nothing is left after nethook exits: no cgroup, no pins, no map, no
#   relay socket, nothing for `nethook cleanup` to remove.
# Needs root; about 68,500 sockets (some 300 MB of kernel memory) for a
# few seconds.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
for c in bpftool iptables jq; do
	command -v "$c" >/dev/null || nh_bail "$c is not installed"
done
nhp_world
nhp_dante dante 1080 none
export NH_TIMEOUT=110

# the program (its steps: tests/integration/fillflows.py)
fill=$NH_SRCDIR/tests/integration/fillflows.py
dir=$NH_TMP/fill
mkdir -p "$dir"
log=$NH_TMP/log
# step NAME SECS: wait for the program's file NAME; said NAME: its words
step() {
	nh_wait_file "$dir/$1" "$2" || nh_bail "the program did not say '$1' in $2 s" \
		"$(tail -n 5 "$NH_TMP/err")"
}
said() { cat "$dir/$1"; }
bg=

nh_bg bg nh_nethook c run --proxy "socks5://$NHP_P4:1080" --log "$log" -- \
	python3 "$fill" "$dir" "$NHP_W4" </dev/null >"$NH_TMP/out" 2>"$NH_TMP/err"
step ready 20
nhpid=$(said ready)
[ "$(cat "/proc/$nhpid/comm" 2>/dev/null)" = nethook ] ||
	nh_bail "the program's parent $nhpid is not nethook"
relay=$(nhp_relay_port c)
[ -n "$relay" ] || nh_bail "no relay port"

# The run's flows map, among nethook's descriptors.
map_id=
for f in /proc/"$nhpid"/fdinfo/*; do
	id=$(awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null)
	[ -n "$id" ] || continue
	[ "$(bpftool -j map show id "$id" 2>/dev/null | jq -r .name)" = flows ] &&
		map_id=$id && break
done
[ -n "$map_id" ] || nh_bail "nethook holds no map named flows"
size=$(bpftool -j map show id "$map_id" | jq -r .max_entries)
echo "# flows: map id $map_id, $(bpftool -j map show id "$map_id" | jq -r .type), $size entries"
# entries: how many the map holds now
entries() { bpftool -j map dump id "$map_id" 2>/dev/null | jq length; }

extra=3000
total=$((size + extra))
nh_in c iptables -w -A OUTPUT -o lo -p tcp --dport "$relay" --syn -j DROP ||
	nh_bail "cannot hold the SYNs to the relay in c"
t0=$(nhp_ms)
echo "$size $extra" >"$dir/go"
step opened 60
opened=$(said opened)
echo "# $total connections opened in $(($(nhp_ms) - t0)) ms"
nh_is "the program opened $total connections at once, each in progress (rewritten: the client has no route of its own)" \
	"$opened" "opened=$total errors=none"
nh_is "the table is full: $size entries" "$(entries)" "$size"
touch "$dir/close"
step closed 60
kept=$(said closed)
nh_in c iptables -w -D OUTPUT -o lo -p tcp --dport "$relay" --syn -j DROP
touch "$dir/run"
step finished 70
result=$(said finished)
echo "# $result"
# the table takes exactly its size: the first 500 kept were filed, the
# last 500 were not
nh_is "of the 1000 kept connections, the 500 filed were served through the proxy and the 500 others reset; none hung" \
	"$kept $result" "kept=1000 served=500 reset=500 refused=0 other=0 hung=0 after=50"
nh_is "the table is empty again" "$(entries)" 0
touch "$dir/exit"
nh_wait_gone "$bg" 30
wait "$bg"
nh_is "nethook exit 0" "$?" 0

# the log: one end line per connection, each saying how it ended
ends=$(nhp_log_end "$log")
nh_is "one end line per connection ($((total + 50)))" \
	"$(wc -l <<<"$ends") $(grep -o ' id=[0-9]*' <<<"$ends" | sort -u | wc -l)" \
	"$((total + 50)) $((total + 50))"
nh_is "those filed that the program closed first: ECONNABORTED, $((size - 500))" \
	"$(grep -c ' result=error error=ECONNABORTED ' <<<"$ends")" "$((size - 500))"
nh_is "those served: ok through the proxy, 500 + 50 after" \
	"$(grep -c " route=socks5://$NHP_P4:1080 .* result=ok" <<<"$ends")" 550
full=$(grep ' result=error error=ENOBUFS ' <<<"$ends")
nh_is "those past the table's size: error=ENOBUFS, $extra (the 500 reset among them)" \
	"$(grep -c . <<<"$full")" "$extra"
nh_like "and the line says the table was full" "$(head -n 1 <<<"$full")" \
	'detail="[^"]*table[^"]* full'
nh_is "the rest: none" "$(grep -Ev ' result=ok| error=(ECONNABORTED|ENOBUFS) ' <<<"$ends" | head -n 3)" ""
nh_like "standard error says it too, as for any connection the proxy did not carry" \
	"$(cat "$NH_TMP/err")" \
	"^nethook: $NHP_W4:80 via socks5://$NHP_P4:1080: the kernel's table of connections waiting for the relay was full \($size\): refused$"
nh_unlike "no event lost" "$(cat "$NH_TMP/err")" 'events lost'
nh_unlike "no crash or sanitizer report" "$(cat "$NH_TMP/err")" \
	'ERROR: (Address|Leak)Sanitizer|runtime error:|Segmentation|Aborted'

# nothing escaped: every request the web server saw came from the proxy
nh_is "the web server saw requests from the proxy host only" \
	"$(awk '{ print $1 }' "$NH_TMP/nginx-web/access.log" | sort | uniq -c | awk '{ print $1, $2 }' | grep -Ev "^[0-9]+ ($NHP_PW4|$NHP_PW6)$")" ""
nh_is "... as many as were served: 550 (and the world's own check)" \
	"$(grep -c "^$NHP_PW4 " "$NH_TMP/nginx-web/access.log")" 551

# nothing left
nh_check "the map is gone with nethook" sh -c "! bpftool map show id $map_id >/dev/null 2>&1"
nh_is "no cgroup left" "$(nh_leftover_cgroups)" ""
nh_is "no pins left" "$(ls -d /sys/fs/bpf/nethook/"$nhpid" /run/nethook/bpf/nethook/"$nhpid" 2>/dev/null)" ""
nh_is "no lock left" "$(ls /run/nethook/"$nhpid".lock 2>/dev/null)" ""
nh_is "no relay socket left in c" "$(nh_in c ss -Htanp | grep -c '"nethook"')" 0
out=$(nh_nethook c cleanup 2>&1)
nh_is "nethook cleanup: exit 0, nothing of this run to remove" \
	"$? $(grep -c "nethook-$nhpid\|/$nhpid\b" <<<"$out")" "0 0"

nh_done
