#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run's exit status: the command's, 128+N for a signal, 126 not
# executable, 127 not found, 125 for nethook's own errors (bad usage, not
# root), each with a one-line message; the run leaves nothing behind.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_netns c

err=$NH_TMP/stderr

# expect_status NAME WANT [nethook args...]
expect_status() {
	local name=$1 want=$2 rc
	shift 2
	nh_nethook c "$@" >/dev/null 2>"$err" </dev/null
	rc=$?
	if [ "$rc" = "$want" ]; then
		nh_ok "$name: exit status $want"
	else
		nh_fail "$name: exit status $want" "got $rc" "command: nethook $*" \
			"stderr: $(head -n 5 "$err")"
	fi
}

# expect_message NAME ERE: stderr of the last expect_status is one line
# matching ERE.
expect_message() {
	local lines
	lines=$(grep -c . "$err")
	if [ "$lines" = 1 ] && grep -Eq -- "$2" "$err"; then
		nh_ok "$1: one-line message"
	else
		nh_fail "$1: one-line message" "want one line matching: $2" \
			"got $lines lines:" "$(head -n 5 "$err")"
	fi
}

expect_status "true" 0 run -- true
expect_status "sh -c 'exit 3'" 3 run -- sh -c 'exit 3'
expect_status "command kills itself with SIGTERM" 143 run -- sh -c 'kill -TERM $$'
expect_status "command kills itself with SIGKILL" 137 run -- sh -c 'kill -KILL $$'
expect_status "exit status of a pipeline" 5 run -- sh -c 'true | (exit 5)'

expect_status "not executable" 126 run -- /etc/passwd
expect_message "not executable" .
expect_status "a directory" 126 run -- /tmp
expect_message "a directory" .
expect_status "not found (path)" 127 run -- /nonexistent/nh-no-such-program
expect_message "not found (path)" 'nh-no-such-program'
expect_status "not found (PATH search)" 127 run -- nh-no-such-program
expect_message "not found (PATH search)" 'nh-no-such-program'

mark=$NH_TMP/ran
while IFS='|' read -r name args; do
	[ -n "$name" ] || continue
	set -f
	# shellcheck disable=SC2086
	expect_status "bad usage: $name" 125 $args
	set +f
	expect_message "bad usage: $name" .
done <<EOF2
unknown option|run --bogus -- touch $mark
no command|run
no command after --|run --
unknown subcommand|frobnicate
redirect without port|run --redirect 192.0.2.2 -- touch $mark
redirect bad address|run --redirect 300.1.1.1:80 -- touch $mark
redirect port 0|run --redirect 192.0.2.2:0 -- touch $mark
redirect port too big|run --redirect 192.0.2.2:65536 -- touch $mark
IPv6 redirect without brackets|run --redirect 2001:db8::1:80 -- touch $mark
match prefix too long|run --match 192.0.2.0/33 -- touch $mark
match IPv6 prefix too long|run --match [2001:db8::/129] -- touch $mark
block unclosed bracket|run --block [2001:db8::1 -- touch $mark
exclude reversed port range|run --exclude 192.0.2.1:90-80 -- touch $mark
bad --events|run --events create,bogus -- touch $mark
unknown user|run --user nh-no-such-user -- touch $mark
unknown group|run --user nobody:nh-no-such-group -- touch $mark
log to a missing directory|run --log /nonexistent/dir/log -- touch $mark
EOF2
nh_is "bad usage: the command never ran" "$(ls "$mark" 2>/dev/null)" ""

# Not root: kernel mode is 125, and a message saying why; without
# --mode, user mode runs the command and its status is nethook's.
out=$(nsenter "--net=/run/netns/$(nh_ns c)" -- setpriv --reuid=65534 \
	--regid=65534 --clear-groups -- timeout 20 "$NETHOOK" run --mode kernel -- true 2>&1)
rc=$?
nh_is "not root, --mode kernel: exit status 125" "$rc" 125
nh_is "not root, --mode kernel: one-line message" "$(printf '%s\n' "$out" | grep -c .)" 1
nsenter "--net=/run/netns/$(nh_ns c)" -- setpriv --reuid=65534 \
	--regid=65534 --clear-groups -- timeout 20 "$NETHOOK" run --log /dev/null -- sh -c 'exit 7'
nh_is "not root: user mode runs the command, its exit status (7)" "$?" 7

# Standard streams reach the command.
nh_is "stdin and stdout pass through" \
	"$(echo hello | nh_nethook c run -- cat)" hello
nh_is "stderr passes through" \
	"$(nh_nethook c run -- sh -c 'echo oops >&2' 2>&1 >/dev/null)" oops

out=$(nh_nethook c check 2>&1)
nh_is "nethook check: exit status 0" "$?" 0

nh_is "after all runs: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

nh_done
