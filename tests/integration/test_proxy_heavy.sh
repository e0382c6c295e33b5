#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy under load (issue 3; all skipped with NH_QUICK):
# a 200 MB download through SOCKS5 with its sha256 checked, 1000
# connections through SOCKS5 all with correct bodies (nh-conn, 256 at a
# time, and 1000 held open at once by a Python client), and a stalled
# reader: 200 MB offered to a client that does not read for 5 s must not
# grow nethook's resident memory.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
export NH_TIMEOUT=150

if nh_quick; then
	nh_skip "200 MB download through SOCKS5" NH_QUICK
	nh_skip "1000 connections through SOCKS5" NH_QUICK
	nh_skip "stalled reader does not grow the relay's memory" NH_QUICK
	nh_done
fi

nhp_require_peers
ulimit -n 16384 2>/dev/null || ulimit -n 4096
nhp_world
nhp_dante dante 1080 none
nhp_microsocks ms "$NHP_P4" 1081
nh_mkfile web huge.bin $((200 * 1000 * 1000))
huge=$(nhp_web_file huge.bin)
want=$(sha256sum <"$huge" | cut -d' ' -f1)
log=$NH_TMP/log

# --- 200 MB with its checksum ------------------------------------------
for p in "socks5://$NHP_P4:1080" "socks5://$NHP_P4:1081"; do
	rm -f "$log"
	t0=$(nhp_ms)
	got=$(nh_nethook c run --log "$log" --proxy "$p" -- \
		sh -c "curl -sS -m 100 http://$NHP_W4/huge.bin | sha256sum" | cut -d' ' -f1)
	rc=$?
	t1=$(nhp_ms)
	nh_is "200 MB via $p: sha256 matches ($((t1 - t0)) ms)" "$got" "$want"
	line=$(nhp_log_end "$log")
	v=$(nh_tfield "$line" bytes_in)
	nh_check "200 MB via $p: end line ok, bytes_in ($v) >= 200 MB" \
		test "$(nh_tfield "$line" result)" = ok -a "${v:-0}" -ge 200000000
done

# --- 1000 connections ---------------------------------------------------------
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- \
	"$NH_PROGS/nh-conn" -n 1000 -c 256 -T 120 -t 20 -p /who "$NHP_W4" 80)
nh_like "1000 connections via microsocks, 256 at a time: all ok" "$got" \
	'^ok=1000 failed=0 '
echo "# $got"
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- \
	"$NH_PROGS/nh-conn" -n 1000 -c 64 -T 120 -t 20 -p /small.txt "$NHP_W4" 80)
nh_like "1000 connections via dante, 64 at a time: all ok" "$got" \
	'^ok=1000 failed=0 '
echo "# $got"
rm -f "$log"
got=$(nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1081" -- \
	sh -c "ulimit -n 4096; $(declare -f nhp_concget); nhp_concget 1000 $NHP_W4 80 /small.txt $(nhp_web_file small.txt)")
nh_is "1000 connections open at once via microsocks: all bodies correct" \
	"$got" "open=1000 ok=1000 bad=0"
nh_is "1000 connections open at once: 1000 end lines, all ok" \
	"$(nhp_log_end "$log" | grep -c ' result=ok')" 1000

# --- a stalled reader ---------------------------------------------------------
mark=$NH_TMP/stallflag
cat >"$NH_TMP/stall.py" <<EOF
import socket, sys, time
s = socket.create_connection(("$NHP_W4", 80), timeout=30)
s.sendall(b"GET /huge.bin HTTP/1.0\r\n\r\n")
open("$mark.sent", "w").close()
time.sleep(5)
open("$mark.reading", "w").close()
n = 0
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    n += len(d)
print(n)
EOF
rm -f "$mark".*
nh_bg run_pid nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- python3 "$NH_TMP/stall.py" \
	>"$NH_TMP/stall.out" 2>"$NH_TMP/stall.err"
if nh_wait_file "$mark.sent" 20; then
	pid=$(nhp_nethook_pid "$run_pid")
	sleep 0.5
	rss0=$(nhp_rss_kb "$pid")
	max=$rss0
	while [ ! -e "$mark.reading" ] && nh_alive "$pid"; do
		v=$(nhp_rss_kb "$pid")
		[ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v
		sleep 0.2
	done
	echo "# nethook VmRSS: ${rss0} kB after the request, at most ${max} kB while the reader stalled"
	nh_check "stalled reader: nethook's RSS grew by $((max - rss0)) kB (< 4096)" \
		test $((max - rss0)) -lt 4096
	wait "$run_pid"
	rc=$?
	got=$(cat "$NH_TMP/stall.out")
	nh_check "stalled reader: then reads all 200 MB (${got:-nothing} bytes with the header), nethook exits 0 ($rc)" \
		test "$rc" -eq 0 -a "${got:-0}" -gt 200000000 -a "${got:-0}" -lt 200001000
else
	nh_fail "stalled reader" "the client never sent its request" \
		"$(tail -n 5 "$NH_TMP/stall.err")"
fi
rm -f "$huge"

nh_done
