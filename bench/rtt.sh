#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/rtt.sh: a distant proxy (issue 15).  Time to first byte and new
# connections per second through a SOCKS5 server one added round trip
# away, nethook (relay and --handoff, ?pipeline=off and the default auto)
# against proxychains4, in one run.
#
# The world: three namespaces in a row, documentation addresses only, no
# route out of the machine:
#   client 192.0.2.1 -- veth -- proxy host 192.0.2.10 | 198.51.100.1
#                                            -- veth -- target 198.51.100.7
# The client's only route is the 192.0.2.0/24 link and the proxy host
# does not forward: the target (nginx, a 100-byte /s.txt) is reached
# through the proxy only.  Its name, web.proxyside.example, is in the
# proxy host's hosts file only (ip netns exec, /etc/netns/NS/): only the
# proxy host resolves it.  The proxy host runs dante twice, as SOCKS5:
# 192.0.2.10:1080 without authentication, :1081 with username/password (a
# throwaway system user with a cheap SHA-512 hash, removed at the end),
# and a twin of the target's nginx on 192.0.2.10:80 ("direct": a server
# as far away as the proxy, for scale).
#
# The added round trip: `nethook packet --dir out --filter 'dst host
# 192.0.2.1' --delay RTT` in the proxy host's namespace holds every packet
# the proxy host sends to the client for RTT ms (none at 0 ms), so every
# round trip between client and proxy gains RTT once; the proxy's own leg
# to the target is not delayed.  Before each RTT's samples, the time of a
# TCP connect() from the client to the proxy (relayc ping) is measured and
# printed; it is the RTT the round-trip counts divide by.
#
# Variants (each one `nethook run` for all of a variant's figures at one
# RTT; the log's `end` lines give the handshake mode of every connection
# measured, which is printed beside each figure):
#   relay off     nethook run --proxy 'socks5://SOCKS?pipeline=off' -- CMD
#   relay auto    nethook run --proxy socks5://SOCKS -- CMD (the default:
#                 measured after a warm-up that waits, bounded, for an
#                 end line saying pipelined or optimistic: the probe done)
#   relay on      nethook run --proxy 'socks5://SOCKS?pipeline=on' -- CMD
#                 (optimistic from the first connection: what auto cannot
#                 learn of a proxy that will not tunnel to itself, as
#                 dante)
#   handoff off   the same with --handoff
#   handoff auto
#   proxychains4  proxychains4 -q -f CONF CMD (strict_chain, proxy_dns,
#                 remote_dns_subnet 224)
#   direct        CMD alone, to the web server on the proxy host (no auth,
#                 by address only)
# Figures, for each RTT, without and with authentication:
#   time to first byte: relayc ttfb -n N (connect() to the first byte of
#     the reply, one request after the other): median and p99.  N is
#     --ttfb at 0 ms and fewer at larger RTTs (a proxychains4 sample
#     takes about --ttfb-budget seconds), at least 5;
#   new connections per second, one request each: relayc rate -w W -d S
#     (W workers, each connect, GET, reply to EOF, close), by address
#     (198.51.100.7) and by name (web.proxyside.example, looked up for
#     each connection: nethook's resolver or proxychains4's proxy_dns).
# Each figure is also printed as a count of round trips (figure / the
# measured RTT; for rates, the p50 latency of one connection / RTT), as a
# ratio to proxychains4, and against the round trips the textbook and
# the pipelined handshakes need.  Then the goal of issue 15: nethook's
# time to first byte (the relay, default) at most proxychains4's minus
# two round trips (no auth), and at least level at 0 ms.
# No timing asserts: it reports numbers.  Until nethook accepts
# ?pipeline=, the off and on variants run without it and say so.
#
# usage: bench/rtt.sh [--quick] [--rtt LIST] [--ttfb N] [--ttfb-budget S]
#                     [--secs S] [--workers W] [--keep DIR]
#                     [--nethook PATH]
#   --rtt LIST     added round trips in ms (0,20,80)
#   --ttfb N       requests for time to first byte at 0 ms (200)
#   --ttfb-budget S  at RTT R: N = min(--ttfb, S / (4 R)), at least 5 (5)
#   --secs S       each connection-rate sample (3)
#   --workers W    connection-rate workers (4)
#   --keep DIR     keep the samples, nethook's logs and dante's logs there
#   --quick        under 2 minutes (about 95 s): --rtt 0,80 --ttfb 50
#                  --ttfb-budget 1 --secs 1
#   defaults: about 6 minutes
#
# Needs root.  Creates network namespaces nhr<PID>c, nhr<PID>p and
# nhr<PID>t (veth pairs, documentation addresses only, no route out),
# /etc/netns/nhr<PID>c and /etc/netns/nhr<PID>p, a cgroup nhr<PID>socks
# for dante, a system user nhr<PID>, and removes them, and every process
# it started (by pid), on every exit path.  nethook packet's netfilter
# rules live in nhr<PID>p only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
NETHOOK=$TOP/build/src/cli/nethook
RTTS=0,20,80
RTTS_SET=''
TTFB_N=200 TTFB_BUDGET=5 SECS=3 WORKERS=4
QUICK=0
KEEP=
TTFB_SET='' BUDGET_SET='' SECS_SET=''

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rtt) RTTS_SET=${2:-}; shift ;;
	--ttfb) TTFB_SET=${2:-}; shift ;;
	--ttfb-budget) BUDGET_SET=${2:-}; shift ;;
	--secs) SECS_SET=${2:-}; shift ;;
	--workers) WORKERS=${2:-}; shift ;;
	--nethook) NETHOOK=${2:-}; shift ;;
	--keep) KEEP=${2:-}; shift ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "rtt.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	RTTS=0,80 TTFB_N=50 TTFB_BUDGET=1 SECS=1
