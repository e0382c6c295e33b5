#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# examples/conn-log, a program built against the public header and the
# shared library: one line per TCP connection of the command it runs, with
# the bytes counted in the kernel.  Needs root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
nh_world_web

ex=$NH_BUILD/examples/conn-log
out=$NH_TMP/out
nh_in c "$ex" sh -c "curl -s -o /dev/null http://$NH_SERVER4/small.txt; \
	curl -s -o /dev/null http://$NH_SERVER4:8080/big.bin" >"$out"
nh_is "conn-log: exit status of the command" "$?" 0
nh_is "conn-log: one end line per connection" "$(grep -c ' end ' "$out")" 2
first=$(sed -n 1p "$out")
second=$(sed -n 2p "$out")
nh_is "conn-log: destinations in order" \
	"$(nh_tfield "$first" orig_dst) $(nh_tfield "$second" orig_dst)" \
	"$NH_SERVER4:80 $NH_SERVER4:8080"
nh_is "conn-log: full executable path" "$(nh_tfield "$first" exe)" \
	"$(readlink -f "$(command -v curl)")"
big=$(stat -c %s "$(nh_web_file big.bin)")
in2=$(nh_tfield "$second" bytes_in)
nh_check "conn-log: bytes_in of the 2 MiB fetch covers the body ($in2 >= $big)" \
	test "$in2" -ge "$big" -a "$in2" -lt $((big + 1024))
nh_in c "$ex" sh -c 'exit 5' >/dev/null
nh_is "conn-log: passes the command's status on" "$?" 5
nh_done
