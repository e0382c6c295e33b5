#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Issue 12, fault injection: the kernel's event ring buffer full.  nethook
# is held still (SIGSTOP, by its pid) while the hooked program makes
# thousands of connections with --events all, far more events than the
# ring buffer (1 MiB, about 7,700 records) holds; then it goes on
# (SIGCONT).  What a user checks: nethook does not crash or hang, it says
# at exit how many events were lost (`nethook: N events lost` on standard
# error, and a last {"event":"lost"} line in a JSON log), and that count
# is exact: the log's lines and the lost events add up to what the
# program did, three events a connection (create, connect, end).  Needs
# root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
command -v python3 >/dev/null || nh_bail "python3 is not installed"
command -v jq >/dev/null || nh_bail "jq is not installed"
nh_world_web

n=6000
nh_quick && n=4000

# The program: says its parent (nethook) is up, waits for "go", then
# makes N connections to port 8080 one after the other, each closed at
# once, waits a second for the last ones to end and says so; then, once
# "go2" is there, 100 more to port 80.  No process is started meanwhile
# (an exec is a record in the ring buffer too).
prog=$NH_TMP/conns.py
cat >"$prog" <<'EOF'
import os, socket, sys, time
ready, go, n, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % os.getppid())
os.rename(ready + ".tmp", ready)
while not os.path.exists(go):
    time.sleep(0.02)
ok = fail = 0
deadline = time.monotonic() + 40
for i in range(n):
    if time.monotonic() > deadline:
        break
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        ok += 1
    except OSError:
        fail += 1
    s.close()
time.sleep(1)
print("made=%d ok=%d failed=%d" % (ok + fail, ok, fail), flush=True)
while not os.path.exists(go + "2"):
    time.sleep(0.02)
for i in range(100):
    s = socket.create_connection((host, 80), timeout=3)
    s.close()
time.sleep(0.5)
print("then=100", flush=True)
EOF

# run NAME FORMAT-OPTIONS...: one run with --events all, nethook stopped
# while the program makes N connections, then running while it makes 100
# more.  Sets log, err, out, rc, nhpid.
run() {
	local name=$1 ready=$NH_TMP/$1.ready go=$NH_TMP/$1.go pid
	shift
	log=$NH_TMP/$name.log err=$NH_TMP/$name.err out=$NH_TMP/$name.out
	rm -f "$ready" "$go" "$log"
	nh_bg pid nh_nethook c run --events all --log "$log" "$@" -- \
		python3 "$prog" "$ready" "$go" "$n" "$NH_SERVER4" 8080 \
		</dev/null >"$out" 2>"$err"
	nh_wait_file "$ready" 20 || nh_bail "$name: the program did not start" \
		"$(tail -n 5 "$err")"
	nhpid=$(cat "$ready")
	[ "$(cat "/proc/$nhpid/comm" 2>/dev/null)" = nethook ] ||
		nh_bail "$name: the program's parent $nhpid is not nethook"
	kill -STOP "$nhpid"
	touch "$go"
	# the program prints once it has made them all (or 40 s passed)
	for ((i = 0; i < 600; i++)); do
		[ -s "$out" ] && break
		sleep 0.1
	done
	nh_is "$name: nethook is still stopped when the program is done" \
		"$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$nhpid/stat")" T
	kill -CONT "$nhpid"
	# nethook reads the full ring buffer, then the program goes on
	sleep 1
	touch "$go"2
	nh_wait_gone "$pid" 30
	wait "$pid"
	rc=$?
}

# --- text log ------------------------------------------------------------
run text
nh_is "text: the program made $n connections, all ok; nethook exit 0" \
	"$(paste -sd ' ' "$out") $rc" "made=$n ok=$n failed=0 then=100 0"
lost=$(sed -n 's/^nethook: \([0-9][0-9]*\) events lost (ring buffer full)$/\1/p' "$err")
nh_check "text: 'nethook: N events lost' said at exit, N > 0 (${lost:-none})" \
	test "${lost:-0}" -gt 0
nh_is "text: said once" "$(grep -c 'events lost' "$err")" 1
lines=$(awk '$2 ~ /^(create|connect|end)$/' "$log" | wc -l)
nh_is "text: log lines + lost = 3 events x $((n + 100)) connections ($lines + ${lost:-0})" \
	"$((lines + ${lost:-0}))" "$((3 * (n + 100)))"
nh_is "text: the log has no other line" "$(wc -l <"$log")" "$lines"
# what the full ring buffer held was read, and then every event again
nh_check "text: the log kept the full ring buffer's records ($lines lines)" \
	test "$lines" -ge 5000
nh_is "text: once nethook runs again nothing is lost: 100 connect and 100 end lines to port 80" \
	"$(grep -c " connect .* orig_dst=$NH_SERVER4:80 " "$log") $(grep -c " end .* orig_dst=$NH_SERVER4:80 " "$log")" \
	"100 100"
nh_is "text: every logged connection's end is ok (the program saw no error)" \
	"$(nh_tevents "$log" end | grep -vc ' result=ok')" 0
nh_unlike "text: no crash or sanitizer report" "$(cat "$err")" \
	'ERROR: (Address|Leak)Sanitizer|runtime error:|Segmentation|Aborted'
nh_is "text: no cgroup left" "$(nh_leftover_cgroups)" ""

# --- JSON log ------------------------------------------------------------
run json --json
nh_is "json: the program made $n connections, all ok; nethook exit 0" \
	"$(paste -sd ' ' "$out") $rc" "made=$n ok=$n failed=0 then=100 0"
lost=$(sed -n 's/^nethook: \([0-9][0-9]*\) events lost (ring buffer full)$/\1/p' "$err")
nh_check "json: 'nethook: N events lost' said at exit, N > 0 (${lost:-none})" \
	test "${lost:-0}" -gt 0
nh_is "json: the log's last line says the same count" \
	"$(tail -n 1 "$log" | jq -c .)" "{\"event\":\"lost\",\"count\":${lost:-0}}"
lines=$(jq -r 'select(.event == "create" or .event == "connect" or .event == "end") | .event' "$log" | wc -l)
nh_is "json: log lines + lost = 3 events x $((n + 100)) connections ($lines + ${lost:-0})" \
	"$((lines + ${lost:-0}))" "$((3 * (n + 100)))"
nh_is "json: every line is valid JSON, none other" \
	"$(jq -c . "$log" 2>&1 | wc -l)" "$((lines + 1))"

# --- a run that loses nothing says nothing -------------------------------
out=$(nh_nethook c run --events all --log "$NH_TMP/calm.log" -- \
	python3 -c 'import socket
for i in range(200):
	s = socket.create_connection(("'"$NH_SERVER4"'", 8080)); s.close()
import time; time.sleep(0.5)' 2>&1)
nh_is "calm: 200 connections with nethook running: nothing lost, nothing said" \
	"$(grep -c 'lost' <<<"$out") $(awk '$2 ~ /^(create|connect|end)$/' "$NH_TMP/calm.log" | wc -l)" \
	"0 600"

nh_done
