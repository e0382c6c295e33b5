#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Issue 9, item 3: nethook and its supervisor killed together (kill -9 of
# both, what any "kill all nethook" does) must not leave the command
# running unhooked.  The run's links are pinned in a BPF filesystem and
# outlive nethook: a diverted connect then fails (the relay is gone, and
# an outsider who binds its port gets nothing), a blocked destination
# stays blocked, a redirect stays a redirect.  `nethook cleanup` (or the
# next start) kills the command, then removes the cgroup and the pins.
#
# World (world.sh): the web server 192.0.2.2 is reachable directly from the
# client namespace c, and a SOCKS5 proxy (microsocks) runs next to it in s.
# nginx logs the peer address: 192.0.2.1 (or 2001:db8:1::1) is a direct
# connection from the command, 192.0.2.2 one through the proxy.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxies.sh" # nhp_relay_port
nh_require_nethook
command -v microsocks >/dev/null || nh_bail "microsocks is not installed"
command -v python3 >/dev/null || nh_bail "python3 is not installed"
nh_world_web

socks=socks5://$NH_SERVER4:1080
nh_bg msock nsenter "--net=/run/netns/$(nh_ns s)" -- microsocks \
	-i "$NH_SERVER4" -p 1080 </dev/null >"$NH_TMP/microsocks.log" 2>&1
nh_wait_port s "$NH_SERVER4" 1080 10 || nh_bail "microsocks did not listen"

# The bpffs nethook pins in.
pin_root() {
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ]; then
		echo /sys/fs/bpf/nethook
	else
		echo /run/nethook/bpf/nethook
	fi
}

# pinned ID: the pin directory of run ID, if there is one.
pinned() {
	local d
	d=$(pin_root)/$1
	[ -e "$d" ] && echo "$d"
	return 0
}

# The prober: every 200 ms, one HTTP GET /who to each ADDR:PORT (IPv6
# addresses without brackets) in turn,
# one line each: "T ADDR:PORT ok BODY" or "T ADDR:PORT fail ERRNO-NAME".
prober=$NH_TMP/prober.py
cat >"$prober" <<'EOF'
import errno, os, signal, socket, sys, time
log = open(sys.argv[1], "a", buffering=1)
def died(sig, frame):
    log.write("%.3f - signal %s\n" % (time.monotonic(), signal.Signals(sig).name))
    os._exit(1)
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
    signal.signal(sig, died)
