#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# examples/conn-log, a socket filter built against the public headers and
# the shared library: one line per TCP connection of the command it runs,
# with the process, the destination, the bytes each way (nh_socket_stats)
# and the duration (sf_attach to sf_detach).  Needs root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
nh_world_web

ex=$NH_BUILD/examples/conn-log
out=$NH_TMP/out
before=$(nh_access_count)
nh_in c "$ex" bash -c "curl -s -o /dev/null http://$NH_SERVER4/small.txt; \
	curl -s -o /dev/null http://$NH_SERVER4:8080/big.bin; \
	curl -s -o /dev/null -g http://[$NH_SERVER6]/who; \
	exec 3<>/dev/tcp/$NH_SERVER4/80; sleep 0.5; exec 3>&-" >"$out" \
	2>"$NH_TMP/err"
nh_is "conn-log: exit status of the command" "$?" 0
nh_is "conn-log: one line per connection" "$(grep -c '^conn ' "$out")" 4
first=$(sed -n 1p "$out")
second=$(sed -n 2p "$out")
third=$(sed -n 3p "$out")
fourth=$(sed -n 4p "$out")
nh_is "conn-log: destinations in order" \
	"$(nh_tfield "$first" dst) $(nh_tfield "$second" dst) $(nh_tfield "$third" dst)" \
	"$NH_SERVER4:80 $NH_SERVER4:8080 [$NH_SERVER6]:80"
nh_is "conn-log: process name" "$(nh_tfield "$first" comm)" curl
nh_is "conn-log: full executable path" "$(nh_tfield "$first" exe)" \
	"$(readlink -f "$(command -v curl)")"
nh_check "conn-log: a pid" nh_positive "$(nh_tfield "$first" pid)"
big=$(stat -c %s "$(nh_web_file big.bin)")
in2=$(nh_tfield "$second" bytes_in)
nh_check "conn-log: bytes_in of the 2 MiB fetch covers the body ($in2 >= $big)" \
	test "$in2" -ge "$big" -a "$in2" -lt $((big + 1024))
out1=$(nh_tfield "$first" bytes_out)
nh_check "conn-log: bytes_out is the request ($out1)" \
	test "$out1" -gt 40 -a "$out1" -lt 400
d4=$(nh_tfield "$fourth" duration_ms)
nh_check "conn-log: duration of a connection held open 0.5 s ($d4 ms)" \
	nh_between 500 "$d4" 10000
nh_is "conn-log: that one by bash, nothing sent" \
	"$(nh_tfield "$fourth" comm) $(nh_tfield "$fourth" bytes_out)" "bash 0"
# the fetches went through untouched
nh_is "conn-log: the server saw the three requests" \
	"$(nh_access_count)" $((before + 3))
nh_unlike "conn-log: nothing on stderr (no sanitizer report)" \
	"$(cat "$NH_TMP/err")" '.'
nh_in c "$ex" sh -c 'exit 5' >/dev/null
nh_is "conn-log: passes the command's status on" "$?" 5
nh_is "conn-log: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_done
