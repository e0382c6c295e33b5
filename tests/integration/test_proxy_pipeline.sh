#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Pipelined proxy handshakes and optimistic data (issue 15), needs root.
# Each proxy URL takes ?pipeline=auto|on|off; the end line says which
# handshake a connection had (handshake=stepwise|pipelined|optimistic)
# and how long it took (handshake_ms).  Real peers: dante (without and
# with username/password), squid (without and with Basic auth),
# tinyproxy (with CONNECT to its own port allowed, and without), OpenSSH
# `ssh -D`, microsocks (reads one step per recv: stalls on pipelined
# input), a chain; --handoff through dante and microsocks.  Scripted
# peers (fakeproxy.py): one that closes on pipelined input, one that
# stalls on it, one that writes its replies a byte at a time, one that
# answers before the request, one that drops the data that came with the
# request, one that refuses after the optimistic data came.
#
# Every run makes several connections (curl: GET small.txt, GET big.bin,
# PUT of 1 MiB), each request with an id of its own: every body must be
# the served file, every upload stored whole, and the web server must
# have seen each request exactly once (no byte of the program lost or
# sent twice).  Under auto the first connection starts nethook's probe
# of the proxy; the program waits PL_WAIT s before the next ones.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
for c in squid /usr/sbin/sshd ssh ssh-keygen openssl; do
	command -v "$c" >/dev/null ||
		nh_bail "$c is not installed (scripts/deps.sh test)"
done
nhp_world

pass=pl-pw.7	# fits tinyproxy's and squid's Basic auth as is
nhp_user_add "$pass"
user=$NHP_USER
nhp_dante dante 1080 none
nhp_dante dauth 1082 username
nhp_microsocks ms "$NHP_P4" 1081
nhp_microsocks msauth "$NHP_P4" 1083 msuser "$pass"
# tinyproxy that may CONNECT to itself (nethook's probe asks for that)
# and to dauth (the chain); tpdef keeps the usual ports only
NHP_TP_CONNECT_PORTS="8888 1082" nhp_tinyproxy tp "$NHP_P4" 8888
NHP_TP_CONNECT_PORTS=8889 nhp_tinyproxy tpauth "$NHP_P4" 8889 tpuser "$pass"
nhp_tinyproxy tpdef "$NHP_P4" 8887
nhp_squid squid "$NHP_P4" 3128
nhp_squid squida "$NHP_P4" 3129 squser "$pass"
nhp_sshd sshd
nhp_ssh_socks sshd "$NHP_P4" 1085
life=600
nhp_fake pclose "$NHP_P4" 1101 pipe-close "$life"
nhp_fake pstall "$NHP_P4" 1102 pipe-stall "$life"
nhp_fake split "$NHP_P4" 1103 split "$life"
nhp_fake early "$NHP_P4" 1104 early "$life"
nhp_fake odisc "$NHP_P4" 1105 opt-discard "$life"
nhp_fake oref "$NHP_P4" 1106 opt-refuse "$life"

small=$(nhp_web_file small.txt)
big=$(nhp_web_file big.bin)
access=$NH_TMP/nginx-web/access.log
PL=$NH_TMP/pl
PL_WAIT=${PL_WAIT:-1.5}	# s for the probe to conclude
rounds=2
nh_quick && rounds=1
mkdir -p "$PL"
head -c $((1024 * 1024)) /dev/urandom >"$PL/up.bin"
web=http://$NHP_W4

