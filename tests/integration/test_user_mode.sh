#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# User mode (issue 14; needs root to build the world): `nethook run
# --proxy URL -- CMD` run as user nobody, in the world of names.sh (the
# client's resolver answers nothing, only the proxy host knows
# web.example).  nethook catches CMD's system calls with seccomp, opens
# each diverted connection through the chain on CMD's own socket and
# answers CMD's DNS itself.  As nobody: curl by address and by name
# through dante, microsocks with username/password (right and wrong),
# tinyproxy and a chain of two; IPv6; busybox wget (static: unconnected
# sendto + recvfrom), a static Go client (Go's own resolver), python
# asyncio with 20 connections at once, git clone over http;
# getpeername() of a diverted socket; a command that forks and execs
# children; the proxy down, a hostile proxy; UDP other than DNS refused
# and let go with --allow-udp; 10,000 connect()s with no fd or memory
# growth in nethook; not one packet from the client to anything but a
# proxy port; what user mode refuses (--mode kernel without root,
# --events connect), the log's start line and what -v says.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
. "$(dirname "$0")/names.sh"
nh_require_nethook
nhp_require_peers
nhn_require
command -v setpriv >/dev/null || nh_bail "setpriv is not installed (apt-get install util-linux)"
id nobody >/dev/null 2>&1 || nh_bail "no user nobody"
NHN_NAMES=4	# web.example is the name used here; n0..n3 for the world
nhn_world

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY

# What nobody needs: to reach the client's /etc files, dnsq.py and the
# nethook binary, and a directory of its own (logs, HOME, loop files).
nogroup=$(id -gn nobody)
chmod 755 "$NH_TMP"
U=$NH_TMP/u
mkdir -p "$U/home" "$U/san"
chown -R "nobody:$nogroup" "$U"
chmod 700 "$U"
# sanitizer reports (ASan build) go to files: checked at the end
NHU_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME="$U/home" LANG=C.UTF-8 GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
	UBSAN_OPTIONS="print_stacktrace=1:log_path=$U/san/ubsan")

# nhu VARIANT ARGS...: nethook ARGS in c as nobody (no capabilities),
# with the client's /etc files of VARIANT (bind-mounted as root in a
# mount namespace of its own, then privileges dropped), bounded in time
# (NH_TIMEOUT, default 20 s).  NHU_ASAN: more ASAN_OPTIONS.
nhu() {
	local v=$1
	shift
	timeout -k 5 "${NH_TIMEOUT:-20}" \
		nsenter "--net=/run/netns/${NH_ID}c" -- \
		unshare -m --propagation private -- \
		sh -c "$NHN_WRAP" sh "$NH_TMP/etc-$v" \
		setpriv --reuid=nobody --regid="$nogroup" --clear-groups -- \
		"${NHU_ENV[@]}" ASAN_OPTIONS="log_path=$U/san/asan${NHU_ASAN:+:$NHU_ASAN}" \
		"$NETHOOK" "$@"
}
# nhu_cmd CMD...: CMD as nethook's would be run, without nethook.
nhu_cmd() {
	nsenter "--net=/run/netns/${NH_ID}c" -- \
		setpriv --reuid=nobody --regid="$nogroup" --clear-groups -- \
		"${NHU_ENV[@]}" "$@"
}
nhu_cmd test -x "$NETHOOK" ||
	nh_bail "user nobody cannot run $NETHOOK (its directories must be world-searchable)"
nhu_cmd test -r "$NH_TMP/etc-remote/resolv.conf" -a -w "$U" ||
	nh_bail "user nobody cannot reach the test's files in $NH_TMP"

muser=nhuser
mpass='right'
nhp_dante dante 1080 none
nhp_microsocks msauth "$NHP_P4" 1081 "$muser" "$mpass"
nhp_tinyproxy tp "$NHP_P4" 8888
nhp_fake garbage "$NHP_P4" 1090 s5-garbage 170
nhp_fake httpgarb "$NHP_P4" 1091 http-garbage 170
nhp_fake trunc "$NHP_P4" 1092 s5-reply-truncated 170
nhp_fake stall "$NHP_P4" 1093 stall 170
nhn_git_repo

