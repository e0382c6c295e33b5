#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Sockets nethook cannot hook at connect()/sendmsg() (issue 9, items 4
# and 5).  Under --proxy, --block or --redirect a command, even as root,
# cannot make raw IP sockets, packet sockets or IP protocols other than
# TCP, UDP and MPTCP: socket() fails with EPERM, nothing reaches the
# target, a block line names the socket; --allow-raw lets them be.  Every
# (family, type, protocol) socket() accepts on this kernel is either one
# the hooks see or one that stays on the machine, or refused.  ICMP ping
# sockets (as nobody) are datagrams: refused under --proxy unless
# --allow-udp, per destination under --block, logged as proto=icmp.
#
# The target is the server namespace s: reachable from c without
# nethook, so every refusal comes from nethook.  Its iptables counters
# (in s, a namespace of this test) tell what arrived.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
[ -x "$NH_PROGS/nh-socks" ] || nh_bail "no test program $NH_PROGS/nh-socks"
nh_world_web
export NH_TIMEOUT=20

socks=$NH_PROGS/nh-socks
c4=$NH_CLIENT4
s4=$NH_SERVER4
s6=$NH_SERVER6
proxy=socks5://127.0.0.1:1 # never reached: nothing here connects

# Counters in s: echo requests, SYNs to port 9, UDP to port 9, from c.
for rule in "-p icmp --icmp-type echo-request -m comment --comment nh-icmp" \
	"-p tcp --dport 9 --tcp-flags SYN,ACK SYN -m comment --comment nh-syn" \
	"-p udp --dport 9 -m comment --comment nh-udp"; do
	# shellcheck disable=SC2086
	nh_in s iptables -w -A INPUT -s "$c4" $rule -j ACCEPT ||
		nh_bail "cannot add a counter in s"
done
nh_in s ip6tables -w -A INPUT -s "$NH_CLIENT6" -p icmpv6 \
	--icmpv6-type echo-request -m comment --comment nh-icmp6 -j ACCEPT ||
	nh_bail "cannot add a counter in s"

# count WHAT: packets the counter nh-WHAT saw.
count() {
	local t=iptables
	[ "$1" = icmp6 ] && t=ip6tables
	nh_in s "$t" -w -nvxL INPUT | awk -v c="nh-$1" \
		'index($0, "/* " c " */") { print $1 }'
}

# The attacks, as "name|counter|nh-socks arguments".
attacks="raw ICMP echo|icmp|raw-icmp $s4
hand-built TCP SYN (SOCK_RAW, IPPROTO_TCP)|syn|raw-tcp $c4 $s4 9
hand-built TCP SYN with IP header (IPPROTO_RAW)|syn|raw-ip $c4 $s4 9
AF_PACKET frame|udp|packet to-s $s4 9"

# Without nethook each attack reaches s.
while IFS='|' read -r name ctr args; do
	before=$(count "$ctr")
	# shellcheck disable=SC2086
	got=$(nh_in c "$socks" $args 2>&1)
	sleep 0.2
	nh_is "without nethook: $name is sent" "$got" ok
	nh_is "without nethook: $name reaches s" \
		"$(($(count "$ctr") - before))" 1
done <<<"$attacks"

# Under --proxy, as root: refused, nothing arrives, a block line.
err=$NH_TMP/err
nh_nethook c run -v --proxy "$proxy" -- true 2>"$err"
if grep -q "a seccomp filter refuses" "$err"; then
	mode=seccomp
	echo "# no BPF LSM here: packet sockets are refused by a seccomp filter, unlogged"
else
	mode=lsm
fi
nh_like "the start line says how packet sockets are refused" "$(cat "$err")" \
	"(no BPF LSM: a seccomp filter refuses|other families in lsm_cgroup/socket_create)"

