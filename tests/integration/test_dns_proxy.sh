#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Names through the proxy, and no DNS leaks (issue 11; needs root).  In a
# world where the client's resolver answers nothing and only the proxy
# host knows the names (names.sh), `nethook run --proxy URL -- PROGRAM
# http://web.example/` fetches a page only the web host serves, by name:
# curl, GNU wget, busybox wget (static), a static Go client (Go's own
# resolver), python urllib and asyncio, git clone over http; through
# dante (SOCKS5), tinyproxy (HTTP CONNECT), microsocks and a chain of
# two; with and without --handoff.  Then: an AAAA-only name through an
# IPv6 proxy address; a name with A and AAAA (the pools, PTR); resolv.conf
# at 127.0.0.53, at an IPv6 address, with no nameserver, with options
# use-vc (DNS over TCP); queries by hand (connected or not, to any
# address, over TCP, other types); 1,000 names in one run; a name the
# proxy cannot resolve; the log (text, JSON, dns events); --dns direct,
# --dns block.  iptables counters in the client's and the proxy host's
# namespaces show that not one packet from the client reaches anything
# but a proxy port in every proxy-mode case (--dns direct shows them
# counting the queries it lets out).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
. "$(dirname "$0")/names.sh"
nh_require_nethook
nhp_require_peers
nhn_require
nh_quick && NHN_NAMES=200
nhn_world

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY
export HOME=$NH_TMP/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"

nhp_dante dante 1080 none
nhp_microsocks ms "$NHP_P4" 1081
nhp_tinyproxy tp "$NHP_P4" 8888
nhn_git_repo
nhn_etc stub "nameserver 127.0.0.53
options timeout:1 attempts:1"
nhn_etc ns6 "nameserver $NHN_NS6
options timeout:1 attempts:1"
nhn_etc tcp "nameserver $NHN_NS4
options use-vc timeout:1 attempts:1"
nhn_etc none "# no nameserver line: the C library and Go ask 127.0.0.1 and ::1"
nhn_etc direct "nameserver $NHN_DNS4
options timeout:1 attempts:1"

goget=$NH_PROGS/nh-goget
log=$NH_TMP/log
err=$NH_TMP/err
s5=socks5://$NHP_P4:1080
tp=http://$NHP_P4:8888
access=$NH_TMP/nginx-web/access.log
nhn_leaks_zero

# fetched NAME STATUS OUTPUT: exit status 0 and the page ("web") once.
fetched() {
	if [ "$2" = 0 ] && [ "$(printf '%s\n' "$3" | grep -cx web)" = 1 ]; then
		nh_ok "$1"
	else
		nh_fail "$1" "exit status $2" "$(printf '%s\n' "$3" | tail -n 5)"
	fi
}

py_urllib='import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=8).read().decode().strip())
except Exception as e:
    sys.exit("error: %r" % e)'
py_asyncio='import asyncio, sys
async def main(host):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, 80), 8)
    w.write(b"GET /who HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
    data = await asyncio.wait_for(r.read(), 8)
    w.close()
    print(data.partition(b"\r\n\r\n")[2].decode().strip())
try:
    asyncio.run(main(sys.argv[1]))
except Exception as e:
    sys.exit("error: %r" % e)'
# shellcheck disable=SC2016
sh_git='rm -rf "$1" && git clone -q "http://$2/repo.git" "$1" && cat "$1/who"'

# client CLIENT HOST: cmd=(...), the command line with which CLIENT gets
# http://HOST/who (git: clones http://HOST/repo.git and shows its file
# who); each bounded in time.  busybox is the static one (its own copy of
# the C library's resolver); its wget is bounded by timeout(1), not -T:
# Debian 12's busybox 1.35 wget crashes (SIGSEGV) on -T whatever the URL.
clients=(curl wget busybox-wget go urllib asyncio git)
client() {
	case $1 in
	curl) cmd=(curl -sS -m 8 "http://$2/who") ;;
	wget) cmd=(wget -q -T 8 -t 1 -O - "http://$2/who") ;;
	busybox-wget) cmd=(timeout 8 busybox wget -q -O - "http://$2/who") ;;
	go) cmd=("$goget" "$2:80" /who) ;;
	urllib) cmd=(python3 -c "$py_urllib" "http://$2/who") ;;
	asyncio) cmd=(python3 -c "$py_asyncio" "$2") ;;
	git) cmd=(timeout 15 sh -c "$sh_git" sh "$NH_TMP/clone" "$2") ;;
	esac
}

