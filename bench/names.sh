#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/names.sh: names through the proxy (issue 11), nethook against a
# plain DNS server and against proxychains4 with proxy_dns, in one run.
#
# The world: a client namespace (192.0.2.1, its only route the
# 192.0.2.0/24 link) and a server namespace holding the SOCKS5 server
# (dante, 192.0.2.10:1080), a dnsmasq (192.0.2.53:53, answers
# *.dnsq.example with 198.51.100.7 and 2001:db8::7, like nethook an A and
# an AAAA, and nothing else) and nginx
# (198.51.100.7:80, a 100-byte index.html).  The web server's name,
# web.proxyside.example, is in the server namespace's hosts file only:
# the client cannot resolve it, and cannot route to 198.51.100.7, by
# itself.  Both namespaces get a resolv.conf naming 192.0.2.53 only, and
# hosts and nsswitch.conf ("files dns") of their own (ip netns exec,
# /etc/netns/NS/), so no query can leave the machine.
#
# Figures, each the median over REPS repetitions (the variants' order
# rotated from one repetition to the next):
#   1. answer time of one A query over UDP (bench/dnsq.c query: N queries
#      one after the other, CLOCK_MONOTONIC around each; p50 and p99 of a
#      sample), for N distinct names and N times one repeated name:
#        nethook        nethook run --proxy socks5://192.0.2.10:1080 --
#                       dnsq query 192.0.2.53 ...: the query is diverted in
#                       the kernel to nethook's resolver (connected UDP, as
#                       glibc asks; and unconnected, sendto)
#        dnsmasq        the same client asking the dnsmasq directly, from
#                       the client namespace (across the veth) and from the
#                       server namespace (no veth: loopback-like)
#      Each answer is checked: nethook's must lie in 198.18.0.0/15,
#      dnsmasq's must be 198.51.100.7.
#   2. curl http://web.proxyside.example/ time to first byte
#      (time_starttransfer, which includes the name lookup; K curls a
#      sample) and
#   3. new connections per second by name (dnsq conn: getaddrinfo, then
#      connect, GET, the reply to EOF, close, for every connection), for
#        nethook        nethook run --proxy socks5://192.0.2.10:1080 -- CMD
#        nh-handoff     the same with --handoff
#        proxychains4   proxychains4 -q -f CONF CMD, CONF with proxy_dns and
#                       remote_dns_subnet 224 (strict_chain, socks5 dante)
#      all through the same dante.
#   4. getaddrinfo alone, in a loop (dnsq conn -L, 1 s samples): AF_UNSPEC
#      (A and AAAA, as curl and python ask) and AF_INET, under nethook
#      and proxychains4 (web.proxyside.example), and asking the dnsmasq
#      directly (x.dnsq.example), to show what a lookup costs each way.
# nethook's resolver is switched on with --dns proxy when `nethook run
# --help` mentions --dns, else with NHX_DNS=1 (a development patch).
# A counter in the server namespace (iptables) counts the client's
# packets to port 53 there: under nethook and proxychains it must stay 0.
# Prints one table.  No timing asserts: it reports numbers.
#
# usage: bench/names.sh [--quick] [--reps N] [--secs S] [--queries N]
#                       [--curls K] [--nethook PATH]
#   defaults: 5 repetitions, 2000 queries a series, 40 curls a sample,
#             3 s connection-rate samples (about 90 s)
#   --quick   3 repetitions, 500 queries, 15 curls, 1 s (about 35 s)
#
# Needs root.  Creates network namespaces nhn<PID>c and nhn<PID>s (a veth
# pair, documentation addresses only, no route out), /etc/netns/nhn<PID>c
# and /etc/netns/nhn<PID>s, a cgroup nhn<PID>socks for dante, an iptables
# counter inside nhn<PID>s only, and removes them, and every process it
# started, on every exit path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
NETHOOK=$TOP/build/src/cli/nethook
REPS=5 SECS=3 QUERIES=2000 CURLS=40
QUICK=0
REPS_SET='' SECS_SET='' QUERIES_SET='' CURLS_SET=''

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS_SET=${2:-}; shift ;;
	--secs) SECS_SET=${2:-}; shift ;;
	--queries) QUERIES_SET=${2:-}; shift ;;
	--curls) CURLS_SET=${2:-}; shift ;;
	--nethook) NETHOOK=${2:-}; shift ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "names.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	REPS=3 SECS=1 QUERIES=500 CURLS=15
