#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Issue 12, fault injection: SIGKILL at random moments.  In each round,
# `nethook run --proxy socks5://...` (through the relay, or with
# --handoff) starts a command that connects all the time through dante;
# after a random delay (seeded; the seed is printed, NH_SEED=N replays
# it) the test kills nethook, its supervisor, or both, with SIGKILL: while
# nethook starts, while the command runs, or while nethook ends the run
# after a SIGTERM.  Each round, what a user checks:
# - the command never reaches a server but through the proxy: it asks
#   for the web server (203.0.113.2, which the client cannot reach at
#   all) and for a server on the proxy host (192.0.2.10:8080), which it
#   could reach directly; both servers' logs must show the proxy's
#   address only, and the command never sees ENETUNREACH (a connect()
#   the kernel let go unhooked);
# - once nethook is dead the command is gone, or none of its connections
#   begun after the kill succeeds; with the supervisor alone killed,
#   nethook goes on serving;
# - after `nethook cleanup`: no process of the run, no cgroup under the
#   test's, no pinned links, no lock, no relay or resolver socket.
# Then a run killed with its supervisor, and what other nethooks on the
# machine do meanwhile: a clean-up from another mount namespace (`ip
# netns exec`), a new nethook that gets the dead run's pid and is killed
# as it starts.  The dead run keeps its lock and pins, its command stays
# hooked, until `nethook cleanup` ends it.
# Bounded: NH_FAULT_ROUNDS rounds (20, NH_QUICK 8), each under 10 s.
# Needs root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_dante dante 1080 none
# a server on the proxy host, which the client reaches without the proxy
nh_nginx p near "$NHP_P4:8080"
socks=socks5://$NHP_P4:1080

rounds=${NH_FAULT_ROUNDS:-20}
nh_quick && rounds=${NH_FAULT_ROUNDS:-8}
seed=${NH_SEED:-$(($(date +%s%N) / 1000 % 32768))}
RANDOM=$seed
echo "# seed $seed (NH_SEED=$seed replays these rounds), $rounds rounds"
tpid= # nh_bg sets it

# The command: says its pid, then for at most 30 s one HTTP GET /who
# after another, to each ADDR:PORT in turn, one line each with the
# wall-clock time it began: "T ADDR:PORT ok BODY" or "T ADDR:PORT fail
# ERRNO-NAME".
prober=$NH_TMP/prober.py
cat >"$prober" <<'EOF'
import errno, os, socket, sys, time
log = open(sys.argv[1], "a", buffering=1)
log.write("pid %d\n" % os.getpid())
targets = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in sys.argv[2:]]
end = time.monotonic() + 30
while time.monotonic() < end:
    for host, port in targets:
        t = time.time()
        s = socket.socket()
        s.settimeout(2)
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
        time.sleep(0.03)
EOF

now() { date +%s.%N; }
# sleep_ms MS
sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
# kids PID: the children of PID
kids() { pgrep -P "$1"; }
# supervisor MAIN: nethook's child in a session of its own
supervisor() {
	local p
	[ -n "$1" ] || return 0
	for p in $(pgrep -P "$1" -x nethook); do
		[ "$(ps -o sid= -p "$p" 2>/dev/null | tr -d ' ')" = "$p" ] && echo "$p"
	done
}
# lines LOG SINCE: the prober's lines of connections begun after SINCE
lines() {
	awk -v t="$2" '$1 != "pid" && $1 > t' "$1"
}
pin_dirs() {
	ls -d /sys/fs/bpf/nethook/"$1" /run/nethook/bpf/nethook/"$1" 2>/dev/null
}

