#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The command's help and its manual pages: `nethook run --help` and
# `nethook attach --help` print their options; nethook(1) and
# nethook-packet(1), made from `--help` at build time, name every option
# the program names.  Runs nothing as root beyond the harness.

. "$(dirname "$0")/lib.sh"
nh_require_nethook

# options OUTPUT: the long options a help text names, one a line
options() { grep -oE -- '--[a-z][a-z0-9-]+' <<<"$1" | sort -u; }

main=$("$NETHOOK" --help)
run=$("$NETHOOK" run --help)
nh_is "nethook run --help: exit 0" "$?" 0
attach=$("$NETHOOK" attach --help)
packet=$("$NETHOOK" packet --help)
nh_like "run --help: its usage line" "$run" '^usage: nethook run \[OPTIONS\] -- COMMAND'
for o in --proxy --proxy-file --handoff --allow-raw --allow-udp --block --redirect --user; do
	nh_like "run --help names $o" "$run" "^ +$o "
done
nh_like "attach --help names --cgroup" "$attach" '^ +--cgroup PATH'
nh_is "run --help names every run option nethook --help names" \
	"$(comm -23 <(options "$(sed -n '/^  run /,/^  attach /{/^  attach /!p}' <<<"$main")") <(options "$run"))" ""

# the pages, where help2man was there at build time
man1=$NH_BUILD/src/cli/nethook.1
man2=$NH_BUILD/src/cli/nethook-packet.1
if [ -f "$man1" ] && [ -f "$man2" ]; then
	# groff escapes each "-" as "\-"
	page1=$(sed 's/\\-/-/g' "$man1")
	page2=$(sed 's/\\-/-/g' "$man2")
	nh_is "nethook(1) names every option of nethook --help" \
		"$(comm -23 <(options "$main") <(options "$page1"))" ""
	nh_is "nethook-packet(1) names every option of nethook packet --help" \
		"$(comm -23 <(options "$packet") <(options "$page2"))" ""
	nh_like "nethook(1) has its security section" "$page1" '^\.SH SECURITY'
	nh_like "nethook-packet(1) is titled so" "$page2" '^\.TH NETHOOK-PACKET '
else
	nh_fail "the manual pages were built" "no $man1 or $man2 (help2man missing?)"
fi

nh_done
