#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/packet.sh: what the IP filter costs, against a plain
# libnetfilter_queue loop measured in the same run.
#
# Two namespaces on a veth (client 192.0.2.1; server 192.0.2.2 and
# 192.0.2.3), no route off the machine.  Packets per second of 64-byte UDP
# datagrams sent by udpflood (sendmmsg, one thread per sender) from the
# client and counted where they arrive (a raw PREROUTING rule of the
# server namespace counts and drops them: no receiver to keep up).  Every
# hook is fail-closed, so a full queue drops: what is counted went
# through user space.  Rows:
#   direct          no hook
#   plain           bench/nfq-plain.c: nfq_set_verdict() per packet
#   plain rewrite   the same, rewriting the destination (.3 -> .2)
#   nethook pass    bench/ipf-pass.c: one filter, callback returns 0
#   nethook rewrite the callback rewrites the destination (nh_pkt_data)
#   ... 2 senders   one sender pinned on each of the first two CPUs;
#                   nethook with --threads 2: two queues (queue-balance
#                   with cpu-fanout), a worker thread each
#   nethook packet  the command: `--loss 0` (a pass through the shaper)
#                   and `--rewrite-dst`, with its default workers
# and TCP throughput (iperf3) direct and through `nethook packet
# --rewrite-dst`.  Last, each loop's own capacity, the sender out of the
# way: the reader is stopped while one sender per CPU fills its queues,
# then let go, and the rate is what it handled over the time from its
# first packet to its last (plain, nethook on one queue, nethook on two
# queues with a worker each).  Each figure is the median of REPS samples, the variants
# interleaved within a repetition.
#   bench/packet.sh [--secs S] [--reps N] [--drain-only]
#                                    (root; BUILD=build by default)
set -u
SECS=2
REPS=3
DRAIN_ONLY=0
while [ $# -gt 0 ]; do
	case $1 in
	--secs) SECS=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--drain-only) DRAIN_ONLY=1 ;;
	-h|--help) sed -n '4,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "packet.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$SRC/${BUILD:-build}
NETHOOK=${NETHOOK:-$BUILDDIR/src/cli/nethook}
ID=nhbp$$
C=${ID}c S=${ID}s
TMP=$(mktemp -d /tmp/nhbp.XXXXXX) || exit 1
NCPU=$(nproc)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for ns in $C $S; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p"; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

cc -O2 -Wall -Wextra -o "$TMP/udpflood" "$SRC/bench/udpflood.c" &&
	cc -O2 -Wall -Wextra -o "$TMP/nfq-plain" "$SRC/bench/nfq-plain.c" \
		-lnetfilter_queue &&
	cc -O2 -Wall -Wextra -I"$SRC/include" -o "$TMP/ipf-pass" \
		"$SRC/bench/ipf-pass.c" -L"$BUILDDIR/src/lib" -lnethook \
		-Wl,-rpath,"$BUILDDIR/src/lib" || exit 1

ip netns add $C && ip netns add $S || exit 1
ip -n $C link set lo up; ip -n $S link set lo up
ip -n $C link add to-s type veth peer name to-c netns $S
ip -n $C addr add 192.0.2.1/24 dev to-s
ip -n $S addr add 192.0.2.2/24 dev to-c
ip -n $S addr add 192.0.2.3/24 dev to-c
ip -n $C link set to-s up; ip -n $S link set to-c up
ip netns exec $S iptables -t raw -A PREROUTING -p udp --dport 5555 -j DROP
ip netns exec $S iperf3 -s -D -p 5201 >/dev/null 2>&1
ip netns exec $C "$TMP/udpflood" 192.0.2.2 5555 0.2 >/dev/null # ARP
sleep 0.3

sink() {
	ip netns exec $S iptables -t raw -nvxL PREROUTING |
		awk '/dpt:5555/ { print $1; exit }'
}
# the plain loop's rule (nethook makes its own)
plain_rule() { # -A|-D DST
	ip netns exec $C iptables -t raw "$1" OUTPUT -p udp --dport 5555 \
		-d "$2" -j NFQUEUE --queue-num 7
}