fi
REPS=${REPS_SET:-$REPS}
SECS=${SECS_SET:-$SECS}
QUERIES=${QUERIES_SET:-$QUERIES}
CURLS=${CURLS_SET:-$CURLS}
[[ $REPS =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] && [ "$REPS" -le 20 ] ||
	{ echo "names.sh: --reps: 1 to 20" >&2; exit 2; }
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -ge 1 ] && [ "$SECS" -le 30 ] ||
	{ echo "names.sh: --secs: 1 to 30" >&2; exit 2; }
[[ $QUERIES =~ ^[0-9]+$ ]] && [ "$QUERIES" -ge 10 ] && [ "$QUERIES" -le 100000 ] ||
	{ echo "names.sh: --queries: 10 to 100000" >&2; exit 2; }
[[ $CURLS =~ ^[0-9]+$ ]] && [ "$CURLS" -ge 1 ] && [ "$CURLS" -le 1000 ] ||
	{ echo "names.sh: --curls: 1 to 1000" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "names.sh: needs root (network namespaces, BPF)" >&2; exit 2; }

# ---- what it needs ----
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v proxychains4 >/dev/null || need+=(proxychains4)
command -v iptables >/dev/null || need+=(iptables)
command -v danted >/dev/null || need+=(dante-server)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
if [ ${#need[@]} -gt 0 ]; then
	echo "names.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
if [ ! -x "$NETHOOK" ]; then
	echo "names.sh: building nethook" >&2
	"$TOP/scripts/build.sh" build >&2
fi
# --dns proxy once the option exists; before that, the development switch
NH_ENV=()
NH_DNSOPT=()
if "$NETHOOK" run --help 2>&1 | grep -qE -- '--dns([ =]|$)'; then
	NH_DNSOPT=(--dns proxy)
	DNS_HOW="--dns proxy"
else
	NH_ENV=(env NHX_DNS=1)
	DNS_HOW="NHX_DNS=1 (no --dns in nethook run --help)"
fi
CG_ROOT=
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ -f "$d/cgroup.procs" ] && [ -f "$d/cgroup.controllers" ] && { CG_ROOT=$d; break; }
done
[ -n "$CG_ROOT" ] || { echo "names.sh: no cgroup v2 mount" >&2; exit 1; }

# ---- the world, and its removal ----
ID=nhn$$
NSC=${ID}c               # client: 192.0.2.1
NSS=${ID}s               # dante 192.0.2.10, dnsmasq 192.0.2.53, nginx 198.51.100.7
CG=$CG_ROOT/${ID}socks   # dante and its children
TMP=$(mktemp -d "/tmp/${ID}.XXXXXX")
MADE_NETNS_DIR=0
[ -d /etc/netns ] || MADE_NETNS_DIR=1
PIDS=()                  # the long-running processes we started
CUR=                     # the sample running now (timeout's pid)
KILLED_NETHOOK=0
TARGET=198.51.100.7
SOCKSADDR=192.0.2.10
SOCKSPORT=1080
DNSADDR=192.0.2.53
NAME=web.proxyside.example   # known to the server namespace only
QSUFFIX=dnsq.example         # what dnsmasq answers

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
	if [ -f "$CG/cgroup.procs" ]; then
		for p in $(cat "$CG/cgroup.procs"); do kill -TERM "$p" 2>/dev/null; done
		for _ in $(seq 25); do
			[ -n "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] || break
			sleep 0.2
		done
		rmdir "$CG" 2>/dev/null ||
			echo "names.sh: could not remove $CG: $(cat "$CG/cgroup.procs" | tr '\n' ' ')" >&2
	fi
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	rm -rf "/etc/netns/$NSC" "/etc/netns/$NSS"
	[ "$MADE_NETNS_DIR" = 1 ] && rmdir /etc/netns 2>/dev/null
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cc -O2 -Wall -Wextra -o "$TMP/dnsq" "$HERE/dnsq.c"
DQ=$TMP/dnsq

ip netns add "$NSC"
ip netns add "$NSS"
# what the C library of each namespace reads (ip netns exec bind-mounts
# these over /etc/...): files, then DNS at 192.0.2.53, nothing else
for ns in "$NSC" "$NSS"; do
	mkdir -p "/etc/netns/$ns"
	echo "nameserver $DNSADDR" >"/etc/netns/$ns/resolv.conf"
	printf 'hosts: files dns\n' >"/etc/netns/$ns/nsswitch.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$ns/hosts"
done
echo "$TARGET $NAME" >>"/etc/netns/$NSS/hosts"
ip -n "$NSC" link set lo up
ip -n "$NSS" link set lo up
ip -n "$NSC" link add c0 type veth peer name s0 netns "$NSS"
ip -n "$NSC" addr add 192.0.2.1/24 dev c0
ip -n "$NSS" addr add $SOCKSADDR/24 dev s0
ip -n "$NSS" addr add $DNSADDR/32 dev s0
ip -n "$NSS" addr add $TARGET/32 dev s0
ip -n "$NSC" link set c0 up
ip -n "$NSS" link set s0 up
for ns in "$NSC" "$NSS"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_local_port_range="10000 65000" \
		net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
		net.ipv4.tcp_max_syn_backlog=8192
done
# the client's packets to port 53 that reach the server namespace
ip netns exec "$NSS" iptables -N NHN_DNS
ip netns exec "$NSS" iptables -A NHN_DNS -p udp --dport 53
ip netns exec "$NSS" iptables -A NHN_DNS -p tcp --dport 53
ip netns exec "$NSS" iptables -I INPUT -s 192.0.2.1 -j NHN_DNS
dns_pkts() {
	ip netns exec "$NSS" iptables -nvxL NHN_DNS | awk 'NR > 2 { s += $1 } END { print s + 0 }'
}
INC=(ip netns exec "$NSC")
INS=(ip netns exec "$NSS")

# ---- servers (ip netns exec execs them: $! is the server itself) ----
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 100 /dev/zero | tr '\0' x >"$TMP/www/index.html"
cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process on;
user root;
worker_processes 2;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	server {
		listen $TARGET:80 backlog=8192;
		root $TMP/www;
	}
}
EOF
"${INS[@]}" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx.conf" \
	>"$TMP/nginx.out" 2>&1 &
PIDS+=($!)
"${INS[@]}" dnsmasq --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
	--address=/$QSUFFIX/$TARGET --address=/$QSUFFIX/2001:db8::7 --listen-address=$DNSADDR --port=53 \
	--bind-interfaces --cache-size=1000 --log-facility=- \
	--pid-file="$TMP/dnsmasq.pid" --user=root --group=root >"$TMP/dnsmasq.out" 2>&1 &
PIDS+=($!)

mkdir "$CG"
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
socks pass { from: 192.0.2.0/24 to: 0.0.0.0/0 }
EOF
# dante goes into its own cgroup before it starts (its children with it)
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" \
	"${INS[@]}" danted -f "$TMP/danted.conf" -p "$TMP/danted.pid" -N 2 \
	>"$TMP/socks.out" 2>&1 &
PIDS+=($!)

cat >"$TMP/proxychains.conf" <<EOF
strict_chain
proxy_dns
remote_dns_subnet 224
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 $SOCKSADDR $SOCKSPORT
EOF

listening() {  # listening NS PROTO PORT
	ip netns exec "$1" ss -Hl"$2"n "sport = :$3" | grep -q .
}
for _ in $(seq 100); do
	listening "$NSS" t 80 && listening "$NSS" t $SOCKSPORT && listening "$NSS" u 53 && break
	sleep 0.1
done
for s in "t 80 nginx" "t $SOCKSPORT socks" "u 53 dnsmasq"; do
	set -- $s
	listening "$NSS" "$1" "$2" || {
		echo "names.sh: $3 did not start" >&2
		cat "$TMP/$3.out" "$TMP/nginx/error.log" 2>/dev/null | tail -5 >&2
		exit 1
	}
done

# ---- variants ----
NH=("${NH_ENV[@]}" "$NETHOOK" run "${NH_DNSOPT[@]}" --proxy "socks5://$SOCKSADDR:$SOCKSPORT" --)
NH_HANDOFF=("${NH_ENV[@]}" "$NETHOOK" run "${NH_DNSOPT[@]}" --handoff --proxy "socks5://$SOCKSADDR:$SOCKSPORT" --)
PC=(proxychains4 -q -f "$TMP/proxychains.conf")
DNS_VARIANTS=(nethook nethook-sendto dnsmasq dnsmasq-local)
NAME_VARIANTS=(nethook nh-handoff proxychains4)
GAI_VARIANTS=(nethook nethook-inet proxychains4 dnsmasq dnsmasq-inet)
# sets RUN (the namespace and the wrapper) and QARGS for variant $1
prefix() {
	case $1 in
	nethook) RUN=("${INC[@]}" "${NH[@]}") ;;
	nethook-sendto|nethook-inet) RUN=("${INC[@]}" "${NH[@]}") ;;
	nh-handoff) RUN=("${INC[@]}" "${NH_HANDOFF[@]}") ;;
	proxychains4) RUN=("${INC[@]}" "${PC[@]}") ;;
	dnsmasq|dnsmasq-inet) RUN=("${INC[@]}") ;;
	dnsmasq-local) RUN=("${INS[@]}") ;;
	esac
	case $1 in
	nethook) QARGS=(-e 198.18.0.0/15) ;;
	nethook-sendto) QARGS=(-u -e 198.18.0.0/15) ;;
	dnsmasq|dnsmasq-local) QARGS=(-e "$TARGET/32") ;;
	esac
	# getaddrinfo alone: the family and the name
	case $1 in
	*-inet) GARGS=(-4) ;;
	*) GARGS=() ;;
	esac
	case $1 in
	dnsmasq*) GARGS+=("x.$QSUFFIX") ;;
	*) GARGS+=("$NAME") ;;
	esac
}

