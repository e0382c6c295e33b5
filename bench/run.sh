#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/run.sh: what `nethook run` costs, against the direct path.
#
# In one run, as medians over REPS repetitions (the variants interleaved
# within each repetition, their order rotated, so drift hits all alike):
#   1. connect rate (connect, tiny request, reply, close) to a server at
#      198.51.100.7 in another network namespace: without nethook vs under
#      `nethook run --redirect 192.0.2.99:9 --match 203.0.113.0/24`
#      (hooked, not matching);
#   2. redirected connect rate: `nethook run --redirect 192.0.2.10:80
#      --match 198.51.100.7 -- client 198.51.100.7:80` vs the client
#      connecting to 192.0.2.10:80 itself;
#   3. one redirected TCP stream (iperf3 to 198.51.100.7, redirected to
#      the server at 192.0.2.10) vs the stream sent to 192.0.2.10 directly;
#   4. monitor mode (`nethook run --log FILE`, every end logged) for both,
#      with the DNS answers watched (the default: a cgroup_skb/ingress
#      program on every datagram the command receives) and without
#      (`--dns off`); the stream also the other way (iperf3 -R), where
#      that program sees every data packet.
# Connect rate is measured twice: 1 worker with client, nethook and server
# pinned to one CPU (the CPU cost of a connection; steady on a VM), and
# WORKERS workers on all CPUs (contention).  Prints one table.  No timing
# asserts: it reports numbers.
#
# usage: bench/run.sh [--quick] [--reps N] [--workers N] [--cpu N|none]
#                     [--nethook PATH]
#   --quick     about a minute: 5 repetitions of shorter samples
#   --cpu N     the CPU for the pinned case (default: the last one)
#
# Needs root.  Creates network namespaces nhb<PID>c and nhb<PID>s (a veth
# pair, documentation addresses only, no route out) and removes them, and
# every process it started, on every exit path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$HERE")
NETHOOK=$TOP/build/src/cli/nethook
REPS=9
CONN_SECS=1.5      # one connect-rate sample
TPUT_SECS=2        # one iperf3 sample
WORKERS=4          # the concurrent connect-rate case
NCPU=$(nproc)
CPU=$((NCPU - 1))
QUICK=0
REPS_SET=

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS_SET=${2:-}; shift ;;
	--workers) WORKERS=${2:-}; shift ;;
	--cpu) CPU=${2:-}; shift ;;
	--nethook) NETHOOK=${2:-}; shift ;;
	-h|--help) sed -n '4,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	REPS=5
	CONN_SECS=0.5
	TPUT_SECS=1
fi
REPS=${REPS_SET:-$REPS}
[[ $REPS =~ ^[0-9]+$ ]] && [ "$REPS" -ge 1 ] && [ "$REPS" -le 100 ] ||
	{ echo "run.sh: --reps: 1 to 100" >&2; exit 2; }
[[ $WORKERS =~ ^[0-9]+$ ]] && [ "$WORKERS" -ge 2 ] && [ "$WORKERS" -le 64 ] ||
	{ echo "run.sh: --workers: 2 to 64" >&2; exit 2; }
[ "$CPU" = none ] || { [[ $CPU =~ ^[0-9]+$ ]] && [ "$CPU" -lt "$NCPU" ]; } ||
	{ echo "run.sh: --cpu: a CPU number below $NCPU, or none" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces, BPF)" >&2; exit 2; }

# ---- what it needs ----
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v jq >/dev/null || need+=(jq)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v taskset >/dev/null || need+=(util-linux)
command -v ss >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
	echo "run.sh: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
if [ ! -x "$NETHOOK" ]; then
	echo "run.sh: building nethook" >&2
	[ -d "$TOP/build" ] || meson setup "$TOP/build" "$TOP" >&2
	ninja -C "$TOP/build" src/cli/nethook >&2
fi

