#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Signals: nethook run forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT,
# SIGUSR1/2 to the command (once, even when the terminal delivered them
# to both); processes the command leaves behind are ended; SIGKILL of
# nethook kills the command, and `nethook cleanup` (or the next run)
# removes what the dead run left.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_netns c

sigcount=$NH_PROGS/nh-sigcount
ready=$NH_TMP/ready
pid=

# start_bg VAR ARGS...: nethook ARGS in the background, leader of its own
# process group, with SIGINT and SIGQUIT at their defaults (a background
# job of a script starts with them ignored).
start_bg() {
	local _sb_var=$1
	shift
	rm -f "$ready"
	nh_bg "$_sb_var" setsid env --default-signal=INT,QUIT \
		nsenter "--net=/run/netns/$(nh_ns c)" -- "$NETHOOK" "$@"
}

# finish PID SECS: wait for it; its exit status (or "running") in rc.
finish() {
	rc=running
	nh_wait_gone "$1" "$2" || return 0
	wait "$1"
	rc=$?
}

for sig in TERM INT HUP QUIT USR1 USR2; do
	num=$(kill -l "$sig")
	start_bg pid run -- "$sigcount" -x -t 20 -r "$ready" "$sig" \
		>"$NH_TMP/out" 2>"$NH_TMP/err"
	if ! nh_wait_file "$ready" 10; then
		nh_fail "SIG$sig forwarded" "command not ready" "$(cat "$NH_TMP/err")"
		continue
	fi
	kill "-$sig" "$pid"
	finish "$pid" 10
	nh_is "SIG$sig to nethook: command got it, its status returned" \
		"$rc $(cut -d' ' -f1 "$NH_TMP/out")" "$((100 + num)) SIG$sig"
done

# Sent with kill(2) to the whole process group: COMMAND shares nethook's
# group (so Ctrl-Z stops both), gets it from the sender and once more from
# nethook, which cannot tell a group kill from one aimed at it alone
# (documented in the README).  A terminal's own signals, the usual group
# delivery, are deduplicated: see the Ctrl-C case below.
start_bg pid run -- "$sigcount" -t 3 -r "$ready" INT >"$NH_TMP/out"
if nh_wait_file "$ready" 10; then
	kill -INT -- "-$pid"
	finish "$pid" 10
	nh_is "SIGINT to the process group: command got it, status 0" \
		"$rc $(grep -c . "$NH_TMP/out" | sed 's/^[12]$/got/')" "0 got"
else
	nh_fail "SIGINT to the process group" "command not ready"
fi

# Ctrl-C on a real terminal (a pty from script(1)): SIGINT once.
# The terminal's input stays open until the shell has printed nethook's
# status: script(1) ends the session when its input closes, and a slow
# machine may still be cleaning up then.  script(1) runs $SHELL, which
# shares the terminal's process group and so gets the ^C too: dash (CI's
# /bin/sh when SHELL is unset) dies of it before printing the status,
# bash waits for its child.  The shell's own trap keeps it alive whatever
# shell it is; a caught signal is back at its default in the child.
done=$NH_TMP/done
rm -f "$ready" "$done"
out=$({ nh_wait_file "$ready" 10 && sleep 0.2 && printf '\003'
	nh_wait_file "$done" 25; } |
	timeout 30 script -qfec "trap : INT; nsenter --net=/run/netns/$(nh_ns c) -- \
	$NETHOOK run -- $sigcount -t 3 -r $ready INT; echo rc=\$?; : >$done" \
	/dev/null | tr -d '\r')
nh_is "Ctrl-C on a terminal: command got SIGINT once, status 0" \
	"$(printf '%s\n' "$out" | grep -Eo '^(\^C)?(SIGINT|rc=[0-9]+)' |
		sed 's/^^C//' | paste -sd ' ')" "SIGINT rc=0"

# A shell's trap sees SIGTERM and decides the exit status.
start_bg pid run -- sh -c "trap 'echo got-term; exit 7' TERM;
	: >'$ready'; i=0; while [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done" \
	>"$NH_TMP/out"
if nh_wait_file "$ready" 10; then
	kill -TERM "$pid"
	finish "$pid" 10
	nh_is "SIGTERM reaches the command's trap: status 7" "$rc" 7
	nh_is "SIGTERM reaches the command's trap: it ran" "$(cat "$NH_TMP/out")" got-term
else
	nh_fail "SIGTERM reaches the command's trap" "command not ready"
fi

# Processes the command left behind are ended (TERM, then cgroup.kill).
start=$SECONDS
out=$(nh_nethook c run -- sh -c 'sleep 300 & echo $!')
left=$out
nh_is "command exits, a background child stays: nethook returns 0" "$?" 0
nh_check "left-over child is ended" nh_wait_gone "$left" 5
out=$(nh_nethook c run -- sh -c '(trap "" TERM; exec sleep 300) & echo $!')
nh_check "left-over child ignoring SIGTERM is killed" nh_wait_gone "$out" 8
nh_check "both runs returned within 20 s" test $((SECONDS - start)) -le 20

# kill_run: start a run, SIGKILL nethook, check its command dies.
# Sets pid (nethook's) and cmd (the command's).
kill_run() {
	rm -f "$NH_TMP/cmdpid" "$NH_TMP/gpid"
	start_bg pid run -- sh -c "sleep 300 & echo \$! >'$NH_TMP/gpid';
		echo \$\$ >'$NH_TMP/cmdpid'; wait"
	cmd=
	if nh_wait_file "$NH_TMP/gpid" 10 && nh_wait_file "$NH_TMP/cmdpid" 10; then
		sleep 0.2
		cmd=$(cat "$NH_TMP/cmdpid")
		nh_is "$1: run's cgroup nethook-$pid exists" \
			"$(ls -d "$NH_CG/nethook-$pid" 2>/dev/null)" "$NH_CG/nethook-$pid"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		nh_check "$1: command dies within 5 s" nh_wait_gone "$cmd" 5
		nh_check "$1: its background child dies within 5 s" \
			nh_wait_gone "$(cat "$NH_TMP/gpid")" 5
	else
		nh_fail "$1" "command did not start"
	fi
}

# lock_of PID: entries under /run/nethook naming that run.
lock_of() {
	find /run/nethook -maxdepth 1 -name "*$1*" 2>/dev/null
}

kill_run "SIGKILL of nethook"
out=$(nh_nethook c cleanup 2>&1)
nh_is "nethook cleanup: exit status 0" "$?" 0
nh_is "nethook cleanup: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_is "nethook cleanup: no lock of the dead run" "$(lock_of "$pid")" ""

kill_run "SIGKILL of nethook again"
dead=$pid
nh_nethook c run -- true
nh_is "next run: exit status 0" "$?" 0
nh_is "next run: removed the dead run's cgroup" "$(nh_leftover_cgroups)" ""
nh_is "next run: removed the dead run's lock" "$(lock_of "$dead")" ""

nh_done