targets = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) if not a.startswith("dns@") else (a, 53) for a in sys.argv[2:]]
QUERY = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03web\x07example\x00\x00\x01\x00\x01"
def dns(host):
    # an unconnected query: a refusal is sendto()'s error; a query let
    # out to a server with nothing on port 53 would only time out
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.sendto(QUERY, (host, 53))
        data, src = s.recvfrom(512)
        return "ok " + src[0]
    except OSError as e:
        return "fail " + (errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout")
    finally:
        s.close()
while True:
    for host, port in targets:
        t = time.monotonic()
        if host.startswith("dns@"):
            log.write("%.3f %s:%d %s\n" % (t, host, port, dns(host[4:])))
            time.sleep(0.2)
            continue
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect((host, port))
            s.sendall(b"GET /who HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            body = data.split(b"\r\n\r\n", 1)[-1].strip().decode() or "-"
            log.write("%.3f %s:%d ok %s\n" % (t, host, port, body))
        except OSError as e:
            name = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
            log.write("%.3f %s:%d fail %s\n" % (t, host, port, name))
        finally:
            s.close()
        time.sleep(0.2)
EOF

# Direct connections from the command to the web server (the world's own
# check made one before: not counted).
direct_count() {
	echo $(($(grep -Ec "^($NH_CLIENT4|$NH_CLIENT6) " \
		"$NH_TMP/nginx-web/access.log") - direct0))
}
direct0=0
direct0=$(direct_count)

# A run's nethook (the main process) and its supervisor (its child in a
# session of its own), below the background job BG.
find_run() {
	local bg=$1 p q
	main=
	super=
	for p in $(pgrep -x nethook); do
		q=$p
		while [ -n "$q" ] && [ "$q" -gt 1 ]; do
			[ "$q" = "$bg" ] && break
			q=$(awk '$1 == "PPid:" { print $2 }' "/proc/$q/status" 2>/dev/null)
		done
		[ "$q" = "$bg" ] || continue
		# the main process's parent is not a nethook
		[ "$(cat "/proc/$(awk '$1 == "PPid:" { print $2 }' \
			"/proc/$p/status")/comm" 2>/dev/null)" = nethook ] && continue
		main=$p
	done
	[ -n "$main" ] || return 1
	super=$(ps -o pid=,sid= --ppid "$main" | awk '$1 == $2 { print $1; exit }')
	[ -n "$super" ]
}

# start NAME LOG TARGETS -- RUN-OPTIONS...: a run of the prober; waits
# until it has logged 3 lines.  Sets bg, main, super, cmd (the prober).
start() {
	local name=$1 log=$2 targets=() i
	shift 2
	while [ "$1" != -- ]; do
		targets+=("$1")
		shift
	done
	shift
	rm -f "$log"
	NH_TIMEOUT=120 nh_bg bg nh_nethook c run "$@" -- python3 "$prober" \
		"$log" "${targets[@]}" </dev/null >"$NH_TMP/$name.out" \
		2>"$NH_TMP/$name.err"
	for ((i = 0; i < 100; i++)); do
		[ -f "$log" ] && [ "$(wc -l <"$log")" -ge 3 ] && break
		sleep 0.1
	done
	cmd=
	for i in $(pgrep -f "$prober $log"); do
		[ "$(cat "/proc/$i/comm" 2>/dev/null)" = python3 ] && cmd=$i
	done
	if ! find_run "$bg" || [ -z "$cmd" ]; then
		nh_bail "$name: the run did not start" "$(tail -n 5 "$NH_TMP/$name.err")"
	fi
}

# kill_both NAME: kill -9 nethook and its supervisor together; the
# command outlives them.  Sets since (the prober's clock after the kill).
# Of `kill -9 NETHOOK SUPERVISOR` the supervisor sometimes sees nethook's
# end and kills the scope before its own SIGKILL lands; the case to test
# is the one where it does not: nethook is held still (SIGSTOP) while the
# supervisor dies.  (Not the other way round: a stopped supervisor in a
# process group orphaned by nethook's death gets SIGCONT from the kernel.)
#
# Every nethook start cleans up dead runs, and other runs share the
# machine: the test holds the dead run's lock (lock_fd) until it asks for
# the clean-up itself, so that none comes before.
lock_fd=
kill_both() {
	local w
	kill -STOP "$main"
	kill -KILL "$super"
	nh_wait_gone "$super" 5
	exec {lock_fd}<"/run/nethook/$main.lock"
	timeout 10 flock -x "$lock_fd" &
	w=$!
	kill -KILL "$main"
	nh_wait_gone "$main" 5
	wait "$w" || nh_fail "$1: the test took the dead run's lock"
	wait "$bg" 2>/dev/null
	# a connection begun before is no evidence either way
	since=$(python3 -c 'import time; print("%.3f" % time.monotonic())')
	if nh_alive "$cmd"; then
		nh_ok "$1: the command outlives nethook and its supervisor"
	else
		nh_fail "$1: the command outlives nethook and its supervisor" \
			"cgroup: $(ls -d "$NH_CG/nethook-$main" 2>&1)" \
			"pins: $(find "$(pin_root)/$main" 2>&1 | head -n 4)" \
			"lock: $(ls /run/nethook/"$main".lock 2>&1)" \
			"$(tail -n 3 "$log")"
	fi
}

release_lock() {
	local rc=$?
	[ -n "$lock_fd" ] && exec {lock_fd}<&-
	lock_fd=
	return "$rc"
}
trap 'release_lock; nh_cleanup' EXIT

# after LOG: the prober's lines from the kill on.
after() {
	awk -v t="$since" '$1 > t' "$1"
}

# cleanup_run NAME: `nethook cleanup` kills the command and removes the
# cgroup and the pins.
cleanup_run() {
	local out
	release_lock
	out=$(nh_nethook c cleanup 2>&1)
	nh_is "$1: nethook cleanup: exit status 0" "$?" 0
	nh_check "$1: nethook cleanup killed the command" nh_wait_gone "$cmd" 5
	nh_is "$1: nethook cleanup removed the cgroup" \
		"$(ls -d "$NH_CG/nethook-$main" 2>/dev/null)" ""
	nh_is "$1: nethook cleanup removed the pins" \
		"$(pinned "$main")" ""
	nh_like "$1: nethook cleanup said it removed the pins" "$out" \
		"removed the pinned links .*/$main$"
}

# --- proxy run: kill -9 nethook and supervisor ---------------------------
log=$NH_TMP/proxy.log
start proxy "$log" "$NH_SERVER4:80" "$NH_SERVER6:80" "dns@$NH_SERVER4" -- --proxy "$socks"
nh_like "proxy: while nethook lives the command reaches the server" \
	"$(cat "$log")" ":80 ok web$"
nh_like "proxy: while nethook lives its resolver answers DNS, seemingly from the server asked" \
	"$(cat "$log")" "dns@$NH_SERVER4:53 ok $NH_SERVER4$"
nh_like "proxy: while nethook lives the command reaches it over IPv6" \
	"$(cat "$log")" "^[0-9.]+ $NH_SERVER6:80 ok web$"
nh_is "proxy: while nethook lives nothing reaches the server directly" \
	"$(direct_count)" 0
nh_like "proxy: the run's links are pinned" \
	"$(ls "$(pin_root)/$main" 2>/dev/null)" '^nh_connect4$'
relay=$(nhp_relay_port c)
[ -n "$relay" ] || nh_bail "proxy: no relay port"
resolver=$(nh_in c ss -Hlunp 2>/dev/null |
	awk '/"nethook"/ && $4 ~ /^127\.0\.0\.1:/ { sub(/.*:/, "", $4); print $4; exit }')
[ -n "$resolver" ] || nh_bail "proxy: no resolver port"
kill_both "proxy"
sleep 5
nh_is "proxy, nethook killed: no connection reached the server directly in 5 s" \
	"$(direct_count)" 0
nh_is "proxy, nethook killed: the command reached nothing" \
	"$(after "$log" | grep -c ' ok ')" 0
n=$(after "$log" | grep -c ' fail ')
if [ "$n" -ge 10 ]; then
	nh_ok "proxy, nethook killed: the command kept trying (>= 10 connects)"
else
	nh_fail "proxy, nethook killed: the command kept trying (>= 10 connects)" \
		"$n connects since $since:" "$(after "$log")" "now: $(python3 -c 'import time; print("%.3f" % time.monotonic())')"
fi
nh_is "proxy, nethook killed: every connect was refused at once" \
	"$(after "$log" | awk '{ print $4 }' | sort -u)" ECONNREFUSED
nh_like "proxy, nethook killed: DNS queries too (sendto() refused, not let out)" \
	"$(after "$log" | grep dns@ | awk '{ print $3 $4 }' | sort -u)" '^failECONNREFUSED$'

# The squatter: user nobody takes the dead relay's port on 127.0.0.1.
# (its output goes to a file the test's shell opened for it)
squat=$NH_TMP/squat.out
nh_in c setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	timeout 10 python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
s.settimeout(0.2)
print("listening", flush=True)
n = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        c, _ = s.accept()
        n += 1
        c.close()
    except OSError:
        pass
print("accepted %d" % n)
' "$relay" >"$squat" 2>&1
nh_is "squatter (nobody) on the dead relay's port 127.0.0.1:$relay: it listened" \
	"$(head -n 1 "$squat")" listening
nh_is "squatter: it accepted none of the command's connections" \
	"$(tail -n 1 "$squat")" "accepted 0"
nh_is "squatter: meanwhile nothing reached the server" \
	"$(after "$log" | grep -c ' ok ')" 0
nh_is "squatter: nor directly" "$(direct_count)" 0

# And the dead resolver's UDP port: the names the command looks up must
# not reach whoever binds it.
nh_in c setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	timeout 10 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
print("bound", flush=True)
n = 0
end = time.monotonic() + 3
while time.monotonic() < end:
    try:
        s.recvfrom(512)
        n += 1
    except OSError:
        pass
print("received %d" % n)
' "$resolver" >"$squat" 2>&1
nh_is "squatter (nobody) on the dead resolver's port 127.0.0.1:$resolver: it bound it" \
	"$(head -n 1 "$squat")" bound
nh_is "squatter: it received none of the command's DNS queries" \
	"$(tail -n 1 "$squat")" "received 0"
nh_like "squatter: the command's queries were refused meanwhile" \
	"$(after "$log" | grep dns@ | awk '{ print $3 $4 }' | sort -u)" '^failECONNREFUSED$'
cleanup_run "proxy"

# --- the dead nethook's pid, taken by a process of the scope ------------
# The relay's own connects are exempt, and the relay was known by its pid;
# pid_max is small, and a command may wait for that pid to come round.
# Here root's quick way: ns_last_pid, then fork until a child has it.
grab=$NH_TMP/grab.py
cat >"$grab" <<'EOF'
import os, socket, sys, time
log, trigger, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = open(log, "a", buffering=1)
out.write("ready\n")
while not os.path.exists(trigger) or not open(trigger).read().strip():
    time.sleep(0.05)
want = int(open(trigger).read())
for _ in range(200):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(want - 1))
    pid = os.fork()
    if pid == 0:
        if os.getpid() != want:
            os._exit(0)
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((host, port))
            s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
            body = s.recv(4096).split(b"\r\n\r\n")[-1].strip().decode()
            out.write("pid %d ok %s\n" % (want, body))
        except OSError as e:
            out.write("pid %d fail %s\n" % (want, e.__class__.__name__))
        os._exit(0)
    os.waitpid(pid, 0)
    if pid == want:
        break
else:
    out.write("pid %d not had\n" % want)
out.write("done\n")
EOF
log=$NH_TMP/grab.log
rm -f "$log" "$NH_TMP/grab.trigger"
NH_TIMEOUT=60 nh_bg bg nh_nethook c run --proxy "$socks" -- python3 "$grab" \
	"$log" "$NH_TMP/grab.trigger" "$NH_SERVER4" 80 </dev/null \
	>"$NH_TMP/grab.out" 2>"$NH_TMP/grab.err"
nh_wait_file "$log" 10
cmd=
for i in $(pgrep -f "$grab $log"); do
	[ "$(cat "/proc/$i/comm" 2>/dev/null)" = python3 ] && cmd=$i
done
if ! find_run "$bg" || [ -z "$cmd" ]; then
	nh_bail "pid reuse: the run did not start"
fi
kill_both "pid reuse"
echo "$main" >"$NH_TMP/grab.trigger"
for ((i = 0; i < 100; i++)); do
	grep -q '^done' "$log" && break
	sleep 0.1
done
nh_like "pid reuse: a process of the scope got the dead nethook's pid $main" \
	"$(cat "$log")" "^pid $main (ok|fail)"
nh_like "pid reuse: its connect was refused, as any other's" \
	"$(cat "$log")" "^pid $main fail ConnectionRefusedError$"
nh_is "pid reuse: no direct connection" "$(direct_count)" 0
cleanup_run "pid reuse"

# --- --block and --redirect runs ----------------------------------------
log=$NH_TMP/block.log
start block "$log" "$NH_SERVER4:80" -- --block "$NH_SERVER4:80"
kill_both "block"
sleep 3
nh_is "block, nethook killed: the blocked destination stays blocked" \
	"$(after "$log" | awk '{ print $3 $4 }' | sort -u)" failECONNREFUSED
nh_is "block, nethook killed: no direct connection" "$(direct_count)" 0
cleanup_run "block"

log=$NH_TMP/redirect.log
start redirect "$log" "$NH_SERVER4:80" "$NH_SERVER4:8080" -- \
	--redirect 127.0.0.1:80 --match "$NH_SERVER4:80" --block "$NH_SERVER4:8080"
nh_like "redirect: while nethook lives the redirect holds" "$(cat "$log")" \
	":80 ok local$"
kill_both "redirect"
sleep 3
nh_is "redirect, nethook killed: still redirected" \
	"$(after "$log" | awk '$2 ~ /:80$/ { print $3, $4 }' | sort -u)" "ok local"
nh_is "redirect, nethook killed: the blocked destination stays blocked" \
	"$(after "$log" | awk '$2 ~ /:8080$/ { print $3 $4 }' | sort -u)" \
	failECONNREFUSED
nh_is "redirect, nethook killed: no direct connection" "$(direct_count)" 0
cleanup_run "redirect"

# --- --handoff: the seccomp listener dies with nethook -------------------
log=$NH_TMP/handoff.log
start handoff "$log" "$NH_SERVER4:80" -- --handoff --proxy "$socks"
nh_like "handoff: while nethook lives the command reaches the server" \
	"$(cat "$log")" " ok web$"
kill_both "handoff"
sleep 3
nh_is "handoff, nethook killed: connect() fails with ENOSYS" \
	"$(after "$log" | awk '{ print $3 $4 }' | sort -u)" failENOSYS
nh_is "handoff, nethook killed: no direct connection" "$(direct_count)" 0
cleanup_run "handoff"

# --- a normal exit leaves no pins; the next start cleans a dead run's ----
out=$(nh_nethook c run --proxy "$socks" -- sh -c \
	"ls '$(pin_root)/'\$PPID | grep -c .; echo \$PPID")
n=$(printf '%s\n' "$out" | head -n 1)
id=$(printf '%s\n' "$out" | tail -n 1)
nh_check "normal run: its links were pinned while it ran" test "${n:-0}" -ge 4
nh_is "normal run: no pins left after it" \
	"$(pinned "$id")" ""

log=$NH_TMP/next.log
start next "$log" "$NH_SERVER4:80" -- --proxy "$socks"
kill_both "next start"
dead=$main
release_lock
nh_nethook c run -- true
nh_is "next start: exit status 0" "$?" 0
nh_check "next start: killed the dead run's command" nh_wait_gone "$cmd" 5
nh_is "next start: removed the dead run's pins" \
	"$(pinned "$dead")" ""
nh_is "next start: removed the dead run's cgroup" "$(nh_leftover_cgroups)" ""
nh_is "no direct connection in the whole file" "$(direct_count)" 0

nh_done