pct() {  # pct P: the P-th percentile (nearest rank) of the numbers on stdin
	sort -g | awk -v p="$1" '{ a[NR] = $1 } END {
		k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1
		if (NR) printf "%.0f", a[k] }'
}

# ---- one sample ----
# sample FIGURE VARIANT LIMIT CMD...: runs CMD the variant's way, bounded
# in time, parses its output and appends "REP VALUE..." to $TMP/v/FIGURE.*
# A failed sample is counted and shown, not fatal.
mkdir "$TMP/v"
REP=0
sample() {
	local fig=$1 v=$2 limit=$3 rc=0 d0 d1
	shift 3
	prefix "$v"
	d0=$(dns_pkts)
	timeout -k 3 "$limit" "${RUN[@]}" "$@" >"$TMP/out" 2>"$TMP/err" &
	CUR=$!
	wait "$CUR" || rc=$?
	CUR=
	d1=$(dns_pkts)
	echo $((d1 - d0)) >>"$TMP/v/leak.$v"
	case $fig in
	dns)
		# distinct/repeated: p50 p99
		local dl rl
		dl=$(sed -n 's/^distinct n=[0-9]* errors=0 p50_us=\([0-9.]*\) p99_us=\([0-9.]*\) .*/\1 \2/p' "$TMP/out")
		rl=$(sed -n 's/^repeated n=[0-9]* errors=0 p50_us=\([0-9.]*\) p99_us=\([0-9.]*\) .*/\1 \2/p' "$TMP/out")
		if [ "$rc" = 0 ] && [ -n "$dl" ] && [ -n "$rl" ]; then
			echo "$REP $dl" >>"$TMP/v/dnsd.$v"
			echo "$REP $rl" >>"$TMP/v/dnsr.$v"
			sed -n 's/^distinct .* addr=//p' "$TMP/out" >"$TMP/v/addr.dns.$v"
			return 0
		fi ;;
	ttfb)
		# one "lookup starttransfer" line (seconds) per curl
		if [ "$rc" = 0 ] && [ "$(grep -c . "$TMP/out")" = "$CURLS" ]; then
			local t50 t99 l50
			t50=$(awk '{ print $2 * 1e6 }' "$TMP/out" | pct 50)
			t99=$(awk '{ print $2 * 1e6 }' "$TMP/out" | pct 99)
			l50=$(awk '{ print $1 * 1e6 }' "$TMP/out" | pct 50)
			echo "$REP $t50 $t99 $l50" >>"$TMP/v/ttfb.$v"
			return 0
		fi ;;
	conn|gai)
		local c
		c=$(sed -n 's/^n=[0-9]* errors=0 secs=[0-9.]* rate=\([0-9.]*\) p50_us=\([0-9.]*\) p99_us=\([0-9.]*\) lookup_p50_us=\([0-9.]*\) addr=\(.*\)/\1 \2 \3 \4/p' "$TMP/out")
		if [ "$rc" = 0 ] && [ -n "$c" ]; then
			echo "$REP $c" >>"$TMP/v/$fig.$v"
			sed -n 's/.* addr=//p' "$TMP/out" >"$TMP/v/addr.$fig.$v"
			return 0
		fi ;;
	esac
	echo "names.sh: sample $fig $v failed (exit $rc): $(head -c 300 "$TMP/err" | tr '\n' ' ') $(head -c 200 "$TMP/out" | tr '\n' ' ')" >&2
	echo "$REP" >>"$TMP/v/$fig.$v.fail"
	return 0
}