# sample KIND SENDERS: packets per second counted at the sink
sample() {
	local kind=$1 senders=$2 dst=192.0.2.2 p= n i
	case $kind in
	*rewrite*) dst=192.0.2.3 ;;
	esac
	ip netns exec $S iptables -t raw -Z PREROUTING
	local run=$((SECS + 2))
	# emptied here, not by the reader's redirection: that runs in the
	# child, and until it does the last sample's "ready" is still there
	: >"$TMP/h"
	case $kind in
	direct) ;;
	plain) plain_rule -A $dst
		ip netns exec $C "$TMP/nfq-plain" 7 $run >"$TMP/h" 2>&1 & p=$! ;;
	plain-rewrite) plain_rule -A $dst
		ip netns exec $C "$TMP/nfq-plain" 7 $run 192.0.2.2 >"$TMP/h" 2>&1 & p=$! ;;
	nh-pass) ip netns exec $C "$TMP/ipf-pass" --threads "${T:-1}" \
		"udp dst port 5555" $run >"$TMP/h" 2>&1 & p=$! ;;
	nh-rewrite) ip netns exec $C "$TMP/ipf-pass" --threads "${T:-1}" \
		--rewrite 192.0.2.2 "udp dst port 5555 and dst host 192.0.2.3" \
		$run >"$TMP/h" 2>&1 & p=$! ;;
	cli-pass) ip netns exec $C timeout 60 "$NETHOOK" packet -v --fail closed \
		--filter "udp dst port 5555" --loss 0 >"$TMP/h" 2>&1 & p=$! ;;
	cli-rewrite) ip netns exec $C timeout 60 "$NETHOOK" packet -v --fail closed \
		--filter "udp dst port 5555 and dst host 192.0.2.3" \
		--rewrite-dst 192.0.2.2 >"$TMP/h" 2>&1 & p=$! ;;
	esac
	if [ -n "$p" ]; then
		pids+=("$p")
		for ((i = 0; i < 100; i++)); do
			grep -qE '^ready|hooking' "$TMP/h" 2>/dev/null && break
			case $kind in plain*) [ -s "$TMP/h" ] && break ;; esac
			sleep 0.05
		done
	fi
	if [ "$senders" = 1 ]; then
		ip netns exec $C "$TMP/udpflood" $dst 5555 "$SECS" 64 >/dev/null
	else
		for ((i = 0; i < senders; i++)); do
			ip netns exec $C "$TMP/udpflood" $dst 5555 "$SECS" 64 \
				$((i % NCPU)) >/dev/null &
		done
		wait $(jobs -p | grep -vx "$p")  2>/dev/null
	fi
	n=$(sink)
	if [ -n "$p" ]; then
		case $kind in
		cli-*) kill -TERM "$p" ;;
		esac
		wait "$p" 2>/dev/null
	fi
	case $kind in
	plain*) plain_rule -D $dst ;;
	esac
	awk -v n="${n:-0}" -v s="$SECS" 'BEGIN { printf "%d\n", n / s }'
}

# drain KIND: how fast a reader empties a backlog, the sender out of the
# way.  The reader is stopped (SIGSTOP) while one sender per CPU fills its
# queues (16384 packets each at most; the rest is dropped, fail-closed),
# then let go (SIGCONT): packets it handled / seconds from its first packet
# to its last.  A sender blocks once its socket buffer is held by queued
# packets, and adds one more batch at most when the queue moves again.  Prints "PKT_PER_S HANDLED ARRIVED".
drain() {
	local kind=$1 dst=192.0.2.2 p i snd=() n c span
	ip netns exec $S iptables -t raw -Z PREROUTING
	local p2= t2= c2
	: >"$TMP/h"; : >"$TMP/h2" # (see sample)
	case $kind in
	plain) plain_rule -A $dst
		ip netns exec $C "$TMP/nfq-plain" 7 3 >"$TMP/h" 2>&1 & p=$! ;;
	plain2) # two plain loops, on queues 7 and 8 fanned out by CPU
		ip netns exec $C iptables -t raw -A OUTPUT -p udp --dport 5555 \
			-d $dst -j NFQUEUE --queue-balance 7:8 --queue-cpu-fanout
		ip netns exec $C "$TMP/nfq-plain" 7 3 >"$TMP/h" 2>&1 & p=$!
		ip netns exec $C "$TMP/nfq-plain" 8 3 >"$TMP/h2" 2>&1 & p2=$!
		pids+=("$p2") ;;
	nh-pass) ip netns exec $C "$TMP/ipf-pass" --threads "${T:-1}" \
		"udp dst port 5555" 3 >"$TMP/h" 2>&1 & p=$! ;;
	esac
	pids+=("$p")
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$TMP/h" 2>/dev/null &&
			{ [ -z "$p2" ] || grep -q '^ready' "$TMP/h2"; } && break
		sleep 0.05
	done
	kill -STOP "$p" $p2
	for ((i = 0; i < NCPU && i < 4; i++)); do
		ip netns exec $C "$TMP/udpflood" $dst 5555 0.3 64 $i 67108864 \
			>/dev/null &
		snd+=($!)
	done
	# the senders block once queued packets hold their socket buffers;
	# past their 0.3 s they stop after the send in progress
	sleep 0.4
	kill -CONT "$p" $p2
	wait "${snd[@]}" 2>/dev/null
	wait "$p" $p2 2>/dev/null
	[ "$kind" = plain ] && plain_rule -D $dst
	[ "$kind" = plain2 ] && ip netns exec $C iptables -t raw -D OUTPUT -p udp \
		--dport 5555 -d $dst -j NFQUEUE --queue-balance 7:8 --queue-cpu-fanout
	read -r c span < <(tail -n 1 "$TMP/h")
	if [ -n "$p2" ]; then
		# both drain from the same SIGCONT: the longer span covers both
		read -r c2 t2 < <(tail -n 1 "$TMP/h2")
		c=$((c + ${c2:-0}))
		span=$(awk -v a="$span" -v b="${t2:-0}" 'BEGIN { print (a > b ? a : b) }')
	fi
	n=$(sink)
	awk -v c="${c:-0}" -v t="${span:-0}" -v n="${n:-0}" \
		'BEGIN { printf "%d %d %d\n", (t > 0 ? c / t : 0), c, n }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

