#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy, the command's side of issue 11: --dns
# proxy|direct|block (usage errors, what -v says, DNS over UDP and TCP
# going direct and logged, or refused and logged), the warning for a
# chain whose last hop cannot carry names, a failed proxied connection
# told on standard error without --log (with and without --handoff),
# silenced by -q, rate-limited in a burst, and the ports a proxy URL
# without one gets.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_microsocks msauth "$NHP_P4" 1083 nhuser 'right'
nhp_microsocks ms "$NHP_P4" 1081
nhp_microsocks ms1080 "$NHP_P4" 1080
nhp_tinyproxy tp8080 "$NHP_P4" 8080

log=$NH_TMP/log
err=$NH_TMP/err
who="http://$NHP_W4/who"
P="socks5://$NHP_P4:1081"

# --- usage errors ------------------------------------------------------------
nh_nethook c run --dns proxy -- true 2>"$err"
nh_is "--dns proxy without --proxy: exit 125, says so" "$? $(cat "$err")" \
	"125 nethook: --dns proxy goes with --proxy (without it: direct, the default, or off)"
nh_nethook c run --redirect "$NHP_P4:80" --dns block -- true 2>"$err"
nh_is "--dns block with --redirect: exit 125, says so" "$? $(cat "$err")" \
	"125 nethook: --dns block goes with --proxy (without it: direct, the default, or off)"
for m in direct off; do
	nh_nethook c run --redirect "$NHP_P4:80" --dns "$m" -- true 2>"$err"
	nh_is "--dns $m with --redirect: accepted" "$? $(cat "$err")" "0 "
done
nh_nethook c run --proxy direct:// --dns proxy -- true 2>"$err"
nh_like "--dns proxy with direct://: exit 125, says why" "$? $(cat "$err")" \
	'^125 nethook: --dns proxy needs a proxy to resolve names, and --proxy direct:// has none'
nh_nethook c run --proxy "$P" --dns udp -- true 2>"$err"
nh_is "--dns udp: exit 125, names the choices" "$? $(cat "$err")" \
	"125 nethook: --dns: 'udp' is not proxy, direct, block or off"
nh_nethook c run --proxy "$P" --events dns,end -- true 2>"$err"
nh_is "--events dns,end: accepted" "$? $(cat "$err")" "0 "

# --- what is said at start ---------------------------------------------------
for spec in "proxy|$P|nethook: --dns proxy: the scope's DNS goes to nethook's resolver" \
	"direct|$P --dns direct|nethook: --dns direct: the scope's DNS goes to the servers it asks" \
	"block|$P --dns block|nethook: --dns block: the scope's DNS is refused" \
	"direct (direct://)|direct://|nethook: --dns direct: "; do
	IFS='|' read -r name url want <<<"$spec"
	# shellcheck disable=SC2086
	nh_nethook c run -v --proxy $url -- true 2>"$err"
	nh_is "-v: --dns $name said once at start" \
		"$(grep -c -F -- "$want" "$err")" 1
done
nh_nethook c run --proxy "$P" -- true 2>"$err"
nh_unlike "without -v: the choice is not said" "$(cat "$err")" '--dns'
nh_nethook c run --proxy "socks4://$NHP_P4:1081" -- true 2>"$err"
nh_is "socks4:// last: one warning line" "$(cat "$err")" \
	"nethook: warning: socks4://$NHP_P4:1081 cannot carry host names: connections to names will fail; use socks4a:// or socks5://, or --dns direct"
nh_nethook c run --proxy "socks4://nhuser@$NHP_P4:1081" -- true 2>"$err"
nh_unlike "... never with the user id" "$(cat "$err")" nhuser
nh_nethook c run --proxy "socks4://$NHP_P4:1081" --proxy "$P" -- true 2>"$err"
nh_is "socks4:// first, socks5:// last: no warning" "$(cat "$err")" ""
for q in -q --quiet "--dns direct" "--dns block"; do
	# shellcheck disable=SC2086
	nh_nethook c run $q --proxy "socks4://$NHP_P4:1081" -- true 2>"$err"
	nh_is "socks4:// with $q: no warning" "$(cat "$err")" ""