for ((r = 1; r <= rounds; r++)); do
	# every mode with every victim once in 6 rounds; the moment at random
	mode=relay flag=
	((r % 2)) || mode=handoff flag=--handoff
	case $(((r - 1) % 3)) in
	0) victim=nethook ;;
	1) victim=supervisor ;;
	2) victim=both ;;
	esac
	# half the kills come while nethook starts (about the first 300
	# ms), and a quarter as it ends the run after a SIGTERM (about 90
	# ms)
	phase=run delay=$((RANDOM % 300))
	((RANDOM % 2)) && delay=$((300 + RANDOM % 900))
	((RANDOM % 4 == 0)) && phase=exit delay=$((RANDOM % 90))
	log=$NH_TMP/r$r.log
	: >"$log"
	nh_bg tpid timeout -k 5 40 nsenter "--net=/run/netns/$(nh_ns c)" -- \
		"$NETHOOK" run $flag --proxy "$socks" -- python3 "$prober" "$log" \
		"$NHP_W4:80" "$NHP_P4:8080" </dev/null >"$NH_TMP/r$r.out" 2>"$NH_TMP/r$r.err"
	disown "$tpid" # its death by SIGKILL is no news
	main=
	if [ "$phase" = exit ]; then
		# the command running, then nethook told to end it
		for ((i = 0; i < 100; i++)); do
			[ "$(grep -c ' ok ' "$log")" -ge 2 ] && break
			sleep 0.05
		done
		main=$(kids "$tpid")
		super=$(supervisor "$main")
		[ -n "$main" ] || nh_bail "round $r: no nethook under timeout $tpid"
		kill -TERM "$main" 2>/dev/null
		sleep_ms "$delay"
	else
		sleep_ms "$delay"
		# (nethook may not even be there yet)
		for ((i = 0; i < 100; i++)); do
			main=$(kids "$tpid")
			[ -n "$main" ] && break
			sleep 0.01
		done
		[ -n "$main" ] || nh_bail "round $r: no nethook under timeout $tpid"
		super=$(supervisor "$main")
	fi
	what="$victim killed"
	nh_alive "$main" || what="$victim killed (nethook had exited)"
	if [ "$victim" = supervisor ] && [ -z "$super" ]; then
		what="nethook killed (no supervisor yet)"
		victim=nethook
	fi
	case $victim in
	nethook) kill -KILL "$main" ;;
	supervisor) kill -KILL "$super" ;;
	both) kill -KILL "$main" ${super:+"$super"} ;;
	esac 2>/dev/null
	tk=$(now)
	name="round $r ($mode, $phase, $what at ${delay} ms)"
	cg=$NH_CG/nethook-$main
	# what the command does meanwhile: a second more
	sleep 1
	if [ "$victim" = supervisor ]; then
		if [ "$phase" = run ]; then
			nh_check "$name: nethook goes on serving without its supervisor" \
				test "$(lines "$log" "$tk" | grep -c ' ok web$')" -ge 1
			kill -TERM "$main"
		fi
		nh_wait_gone "$main" 8
		nh_is "$name: then nethook ends the run (SIGTERM)" \
			"$(nh_alive "$main" && echo alive)" ""
	else
		# a connection begun a moment before the kill may still end well
		late=$(lines "$log" "$(awk -v t="$tk" 'BEGIN { printf "%.3f", t + 0.05 }')")
		if ! grep -q ' ok ' <<<"$late"; then
			nh_ok "$name: nothing connects after the kill"
		else
			nh_fail "$name: nothing connects after the kill" \
				"killed at $tk: main $main, supervisor ${super:-none}" \
				"$(grep ' ok ' <<<"$late" | head -n 3)" \
				"cgroup: $(ls -d "$cg" 2>&1)" "pins: $(pin_dirs "$main")" \
				"lock: $(ls /run/nethook/"$main"* 2>&1)" \
				"nethook said: $(tail -n 3 "$NH_TMP/r$r.err")"
		fi
	fi
	nh_is "$name: no connect() went out unhooked (ENETUNREACH)" \
		"$(grep -c ' fail ENETUNREACH$' "$log")" 0
	if [ "$victim" = nethook ] && [ -n "$super" ]; then
		# its supervisor ends the command and removes the run by
		# itself, before any clean-up
		nh_wait_gone "$(awk '$1 == "pid" { print $2 }' "$log")" 5
		for ((i = 0; i < 50; i++)); do
			[ -d "$cg" ] || [ -n "$(pin_dirs "$main")" ] ||
				[ -e /run/nethook/"$main".lock ] || break
			sleep 0.1
		done
		nh_is "$name: its supervisor removed the run by itself" \
			"$(ls -d "$cg" 2>/dev/null)$(pin_dirs "$main")$(ls /run/nethook/"$main".lock 2>/dev/null)" ""
	fi
	nh_wait_gone "$tpid" 10
	out=$(nh_nethook c cleanup 2>&1)
	nh_is "$name: nethook cleanup exit 0" "$?" 0
	cmd=$(awk '$1 == "pid" { print $2 }' "$log")
	alive=
	for p in $main $super $cmd; do
		nh_wait_gone "$p" 3 || alive+=" $p"
	done
	left="$alive$(nh_leftover_cgroups)$(pin_dirs "$main")"
	left+=$(ls /run/nethook/"$main".lock /run/nethook/."$main".new 2>/dev/null)
	left+=$(nh_in c ss -Htulnp 2>/dev/null | grep '"nethook"')
	if [ -z "$left" ]; then
		nh_ok "$name: after nethook cleanup nothing is left"
	else
		nh_fail "$name: after nethook cleanup nothing is left" "left: $left" \
			"cleanup said: $out" "$(tail -n 3 "$NH_TMP/r$r.err")"
	fi
	echo "# $name: the command's connections: $(grep -c ' ok ' "$log") ok, $(grep -c ' fail ' "$log") failed$(awk '$3 == "fail" { print $4 }' "$log" | sort | uniq -c | awk '{ printf " %s %s", $1, $2 }')"
	[ -d "$cg" ] && echo "# $name: cgroup $cg still there"