fi
RTTS=${RTTS_SET:-$RTTS}
TTFB_N=${TTFB_SET:-$TTFB_N}
TTFB_BUDGET=${BUDGET_SET:-$TTFB_BUDGET}
SECS=${SECS_SET:-$SECS}
[[ $RTTS =~ ^[0-9]+(,[0-9]+)*$ ]] ||
	{ echo "rtt.sh: --rtt: MS[,MS...]" >&2; exit 2; }
for r in ${RTTS//,/ }; do
	[ "$r" -le 1000 ] || { echo "rtt.sh: --rtt: at most 1000 ms" >&2; exit 2; }
done
[[ $TTFB_N =~ ^[0-9]+$ ]] && [ "$TTFB_N" -ge 5 ] && [ "$TTFB_N" -le 10000 ] ||
	{ echo "rtt.sh: --ttfb: 5 to 10000" >&2; exit 2; }
[[ $TTFB_BUDGET =~ ^[0-9]+$ ]] && [ "$TTFB_BUDGET" -ge 1 ] && [ "$TTFB_BUDGET" -le 60 ] ||
	{ echo "rtt.sh: --ttfb-budget: 1 to 60" >&2; exit 2; }
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 30 ] ||
	{ echo "rtt.sh: --secs: 1 to 30" >&2; exit 2; }
[[ $WORKERS =~ ^[0-9]+$ ]] && [ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le 64 ] ||
	{ echo "rtt.sh: --workers: 1 to 64" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "rtt.sh: needs root (network namespaces, BPF, a user)" >&2; exit 2; }

# ---- what it needs ----
need=0
for c in nginx cc proxychains4 iptables danted useradd chpasswd; do
	command -v "$c" >/dev/null || need=1
done
if [ "$need" = 1 ]; then
	echo "rtt.sh: installing the bench packages (scripts/deps.sh bench)" >&2
	"$TOP/scripts/deps.sh" bench >&2
fi
if [ ! -x "$NETHOOK" ]; then
	echo "rtt.sh: building nethook" >&2
	"$TOP/scripts/build.sh" build >&2
fi
CG_ROOT=
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ -f "$d/cgroup.procs" ] && [ -f "$d/cgroup.controllers" ] && { CG_ROOT=$d; break; }
done
[ -n "$CG_ROOT" ] || { echo "rtt.sh: no cgroup v2 mount" >&2; exit 1; }

# ---- the world, and its removal ----
ID=nhr$$
NSC=${ID}c               # client: 192.0.2.1
NSP=${ID}p               # proxy host: dante 192.0.2.10:1080/1081, nginx 192.0.2.10:80
NST=${ID}t               # target: nginx 198.51.100.7:80
CG=$CG_ROOT/${ID}socks   # dante and its children
TMP=$(mktemp -d "/tmp/${ID}.XXXXXX")
MADE_NETNS_DIR=0
[ -d /etc/netns ] || MADE_NETNS_DIR=1
PIDS=()                  # the long-running processes we started
CUR=                     # the sample running now (timeout's pid)
PKT=                     # nethook packet (timeout's pid)
KILLED_NETHOOK=0
USER_MADE=
TARGET=198.51.100.7
PROXY=192.0.2.10
NAME=web.proxyside.example   # known to the proxy host only
PORT_NOAUTH=1080
PORT_AUTH=1081