# --- every client, every proxy, relay and handoff ---------------------------
proxies=(
	"dante|$s5"
	"tinyproxy|$tp"
	"microsocks|socks5://$NHP_P4:1081"
	"chain microsocks,dante|socks5://$NHP_P4:1081 $s5"
)
for mode in "" --handoff; do
	for p in "${proxies[@]}"; do
		pname=${p%%|*}
		args=()
		for u in ${p#*|}; do
			args+=(--proxy "$u")
		done
		what="$pname${mode:+ $mode}"
		for c in "${clients[@]}"; do
			if [ "$c" = go ] && [ ! -x "$goget" ]; then
				nh_skip "go by name via $what" "no Go (scripts/deps.sh test installs golang-go)"
				continue
			fi
			client "$c" web.example
			rm -f "$log"
			# shellcheck disable=SC2086
			got=$(nhn_nethook remote run $mode --log "$log" "${args[@]}" -- \
				"${cmd[@]}" 2>&1)
			fetched "$c http://web.example/ via $what: exit 0, the page" "$?" "$got"
			if [ "$c" = curl ]; then
				line=$(nhp_log_end "$log")
				nh_is "curl via $what: the end line's orig_dst is the name, result ok" \
					"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" result)" \
					"web.example:80 ok"
			fi
		done
		nhn_no_leak "$what, ${#clients[@]} clients"
	done
done
# (dante logs the address it connected to, not the name it was asked)
nh_like "tinyproxy was asked for the name (CONNECT web.example:80)" \
	"$(cat "$NH_TMP/tp/tinyproxy.log")" 'web\.example:80'

# --- the client's resolver, wherever it is --------------------------------------
for v in "stub|at 127.0.0.53" "ns6|at $NHN_NS6" "tcp|with options use-vc (TCP)" \
	"none|with no nameserver line"; do
	for mode in "" --handoff; do
		for c in curl go; do
			[ "$c" = go ] && [ ! -x "$goget" ] && continue
			client "$c" web.example
			# shellcheck disable=SC2086
			got=$(nhn_nethook "${v%%|*}" run $mode --proxy "$s5" -- "${cmd[@]}" 2>&1)
			fetched "resolv.conf ${v#*|}: $c via dante${mode:+ $mode}" "$?" "$got"
		done
	done
done
nhn_no_leak "resolv.conf variants"

# --- queries by hand: connected or not, any address, TCP, other types --------
q() {
	nhn_nethook remote run --proxy "$s5" -- python3 "$NHN_DNSQ" "$@" 2>&1
}
pool4='198\.1[89]\.[0-9]+\.[0-9]+'
pool6='100::(c61[23]:)?[0-9a-f]+'
nh_like "UDP sendto() to the resolv.conf address: answered from there, A in 198.18.0.0/15" \
	"$(q "$NHN_NS4" web.example A)" "^from=$NHN_NS4:53 rcode=0 answers=$pool4 "
nh_like "connected UDP to an address the client cannot reach: answered from it, AAAA in 100::/64" \
	"$(q --connect "$NHP_W4" web.example AAAA)" "^from=$NHP_W4:53 rcode=0 answers=$pool6 "
nh_like "UDP over IPv6 to $NHN_NS6: answered from there" \
	"$(q "$NHN_NS6" web.example A)" "^from=\[$NHN_NS6\]:53 rcode=0 answers=$pool4 "
nh_like "UDP to 127.0.0.53 (nothing listens): answered" \
	"$(q 127.0.0.53 web.example A)" "^from=127\.0\.0\.53:53 rcode=0 answers=$pool4 "