# The program of every run: TAG WAIT ROUNDS.  GET small.txt (TAG-0), sleep
# WAIT, then ROUNDS times GET small.txt, GET big.bin, PUT 1 MiB; each
# curl's exit status in $PL/TAG.rc.
cat >"$PL/prog.sh" <<EOF
t=\$1 w=\$2 n=\$3 d=$PL
curl -sS -m 10 -o "\$d/\$t-0.small" "$web/small.txt?r=\$t-0"
echo "\$t-0.small \$?" >>"\$d/\$t.rc"
sleep "\$w"
i=1
while [ "\$i" -le "\$n" ]; do
	curl -sS -m 10 -o "\$d/\$t-\$i.small" "$web/small.txt?r=\$t-\$i"
	echo "\$t-\$i.small \$?" >>"\$d/\$t.rc"
	curl -sS -m 10 -o "\$d/\$t-\$i.big" "$web/big.bin?r=\$t-\$i"
	echo "\$t-\$i.big \$?" >>"\$d/\$t.rc"
	curl -sSf -m 10 -H Expect: -T "\$d/up.bin" -o /dev/null "$web/up/\$t-\$i.bin"
	echo "\$t-\$i.up \$?" >>"\$d/\$t.rc"
	i=\$((i + 1))
done
EOF

# A client that can wait before its request (no data for nethook to send
# early) or send it at once: get.py PATH OUT DELAY TIMEOUT.  Exit 0 when
# the answer is 200 with the body of small.txt.
cat >"$PL/get.py" <<EOF
import socket, sys, time
path, out, delay, tmo = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
s = socket.create_connection(("$NHP_W4", 80), timeout=tmo)
time.sleep(delay)
buf = b""
try:
    s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: w\r\n\r\n")
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
except OSError as e:
    print("get.py: %r after %d bytes" % (e, len(buf)), file=sys.stderr)
head, _, body = buf.partition(b"\r\n\r\n")
open(out, "wb").write(body)
sys.exit(0 if head.startswith(b"HTTP/1.1 200") and body == open("$small", "rb").read() else 1)
EOF

declare -A pl_found	# TAG -> handshakes seen, for the summary

# pl_run TAG WAIT ROUNDS RUN-ARGS...: nethook run -v RUN-ARGS (in c) with
# the program above; log $PL/TAG.log, nethook's stderr $PL/TAG.err.
pl_run() {
	local t=$1 w=$2 n=$3
	shift 3
	rm -f "$PL/$t".* "$PL/$t"-*
	nh_nethook c run -v --log "$PL/$t.log" "$@" -- sh "$PL/prog.sh" "$t" "$w" "$n" \
		>"$PL/$t.out" 2>"$PL/$t.err"
	echo "$?" >"$PL/$t.exit"
}

# pl_ends TAG: the end lines of the web server's connections, in order.
pl_ends() {
	awk -v d="orig_dst=$NHP_W4:80" '$2 == "end" && index($0, " " d " ")' "$PL/$1.log" 2>/dev/null
}

# pl_handshakes TAG: the handshake field of each, one line ("-" if none).
pl_handshakes() {
	local line v out=''
	while IFS= read -r line; do
		v=$(nh_tfield "$line" handshake)
		out+="${v:--} "
	done < <(pl_ends "$1")
	printf '%s\n' "${out% }"
}

# pl_names TAG ROUNDS: the names of the program's transfers.
pl_names() {
	local i
	echo "$1-0.small"
	for ((i = 1; i <= $2; i++)); do
		echo "$1-$i.small $1-$i.big $1-$i.up"
	done | tr ' ' '\n'
}

# pl_served NAME: how many times the web server saw the request of NAME.
pl_served() {
	local id=${1%.*} kind=${1##*.}
	case $kind in
	small) grep -c "\"GET /small.txt?r=$id HTTP" "$access" ;;
	big) grep -c "\"GET /big.bin?r=$id HTTP" "$access" ;;
	up) grep -c "\"PUT /up/$id.bin HTTP" "$access" ;;
	esac
}

# pl_intact NAME: the transfer NAME arrived whole.
pl_intact() {
	local id=${1%.*} kind=${1##*.}
	case $kind in
	small) cmp -s "$PL/$1" "$small" ;;
	big) cmp -s "$PL/$1" "$big" ;;
	up) cmp -s "$(nh_www web)/up/$id.bin" "$PL/up.bin" ;;
	esac
}