done

# --- --dns direct and --dns block: DNS over UDP and TCP --------------------------
# In p, port 53 of its address: UDP echo and a TCP echo of one line.
nh_bg dns_pid nsenter "--net=/run/netns/${NH_ID}p" -- python3 -c '
import socket, sys, threading, time
a = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((a, 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((a, 53)); t.listen(16)
def udp():
    while True:
        d, peer = u.recvfrom(2048); u.sendto(b"echo:" + d, peer)
def tcp():
    while True:
        c, _ = t.accept(); c.sendall(b"echo:" + c.recv(2048)); c.close()
threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
time.sleep(300)
' "$NHP_P4" </dev/null >/dev/null 2>&1
nh_wait_port p "$NHP_P4" 53 10 || nh_bail "the DNS echo in p did not listen"
udp=$NH_PROGS/nh-udp
tcp53="python3 -c '
import errno, socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], 53)); s.sendall(b\"tq\"); print(\"reply=\" + s.recv(100).decode())
except OSError as e:
    print(\"errno=\" + errno.errorcode.get(e.errno, str(e.errno)))
' $NHP_P4"
dnscmd="$udp -r -t 2 $NHP_P4 53 uq; $tcp53"

rm -f "$log"
got=$(nh_nethook c run --log "$log" --events all --proxy "$P" --dns direct -- \
	sh -c "$dnscmd" 2>/dev/null)
nh_is "--dns direct: UDP and TCP to port 53 go out as asked" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "reply=echo:uq ok reply=echo:tq "
nh_like "--dns direct: the UDP query logged as a connect event" "$(cat "$log")" \
	" connect .*proto=udp orig_dst=$NHP_P4:53 .*route=direct"
nh_like "--dns direct: the TCP query logged as a connect event" "$(cat "$log")" \
	" connect .*proto=tcp orig_dst=$NHP_P4:53 .*route=direct"
nh_unlike "--dns direct: TCP to port 53 not through the proxy" \
	"$(nhp_log_end "$log")" "route=socks5"

rm -f "$log"
got=$(nh_nethook c run --log "$log" --proxy "$P" --dns block -- \
	sh -c "$dnscmd; curl -sS -m 10 $who" 2>/dev/null)
nh_is "--dns block: UDP and TCP to port 53 refused with EPERM; the rest proxied" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" "errno=EPERM errno=EPERM web "
nh_like "--dns block: the UDP query logged as a block" "$(cat "$log")" \
	" block .*proto=udp orig_dst=$NHP_P4:53 .*route=block"
nh_like "--dns block: the TCP query logged as a block" "$(cat "$log")" \
	" block .*proto=tcp orig_dst=$NHP_P4:53 .*route=block"

# --- a failed proxied connection on standard error ---------------------------
bad="socks5://nhuser:wrong@$NHP_P4:1083"
want="nethook: $NHP_W4:80 via socks5://$NHP_P4:1083: socks5 auth rejected"
nh_nethook c run --proxy "$bad" -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_like "a refused connection: one line on stderr without --log" \
	"$(cat "$err")" "^$want"
nh_is "... exactly one" "$(grep -c '^nethook: ' "$err")" 1
nh_unlike "... no password in it" "$(cat "$err")" wrong
echo "# $(grep '^nethook: ' "$err")"
nh_nethook c run -q --proxy "$bad" -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_unlike "-q: no line" "$(cat "$err")" '^nethook: '
nh_nethook c run --handoff --proxy "$bad" -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_like "--handoff: the refused connection's line too" "$(cat "$err")" "^$want"
nh_nethook c run --proxy "$bad" --log "$log" -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_like "--log FILE: the line on stderr as well" "$(cat "$err")" "^$want"
nh_nethook c run --proxy "$bad" --log - -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_is "--log -: the log's end line says it, not twice" \
	"$(grep -c "^$want" "$err") $(grep -c ' end .*result=error' "$err")" "0 1"
nh_nethook c run --proxy "$P" -- curl -s -m 10 -o /dev/null "$who" 2>"$err"
nh_is "a good connection: nothing on stderr" "$(cat "$err")" ""

# A burst of 100 failures: 10 lines a second at most, the rest counted.
burst="python3 -c '
import socket
ss = []
for i in range(100):
    s = socket.socket(); s.settimeout(15); s.connect((\"$NHP_W4\", 80)); ss.append(s)
for s in ss:
    try:
        s.recv(1)
    except OSError:
        pass
'"
rm -f "$log"
NH_TIMEOUT=40 nh_nethook c run --log "$log" --proxy "$bad" -- sh -c "$burst" 2>"$err"
shown=$(grep -c "^$want" "$err")
more=$(sed -n 's/^nethook: \([0-9]*\) more failed connections\{0,1\} not shown$/\1/p' "$err" |
	awk '{ n += $1 } END { print n + 0 }')
lines=$(grep -c '^nethook: ' "$err")
echo "# burst of 100: $shown lines, $more counted, $lines lines in all"
# (under load the program may give up on some before the proxy answers:
# those end as "nethook stopped", not as failures of the proxy)
failed=$(nhp_log_end "$log" | grep ' result=error ' | grep -vc 'error=ECONNABORTED')
nh_check "a burst of 100 failures: more failed at the proxy than a second's lines ($failed)" \
	test "$failed" -gt 10
nh_is "a burst of 100 failures: each one shown or counted" $((shown + more)) "$failed"
nh_check "... in at most 11 lines a second ($lines lines)" test "$lines" -le 22
nh_like "... and the count said" "$(cat "$err")" \
	'^nethook: [0-9]+ more failed connections? not shown$'

# --- the program uses a proxy of the chain itself ----------------------------
# http_proxy= names the chain's own proxy: through the chain that proxy
# would be asked to CONNECT to itself (tinyproxy refuses port 8080 here,
# as squid answers 403); nethook takes it there through the proxies
# before it only, and says so once (-v).
tplog=$NH_TMP/tp8080/tinyproxy.log
for mode in "" --handoff; do
	got=$(nh_nethook c run -v $mode --proxy "http://$NHP_P4:8080" -- \
		env http_proxy="http://$NHP_P4:8080" curl -s -m 10 "$who" 2>"$err")
	nh_is "http_proxy is the chain's own proxy${mode:+ ($mode)}: the page" "$got" web
	nh_like "... said once on stderr" "$(cat "$err")" \
		"proxy http://$NHP_P4:8080 of the chain itself: straight to it"
done
got=$(nh_nethook c run -v --proxy "$P" --proxy "http://$NHP_P4:8080" -- \
	env http_proxy="http://$NHP_P4:8080" curl -s -m 10 "$who" 2>"$err")
nh_is "http_proxy is the chain's second proxy: the page, through the first" "$got" web
nh_like "... said once on stderr" "$(cat "$err")" \
	"of the chain itself: through the proxies before it"
nh_unlike "tinyproxy was never asked to CONNECT to itself" \
	"$(grep -i connect "$tplog" 2>/dev/null)" "$NHP_P4:8080"

# --- a proxy URL without a port ----------------------------------------------------
rm -f "$log"
got=$(nh_nethook c run --log "$log" --proxy "socks5://$NHP_P4" -- curl -sS -m 10 "$who")
nh_is "socks5:// without a port: 1080" \
	"$got $(nh_tfield "$(nhp_log_end "$log")" route)" "web socks5://$NHP_P4:1080"
rm -f "$log"
got=$(nh_nethook c run --log "$log" --proxy "http://$NHP_P4" -- curl -sS -m 10 "$who")
nh_is "http:// without a port: 8080" \
	"$got $(nh_tfield "$(nhp_log_end "$log")" route)" "web http://$NHP_P4:8080"
nh_nethook c run --proxy "socks4a://$NHP_P4" -- curl -s -m 10 -o /dev/null \
	"http://$NHP_W4:81/" 2>"$err"
nh_like "socks4a:// without a port: 1080, as the failure line says" \
	"$(cat "$err")" "^nethook: $NHP_W4:81 via socks4a://$NHP_P4:1080: "

nh_done