s5=socks5://$NHP_P4:1080
ms=socks5://$muser:$mpass@$NHP_P4:1081
msbad=socks5://$muser:wrong@$NHP_P4:1081
tp=http://$NHP_P4:8888
log=$U/log
err=$NH_TMP/err
pool4='198\.1[89]\.[0-9]+\.[0-9]+'
pool6='100::(c61[23]:)?[0-9a-f]+'
nhn_leaks_zero

# fetched NAME STATUS OUTPUT [COUNT]: exit status 0 and the page ("web")
# COUNT times (default once).
# fails_within NAME MS RUN-ARGS...: `nethook run RUN-ARGS -- curl` of
# http://web.example/who, as nobody, fails at once: curl's exit is not
# 0, nor 6 (no name), nor a timeout's (124 and up), within MS ms;
# stderr in $err
fails_within() {
	local name=$1 ms=$2 t0 rc
	shift 2
	t0=$(nhp_ms)
	nhu remote run "$@" -- curl -s -m 15 -o /dev/null http://web.example/who 2>"$err"
	rc=$?
	t0=$(($(nhp_ms) - t0))
	nh_check "$name (exit $rc: not 0, 6 or >= 124; $t0 ms)" \
		test "$rc" -ne 0 -a "$rc" -ne 6 -a "$rc" -lt 124 -a "$t0" -lt "$ms"
}

fetched() {
	if [ "$2" = 0 ] && [ "$(printf '%s\n' "$3" | grep -cx web)" = "${4:-1}" ]; then
		nh_ok "$1"
	else
		nh_fail "$1" "exit status $2" "$(printf '%s\n' "$3" | tail -n 8)"
	fi
}