rows=(
	"direct|direct|1|1"
	"plain libnetfilter_queue, pass|plain|1|1"
	"nethook filter, pass|nh-pass|1|1"
	"plain libnetfilter_queue, rewrite|plain-rewrite|1|1"
	"nethook filter, rewrite|nh-rewrite|1|1"
	"plain, pass, 2 senders|plain|2|1"
	"nethook pass, 1 queue, 2 senders|nh-pass|2|1"
	"nethook pass, 2 queues+workers, 2 senders|nh-pass|2|2"
	"nethook rewrite, 2 queues+workers, 2 snd|nh-rewrite|2|2"
	"nethook packet --loss 0 (default workers)|cli-pass|1|0"
	"nethook packet --rewrite-dst (default)|cli-rewrite|1|0"
)
if [ "$DRAIN_ONLY" = 0 ]; then
echo "# $(uname -r), $NCPU CPUs, ${SECS}s samples, median of $REPS" >&2
for ((rep = 0; rep < REPS; rep++)); do
	for ((k = 0; k < ${#rows[@]}; k++)); do
		r=${rows[$(((k + rep) % ${#rows[@]}))]}
		IFS='|' read -r name kind senders threads <<<"$r"
		T=$threads sample "$kind" "$senders" >>"$TMP/v.$(echo "$name" | md5sum | cut -c1-8)"
	done
done
val() { median <"$TMP/v.$(echo "$1" | md5sum | cut -c1-8)"; }
printf '%-44s %10s %10s\n' "64-byte UDP" "pkt/s" "vs plain"
plain1=$(val "plain libnetfilter_queue, pass")
plainr=$(val "plain libnetfilter_queue, rewrite")
plain2=$(val "plain, pass, 2 senders")
for r in "${rows[@]}"; do
	IFS='|' read -r name kind senders threads <<<"$r"
	v=$(val "$name")
	case $kind in
	direct|plain*) base= ;;
	*rewrite*) base=$plainr; [ "$senders" = 2 ] && base=$plain2 ;;
	*) base=$plain1; [ "$senders" = 2 ] && base=$plain2 ;;
	esac
	printf '%-44s %10s %10s\n' "$name" "$v" "${base:+$(ratio "$v" "$base")}"
done

# --- TCP through a rewriting filter --------------------------------------
tcp() { # ADDR
	ip netns exec $C iperf3 -c "$1" -t "$SECS" -J 2>/dev/null |
		jq -r '.end.sum_received.bits_per_second / 1e6 | floor'
}
d=$(tcp 192.0.2.2)
ip netns exec $C timeout 60 "$NETHOOK" packet -v --filter "dst host 192.0.2.3" \
	--rewrite-dst 192.0.2.2 >"$TMP/h" 2>&1 & p=$!
pids+=("$p")
for ((i = 0; i < 100; i++)); do grep -q hooking "$TMP/h" && break; sleep 0.05; done
h=$(tcp 192.0.2.3)
kill -TERM "$p"; wait "$p" 2>/dev/null
printf '%-44s %10s %10s\n' "TCP stream, Mbit/s: direct" "$d" ""
printf '%-44s %10s %10s\n' "TCP stream, Mbit/s: nethook --rewrite-dst" "$h" \
	"$(ratio "$h" "$d") of direct"
fi

# --- a backlog, drained ---------------------------------------------------
drows=(
	"plain libnetfilter_queue, 1 queue|plain|1"
	"two plain loops, 2 queues|plain2|1"
	"nethook filter, 1 queue|nh-pass|1"
	"nethook filter, 2 queues+workers|nh-pass|2"
)
for ((rep = 0; rep < REPS; rep++)); do
	for ((k = 0; k < ${#drows[@]}; k++)); do
		r=${drows[$(((k + rep) % ${#drows[@]}))]}
		IFS='|' read -r name kind threads <<<"$r"
		T=$threads drain "$kind" >>"$TMP/d.$(echo "$name" | md5sum | cut -c1-8)"
	done
done
dval() { awk '{ print $1 }' "$TMP/d.$(echo "$1" | md5sum | cut -c1-8)" | median; }
dcount() { awk '{ print $2 "/" $3 }' "$TMP/d.$(echo "$1" | md5sum | cut -c1-8)" | tr '\n' ' '; }
echo
printf '%-44s %10s %10s  %s\n' "backlog of 64-byte UDP, drained" "pkt/s" "vs plain" "handled/arrived per sample"
dplain=$(dval "plain libnetfilter_queue, 1 queue")
for r in "${drows[@]}"; do
	IFS='|' read -r name kind threads <<<"$r"
	v=$(dval "$name")
	base=
	[ "$kind" = plain ] || base=$dplain
	printf '%-44s %10s %10s  %s\n' "$name" "$v" "${base:+$(ratio "$v" "$base")}" "$(dcount "$name")"
done
