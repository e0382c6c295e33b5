#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy, the rest of the contract (issue 3): NETHOOK_PROXY
# and --proxy-file (used, not visible to the command, credentials never
# logged), usage errors (exit 125), the relay refusing connections nethook
# did not divert, UDP: DNS direct and logged under --dns direct, the rest
# EPERM unless --allow-udp, and --threads.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_microsocks msauth "$NHP_P4" 1083 envuser 'Pw:0rd'
nhp_microsocks ms "$NHP_P4" 1081
nhp_tinyproxy tplo 127.0.0.1 8890

log=$NH_TMP/log
who="http://$NHP_W4/who"
show='echo "env=${NETHOOK_PROXY:-unset}"; exec curl -sS -m 10'

# --- NETHOOK_PROXY ---------------------------------------------------------
rm -f "$log"
got=$(NETHOOK_PROXY="socks5://envuser:Pw%3A0rd@$NHP_P4:1083" \
	nh_nethook c run --log "$log" -- sh -c "$show $who")
nh_is "NETHOOK_PROXY: used, and not in the command's environment" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "env=unset web "
nh_is "NETHOOK_PROXY: end line route" \
	"$(nh_tfield "$(nhp_log_end "$log")" route)" "socks5://$NHP_P4:1083"
nh_unlike "NETHOOK_PROXY: no credentials in the log" "$(cat "$log")" \
	'envuser|Pw|0rd'
got=$(NETHOOK_PROXY="socks5://envuser:Pw%3A0rd@$NHP_P4:1083" \
	nh_nethook c run -- sh -c 'sh -c "tr \"\\0\" \"\\n\" </proc/self/environ" | grep -c NETHOOK_PROXY')
nh_is "NETHOOK_PROXY: not in a grandchild's /proc/self/environ either" "$got" 0
got=$(NETHOOK_PROXY="socks5://$NHP_P4:1999" \
	nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- sh -c "$show $who")
nh_is "--proxy wins over NETHOOK_PROXY, which is still removed" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "env=unset web "
NETHOOK_PROXY="bogus://x" nh_nethook c run -- true 2>"$NH_TMP/err"
nh_is "NETHOOK_PROXY with a bad URL: exit 125" "$?" 125
nh_like "NETHOOK_PROXY with a bad URL: says why" "$(cat "$NH_TMP/err")" \
	'^nethook: proxy: .*scheme'

# --- --proxy with credentials: blanked in argv, so ps(1) shows no password
# of nethook or of its supervisor (the wrappers the test runs nethook
# under, nsenter and timeout, still show theirs: the README says so)
nh_bg npid nh_nethook c run --proxy "socks5://envuser:Pw%3A0rd@$NHP_P4:1083" -- sleep 3
cl= n=0
for ((i = 0; i < 50 && n < 2; i++)); do
	sleep 0.1
	cl= n=0
	for p in $(pgrep -x nethook); do
		q=$p
		while [ -n "$q" ] && [ "$q" -gt 1 ] && [ "$q" != $$ ]; do
			q=$(awk '$1 == "PPid:" { print $2 }' "/proc/$q/status" 2>/dev/null)
		done
		[ "$q" = $$ ] || continue
		n=$((n + 1))
		cl+="$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null);"
	done
done
# (a third may be COMMAND's child before its exec: a copy of nethook too)
nh_check "--proxy user:pass@: nethook and its supervisor found ($n)" test "$n" -ge 2
nh_unlike "--proxy user:pass@: not in their command lines" "$cl" 'envuser|Pw|0rd'
nh_like "--proxy user:pass@: the command line still shows the proxy" "$cl" \
	"socks5://\*+@$NHP_P4:1083"
wait "$npid" 2>/dev/null

# --- --proxy-file ----------------------------------------------------------
pf=$NH_TMP/proxies
printf '# the chain, in order\n\n  socks5://envuser:Pw%%3A0rd@%s:1083\nhttp://127.0.0.1:8890\n' "$NHP_P4" >"$pf"
chmod 600 "$pf"
rm -f "$log"
got=$(NETHOOK_PROXY="socks5://$NHP_P4:1999" \
	nh_nethook c run --log "$log" --proxy-file "$pf" -- sh -c "$show $who")
nh_is "--proxy-file: a chain of two lines (and a comment), NETHOOK_PROXY still removed" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "env=unset web "
nh_is "--proxy-file: end line route is the chain" \
	"$(nh_tfield "$(nhp_log_end "$log")" route)" \
	"socks5://$NHP_P4:1083,http://127.0.0.1:8890"
nh_unlike "--proxy-file: no credentials in the log" "$(cat "$log")" \
	'envuser|Pw|0rd'
nh_like "--proxy-file: tinyproxy on the proxy's loopback carried it" \
	"$(cat "$NH_TMP/tplo/tinyproxy.log")" "CONNECT $NHP_W4:80 "
