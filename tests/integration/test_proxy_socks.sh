#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy through real SOCKS servers (issue 3): dante as
# SOCKS5 without and with username/password, and as SOCKS4 (and socks4a
# with an address); microsocks without and with -u/-P; IPv4 and IPv6
# destinations; curl, the static client and a Go client; getpeername();
# the log's end line.  The client reaches only the proxy host, so a body
# proves the proxy carried it.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world

pass='s3cr:t@x y'	# percent-encoded in URLs below
pass_url='s3cr%3At%40x%20y'
nhp_user_add "$pass"
user=$NHP_USER
nhp_dante dante 1080 none
nhp_dante dauth 1082 username
nhp_microsocks ms "$NHP_P4" 1081
nhp_microsocks msauth "$NHP_P4" 1083 msuser "$pass"

small=$(nhp_web_file small.txt)
big=$(nhp_web_file big.bin)
sget=$NH_PROGS/nh-static-get
log=$NH_TMP/log
out=$NH_TMP/out

# --- dante, SOCKS5 without auth ----------------------------------------
nhp_proxied "dante socks5" "socks5://$NHP_P4:1080" --proxy "socks5://$NHP_P4:1080"
line=$(nhp_log_end "$log")
nh_is "dante socks5: orig_dst and new_dst are the destination" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" new_dst)" \
	"$NHP_W4:80 $NHP_W4:80"
v=$(nh_tfield "$line" bytes_in)
nh_check "dante socks5: bytes_in ($v) >= body (1000)" nh_between 1000 "$v" 1e12
v=$(nh_tfield "$line" bytes_out)
nh_check "dante socks5: bytes_out ($v) > 0" nh_positive "$v"
nh_check "dante socks5: duration_ms > 0" nh_positive "$(nh_tfield "$line" duration_ms)"
nh_like "dante socks5: dante carried it from the client to the server" \
	"$(cat "$NH_TMP/dante/dante.log")" \
	"tcp/connect \[: $NHP_C4\.[0-9]+ $NHP_P4\.1080 -> $NHP_PW4\.[0-9]+ $NHP_W4\.80"
nh_like "web server saw the proxy host, not the client" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" \
	"^$NHP_PW4 $NHP_W4:80 \"GET /small.txt "

got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- "$NH_PROGS/nh-peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80)
nh_like "dante socks5: getpeername() reports the original destination" \
	"$got" "^peer=$NHP_W4:80\$"
nh_like "dante socks5: nh-peer got the reply" "$got" '^web$'

rm -f "$out"
nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- \
	curl -sS -m 10 -o "$out" "http://$NHP_W4/big.bin"
nh_same_file "dante socks5: 2 MiB body intact" "$out" "$big"

# The proxy itself may be given by its IPv6 address.
nhp_proxied "dante socks5 at an IPv6 address" "socks5://[$NHP_P6]:1080" \
	--proxy "socks5://[$NHP_P6]:1080"

# --- IPv6 destination through SOCKS5 ------------------------------------
rm -f "$log" "$out"
nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1080" -- \
	curl -sS -m 10 -g -o "$out" "http://[$NHP_W6]/small.txt"
nh_is "IPv6 destination via dante: exit 0" "$?" 0
nh_same_file "IPv6 destination via dante: body" "$out" "$small"
nh_is "IPv6 destination via dante: orig_dst" \
	"$(nh_tfield "$(nhp_log_end "$log")" orig_dst)" "[$NHP_W6]:80"
nh_like "IPv6 destination via dante: server saw the proxy's IPv6 address" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" \
	"^$NHP_PW6 $NHP_W6:80 \"GET /small.txt "
# (nh-peer half-closes after its request: dante keeps the tunnel open
# for the reply; microsocks and tinyproxy drop it, with or without nethook)
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- "$NH_PROGS/nh-peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W6" 80)
nh_like "IPv6 destination via dante: getpeername original" "$got" \
	"^peer=\\[$NHP_W6\\]:80\$"
nh_like "IPv6 destination via dante: reply after a half-close" "$got" '^web$'
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- \
	curl -sS -m 10 -g "http://[$NHP_W6]/who")
nh_is "IPv6 destination via microsocks" "$got" web
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- \
	"$NH_PROGS/nh-peer" -6 -s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80)