# ---- the world, and its removal ----
ID=nhb$$
NSC=${ID}c               # client: 192.0.2.1
NSS=${ID}s               # servers: 192.0.2.10 and 198.51.100.7
TMP=$(mktemp -d "/tmp/${ID}.XXXXXX")
PIDS=()                  # the servers we started
CUR=                     # the sample running now (timeout's pid)
KILLED_NETHOOK=0

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
	# a nethook run stopped in the middle removes its cgroup itself; if
	# it could not, `nethook cleanup` removes what dead runs left (only
	# those: a live run holds its lock)
	[ "$KILLED_NETHOOK" = 1 ] && "$NETHOOK" cleanup >/dev/null 2>&1
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cc -O2 -Wall -Wextra -pthread -o "$TMP/connrate" "$HERE/connrate.c"
CR=$TMP/connrate

ip netns add "$NSC"
ip netns add "$NSS"
ip -n "$NSC" link set lo up
ip -n "$NSS" link set lo up
ip -n "$NSC" link add c0 type veth peer name s0 netns "$NSS"
ip -n "$NSC" addr add 192.0.2.1/24 dev c0
ip -n "$NSS" addr add 192.0.2.10/24 dev s0
ip -n "$NSS" addr add 198.51.100.7/32 dev s0
ip -n "$NSC" link set c0 up
ip -n "$NSS" link set s0 up
# the client's only routes: 192.0.2.0/24 on the link and 198.51.100.7
# through the server; 203.0.113.0/24 and the rest are unreachable
ip -n "$NSC" route add 198.51.100.7/32 via 192.0.2.10

# Servers (nsenter execs them: $! is the server itself).  Each address
# answers with its own name, so the client sees that a redirected
# connection reached the target.  iperf3 listens on the target only: an
# un-redirected stream to 198.51.100.7:5201 would be refused.
nsenter --net="/run/netns/$NSS" -- "$CR" serve -t 2 \
	198.51.100.7:80=orig 192.0.2.10:80=target >"$TMP/serve.out" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
nsenter --net="/run/netns/$NSS" -- iperf3 -s -B 192.0.2.10 -p 5201 \
	>"$TMP/iperf3-s.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
	grep -q ready "$TMP/serve.out" 2>/dev/null &&
		nsenter --net="/run/netns/$NSS" -- ss -Hltn 'sport = :5201' |
		grep -q 5201 && break
	sleep 0.1
done
grep -q ready "$TMP/serve.out" ||
	{ echo "run.sh: the server did not start" >&2; cat "$TMP/serve.out" >&2; exit 1; }

# Pinning: the server's threads follow the sample's CPU set.
PIN=()
pin() {  # pin CPUSET|all
	if [ "$1" = all ] || [ "$CPU" = none ]; then
		PIN=()
		taskset -a -p -c "0-$((NCPU - 1))" "$SERVER" >/dev/null
	else
		PIN=(taskset -c "$1")
		taskset -a -p -c "$1" "$SERVER" >/dev/null
	fi
}

# ---- one sample ----
# sample NAME KIND CMD... : runs CMD in the client namespace, bounded in
# time, and appends "REP VALUE" to $TMP/v/NAME.  KIND is rate (connrate)
# or tput (iperf3 -J).  A failed sample is counted and shown, not fatal.
mkdir "$TMP/v"
REP=0
sample() {
	local name=$1 kind=$2 limit rc=0 val
	shift 2
	if [ "$kind" = rate ]; then
		limit=$(awk -v s="$CONN_SECS" 'BEGIN { printf "%d", s + 20 }')
	else
		limit=$(awk -v s="$TPUT_SECS" 'BEGIN { printf "%d", s + 20 }')
	fi
	timeout -k 3 "$limit" "${PIN[@]}" nsenter --net="/run/netns/$NSC" -- \
		"$@" >"$TMP/out" 2>"$TMP/err" &
	CUR=$!
	wait "$CUR" || rc=$?
	CUR=
	if [ "$kind" = rate ]; then
		val=$(sed -n 's/^conns=\([0-9]*\) errors=[0-9]* secs=[0-9.]* rate=\([0-9.]*\) cpu_us=\([0-9.]*\)$/\2 \1 \3/p' "$TMP/out")
	else
		val=$(jq -r '.end.sum_received.bits_per_second // empty' "$TMP/out" 2>/dev/null || true)
	fi
	if [ "$rc" != 0 ] || [ -z "$val" ]; then
		echo "run.sh: sample $name failed (exit $rc): $(head -c 300 "$TMP/err" | tr '\n' ' ')" >&2
		echo "$REP" >>"$TMP/v/$name.fail"
		return 0
	fi
	# shellcheck disable=SC2086 # split "rate conns cpu"
	set -- $val
	echo "$REP $1" >>"$TMP/v/$name"
	if [ "$kind" = rate ]; then
		echo "$2" >>"$TMP/v/$name.conns"
		echo "$REP $3" >>"$TMP/v/$name.cpu"
	fi
	return 0
}