nh_nethook c run --proxy-file "$NH_TMP/nonexistent" -- true 2>"$NH_TMP/err"
nh_is "--proxy-file missing: exit 125" "$?" 125
nh_like "--proxy-file missing: names the file" "$(cat "$NH_TMP/err")" nonexistent
nh_nethook c run --proxy-file "$pf" --proxy "socks5://$NHP_P4:1081" -- true 2>/dev/null
nh_is "--proxy-file with --proxy: exit 125" "$?" 125
# bad files are named for what they are, nothing of them silently dropped
printf 'socks5://%s:1081\0socks5://%s:1999\n' "$NHP_P4" "$NHP_P4" >"$NH_TMP/nul"
nh_nethook c run --proxy-file "$NH_TMP/nul" -- true 2>"$NH_TMP/err"
nh_is "--proxy-file with a NUL byte: exit 125, says so" \
	"$? $(cat "$NH_TMP/err")" "125 nethook: --proxy-file $NH_TMP/nul: has a NUL byte: not a text file"
nh_nethook c run --proxy-file "$NH_TMP" -- true 2>"$NH_TMP/err"
nh_is "--proxy-file a directory: exit 125, says so" \
	"$? $(cat "$NH_TMP/err")" "125 nethook: --proxy-file $NH_TMP: Is a directory"
nh_nethook c run --proxy socks5://no-such-host.invalid:1080 -- true 2>"$NH_TMP/err"
# (no resolver answers in c: either word is the truth, "No route to
# host" was not)
nh_like "a proxy name that does not resolve: exit 125, says so" \
	"$? $(cat "$NH_TMP/err")" \
	"^125 nethook: proxy: cannot resolve no-such-host.invalid: (no address for this name|the resolver did not answer \(try again\))$"

# --- usage errors ----------------------------------------------------------------
nh_nethook c run --redirect "$NHP_P4:80" --proxy "socks5://$NHP_P4:1081" -- \
	true 2>"$NH_TMP/err"
nh_is "--redirect with --proxy: exit 125" "$?" 125
nh_like "--redirect with --proxy: says so" "$(cat "$NH_TMP/err")" \
	'--redirect and --proxy'
nh_nethook c run --redirect "$NHP_P4:80" --proxy-file "$pf" -- true 2>/dev/null
nh_is "--redirect with --proxy-file: exit 125" "$?" 125
for bad in "ftp://$NHP_P4:21" "socks5://$NHP_P4:0" "socks5://$NHP_P4:65536" \
	"socks5://u:p%zz@$NHP_P4:1080" "http://[2001:db8::zz]:80" \
	"$NHP_P4:1080"; do
	nh_nethook c run --proxy "$bad" -- true 2>/dev/null
	nh_is "bad proxy URL '$bad': exit 125" "$?" 125
done
nh_nethook c run --proxy "socks5://$NHP_P4:1081" --proxy direct:// -- true 2>/dev/null
nh_is "direct:// inside a chain: exit 125" "$?" 125
nh_nethook c run --allow-udp -- true 2>/dev/null
nh_is "--allow-udp without --proxy: exit 125" "$?" 125
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- sh -c 'exit 7')
nh_is "the command's exit status is nethook's" "$?" 7

# --- the relay is not an open proxy -------------------------------------------
# While a run is up, connect to its relay from outside the run.
mark=$NH_TMP/started
nh_bg run_pid nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1081" -- \
	sh -c "touch '$mark'; sleep 3; exec curl -sS -m 10 $who" \
	>"$NH_TMP/run.out" 2>"$NH_TMP/run.err"
if nh_wait_file "$mark" 10; then
	port=$(nhp_relay_port c)
	nh_like "the relay listens on 127.0.0.1 in the client's namespace" \
		"$port" '^[0-9]+$'
	got=$(nh_in c "$NH_PROGS/nh-peer" -t 3 -s "GET /who HTTP/1.0\\r\\n\\r\\n" \
		127.0.0.1 "${port:-1}" 2>&1)
	nh_like "a connection to the relay not diverted: closed with nothing relayed" \
		"$got" '^(errno=ECONNRESET|reply:)$'
	nh_unlike "a connection to the relay not diverted: no web reply" "$got" '^web$'
	got=$(nh_in c "$NH_PROGS/nh-peer" -6 -t 3 -s "GET /who HTTP/1.0\\r\\n\\r\\n" \
		::1 "${port:-1}" 2>&1)
	nh_unlike "... on [::1] too" "$got" '^web$'
	wait "$run_pid"
	nh_is "the run's own connection after that: exit 0" "$?" 0
	nh_is "the run's own connection after that: proxied" \
		"$(cat "$NH_TMP/run.out")" web
	nh_like "stderr: relay warns about the connection it closed" \
		"$(cat "$NH_TMP/run.err")" \
		"relay: connection from 127\\.0\\.0\\.1:[0-9]+ was not diverted by nethook: closed"
else
	nh_fail "a connection to the relay not diverted" "the run never started" \
		"$(cat "$NH_TMP/run.err")"