while IFS='|' read -r name ctr args; do
	log=$NH_TMP/log
	: >"$log"
	before=$(count "$ctr")
	# shellcheck disable=SC2086
	got=$(nh_nethook c run --log "$log" --proxy "$proxy" -- \
		"$socks" $args 2>"$err")
	sleep 0.2
	nh_is "--proxy: $name: socket() fails with EPERM" "$got" errno=EPERM
	nh_is "--proxy: $name: nothing reaches s" \
		"$(($(count "$ctr") - before))" 0
	case $args in
	raw-icmp*) want="proto=raw .*detail=\"socket\\(AF_INET, SOCK_RAW, IPPROTO_ICMP\\) refused: " ;;
	raw-tcp*) want="proto=raw .*detail=\"socket\\(AF_INET, SOCK_RAW, IPPROTO_TCP\\) refused: " ;;
	raw-ip*) want="proto=raw .*detail=\"socket\\(AF_INET, SOCK_RAW, IPPROTO_RAW\\) refused: " ;;
	packet*) want="proto=packet .*detail=\"socket\\(AF_PACKET, SOCK_DGRAM, htons\\(ETH_P_IP\\)\\) refused: " ;;
	esac
	if [ "$mode" = seccomp ] && [ "${args%% *}" = packet ]; then
		nh_skip "--proxy: $name: a block line names it" \
			"no BPF LSM: the seccomp filter refuses it unlogged"
	else
		nh_like "--proxy: $name: a block line names it" "$(cat "$log")" \
			"^[^ ]+ block pid=[0-9]+ comm=nh-socks .*uid=0 .*$want"
	fi
done <<<"$attacks"

# --block and --redirect refuse them too.
nh_is "--block: raw ICMP socket refused" \
	"$(nh_nethook c run --block 203.0.113.9 -- "$socks" raw-icmp "$s4")" \
	errno=EPERM
nh_is "--redirect: raw ICMP socket refused" \
	"$(nh_nethook c run --redirect "$s4:80" -- "$socks" raw-icmp "$s4")" \
	errno=EPERM
nh_is "--redirect: packet socket refused" \
	"$(nh_nethook c run --redirect "$s4:80" -- "$socks" packet to-s "$s4" 9)" \
	errno=EPERM

# Without the BPF LSM, io_uring (whose socket op the seccomp filter
# cannot see) is refused too; with it, the LSM sees that op as well.
if [ "$mode" = seccomp ]; then
	if [ "$(nh_in c "$socks" uring 2>/dev/null)" = ok ]; then
		nh_is "no BPF LSM: io_uring refused" \
			"$(nh_nethook c run --proxy "$proxy" -- "$socks" uring)" \
			errno=EPERM
		nh_is "no BPF LSM: io_uring allowed with --allow-raw" \
			"$(nh_nethook c run --allow-raw --proxy "$proxy" -- \
				"$socks" uring 2>/dev/null)" ok
	else
		nh_skip "no BPF LSM: io_uring refused" "no io_uring here"
	fi
fi

# The JSON line of a refused socket: the schema's fields, no destination.
log=$NH_TMP/log.json
nh_nethook c run --json --log "$log" --proxy "$proxy" -- \
	"$socks" raw-icmp "$s4" >/dev/null
keys=$(jq -r 'select(.event == "block") | keys_unsorted | sort | join(" ")' \
	"$log" 2>/dev/null)
nh_is "json: a refused socket's keys are the fields of docs/log-schema.md" \
	"$keys" "$(tr ' ' '\n' <<<"$NH_LOG_FIELDS" | sort | paste -sd ' ')"
nh_is "json: proto raw, no destination, blocked with EPERM" \
	"$(jq -r 'select(.event == "block") | [.proto, .orig_dst, .new_dst, .route, .result, .error] | map(tostring) | join(" ")' "$log")" \
	"raw null null block blocked EPERM"

# --allow-raw: they work, and nethook says so at start.
while IFS='|' read -r name ctr args; do
	before=$(count "$ctr")
	# shellcheck disable=SC2086
	got=$(nh_nethook c run --allow-raw --proxy "$proxy" -- \
		"$socks" $args 2>"$err")
	sleep 0.2
	nh_is "--allow-raw: $name is sent" "$got" ok
	nh_is "--allow-raw: $name reaches s" "$(($(count "$ctr") - before))" 1
done <<<"$attacks"
nh_like "--allow-raw: the start line says raw sockets are allowed" \
	"$(cat "$err")" "^nethook: --allow-raw: raw, packet and other sockets .* are allowed"

# Every (family, type, protocol) socket() accepts here.  Ping sockets
# are offered to everyone in c, as they are on many systems.
nh_in c sysctl -qw net.ipv4.ping_group_range="0 2147483647" ||
	nh_bail "cannot open ping sockets in c"
offered=$NH_TMP/offered
got=$NH_TMP/got
nh_in c timeout 10 "$socks" list >"$offered"
nh_like "the kernel offers raw, packet and other sockets" "$(cat "$offered")" \
	"^(2 3 1|17 3 768)$"