NH=("$NETHOOK" run)
UNMATCHED=(--redirect 192.0.2.99:9 --match 203.0.113.0/24)
REDIRECT80=(--redirect 192.0.2.10:80 --match 198.51.100.7)
REDIRECT5201=(--redirect 192.0.2.10:5201 --match 198.51.100.7)

# monitor mode: the log is checked for one 'end' line per connection
conn_variant() {  # conn_variant VARIANT WORKERS
	local v=$1 w=$2 c=(client -w "$2" -d "$CONN_SECS" -n 2000000)
	case $v in
	direct) sample "direct.$w" rate "$CR" "${c[@]}" -e orig 198.51.100.7:80 ;;
	unmatched) sample "unmatched.$w" rate "${NH[@]}" "${UNMATCHED[@]}" -- \
		"$CR" "${c[@]}" -e orig 198.51.100.7:80 ;;
	monitor) sample "monitor.$w" rate "${NH[@]}" --log "$TMP/mon.$w.cur" -- \
		"$CR" "${c[@]}" -e orig 198.51.100.7:80
		cat "$TMP/mon.$w.cur" >>"$TMP/mon.$w.log" 2>/dev/null
		rm -f "$TMP/mon.$w.cur" ;;
	monoff) sample "monoff.$w" rate "${NH[@]}" --dns off --log "$TMP/monoff.$w.log" -- \
		"$CR" "${c[@]}" -e orig 198.51.100.7:80
		rm -f "$TMP/monoff.$w.log" ;;
	target) sample "target.$w" rate "$CR" "${c[@]}" -e target 192.0.2.10:80 ;;
	redirect) sample "redirect.$w" rate "${NH[@]}" "${REDIRECT80[@]}" -- \
		"$CR" "${c[@]}" -e target 198.51.100.7:80 ;;
	esac
}

tput_variant() {
	local j=(-t "$TPUT_SECS" -J)
	case $1 in
	direct) sample tput.direct tput iperf3 -c 192.0.2.10 "${j[@]}" ;;
	redirect) sample tput.redirect tput "${NH[@]}" "${REDIRECT5201[@]}" -- \
		iperf3 -c 198.51.100.7 "${j[@]}" ;;
	monitor) sample tput.monitor tput "${NH[@]}" --log "$TMP/mon.tput.log" -- \
		iperf3 -c 192.0.2.10 "${j[@]}" ;;
	monoff) sample tput.monoff tput "${NH[@]}" --dns off --log "$TMP/mon.tput.log" -- \
		iperf3 -c 192.0.2.10 "${j[@]}" ;;
	rdirect) sample tput.rdirect tput iperf3 -c 192.0.2.10 -R "${j[@]}" ;;
	rmonitor) sample tput.rmonitor tput "${NH[@]}" --log "$TMP/mon.tput.log" -- \
		iperf3 -c 192.0.2.10 -R "${j[@]}" ;;
	rmonoff) sample tput.rmonoff tput "${NH[@]}" --dns off --log "$TMP/mon.tput.log" -- \
		iperf3 -c 192.0.2.10 -R "${j[@]}" ;;
	esac
}

# ---- run ----
KERNEL=$(uname -r)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
NHREV=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
echo "nethook bench: $REPS repetitions, ${CONN_SECS}s per connect-rate sample, ${TPUT_SECS}s per iperf3 sample" >&2
START=$(date +%s)