fi
# From inside the run too: loopback is not proxied, so a program that finds
# the relay's port and connects to it is just another stranger.
cat >"$NH_TMP/relayport.awk" <<'EOF'
/"nethook"/ && $5 ~ /^127\.0\.0\.1:/ {
	p = $5; sub(/.*:/, "", p)
	if ($1 == "udp") udp[p] = 1; else tcp[p] = 1
}
END { for (p in tcp) if (!(p in udp)) { print p; exit } }
EOF
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- sh -c '
	p=$(ss -Hltunp | awk -f '"$NH_TMP/relayport.awk"')
	'"$NH_PROGS/nh-peer"' -t 3 -s "GET /who HTTP/1.0\r\n\r\n" 127.0.0.1 "${p:-1}"' 2>&1)
nh_unlike "a program in the run connecting to the relay itself gets nothing" \
	"$got" '^web$'
nh_like "... and the relay says why" "$got" 'was not diverted by nethook: closed'

# --- UDP ------------------------------------------------------------------------
nh_bg echo_pid nsenter "--net=/run/netns/${NH_ID}p" -- python3 -c '
import socket, sys, time
end = time.monotonic() + 120
ss = []
for fam, a in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    for port in (53, 9999):
        s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((a, port)); s.settimeout(0.05); ss.append(s)
while time.monotonic() < end:
    for s in ss:
        try:
            d, peer = s.recvfrom(2048)
            s.sendto(b"echo:" + d, peer)
        except socket.timeout:
            pass
' "$NHP_P4" "$NHP_P6" </dev/null >/dev/null 2>&1
udp=$NH_PROGS/nh-udp
for i in $(seq 1 20); do
	got=$(nh_in c "$udp" -r -t 1 "$NHP_P4" 9999 hi 2>/dev/null | tr '\n' ' ')
	[ "$got" = "reply=echo:hi ok " ] && break
done
nh_is "UDP echo works without nethook" "$got" "reply=echo:hi ok "
rm -f "$log"
got=$(nh_nethook c run --log "$log" --events all --proxy "socks5://$NHP_P4:1081" --dns direct -- \
	sh -c "$udp -t 2 $NHP_P4 9999 x; $udp -c -t 2 $NHP_P4 9999 x; $udp -6 -t 2 $NHP_P6 9999 x; $udp -r -t 2 $NHP_P4 53 dns; $udp -6 -r -t 2 $NHP_P6 53 dns6" 2>/dev/null)
nh_is "UDP under --proxy: sendto, connect, IPv6 refused with EPERM; DNS goes direct (--dns direct)" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" \
	"errno=EPERM errno=EPERM errno=EPERM reply=echo:dns ok reply=echo:dns6 ok "
nh_like "UDP under --proxy: DNS logged as event=connect proto=udp" \
	"$(cat "$log")" " connect .*proto=udp orig_dst=$NHP_P4:53 "
nh_like "UDP under --proxy: IPv6 DNS logged" \
	"$(cat "$log")" " connect .*proto=udp orig_dst=\\[$NHP_P6\\]:53 "
rm -f "$log"
got=$(nh_nethook c run --log "$log" --allow-udp --proxy "socks5://$NHP_P4:1081" --dns direct -- \
	sh -c "$udp -r -t 2 $NHP_P4 9999 a; $udp -c -r -t 2 $NHP_P4 9999 b; $udp -6 -r -t 2 $NHP_P6 9999 c; $udp -r -t 2 $NHP_P4 53 d" 2>/dev/null)
nh_is "UDP with --allow-udp: goes direct" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" \
	"reply=echo:a ok reply=echo:b ok reply=echo:c ok reply=echo:d ok "
nh_like "UDP with --allow-udp: logged" "$(cat "$log")" \
	"proto=udp orig_dst=$NHP_P4:9999 "
nh_like "UDP with --allow-udp: IPv6 logged" "$(cat "$log")" \
	"proto=udp orig_dst=\\[$NHP_P6\\]:9999 "
got=$(nh_nethook c run --allow-udp --proxy "socks5://$NHP_P4:1081" -- \
	curl -sS -m 10 "$who")
nh_is "with --allow-udp, TCP is still proxied" "$got" web

# --- --threads: the relay's workers ----------------------------------------
# 1: the relay runs on nethook's main thread; N: N workers beside it
for t in 1 3; do
	got=$(nh_nethook c run --threads "$t" --proxy "socks5://$NHP_P4:1081" -- \
		sh -c 'n=$(ls /proc/$PPID/task | wc -l); i=0; while [ $i -lt 20 ]; do
			curl -sS -m 10 '"$who"' & i=$((i + 1)); done; wait; echo "tasks=$n"')
	nh_is "--threads $t: 20 concurrent fetches through the proxy" \
		"$(grep -c '^web$' <<<"$got")" 20
	# and the resolver's thread (--dns proxy)
	nh_is "--threads $t: threads in nethook: $((t == 1 ? 2 : t + 2))" \
		"$(grep '^tasks=' <<<"$got")" "tasks=$((t == 1 ? 2 : t + 2))"
done
out=$(nh_nethook c run --threads 0 --proxy direct:// -- true 2>&1)
nh_is "--threads 0: a usage error (exit 125) that names the range" \
	"$? $(grep -c 'from 1 to 64' <<<"$out")" "125 1"

nh_done
