#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# libnethook exports what its public headers declare, nothing more and
# nothing less: the export list (src/lib/libnethook.map) names each
# symbol, and a function declared in include/nethook/*.h that the library
# does not export, or an exported one no header declares, fails here.

. "$(dirname "$0")/lib.sh"

lib=$NH_BUILD/src/lib/libnethook.so
[ -f "$lib" ] || nh_bail "no $lib (build it)"
command -v nm >/dev/null || nh_bail "nm (binutils) is not installed"

exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" { sub(/@.*/, "", $3); print $3 }' | sort -u)
declared=$(cat "$NH_SRCDIR"/include/nethook/*.h |
	grep -oE '\bnh_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u)
listed=$(grep -oE '^[[:space:]]+nh_[a-z0-9_]+;' "$NH_SRCDIR/src/lib/libnethook.map" |
	tr -d ' \t;' | sort -u)

nh_is "every exported symbol is declared in a public header" \
	"$(comm -23 <(echo "$exported") <(echo "$declared"))" ""
nh_is "every function a public header declares is exported" \
	"$(comm -13 <(echo "$exported") <(echo "$declared"))" ""
nh_is "the export list names each exported symbol" \
	"$(comm -3 <(echo "$exported") <(echo "$listed"))" ""
nh_unlike "the export list has no wildcard" \
	"$(cat "$NH_SRCDIR/src/lib/libnethook.map")" 'nh_\*'

nh_done