done

# --- a dead run and what other nethooks do meanwhile -----------------------
# nethook and its supervisor killed together leave the command hooked by
# the run's pinned links until a clean-up ends it.  Other nethooks start
# meanwhile, on a shared machine, and each start cleans up dead runs.
lock_fd=
release_lock() {
	local rc=$?
	[ -n "$lock_fd" ] && exec {lock_fd}<&-
	lock_fd=
	return "$rc"
}
trap 'release_lock; nh_cleanup' EXIT
mkdir -p "$NH_CG/other" # a cgroup beside the test's own runs
ns=/run/netns/$(nh_ns c)
# direct: requests the server on the proxy host had from the client
direct() { grep -c "^$NHP_C4 " "$NH_TMP/nginx-near/access.log"; }

# dead_run NAME [hold]: a run through the relay, its command connecting
# to the server on the proxy host, killed with its supervisor; with
# "hold" the test takes the dead run's lock first (as a clean-up under
# way would hold it).  Sets dead (nethook's pid), cmd, log, pins, t.
dead_run() {
	local w
	log=$NH_TMP/$1.log
	: >"$log"
	nh_bg tpid timeout -k 5 60 nsenter "--net=$ns" -- \
		"$NETHOOK" run --proxy "$socks" -- python3 "$prober" "$log" \
		"$NHP_P4:8080" </dev/null >"$NH_TMP/$1.out" 2>"$NH_TMP/$1.err"
	disown "$tpid"
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c ' ok ' "$log")" -ge 2 ] && break
		sleep 0.05
	done
	dead=$(kids "$tpid")
	super=$(supervisor "$dead")
	cmd=$(awk '$1 == "pid" { print $2 }' "$log")
	if [ -z "$dead" ] || [ -z "$super" ] || [ -z "$cmd" ]; then
		nh_bail "$1: the run did not start"
	fi
	# (a stopped nethook does not see its supervisor die)
	kill -STOP "$dead"
	kill -KILL "$super"
	nh_wait_gone "$super" 5
	if [ "${2:-}" = hold ]; then
		exec {lock_fd}<"/run/nethook/$dead.lock"
		timeout 10 flock -x "$lock_fd" &
		w=$!
	fi
	kill -KILL "$dead"
	nh_wait_gone "$dead" 5
	if [ "${2:-}" = hold ]; then
		wait "$w" || nh_fail "$1: the test took the dead run's lock"
	fi
	pins=$(pin_dirs "$dead")
	[ -n "$pins" ] || nh_bail "$1: the dead run left no pins"
	t=$(now)
	direct0=$(direct)
}

# still_hooked NAME: the dead run kept its pins and lock, and its
# command is refused
still_hooked() {
	nh_is "$1: the dead run's pins are still there" "$(pin_dirs "$dead")" "$pins"
	nh_is "$1: so is its lock" "$(ls /run/nethook/"$dead".lock 2>&1)" \
		"/run/nethook/$dead.lock"
	nh_is "$1: its command connects still, and is refused" \
		"$(lines "$log" "$t" | awk '{ print $3 $4 }' | sort -u)" failECONNREFUSED
}