# warm-up, not recorded: caches, the server's threads, BPF loading
pin all
timeout -k 3 30 nsenter --net="/run/netns/$NSC" -- "$CR" client -d 0.3 -e orig 198.51.100.7:80 >/dev/null
timeout -k 3 30 nsenter --net="/run/netns/$NSC" -- "${NH[@]}" "${REDIRECT80[@]}" -- \
	"$CR" client -d 0.3 -e target 198.51.100.7:80 >/dev/null

CONN_VARIANTS=(direct unmatched monitor monoff target redirect)
TPUT_VARIANTS=(direct redirect monitor monoff rdirect rmonitor rmonoff)
for ((REP = 0; REP < REPS; REP++)); do
	echo "  repetition $((REP + 1))/$REPS" >&2
	# rotate the order each repetition: no variant always runs first
	n=${#CONN_VARIANTS[@]}
	pin "$CPU"
	for ((i = 0; i < n; i++)); do
		conn_variant "${CONN_VARIANTS[(i + REP) % n]}" 1
	done
	pin all
	for ((i = 0; i < n; i++)); do
		conn_variant "${CONN_VARIANTS[(i + REP) % n]}" "$WORKERS"
	done
	n=${#TPUT_VARIANTS[@]}
	for ((i = 0; i < n; i++)); do
		tput_variant "${TPUT_VARIANTS[(i + REP) % n]}"
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
vals() { [ -f "$TMP/v/$1" ] && cut -d' ' -f2 "$TMP/v/$1" || true; }
nlines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# row LABEL NAME BASE UNIT SCALE
#   median and min-max of NAME; ratio = median / median of BASE; paired =
#   median over repetitions of NAME/BASE within the same repetition; cost =
#   extra time per connection (direct rate / rate - 1), or for throughput
#   the share of direct.
row() {
	local label=$1 name=$2 base=$3 unit=$4 scale=$5 m b lo hi ratio paired cost n f
	m=$(vals "$name" | median)
	n=$(nlines "$TMP/v/$name")
	f=$(nlines "$TMP/v/${name%.cpu}.fail")
	if [ -z "$m" ]; then
		printf '%-42s %14s\n' "$label" "no data ($f failed)"
		return
	fi
	b=$(vals "$base" | median)
	lo=$(vals "$name" | sort -g | head -1)
	hi=$(vals "$name" | sort -g | tail -1)
	if [ "$name" = "$base" ]; then
		ratio=1 paired=- cost=base
	else
		ratio=$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.3f", m / b }')
		paired=$(join <(sort -k1,1 "$TMP/v/$name") \
			<(sort -k1,1 "$TMP/v/$base" 2>/dev/null) |
			awk '{ print $2 / $3 }' | median)
		paired=$(awk -v p="${paired:-0}" 'BEGIN { printf (p ? "%.3f" : "-"), p }')
		if [ "$unit" = conn/s ]; then
			cost=$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%+.1f%%", (b / m - 1) * 100 }')
		elif [ "$unit" = us ]; then
			cost=$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%+.1f%%", (m / b - 1) * 100 }')
		else
			cost=$(awk -v m="$m" -v b="$b" 'BEGIN { printf "%.1f%%", m / b * 100 }')
		fi
	fi
	awk -v l="$label" -v m="$m" -v lo="$lo" -v hi="$hi" -v s="$scale" \
		-v u="$unit" -v r="$ratio" -v p="$paired" -v c="$cost" 'BEGIN {
		f = s > 1 ? "%.2f" : (u == "us" ? "%.1f" : "%.0f")
		printf "%-42s %9s %-6s %17s %6.3f %6s %7s", l, sprintf(f, m / s),
			u, sprintf(f "-" f, lo / s, hi / s), r, p, c }'
	[ "$n" = "$REPS" ] || printf '  (%s of %s samples, %s failed)' "$n" "$REPS" "$f"
	echo
}

logcheck() {  # one 'end' line per connection made in monitor mode
	local made logged
	made=$(awk '{ s += $1 } END { print s + 0 }' "$TMP/v/monitor.$1.conns" 2>/dev/null || echo 0)
	logged=$(grep -c -w end "$TMP/mon.$1.log" 2>/dev/null || true)
	echo "${logged:-0} end lines for $made connections"
}

if [ "$CPU" = none ]; then PINNED="not pinned"; else PINNED="pinned to CPU $CPU"; fi
echo
echo "nethook bench, $(date -u +%Y-%m-%dT%H:%MZ), kernel $KERNEL, $NCPU CPUs"
echo "nethook: $NETHOOK ($("$NETHOOK" --version 2>&1 | head -1)); tree: $NHREV"
echo "$REPS repetitions, ${ELAPSED}s; load average before: $LOAD0, after: $LOAD1"
echo "median, min-max over the repetitions; ratio = median / median of the line's base;"
echo "paired = median of the per-repetition ratios; cost = extra time per connection"
echo "(base rate / rate - 1; client CPU / base CPU - 1), for throughput the share of the base"
echo
printf '%-42s %16s %17s %6s %6s %7s\n' test median min-max ratio paired cost
for w in 1 "$WORKERS"; do
	if [ "$w" = 1 ]; then
		echo "connect rate, 1 worker, client+nethook+server $PINNED, ${CONN_SECS}s samples"
	else
		echo "connect rate, $w workers, all CPUs, ${CONN_SECS}s samples"
	fi
	row "  direct to 198.51.100.7:80" "direct.$w" "direct.$w" conn/s 1
	row "  hooked, not matching (203.0.113.0/24)" "unmatched.$w" "direct.$w" conn/s 1
	row "  monitor (every end logged to a file)" "monitor.$w" "direct.$w" conn/s 1
	row "  monitor, --dns off (no ingress program)" "monoff.$w" "direct.$w" conn/s 1
	row "  monitor against monitor --dns off" "monitor.$w" "monoff.$w" conn/s 1
	row "  direct to 192.0.2.10:80" "target.$w" "target.$w" conn/s 1
	row "  redirected 198.51.100.7 -> 192.0.2.10" "redirect.$w" "target.$w" conn/s 1
done
for w in 1 "$WORKERS"; do
	echo "client CPU time per connection (us), same samples, $w worker(s)"
	row "  direct to 198.51.100.7:80" "direct.$w.cpu" "direct.$w.cpu" us 1
	row "  hooked, not matching (203.0.113.0/24)" "unmatched.$w.cpu" "direct.$w.cpu" us 1
	row "  monitor (every end logged to a file)" "monitor.$w.cpu" "direct.$w.cpu" us 1
	row "  monitor, --dns off (no ingress program)" "monoff.$w.cpu" "direct.$w.cpu" us 1
	row "  monitor against monitor --dns off" "monitor.$w.cpu" "monoff.$w.cpu" us 1
	row "  direct to 192.0.2.10:80" "target.$w.cpu" "target.$w.cpu" us 1
	row "  redirected 198.51.100.7 -> 192.0.2.10" "redirect.$w.cpu" "target.$w.cpu" us 1
done
echo "one TCP stream, iperf3 -t $TPUT_SECS, all CPUs"
row "  direct to 192.0.2.10:5201" tput.direct tput.direct Gbit/s 1e9
row "  redirected 198.51.100.7 -> 192.0.2.10" tput.redirect tput.direct Gbit/s 1e9
row "  monitor (its end logged to a file)" tput.monitor tput.direct Gbit/s 1e9
row "  monitor, --dns off (no ingress program)" tput.monoff tput.direct Gbit/s 1e9
row "  monitor against monitor --dns off" tput.monitor tput.monoff Gbit/s 1e9
echo "one TCP stream the other way (iperf3 -R: the command receives), all CPUs"
row "  direct from 192.0.2.10:5201" tput.rdirect tput.rdirect Gbit/s 1e9
row "  monitor (its end logged to a file)" tput.rmonitor tput.rdirect Gbit/s 1e9
row "  monitor, --dns off (no ingress program)" tput.rmonoff tput.rdirect Gbit/s 1e9
row "  monitor against monitor --dns off" tput.rmonitor tput.rmonoff Gbit/s 1e9
echo
echo "monitor log: 1 worker: $(logcheck 1); $WORKERS workers: $(logcheck "$WORKERS")"
echo "failed samples: $(cat "$TMP"/v/*.fail 2>/dev/null | wc -l)"