CURLW='%{time_namelookup} %{time_starttransfer}\n'
figure() {  # figure NAME VARIANT
	prefix "$2"  # QARGS
	case $1 in
	dns) sample dns "$2" $((QUERIES / 100 + 30)) \
		"$DQ" query -n "$QUERIES" -w 20 "${QARGS[@]}" $DNSADDR $QSUFFIX ;;
	ttfb) sample ttfb "$2" $((CURLS + 30)) sh -c '
		i=0
		while [ $i -lt "$1" ]; do
			curl -sf -o /dev/null --max-time 10 -w "$2" "$3" || exit 1
			i=$((i + 1))
		done' sh "$CURLS" "$CURLW" "http://$NAME/" ;;
	conn) sample conn "$2" $((SECS + 30)) "$DQ" conn -s "$SECS" -n 200000 $NAME 80 / ;;
	gai) sample gai "$2" 30 "$DQ" conn -L -s 1 -n 1000000 "${GARGS[@]}" 80 / ;;
	esac
}

# ---- run ----
KERNEL=$(uname -r)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
NHREV=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
echo "names bench: $REPS repetitions; $QUERIES queries a series, $CURLS curls a sample, ${SECS}s connection-rate samples; resolver on with $DNS_HOW" >&2
START=$(date +%s)