log=$NH_TMP/list.log
nh_nethook c run --log "$log" --proxy "$proxy" -- "$socks" try \
	<"$offered" >"$got" 2>"$err"
nh_is "under nethook: every offered socket tried" \
	"$(wc -l <"$got")" "$(wc -l <"$offered")"
# hooked: inet TCP/MPTCP streams, UDP and ping datagrams (connect4/6,
# sendmsg4/6, the ping egress check); local: unix, netlink, alg
bad=$(awk '
	function hooked(f, t, p) {
		if (f != 2 && f != 10)
			return 0
		if (t == 1)
			return p == 0 || p == 6 || p == 262
		if (t == 2)
			return p == 0 || p == 17 || (f == 2 && p == 1) || (f == 10 && p == 58)
		return 0
	}
	{
		want = "errno=EPERM"
		if (hooked($1, $2, $3) || $1 == 1 || $1 == 16 || $1 == 38)
			want = "ok"
		if ($4 != want)
			print $0 " (want " want ")"
	}' "$got" 2>&1) || bad="awk failed: $bad"
nh_is "under nethook: hooked or local sockets made, every other one refused with EPERM" \
	"$bad" ""
# (AF_INET with SOCK_PACKET is a packet socket: see above)
nh_is "under nethook: each refused IP socket has its block line" \
	"$(grep -c ' block .*detail="socket(AF_INET6\{0,1\}, ' "$log")" \
	"$(awk '($1 == 2 || $1 == 10) && $2 != 10 && $4 == "errno=EPERM"' "$got" | wc -l)"
echo "# $(wc -l <"$offered") sockets offered, $(grep -c 'errno=EPERM' "$got") refused"

# Ping sockets, as nobody.
asnobody() { nh_in c setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
nh_is "without nethook: nobody pings s" "$(asnobody "$socks" ping "$s4")" reply
log=$NH_TMP/ping.log
: >"$log"
nh_is "--proxy: ping sendto() refused (EPERM)" \
	"$(nh_nethook c run --log "$log" --user nobody --proxy "$proxy" -- \
		"$socks" ping "$s4")" errno=EPERM
nh_like "--proxy: the ping's block line says proto=icmp" "$(cat "$log")" \
	" block .*uid=$(id -u nobody) .*proto=icmp orig_dst=$s4:0 route=block result=blocked error=EPERM"
nh_is "--proxy: ping connect() refused (EPERM)" \
	"$(nh_nethook c run --user nobody --proxy "$proxy" -- \
		"$socks" ping -c "$s4")" errno=EPERM
nh_is "--proxy --allow-udp: ping goes through" \
	"$(nh_nethook c run --user nobody --proxy "$proxy" --allow-udp -- \
		"$socks" ping "$s4")" reply
: >"$log"
nh_is "--block s: ping sendto() refused (EPERM)" \
	"$(nh_nethook c run --log "$log" --user nobody --block "$s4" -- \
		"$socks" ping "$s4")" errno=EPERM
nh_is "--block s: ping connect() refused" \
	"$(nh_nethook c run --log "$log" --user nobody --block "$s4" -- \
		"$socks" ping -c "$s4")" errno=ECONNREFUSED
nh_is "--block s: two block lines, proto=icmp" \
	"$(grep -c " block .*proto=icmp orig_dst=$s4:0 " "$log")" 2
nh_is "--block another host: s still pings" \
	"$(nh_nethook c run --user nobody --block 203.0.113.9 -- \
		"$socks" ping "$s4")" reply
: >"$log"
# ping6 ignores what the egress check says (icmpv6_push_pending_frames()
# returns nothing): sendto() succeeds, but the datagram is dropped
before=$(count icmp6)
nh_is "--block s (IPv6): ping6 sendto() gets no reply" \
	"$(nh_nethook c run --log "$log" --user nobody --block "[$s6]" -- \
		"$socks" ping "$s6")" noreply
nh_is "--block s (IPv6): the echo request never reaches s" \
	"$(($(count icmp6) - before))" 0
nh_like "--block s (IPv6): the block line says proto=icmpv6" "$(cat "$log")" \
	" block .*proto=icmpv6 orig_dst=\\[$s6\\]:0 "
before=$(count icmp6)
nh_is "--block s (IPv4): ping6 to s still goes" \
	"$(nh_nethook c run --user nobody --block "$s4" -- \
		"$socks" ping "$s6")" reply
nh_is "--block s (IPv4): the echo request reaches s" \
	"$(($(count icmp6) - before))" 1

nh_done