# pl_ok TAG ROUNDS HANDSHAKE-ERE: every transfer of the run worked, whole,
# seen once by the web server; its end lines all ok, with handshake_ms,
# their handshakes (space-separated, in order) matching HANDSHAKE-ERE.
pl_ok() {
	local t=$1 n=$2 re=$3 bad='' x hs ends want
	want=$((1 + 3 * n))
	nh_is "$t: nethook and the program exit 0" "$(cat "$PL/$t.exit")" 0
	for x in $(pl_names "$t" "$n"); do
		grep -qx "$x 0" "$PL/$t.rc" 2>/dev/null || bad+=" $x:curl-failed"
		pl_intact "$x" || bad+=" $x:not-intact"
		[ "$(pl_served "$x")" = 1 ] || bad+=" $x:served-$(pl_served "$x")-times"
	done
	nh_is "$t: $want transfers intact, each request served once" "${bad# }" ""
	ends=$(pl_ends "$t")
	nh_is "$t: $want end lines, all ok" \
		"$(printf '%s\n' "$ends" | awk 'NF { n++; if ($0 !~ / result=ok( |$)/) b++ }
			END { print n + 0, b + 0 }')" "$want 0"
	pl_hs_ms "$t"
	hs=$(pl_handshakes "$t")
	pl_found[$t]=$hs
	echo "# $t: handshakes: $hs"
	nh_like "$t: handshakes as expected" "$hs" "$re"
}

# pl_hs_ms TAG: every end line has handshake_ms, ms with 3 decimals.
pl_hs_ms() {
	local ends
	ends=$(pl_ends "$1")
	nh_is "$1: handshake_ms on every end line" \
		"$(printf '%s\n' "$ends" | awk 'NF && !/ handshake_ms=[0-9]+\.[0-9][0-9][0-9]( |$)/ { b++ }
			END { print b + 0 }')" 0
}

# pl_said TAG HOSTPORT ERE: nethook -v said once what it learnt of the
# proxy at HOSTPORT ("nethook: ..." naming it, matching ERE), and no
# credential.
pl_said() {
	local lines
	lines=$(grep -E "^nethook: .*$2" "$PL/$1.err" | grep -Ei 'pipelin|optimistic|stepwise')
	nh_is "$1: -v says once what nethook learnt of $2" \
		"$(printf '%s\n' "$lines" | awk 'NF { n++ } END { print n + 0 }')" 1
	nh_like "$1: ... that it is $3" "$lines" "$3"
	nh_unlike "$1: no credential on stderr" "$(cat "$PL/$1.err")" \
		"$user|$pass|msuser|tpuser|squser"
}

# pl_bounded TAG ROUNDS SECS: each connection either worked (whole,
# served once) or failed with an end line result=error naming the hop in
# its detail, within SECS s; none was served twice.  The transfers that
# failed are left in pl_failed.
pl_failed=
pl_bounded() {
	local t=$1 n=$2 secs=$3 bad='' x ends okc=0 errc=0 slow
	pl_failed=
	for x in $(pl_names "$t" "$n"); do
		if grep -qx "$x 0" "$PL/$t.rc" 2>/dev/null && pl_intact "$x"; then
			okc=$((okc + 1))
			[ "$(pl_served "$x")" = 1 ] || bad+=" $x:served-$(pl_served "$x")-times"
		else
			errc=$((errc + 1))
			pl_failed+=" $x"
			[ "$(pl_served "$x")" -le 1 ] || bad+=" $x:served-$(pl_served "$x")-times"
		fi
	done
	echo "# $t: $okc worked, $errc failed; handshakes: $(pl_handshakes "$t")"
	pl_found[$t]="$(pl_handshakes "$t") ($okc worked, $errc failed)"
	nh_is "$t: no request served twice" "${bad# }" ""
	ends=$(pl_ends "$t")
	nh_is "$t: each failed connection has result=error and a detail naming the hop" \
		"$(printf '%s\n' "$ends" | awk -v hop="$NHP_P4" 'NF && !/ result=ok( |$)/ &&
			!(/ result=error / && index($0, "detail=\"") && index($0, hop)) { b++ }
			END { print b + 0 }')" 0
	slow=$(printf '%s\n' "$ends" | awk -v s="$secs" 'NF { d = $0; sub(/.* duration_ms=/, "", d)
		sub(/ .*/, "", d); if (d + 0 > s * 1000) print d }')
	nh_is "$t: no connection lasted over ${secs} s" "$slow" ""
}