# warm-up, not recorded: every path once
for v in "${NAME_VARIANTS[@]}"; do
	prefix "$v"
	timeout -k 3 30 "${RUN[@]}" curl -sf -o /dev/null --max-time 10 "http://$NAME/" ||
		echo "names.sh: warm-up via $v failed" >&2
done
for v in "${DNS_VARIANTS[@]}"; do
	prefix "$v"
	timeout -k 3 30 "${RUN[@]}" "$DQ" query -n 10 -w 0 "${QARGS[@]}" $DNSADDR $QSUFFIX >/dev/null ||
		echo "names.sh: warm-up via $v failed" >&2
done
rm -f "$TMP"/v/leak.*

for ((REP = 0; REP < REPS; REP++)); do
	echo "  repetition $((REP + 1))/$REPS ($(($(date +%s) - START))s)" >&2
	n=${#DNS_VARIANTS[@]}
	for ((i = 0; i < n; i++)); do
		figure dns "${DNS_VARIANTS[(i + REP) % n]}"
	done
	n=${#NAME_VARIANTS[@]}
	for f in ttfb conn; do
		for ((i = 0; i < n; i++)); do
			figure "$f" "${NAME_VARIANTS[(i + REP) % n]}"
		done
	done
	n=${#GAI_VARIANTS[@]}
	for ((i = 0; i < n; i++)); do
		figure gai "${GAI_VARIANTS[(i + REP) % n]}"
	done
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
col() { [ -f "$1" ] && cut -d' ' -f"$2" "$1" || true; }
med() { col "$TMP/v/$1" "$2" | median; }
nfail() { if [ -f "$TMP/v/$1.fail" ]; then wc -l <"$TMP/v/$1.fail"; else echo 0; fi; }

# one line: LABEL FILE K UNIT REF_FILE [FAILKEY]: median, min-max, ratio
# to the reference's median in the same column
row() {
	local label=$1 f=$2 k=$3 unit=$4 ref=$5 fk=${6:-} m b lo hi fl=0
	m=$(med "$f" "$k")
	b=$(med "$ref" "$k")
	[ -n "$fk" ] && fl=$(nfail "$fk")
	if [ -z "$m" ]; then
		printf '  %-34s %s\n' "$label" "no data ($fl failed)"
		return
	fi
	lo=$(col "$TMP/v/$f" "$k" | sort -g | head -1)
	hi=$(col "$TMP/v/$f" "$k" | sort -g | tail -1)
	awk -v l="$label" -v m="$m" -v lo="$lo" -v hi="$hi" -v u="$unit" \
		-v b="${b:-0}" -v fl="$fl" -v same="$([ "$f" = "$ref" ] && echo 1)" 'BEGIN {
		f = (m < 100 ? "%.1f" : "%.0f")
		r = "-"
		if (same) r = "ref"
		else if (b > 0) r = sprintf("%.2f", m / b)
		printf "  %-34s %9s %-7s %17s %6s", l, sprintf(f, m), u,
			sprintf(f "-" f, lo, hi), r
		if (fl > 0) printf "  (%d failed)", fl
		printf "\n" }'
}
leaks() { [ -f "$TMP/v/leak.$1" ] && awk '{ s += $1 } END { print s + 0 }' "$TMP/v/leak.$1" || echo "-"; }
addr() { cat "$TMP/v/addr.$1" 2>/dev/null || echo "-"; }

echo
echo "nethook names bench, $(date -u +%Y-%m-%dT%H:%MZ), kernel $KERNEL, $(nproc) CPUs"
echo "nethook: $NETHOOK ($("$NETHOOK" --version 2>&1 | head -1)); tree: $NHREV; resolver on with $DNS_HOW"
echo "$REPS repetitions, ${ELAPSED}s; load average before: $LOAD0, after: $LOAD1"
echo "median over the repetitions (min-max); ratio = median / the reference's median"
echo
printf '  %-34s %17s %17s %6s\n' "" median min-max ratio
echo "one A query over UDP, answer time, $QUERIES queries in a row (reference: dnsmasq across the veth)"
for s in "dnsd distinct names" "dnsr one repeated name"; do
	set -- $s
	fk=$1
	shift
	for p in "2 p50" "3 p99"; do
		set -- $p
		echo " $(echo "$s" | cut -d' ' -f2-), $2"
		for v in "${DNS_VARIANTS[@]}"; do
			case $v in
			nethook) l="nethook, connected UDP" ;;
			nethook-sendto) l="nethook, unconnected (sendto)" ;;
			dnsmasq) l="dnsmasq, across the veth" ;;
			dnsmasq-local) l="dnsmasq, from its own namespace" ;;
			esac
			row "$l" "$fk.$v" "$1" us "$fk.dnsmasq" "dns.$v"
		done
	done