stop() {  # stop PID: TERM, wait; timeout passes TERM on to nethook
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$CUR" ] && kill -0 "$CUR" 2>/dev/null; then
		stop "$CUR"
		KILLED_NETHOOK=1
	fi
	if [ -n "$PKT" ] && kill -0 "$PKT" 2>/dev/null; then
		stop "$PKT"
	fi
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ "$KILLED_NETHOOK" = 1 ] && "$NETHOOK" cleanup >/dev/null 2>&1
	if [ -f "$CG/cgroup.procs" ]; then
		for p in $(cat "$CG/cgroup.procs"); do kill -TERM "$p" 2>/dev/null; done
		# (cgroup files report size 0: read them, do not test -s)
		for _ in $(seq 25); do
			[ -n "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] || break
			sleep 0.2
		done
		rmdir "$CG" 2>/dev/null ||
			echo "rtt.sh: could not remove $CG: $(cat "$CG/cgroup.procs" | tr '\n' ' ')" >&2
	fi
	if [ -n "$USER_MADE" ] && id "$USER_MADE" >/dev/null 2>&1; then
		userdel "$USER_MADE" 2>/dev/null || echo "rtt.sh: could not remove user $USER_MADE" >&2
	fi
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp -a "$TMP/r" "$TMP"/danted-* "$TMP"/pkt.err "$KEEP"/ 2>/dev/null
	fi
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSP" 2>/dev/null
	ip netns del "$NST" 2>/dev/null
	rm -rf "/etc/netns/$NSC" "/etc/netns/$NSP"
	[ "$MADE_NETNS_DIR" = 1 ] && rmdir /etc/netns 2>/dev/null
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cc -O2 -Wall -Wextra -pthread -o "$TMP/relayc" "$HERE/relayc.c"
RC=$TMP/relayc

# the throwaway user of dante's username method
USER_MADE=$ID
useradd -M -N -r -s /usr/sbin/nologin "$USER_MADE" ||
	{ USER_MADE=; echo "rtt.sh: cannot create user $ID" >&2; exit 1; }
PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# the cheapest hash chpasswd makes: dante checks the password with
# crypt(), and the default (yescrypt) costs ~15 ms of CPU a connection
echo "$USER_MADE:$PASS" | chpasswd -c SHA512 -s 1000

ip netns add "$NSC"
ip netns add "$NSP"
ip netns add "$NST"
# what the C library of each namespace reads (ip netns exec bind-mounts
# these over /etc/...): files, then DNS at 192.0.2.53 (nothing there)
for ns in "$NSC" "$NSP"; do
	mkdir -p "/etc/netns/$ns"
	echo "nameserver 192.0.2.53" >"/etc/netns/$ns/resolv.conf"
	printf 'hosts: files dns\n' >"/etc/netns/$ns/nsswitch.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$ns/hosts"
done
echo "$TARGET $NAME" >>"/etc/netns/$NSP/hosts"
for ns in "$NSC" "$NSP" "$NST"; do
	ip -n "$ns" link set lo up
done
ip -n "$NSC" link add c0 type veth peer name p0 netns "$NSP"
ip -n "$NSP" link add p1 type veth peer name t0 netns "$NST"
ip -n "$NSC" addr add 192.0.2.1/24 dev c0
ip -n "$NSP" addr add $PROXY/24 dev p0
ip -n "$NSP" addr add 198.51.100.1/24 dev p1
ip -n "$NST" addr add $TARGET/24 dev t0
ip -n "$NSC" link set c0 up
ip -n "$NSP" link set p0 up
ip -n "$NSP" link set p1 up
ip -n "$NST" link set t0 up
for ns in "$NSC" "$NSP" "$NST"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="10000 65000" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
		net.ipv4.tcp_max_syn_backlog=8192
done
ip netns exec "$NSP" sysctl -q -w net.ipv4.ip_forward=0
INC=(ip netns exec "$NSC")
INP=(ip netns exec "$NSP")
INT=(ip netns exec "$NST")

# ---- servers (ip netns exec execs them: $! is the server itself) ----
mkdir -p "$TMP/www"
head -c 100 /dev/zero | tr '\0' x >"$TMP/www/s.txt"
nginx_at() {  # nginx_at NS-EXEC-NAME ADDR: an nginx on ADDR:80
	local d=$TMP/nginx-$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<-EOF
	daemon off;
	master_process on;
	user root;
	worker_processes 2;
	pid $d/nginx.pid;
	error_log $d/error.log warn;
	events { worker_connections 8192; }
	http {
		access_log off;
		client_body_temp_path $d/body;
		proxy_temp_path $d/proxy;
		server {
			listen $2:80 backlog=8192;
			root $TMP/www;
		}
	}
	EOF
}
nginx_at t $TARGET
"${INT[@]}" nginx -p "$TMP/nginx-t" -e "$TMP/nginx-t/error.log" -c "$TMP/nginx-t/nginx.conf" \
	>"$TMP/nginx-t.out" 2>&1 &
PIDS+=($!)
nginx_at p $PROXY
"${INP[@]}" nginx -p "$TMP/nginx-p" -e "$TMP/nginx-p/error.log" -c "$TMP/nginx-p/nginx.conf" \
	>"$TMP/nginx-p.out" 2>&1 &
PIDS+=($!)

mkdir "$CG"
for port in $PORT_NOAUTH $PORT_AUTH; do
	method=none
	[ "$port" = $PORT_AUTH ] && method=username
	cat >"$TMP/danted-$port.conf" <<-EOF
	logoutput: $TMP/danted-$port.log
	errorlog: $TMP/danted-$port.err
	internal: $PROXY port = $port
	external: 198.51.100.1
	socksmethod: $method
	clientmethod: none
	user.privileged: root
	user.unprivileged: nobody
	client pass { from: 192.0.2.0/24 to: 0.0.0.0/0 }
	socks pass { from: 192.0.2.0/24 to: 0.0.0.0/0 }
	EOF
	# dante goes into its own cgroup before it starts (its children with it)
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
		"${INP[@]}" danted -f "$TMP/danted-$port.conf" -p "$TMP/danted-$port.pid" -N 2 \
		>"$TMP/socks-$port.out" 2>&1 &
	PIDS+=($!)
done

for auth in 0 1; do
	if [ "$auth" = 0 ]; then
		cred=''
	else
		cred=" $USER_MADE $PASS"
	fi
	cat >"$TMP/proxychains-$auth.conf" <<-EOF
	strict_chain
	proxy_dns
	remote_dns_subnet 224
	tcp_read_time_out 15000
	tcp_connect_time_out 8000
	[ProxyList]
	socks5 $PROXY $([ "$auth" = 0 ] && echo $PORT_NOAUTH || echo $PORT_AUTH)$cred
	EOF
done

listening() {  # listening NS PORT
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}
for _ in $(seq 100); do
	listening "$NST" 80 && listening "$NSP" 80 && listening "$NSP" $PORT_NOAUTH &&
		listening "$NSP" $PORT_AUTH && break
	sleep 0.1
done
for s in "$NST 80 nginx-t" "$NSP 80 nginx-p" "$NSP $PORT_NOAUTH socks-$PORT_NOAUTH" \
	"$NSP $PORT_AUTH socks-$PORT_AUTH"; do
	set -- $s
	listening "$1" "$2" || {
		echo "rtt.sh: $3 did not start" >&2
		cat "$TMP/$3.out" "$TMP/$3/error.log" 2>/dev/null | tail -5 >&2
		exit 1
	}
done
# the world as it should be: the target through the proxy only
if timeout 5 "${INC[@]}" "$RC" ttfb -n 1 $TARGET:80 /s.txt >/dev/null 2>&1; then
	echo "rtt.sh: the client reaches the target directly" >&2
	exit 1
fi
timeout 5 "${INP[@]}" "$RC" ttfb -n 1 $TARGET:80 /s.txt >/dev/null ||
	{ echo "rtt.sh: the proxy host cannot reach the target" >&2; exit 1; }

# ---- variants ----
# ?pipeline= once nethook takes it; before, the off variants are the
# default and the table says so
PIPE_OFF='?pipeline=off'
PIPE_ON='?pipeline=on'
PIPE_NOTE=
if ! timeout 20 "${INC[@]}" "$NETHOOK" run --proxy "socks5://$PROXY:$PORT_NOAUTH$PIPE_OFF" -- true \
	>/dev/null 2>"$TMP/pipe.err"; then
	PIPE_OFF=
	PIPE_ON=
	PIPE_NOTE="nethook did not take ?pipeline=off ($(head -1 "$TMP/pipe.err")): the off and on variants ran without it"
	echo "rtt.sh: $PIPE_NOTE" >&2
fi
VARIANTS=(relay-off relay-auto relay-on handoff-off handoff-auto proxychains4 direct)
label() {
	case $1 in
	relay-off) echo "relay off" ;;
	relay-auto) echo "relay auto" ;;
	relay-on) echo "relay on" ;;
	handoff-off) echo "handoff off" ;;
	handoff-auto) echo "handoff auto" ;;
	proxychains4) echo "proxychains4" ;;
	direct) echo "direct*" ;;
	esac
}
# expected VARIANT AUTH [MODES]: the round trips to the first byte the
# handshake needs (stepwise: TCP, greeting, [auth], CONNECT, request;
# pipelined: TCP, one flight, the request; optimistic: TCP and one flight
# with the request in it).  For nethook, the mode most of the figure's
# end lines say (MODES as modes() prints it).
expected() {
	local m=${3:-}
	case $1 in
	direct) echo 2; return ;;
	proxychains4) echo $((4 + $2)); return ;;
	esac
	m=$(echo "${m%%,*}" | tr '+' '\n' | sort -k2,2nr | awk 'NR == 1 { print $1 }')
	case $m in
	opt) echo 2 ;;
	pipe) echo 3 ;;
	step) echo $((4 + $2)) ;;
	*) echo - ;;
	esac
}
# the modes its end lines should say (stepwise, pipelined, optimistic):
# through the relay, a connection whose first bytes had not come when the
# request left goes pipelined (at 0 ms, some do)
want_mode() {
	case $1 in
	relay-off|handoff-off) echo step ;;
	relay-auto|relay-on) echo "opt|pipe" ;;
	handoff-auto) echo pipe ;;
	*) echo - ;;
	esac
}
# sets PRE (the wrapper before the command) for VARIANT AUTH LOG
prefix() {
	local url port=$PORT_NOAUTH user=
	[ "$2" = 1 ] && { port=$PORT_AUTH; user="$USER_MADE:$PASS@"; }
	url=socks5://$user$PROXY:$port
	case $1 in
	relay-off) PRE=("$NETHOOK" run --log "$3" --proxy "$url$PIPE_OFF" --) ;;
	relay-auto) PRE=("$NETHOOK" run --log "$3" --proxy "$url" --) ;;
	relay-on) PRE=("$NETHOOK" run --log "$3" --proxy "$url$PIPE_ON" --) ;;
	handoff-off) PRE=("$NETHOOK" run --log "$3" --handoff --proxy "$url$PIPE_OFF" --) ;;
	handoff-auto) PRE=("$NETHOOK" run --log "$3" --handoff --proxy "$url" --) ;;
	proxychains4) PRE=(proxychains4 -q -f "$TMP/proxychains-$2.conf") ;;
	direct) PRE=() ;;
	esac
}