p=$NHP_P4
dauth_url="socks5://$user:$pass@$p:1082"
msauth_url="socks5://msuser:$pass@$p:1083"
tpauth_url="http://tpuser:$pass@$p:8889"
squida_url="http://squser:$pass@$p:3129"
learns='^stepwise( (pipelined|optimistic))+$'
allstep='^stepwise( stepwise)*$'
allpipe='^(pipelined|optimistic)( (pipelined|optimistic))*$'

# --- proxies that take pipelined input -------------------------------------
# off: the textbook sequence; on: pipelined (optimistic when the program's
# first bytes were there); auto: learnt after the first connection.
for spec in "dante socks5://$p:1080 $p:1080" "dauth $dauth_url $p:1082" \
	"ssh socks5://$p:1085 $p:1085" "squid http://$p:3128 $p:3128" \
	"squida $squida_url $p:3129" "tp http://$p:8888 $p:8888" \
	"tpauth $tpauth_url $p:8889"; do
	read -r name url hp <<<"$spec"
	if nh_quick && [[ $name == @(squida|tpauth) ]]; then
		nh_skip "$name: pipeline=off, on, auto" "NH_QUICK"
		continue
	fi
	pl_run "$name-off" 0 "$rounds" --proxy "$url?pipeline=off"
	pl_ok "$name-off" "$rounds" "$allstep"
	pl_run "$name-on" 0 "$rounds" --proxy "$url?pipeline=on"
	pl_ok "$name-on" "$rounds" "$allpipe"
	pl_run "$name-auto" "$PL_WAIT" "$rounds" --proxy "$url?pipeline=auto"
	pl_ok "$name-auto" "$rounds" "$learns"
	pl_said "$name-auto" "$hp" "pipelin|optimistic"
done

# The default is auto.
pl_run dante-default "$PL_WAIT" 1 --proxy "socks5://$p:1080"
pl_ok dante-default 1 "$learns"

# tinyproxy with its usual ports refuses nethook's probe (a CONNECT to
# itself): it stays stepwise under auto, and works.
pl_run tpdef-auto "$PL_WAIT" 1 --proxy "http://$p:8887?pipeline=auto"
pl_ok tpdef-auto 1 "$allstep|$learns"

# --- microsocks: stalls on pipelined input ----------------------------------
# auto must find out and stay stepwise; on fails (or is retried), bounded
# by --connect-timeout.
for spec in "ms socks5://$p:1081 $p:1081" "msauth $msauth_url $p:1083"; do
	read -r name url hp <<<"$spec"
	pl_run "$name-off" 0 "$rounds" --proxy "$url?pipeline=off"
	pl_ok "$name-off" "$rounds" "$allstep"
	pl_run "$name-auto" "$PL_WAIT" "$rounds" --proxy "$url?pipeline=auto"
	pl_ok "$name-auto" "$rounds" "$allstep"
	pl_said "$name-auto" "$hp" "stepwise"
	pl_run "$name-on" 0 0 --connect-timeout 2 --proxy "$url?pipeline=on"
	pl_bounded "$name-on" 0 4
done

