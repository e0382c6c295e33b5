#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/relay.sh: nethook's relay against the direct path and its peers.
#
# In one run, with the same target and the same SOCKS5 server, seven ways
# for a client to reach the target:
#   direct      the client connects to the target itself
#   nethook     nethook run --proxy socks5://SOCKS -- CMD
#   proxychains proxychains4 -q -f CONF CMD (LD_PRELOAD; strict_chain)
#   redsocks    redsocks + iptables -t nat REDIRECT in the client namespace
#   nh-direct   nethook run --proxy direct:// -- CMD (the relay alone)
#   nh-handoff  nethook run --handoff --proxy socks5://SOCKS -- CMD (the
#               tunnel opened on CMD's own socket: no relay hop)
#   nh-user     nethook run --proxy socks5://SOCKS -- CMD as user nobody
#               (user mode, issue 14: seccomp user notification, the
#               tunnel on CMD's own socket; no BPF, no cgroup, no relay),
#               run with setpriv after nsenter, PATH and environment clean
# Figures, as medians over REPS repetitions (within a repetition every
# variant runs once per figure, the order rotated each repetition):
#   iperf3 -t T (1 stream) and -P 4; wrk -c 8 -t 2 --latency on kept-alive
#   connections (rate, p50, p99) and with 'Connection: close' (new
#   connections/s); time from connect() to the first response byte
#   (relayc ttfb, N requests: median, p99); relay CPU seconds per GB (from
#   the single-stream samples: /proc/PID/stat of nethook and redsocks, the
#   SOCKS server's cgroup cpu.stat); then, once, user-space memory per idle
#   connection (VmRSS before/after relayc hold opens IDLE connections).
# Prints one table.  No timing asserts: it reports numbers.
#
# usage: bench/relay.sh [--quick] [--reps N] [--secs S] [--idle N1,N2]
#                       [--socks dante|microsocks] [--nethook PATH]
#   --quick   under 2 minutes: 2 repetitions of 1 s samples, 50 requests
#             for time to first byte, idle 1000,10000
#   defaults: 3 repetitions of 5 s samples, 200 requests, idle 1000,10000
#   --socks   dante (default) or microsocks (1.0.3 copies through a 1 KiB
#             buffer and slows down badly past a few hundred idle clients)
#
# Needs root, and a user nobody for nh-user.  Creates network namespaces
# nhb<PID>c and nhb<PID>s (a veth pair, documentation addresses only, no
# route out), a cgroup nhb<PID>socks for the SOCKS server, and removes
# them, and every process it started, on every exit path.  iptables rules
# only inside nhb<PID>c.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
NETHOOK=$TOP/build/src/cli/nethook
REPS=3
SECS=5
TTFB_N=200
IDLE=1000,10000
SOCKS=dante
QUICK=0
REPS_SET= SECS_SET= IDLE_SET=

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS_SET=${2:-}; shift ;;
	--secs) SECS_SET=${2:-}; shift ;;
	--idle) IDLE_SET=${2:-}; shift ;;
	--socks) SOCKS=${2:-}; shift ;;
	--nethook) NETHOOK=${2:-}; shift ;;
	-h|--help) sed -n '4,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "relay.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	REPS=2
	SECS=1
	TTFB_N=50
