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
# of the proxy; the program waits PL_WAIT s before the next ones.  Last,
# a distant proxy (nethook packet --delay 25 in p): the round trips
# saved show in handshake_ms and in curl's time to the first byte.
#
# What the real peers took (Debian 12: dante 1.4.2, squid 5.7, tinyproxy
# 1.11.1, OpenSSH 9.2, microsocks 1.0.3):
#   dante, with and without username: pipelined and optimistic data
#   ssh -D: pipelined and optimistic data
#   (auto: dante refuses the probe's tunnel to itself as a loop, so
#     it learns pipelined only; on gives optimistic data)
#   tinyproxy, squid: optimistic data (the CONNECT is one request
#     already) when they may CONNECT to their own port, which auto's
#     probe needs; with CONNECT limited to other ports (tinyproxy's
#     ConnectPort, squid's usual SSL_ports rule) auto learns pipelined
#     only
#   microsocks: neither (one step per recv, the rest dropped): auto stays
#     stepwise, on fails each connection at --connect-timeout
# With a peer on the same link, whether a connection is optimistic or
# only pipelined depends on whether the program's bytes came before the
# first hop answered the TCP handshake: both are taken.

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
# nethook's probe asks the proxy for a tunnel to itself: tp, tpauth and
# the squids may CONNECT to their own port (and tp to dauth's, for the
# chain); tpdef keeps tinyproxy's usual ports only
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
# takes the probe (and the first connection), then closes on pipelined input
nhp_fake flip "$NHP_P4" 1107 good,good,pipe-close "$life"

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

# The program of every run: TAG WAIT ROUNDS KIND.  GET small.txt (TAG-0),
# sleep WAIT, then ROUNDS times GET small.txt and, unless KIND is small,
# GET big.bin and PUT 1 MiB; each curl's exit status in $PL/TAG.rc, the
# time to the first byte of the later GETs of small.txt (s) in
# $PL/TAG.ttfb.
cat >"$PL/prog.sh" <<EOF
t=\$1 w=\$2 n=\$3 k=\$4 d=$PL
curl -sS -m 10 -o "\$d/\$t-0.small" "$web/small.txt?r=\$t-0"
echo "\$t-0.small \$?" >>"\$d/\$t.rc"
sleep "\$w"
i=1
while [ "\$i" -le "\$n" ]; do
	curl -sS -m 10 -o "\$d/\$t-\$i.small" -w '%{time_starttransfer}\n' \
		"$web/small.txt?r=\$t-\$i" >>"\$d/\$t.ttfb"
	echo "\$t-\$i.small \$?" >>"\$d/\$t.rc"
	if [ "\$k" != small ]; then
		curl -sS -m 10 -o "\$d/\$t-\$i.big" "$web/big.bin?r=\$t-\$i"
		echo "\$t-\$i.big \$?" >>"\$d/\$t.rc"
		curl -sSf -m 10 -H Expect: -T "\$d/up.bin" -o /dev/null "$web/up/\$t-\$i.bin"
		echo "\$t-\$i.up \$?" >>"\$d/\$t.rc"
	fi
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
pl_kind=full		# what the program does each round (prog.sh)