# cleaned NAME: `nethook cleanup` (from the test's cgroup) ends it
cleaned() {
	release_lock
	nh_nethook c cleanup >/dev/null 2>&1
	nh_check "$1: nethook cleanup then ends the dead run's command" nh_wait_gone "$cmd" 5
	nh_is "$1: and leaves nothing" \
		"$(nh_leftover_cgroups)$(pin_dirs "$dead")$(pin_dirs "$dead-1")$(ls /run/nethook/"$dead".lock /run/nethook/"$dead"-1.lock 2>/dev/null)" ""
}

# A clean-up under `ip netns exec`, which remounts /sys: from there the
# dead run's cgroup path is not seen.  It must not take the run for gone
# and remove its pins while its command lives on.  From another cgroup,
# as another user's nethook would be.  (The test holds the dead run's
# lock until then: any nethook that starts on the machine cleans dead
# runs up, as it should, and may still do so right after.)
dead_run netns hold
release_lock
sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$NH_CG/other" \
	ip netns exec "$(nh_ns c)" "$NETHOOK" cleanup </dev/null >"$NH_TMP/netns.clean" 2>&1
sleep 1
name="clean-up from another mount namespace"
if grep -q "kept the dead run $dead: its cgroup .* is not seen from here" "$NH_TMP/netns.clean"; then
	nh_ok "$name: it keeps the run, and says why"
	if nh_alive "$cmd"; then
		still_hooked "$name"
	else
		nh_skip "$name: the dead run stays hooked" \
			"another nethook on the machine ended it meanwhile"
	fi
elif ! nh_alive "$cmd"; then
	nh_skip "$name: it keeps the run, and says why" \
		"another nethook on the machine ended the dead run first"
else
	nh_fail "$name: it keeps the run, and says why" "$(cat "$NH_TMP/netns.clean")"
fi
nh_is "$name: nothing reached the server directly" "$(direct)" "$direct0"
nh_is "$name: nothing connected" \
	"$(lines "$log" "$t" | awk '$3 == "ok"' | head -n 3)" ""
cleaned "$name"

# A new nethook that gets the dead run's pid (pids come round: pid_max is
# 32768 here) while a clean-up holds the dead run's lock, killed as it
# starts: its supervisor removes its own run.  It must not take the dead
# run's lock, and so must not remove its pins with its own.
dead_run reuse hold
new=
for ((i = 0; i < 20; i++)); do
	echo $((dead - 1)) >/proc/sys/kernel/ns_last_pid
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$NH_CG/other" \
		nsenter "--net=$ns" -- "$NETHOOK" run -- sleep 5 \
		</dev/null >"$NH_TMP/new.out" 2>&1 {lock_fd}<&- &
	new=$!
	NH_PIDS+=("$new:$(nh_starttime "$new")")
	[ "$new" = "$dead" ] && break
	kill -KILL "$new" 2>/dev/null
	wait "$new" 2>/dev/null
	new=
done
if [ -z "$new" ]; then
	nh_skip "pid reuse: a new nethook with the dead run's pid" \
		"could not have pid $dead in 20 tries"
else
	# as soon as its supervisor is there
	for ((i = 0; i < 500; i++)); do
		[ -n "$(pgrep -P "$new" -x nethook)" ] && break
		sleep 0.002
	done
	kill -KILL "$new"
	wait "$new" 2>/dev/null
	sleep 1.5
	still_hooked "pid reuse"
	nh_is "pid reuse: nothing reached the server directly" "$(direct)" "$direct0"
fi
cleaned "pid reuse"

# the servers saw the proxy only
nh_is "the web server saw requests from the proxy host only" \
	"$(awk '{ print $1 }' "$NH_TMP/nginx-web/access.log" | grep -Ev "^($NHP_PW4|$NHP_PW6)$" | sort -u)" ""
nh_is "the server on the proxy host saw requests from the proxy only (none from the client $NHP_C4)" \
	"$(awk '{ print $1 }' "$NH_TMP/nginx-near/access.log" | sort -u | grep -vx "$NHP_P4")" ""
n=$(grep -c "^$NHP_P4 " "$NH_TMP/nginx-near/access.log")
nh_check "... and it did see them ($n requests through the proxy)" test "$n" -gt 0

nh_done
