#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/packet.sh: what the IP filter costs.  Two namespaces on a veth
# (client 192.0.2.1; server 192.0.2.2 and 192.0.2.3, iperf3 -s), no route
# off the machine.  Prints packets per second of a 64-byte UDP iperf3
# stream received by the server, and TCP throughput, each direct, through
# a passing filter (`nethook packet --log /dev/null`) and a rewriting one
# (`--rewrite-dst 192.0.2.2`, client aiming at 192.0.2.3).
#   bench/packet.sh [SECONDS]      (root; BUILD=build by default)
set -u
SECS=${1:-4}
SRC=$(cd "$(dirname "$0")/.." && pwd)
NETHOOK=${NETHOOK:-$SRC/${BUILD:-build}/src/cli/nethook}
ID=nhbp$$
C=${ID}c S=${ID}s
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for ns in $C $S; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p"; done
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT INT TERM
ip netns add $C && ip netns add $S || exit 1
ip -n $C link set lo up; ip -n $S link set lo up
ip -n $C link add to-s type veth peer name to-c netns $S
ip -n $C addr add 192.0.2.1/24 dev to-s
ip -n $S addr add 192.0.2.2/24 dev to-c
ip -n $S addr add 192.0.2.3/24 dev to-c
ip -n $C link set to-s up; ip -n $S link set to-c up
ip netns exec $S iperf3 -s -D -p 5201 >/dev/null 2>&1
sleep 0.5

hooked() { # MODE CMD...
	local mode=$1 p
	shift
	case $mode in
	direct) "$@"; return ;;
	pass) timeout 120 nsenter --net=/run/netns/$C "$NETHOOK" packet -v \
		--filter "dst host 192.0.2.2 or dst host 192.0.2.3" --log /dev/null \
		2>/tmp/$ID.err & p=$! ;;
	rewrite) timeout 120 nsenter --net=/run/netns/$C "$NETHOOK" packet -v \
		--filter "dst host 192.0.2.3" --rewrite-dst 192.0.2.2 \
		2>/tmp/$ID.err & p=$! ;;
	esac
	pids+=("$p")
	for ((i = 0; i < 50; i++)); do
		grep -q hooking /tmp/$ID.err 2>/dev/null && break
		sleep 0.1
	done
	"$@"
	kill "$p"; wait "$p" 2>/dev/null
	grep -o 'queue: .*' /tmp/$ID.err >&2
	rm -f /tmp/$ID.err
}

udp() { # ADDR
	ip netns exec $C iperf3 -c "$1" -u -l 64 -b 0 -t "$SECS" -J 2>/dev/null |
		jq -r '(.end.sum.packets - .end.sum.lost_packets) / .end.sum.seconds | floor'
}
tcp() { # ADDR
	ip netns exec $C iperf3 -c "$1" -t "$SECS" -J 2>/dev/null |
		jq -r '.end.sum_received.bits_per_second / 1e6 | floor'
}

printf '%-34s %14s %14s\n' test direct hooked
for t in "udp 64 B, passing filter:udp:pass" "udp 64 B, rewriting filter:udp:rewrite" \
	"tcp stream (Mbit/s), passing:tcp:pass" "tcp stream (Mbit/s), rewriting:tcp:rewrite"; do
	name=${t%%:*} rest=${t#*:} kind=${rest%%:*} mode=${rest#*:}
	d=$($kind 192.0.2.2)
	addr=192.0.2.2
	[ "$mode" = rewrite ] && addr=192.0.2.3
	h=$(hooked "$mode" "$kind" "$addr")
	printf '%-34s %14s %14s\n' "$name" "$d" "$h"
done