# measure: what a variant runs, under nethook, proxychains4 or alone.
# With a log, it marks (the log's line count) where each figure starts
# and ends, after a short pause for the last end lines.
cat >"$TMP/measure" <<'EOF'
#!/bin/sh
# measure DIR LOG AUTO WARMSECS N SECS WORKERS ADDR:PORT [NAME:PORT]
d=$1 log=$2 auto=$3 warm=$4 n=$5 secs=$6 w=$7 addr=$8 name=${9:-}
made=0   # connections made so far: each has an end line, in time
ends() { awk '$2 == "end"' "$log" 2>/dev/null | wc -l; }
# mark [OUTPUT]: after the end lines of every connection made so far (at
# most 3 s), the log's line count, where the next figure starts
mark() {
	[ "$log" = - ] && return 0
	if [ -n "${1:-}" ]; then
		made=$((made + $(sed -n 's/^n=\([0-9]*\) errors=\([0-9]*\).*/\1 + \2/p' "$1" | head -1)))
	fi
	i=0
	while [ "$(ends)" -lt "$made" ] && [ "$i" -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wc -l <"$log" >>"$d/marks"
}
"$RC" ttfb -n 1 "$addr" /s.txt >"$d/warm" 2>&1 || echo "warm-up failed: $(cat "$d/warm")" >>"$d/notes"
made=1
if [ "$auto" = 1 ]; then
	# the probe runs in the background: wait (bounded) for a connection
	# that is pipelined or optimistic
	end=$(($(date +%s) + warm))
	until grep -qE ' end .*handshake=(pipelined|optimistic)' "$log" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "no pipelined or optimistic end line after ${warm}s of warm-up" >>"$d/notes"
			break
		fi
		sleep 0.2
		"$RC" ttfb -n 1 "$addr" /s.txt >/dev/null 2>&1
		made=$((made + 1))
	done
fi
mark
"$RC" ttfb -n "$n" "$addr" /s.txt >"$d/ttfb" 2>&1
mark "$d/ttfb"
"$RC" rate -w "$w" -d "$secs" "$addr" /s.txt >"$d/raddr" 2>&1
mark "$d/raddr"
if [ -n "$name" ]; then
	"$RC" rate -w "$w" -d "$secs" "$name" /s.txt >"$d/rname" 2>&1
	mark "$d/rname"
fi
exit 0
EOF
chmod +x "$TMP/measure"
export RC

# ---- the added round trip ----
pkt_start() {  # pkt_start MS
	: >"$TMP/pkt.err"
	timeout -k 5 3600 "${INP[@]}" "$NETHOOK" packet -v --dir out \
		--filter "dst host 192.0.2.1" --delay "$1" 2>"$TMP/pkt.err" &
	PKT=$!
	for _ in $(seq 100); do
		grep -q 'nethook: packet: hooking' "$TMP/pkt.err" && return 0
		kill -0 "$PKT" 2>/dev/null || break
		sleep 0.1
	done
	echo "rtt.sh: nethook packet --delay $1 did not start: $(tail -3 "$TMP/pkt.err")" >&2
	exit 1
}
pkt_stop() {
	[ -n "$PKT" ] || return 0
	stop "$PKT"
	PKT=
}

# ---- one variant at one RTT ----
# run_variant RTT AUTH VARIANT: its figures into $TMP/r/RTT.AUTH.VARIANT/
mkdir "$TMP/r"
FAILS=0
run_variant() {
	local rtt=$1 auth=$2 v=$3 d log=- auto=0 warm n limit rc=0 addr name
	d=$TMP/r/$rtt.$auth.$v
	mkdir -p "$d"
	case $v in relay-*|handoff-*) log=$d/log; : >"$log" ;; esac
	case $v in *-auto) auto=1 ;; esac
	[ -n "$PIPE_NOTE" ] && auto=0
	warm=$((5 + rtt * 40 / 1000))
	n=$(ttfb_n "$rtt")
	addr=$TARGET:80
	name=$NAME:80
	if [ "$v" = direct ]; then
		addr=$PROXY:80
		name=
	fi
	prefix "$v" "$auth" "$log"
	limit=$((30 + warm + (n + 2) * (8 * rtt + 100) / 1000 + 2 * (SECS + 10 + (8 * rtt + 100) / 1000)))
	timeout -k 3 "$limit" "${INC[@]}" "${PRE[@]}" "$TMP/measure" "$d" "$log" "$auto" "$warm" \
		"$n" "$SECS" "$WORKERS" "$addr" "$name" >"$d/out" 2>"$d/err" &
	CUR=$!
	wait "$CUR" || rc=$?
	CUR=
	if [ "$rc" != 0 ]; then
		echo "rtt.sh: $rtt ms, auth $auth, $v: exit $rc: $(head -c 300 "$d/err" | tr '\n' ' ')" >&2
		echo "exit $rc" >>"$d/notes"
	fi
	local f
	for f in ttfb raddr rname; do
		[ "$f" = rname ] && [ -z "$name" ] && continue
		if ! grep -q '^n=[1-9][0-9]* errors=0 ' "$d/$f" 2>/dev/null; then
			FAILS=$((FAILS + 1))
			echo "rtt.sh: $rtt ms, auth $auth, $v, $f: some failed: $(head -c 300 "$d/$f" 2>/dev/null | tr '\n' ' ')" >&2
		fi
	done
	[ -f "$d/notes" ] && echo "rtt.sh: $rtt ms, auth $auth, $v: $(tr '\n' ' ' <"$d/notes")" >&2
	return 0
}
ttfb_n() {  # requests for time to first byte at RTT $1
	local n=$TTFB_N m
	if [ "$1" -gt 0 ]; then
		m=$((TTFB_BUDGET * 1000 / (4 * $1)))
		[ "$m" -lt "$n" ] && n=$m
		[ "$n" -lt 5 ] && n=5
	fi
	echo "$n"
}