# pl_run TAG WAIT ROUNDS RUN-ARGS...: nethook run -v RUN-ARGS (in c) with
# the program above; log $PL/TAG.log, nethook's stderr $PL/TAG.err.
pl_run() {
	local t=$1 w=$2 n=$3
	shift 3
	rm -f "$PL/$t".* "$PL/$t"-*
	nh_nethook c run -v --log "$PL/$t.log" "$@" -- sh "$PL/prog.sh" "$t" "$w" "$n" "$pl_kind" \
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
		if [ "$pl_kind" = small ]; then
			echo "$1-$i.small"
		else
			echo "$1-$i.small $1-$i.big $1-$i.up"
		fi
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
	want=$(pl_names "$t" "$n" | wc -l)
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

# pl_said TAG HOSTPORT opt|pipe|step: nethook -v said once what it learnt
# of the proxy at HOSTPORT ("nethook: proxy URL: ...", no credential):
# optimistic data, pipelined handshakes only, or one step at a time.
said_opt='takes pipelined handshakes and optimistic data'
said_pipe='takes pipelined handshakes; optimistic data off'
said_step='handshakes one step per round trip'
pl_said() {
	local lines re
	case $3 in
	opt) re=$said_opt ;;
	pipe) re=$said_pipe ;;
	step) re=$said_step ;;
	esac
	lines=$(grep -E "^nethook: proxy [a-z0-9]+://$2[: ]" "$PL/$1.err")
	nh_is "$1: -v says once what nethook learnt of $2" \
		"$(printf '%s\n' "$lines" | awk 'NF { n++ } END { print n + 0 }')" 1
	nh_like "$1: ... $re" "$lines" "$re"
	pl_said[$1:$2]=$(printf '%s\n' "$lines" | sed 's/^nethook: proxy //' | head -n 1)
	nh_unlike "$1: no credential on stderr" "$(cat "$PL/$1.err")" \
		"$user|$pass|msuser|tpuser|squser"
}
declare -A pl_said

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
	pl_ends "$t" | sed -n 's/.* result=error .*detail="\(.*\)"$/#   failed: \1/p' | sort -u
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
# What auto learns: opt (optimistic data too) from a proxy that tunnels
# to itself for nethook's probe; pipe (pipelined only) from one that
# will not (dante refuses it as a loop).
for spec in "dante socks5://$p:1080 $p:1080 pipe" "dauth $dauth_url $p:1082 pipe" \
	"ssh socks5://$p:1085 $p:1085 opt" "squid http://$p:3128 $p:3128 opt" \
	"squida $squida_url $p:3129 opt" "tp http://$p:8888 $p:8888 opt" \
	"tpauth $tpauth_url $p:8889 opt"; do
	read -r name url hp learn <<<"$spec"
	if nh_quick && [[ $name == @(squida|tpauth) ]]; then
		nh_skip "$name: pipeline=off, on, auto" "NH_QUICK"
		continue
	fi
	pl_run "$name-off" 0 "$rounds" --proxy "$url?pipeline=off"
	pl_ok "$name-off" "$rounds" "$allstep"
	pl_run "$name-on" 0 "$rounds" --proxy "$url?pipeline=on"
	pl_ok "$name-on" "$rounds" "$allpipe"
	pl_run "$name-auto" "$PL_WAIT" "$rounds" --proxy "$url?pipeline=auto"
	if [ "$learn" = opt ]; then
		pl_ok "$name-auto" "$rounds" "$learns"
	else
		pl_ok "$name-auto" "$rounds" '^stepwise( pipelined)+$'
	fi
	pl_said "$name-auto" "$hp" "$learn"
done

# The default is auto.
pl_run dante-default "$PL_WAIT" 1 --proxy "socks5://$p:1080"
pl_ok dante-default 1 "$learns"

# tinyproxy with its usual ports will not tunnel to itself: pipelined
# only.
pl_run tpdef-auto "$PL_WAIT" 1 --proxy "http://$p:8887?pipeline=auto"
pl_ok tpdef-auto 1 '^stepwise( pipelined)+$'
pl_said tpdef-auto "$p:8887" pipe

# --- microsocks: stalls on pipelined input ----------------------------------
# auto must find out and stay stepwise; on fails (or is retried), bounded
# by --connect-timeout.
for spec in "ms socks5://$p:1081 $p:1081" "msauth $msauth_url $p:1083"; do
	read -r name url hp <<<"$spec"
	pl_run "$name-off" 0 "$rounds" --proxy "$url?pipeline=off"
	pl_ok "$name-off" "$rounds" "$allstep"
	pl_run "$name-auto" "$PL_WAIT" "$rounds" --proxy "$url?pipeline=auto"
	pl_ok "$name-auto" "$rounds" "$allstep"
	pl_said "$name-auto" "$hp" step
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
	auto)
		# (the program's bytes go with the last hop's request: dante's)
		pl_ok "chain-$m" "$rounds" '^stepwise( pipelined)+$'
		pl_said chain-auto "$p:8888" opt
		pl_said chain-auto "$p:1082" pipe
		;;
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
pl_said pclose-auto "$p:1101" step
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
# on, curl: a connection whose request went with the flight (optimistic)
# cannot be tried again: reset at once, with a detail; one that had none
# yet is tried again and works.  on never falls back for the run.
pl_run pclose-on 0 1 --proxy "socks5://$p:1101?pipeline=on"
pl_bounded pclose-on 1 4

# Stalls on pipelined input (as microsocks).
pl_run pstall-auto "$PL_WAIT" 1 --proxy "socks5://$p:1102?pipeline=auto"
pl_ok pstall-auto 1 "$allstep"
pl_said pstall-auto "$p:1102" step
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

