#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `nethook packet` actions: --drop and --filter choose exactly the right
# packets, --log (text and JSON) and --pcap record them, --delay raises
# ping's RTT by the delay, --loss drops about the share, --rate caps an
# iperf3 stream near the rate; with -- COMMAND only that command's
# packets are touched.

. "$(dirname "$0")/lib.sh"
. "$NH_SRCDIR/tests/integration/packet.sh"
nh_require_nethook
nh_world_web

# --- --drop --filter ----------------------------------------------------------
r1=
nh_bg r1 nh_udp_recv s "$NH_SERVER4" 9999 5 >"$NH_TMP/r9999"
r2=
nh_bg r2 nh_udp_recv s "$NH_SERVER4" 9998 5 >"$NH_TMP/r9998"
sleep 0.5
pk=
if nh_pkt_bg pk "$NH_TMP/drop.err" c --drop --filter "udp dst port 9999" \
	--log "$NH_TMP/drop.log"; then
	nh_in c "$NH_PROGS/nh-udp" "$NH_SERVER4" 9999 to-9999 >/dev/null
	nh_in c "$NH_PROGS/nh-udp" "$NH_SERVER4" 9998 to-9998 >/dev/null
	nh_in c "$NH_PROGS/nh-udp" "$NH_SERVER4" 9999 to-9999-again >/dev/null
	got=$(nh_in c curl -sS -m 10 "http://$NH_SERVER4/who")
	nh_is "--drop: TCP to port 80 not touched" "$got" web
	sleep 0.5
	nh_pkt_stop "$pk"
fi
wait "$r1" "$r2"
nh_is "--drop --filter 'udp dst port 9999': nothing arrived on 9999" \
	"$(cat "$NH_TMP/r9999")" ""
nh_is "--drop --filter: 9998 arrived" "$(cat "$NH_TMP/r9998")" to-9998
nh_is "--drop --log: one line per dropped datagram, only those" \
	"$(grep -c . "$NH_TMP/drop.log")" 2
nh_like "--drop --log: the line" "$(cat "$NH_TMP/drop.log")" \
	"^[0-9T:.-]+Z out udp $NH_CLIENT4:[0-9]+ > $NH_SERVER4:9999 len=[0-9]+ drop\$"
nh_is "--drop: no rules left after SIGTERM" "$(nh_ipf_rules c)" ""

# --- --log --json, --pcap, --dir both --------------------------------------
if nh_pkt_bg pk "$NH_TMP/log.err" c --dir both --filter "icmp" --json \
	--log "$NH_TMP/log.json" --pcap "$NH_TMP/cap.pcap"; then
	nh_in c busybox ping -c 2 -i 0.2 -W 2 "$NH_SERVER4" >/dev/null
	nh_in c curl -sS -m 10 -o /dev/null "http://$NH_SERVER4/who"
	nh_pkt_stop "$pk"
fi
nh_is "--json: 4 lines (2 echo requests out, 2 replies in)" \
	"$(jq -c . "$NH_TMP/log.json" | wc -l)" 4
nh_is "--json: directions and protocol" \
	"$(jq -r '"\(.dir) \(.proto) \(.src) \(.dst) \(.action)"' "$NH_TMP/log.json" | sort | uniq -c | awk '{$1=$1};1')" \
	"2 in icmp $NH_SERVER4 $NH_CLIENT4 pass
2 out icmp $NH_CLIENT4 $NH_SERVER4 pass"
nh_like "--pcap: a capture file of raw IP" "$(file -b "$NH_TMP/cap.pcap")" \
	'pcap capture file.*(raw IP|Raw IP|IPv4)'
nh_is "--pcap: 4 records (24-byte header, 16 + 84 bytes each)" \
	"$(stat -c %s "$NH_TMP/cap.pcap")" $((24 + 4 * (16 + 84)))

# --- --delay ----------------------------------------------------------------
base=$(nh_ping_avg c "$NH_SERVER4" 5)
if nh_pkt_bg pk "$NH_TMP/delay.err" c --delay 100 --filter icmp; then
	avg=$(nh_ping_avg c "$NH_SERVER4" 5)
	nh_pkt_stop "$pk"
	if awk -v a="$avg" -v b="$base" 'BEGIN { d = a - b; exit !(a != "" && d >= 99 && d <= 115) }'; then
		nh_ok "--delay 100: ping RTT $avg ms against $base ms"
	else
		nh_fail "--delay 100: ping RTT raised by 100 ms" "got $avg ms, base $base ms"
	fi
fi
if nh_pkt_bg pk "$NH_TMP/delay2.err" c --delay 50:10 --dir both --filter icmp; then
	avg=$(nh_ping_avg c "$NH_SERVER4" 10)
	nh_pkt_stop "$pk"
	if awk -v a="$avg" 'BEGIN { exit !(a != "" && a >= 90 && a <= 125) }'; then
		nh_ok "--delay 50:10 --dir both: RTT $avg ms (about 100)"
	else
		nh_fail "--delay 50:10 --dir both: RTT about 100 ms" "got $avg ms"
	fi
fi
# only the command's packets: another ping at the same time is not delayed
mark=$NH_TMP/ping-started
nh_bg pk timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- \
	"$NETHOOK" packet --delay 200 --filter icmp -- \
	sh -c "touch '$mark'; busybox ping -c 5 -i 0.2 $NH_SERVER4" \
	>"$NH_TMP/cmdping.out" 2>"$NH_TMP/cmdping.err"