fi
# nh-user runs it as nobody, from this directory: a path from /
case $NETHOOK in /*) ;; *) NETHOOK=$PWD/$NETHOOK ;; esac
REPS=${REPS_SET:-$REPS}
SECS=${SECS_SET:-$SECS}
IDLE=${IDLE_SET:-$IDLE}
[[ $REPS =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] && [ "$REPS" -le 20 ] ||
	{ echo "relay.sh: --reps: 1 to 20" >&2; exit 2; }
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 30 ] ||
	{ echo "relay.sh: --secs: 1 to 30" >&2; exit 2; }
[[ $IDLE =~ ^[0-9]+(,[0-9]+)*$ ]] ||
	{ echo "relay.sh: --idle: N1[,N2...], increasing" >&2; exit 2; }
case $SOCKS in microsocks|dante) ;; *)
	echo "relay.sh: --socks: microsocks or dante" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "relay.sh: needs root (network namespaces, BPF)" >&2; exit 2; }

# ---- what it needs ----
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v jq >/dev/null || need+=(jq)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v proxychains4 >/dev/null || need+=(proxychains4)
command -v redsocks >/dev/null || need+=(redsocks)
command -v iptables >/dev/null || need+=(iptables)
command -v microsocks >/dev/null || need+=(microsocks)
command -v danted >/dev/null || need+=(dante-server)
command -v setpriv >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
	echo "relay.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
if [ ! -x "$NETHOOK" ]; then
	echo "relay.sh: building nethook" >&2
	[ -d "$TOP/build" ] || meson setup "$TOP/build" "$TOP" >&2
	ninja -C "$TOP/build" src/cli/nethook >&2
fi
id nobody >/dev/null 2>&1 || { echo "relay.sh: no user nobody (for nh-user)" >&2; exit 1; }
NOGROUP=$(id -gn nobody)
CG_ROOT=
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ -f "$d/cgroup.procs" ] && [ -f "$d/cgroup.controllers" ] && { CG_ROOT=$d; break; }
done
[ -n "$CG_ROOT" ] || { echo "relay.sh: no cgroup v2 mount" >&2; exit 1; }

# 10,000 held connections: 6 descriptors each in nethook (2 sockets, 2
# pipes), 2 in redsocks and the SOCKS server.  Children inherit this.
# Raising the hard limit needs CAP_SYS_RESOURCE; without it the soft limit
# goes up to the hard one, and the table says what that allowed.
ulimit -Hn 262144 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)"
NOFILE=$(ulimit -Sn)

# ---- the world, and its removal ----
ID=nhb$$
NSC=${ID}c               # client: 192.0.2.1
NSS=${ID}s               # SOCKS server 192.0.2.10, target 198.51.100.7
CG=$CG_ROOT/${ID}socks   # the SOCKS server, for its CPU time
TMP=$(mktemp -d "/tmp/${ID}.XXXXXX")
PIDS=()                  # the long-running processes we started
CUR=                     # the sample running now (timeout's pid)
KILLED_NETHOOK=0
TARGET=198.51.100.7
SOCKSADDR=192.0.2.10
SOCKSPORT=1080

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM HUP
	set +e
	if [ -n "$CUR" ] && kill -0 "$CUR" 2>/dev/null; then
		# timeout passes TERM on to nethook, which passes it on
		kill -TERM "$CUR" 2>/dev/null
		wait "$CUR" 2>/dev/null
		KILLED_NETHOOK=1
	fi
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ "$KILLED_NETHOOK" = 1 ] && "$NETHOOK" cleanup >/dev/null 2>&1
	# dante's children, should any outlive their parent
	if [ -f "$CG/cgroup.procs" ]; then
		for p in $(cat "$CG/cgroup.procs"); do kill -TERM "$p" 2>/dev/null; done
		# (cgroup files report size 0: read them, do not test -s)
		for _ in $(seq 25); do
			[ -n "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] || break
			sleep 0.2
		done
		rmdir "$CG" 2>/dev/null ||
			echo "relay.sh: could not remove $CG: $(cat "$CG/cgroup.procs" | tr '\n' ' ')" >&2
	fi
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cc -O2 -Wall -Wextra -o "$TMP/relayc" "$HERE/relayc.c"
RC=$TMP/relayc
# nh-user runs as nobody: it may reach relayc and the meter by name (no
# listing), and writes only in $TMP/u (its HOME and the meter's output)
chmod 711 "$TMP"
chmod 755 "$RC"
mkdir "$TMP/u"
chown "nobody:$NOGROUP" "$TMP/u"
MOUT=$TMP/u/meter.out

ip netns add "$NSC"
ip netns add "$NSS"
ip -n "$NSC" link set lo up
ip -n "$NSS" link set lo up
ip -n "$NSC" link add c0 type veth peer name s0 netns "$NSS"
ip -n "$NSC" addr add 192.0.2.1/24 dev c0
ip -n "$NSS" addr add $SOCKSADDR/24 dev s0
ip -n "$NSS" addr add $TARGET/32 dev s0
ip -n "$NSC" link set c0 up
ip -n "$NSS" link set s0 up
# the client's only routes: the 192.0.2.0/24 link and the target through
# the server namespace (for the direct variant)
ip -n "$NSC" route add $TARGET/32 via $SOCKSADDR
for ns in "$NSC" "$NSS"; do
	# many short connections in a row: no running out of ports
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="10000 65000" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
		net.ipv4.tcp_max_syn_backlog=8192
done
NSCX=(nsenter --net="/run/netns/$NSC" --)
NSSX=(nsenter --net="/run/netns/$NSS" --)

# ---- servers (nsenter execs them: $! is the server itself) ----
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 100 /dev/zero | tr '\0' x >"$TMP/www/s.txt"
cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process on;
user root;
worker_processes 2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
worker_rlimit_nofile $NOFILE;
events { worker_connections 30000; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	keepalive_timeout 300;
	keepalive_requests 10000000;
	server {
		listen $TARGET:80 backlog=8192;
		root $TMP/www;
	}
}
EOF
"${NSSX[@]}" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx.conf" \
	>"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
"${NSSX[@]}" iperf3 -s -B $TARGET -p 5201 >"$TMP/iperf3-s.out" 2>&1 &
PIDS+=($!)
"${NSSX[@]}" "$RC" serve $TARGET:7000 >"$TMP/serve.out" 2>&1 &
PIDS+=($!)

mkdir "$CG"
if [ "$SOCKS" = microsocks ]; then
	SOCKS_CMD=(microsocks -i $SOCKSADDR -p $SOCKSPORT)
else
	cat >"$TMP/danted.conf" <<EOF
logoutput: $TMP/danted.log
errorlog: $TMP/danted.err
internal: $SOCKSADDR port = $SOCKSPORT
external: $TARGET
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 192.0.2.0/24 to: 0.0.0.0/0 }
socks pass { from: 192.0.2.0/24 to: $TARGET/32 }
EOF
	SOCKS_CMD=(danted -f "$TMP/danted.conf" -p "$TMP/danted.pid" -N 2)
fi
# the SOCKS server goes into its own cgroup before it starts
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
	"${NSSX[@]}" "${SOCKS_CMD[@]}" >"$TMP/socks.out" 2>&1 &
SOCKS_PID=$!
PIDS+=("$SOCKS_PID")

# redsocks in the client namespace; its REDIRECT rule is in place only
# while a redsocks sample runs (the chain and its jump are always there,
# so conntrack is on in the client namespace for every variant alike)
cat >"$TMP/redsocks.conf" <<EOF
base {
	log_debug = off;
	log_info = off;
	log = stderr;
	daemon = off;
	redirector = iptables;
	rlimit_nofile = $NOFILE;
	redsocks_conn_max = 30000;
}
redsocks {
	local_ip = 127.0.0.1;
	local_port = 12345;
	ip = $SOCKSADDR;
	port = $SOCKSPORT;
	type = socks5;
}
EOF
"${NSCX[@]}" redsocks -c "$TMP/redsocks.conf" >"$TMP/redsocks.out" 2>&1 &
RS_PID=$!
PIDS+=("$RS_PID")
ip netns exec "$NSC" iptables -t nat -N NHB_REDSOCKS
ip netns exec "$NSC" iptables -t nat -A OUTPUT -j NHB_REDSOCKS
rs_on() {
	ip netns exec "$NSC" iptables -t nat -A NHB_REDSOCKS -p tcp -d $TARGET/32 \
		-j REDIRECT --to-ports 12345
}
rs_off() { ip netns exec "$NSC" iptables -t nat -F NHB_REDSOCKS; }

cat >"$TMP/proxychains.conf" <<EOF
strict_chain
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 $SOCKSADDR $SOCKSPORT
EOF

listening() {  # listening NS PORT
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}
for _ in $(seq 100); do
	listening "$NSS" 80 && listening "$NSS" 5201 && listening "$NSS" 7000 &&
		listening "$NSS" $SOCKSPORT && listening "$NSC" 12345 && break
	sleep 0.1
done
for s in "$NSS 80 nginx" "$NSS 5201 iperf3-s" "$NSS 7000 serve" \
	"$NSS $SOCKSPORT socks" "$NSC 12345 redsocks"; do
	set -- $s
	listening "$1" "$2" || {
		echo "relay.sh: $3 did not start" >&2
		cat "$TMP/$3.out" "$TMP/nginx/error.log" 2>/dev/null | tail -5 >&2
		exit 1
	}
done

# ---- variants ----
NH_SOCKS=("$NETHOOK" run --proxy socks5://$SOCKSADDR:$SOCKSPORT --)
NH_DIRECT=("$NETHOOK" run --proxy direct:// --)
NH_HANDOFF=("$NETHOOK" run --handoff --proxy socks5://$SOCKSADDR:$SOCKSPORT --)
# user mode: nethook and the command as nobody, no capabilities, a clean
# environment (the meter's two variables passed on)
ASNOBODY=(setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups --
	env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TMP/u" LANG=C
	RS_PID="$RS_PID" SOCKS_CG="$CG")
NH_USER=("${ASNOBODY[@]}" "$NETHOOK" run --proxy socks5://$SOCKSADDR:$SOCKSPORT --)
PC=(proxychains4 -q -f "$TMP/proxychains.conf")
VARIANTS=(direct nethook nh-handoff nh-user proxychains redsocks nh-direct)
IDLE_ORDER=(nethook nh-handoff nh-user nh-direct redsocks proxychains direct)
prefix() {  # sets PRE for variant $1
	case $1 in
	direct|redsocks) PRE=() ;;
	nethook) PRE=("${NH_SOCKS[@]}") ;;
	proxychains) PRE=("${PC[@]}") ;;
	nh-direct) PRE=("${NH_DIRECT[@]}") ;;
	nh-handoff) PRE=("${NH_HANDOFF[@]}") ;;
	nh-user) PRE=("${NH_USER[@]}") ;;
	esac
}

# meter: run by nethook (its parent, $PPID) or directly; records the CPU
# ticks of nethook and redsocks and the SOCKS server's cgroup usage just
# before and just after the command, so nethook's start-up (BPF loading)
# and tear-down are not counted
cat >"$TMP/meter" <<'EOF'
#!/bin/sh
# meter OUT NH CMD...
out=$1; nh=$2; shift 2
snap() {
	a=0; [ "$nh" = 1 ] && a=$(awk '{ print $14 + $15 }' /proc/$PPID/stat)
	b=$(awk '{ print $14 + $15 }' /proc/$RS_PID/stat)
	c=$(awk '$1 == "usage_usec" { print $2 }' "$SOCKS_CG/cpu.stat")
	echo "$a $b $c"
}
s0=$(snap)
"$@"
rc=$?
s1=$(snap)
echo "$s0 $s1" >"$out"
exit $rc
EOF
chmod 755 "$TMP/meter"
export RS_PID SOCKS_CG=$CG

# what nobody must reach: nethook (and its library), the clients
for x in "$NETHOOK" "$(command -v wrk)" "$(command -v iperf3)" "$RC" "$TMP/meter"; do
	"${NSCX[@]}" "${ASNOBODY[@]}" test -x "$x" || {
		echo "relay.sh: user nobody cannot run $x (nh-user runs as nobody: its directories must be world-searchable)" >&2
		exit 1
	}
done
"${NSCX[@]}" "${ASNOBODY[@]}" "$NETHOOK" --version >/dev/null 2>&1 ||
	{ echo "relay.sh: $NETHOOK does not start as nobody (its library?)" >&2; exit 1; }
HZ=$(getconf CLK_TCK)

# ---- one sample ----
# sample NAME VARIANT KIND CMD... : runs CMD in the client namespace the
# variant's way, bounded in time, and appends "REP VALUE..." to
# $TMP/v/NAME.  A failed sample is counted and shown, not fatal.
mkdir "$TMP/v"
REP=0
sample() {
	local name=$1 v=$2 kind=$3 rc=0 val limit=$((SECS + 25)) nh=0
	shift 3
	prefix "$v"
	case $v in nethook|nh-direct|nh-handoff|nh-user) nh=1 ;; esac
	[ "$kind" = ttfb ] && limit=$((TTFB_N / 5 + 25))
	[ "$v" = redsocks ] && rs_on
	rm -f "$MOUT"
	timeout -k 3 "$limit" "${NSCX[@]}" "${PRE[@]}" "$TMP/meter" "$MOUT" "$nh" \
		"$@" >"$TMP/out" 2>"$TMP/err" &
	CUR=$!
	wait "$CUR" || rc=$?
	CUR=
	[ "$v" = redsocks ] && rs_off
	case $kind in
	tput)
		val=$(jq -r '(.end.sum_received.bits_per_second // empty | tostring)
			+ " " + (.end.sum_received.bytes | tostring)' "$TMP/out" 2>/dev/null || true) ;;
	wrk)
		# Requests/sec, and the 50% and 99% latencies in microseconds
		val=$(awk '
			function us(s) {
				if (s ~ /us$/) return s + 0;
				if (s ~ /ms$/) return s * 1000;
				if (s ~ /s$/) return s * 1e6;
				return -1 }
			/Requests\/sec:/ { r = $2 }
			$1 == "50%" { p50 = us($2) }
			$1 == "99%" { p99 = us($2) }
			/Non-2xx|Socket errors/ { bad = bad $0 }
			END { if (r != "" && p50 != "" && bad == "") print r, p50, p99 }' "$TMP/out")
		;;
	ttfb)
		val=$(sed -n 's/^n=\([0-9]*\) errors=0 p50_us=\([0-9.]*\) p99_us=\([0-9.]*\) .*/\2 \3/p' "$TMP/out") ;;
	esac
	if [ "$rc" != 0 ] || [ -z "$val" ]; then
		echo "relay.sh: sample $name $v failed (exit $rc): $(head -c 300 "$TMP/err" | tr '\n' ' ') $(grep -E 'errors|Non-2xx' "$TMP/out" | head -2 | tr '\n' ' ')" >&2
		echo "$REP" >>"$TMP/v/$name.$v.fail"
		return 0
	fi
	echo "$REP $val" >>"$TMP/v/$name.$v"
	if [ "$kind" = tput ] && [ "$name" = tput1 ] && [ -s "$MOUT" ]; then
		# CPU seconds per GB moved: relay (nethook or redsocks), SOCKS server
		# shellcheck disable=SC2086
		set -- $val $(cat "$MOUT")
		awk -v rep="$REP" -v v="$v" -v hz="$HZ" -v bytes="$2" \
			-v a0="$3" -v b0="$4" -v c0="$5" -v a1="$6" -v b1="$7" -v c1="$8" 'BEGIN {
			gb = bytes / 1e9
			relay = (v == "redsocks" ? b1 - b0 : a1 - a0) / hz / gb
			socks = (c1 - c0) / 1e6 / gb
			printf "%d %.4f %.4f\n", rep, relay, socks }' >>"$TMP/v/cpu.$v"
	fi
	return 0
}