# Drops what came with the request: auto's probe finds its token lost, so
# nethook never sends the program's bytes early there, and every
# connection works (pipelined).  (on: below, where it is sure to lose.)
pl_run odisc-auto "$PL_WAIT" "$rounds" --proxy "socks5://$p:1105?pipeline=auto"
pl_ok odisc-auto "$rounds" '^stepwise( pipelined)+$'
pl_said odisc-auto "$p:1105" pipe

# --- a distant proxy -------------------------------------------------------------
# nethook packet --delay in p holds every packet from p to the client 25
# ms: each round trip to the proxies costs 25 ms more.  The program's
# first bytes are then always there before the first hop answers: on
# means optimistic, and what it saves shows.
. "$(dirname "$0")/packet.sh"
rtt=25
pkd=
if NH_TIMEOUT=400 nh_pkt_bg pkd "$PL/delay.err" p --delay "$rtt" --filter "dst host $NHP_C4"; then
	far=1
else
	far=
	nh_skip "distant proxy" "nethook packet --delay did not start"
fi

# pl_ms TAG HANDSHAKE: the handshake_ms of the end lines with it, sorted.
pl_ms() {
	pl_ends "$1" | awk -v h="$2" 'index($0, " handshake=" h " ") {
		m = $0; sub(/.* handshake_ms=/, "", m); sub(/ .*/, "", m); print m }' | sort -n
}

# pl_median: the median of the numbers read, one a line.
pl_median() {
	sort -n | awk '{ v[n++] = $1 } END { if (n) print v[int((n - 1) / 2)] }'
}

# pl_atleast TAG HANDSHAKE ROUNDTRIPS: each of those handshakes took that
# many round trips at least (it cannot take fewer: handshake_ms measures
# what it says), less 5 ms (the delay's own precision, and a busy host).
pl_atleast() {
	local got
	got=$(pl_ms "$1" "$2" | paste -sd ' ')
	echo "# $1: $2 handshake_ms: $got"
	nh_check "$1: $2 handshakes took $3 round trips at least (${got:-none})" \
		awk -v l=$(($3 * rtt - 5)) -v g="$got" \
		'BEGIN { n = split(g, v, " "); for (i = 1; i <= n; i++) if (v[i] < l) b++; exit !(n && !b) }'
}

# pl_saves NAME STEP-TAG PIPE-TAG ROUNDTRIPS: the median handshake of
# PIPE-TAG (pipelined or optimistic) is shorter than STEP-TAG's by that
# many round trips, give or take 40% (dante's password check alone takes
# 10-20 ms, and varies).
pl_saves() {
	local a b
	a=$(pl_ms "$2" stepwise | pl_median)
	b=$({ pl_ms "$3" pipelined; pl_ms "$3" optimistic; } | pl_median)
	nh_check "$1: one flight saves $4 round trip(s) of $rtt ms (median handshake $a -> $b ms)" \
		awk -v a="$a" -v b="$b" -v n="$4" -v r="$rtt" \
		'BEGIN { exit !(a != "" && b != "" && a - b >= n * r * 0.6) }'
}