# ---- run ----
KERNEL=$(uname -r)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
NHREV=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
echo "rtt bench: added round trips $RTTS ms; time to first byte over $TTFB_N requests at 0 ms (fewer further away), ${SECS}s connection-rate samples, $WORKERS workers" >&2
START=$(date +%s)
for rtt in ${RTTS//,/ }; do
	echo "  $rtt ms ($(($(date +%s) - START))s)" >&2
	[ "$rtt" -gt 0 ] && pkt_start "$rtt"
	# the round trip as the client sees it: TCP connect() to the proxy
	pn=20
	[ "$rtt" -ge 50 ] && pn=10
	timeout 60 "${INC[@]}" "$RC" ping -n "$pn" $PROXY:$PORT_NOAUTH >"$TMP/r/ping.$rtt" 2>&1 ||
		{ echo "rtt.sh: ping at $rtt ms failed: $(cat "$TMP/r/ping.$rtt")" >&2; exit 1; }
	for auth in 0 1; do
		for v in "${VARIANTS[@]}"; do
			[ "$auth" = 1 ] && [ "$v" = direct ] && continue
			run_variant "$rtt" "$auth" "$v"
		done
	done
	timeout 60 "${INC[@]}" "$RC" ping -n "$pn" $PROXY:$PORT_NOAUTH >"$TMP/r/ping2.$rtt" 2>&1 || true
	pkt_stop
done
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the tables ----
kv() {  # kv FILE KEY: the value of KEY= on the first n= line of FILE
	sed -n "/^n=/{s/.* $2=\([^ ]*\).*/\1/p;q}" "$1" 2>/dev/null | head -1
}
# okf FILE: the figure counts: some requests done, at most 1% (or 1) failed
okf() {
	awk '/^n=/ { split($1, a, "="); split($2, b, "=")
		ok = (a[2] > 0 && b[2] <= (a[2] / 100 > 1 ? a[2] / 100 : 1)) }
		END { exit !ok }' "$1" 2>/dev/null
}
# errs FILE: " (E failed)" when some failed
errs() { sed -n '/^n=/{s/^n=[0-9]* errors=\([1-9][0-9]*\) .*/ (\1 failed)/p;q}' "$1" 2>/dev/null; }
rtt_ms() {  # the measured RTT at $1 ms added: connect() p50, in ms (0 at 0)
	[ "$1" = 0 ] && { echo 0; return; }
	awk -v v="$(kv "$TMP/r/ping.$1" p50_us)" 'BEGIN { printf "%.3f", v / 1000 }'
}
# modes DIR FIGURE-INDEX: "MODE N/M, ..." of the end lines between the
# marks around figure K (1: ttfb, 2: by address, 3: by name), and the
# median handshake_ms
modes() {
	local d=$1 k=$2 a b
	[ -f "$d/marks" ] || { echo "-"; return; }
	a=$(sed -n "${k}p" "$d/marks")
	b=$(sed -n "$((k + 1))p" "$d/marks")
	[ -n "$a" ] && [ -n "$b" ] || { echo "?"; return; }
	awk -v a="$a" -v b="$b" 'NR > a && NR <= b && $2 == "end" {
			n++
			m = "none"
			if (match($0, / handshake=[a-z]+/)) m = substr($0, RSTART + 11, RLENGTH - 11)
			sub(/^stepwise$/, "step", m)
			sub(/^pipelined$/, "pipe", m)
			sub(/^optimistic$/, "opt", m)
			c[m]++
			if (match($0, / handshake_ms=[0-9.]+/)) hs[++h] = substr($0, RSTART + 14, RLENGTH - 14) + 0
			if ($0 !~ / result=ok/) bad++
		}
		END {
			if (!n) { print "no end lines"; exit }
			s = ""
			split("opt pipe step none", order, " ")
			for (i = 1; i <= 4; i++)
				if (order[i] in c) s = s (s == "" ? "" : "+") order[i] " " c[order[i]]
			if (h) {
				# the median handshake_ms
				for (i = 1; i <= h; i++) for (j = i + 1; j <= h; j++)
					if (hs[j] < hs[i]) { t = hs[i]; hs[i] = hs[j]; hs[j] = t }
				t = (h % 2) ? hs[(h + 1) / 2] : (hs[h / 2] + hs[h / 2 + 1]) / 2
				s = s sprintf(t < 10 ? ", hs %.1f" : ", hs %.0f", t)
			}
			if (bad) s = s sprintf(" [%d not ok]", bad)
			print s
		}' "$d/log"
}
# mode_ok DIR K WANT: 1 when every end line of figure K says one of the
# modes WANT lists ("opt|pipe") and every one ended ok
mode_ok() {
	local m x
	m=$(modes "$1" "$2")
	[[ $m =~ ^[a-z] ]] && [[ ! $m =~ "not ok" ]] || { echo 0; return; }
	m=${m%%,*}
	for x in ${m//+/ }; do
		[[ $x =~ ^[0-9]+$ ]] && continue
		[[ $x =~ ^($3)$ ]] || { echo 0; return; }
	done
	echo 1
}
fmt_t() {  # fmt_t US: microseconds, or milliseconds past 10 ms
	awk -v u="$1" 'BEGIN {
		if (u == "") { printf "-"; exit }
		if (u >= 10000) printf "%.1f ms", u / 1000
		else if (u >= 1000) printf "%.2f ms", u / 1000
		else printf "%.0f us", u }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) printf "-"; else printf "%.2f", a / b }'; }