# --- --handoff: pipelined, never optimistic ----------------------------------
pl_run dante-ho-off 0 1 --handoff --proxy "socks5://$p:1080?pipeline=off"
pl_ok dante-ho-off 1 "$allstep"
pl_run dante-ho-on 0 1 --handoff --proxy "socks5://$p:1080?pipeline=on"
pl_ok dante-ho-on 1 '^pipelined( pipelined)*$'
pl_run dante-ho-auto "$PL_WAIT" 1 --handoff --proxy "$dauth_url?pipeline=auto"
pl_ok dante-ho-auto 1 '^stepwise( pipelined)+$'
pl_run ms-ho-auto "$PL_WAIT" 1 --handoff --proxy "socks5://$p:1081?pipeline=auto"
pl_ok ms-ho-auto 1 "$allstep"
pl_run ms-ho-on 0 0 --handoff --connect-timeout 2 --proxy "socks5://$p:1081?pipeline=on"
pl_bounded ms-ho-on 0 4
nh_unlike "handoff: never optimistic" \
	"${pl_found[dante-ho-off]} ${pl_found[dante-ho-on]} ${pl_found[dante-ho-auto]} ${pl_found[ms-ho-auto]} ${pl_found[ms-ho-on]}" \
	optimistic

# --- a chain: tinyproxy, then dante with username/password through it ------
tp=http://$p:8888
for m in off on auto; do
	w=0
	[ "$m" = auto ] && w=$PL_WAIT
	pl_run "chain-$m" "$w" "$rounds" --proxy "$tp?pipeline=$m" \
		--proxy "$dauth_url?pipeline=$m"
	case $m in
	off) pl_ok "chain-$m" "$rounds" "$allstep" ;;
	on) pl_ok "chain-$m" "$rounds" "$allpipe" ;;
	auto) pl_ok "chain-$m" "$rounds" "$learns" ;;
	esac
done
# each hop its own: the first stepwise, the second pipelined
pl_run chain-mixed 0 1 --proxy "$tp?pipeline=off" --proxy "$dauth_url?pipeline=on"
pl_ok chain-mixed 1 "$allpipe"

# --- the log: JSON, and a direct flow --------------------------------------
rm -f "$PL/json.log"
nh_nethook c run --json --log "$PL/json.log" --proxy "socks5://$p:1080?pipeline=on" -- \
	curl -sS -m 10 -o /dev/null "$web/small.txt?r=json-1"
nh_check "json: the end line has handshake and handshake_ms" jq -e \
	'select(.event == "end") | (.handshake == "pipelined" or .handshake == "optimistic")
		and (.handshake_ms | type) == "number" and .handshake_ms >= 0' "$PL/json.log"
rm -f "$PL/direct.log" "$PL/direct.json"
# (no --proxy: the program uses squid itself, a direct flow to p)
nh_nethook c run --log "$PL/direct.log" -- \
	curl -sS -m 10 -o /dev/null -x "http://$p:3128" "$web/small.txt?r=direct-1"
nh_nethook c run --json --log "$PL/direct.json" -- \
	curl -sS -m 10 -o /dev/null -x "http://$p:3128" "$web/small.txt?r=direct-2"
line=$(nhp_log_end "$PL/direct.log")
nh_is "direct flow: no handshake in the text line" \
	"$(nh_tfield "$line" route) [$(nh_tfield "$line" handshake)] [$(nh_tfield "$line" handshake_ms)]" \
	"direct [] []"
nh_check "direct flow: handshake and handshake_ms null in JSON" jq -e \
	'select(.event == "end") | .handshake == null and .handshake_ms == null' "$PL/direct.json"

# --- scripted proxies ---------------------------------------------------------
# Closes on pipelined input: auto finds out (its probe is closed) and every
# connection works, stepwise.
pl_run pclose-auto "$PL_WAIT" 1 --proxy "socks5://$p:1101?pipeline=auto"
pl_ok pclose-auto 1 "$allstep"
pl_said pclose-auto "$p:1101" stepwise
nh_like "pclose-auto: the probe's pipelined request was closed" \
	"$(cat "$NH_TMP/pclose/log")" '^[0-9]+ pipelined [0-9]+ bytes: closing$'
