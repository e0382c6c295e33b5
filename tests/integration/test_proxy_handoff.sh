#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --handoff --proxy (needs root): connect() of the command is
# caught with seccomp, nethook opens the tunnel through the proxy chain
# on the program's own socket, and the program then talks to the proxy
# with no relay in between.  Real proxies (dante, microsocks, tinyproxy),
# curl, the static client, IPv6, chains, a fake proxy that talks first;
# failures fail connect() itself; what is not diverted (loopback, UDP,
# --block) meets the kernel's rules as without --handoff.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world

pass='s3cr:t@x y'
pass_url='s3cr%3At%40x%20y'
nhp_user_add "$pass"
user=$NHP_USER
nhp_dante dante 1080 none
nhp_dante dauth 1082 username
nhp_microsocks ms "$NHP_P4" 1081
nhp_tinyproxy tp "$NHP_P4" 8888
nhp_tinyproxy tplo 127.0.0.1 8890
nhp_fake eager "$NHP_P4" 1090 eager 120
nhp_fake refonce "$NHP_P4" 1091 s5-reply-refused,good 120
nhp_fake stall "$NHP_P4" 1092 stall 120
nhp_fake rst "$NHP_P4" 1093 s5-reset 120

small=$(nhp_web_file small.txt)
big=$(nhp_web_file big.bin)
sget=$NH_PROGS/nh-static-get
peer=$NH_PROGS/nh-peer
log=$NH_TMP/log
out=$NH_TMP/out
s5=socks5://$NHP_P4:1080

# --- the tunnel on the program's socket -----------------------------------
nhp_proxied "handoff, dante socks5" "$s5" --handoff --proxy "$s5"
line=$(nhp_log_end "$log")
nh_is "handoff: orig_dst and new_dst are the destination" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" new_dst)" \
	"$NHP_W4:80 $NHP_W4:80"
handoff_bytes="$(nh_tfield "$line" bytes_out) $(nh_tfield "$line" bytes_in)"
nh_like "handoff: dante carried it from the client to the server" \
	"$(cat "$NH_TMP/dante/dante.log")" \
	"tcp/connect \[: $NHP_C4\.[0-9]+ $NHP_P4\.1080 -> $NHP_PW4\.[0-9]+ $NHP_W4\.80"
# the handshake's bytes are not the program's: the same fetch through the
# relay counts the same
nhp_proxied "relay, dante socks5" "$s5" --proxy "$s5"
line=$(nhp_log_end "$log")
nh_is "handoff: bytes out and in (handshake left out) as through the relay" \
	"$handoff_bytes" "$(nh_tfield "$line" bytes_out) $(nh_tfield "$line" bytes_in)"

