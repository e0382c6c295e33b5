#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The relay at its descriptor limit (issue 3: a limit on concurrent flows,
# a clean refusal, no spinning): nethook runs with a hard limit of 192 open
# files; a client holds 400 connections open through it, more than 192 can
# carry even split over four workers with a table each.  Those over the
# limit are reset promptly, nethook does not burn CPU while the backlog
# waits, and once the client lets go the relay serves again.  Then 700
# connections under a limit of 1024, which only a table per worker holds.
# Also --max-flows.  Needs root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
# a web server the client reaches directly: direct:// relays from here
nh_nginx p near "$NHP_P4:8080"

# hold N connections to ADDR:8080 for S seconds; print opened/reset/served
hold=$NH_SRCDIR/tests/integration/holdconns.py

# limited N SCRIPT: nethook run --proxy direct:// -- sh -c SCRIPT in c,
# with nethook's hard open-file limit lowered to N once it runs (the
# program keeps its own); output in $NH_TMP/out and err, status in rc.
limited() {
	local ready=$NH_TMP/ready go=$NH_TMP/go pid
	rm -f "$ready" "$go"
	nsenter "--net=/run/netns/$(nh_ns c)" -- "$NETHOOK" run --proxy direct:// \
		-- sh -c "touch $ready; while [ ! -e $go ]; do sleep 0.05; done; $2" \
		>"$NH_TMP/out" 2>"$NH_TMP/err" &
	pid=$!
	nh_wait_file "$ready" 10
	prlimit --pid "$pid" --nofile="$1:$1"
	touch "$go"
	[ -z "${3:-}" ] || "$3" "$pid"
	wait "$pid"
	rc=$?
}

# ticks PID: CPU clock ticks PID's threads have used (not its children's)
ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}
# idle_cpu PID: nethook's CPU over a second in the middle of the hold,
# when every connection is served or refused and the client just waits
idle_cpu() {
	local a b
	sleep 1.2
	a=$(ticks "$1")
	sleep 1
	b=$(ticks "$1")
	idle_ticks=$((${b:-0} - ${a:-0}))
}

start=$(nhp_ms)
idle_ticks=
limited 192 "python3 $hold 400 $NHP_P4 2.5; sleep 0.2; curl -sS -m 5 http://$NHP_P4:8080/who" idle_cpu
out=$(cat "$NH_TMP/out")
elapsed=$(($(nhp_ms) - start))
served=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' <<<"$out")
reset=$(sed -n 's/.*reset=\([0-9]*\).*/\1/p' <<<"$out")
# an idle flow costs two descriptors: most of the 192 go to flows
nh_check "at 192 descriptors: at least 50 connections served ($served)" \
	test "${served:-0}" -ge 50
nh_check "at 192 descriptors: the rest refused, not hung ($reset reset)" \
	test "$((${served:-0} + ${reset:-0}))" -eq 400
nh_check "at 192 descriptors: all answered within the client's time (${elapsed} ms)" \
	test "$elapsed" -lt 20000
# spinning on a listener it cannot accept from would cost ~100 ticks
nh_check "at 192 descriptors: nethook idles while the client holds on ($idle_ticks ticks of 100 in 1 s)" \
	test "${idle_ticks:-999}" -le 10
nh_is "after the client lets go, the relay serves again" \
	"$(tail -n 1 <<<"$out") $rc" "near 0"
nh_like "out of descriptors is said once, clearly" "$(cat "$NH_TMP/err")" \
	'relay: out of file descriptors'
# (each connection reset has its own failure line, rate-limited: "nethook:
# ADDR via ROUTE: relay out of file descriptors")
nh_is "said once" "$(grep -c 'relay: out of file descriptors' "$NH_TMP/err")" 1

# Each relay worker keeps its sockets in a descriptor table of its own, so
# a hard limit of 1024 bounds each worker, not their sum: 700 kept-alive
# connections (1400 sockets in the relay) fit with two workers.
# an echo server: a connection stays until the client closes it
echo_srv=$NH_TMP/echo.py
cat >"$echo_srv" <<'PY'
import selectors, socket, sys
sel = selectors.DefaultSelector()
ls = socket.create_server((sys.argv[1], int(sys.argv[2])), backlog=4096)
sel.register(ls, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            c, _ = ls.accept()
            sel.register(c, selectors.EVENT_READ)
            continue
        c = key.fileobj
        try:
            d = c.recv(4096)
        except OSError:
            d = b""
        if d:
            c.sendall(d)
        else:
            sel.unregister(c)
            c.close()
PY
nh_bg echo_pid nh_in p python3 "$echo_srv" "$NHP_P4" 7070
nh_wait_port p "$NHP_P4" 7070 10 || nh_bail "echo server did not listen"
keep=$NH_TMP/keep.py
cat >"$keep" <<'PY'
import socket, sys, time
n, addr = int(sys.argv[1]), sys.argv[2]
socks = []
def echoed(s, msg):
    try:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d:
                break
            got += d
        return got == msg
    except OSError:
        return False
for i in range(n):
    socks.append(socket.create_connection((addr, 7070), timeout=5))
print("held=%d" % sum(echoed(s, b"one %d" % i) for i, s in enumerate(socks)), flush=True)
time.sleep(float(sys.argv[3]))
# still open after idling: each echoes again
print("again=%d" % sum(echoed(s, b"two %d" % i) for i, s in enumerate(socks)), flush=True)
PY
if [ "$(nproc)" -ge 2 ]; then
	limited 1024 "python3 $keep ${NH_KEEP_N:-700} $NHP_P4 ${NH_KEEP_S:-1.5}"
	nh_is "hard limit 1024: 700 connections held through the relay, and used again after idling" \
		"$(tr '\n' ' ' <"$NH_TMP/out")$rc" "held=700 again=700 0"
	nh_is "hard limit 1024: nothing said of descriptors" \
		"$(grep -c 'descriptors' "$NH_TMP/err")" 0
else
	nh_skip "hard limit 1024: 700 connections held" "one CPU: one relay worker"
	nh_skip "hard limit 1024: nothing said of descriptors" "one CPU"
fi

# --max-flows: a flow over the limit is reset and logged, others served
log=$NH_TMP/log
out=$(nh_nethook c run --proxy direct:// --max-flows 20 --log "$log" \
	-- sh -c "python3 $hold 40 $NHP_P4 0")
# (a reset can beat the request out: then it counts as not opened)
nh_is "--max-flows 20: 20 served, 20 refused" "${out#open=* }" "reset=20 served=20"
nh_is "--max-flows 20: each refusal logged as EMFILE" \
	"$(grep -c 'error=EMFILE' "$log")" 20
nh_done