rtts() {  # rtts US RTT_MS
	awk -v u="$1" -v r="$2" 'BEGIN { if (u == "" || r + 0 == 0) printf "-"; else printf "%.2f", u / 1000 / r }'
}
MISMATCH=0
ttfb_table() {  # ttfb_table AUTH
	local auth=$1 rtt r v d p50 p99 pc m w mk
	printf '  %5s  %-13s %-30s %9s %9s %5s %4s %6s\n' RTT variant "handshake (end lines)" median p99 RTTs exp "x pc4"
	for rtt in ${RTTS//,/ }; do
		r=$(rtt_ms "$rtt")
		pc=$(kv "$TMP/r/$rtt.$auth.proxychains4/ttfb" p50_us)
		okf "$TMP/r/$rtt.$auth.proxychains4/ttfb" || pc=
		for v in "${VARIANTS[@]}"; do
			d=$TMP/r/$rtt.$auth.$v
			[ -d "$d" ] || continue
			m=$(modes "$d" 1)
			w=$(want_mode "$v")
			mk=' '
			if [ "$w" != - ] && [ -z "$PIPE_NOTE" ] && [ "$(mode_ok "$d" 1 "$w")" = 0 ]; then
				mk='!'
				MISMATCH=1
			fi
			if okf "$d/ttfb"; then
				p50=$(kv "$d/ttfb" p50_us)
				p99=$(kv "$d/ttfb" p99_us)
				printf '  %5s %s%-13s %-30s %9s %9s %5s %4s %6s%s\n' "$rtt ms" "$mk" "$(label "$v")" "$m" \
					"$(fmt_t "$p50")" "$(fmt_t "$p99")" "$(rtts "$p50" "$r")" \
					"$(expected "$v" "$auth" "$m")" "$(ratio "$p50" "$pc")" "$(errs "$d/ttfb")"
			else
				printf '  %5s %s%-13s %-30s %s\n' "$rtt ms" "$mk" "$(label "$v")" "$m" "failed: $(head -c 80 "$d/ttfb" 2>/dev/null | tr '\n' ' ')"
			fi
		done
	done
}
rate_table() {  # rate_table AUTH FILE K
	local auth=$1 f=$2 k=$3 rtt r v d rate p50 pc m w mk
	printf '  %5s  %-13s %-30s %7s %6s %9s %5s %4s\n' RTT variant "handshake (end lines)" conn/s "x pc4" "conn p50" RTTs exp
	for rtt in ${RTTS//,/ }; do
		r=$(rtt_ms "$rtt")
		pc=$(kv "$TMP/r/$rtt.$auth.proxychains4/$f" rate)
		okf "$TMP/r/$rtt.$auth.proxychains4/$f" || pc=
		for v in "${VARIANTS[@]}"; do
			d=$TMP/r/$rtt.$auth.$v
			[ -d "$d" ] || continue
			[ "$f" = rname ] && [ "$v" = direct ] && continue
			m=$(modes "$d" "$k")
			w=$(want_mode "$v")
			mk=' '
			if [ "$w" != - ] && [ -z "$PIPE_NOTE" ] && [ "$(mode_ok "$d" "$k" "$w")" = 0 ]; then
				mk='!'
				MISMATCH=1
			fi
			if okf "$d/$f"; then
				rate=$(kv "$d/$f" rate)
				p50=$(kv "$d/$f" p50_us)
				printf '  %5s %s%-13s %-30s %7.0f %6s %9s %5s %4s%s\n' "$rtt ms" "$mk" "$(label "$v")" "$m" \
					"$rate" "$(ratio "$rate" "$pc")" "$(fmt_t "$p50")" "$(rtts "$p50" "$r")" \
					"$(expected "$v" "$auth" "$m")" "$(errs "$d/$f")"
			else
				printf '  %5s %s%-13s %-30s %s\n' "$rtt ms" "$mk" "$(label "$v")" "$m" "failed: $(head -c 80 "$d/$f" 2>/dev/null | tr '\n' ' ')"
			fi
		done
	done
}

echo
echo "nethook rtt bench, $(date -u +%Y-%m-%dT%H:%MZ), kernel $KERNEL, $(nproc) CPUs, dante $(danted -v 2>&1 | sed -n 's/^Dante v\([0-9.]*[0-9]\).*/\1/p' | head -1), proxychains4 $(dpkg-query -W -f '${Version}' proxychains4 2>/dev/null || echo '?')"
echo "nethook: $NETHOOK ($("$NETHOOK" --version 2>&1 | head -1)); tree: $NHREV"
echo "${ELAPSED}s; load average before: $LOAD0, after: $LOAD1"
[ -n "$PIPE_NOTE" ] && echo "NOTE: $PIPE_NOTE"
echo
echo "added round trip (nethook packet --delay on the proxy host's packets to the client):"
echo "connect() from the client to the proxy, before and after the RTT's samples"
for rtt in ${RTTS//,/ }; do
	printf '  %5s  p50 %-9s min %-9s max %-9s | after: p50 %s\n' "$rtt ms" \
		"$(fmt_t "$(kv "$TMP/r/ping.$rtt" p50_us)")" "$(fmt_t "$(kv "$TMP/r/ping.$rtt" min_us)")" \
		"$(fmt_t "$(kv "$TMP/r/ping.$rtt" max_us)")" "$(fmt_t "$(kv "$TMP/r/ping2.$rtt" p50_us)")"
done
echo "  RTTs below = figure / that p50 (for rates: one connection's p50 latency);"
echo "  exp = round trips the handshake needs; x pc4 = ratio to proxychains4 in the same RTT"
echo "  handshake: the handshake= of the nethook log's end lines for the figure's connections (opt:"
echo "  optimistic, pipe: pipelined, step: stepwise; a count each), hs = their median handshake_ms;"
echo "  ! = not every one in a mode the variant is meant to measure, or not ended ok"
echo "  direct* = no proxy, a web server on the proxy host (the target is not reachable directly)"
for auth in 0 1; do
	a="no auth"
	[ "$auth" = 1 ] && a="username/password"
	echo
	echo "time to first byte, $a (relayc ttfb: connect() to the first byte of the reply; requests:$(for r in ${RTTS//,/ }; do printf ' %s at %s ms' "$(ttfb_n "$r")" "$r"; done))"
	ttfb_table "$auth"
	echo
	echo "new connections/s, one request each, by address, $a ($WORKERS workers, ${SECS}s)"
	rate_table "$auth" raddr 2
	echo
	echo "new connections/s, one request each, by name ($NAME), $a ($WORKERS workers, ${SECS}s)"
	rate_table "$auth" rname 3
done

echo
echo "goal (issue 15): nethook's time to first byte (the relay) <= proxychains4's - 2 x RTT (no auth); at 0 ms at least level"
echo "  (RTT: the measured connect() p50; auth: for information)"
for auth in 0 1; do
	for rtt in ${RTTS//,/ }; do
		r=$(rtt_ms "$rtt")
		pc=$(kv "$TMP/r/$rtt.$auth.proxychains4/ttfb" p50_us)
		okf "$TMP/r/$rtt.$auth.proxychains4/ttfb" || pc=
		for v in relay-auto relay-on; do
			nh=$(kv "$TMP/r/$rtt.$auth.$v/ttfb" p50_us)
			okf "$TMP/r/$rtt.$auth.$v/ttfb" || nh=
			m=$(expected "$v" "$auth" "$(modes "$TMP/r/$rtt.$auth.$v" 1)")
			awk -v rtt="$rtt" -v r="$r" -v nh="$nh" -v pc="$pc" -v auth="$auth" \
				-v l="$(label "$v")" -v m="$m" 'BEGIN {
				a = auth ? "auth   " : "no auth"
				if (nh == "" || pc == "") { printf "  %s %4s ms %-10s: no data\n", a, rtt, l; exit }
				lim = pc - (rtt > 0 ? 2 * r * 1000 : 0)
				met = (nh <= lim)
				printf "  %s %4s ms %-10s (%s RTTs): %.2f ms against proxychains4 %.2f ms", a, rtt, l, m, nh / 1000, pc / 1000
				if (rtt > 0) printf " - 2 x %.2f = %.2f ms", r, lim / 1000
				if (met) printf ": met"
				else printf ": NOT MET by %.2f ms", (nh - lim) / 1000
				if (rtt > 0) printf " (saved %.2f RTTs)\n", (pc - nh) / 1000 / r
				else printf " (%+.0f us)\n", nh - pc }'
		done
	done
done
echo
[ "$MISMATCH" = 1 ] && echo "! some end lines were not in the mode the variant is meant to measure (see above)"
for f in "$TMP"/r/*/notes; do
	[ -f "$f" ] || continue
	d=$(basename "$(dirname "$f")")
	echo "note: $d: $(tr '\n' ' ' <"$f")"
done
echo "figures with failed requests: $FAILS (shown, marked, when at most 1% failed)"
