#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy when the proxy fails (issue 3): down (refused),
# blackholed (connect timeout), stalling (handshake timeout), and a
# scripted fake proxy (fakeproxy.py) sending truncated, malformed or
# refusing SOCKS5, SOCKS4 and HTTP CONNECT replies.  Each time the
# program's connection fails promptly, the log's end line says which hop
# failed and why, and the same relay then serves a good connection.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_microsocks ms "$NHP_P4" 1081

log=$NH_TMP/log
who="http://$NHP_W4/who"
# The command: one failing curl, timed, then a good one through the same
# relay.  Prints "rc=N ms=N", then the good curl's body.
twice="a=\$(date +%s%N); curl -sS -m 10 -o /dev/null $who 2>/dev/null; \
echo \"rc=\$? ms=\$(( (\$(date +%s%N) - a) / 1000000 ))\"; curl -sS -m 10 $who"

# bad_then_good NAME PROXY-URL(S) -- DETAIL-ERE ERRNO: run $twice through
# the proxy; the first connection fails within 2 s, its end line is
# result=error with ERRNO and a detail matching DETAIL-ERE, the second
# connection gets the body.
bad_then_good() {
	local name=$1 args=() got rc line
	shift
	while [ "$1" != -- ]; do
		args+=(--proxy "$1")
		shift
	done
	shift
	rm -f "$log"
	got=$(nh_nethook c run --log "$log" "${args[@]}" -- sh -c "$twice")
	rc=$?
	nh_like "$name: the program's connection fails" "$got" '^rc=[1-9][0-9]* '
	ms=$(printf '%s\n' "$got" | sed -n 's/^rc=.* ms=//p')
	nh_check "$name: ... within 2 s (${ms:-?} ms)" test "${ms:-99999}" -lt 2000
	line=$(nhp_log_end "$log" | head -n 1)
	nh_is "$name: end line result=error error=$2" \
		"$(nh_tfield "$line" result) $(nh_tfield "$line" error)" "error $2"
	nh_like "$name: detail" "$(nhp_detail "$line")" "$1"
	echo "# $name: detail=\"$(nhp_detail "$line")\""
	nh_is "$name: then the relay serves a good connection" \
		"$(printf '%s\n' "$got" | tail -n 1) $rc" "web 0"
	nh_is "$name: its end line is ok" \
		"$(nhp_log_end "$log" | sed -n 2p | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^result=/) print $i }')" \
		result=ok
}

# --- proxy down, blackholed, stalling -----------------------------------
# (the chain's second hop is a working proxy: the good connection uses it)
for spec in "down|socks5://$NHP_P4:1999|ECONNREFUSED|^connect to socks5://$NHP_P4:1999 failed: Connection refused\$" \
	"down (http)|http://$NHP_P4:1999|ECONNREFUSED|^connect to http://$NHP_P4:1999 failed: Connection refused\$"; do
	IFS='|' read -r n url e re <<<"$spec"
	rm -f "$log"
	t0=$(nhp_ms)
	got=$(nh_nethook c run --log "$log" --proxy "$url" -- \
		sh -c "$twice" 2>&1)
	t1=$(nhp_ms)
	nh_like "proxy $n: the program's connection fails" "$got" '^rc=[1-9]'
	ms=$(printf '%s\n' "$got" | sed -n 's/^rc=.* ms=//p')
	nh_check "proxy $n: ... within 1 s (${ms:-?} ms; whole run $((t1 - t0)) ms)" \
		test "${ms:-99999}" -lt 1000
	line=$(nhp_log_end "$log" | head -n 1)
	nh_is "proxy $n: result=error error=$e" \
		"$(nh_tfield "$line" result) $(nh_tfield "$line" error)" "error $e"
	nh_like "proxy $n: detail names the proxy" "$(nhp_detail "$line")" "$re"
done

nhp_failing "proxy blackholed, --connect-timeout 1" "$who" \
	"^connect to socks5://$NHP_HOLE4:1080 timed out after 1000 ms\$" ETIMEDOUT \
	--connect-timeout 1 --proxy "socks5://$NHP_HOLE4:1080"

nhp_fake stall "$NHP_P4" 1100 stall 60
nhp_failing "proxy stalls the handshake, --connect-timeout 1" "$who" \
	"^handshake with socks5://$NHP_P4:1100 timed out after 1000 ms\$" ETIMEDOUT \
	--connect-timeout 1 --proxy "socks5://$NHP_P4:1100"

# A stalling second hop of a chain: the detail names that hop.
rm -f "$log"
nh_nethook c run --log "$log" --connect-timeout 1 --proxy "socks5://$NHP_P4:1081" \
	--proxy "socks5://$NHP_P4:1100" -- curl -sS -m 10 "$who" >/dev/null 2>&1
nh_like "second hop stalls: detail names the second hop" \
	"$(nhp_detail "$(nhp_log_end "$log")")" \
	"^handshake with socks5://$NHP_P4:1100 timed out after 1000 ms\$"

# --- the fake proxy: each mode serves the first connection, the next
# ones get a working proxy ---------------------------------------------
port=1110
fake() {	# fake NAME MODE SCHEME DETAIL-ERE ERRNO [USERINFO]
	local at=$NHP_P4:$port
	nhp_fake "$2" "$NHP_P4" "$port" "$2,good" 60
	bad_then_good "fake $1" "$3://${6:+$6@}$at" -- "${4//@HOP@/$at}" "$5"
	nh_like "fake $1: the fake proxy served it" "$(cat "$NH_TMP/$2/log")" \
		"^1 $2 "
	port=$((port + 1))
}
fake "socks5 wrong version" s5-bad-version socks5 \
	'^socks5 malformed reply \(version 0x04\) from @HOP@$' EPROTO
