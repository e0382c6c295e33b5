# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers of the `nethook packet` / IP filter tests (sourced after lib.sh).

NH_EXAMPLES=${NH_EXAMPLES:-$NH_BUILD/examples}

# nh_pkt_bg VAR ERRFILE NS ARGS...: `nethook packet -v ARGS` in NS in the
# background; waits until its filters are in place.
nh_pkt_bg() {
	local _v=$1 err=$2 ns=$3 _p i
	shift 3
	# timeout's pid: a TERM to it reaches nethook
	nh_bg _p timeout -k 5 "${NH_TIMEOUT:-120}" \
		nsenter "--net=/run/netns/$NH_ID$ns" -- "$NETHOOK" packet -v "$@" \
		2>"$err"
	printf -v "$_v" '%s' "$_p"
	for ((i = 0; i < 100; i++)); do
		grep -q 'nethook: packet: hooking' "$err" 2>/dev/null && return 0
		nh_alive "$_p" || break
		sleep 0.1
	done
	nh_fail "nethook packet started" "$(tail -n 5 "$err")"
	return 1
}

# nh_pkt_pid PID: the nethook process under the timeout PID.
nh_pkt_pid() {
	pgrep -P "$1" | head -n 1
}

# nh_pkt_stop PID: SIGTERM, wait (bounded).
nh_pkt_stop() {
	kill -TERM "$1" 2>/dev/null
	nh_wait_gone "$1" 10
	wait "$1" 2>/dev/null
}

# nh_udp_recv NS ADDR PORT SECS: print each datagram received, one a line.
nh_udp_recv() {
	nh_in "$1" python3 -c '
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.2)
end = time.time() + float(sys.argv[3])
while time.time() < end:
    try:
        d, a = s.recvfrom(65535)
        print(d.decode(errors="replace"), flush=True)
    except socket.timeout:
        pass
' "$2" "$3" "$4"
}

# nh_udp_burst ADDR PORT COUNT: COUNT datagrams "0".."COUNT-1", 2 ms apart.
nh_udp_burst() {
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(str(i).encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.002)
' "$1" "$2" "$3"
}

# nh_ipf_rules NS: nethook's chains and jumps in NS (IPv4 and IPv6).
nh_ipf_rules() {
	{ nh_in "$1" iptables-save; nh_in "$1" ip6tables-save; } 2>/dev/null |
		grep -E 'NH[0-9]+-[0-9]+-' || true
}

# nh_ping_avg NS ADDR COUNT: average RTT in ms, empty when none came back.
nh_ping_avg() {
	nh_in "$1" busybox ping -c "$3" -i 0.2 -W 2 "$2" 2>/dev/null |
		sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p'
}