# on, a program that waits before it speaks: nothing was sent early, so
# the relay retries stepwise on a new connection; the program sees nothing
rm -f "$NH_TMP/pclose/log"
nh_nethook c run --log "$PL/pclose-late.log" --proxy "socks5://$p:1101?pipeline=on" -- \
	python3 "$PL/get.py" "/small.txt?r=pclose-late" "$PL/pclose-late.out" 0.3 5
nh_is "pclose-on, program speaks late: retried stepwise, it works" "$?" 0
nh_is "pclose-on, program speaks late: served once" "$(pl_served pclose-late.small)" 1
nh_like "pclose-on, program speaks late: the proxy saw the pipelined try, then a stepwise one" \
	"$(awk '$2 == "pipelined" { p = 1 } $2 == "target" && p { print "retried" }' "$NH_TMP/pclose/log")" \
	'^retried$'
nh_is "pclose-on, program speaks late: end line ok" \
	"$(nh_tfield "$(nhp_log_end "$PL/pclose-late.log")" result)" ok
# on, curl (its request is there at once: optimistic, no retry possible):
# the first connection may fail (reset, with a detail); then the proxy is
# stepwise and the others work
pl_run pclose-on 0 1 --proxy "socks5://$p:1101?pipeline=on"
pl_bounded pclose-on 1 4
nh_is "pclose-on: after the first connection, all worked" "${pl_failed# }" \
	"$(printf '%s' "${pl_failed# }" | grep -x pclose-on-0.small)"
nh_like "pclose-on: after the first connection, all stepwise" \
	"$(pl_handshakes pclose-on)" '^[a-z-]+( stepwise)+$'

# Stalls on pipelined input (as microsocks).
pl_run pstall-auto "$PL_WAIT" 1 --proxy "socks5://$p:1102?pipeline=auto"
pl_ok pstall-auto 1 "$allstep"
pl_said pstall-auto "$p:1102" stepwise
pl_run pstall-on 0 0 --connect-timeout 2 --proxy "socks5://$p:1102?pipeline=on"
pl_bounded pstall-on 0 4

# Replies a byte at a time: works in every mode, with and without auth.
pl_run split-off 0 1 --proxy "socks5://u:p@$p:1103?pipeline=off"
pl_ok split-off 1 "$allstep"
pl_run split-on 0 1 --proxy "socks5://u:p@$p:1103?pipeline=on"
pl_ok split-on 1 "$allpipe"
pl_run split-on-noauth 0 1 --proxy "socks5://$p:1103?pipeline=on"
pl_ok split-on-noauth 1 "$allpipe"
pl_run split-auto "$PL_WAIT" 1 --proxy "socks5://u:p@$p:1103?pipeline=auto"
pl_ok split-auto 1 "$learns"

# Answers before the request (the greeting's and the request's replies in
# one segment, right after the greeting).  Pipelined, the whole request
# has gone by then: it works.  Stepwise, the request's reply comes before
# the request was sent, which nethook has always taken for garbage
# ("sent data before the request was complete"): a clear failure, at once.
# auto: the first connection is stepwise, the probe finds the pipelined
# request answered properly, and the others work.
pl_run early-off 0 1 --proxy "socks5://$p:1104?pipeline=off"
pl_bounded early-off 1 4
pl_run early-on 0 1 --proxy "socks5://$p:1104?pipeline=on"
pl_ok early-on 1 "$allpipe"
pl_run early-on-auth 0 1 --proxy "socks5://u:p@$p:1104?pipeline=on"
pl_ok early-on-auth 1 "$allpipe"
pl_run early-auto "$PL_WAIT" 1 --proxy "socks5://u:p@$p:1104?pipeline=auto"
pl_bounded early-auto 1 4
nh_is "early-auto: after the first connection, all worked" "${pl_failed# }" \
	"$(printf '%s' "${pl_failed# }" | grep -x early-auto-0.small)"
nh_like "early-auto: after the first connection, pipelined" \
	"$(pl_handshakes early-auto)" '^[a-z-]+( (pipelined|optimistic))+$'

# Drops what came with the request.  on: the program's optimistic first
# bytes are lost (that is the risk auto exists to avoid): its request never
# reaches the server and it waits for an answer that never comes.  auto:
# the probe's nested greeting is lost, so nethook never sends data early
# there, and every connection works.
rm -f "$NH_TMP/odisc/log"
nh_nethook c run --log "$PL/odisc-on.log" --proxy "socks5://$p:1105?pipeline=on" -- \
	python3 "$PL/get.py" "/small.txt?r=odisc-on" "$PL/odisc-on.out" 0 3 2>/dev/null
rc=$?
hs=$(nh_tfield "$(nhp_log_end "$PL/odisc-on.log")" handshake)
dropped=$(awk '$2 == "discarded" { s += $3 } END { print s + 0 }' "$NH_TMP/odisc/log")
echo "# odisc-on: handshake=$hs, program exit $rc, the proxy dropped $dropped bytes" \
	"of the program's, the server saw the request $(pl_served odisc-on.small) times"
pl_found[odisc-on]="$hs (program exit $rc, $dropped bytes dropped)"
if [ "$hs" = optimistic ]; then
	nh_check "odisc-on, optimistic: the proxy dropped the early bytes, the request was lost" \
		test "$dropped" -gt 0 -a "$(pl_served odisc-on.small)" = 0 -a "$rc" -ne 0
else
	nh_check "odisc-on, $hs: nothing dropped, it works" \
		test "$dropped" = 0 -a "$rc" = 0
fi
pl_run odisc-auto "$PL_WAIT" "$rounds" --proxy "socks5://$p:1105?pipeline=auto"
pl_ok odisc-auto "$rounds" '^stepwise( pipelined)+$'
pl_said odisc-auto "$p:1105" pipelin
nh_unlike "odisc-auto: not said optimistic" \
	"$(grep "$p:1105" "$PL/odisc-auto.err")" optimistic

# Refuses after the optimistic data came: the program's connection is
# reset, nothing reaches the server, the proxy got the bytes, and nothing
# was sent twice (one proxy connection per program connection).
rm -f "$NH_TMP/oref/log"
n_before=$(wc -l <"$access")
nh_nethook c run --log "$PL/oref.log" --proxy "socks5://$p:1106?pipeline=on" -- \
	sh -c "for i in 1 2 3; do python3 $PL/get.py '/small.txt?r=oref-'\$i $PL/oref-\$i.out 0 5 ||
		echo failed >>$PL/oref.rc; done" 2>/dev/null
nh_is "oref: the program saw each of its 3 connections fail" \
	"$(grep -c failed "$PL/oref.rc" 2>/dev/null)" 3
nh_is "oref: the web server saw nothing" "$(wc -l <"$access")" "$n_before"
ends=$(nhp_log_end "$PL/oref.log")
nh_is "oref: 3 end lines, each result=error with the refusal" \
	"$(printf '%s\n' "$ends" | grep -c "result=error .*detail=\"socks5 reply 0x05 connection refused from $p:1106\"")" 3
opt=$(printf '%s\n' "$ends" | grep -c ' handshake=optimistic ')
early=$(awk '$2 == "early" && $3 > 0 { n++ } END { print n + 0 }' "$NH_TMP/oref/log")
echo "# oref: $opt of 3 connections optimistic; the proxy got early bytes on $early"
pl_found[oref]="$opt of 3 optimistic"
nh_is "oref: the proxy got early bytes on each optimistic connection" "$early" "$opt"
nh_check "oref: at least one connection was optimistic" test "$opt" -ge 1
nh_is "oref: one proxy connection per program connection (no retry)" \
	"$(awk '$2 == "opt-refuse" { n++ } END { print n + 0 }' "$NH_TMP/oref/log")" 3

# --- what each proxy took -------------------------------------------------------
echo "# handshakes seen (in connection order):"
for t in $(printf '%s\n' "${!pl_found[@]}" | sort); do
	echo "#   $t: ${pl_found[$t]}"
done

nh_done