nh_like "v4-mapped destination on an AF_INET6 socket via dante" "$got" '^web$'

# --- dante with username/password --------------------------------------
nhp_proxied "dante socks5 user/pass" "socks5://$NHP_P4:1082" \
	--proxy "socks5://$user:$pass_url@$NHP_P4:1082"
nh_unlike "dante user/pass: neither user nor password in the log" \
	"$(cat "$log")" "$user|s3cr|%3A|$pass_url"

rm -f "$log"
t0=$(nhp_ms)
got=$(nh_nethook c run --log "$log" --proxy "socks5://$user:wrong@$NHP_P4:1082" -- \
	curl -sS -m 10 "http://$NHP_W4/who" 2>&1)
rc=$?
t1=$(nhp_ms)
nh_is "dante wrong password: curl fails (exit 56, reset)" "$rc" 56
nh_check "dante wrong password: fails within 3 s ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -lt 3000
line=$(nhp_log_end "$log")
nh_is "dante wrong password: result=error error=EACCES" \
	"$(nh_tfield "$line" result) $(nh_tfield "$line" error)" "error EACCES"
nh_like "dante wrong password: detail names the hop" "$(nhp_detail "$line")" \
	"^socks5 auth rejected \(status 0x[0-9a-f]{2}\) by $NHP_P4:1082\$"
nh_unlike "dante wrong password: no credentials in the log" "$(cat "$log")" \
	"$user|wrong"

rm -f "$log"
nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1082" -- \
	curl -sS -m 10 "http://$NHP_W4/who" >/dev/null 2>&1
line=$(nhp_log_end "$log")
nh_like "dante needs auth, none given: detail" "$(nhp_detail "$line")" \
	"^socks5 no acceptable auth method \(offered none\) at $NHP_P4:1082\$"

# --- microsocks ---------------------------------------------------------
nhp_proxied "microsocks" "socks5://$NHP_P4:1081" --proxy "socks5://$NHP_P4:1081"
nhp_proxied "microsocks -u/-P" "socks5://$NHP_P4:1083" \
	--proxy "socks5://msuser:$pass_url@$NHP_P4:1083"
nh_unlike "microsocks -u/-P: no credentials in the log" "$(cat "$log")" \
	"msuser|s3cr|$pass_url"
rm -f "$log"
t0=$(nhp_ms)
nh_nethook c run --log "$log" --proxy "socks5://msuser:nope@$NHP_P4:1083" -- \
	curl -sS -m 10 "http://$NHP_W4/who" >/dev/null 2>&1
rc=$?
t1=$(nhp_ms)
line=$(nhp_log_end "$log")
nh_check "microsocks wrong password: curl fails within 3 s (exit $rc, $((t1 - t0)) ms)" \
	test "$rc" -ne 0 -a $((t1 - t0)) -lt 3000
nh_like "microsocks wrong password: result=error, detail names the hop" \
	"$(nh_tfield "$line" result) $(nhp_detail "$line")" \
	"^error socks5 auth rejected \(status 0x[0-9a-f]{2}\) by $NHP_P4:1083\$"

# --- SOCKS4 and socks4a (dante speaks SOCKS4; socks4a with an address
# sends the plain SOCKS4 request) ----------------------------------------
nhp_proxied "dante socks4" "socks4://$NHP_P4:1080" --proxy "socks4://$NHP_P4:1080"
nh_like "dante socks4: dante logged a SOCKS v4 connect" \
	"$(tail -n 4 "$NH_TMP/dante/dante.log")" "tcp/connect \[: $NHP_C4\."
nhp_proxied "dante socks4 with a user id" "socks4://$NHP_P4:1080" \
	--proxy "socks4://someone@$NHP_P4:1080"
nh_unlike "socks4 user id not in the log" "$(cat "$log")" someone
nhp_proxied "dante socks4a (address target)" "socks4a://$NHP_P4:1080" \
	--proxy "socks4a://$NHP_P4:1080"

rm -f "$log"
t0=$(nhp_ms)
nh_nethook c run --log "$log" --proxy "socks4://$NHP_P4:1080" -- \
	curl -sS -m 10 -g "http://[$NHP_W6]/who" >/dev/null 2>&1