URL=http://$TARGET/s.txt
figure() {  # figure NAME VARIANT
	case $1 in
	tput1) sample tput1 "$2" tput iperf3 -c $TARGET -t "$SECS" -J ;;
	tput4) sample tput4 "$2" tput iperf3 -c $TARGET -t "$SECS" -P 4 -J ;;
	ka) sample ka "$2" wrk wrk -c 8 -t 2 -d "${SECS}s" --latency "$URL" ;;
	close) sample close "$2" wrk wrk -c 8 -t 2 -d "${SECS}s" --latency \
		-H 'Connection: close' "$URL" ;;
	ttfb) sample ttfb "$2" ttfb "$RC" ttfb -n "$TTFB_N" $TARGET:80 /s.txt ;;
	esac
}

# ---- idle connections ----
rss_kb() {  # the summed VmRSS (kB) of the pids given
	local p s=0 r
	for p in "$@"; do
		r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		s=$((s + ${r:-0}))
	done
	echo "$s"
}
nfds() {  # open descriptors of pid $1 over its threads' tables (0: none)
	[ "${1:-0}" != 0 ] || { echo 0; return; }
	# a relay worker may have a table of its own; threads that share one
	# list the same descriptors, counted once
	find /proc/"$1"/task/*/fd -type l -printf '%h %f %l\n' 2>/dev/null |
		sort -k1,1 -k2,2n | awk '
		{ if ($1 != t) { if (t != "") seen[sig] = n; t = $1; sig = ""; n = 0 }
		  sig = sig " " $2 ":" $3; n++ }
		END { if (t != "") seen[sig] = n; for (k in seen) s += seen[k]; print s + 0 }'
}
wait_line() {  # wait_line FILE REGEX SECS [COUNT]: COUNT lines match
	local i c
	for ((i = 0; i < $3 * 10; i++)); do
		c=$(grep -cE "$2" "$1" 2>/dev/null || true)
		[ "${c:-0}" -ge "${4:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
# idle VARIANT: hold IDLE connections; record the RSS of the relay process
# (nethook, redsocks) and of the SOCKS server at each stage in
# $TMP/v/idle.VARIANT: "N relay_kB socks_kB" lines, and the count held
idle() {
	local v=$1 hpid rpid=0 n last=0 rc=0 t0 t1 k=0
	prefix "$v"
	[ "$v" = redsocks ] && rs_on
	IFS=, read -r -a stages <<<"$IDLE"
	timeout -k 3 $((40 + ${stages[-1]} / 200)) "${NSCX[@]}" "${PRE[@]}" \
		"$RC" hold -t 20 -n "$IDLE" $TARGET:7000 >"$TMP/hold.out" 2>"$TMP/hold.err" &
	CUR=$!
	if wait_line "$TMP/hold.out" '^ready pid=' 20; then
		hpid=$(sed -n 's/^ready pid=//p' "$TMP/hold.out")
		case $v in
		nethook|nh-direct|nh-handoff|nh-user) rpid=$(pgrep -P "$CUR" | head -1) ;;
		redsocks) rpid=$RS_PID ;;
		esac
		sleep 0.3
		echo "0 $(rss_kb $rpid) $(rss_kb $(cat "$CG/cgroup.procs")) 0 $(nfds $rpid)" >"$TMP/v/idle.$v"
		for n in "${stages[@]}"; do
			t0=$(date +%s.%N)
			kill -USR1 "$hpid"
			k=$((k + 1))
			wait_line "$TMP/hold.out" "^held " $((30 + n / 200)) "$k" || break
			t1=$(date +%s.%N)
			last=$(sed -n 's/^held //p' "$TMP/hold.out" | tail -1)
			# idle: nethook gives a flow's pipes back after 1 s
			sleep 1.5
			echo "$last $(rss_kb $rpid) $(rss_kb $(cat "$CG/cgroup.procs")) $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') $(nfds $rpid)" >>"$TMP/v/idle.$v"
			[ "$last" = "$n" ] || break
		done
		kill -USR1 "$hpid" 2>/dev/null || true
	fi
	wait "$CUR" || rc=$?
	CUR=
	[ "$v" = redsocks ] && rs_off
	grep -h '^failed' "$TMP/hold.out" >"$TMP/v/idle.$v.fail" || true
	[ -s "$TMP/v/idle.$v.fail" ] || rm -f "$TMP/v/idle.$v.fail"
	[ "$rc" = 0 ] || echo "relay.sh: idle $v: exit $rc: $(cat "$TMP/hold.out" "$TMP/hold.err" | tr '\n' ' ' | head -c 300)" >&2
	# the relay and the servers close their sides; give them a moment
	sleep 1
	return 0
}

# ---- run ----
KERNEL=$(uname -r)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
NHREV=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
echo "relay bench: $REPS repetitions of ${SECS}s samples, $TTFB_N requests for time to first byte, idle $IDLE, SOCKS server $SOCKS" >&2
START=$(date +%s)

# warm-up, not recorded: every path once
for v in "${VARIANTS[@]}"; do
	prefix "$v"
	[ "$v" = redsocks ] && rs_on
	timeout -k 3 30 "${NSCX[@]}" "${PRE[@]}" "$RC" ttfb -n 5 $TARGET:80 /s.txt >/dev/null ||
		echo "relay.sh: warm-up via $v failed" >&2
	[ "$v" = redsocks ] && rs_off
done

FIGURES=(tput1 tput4 ka close ttfb)
n=${#VARIANTS[@]}
for ((REP = 0; REP < REPS; REP++)); do
	echo "  repetition $((REP + 1))/$REPS ($(($(date +%s) - START))s)" >&2
	for f in "${FIGURES[@]}"; do
		for ((i = 0; i < n; i++)); do
			figure "$f" "${VARIANTS[(i + REP) % n]}"
		done
	done
done
echo "  idle connections ($(($(date +%s) - START))s)" >&2
for v in "${IDLE_ORDER[@]}"; do
	idle "$v"
done
ELAPSED=$(($(date +%s) - START))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----
median() {  # median of the numbers on stdin, or nothing
	sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) exit;
		if (NR % 2) printf "%.6g", a[(NR + 1) / 2];
		else printf "%.6g", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
col() {  # col FILE K: column K (2 = the first value) of FILE
	[ -f "$1" ] && cut -d' ' -f"$2" "$1" || true
}
med() { col "$TMP/v/$1" "$2" | median; }
nfail() { if [ -f "$TMP/v/$1.fail" ]; then wc -l <"$TMP/v/$1.fail"; else echo 0; fi; }

# row FIGURE K UNIT SCALE: one line per variant: median, min-max, ratio to
# direct's median
rows() {
	local f=$1 k=$2 unit=$3 scale=$4 v m b lo hi fl
	b=$(med "$f.direct" "$k")
	for v in "${VARIANTS[@]}"; do
		m=$(med "$f.$v" "$k")
		fl=$(nfail "$f.$v")
		if [ -z "$m" ]; then
			printf '  %-12s %s\n' "$v" "no data ($fl failed)"
			continue
		fi
		lo=$(col "$TMP/v/$f.$v" "$k" | sort -g | head -1)
		hi=$(col "$TMP/v/$f.$v" "$k" | sort -g | tail -1)
		awk -v l="$v" -v m="$m" -v lo="$lo" -v hi="$hi" -v s="$scale" -v u="$unit" \
			-v b="${b:-0}" -v fl="$fl" 'BEGIN {
			f = (s > 1 ? "%.2f" : "%.0f")
			r = "-"
			if (b > 0) r = sprintf("%.3f", m / b)
			printf "  %-12s %10s %-7s %19s %7s", l, sprintf(f, m / s), u,
				sprintf(f "-" f, lo / s, hi / s), r
			if (fl > 0) printf "  (%d failed)", fl
			printf "\n" }'
	done
}

cpu_rows() {
	local v r s
	for v in "${VARIANTS[@]}"; do
		[ "$v" = direct ] && continue
		r=$(med "cpu.$v" 2)
		s=$(med "cpu.$v" 3)
		[ -n "$r" ] || { printf '  %-12s no data\n' "$v"; continue; }
		awk -v l="$v" -v r="$r" -v s="$s" 'BEGIN {
			printf "  %-12s %10.3f %10.3f %10.3f\n", l,
				(l == "proxychains" ? 0 : r), s, (l == "proxychains" ? 0 : r) + s }'
	done
}

idle_rows() {
	local v
	for v in "${IDLE_ORDER[@]}"; do
		[ -f "$TMP/v/idle.$v" ] || { printf '  %-12s no data\n' "$v"; continue; }
		awk -v l="$v" -v want="${IDLE##*,}" -v fail="$(cat "$TMP/v/idle.$v.fail" 2>/dev/null | head -1)" '
			NR == 1 { r0 = $2; s0 = $3; f0 = $5; next }
			{ n[NR] = $1; r[NR] = $2; s[NR] = $3; t[NR] = $4; f[NR] = $5; last = NR }
			END {
				hasrel = (l ~ /nethook|nh-direct|nh-handoff|nh-user|redsocks/)
				for (i = 2; i <= last; i++) {
					rss = "-"; rel = "-"; marg = "-"; so = "-"; fd = "-"
					if (hasrel && n[i] > 0) {
						rss = r[i] " kB"
						rel = sprintf("%.0f B", (r[i] - r0) * 1024 / n[i])
						fd = sprintf("%.1f", (f[i] - f0) / n[i])
					}
					if (hasrel && i > 2 && n[i] > n[i-1])
						marg = sprintf("%.0f B", (r[i] - r[i-1]) * 1024 / (n[i] - n[i-1]))
					if (l != "direct" && n[i] > 0)
						so = sprintf("%.0f B", (s[i] - s0) * 1024 / n[i])
					printf "  %-12s %6d %9s %9s %10s %12s %7.1fs %8s\n", l, n[i], rss, rel, marg, so, t[i], fd
				}
				msg = ""
				if (fail != "") msg = ": " fail
				printf "  %-12s %d of %d held%s\n", l, n[last], want, msg }' "$TMP/v/idle.$v"
	done
}

echo
echo "nethook relay bench, $(date -u +%Y-%m-%dT%H:%MZ), kernel $KERNEL, $(nproc) CPUs, SOCKS server $SOCKS"
echo "nethook: $NETHOOK ($("$NETHOOK" --version 2>&1 | head -1)); tree: $NHREV"
echo "$REPS repetitions of ${SECS}s samples, ${ELAPSED}s; load average before: $LOAD0, after: $LOAD1"
echo "open-file limit (RLIMIT_NOFILE) of every process started: $NOFILE"
echo "median, min-max over the repetitions; ratio = median / direct's median"
echo
printf '  %-12s %18s %19s %7s\n' variant median min-max ratio
echo "one stream, iperf3 -t $SECS"
rows tput1 2 Gbit/s 1e9
echo "4 streams, iperf3 -t $SECS -P 4"
rows tput4 2 Gbit/s 1e9
echo "kept-alive requests, wrk -c 8 -t 2 -d ${SECS}s, 100-byte file: rate"
rows ka 2 req/s 1
echo "  p50 latency"
rows ka 3 us 1
echo "  p99 latency"
rows ka 4 us 1
echo "new connections, one request each (wrk, Connection: close): rate"
rows close 2 conn/s 1
echo "  p50 latency"
rows close 3 us 1
echo "  p99 latency"
rows close 4 us 1
echo "connect() to first response byte, $TTFB_N requests in a row: median"
rows ttfb 2 us 1
echo "  p99"
rows ttfb 3 us 1
echo
echo "CPU seconds per GB, single-stream samples (median)"
printf '  %-12s %10s %10s %10s\n' variant relay "SOCKS srv" total
cpu_rows
echo "  (relay: the nethook process (all its threads) or redsocks; proxychains has none)"
echo
echo "idle connections held (VmRSS: user space; kernel socket and pipe memory not included)"
printf '  %-12s %6s %8s %9s %10s %12s %8s %8s\n' variant conns "relay RSS" "per conn" "marginal" "SOCKS/conn" "open in" "fds/conn"
idle_rows
echo "  (per conn: (RSS - RSS before any) / conns; marginal: between the last two stages;"
echo "   fds/conn: (relay descriptors - descriptors before any) / conns, 1.5 s after the stage)"
echo
echo "failed samples: $(cat "$TMP"/v/{tput,ka,close,ttfb}*.fail 2>/dev/null | wc -l)"