done
echo "curl http://$NAME/, time to first byte (time_starttransfer, lookup included), $CURLS curls a sample (reference: proxychains4)"
for p in "2 p50" "3 p99" "4 name-lookup-p50"; do
	set -- $p
	echo " $2"
	for v in "${NAME_VARIANTS[@]}"; do
		row "$v" "ttfb.$v" "$1" us "ttfb.proxychains4" "ttfb.$v"
	done
done
echo "new connections by name (getaddrinfo, connect, GET, reply to EOF, close), ${SECS}s samples (reference: proxychains4)"
for p in "2 rate conn/s" "3 p50 us" "4 p99 us" "5 getaddrinfo-p50 us"; do
	set -- $p
	echo " $2"
	for v in "${NAME_VARIANTS[@]}"; do
		row "$v" "conn.$v" "$1" "$3" "conn.proxychains4" "conn.$v"
	done
done
echo "getaddrinfo alone, in a loop, 1 s samples (reference: proxychains4; dnsmasq: x.$QSUFFIX asked directly)"
for p in "3 p50" "4 p99"; do
	set -- $p
	echo " $2"
	for v in "${GAI_VARIANTS[@]}"; do
		case $v in
		nethook) l="nethook, AF_UNSPEC (A+AAAA)" ;;
		nethook-inet) l="nethook, AF_INET (A)" ;;
		proxychains4) l="proxychains4, AF_UNSPEC" ;;
		dnsmasq) l="dnsmasq, AF_UNSPEC (A+AAAA)" ;;
		dnsmasq-inet) l="dnsmasq, AF_INET (A)" ;;
		esac
		row "$l" "gai.$v" "$1" us "gai.proxychains4" "gai.$v"
	done
done
echo
echo "addresses the client got: nethook $(addr dns.nethook) (query), $(addr conn.nethook) (getaddrinfo);" \
	"nh-handoff $(addr conn.nh-handoff); proxychains4 $(addr conn.proxychains4); dnsmasq $(addr dns.dnsmasq)"
echo "client packets to port 53 counted in the server namespace: nethook $(leaks nethook)," \
	"nethook-sendto $(leaks nethook-sendto), nh-handoff $(leaks nh-handoff), proxychains4 $(leaks proxychains4);" \
	"dnsmasq (asked directly) $(leaks dnsmasq)"
echo "failed samples: $(cat "$TMP"/v/*.fail 2>/dev/null | wc -l)"