if [ -n "$far" ]; then
	# small requests only (GET small.txt), more of them
	pl_kind=small
	fr=6
	nh_quick && fr=3
	# SOCKS5 without auth: stepwise 3 round trips (TCP, greeting,
	# CONNECT), pipelined 2 (TCP, the flight)
	pl_run far-off 0 "$fr" --proxy "socks5://$p:1080?pipeline=off"
	pl_ok far-off "$fr" "$allstep"
	pl_atleast far-off stepwise 3
	pl_run far-on 0 "$fr" --proxy "socks5://$p:1080?pipeline=on"
	pl_ok far-on "$fr" '^optimistic( optimistic)*$'
	pl_atleast far-on optimistic 2
	pl_saves far far-off far-on 1
	# time to the first byte: one round trip for the answer on top
	a=$(pl_median <"$PL/far-off.ttfb")
	b=$(pl_median <"$PL/far-on.ttfb")
	echo "# far: time to first byte, median: stepwise $a s, optimistic $b s"
	nh_check "far: optimistic saves two round trips to the first byte ($a s -> $b s)" \
		awk -v a="$a" -v b="$b" -v r="$rtt" 'BEGIN { exit !(a - b >= 1.5 * r / 1000) }'
	# auto learns optimistic data from ssh -D (its probe's wait grows
	# with the round trip)
	pl_run far-auto "$PL_WAIT" "$fr" --proxy "socks5://$p:1085?pipeline=auto"
	pl_ok far-auto "$fr" '^stepwise( optimistic)+$'
	pl_said far-auto "$p:1085" opt
	# with username/password: 4 against 2
	pl_run far-auth-off 0 "$fr" --proxy "$dauth_url?pipeline=off"
	pl_ok far-auth-off "$fr" "$allstep"
	pl_atleast far-auth-off stepwise 4
	pl_run far-auth-on 0 "$fr" --proxy "$dauth_url?pipeline=on"
	pl_ok far-auth-on "$fr" '^optimistic( optimistic)*$'
	pl_atleast far-auth-on optimistic 2
	pl_saves far-auth far-auth-off far-auth-on 2
	# --handoff: pipelined, never optimistic
	pl_run far-ho-off 0 "$fr" --handoff --proxy "socks5://$p:1080?pipeline=off"
	pl_ok far-ho-off "$fr" "$allstep"
	pl_atleast far-ho-off stepwise 3
	pl_run far-ho-on 0 "$fr" --handoff --proxy "socks5://$p:1080?pipeline=on"
	pl_ok far-ho-on "$fr" '^pipelined( pipelined)*$'
	pl_atleast far-ho-on pipelined 2
	pl_saves far-handoff far-ho-off far-ho-on 1
	# an upload: the program's first bytes fill the flight (16 KiB at
	# most); the tunnel still opens in two round trips
	rm -f "$PL/far-put.log" "$PL/far-put.rc"
	nh_nethook c run --log "$PL/far-put.log" --proxy "socks5://$p:1080?pipeline=on" -- \
		sh -c "for i in 1 2 3; do curl -sSf -m 10 -H Expect: -T $PL/up.bin -o /dev/null \
			$web/up/far-put-\$i.bin || echo failed >>$PL/far-put.rc; done"
	bad=''
	for i in 1 2 3; do
		cmp -s "$(nh_www web)/up/far-put-$i.bin" "$PL/up.bin" || bad+=" $i"
	done
	nh_is "far-put: 3 uploads of 1 MiB stored whole" "$bad$(cat "$PL/far-put.rc" 2>/dev/null)" ""
	pl_found[far-put]=$(pl_handshakes far-put)
	got=$(pl_ms far-put optimistic | paste -sd ' ')
	echo "# far-put: optimistic handshake_ms: $got"
	nh_check "far-put: optimistic handshakes of uploads took under 3 round trips ($got)" \
		awk -v h=$((3 * rtt)) -v g="$got" \
		'BEGIN { n = split(g, v, " "); for (i = 1; i <= n; i++) if (v[i] >= h) b++; exit !(n == 3 && !b) }'
	# microsocks: auto waits a few round trips for it, then stays stepwise
	pl_run far-ms-auto "$PL_WAIT" "$fr" --proxy "socks5://$p:1081?pipeline=auto"
	pl_ok far-ms-auto "$fr" "$allstep"
	pl_said far-ms-auto "$p:1081" step
	# a chain (the second hop's bytes cross the far link in the first's
	# tunnel): stepwise 5 round trips (TCP, CONNECT, greeting, auth,
	# CONNECT), each hop in one flight 3
	pl_run far-chain-off 0 "$fr" --proxy "$tp?pipeline=off" --proxy "$dauth_url?pipeline=off"
	pl_ok far-chain-off "$fr" "$allstep"
	pl_atleast far-chain-off stepwise 5
	pl_run far-chain-on 0 "$fr" --proxy "$tp?pipeline=on" --proxy "$dauth_url?pipeline=on"
	pl_ok far-chain-on "$fr" '^optimistic( optimistic)*$'
	pl_atleast far-chain-on optimistic 3
	pl_saves far-chain far-chain-off far-chain-on 2

	# Closes on pipelined input, on: curl's request goes with the flight,
	# so no connection can be tried again: each is reset, with a detail,
	# and its request never reaches the server
	rm -f "$NH_TMP/pclose/log"
	pl_run far-pclose-on 0 2 --proxy "socks5://$p:1101?pipeline=on"
	pl_bounded far-pclose-on 2 4
	nh_is "far-pclose-on: every connection reset" "${pl_failed# }" \
		"$(pl_names far-pclose-on 2 | paste -sd ' ')"
	pl_kind=full

	# auto learnt optimistic data from the probe, then the proxy closes on
	# a pipelined request that carried none of the program's bytes (it
	# spoke late): that connection is tried again stepwise and works, and
	# the proxy goes stepwise for the rest of the run, so the next one,
	# whose bytes are there at once, is stepwise too and works
	rm -f "$PL/flip.log" "$PL/flip.rc" "$PL/flip.err"
	nh_nethook c run -v --log "$PL/flip.log" --proxy "socks5://$p:1107?pipeline=auto" -- \
		sh -c "g() { python3 $PL/get.py '/small.txt?r=flip-'\$1 $PL/flip-\$1.out \$2 5 ||
			echo \$1 failed >>$PL/flip.rc; }
			g 1 0; sleep $PL_WAIT; g 2 0.3; g 3 0; g 4 0" 2>"$PL/flip.err"
	hs=$(pl_handshakes flip)
	pl_found[flip]="$hs"
	echo "# flip: handshakes: $hs; $(grep "$p:1107" "$PL/flip.err" | sed 's/^nethook: //' | paste -sd '|')"
	nh_is "flip: all 4 connections worked" "$(cat "$PL/flip.rc" 2>/dev/null)" ""
	nh_like "flip: -v says pipelined handshakes are off for the rest of the run" \
		"$(cat "$PL/flip.err")" "^nethook: proxy socks5://$p:1107: pipelined handshakes off for the rest of the run"
	nh_like "flip: stepwise after the failure" "$hs" '^stepwise [a-z]+ stepwise stepwise$'

	# Drops what came with the request, on: the program's request is lost
	# (the risk auto exists to avoid); it waits for an answer that never
	# comes (3 s, its own timeout)
	rm -f "$NH_TMP/odisc/log"
	nh_nethook c run --log "$PL/odisc-on.log" --proxy "socks5://$p:1105?pipeline=on" -- \
		python3 "$PL/get.py" "/small.txt?r=odisc-on" "$PL/odisc-on.out" 0 3 2>/dev/null
	rc=$?
	line=$(nhp_log_end "$PL/odisc-on.log")
	dropped=$(awk '$2 == "discarded" { s += $3 } END { print s + 0 }' "$NH_TMP/odisc/log")
	echo "# odisc-on: $(nh_tfield "$line" handshake), program exit $rc," \
		"the proxy dropped $dropped bytes of the program's, the server saw the request" \
		"$(pl_served odisc-on.small) times, end line result=$(nh_tfield "$line" result)"
	pl_found[odisc-on]="$(nh_tfield "$line" handshake), program exit $rc, $dropped bytes dropped"
	nh_is "odisc-on: the tunnel opened optimistic" "$(nh_tfield "$line" handshake)" optimistic
	nh_check "odisc-on: the proxy dropped the early bytes, the request was lost, the program failed" \
		test "$dropped" -gt 0 -a "$(pl_served odisc-on.small)" = 0 -a "$rc" -ne 0

	# Refuses after the optimistic data came: the program's connection is
	# reset, nothing reaches the server, the proxy got the bytes, nothing
	# was sent twice (one proxy connection per program connection)
	rm -f "$NH_TMP/oref/log" "$PL/oref.rc"
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
	early=$(awk '$2 == "early" && $3 > 0 { n++ } END { print n + 0 }' "$NH_TMP/oref/log")
	nh_is "oref: the proxy got the program's bytes early on each" "$early" 3
	nh_is "oref: one proxy connection per program connection (no retry)" \
		"$(awk '$2 == "opt-refuse" { n++ } END { print n + 0 }' "$NH_TMP/oref/log")" 3
	# the end line of a refused connection says the program's bytes went
	nh_is "oref: the end lines say handshake=optimistic" \
		"$(printf '%s\n' "$ends" | grep -c ' handshake=optimistic ')" 3
	pl_found[oref]="$(printf '%s\n' "$ends" | grep -c ' handshake=optimistic ') of 3 end lines optimistic; early bytes at the proxy on $early"
	nh_pkt_stop "$pkd"
fi

# --- what each proxy took -------------------------------------------------------
echo "# handshakes seen (in connection order):"
for t in $(printf '%s\n' "${!pl_found[@]}" | sort); do
	echo "#   $t: ${pl_found[$t]}"
done
echo "# what nethook -v said it learnt:"
for t in $(printf '%s\n' "${!pl_said[@]}" | sort); do
	echo "#   $t: ${pl_said[$t]}"
done

nh_done