# The program's own socket is connected to the proxy: no relay hop.
# (Without --handoff it is connected to the relay on loopback: the same
# check is made on that run, and must differ.)
# peer_of_bash ARGS...: under nethook run ARGS, bash opens a connection
# to the web server (/dev/tcp) and holds it (in the sleep it execs); the
# peer of that socket, as ss sees it.
peer_of_bash() {
	local pid got= ready=$NH_TMP/held
	rm -f "$ready"
	nh_bg pid nsenter "--net=/run/netns/$(nh_ns c)" -- "$NETHOOK" run "$@" -- \
		bash -c "exec 3<>/dev/tcp/$NHP_W4/80 && : >'$ready' && sleep 3"
	if nh_wait_file "$ready" 10; then
		got=$(nh_in c ss -Htnp 2>/dev/null |
			awk '/"sleep"/ { print $5; exit }')
	fi
	echo "$got"
	nh_wait_gone "$pid" 10 || kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
nh_is "handoff: the program's socket is connected to the proxy itself" \
	"$(peer_of_bash --handoff --proxy "$s5")" "$NHP_P4:1080"
nh_like "relay (no --handoff): the program's socket is connected to the relay" \
	"$(peer_of_bash --proxy "$s5")" '^127\.0\.0\.1:[0-9]+$'
rm -f "$out"
nh_nethook c run --handoff --proxy "$s5" -- \
	curl -sS -m 10 -o "$out" "http://$NHP_W4/big.bin"
nh_same_file "handoff: 2 MiB body intact" "$out" "$big"

got=$(nh_nethook c run --handoff --proxy "$s5" -- "$peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80)
nh_like "handoff: getpeername() reports the original destination" \
	"$got" "^peer=$NHP_W4:80\$"
nh_like "handoff: nh-peer (blocking connect) got the reply" "$got" '^web$'

nhp_proxied "handoff, dante with username/password" "socks5://$NHP_P4:1082" \
	--handoff --proxy "socks5://$user:$pass_url@$NHP_P4:1082"
nhp_proxied "handoff, microsocks" "socks5://$NHP_P4:1081" \
	--handoff --proxy "socks5://$NHP_P4:1081"
nhp_proxied "handoff, tinyproxy (HTTP CONNECT)" "http://$NHP_P4:8888" \
	--handoff --proxy "http://$NHP_P4:8888"
nhp_proxied "handoff, dante socks4" "socks4://$NHP_P4:1080" \
	--handoff --proxy "socks4://$NHP_P4:1080"
nhp_proxied "handoff, proxy at an IPv6 address" "socks5://[$NHP_P6]:1080" \
	--handoff --proxy "socks5://[$NHP_P6]:1080"
nhp_proxied "handoff, chain microsocks -> tinyproxy on the proxy's loopback" \
	"socks5://$NHP_P4:1081,http://127.0.0.1:8890" \
	--handoff --proxy "socks5://$NHP_P4:1081" --proxy "http://127.0.0.1:8890"
nh_like "handoff chain: tinyproxy saw a loopback client" \
	"$(cat "$NH_TMP/tplo/tinyproxy.log")" "Connect .*: 127\.0\.0\.1"

rm -f "$out"
nh_nethook c run --handoff --proxy "$s5" -- \
	curl -sS -m 10 -g -o "$out" "http://[$NHP_W6]/small.txt"
nh_is "handoff, IPv6 destination: exit 0" "$?" 0
nh_same_file "handoff, IPv6 destination: body" "$out" "$small"

got=$(nh_nethook c run --handoff --proxy "$s5" -- "$sget" -t 10 "http://$NHP_W4/who")
nh_is "handoff, static client" "$got" web
got=$(nh_nethook c run --handoff --proxy "$s5" -- "$peer" -6 \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80 | tail -n 1)
nh_is "handoff, AF_INET6 socket to an IPv4 destination" "$got" web

# Go: non-blocking connects from many threads at once, with the runtime
# preempting them by signal; none may be cut off halfway through.
goget=$NH_PROGS/nh-goget
if [ -x "$goget" ]; then
	n=100
	nh_quick && n=30
	got=$(nh_nethook c run --handoff --proxy "$s5" -- "$goget" -n $n "$NHP_W4:80" /who)
	nh_is "handoff, Go client, $n connections at once" \
		"$(printf '%s\n' "$got" | tr '\n' ' ')" "peer=$NHP_W4:80 web ok=$n bad=0 "
	got=$(nh_nethook c run --handoff --proxy "socks5://$NHP_P4:1999" -- \
		"$goget" "$NHP_W4:80" /who)
	nh_like "handoff, Go client, proxy down: Go sees connection refused" \
		"$got" "^error: .*connection refused"
else
	nh_skip "handoff, Go client" "no Go (scripts/deps.sh test installs golang-go)"
fi

# An IPv6-only socket to an IPv6 destination, the proxy at an IPv4
# address the socket cannot reach: left to the relay, which can.
got=$(nh_nethook c run --handoff --proxy "$s5" -- python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.settimeout(10)
s.connect((sys.argv[1], 80))
s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
r = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    r += d
print(r.split(b"\r\n\r\n", 1)[-1].decode().strip())' "$NHP_W6" 2>&1)
nh_is "handoff: an IPv6-only socket, an IPv4 proxy: through the relay" "$got" web

# As another user: nethook (root) still opens the tunnel on its socket,
# and the end line names the program that made it, not nethook.
rm -f "$log"
got=$(nh_nethook c run --log "$log" --handoff --user nobody --proxy "$s5" -- \
	sh -c "id -u; echo \$\$; exec curl -sS -m 10 http://$NHP_W4/who")
nh_is "handoff, --user nobody" "$(printf '%s\n' "$got" | sed 2d | tr '\n' ' ')" \
	"$(id -u nobody) web "
line=$(nhp_log_end "$log")
nh_is "handoff, --user nobody: end line's pid, comm, exe, uid are curl's" \
	"$(nh_tfield "$line" pid) $(nh_tfield "$line" comm) $(nh_tfield "$line" exe) $(nh_tfield "$line" uid)" \
	"$(printf '%s\n' "$got" | sed -n 2p) curl $(readlink -f "$(command -v curl)") $(id -u nobody)"

# A proxy that sends the first bytes of the tunnel in the same segment as
# its reply: they are the program's, not the handshake's.
got=$(nh_nethook c run --handoff --proxy "socks5://$NHP_P4:1090" -- \
	curl -sS -m 10 "http://$NHP_W4/who")
nh_is "handoff: bytes right after the proxy's reply reach the program" \
	"$got" eager

# A proxy that resets the tunnel as soon as it has said yes: the reset
# may come before nethook has marked the socket open.  Every connection
# still has its end line, and it tells the reset.
rm -f "$log"
nh_nethook c run --log "$log" --handoff --proxy "socks5://$NHP_P4:1093" -- \
	sh -c "i=0; while [ \$i -lt 20 ]; do curl -sS -m 5 http://$NHP_W4/who
		i=\$((i + 1)); done" >/dev/null 2>&1
ends=$(nhp_log_end "$log")
got=$(printf '%s\n' "$ends" | awk 'NF { n++ } / result=error error=ECONNRESET/ { e++ }
	END { print n + 0, e + 0 }')
# on failure, the lines that said something else: which end, and why
if [ "$got" = "20 20" ]; then
	nh_ok "handoff, proxy resets as the tunnel opens: 20 end lines, each error=ECONNRESET"
else
	nh_fail "handoff, proxy resets as the tunnel opens: 20 end lines, each error=ECONNRESET" \
		"got:  $got" "want: 20 20" "end lines without error=ECONNRESET:" \
		"$(printf '%s\n' "$ends" | grep -v ' result=error error=ECONNRESET')"
fi

# --- concurrency ---------------------------------------------------------
n=200
nh_quick && n=50
got=$(nh_nethook c run --handoff --proxy "$s5" -- \
	bash -c "$(declare -f nhp_concget); nhp_concget $n $NHP_W4 80 /small.txt $small")
nh_is "handoff: $n concurrent connections, all bodies correct" "$got" \
	"open=$n ok=$n bad=0"

# --- failures fail connect() ---------------------------------------------
rm -f "$log"
got=$(nh_nethook c run --log "$log" --handoff --proxy "socks5://$NHP_P4:1999" -- \
	"$peer" "$NHP_W4" 80)
nh_is "handoff, proxy down: connect() fails with ECONNREFUSED" "$got" \
	errno=ECONNREFUSED
line=$(nhp_log_end "$log")
nh_is "handoff, proxy down: end line result=error error=ECONNREFUSED" \
	"$(nh_tfield "$line" result) $(nh_tfield "$line" error)" "error ECONNREFUSED"
nh_is "handoff, proxy down: detail names the hop" "$(nhp_detail "$line")" \
	"connect to socks5://$NHP_P4:1999 failed: Connection refused"

rm -f "$log"
got=$(nh_nethook c run --log "$log" --handoff \
	--proxy "socks5://$user:wrong@$NHP_P4:1082" -- "$peer" "$NHP_W4" 80)
nh_is "handoff, wrong password: connect() fails with EACCES" "$got" errno=EACCES
nh_like "handoff, wrong password: detail" \
	"$(nhp_detail "$(nhp_log_end "$log")")" "auth"

rm -f "$log"
t0=$(nhp_ms)
got=$(nh_nethook c run --log "$log" --handoff --connect-timeout 1 \
	--proxy "socks5://$NHP_P4:1092" -- "$peer" "$NHP_W4" 80)
t1=$(nhp_ms)
nh_is "handoff, proxy never answers: connect() fails with ETIMEDOUT" "$got" \
	errno=ETIMEDOUT
nh_check "handoff, proxy never answers: after the 1 s timeout, within 4 s ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -ge 1000 -a $((t1 - t0)) -lt 4000
nh_is "handoff, proxy never answers: detail" \
	"$(nhp_detail "$(nhp_log_end "$log")")" \
	"handshake with socks5://$NHP_P4:1092 timed out after 1000 ms"

# a proxy refusing once, then serving: the next connect goes through
got=$(nh_nethook c run --handoff --proxy "socks5://$NHP_P4:1091" -- \
	sh -c "$peer $NHP_W4 80; $sget -t 10 http://$NHP_W4/who")
nh_is "handoff: refused once (socks5 0x05), then served" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "errno=ECONNREFUSED web "

# --- what is not diverted goes on as before --------------------------------
nh_in c ip addr add 127.0.0.2/8 dev lo 2>/dev/null
nh_nginx c lo "127.0.0.2:8080"
got=$(nh_nethook c run --handoff --proxy "$s5" -- \
	curl -sS -m 5 "http://127.0.0.2:8080/who")
nh_is "handoff: loopback (not matched) goes direct" "$got" lo
got=$(nh_nethook c run --handoff --proxy "$s5" --block "$NHP_W4:80" -- \
	"$peer" "$NHP_W4" 80)
nh_is "handoff: --block still refuses" "$got" errno=ECONNREFUSED
got=$(nh_nethook c run --handoff --proxy "$s5" -- \
	"$NH_PROGS/nh-udp" -t 1 "$NHP_P4" 9999 x 2>/dev/null)
nh_is "handoff: UDP other than DNS still fails with EPERM" "$got" errno=EPERM

# --- usage -----------------------------------------------------------------
nh_nethook c run --handoff --proxy direct:// -- true 2>"$NH_TMP/err"
nh_is "handoff with direct://: exit 125" "$?" 125
nh_like "handoff with direct://: says why" "$(cat "$NH_TMP/err")" "needs a proxy"
nh_nethook c attach --cgroup /nonexistent --handoff --proxy "$s5" 2>"$NH_TMP/err"
nh_is "attach --handoff: exit 125" "$?" 125
nh_like "attach --handoff: says it is for run" "$(cat "$NH_TMP/err")" "is for run"

# One socket, three connections (connect(AF_UNSPEC) in between): each is
# a connection of its own in the log, through the relay and handed off.
for mode in "" --handoff; do
	rm -f "$log"
	got=$(nh_nethook c run $mode --proxy "$s5" --log "$log" -- \
		"$peer" -a 3 -s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80 | grep -c '^web$')
	nh_is "${mode:-relay}: one socket connected 3 times: 3 replies, 3 redirect and 3 end lines" \
		"$got $(awk '$2 == "redirect"' "$log" | wc -l) $(nhp_log_end "$log" | grep -c 'result=ok')" \
		"3 3 3"
	# the socket's id on each: one socket, connected again, keeps it
	nh_is "${mode:-relay}: redirect and end lines carry the socket's id" \
		"$(awk '$2 == "redirect"' "$log" | grep -o ' id=[0-9]*' | sort -u) $(nhp_log_end "$log" | grep -o ' id=[0-9]*' | sort -u | wc -l)" \
		"$(nhp_log_end "$log" | grep -o ' id=[0-9]*' | sort -u) 1"
done

nh_done