# --- who runs, in which mode ---------------------------------------------------
got=$(nhu remote run --proxy "$s5" -- id -u 2>&1)
nh_is "nethook runs as nobody, and so does the command (uid 65534)" "$got" 65534
rm -f "$log"
got=$(nhu remote run -v --log "$log" --proxy "$s5" -- curl -sS -m 8 http://web.example/who 2>"$err")
fetched "as nobody, no --mode: curl by name via dante" "$?" "$got"
nh_like "-v: says user mode, once" "$(grep -c 'user mode' "$err") $(cat "$err")" \
	'^1 nethook: user mode: .*seccomp'
nh_like "the log's first line: start mode=user" "$(head -n 1 "$log" 2>/dev/null)" \
	'^[0-9T:.-]+Z start mode=user$'
rm -f "$log"
nhu remote run --json --log "$log" --proxy "$s5" -- curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
nh_is "JSON log: the first line is the start event, mode user" \
	"$(head -n 1 "$log" 2>/dev/null | jq -r '.event + " " + .mode' 2>/dev/null)" "start user"
# getaddrinfo() connects a UDP socket to each answer to sort them, and
# sends nothing: as in kernel mode, that goes on, unlogged and unsaid
rm -f "$log"
got=$(nhu remote run --log "$log" --proxy "$s5" -- curl -sS -m 8 http://web.example/who 2>"$err")
fetched "curl by name via dante (stdout)" "$?" "$got"
nh_is "a good fetch by name: nothing on stderr" "$(cat "$err")" ""
nh_is "getaddrinfo's UDP probes of the pool answers: no block line" \
	"$(nh_tevents "$log" block | grep -c ' proto=udp ')" 0
line=$(nh_tevents "$log" end)
nh_is "one end line for the fetch, by name, through dante, ok" \
	"$(printf '%s\n' "$line" | grep -c .) $(nh_tfield "$line" orig_dst) $(nh_tfield "$line" route) $(nh_tfield "$line" result)" \
	"1 web.example:80 $s5 ok"
nh_is "... with no byte counts (they pass outside nethook in user mode)" \
	"$(nh_tfield "$line" bytes_out)/$(nh_tfield "$line" bytes_in)" "/"
rm -f "$log"
nhu remote run --json --log "$log" --proxy "$s5" -- curl -sS -m 8 -o /dev/null http://web.example/who 2>/dev/null
nh_is "JSON end line: bytes null, handshake told" \
	"$(jq -r 'select(.event == "end") | "\(.bytes_out) \(.bytes_in) \(.result) \(.handshake != null)"' "$log" 2>/dev/null)" \
	"null null ok true"
# --redirect in user mode: told at connect and at the end, as in kernel
# mode (to tinyproxy, the one HTTP server the client reaches: it answers
# a plain GET with an error page of its own)
rm -f "$log"
got=$(nhu remote run --log "$log" --redirect "$NHP_P4:8888" -- curl -sS -m 8 -o /dev/null -w '%{http_code}' "http://$NH_FAR4/who" 2>"$err")
nh_like "--redirect as nobody: $NH_FAR4:80 reaches tinyproxy, which answers" \
	"$? $got" '^0 [1-5][0-9][0-9]$'
nh_is "--redirect: a redirect line and an end line, both route=redirect to $NHP_P4:8888" \
	"$(nh_tevents "$log" redirect | grep -c " orig_dst=$NH_FAR4:80 new_dst=$NHP_P4:8888 route=redirect") $(nh_tevents "$log" end | grep -c " orig_dst=$NH_FAR4:80 new_dst=$NHP_P4:8888 route=redirect ")" \
	"1 1"
# monitor (no --proxy, --redirect, --block): each TCP connection's end,
# as kernel mode logs it, with route=direct
rm -f "$log"
nhu remote run --log "$log" -- sh -c "curl -s -m 8 -o /dev/null http://$NHP_P4:8888/; curl -s -m 8 -o /dev/null http://127.0.0.1:9/" 2>/dev/null
nh_is "monitor as nobody: an end line per connection, route=direct, ok and ECONNREFUSED" \
	"$(nh_tevents "$log" end | grep -c " orig_dst=$NHP_P4:8888 .*route=direct .*result=ok") $(nh_tevents "$log" end | grep -c " orig_dst=127\.0\.0\.1:9 .*route=direct .*result=error error=ECONNREFUSED")" \
	"1 1"
nhu remote run --block "$NHP_W4" -- curl -sS -m 8 -o /dev/null "http://$NHP_W4/who" 2>/dev/null
nh_is "--block as nobody: curl cannot connect (exit 7)" "$?" 7
nh_is "nethook check as nobody: user mode has what it needs, exit 0" \
	"$(nhu remote check 2>/dev/null | grep -c '^nethook: user mode (no root): every feature it needs is here$') $(nhu remote check >/dev/null 2>&1; echo $?)" \
	"1 0"
nhu remote run --mode kernel --proxy "$s5" -- true 2>"$err"
nh_like "--mode kernel as nobody: exit 125, says kernel mode needs root" \
	"$? $(cat "$err")" '^125 nethook: kernel mode needs root.*--mode user'
for e in connect create; do
	nhu remote run --events "$e" --log "$log" --proxy "$s5" -- true 2>"$err"
	nh_like "--events $e in user mode: exit 125, says it is kernel mode only" \
		"$? $(cat "$err")" "^125 nethook: user mode: --events .*kernel mode only"
done
nhu remote run --mode user --proxy "$s5" -- true 2>"$err"
nh_is "--mode user as nobody: accepted, nothing said" "$? $(cat "$err")" "0 "
# root may ask for user mode too
rm -f "$NH_TMP/rootlog"
got=$(nhn_nethook remote run --mode user --log "$NH_TMP/rootlog" --proxy "$s5" -- \
	curl -sS -m 8 http://web.example/who 2>&1)
fetched "as root, --mode user: curl by name via dante" "$?" "$got"
nh_like "as root, --mode user: the log says mode=user" \
	"$(head -n 1 "$NH_TMP/rootlog" 2>/dev/null)" ' start mode=user$'
nhn_no_leak "who runs"

# --exclude and --match are rules too, checked in nethook: tinyproxy's
# own port excluded goes direct, and with --match only web's address
# goes through the proxy
rm -f "$log"
nhu remote run --log "$log" --proxy "$s5" --exclude "$NHP_P4:8888" -- \
	curl -s -m 8 -o /dev/null "http://$NHP_P4:8888/" 2>/dev/null
nh_is "--exclude: a connection to $NHP_P4:8888 goes direct (route=direct)" \
	"$(nh_tevents "$log" end | grep -c " orig_dst=$NHP_P4:8888 .*route=direct ")" 1
rm -f "$log"
got=$(nhu remote run --log "$log" --proxy "$s5" --match "$NHP_W4:80" -- \
	sh -c "curl -sS -m 8 http://$NHP_W4/who; curl -s -m 8 -o /dev/null http://$NHP_P4:8888/" 2>/dev/null)
nh_is "--match $NHP_W4:80: web through the proxy, tinyproxy direct" \
	"$got $(nh_tevents "$log" end | grep -c " orig_dst=$NHP_W4:80 .*route=$s5 ") $(nh_tevents "$log" end | grep -c " orig_dst=$NHP_P4:8888 .*route=direct ")" \
	"web 1 1"
nhn_no_leak "--exclude, --match"

# --- curl through each proxy, by address and by name ----------------------------
for p in "dante|$s5" "microsocks with auth|$ms" "tinyproxy|$tp" \
	"chain microsocks,dante|$ms $s5"; do
	pname=${p%%|*}
	args=()
	for u in ${p#*|}; do
		args+=(--proxy "$u")
	done
	for host in "$NHP_W4" web.example; do
		got=$(nhu remote run "${args[@]}" -- curl -sS -m 8 "http://$host/who" 2>&1)
		fetched "curl http://$host/ via $pname: exit 0, the page" "$?" "$got"
	done
	nhn_no_leak "curl via $pname"
done
nh_like "tinyproxy was asked for the name (CONNECT web.example:80)" \
	"$(cat "$NH_TMP/tp/tinyproxy.log")" 'web\.example:80'
out=$U/big
rm -f "$out"
nhu remote run --proxy "$s5" -- curl -sS -m 10 -o "$out" http://web.example/big.bin
nh_is "2 MiB by name via dante: exit 0" "$?" 0
nh_same_file "2 MiB by name via dante: body intact" "$out" "$(nhp_web_file big.bin)"

# --- wrong credentials ------------------------------------------------------------
rm -f "$log"
fails_within "microsocks, wrong password: curl's connection fails at once" 3000 \
	--log "$log" --proxy "$msbad"
nh_like "microsocks, wrong password: one line on stderr saying so" "$(cat "$err")" \
	"^nethook: web\\.example:80 via socks5://${NHP_P4//./\\.}:1081: socks5 auth rejected"
nh_unlike "... without the password" "$(cat "$err")" wrong
line=$(nhp_log_end "$log")
nh_is "microsocks, wrong password: an end line, result=error, orig_dst the name" \
	"$(nh_tfield "$line" result) $(nh_tfield "$line" orig_dst)" "error web.example:80"
nh_like "microsocks, wrong password: its detail says auth" "$(nhp_detail "$line")" 'auth'
nhn_no_leak "wrong credentials"

# --- IPv6 -----------------------------------------------------------------------
for px in "$s5" "socks5://[$NHP_P6]:1080"; do
	got=$(nhu remote run --proxy "$px" -- curl -sS -m 8 -g "http://[$NHP_W6]/who" 2>&1)
	fetched "IPv6 destination by address via $px" "$?" "$got"
done
got=$(nhu remote run --proxy "socks5://[$NHP_P6]:1080" -- curl -sS -m 8 http://v6only.web.example/who 2>&1)
fetched "an AAAA-only name via dante at [$NHP_P6]" "$?" "$got"
nhn_no_leak "IPv6"

# --- other clients by name: busybox (static), Go, asyncio, git ----------------------
got=$(nhu remote run --proxy "$s5" -- timeout 8 busybox wget -q -O - http://web.example/who 2>&1)
fetched "busybox wget (static, unconnected sendto + recvfrom) by name via dante" "$?" "$got"
got=$(nhu remote run --proxy "$s5" -- python3 "$NHN_DNSQ" "$NHN_NS4" web.example A 2>&1)
nh_like "a query by hand, sendto() unconnected: answered from where it was sent, a pool address" \
	"$got" "^from=$NHN_NS4:53 rcode=0 answers=$pool4 "
got=$(nhu remote run --proxy "$s5" -- python3 "$NHN_DNSQ" --connect "$NHP_W4" web.example AAAA 2>&1)
nh_like "a query by hand, connected UDP to an address the client cannot reach: answered from it" \
	"$got" "^from=$NHP_W4:53 rcode=0 answers=$pool6 "
got=$(nhu remote run --proxy "$s5" -- python3 "$NHN_DNSQ" --tcp "$NHN_NS4" web.example A 2>&1)
nh_like "a query by hand over TCP: answered, a pool address" \
	"$got" "^from=$NHN_NS4:53 rcode=0 answers=$pool4 "
py_msg='import socket, struct, sys
ns = sys.argv[1]
q = struct.pack(">HHHHHH", 0x4e48, 0x0100, 1, 0, 0, 0) + b"\x03web\x07example\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendmsg([q], [], 0, (ns, 53))
d, anc, fl, a = s.recvmsg(1024)
idn, flags, qd, an = struct.unpack(">HHHH", d[:8])
print("from=%s:%d id=%s rcode=%d answers=%d" % (a[0], a[1], "same" if idn == 0x4e48 else "other", flags & 15, an))'
got=$(nhu remote run --proxy "$s5" -- python3 -c "$py_msg" "$NHN_NS4" 2>&1)
nh_is "a query by hand with sendmsg() and recvmsg(): answered from where it was sent" \
	"$got" "from=$NHN_NS4:53 id=same rcode=0 answers=1"

goget=$NH_TMP/go/goget
if command -v go >/dev/null; then
	mkdir -p "$NH_TMP/go"
	cp "$NH_SRCDIR/tests/progs/nh-goget.go" "$NH_TMP/go/main.go"
	if (cd "$NH_TMP/go" && CGO_ENABLED=0 GOFLAGS='' GOPROXY=off GO111MODULE=off \
		timeout 180 go build -o goget main.go) >"$NH_TMP/go/build.log" 2>&1; then
		chmod 755 "$goget"
		nh_like "the Go client is static" "$(file "$goget")" 'statically linked'
		got=$(nhu remote run --proxy "$s5" -- "$goget" web.example:80 /who 2>&1)
		fetched "static Go client (Go's own resolver) by name via dante" "$?" "$got"
		got=$(nhu remote run --proxy "$ms" -- "$goget" -n 20 web.example:80 /who 2>&1)
		nh_like "static Go client, 20 connections at once via microsocks with auth" \
			"$got" '^ok=20 bad=0$'
	else
		nh_fail "go build of the Go client" "$(tail -n 5 "$NH_TMP/go/build.log")"
	fi
else
	nh_skip "static Go client by name" "go is not installed (apt-get install golang-go)"
fi

py_async='import asyncio, sys
async def one(host):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, 80), 10)
    w.write(b"GET /who HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
    data = await asyncio.wait_for(r.read(), 10)
    w.close()
    return data.partition(b"\r\n\r\n")[2].decode().strip()
async def main(host, n):
    rs = await asyncio.gather(*[one(host) for i in range(n)], return_exceptions=True)
    ok = sum(1 for r in rs if r == "web")
    bad = [repr(r) for r in rs if r != "web"]
    print("ok=%d bad=%d%s" % (ok, len(bad), " first=" + bad[0] if bad else ""))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))'
for p in "dante|$s5" "tinyproxy|$tp"; do
	got=$(nhu remote run --proxy "${p#*|}" -- python3 -c "$py_async" web.example 20 2>"$err")
	nh_is "python asyncio, 20 connections at once by name via ${p%%|*}: all 20 get the page" \
		"$got" "ok=20 bad=0"
done

if [ -f "$(nh_www web)/repo.git/info/refs" ]; then
	# shellcheck disable=SC2016
	got=$(nhu remote run --proxy "$s5" -- sh -c \
		'rm -rf "$1" && timeout 15 git clone -q http://web.example/repo.git "$1" && cat "$1/who"' \
		sh "$U/clone" 2>&1)
	fetched "git clone http://web.example/repo.git via dante" "$?" "$got"
else
	nh_skip "git clone over http" "the web host serves no git repository"
fi
nhn_no_leak "busybox, Go, asyncio, git"

# --- getpeername() of a diverted socket ---------------------------------------------
py_peer='import socket, sys
h = sys.argv[1]
a = socket.getaddrinfo(h, 80, 0, socket.SOCK_STREAM)[0]
s = socket.socket(a[0], socket.SOCK_STREAM)
s.settimeout(8)
s.connect(a[4])
p = s.getpeername()
print("asked=%s peer=%s:%d" % (a[4][0], p[0], p[1]))
s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
r = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    r += d
print(r.partition(b"\r\n\r\n")[2].decode().strip())'
for h in "$NHP_W4" "$NHP_W6" web.example; do
	got=$(nhu remote run --proxy "$s5" -- python3 -c "$py_peer" "$h" 2>"$err")
	asked=$(printf '%s\n' "$got" | sed -n 's/^asked=\([^ ]*\) .*/\1/p')
	nh_is "getpeername() of a socket to $h: the address asked, port 80 (asked=${asked:-?})" \
		"$(printf '%s\n' "$got" | sed -n 's/^asked=.* peer=//p')" "${asked:-none}:80"
	nh_like "... and the page came" "$got" '^web$'
done
nh_like "by name, the address asked is a pool address" \
	"$(nhu remote run --proxy "$s5" -- python3 -c "$py_peer" web.example 2>"$err")" \
	"^asked=($pool4|$pool6) "

# --- a command that forks and execs children ------------------------------------------
# shellcheck disable=SC2016
sh_tree='curl -sS -m 8 http://web.example/who
(curl -sS -m 8 "http://$1/who") &
sh -c "timeout 8 busybox wget -q -O - http://web.example/who" &
python3 -c "
import os, socket
pid = os.fork()
if pid == 0:
    s = socket.create_connection((\"web.example\", 80), 8)
    s.sendall(b\"GET /who HTTP/1.0\\r\\n\\r\\n\")
    r = b\"\"
    while True:
        d = s.recv(4096)
        if not d:
            break
        r += d
    print(r.partition(b\"\\r\\n\\r\\n\")[2].decode().strip(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
" &
wait'
got=$(nhu remote run --proxy "$ms" -- bash -c "$sh_tree" sh "$NHP_W4" 2>&1)
fetched "bash runs curl, a subshell's curl, sh's busybox wget and python's forked child: each gets the page" \
	"$?" "$got" 4
nhn_no_leak "children"

# --- the proxy down, a hostile proxy ---------------------------------------------------
# (ports outside the counters' proxy ports: the counters are reset after)
rm -f "$log"
fails_within "proxy down (nothing listens): curl fails at once" 3000 \
	--log "$log" --proxy "socks5://$NHP_P4:1999"
nh_like "proxy down: one line on stderr naming the proxy" "$(cat "$err")" \
	"^nethook: web\\.example:80 via socks5://${NHP_P4//./\\.}:1999: "
nh_is "proxy down: the end line says result=error error=ECONNREFUSED" \
	"$(nh_tfield "$(nhp_log_end "$log")" result) $(nh_tfield "$(nhp_log_end "$log")" error)" \
	"error ECONNREFUSED"
fails_within "proxy blackholed, --connect-timeout 2: curl fails within 5 s, no hang" 5000 \
	--connect-timeout 2 --proxy "socks5://$NHP_HOLE4:1080"
for f in "garbage|1090|s5-garbage" "httpgarb|1091|http-garbage" \
	"trunc|1092|s5-reply-truncated" "stall|1093|stall"; do
	IFS='|' read -r name port mode <<<"$f"
	scheme=socks5
	[ "$mode" = http-garbage ] && scheme=http
	rm -f "$log"
	fails_within "hostile proxy ($mode): curl fails within 5 s, nethook neither hangs nor crashes" 5000 \
		--connect-timeout 2 --log "$log" --proxy "$scheme://$NHP_P4:$port"
	nh_is "hostile proxy ($mode): the end line says result=error" \
		"$(nh_tfield "$(nhp_log_end "$log")" result)" error
	nh_like "hostile proxy ($mode): one line on stderr naming the proxy" "$(cat "$err")" \
		"^nethook: web\\.example:80 via $scheme://${NHP_P4//./\\.}:$port: "
done
nhn_leaks_zero

# --- UDP other than DNS ---------------------------------------------------------------
udplog=$NH_TMP/udp.log
: >"$udplog"
udp_pid=
nh_bg udp_pid nsenter "--net=/run/netns/${NH_ID}p" -- python3 -c '
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[1], 5999))
u.settimeout(170)
while True:
    d, a = u.recvfrom(2048)
    with open(sys.argv[2], "a") as f:
        f.write(d.decode(errors="replace") + "\n")
' "$NHP_P4" "$udplog" </dev/null >/dev/null 2>&1
py_udp='import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))'
sleep 0.3
rm -f "$log"
got=$(nhu remote run --log "$log" --proxy "$s5" -- python3 -c "$py_udp" 203.0.113.9 9 x 2>/dev/null)
nh_is "UDP sendto() to 203.0.113.9:9 under --proxy: EPERM" "$got" EPERM
line=$(nh_tevents "$log" block | grep ' proto=udp orig_dst=203\.0\.113\.9:9 ')
nh_is "... and one block line for it, error=EPERM" \
	"$(printf '%s\n' "$line" | grep -c .) $(nh_tfield "$line" error)" "1 EPERM"
# as in kernel mode: a rule's block has no detail, and no stderr line
nh_is "... with no detail, as kernel mode's" "$(nhp_detail "$line")" ""
got=$(nhu remote run --proxy "$s5" -- python3 -c "$py_udp" "$NHP_P4" 5999 refused 2>/dev/null)
nh_is "UDP sendto() to the proxy host's port 5999 under --proxy: EPERM" "$got" EPERM
got=$(nhu remote run --allow-udp --proxy "$s5" -- python3 -c "$py_udp" "$NHP_P4" 5999 allowed 2>/dev/null)
nh_is "UDP sendto() to the proxy host's port 5999 with --allow-udp: sent" "$got" sent
got=$(nhu remote run --allow-udp --proxy "$s5" -- python3 -c "$py_udp" 203.0.113.9 9 x 2>/dev/null)
nh_is "UDP to 203.0.113.9:9 with --allow-udp: the kernel's answer (no route), not EPERM" \
	"$got" ENETUNREACH
sleep 0.3
nh_is "the datagram let go arrived, the refused one did not" \
	"$(paste -sd ' ' "$udplog")" allowed
nhp_kill_peer "$udp_pid"
nhn_leaks_zero

# --- what user mode cannot follow, said ------------------------------------------
# io_uring sends where no filter looks: its setup fails with EPERM; a
# 32-bit program's system calls are not caught: each fails with ENOSYS
# (it may still exit) and the log says why
mkdir -p "$NH_TMP/cc"
cat >"$NH_TMP/cc/uring.c" <<'EOC'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	char params[120];

	memset(params, 0, sizeof(params));
	if (syscall(__NR_io_uring_setup, 4, params) < 0) {
		printf("%s\n", errno == EPERM ? "EPERM" : strerror(errno));
		return 0;
	}
	printf("set up\n");
	return 0;
}
EOC
cat >"$NH_TMP/cc/abi32.c" <<'EOC'
void _start(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(4), "b"(1), "c"("hi\n"), "d"(3) : "memory");
	__asm__ volatile("int $0x80" : : "a"(1), "b"(r < 0 ? -r : 0));
	for (;;)
		;
}
EOC
chmod 755 "$NH_TMP/cc"
if cc -O1 -o "$NH_TMP/cc/uring" "$NH_TMP/cc/uring.c" 2>/dev/null; then
	got=$(nhu remote run --proxy "$s5" -- "$NH_TMP/cc/uring" 2>&1)
	nh_is "io_uring_setup() in user mode: EPERM" "$got" EPERM
else
	nh_skip "io_uring_setup() in user mode" "no C compiler"
fi
if cc -m32 -nostdlib -static -fno-pie -no-pie -O1 -o "$NH_TMP/cc/abi32" \
	"$NH_TMP/cc/abi32.c" 2>/dev/null; then
	got=$(nhu remote run --proxy "$s5" -- "$NH_TMP/cc/abi32" 2>"$err")
	nh_is "a 32-bit program in user mode: its write() fails with ENOSYS (exit 38), it exits" \
		"$? $got" "38 "
	nh_like "... and nethook says why, once" "$(grep -c 'another ABI' "$err") $(cat "$err")" \
		'^1 nethook: user mode: pid [0-9]+ runs another ABI \(a 32-bit program\): its system calls fail with ENOSYS'
else
	nh_skip "a 32-bit program in user mode" "cc -m32 cannot build a static i386 program here"
fi

# --- 10,000 connect()s: no growth in nethook ----------------------------------------
n=10000
loopdir=$U/loop
py_loop='import os, socket, sys, time
n, addr, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def wait_for(f):
    t = time.monotonic() + 60
    while not os.path.exists(os.path.join(d, f)):
        if time.monotonic() > t:
            sys.exit("no " + f)
        time.sleep(0.05)
def loop(k):
    ok = bad = 0
    err = None
    for i in range(k):
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect((addr, 80))
            ok += 1
        except OSError as e:
            bad += 1
            err = err or repr(e)
        s.close()
    return ok, bad, err
loop(300)
open(os.path.join(d, "ready"), "w").close()
wait_for("go")
ok, bad, err = loop(n)
print("ok=%d bad=%d%s" % (ok, bad, " first_error=" + err if err else ""), flush=True)
open(os.path.join(d, "done"), "w").close()
wait_for("end")'
mkdir -p "$loopdir"
chown "nobody:$nogroup" "$loopdir"
# (an ASan build keeps freed memory in quarantine: none here, so that
# what RSS shows is what nethook holds)
loop_pid=
NHU_ASAN=quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
	NH_TIMEOUT=170 nh_bg loop_pid nhu remote run --proxy "$ms" -- \
	python3 -c "$py_loop" "$n" "$NHP_W4" "$loopdir" >"$NH_TMP/loop.out" 2>&1
if nh_wait_file "$loopdir/ready" 30 && nhpid=$(nhp_nethook_pid "$loop_pid"); then
	nh_is "the looping nethook runs as nobody (real, effective, saved uid)" \
		"$(awk '$1 == "Uid:" { print $2, $3, $4 }' "/proc/$nhpid/status")" "65534 65534 65534"
	rss0=$(nhp_rss_kb "$nhpid")
	fd0=$(find "/proc/$nhpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	t0=$(nhp_ms)
	touch "$loopdir/go"
	nh_wait_file "$loopdir/done" 150
	t1=$(nhp_ms)
	rss1=$(nhp_rss_kb "$nhpid")
	fd1=$(find "/proc/$nhpid/fd" -mindepth 1 -maxdepth 1 | wc -l)
	touch "$loopdir/end"
	nh_wait_gone "$loop_pid" 10
	wait "$loop_pid" 2>/dev/null
	nh_is "$n connect()s through microsocks in $((t1 - t0)) ms: all opened" \
		"$(grep '^ok=' "$NH_TMP/loop.out")" "ok=$n bad=0"
	nh_check "$n connect()s: nethook's fd count unchanged, +-2 (before $fd0, after $fd1)" \
		test "$fd1" -le $((fd0 + 2)) -a "$fd1" -ge $((fd0 - 2))
	nh_check "$n connect()s: nethook's RSS grew by less than 8 MiB (before ${rss0} kB, after ${rss1:-?} kB)" \
		test -n "$rss1" -a $((${rss1:-0} - rss0)) -lt 8192
else
	nh_fail "$n connect()s: the loop started under nethook" \
		"$(tail -n 5 "$NH_TMP/loop.out")"
	touch "$loopdir/go" "$loopdir/end"
fi
nhn_no_leak "$n connect()s"

# --- sanitizers (ASan build) -------------------------------------------------------
reports=$(cat "$U"/san/* 2>/dev/null)
nh_is "no sanitizer report from any nethook run" \
	"$(printf '%s\n' "$reports" | grep -m 3 -E 'ERROR|runtime error|SUMMARY')" ""

nh_done