if nh_wait_file "$mark" 10; then
	other=$(nh_ping_avg c "$NH_SERVER4" 4)
	wait "$pk"
	nh_is "-- COMMAND --delay: exit status 0" "$?" 0
	inside=$(sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' "$NH_TMP/cmdping.out")
	if awk -v a="$inside" -v o="$other" 'BEGIN { exit !(a >= 199 && a <= 220 && o != "" && o < 20) }'; then
		nh_ok "-- COMMAND --delay 200: its ping $inside ms, another's $other ms"
	else
		nh_fail "-- COMMAND --delay 200: only the command delayed" \
			"inside $inside ms, other $other ms" "$(cat "$NH_TMP/cmdping.err")"
	fi
else
	nh_fail "-- COMMAND --delay: started" "$(cat "$NH_TMP/cmdping.err")"
fi

# --- --loss -----------------------------------------------------------------
r1=
nh_bg r1 nh_udp_recv s "$NH_SERVER4" 9997 12 >"$NH_TMP/loss.out"
sleep 0.5
if nh_pkt_bg pk "$NH_TMP/loss.err" c --loss 30 --filter "udp dst port 9997"; then
	nh_in c bash -c "$(declare -f nh_udp_burst); nh_udp_burst $NH_SERVER4 9997 1000"
	sleep 0.5
	nh_pkt_stop "$pk"
fi
kill "$r1" 2>/dev/null
wait "$r1" 2>/dev/null
got=$(grep -c . "$NH_TMP/loss.out")
if [ "$got" -ge 630 ] && [ "$got" -le 770 ]; then
	nh_ok "--loss 30: $got of 1000 datagrams arrived"
else
	nh_fail "--loss 30: about 700 of 1000 arrive" "got $got"
fi

# --- --rate -----------------------------------------------------------------
if command -v iperf3 >/dev/null; then
	ip3=
	nh_bg ip3 nh_in s iperf3 -s -1 -B "$NH_SERVER4" -p 5201 >/dev/null 2>&1
	nh_wait_port s "$NH_SERVER4" 5201 10
	json=$(timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- \
		"$NETHOOK" packet --rate 20mbit --filter "tcp dst port 5201" -- \
		iperf3 -c "$NH_SERVER4" -p 5201 -t 4 -J 2>"$NH_TMP/rate.err")
	bps=$(printf '%s' "$json" | jq -r '.end.sum_received.bits_per_second // empty' 2>/dev/null)
	if awk -v b="$bps" 'BEGIN { exit !(b != "" && b >= 15e6 && b <= 22e6) }'; then
		nh_ok "--rate 20mbit: iperf3 $(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"
	else
		nh_fail "--rate 20mbit: iperf3 near 20 Mbit/s" "got ${bps:-nothing} bit/s" \
			"$(tail -n 5 "$NH_TMP/rate.err")"
	fi
	wait "$ip3" 2>/dev/null
else
	nh_skip "--rate" "no iperf3"
fi
# a download: with no --dir, --rate caps both ways (2 MiB at 8 Mbit/s takes
# about 2 s; unshaped, a few ms on this veth)
got=$(timeout -k 5 60 nsenter "--net=/run/netns/$(nh_ns c)" -- \
	"$NETHOOK" packet --rate 8mbit -- \
	curl -sS -m 30 -o /dev/null -w '%{size_download} %{speed_download}' \
	"http://$NH_SERVER4/big.bin" 2>"$NH_TMP/rate.err")
if awk -v g="$got" 'BEGIN { split(g, a, " "); exit !(a[1] == 2097152 && a[2] * 8 <= 10e6) }'; then
	nh_ok "--rate 8mbit, no --dir: a 2 MiB download is capped ($(awk -v g="$got" 'BEGIN { split(g, a, " "); printf "%.1f", a[2] * 8 / 1e6 }') Mbit/s)"
else
	nh_fail "--rate 8mbit, no --dir: a 2 MiB download is capped near 8 Mbit/s" \
		"got: size and bytes/s: ${got:-nothing}" "$(tail -n 5 "$NH_TMP/rate.err")"
fi

# --- errors -----------------------------------------------------------------
out=$(nh_nethook c packet --drop --filter "tcp port" 2>&1)
nh_is "bad --filter: exit status 125" "$?" 125
nh_like "bad --filter: says why" "$out" 'match "tcp port"'
out=$(nh_nethook c packet --delay soon 2>&1)
nh_like "bad --delay: says why" "$out" 'delay soon'
out=$(nh_nethook c packet --filter icmp 2>&1)
nh_like "no action: says so" "$out" 'no action'
nh_is "after all: no rules left" "$(nh_ipf_rules c)" ""
nh_is "after all: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

# --- --netns that is not one ----------------------------------------------
for ns in /etc/hostname "$NH_TMP" /dev/null; do
	err=$(timeout -k 5 30 "$NETHOOK" packet --netns "$ns" --drop 2>&1)
	nh_is "--netns $ns: exit 125, says it is not a network namespace" \
		"$? $err" "125 nethook: $ns is not a network namespace (such as /run/netns/NAME or /proc/PID/ns/net)"
done

nh_done
