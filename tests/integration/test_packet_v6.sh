#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `nethook packet` on IPv6 (nh_ipf_addv6): --drop --filter choose exactly
# the right datagrams, --delay raises ping6's RTT, --rewrite-dst moves a
# connection to another IPv6 port; and several workers (--threads 2)
# with concurrent flows: every packet seen exactly once, none lost.

. "$(dirname "$0")/lib.sh"
. "$NH_SRCDIR/tests/integration/packet.sh"
nh_require_nethook
nh_world_web

# nh_udp6_send ADDR PORT MSG...: one datagram per MSG.
nh_udp_send() {
	python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
for m in sys.argv[3:]:
    s.sendto(m.encode(), (sys.argv[1], int(sys.argv[2])))
' "$@"
}

# --- --drop --filter on IPv6 --------------------------------------------
r1= r2=
nh_bg r1 nh_udp_recv s "$NH_SERVER6" 9999 5 >"$NH_TMP/r9999"
nh_bg r2 nh_udp_recv s "$NH_SERVER6" 9998 5 >"$NH_TMP/r9998"
sleep 0.5
pk=
if nh_pkt_bg pk "$NH_TMP/drop.err" c --drop --filter "ip6 and udp dst port 9999" \
	--log "$NH_TMP/drop.log"; then
	nh_in c bash -c "$(declare -f nh_udp_send); nh_udp_send $NH_SERVER6 9999 a6 b6"
	nh_in c bash -c "$(declare -f nh_udp_send); nh_udp_send $NH_SERVER6 9998 to-9998"
	nh_in c bash -c "$(declare -f nh_udp_send); nh_udp_send $NH_SERVER4 9999 v4-passes"
	got=$(nh_in c curl -sS -m 10 -g "http://[$NH_SERVER6]/who")
	nh_is "IPv6 --drop: TCP to port 80 not touched" "$got" web
	sleep 0.5
	nh_pkt_stop "$pk"
fi
wait "$r1" "$r2"
nh_is "IPv6 --drop --filter 'udp dst port 9999': nothing arrived" \
	"$(cat "$NH_TMP/r9999")" ""
nh_is "IPv6 --drop --filter: 9998 arrived" "$(cat "$NH_TMP/r9998")" to-9998
nh_is "IPv6 --drop --log: one line per dropped datagram" \
	"$(grep -c . "$NH_TMP/drop.log")" 2
nh_like "IPv6 --drop --log: the line" "$(head -n 1 "$NH_TMP/drop.log")" \
	"^[0-9T:.-]+Z out udp \\[$NH_CLIENT6\\]:[0-9]+ > \\[$NH_SERVER6\\]:9999 len=[0-9]+ drop\$"
nh_is "IPv6 --drop: no rules left" "$(nh_ipf_rules c)" ""

# --- ping6 --delay ------------------------------------------------------
ping6_avg() {
	nh_in c busybox ping -6 -c "$1" -i 0.2 -W 2 "$NH_SERVER6" 2>/dev/null |
		sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p'
}
base=$(ping6_avg 4)
if nh_pkt_bg pk "$NH_TMP/delay.err" c --delay 100 --filter icmp6; then
	avg=$(ping6_avg 5)
	nh_pkt_stop "$pk"
	if awk -v a="$avg" -v b="$base" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d >= 99 && d <= 115) }'; then
		nh_ok "IPv6 --delay 100: ping6 RTT $avg ms against $base ms"
	else
		nh_fail "IPv6 --delay 100: ping6 RTT raised by 100 ms" "got $avg ms, base $base ms"
	fi
fi

# --- --rewrite-dst to an IPv6 address and port --------------------------
if nh_pkt_bg pk "$NH_TMP/rw.err" c --rewrite-dst "[$NH_SERVER6]:8080" \
	--filter "ip6 and tcp dst port 80"; then
	nh_in c curl -sS -m 10 -g -o "$NH_TMP/rw.small" "http://[$NH_SERVER6]/small.txt"
	nh_same_file "IPv6 --rewrite-dst: body intact" "$NH_TMP/rw.small" \
		"$(nh_web_file small.txt)"
	nh_like "IPv6 --rewrite-dst: served on port 8080" \
		"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" \
		"$NH_SERVER6\\]?:8080 \"GET /small.txt "
	got=$(nh_in c curl -sS -m 10 -g -o /dev/null -w '%{remote_port}' \
		"http://[$NH_SERVER6]/who")
	nh_is "IPv6 --rewrite-dst: curl still sees port 80" "$got" 80
	nh_pkt_stop "$pk"
fi
nh_is "IPv6 --rewrite-dst: no rules left" "$(nh_ipf_rules c)" ""

# --- two workers, concurrent flows, exact counts ------------------------
n_each=$(nh_quick && echo 200 || echo 1000)
nh_bg r1 nh_udp_recv s "$NH_SERVER4" 9996 12 >"$NH_TMP/thr.udp"
sleep 0.5
if nh_pkt_bg pk "$NH_TMP/thr.err" c --threads 2 --dir both \
	--filter "udp port 9996 or udp port 9995" --log "$NH_TMP/thr.log"; then
	senders=()
	for f in 1 2 3 4; do
		nh_in c python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'"$NH_CLIENT4"'", 0))
for i in range(int(sys.argv[1])):
    s.sendto(("f%s-%d" % (sys.argv[2], i)).encode(), ("'"$NH_SERVER4"'", 9996))
    if i % 20 == 19:
        import time; time.sleep(0.01)
' "$n_each" "$f" &
		senders+=($!)
	done
	wait "${senders[@]}" 2>/dev/null
	sleep 1
	nh_pkt_stop "$pk"
fi
wait "$r1"
nh_like "--threads 2: two workers" "$(cat "$NH_TMP/thr.err")" 'hooking'
nh_is "--threads 2: every datagram of 4 concurrent flows arrived" \
	"$(sort -u "$NH_TMP/thr.udp" | grep -c .)" $((4 * n_each))
nh_is "--threads 2: each logged exactly once" \
	"$(grep -c ' out udp ' "$NH_TMP/thr.log")" $((4 * n_each))
nh_like "--threads 2: counted" "$(cat "$NH_TMP/thr.err")" \
	"packets out=$((4 * n_each)) in=0 "
nh_is "--threads 2: no rules left" "$(nh_ipf_rules c)" ""
nh_is "after all: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""

nh_done