nh_like "TCP to $NHN_NS4:53: answered" \
	"$(q --tcp "$NHN_NS4" web.example A)" "^from=$NHN_NS4:53 rcode=0 answers=$pool4 "
nh_like "TCP over IPv6 to [$NHP_W6]:53: answered" \
	"$(q --tcp "$NHP_W6" web.example AAAA)" "^from=\[$NHP_W6\]:53 rcode=0 answers=$pool6 "
for t in MX TXT HTTPS SRV; do
	nh_like "a $t query: an empty NOERROR answer at once" \
		"$(q --timeout 2 "$NHN_NS4" web.example "$t")" \
		"^from=$NHN_NS4:53 rcode=0 answers= ms=[0-9]{1,3}\$"
done
# the two pools: the same index; PTR gives the name back
py_pool='import ipaddress, socket, sys
n = sys.argv[1]
try:
    a4 = socket.getaddrinfo(n, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    a6 = socket.getaddrinfo(n, 80, socket.AF_INET6, socket.SOCK_STREAM)[0][4][0]
    same = int(ipaddress.IPv6Address(a6)) == int(ipaddress.IPv6Address("100::")) + int(ipaddress.IPv4Address(a4))
    print(a4, a6, "same-index" if same else "other-index",
          socket.gethostbyaddr(a4)[0], socket.gethostbyaddr(a6)[0])
except OSError as e:
    sys.exit("error: %r" % e)'
got=$(nhn_nethook remote run --proxy "$s5" -- python3 -c "$py_pool" dual.web.example 2>&1)
nh_like "a name with A and AAAA: 198.18.0.0/15 and 100::/64, the same index" \
	"$got" "^$pool4 $pool6 same-index "
nh_like "PTR of the pool addresses: the name" "$got" \
	" dual\.web\.example dual\.web\.example\$"
# busybox nslookup: a resolver of its own, to the server given
got=$(nhn_nethook remote run --proxy "$s5" -- busybox nslookup web.example "$NHP_W4" 2>&1)
nh_like "busybox nslookup web.example $NHP_W4: a pool address" \
	"$(printf '%s\n' "$got" | sed -n '/^Name:/,$p')" "^Address: $pool4\$"
nhn_no_leak "queries by hand"

# --- AAAA only, A and AAAA ----------------------------------------------------
for mode in "" --handoff; do
	rm -f "$log"
	n=$(nh_access_count)
	# shellcheck disable=SC2086
	got=$(nhn_nethook remote run $mode --log "$log" --proxy "socks5://[$NHP_P6]:1080" -- \
		curl -sS -m 8 http://v6only.web.example/who 2>&1)
	fetched "an AAAA-only name via dante at [$NHP_P6]${mode:+ $mode}" "$?" "$got"
	nh_is "AAAA-only${mode:+ $mode}: the web host saw one request, from dante's IPv6 address" \
		"$(tail -n +$((n + 1)) "$access" | awk '{ print $1 }' | paste -sd ' ')" "$NHP_PW6"
	nh_is "AAAA-only${mode:+ $mode}: orig_dst is the name" \
		"$(nh_tfield "$(nhp_log_end "$log")" orig_dst)" "v6only.web.example:80"
	for f in "" -4 -6; do
		# shellcheck disable=SC2086
		got=$(nhn_nethook remote run $mode --proxy "$s5" -- \
			curl $f -sS -m 8 http://dual.web.example/who 2>&1)
		fetched "a name with A and AAAA${f:+, curl $f}, via dante${mode:+ $mode}" "$?" "$got"
	done
done
nhn_no_leak "AAAA-only and A+AAAA names"

# --- 1,000 names in one run ---------------------------------------------------
py_names='import socket, sys, time
n = int(sys.argv[1]); deadline = time.monotonic() + 60
ok = bad = 0; addrs = set(); err = None
for i in range(n):
    if time.monotonic() > deadline:
        err = err or "out of time at %d" % i
        break
    h = "n%d.web.example" % i
    try:
        a = socket.getaddrinfo(h, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4]
        addrs.add(a[0])
        s = socket.create_connection(a, 5)
        s.settimeout(5)
        s.sendall(b"GET /who HTTP/1.0\r\nHost: " + h.encode() + b"\r\n\r\n")
        r = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            r += d
        s.close()
        if r.startswith(b"HTTP/1.1 200") and r.endswith(b"\r\n\r\nweb\n"):
            ok += 1
        else:
            bad += 1
    except OSError as e:
        bad += 1
        err = err or "%s: %r" % (h, e)
        if bad >= 20:
            err += " (gave up after 20 failures)"
            break
print("ok=%d bad=%d distinct=%d%s" % (ok, bad, len(addrs), " first_error=" + err if err else ""))'
rm -f "$log"
t0=$(nhp_ms)
got=$(NH_TIMEOUT=120 nhn_nethook remote run --log "$log" --proxy "$s5" -- \
	python3 -c "$py_names" "$NHN_NAMES" 2>&1)
t1=$(nhp_ms)
nh_is "$NHN_NAMES names in one run ($((t1 - t0)) ms): each fetched, each its own address" \
	"$got" "ok=$NHN_NAMES bad=0 distinct=$NHN_NAMES"
nh_is "$NHN_NAMES names: $NHN_NAMES end lines, each naming its host" \
	"$(nhp_log_end "$log" | grep -oE ' orig_dst=n[0-9]+\.web\.example:80 ' | sort -u | wc -l)" \
	"$NHN_NAMES"
nhn_no_leak "$NHN_NAMES names"

# --- a name the proxy cannot resolve --------------------------------------------
for p in "dante|$s5|$NHP_P4:1080" "tinyproxy|$tp|$NHP_P4:8888"; do
	IFS='|' read -r pname url hop <<<"$p"
	for mode in "" --handoff; do
		what="$pname${mode:+ $mode}"
		rm -f "$log"
		t0=$(nhp_ms)
		# shellcheck disable=SC2086
		nhn_nethook remote run $mode --log "$log" --proxy "$url" -- \
			curl -s -m 8 -o /dev/null http://nowhere.web.example/who 2>"$err"	# curl -s: only nethook writes there
		rc=$?
		t1=$(nhp_ms)
		# resolved (by nethook), then refused by the proxy: not curl's 6
		nh_check "unknown name via $what: curl's connection fails within 3 s (exit $rc, not 0 or 6; $((t1 - t0)) ms)" \
			test "$rc" -ne 0 -a "$rc" -ne 6 -a $((t1 - t0)) -lt 3000
		line=$(nhp_log_end "$log")
		nh_is "unknown name via $what: end line orig_dst is the name, result=error" \
			"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" result)" \
			"nowhere.web.example:80 error"
		detail=$(nhp_detail "$line")
		nh_like "unknown name via $what: the detail names the hop" "$detail" \
			"${hop//./\\.}"
		nh_like "unknown name via $what: the detail says what the proxy replied" \
			"$detail" '(reply|status|HTTP).*([0-9]{3}|0x[0-9a-f]{2})'
		nh_like "unknown name via $what: one line on stderr" "$(cat "$err")" \
			"^nethook: nowhere\\.web\\.example:80 via ${url//./\\.}: .+"
	done
done
nhn_nethook remote run -q --proxy "$s5" -- \
	curl -s -m 8 -o /dev/null http://nowhere.web.example/who 2>"$err"	# curl -s: only nethook writes there
rc=$?
nh_check "unknown name, -q: curl's connection fails (exit $rc, not 0, 6 or 125)" \
	test "$rc" -ne 0 -a "$rc" -ne 6 -a "$rc" -ne 125
nh_unlike "unknown name, -q: no line from nethook on stderr" "$(cat "$err")" \
	'^nethook: '
nhn_no_leak "unknown names"

# --- the log ------------------------------------------------------------------
rm -f "$log"
nhn_nethook remote run --log "$log" --proxy "$s5" -- \
	curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
nh_like "text log: the redirect line's orig_dst is the name" \
	"$(nh_tevents "$log" redirect)" ' orig_dst=web\.example:80( |$)'
rm -f "$log"
nhn_nethook remote run --json --log "$log" --proxy "$s5" -- \
	curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
nh_is "JSON log: the end line's orig_dst is the name" \
	"$(nh_jevents "$log" end 2>/dev/null | jq -r .orig_dst 2>/dev/null)" "web.example:80"
rm -f "$log"
nhn_nethook remote run --events dns,end --log "$log" --proxy "$s5" -- \
	curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
dns=$(nh_tevents "$log" dns)
nh_like "--events dns: a dns line for the A query of web.example" \
	"$(printf '%s\n' "$dns" | grep -E ' name=web\.example( |$)')" ' type=A( |$)'
nh_like "--events dns: a dns line for the AAAA query of web.example" \
	"$(printf '%s\n' "$dns" | grep -E ' name=web\.example( |$)')" ' type=AAAA( |$)'
nh_like "--events dns: the A answer is a pool address" \
	"$(printf '%s\n' "$dns" | grep -E ' type=A( |$)')" "$pool4"
got=$(nhn_nethook remote run --dns proxy --proxy "$s5" -- curl -sS -m 8 http://web.example/who 2>&1)
fetched "--dns proxy (the default, said explicitly): curl by name via dante" "$?" "$got"
got=$(nhn_nethook remote run --proxy "socks5h://$NHP_P4:1080" -- curl -sS -m 8 http://web.example/who 2>&1)
fetched "socks5h:// (a synonym of socks5://): curl by name via dante" "$?" "$got"
nhn_no_leak "the log's runs"

# --- --dns direct: the queries leave (and are logged) ------------------------------
if command -v dnsmasq >/dev/null; then
	nhn_dnsmasq cdns "$NHN_DNS4" --local=/web.example/ \
		--host-record=web.example,"$NHP_W4" --host-record=p.example,"$NHP_P4"
	nhn_leaks_zero
	rm -f "$log"
	# (connect lines, one per query, are not in the default --events)
	got=$(nhn_nethook direct run --dns direct --events all --log "$log" --proxy "$s5" -- \
		curl -sS -m 8 http://web.example/who 2>&1)
	fetched "--dns direct: curl by name via dante, the client's resolver answering" "$?" "$got"
	nh_like "--dns direct: the query is logged (a connect line to $NHN_DNS4:53)" \
		"$(nh_tevents "$log" connect)" " orig_dst=$NHN_DNS4:53( |$)"
	nh_is "--dns direct: the connection went by the address the resolver gave" \
		"$(nh_tfield "$(nhp_log_end "$log")" orig_dst)" "$NHP_W4:80"
	nh_like "--dns direct: the client's resolver saw the query" \
		"$(cat "$NH_TMP/cdns/log")" "query\\[A\\] web\\.example from $NHP_C4\$"
	got=$(nhn_leaks)
	nh_check "--dns direct: the counters saw the queries leave ($got)" \
		test "${got%% *}" -gt 0
	nhn_leaks_zero
	nhn_nethook remote run --dns direct --proxy "$s5" -- \
		curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
	nh_is "--dns direct, the client's resolver silent: curl cannot resolve (exit 6)" "$?" 6
	nhn_leaks_zero
	# the monitor (no proxy): nethook's resolver forwards to the program's
	# and remembers the answers; the end line of a direct connection names
	# the host the program looked up (issue 11: a `name` field)
	rm -f "$log"
	nhn_nethook direct run --log "$log" -- \
		curl -s -m 5 -o /dev/null http://p.example:8888/ 2>/dev/null
	nh_is "monitor: the end line of a direct connection names the host" \
		"$(nh_tfield "$(nhp_log_end "$log")" name)" p.example
	nhn_leaks_zero
else
	nh_skip "--dns direct" "no dnsmasq (apt-get install dnsmasq-base)"
fi

# --- UDP to a name's address: connect() goes on, datagrams are refused --------
# getaddrinfo() connects a UDP socket to each answer (to sort them) and
# sends nothing: that must not fail, nor be logged; a datagram must.
# A route to the pool through the proxy host, as a default route would
# give: a datagram that left would meet the leak counters there (it
# cannot go further: the proxy host has no route out of the machine).
ip -n "${NH_ID}c" route add 198.18.0.0/15 via "$NHP_P4"
rm -f "$log"
got=$(nhn_nethook remote run --log "$log" --proxy "$s5" -- python3 -c '
import socket, sys
a = socket.getaddrinfo("web.example", 443, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(a)
print("connect=ok")
for i in range(3):
    try:
        s.send(b"x" * 100)
        print("send=ok")
    except OSError as e:
        print("send=" + (e.strerror or "?"))
' 2>&1)
nh_is "UDP to a pool address: connect ok, each datagram refused" \
	"$(printf '%s\n' "$got" | tr '\n' ' ')" \
	"connect=ok send=Operation not permitted send=Operation not permitted send=Operation not permitted "
nh_is "UDP to a pool address: one block line for the socket, by name" \
	"$(nh_tevents "$log" block | grep -c ' proto=udp orig_dst=web\.example:443 ')" 1
rm -f "$log"
nhn_nethook remote run --log "$log" --proxy "$s5" -- curl -sS -m 8 -o /dev/null http://web.example/who
nh_is "getaddrinfo's UDP probes of the answers: no block line" \
	"$(nh_tevents "$log" block | grep -c ' proto=udp ')" 0
# the client's counters see the refused datagrams: cgroup_skb/egress runs
# after netfilter's output hooks, and drops them there; none arrives
nh_like "UDP to pool addresses: not one datagram reached the proxy host" \
	"$(nhn_leaks)" ' p4 0 p6 0;'
nhn_leaks_zero
ip -n "${NH_ID}c" route del 198.18.0.0/15

# --- a socket filter sees the name, and may have the proxy asked another ------
sf=(--family 46 --dns --proxy "$s5" --rule '[::/0]:53:dns' \
	--rule '127.0.0.0/8:pass' --rule '[::/0]:divert')
got=$(NETHOOK=$NH_PROGS/nh-sflt nhn_nethook remote "${sf[@]}" -- \
	curl -sS -m 8 http://web.example/who 2>/dev/null)
nh_is "socket filter: the page by name" "$(head -1 <<<"$got")" web
nh_like "socket filter: sf_connect_out sees the name (nh_socket_peer_name)" \
	"$got" '^name\.0=web\.example$'
got=$(NETHOOK=$NH_PROGS/nh-sflt nhn_nethook remote "${sf[@]}" \
	--rename web.example -- curl -sS -m 8 http://nowhere.web.example/who 2>/dev/null)
nh_is "socket filter: nh_socket_set_peer_name() has the proxy asked for another name" \
	"$(head -1 <<<"$got")" web
nh_like "... the program's own name seen first" "$got" '^name\.0=nowhere\.web\.example$'
nhn_no_leak "socket filters"

# --- --dns block: names refused ---------------------------------------------------
rm -f "$log"
t0=$(nhp_ms)
nhn_nethook remote run --dns block --log "$log" --proxy "$s5" -- \
	curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
rc=$?
t1=$(nhp_ms)
nh_check "--dns block: curl cannot resolve (exit $rc, want 6) at once ($((t1 - t0)) ms)" \
	test "$rc" -eq 6 -a $((t1 - t0)) -lt 3000
nh_like "--dns block: block lines for the queries" "$(nh_tevents "$log" block)" \
	' orig_dst=[^ ]*:53( |$)'
nh_like "--dns block: a query by hand (UDP) gets EPERM" \
	"$(nhn_nethook remote run --dns block --proxy "$s5" -- python3 "$NHN_DNSQ" "$NHN_NS4" web.example A 2>&1)" \
	'^error=EPERM '
nh_like "--dns block: a query by hand (TCP) is refused" \
	"$(nhn_nethook remote run --dns block --proxy "$s5" -- python3 "$NHN_DNSQ" --tcp "$NHN_NS4" web.example A 2>&1)" \
	'^error=E(PERM|CONNREFUSED|ACCES) '
nhn_no_leak "--dns block"

nh_done