t1=$(nhp_ms)
line=$(nhp_log_end "$log")
nh_like "socks4 cannot carry an IPv6 destination: detail" "$(nhp_detail "$line")" \
	"^socks4 cannot carry the IPv6 target \[$NHP_W6\]:80 through $NHP_P4:1080"
nh_is "socks4 with an IPv6 destination: error=EAFNOSUPPORT" \
	"$(nh_tfield "$line" error)" EAFNOSUPPORT
nh_check "socks4 with an IPv6 destination: fails at once ($((t1 - t0)) ms)" \
	test $((t1 - t0)) -lt 3000

# --- the static client ---------------------------------------------------
for p in "socks5://$NHP_P4:1080" "socks5://$user:$pass_url@$NHP_P4:1082" \
	"socks5://$NHP_P4:1081" "socks4://$NHP_P4:1080"; do
	shown=${p/$user:$pass_url@/USER:PASS@}
	rm -f "$out"
	nh_nethook c run --proxy "$p" -- "$sget" -t 10 "http://$NHP_W4/big.bin" >"$out"
	nh_is "static client via $shown: exit 0" "$?" 0
	nh_same_file "static client via $shown: 2 MiB body" "$out" "$big"
done
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- \
	"$sget" -t 10 "http://[$NHP_W6]/who")
nh_is "static client, IPv6 destination via dante" "$got" web

# --- a Go client (static, its own system calls) ---------------------------
goget=$NH_PROGS/nh-goget
if [ -x "$goget" ]; then
	got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1080" -- \
		"$goget" -n 20 "$NHP_W4:80" /who)
	nh_is "Go client, 20 connections at once via dante" \
		"$(printf '%s\n' "$got" | tr '\n' ' ')" "peer=$NHP_W4:80 web ok=20 bad=0 "
else
	nh_skip "Go client via dante" "no Go (scripts/deps.sh test installs golang-go)"
fi

# --- a chain: microsocks reaches the second proxy on the proxy host's
# loopback (unreachable from the client), which reaches the server -------
nhp_microsocks ms2 127.0.0.1 1090
nhp_microsocks ms3 "$NHP_PW4" 1091 msuser "$pass"
nhp_proxied "chain microsocks -> microsocks on the proxy's loopback" \
	"socks5://$NHP_P4:1081,socks5://127.0.0.1:1090" \
	--proxy "socks5://$NHP_P4:1081" --proxy "socks5://127.0.0.1:1090"
nhp_proxied "chain dante (socks4) -> microsocks -u/-P" \
	"socks4://$NHP_P4:1080,socks5://$NHP_PW4:1091" \
	--proxy "socks4://$NHP_P4:1080" --proxy "socks5://msuser:$pass_url@$NHP_PW4:1091"
nh_like "chain: dante carried the client to the second proxy" \
	"$(cat "$NH_TMP/dante/dante.log")" \
	"tcp/connect \[: $NHP_C4\.[0-9]+ $NHP_P4\.1080 -> $NHP_PW4\.[0-9]+ $NHP_PW4\.1091"
rm -f "$log"
nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1081" \
	--proxy "socks5://127.0.0.1:1099" -- curl -sS -m 10 "http://$NHP_W4/who" >/dev/null 2>&1
line=$(nhp_log_end "$log")
nh_like "chain, second hop down: detail names the first hop's refusal" \
	"$(nh_tfield "$line" result) $(nhp_detail "$line")" \
	"^error socks5 reply 0x0[15] [a-z ]+ from $NHP_P4:1081\$"

# MPTCP: the rules run on its first subflow; getpeername() of the MPTCP
# socket itself still shows where the program asked to go
mptcp='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.connect((sys.argv[1], 80)); print("peer=%s:%d" % s.getpeername())
s.sendall(b"GET /who HTTP/1.0\r\n\r\n"); print(s.makefile("rb").read().split(b"\r\n\r\n")[-1].decode().strip())'
for mode in "" --handoff; do
	got=$(nh_nethook c run $mode --proxy "socks5://$NHP_P4:1080" -- \
		python3 -c "$mptcp" "$NHP_W4" 2>&1)
	nh_is "MPTCP socket${mode:+ ($mode)}: proxied, getpeername() is the destination" \
		"$(printf '%s\n' "$got" | tr '\n' ' ')" "peer=$NHP_W4:80 web "
done

nh_done