fake "socks5 greeting truncated" s5-greet-truncated socks5 \
	'^socks5 reply truncated after 1 bytes from @HOP@$' EPROTO
fake "socks5 no acceptable method" s5-no-method socks5 \
	'^socks5 no acceptable auth method \(offered none\) at @HOP@$' EACCES
fake "socks5 auth rejected" s5-auth-reject socks5 \
	'^socks5 auth rejected \(status 0x01\) by @HOP@$' EACCES 'u:secret'
nh_unlike "fake socks5 auth rejected: no credentials in the log" \
	"$(cat "$log")" 'secret|u:'
fake "socks5 connect refused" s5-reply-refused socks5 \
	'^socks5 reply 0x05 connection refused from @HOP@$' ECONNREFUSED
fake "socks5 reply truncated" s5-reply-truncated socks5 \
	'^socks5 reply truncated after 6 bytes from @HOP@$' EPROTO
fake "socks5 bad address type" s5-bad-atyp socks5 \
	'^socks5 malformed reply \(address type 0x09\) from @HOP@$' EPROTO
fake "socks5 garbage" s5-garbage socks5 \
	'^socks5 malformed reply \(version 0xde\) from @HOP@$' EPROTO
fake "socks5 closes without a byte" close socks5 \
	'^socks5 proxy @HOP@ closed the connection without replying$' ECONNRESET
fake "socks5 resets at once" refuse socks5 \
	'^((connect to|handshake with) socks5://@HOP@ failed: Connection reset by peer|socks5 proxy @HOP@ closed the connection without replying)$' ECONNRESET
fake "socks4 rejected" s4-reject socks4 \
	'^socks4 reply 0x5b request rejected or failed from @HOP@$' ECONNREFUSED
fake "socks4a bad version" s4-bad-version socks4a \
	'^socks4a malformed reply \(version 0x05\) from @HOP@$' EPROTO
fake "socks4 reply truncated" s4-truncated socks4 \
	'^socks4 reply truncated after 3 bytes from @HOP@$' EPROTO
fake "http 403" http-403 http \
	'^http CONNECT status 403 Forbidden from @HOP@$' ECONNREFUSED
fake "http 407" http-407 http \
	'^http CONNECT status 407 Proxy Authentication Required from @HOP@$' ECONNREFUSED
fake "http garbage status line" http-garbage http \
	'^http malformed reply ["'"'"']S[^"'"'"']*["'"'"'] \(not an HTTP/1 status line\) from @HOP@$' EPROTO
fake "http reply truncated" http-truncated http \
	'^http reply truncated after 37 header bytes from @HOP@$' EPROTO
fake "http endless headers" http-endless http \
	'^http proxy sent [0-9]+ header bytes without an end from @HOP@$' EPROTO

# A hop that fails behind a working first hop: the detail names it.
nhp_fake s5second "$NHP_P4" 1140 "s5-reply-refused,good" 60
bad_then_good "fake as second hop" "socks5://$NHP_P4:1081" "socks5://$NHP_P4:1140" -- \
	"^socks5 reply 0x05 connection refused from $NHP_P4:1140\$" ECONNREFUSED

# Bytes that come in the same segment as the proxy's success reply belong
# to the program.
nhp_fake eager "$NHP_P4" 1141 eager 60
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1141" -- "$NH_PROGS/nh-peer" \
	-s 'GET / HTTP/1.0\r\n\r\n' "$NHP_W4" 80)
nh_like "reply and data in one segment: the data reaches the program" \
	"$got" '^eager$'

# socks4a and socks4 through a working SOCKS4 server (the fake's good
# mode) that checks the request.
nhp_fake s4good "$NHP_P4" 1142 good 60
got=$(nh_nethook c run --proxy "socks4a://id@$NHP_P4:1142" -- curl -sS -m 10 "$who")
nh_is "socks4a through the fake's good mode" "$got" web
nh_like "socks4a: the fake proxy got a SOCKS4 request for the destination" \
	"$(cat "$NH_TMP/s4good/log")" "^1 target $NHP_W4:80\$"
nh_like "socks4a: ... with the user id" "$(cat "$NH_TMP/s4good/log")" \
	"^1 good [0-9.:]+ 04010050cb007102696400\$"

# A proxy that dies mid-download, resetting the tunnel: the end line says
# so, and who (a proxy that closes cleanly instead cannot be told from the
# end of the body: README).
nhp_fake midreset "$NHP_P4" 1143 s5-midreset 60
for mode in "" --handoff; do
	rm -f "$log"
	nh_nethook c run $mode --log "$log" --proxy "socks5://$NHP_P4:1143" -- \
		curl -sS -m 10 -o /dev/null "$who" 2>/dev/null
	rc=$?
	line=$(nhp_log_end "$log")
	nh_is "proxy reset mid-download${mode:+ ($mode)}: curl fails, end line result=error error=ECONNRESET" \
		"$([ "$rc" -ne 0 ] && echo failed) $(nh_tfield "$line" result) $(nh_tfield "$line" error)" \
		"failed error ECONNRESET"
done
nh_like "proxy reset mid-download: the relay's detail names the proxy" \
	"$(rm -f "$log"; nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4:1143" -- \
		curl -sS -m 10 -o /dev/null "$who" 2>/dev/null; nhp_detail "$(nhp_log_end "$log")")" \
	"reset by peer by socks5://$NHP_P4:1143\$"

nh_done
