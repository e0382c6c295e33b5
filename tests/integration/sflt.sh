# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers of the socket filter tests (tests/integration/test_sflt_*.sh),
# sourced after lib.sh.  They drive tests/progs/nh-sflt, which prints its
# counters as key=value lines (see the comment at its top).

NH_SFLT=$NH_PROGS/nh-sflt
NH_SFLT_ERR=$NH_TMP/sflt.err		# stderr of the last nh_sflt
NH_SFLT_ALLERR=$NH_TMP/sflt.allerr	# stderr of all of them

nh_sflt_require() {
	nh_require_nethook
	[ -x "$NH_SFLT" ] || nh_bail "no test program $NH_SFLT"
}

# nh_sflt NS ARGS...: run nh-sflt in namespace NS, bounded in time
# (NH_TIMEOUT seconds, default 60); stdout is its own, stderr goes to
# $NH_SFLT_ERR (and is kept in $NH_SFLT_ALLERR).
nh_sflt() {
	local ns=$1 rc
	shift
	timeout -k 5 "${NH_TIMEOUT:-60}" \
		nsenter "--net=/run/netns/$NH_ID$ns" -- "$NH_SFLT" "$@" \
		2>"$NH_SFLT_ERR"
	rc=$?
	{
		echo "### nh-sflt $*"
		cat "$NH_SFLT_ERR"
	} >>"$NH_SFLT_ALLERR"
	return "$rc"
}

# nh_kv TEXT KEY: value of the KEY=value line of TEXT.
nh_kv() {
	printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1
}

# nh_kvs TEXT KEY...: "KEY=value ..." for the keys, on one line.
nh_kvs() {
	local t=$1 k out=
	shift
	for k in "$@"; do
		out+="$k=$(nh_kv "$t" "$k") "
	done
	echo "${out% }"
}

# nh_sflt_sanitizers: last check of a file: no sanitizer (ASan, LSan,
# UBSan) report from any nh-sflt run (they matter with NH_BUILD=build-asan).
nh_sflt_sanitizers() {
	local f=$NH_SFLT_ALLERR
	[ -f "$f" ] || : >"$f"
	nh_unlike "no sanitizer report from nh-sflt ($(basename "$NH_BUILD"))" \
		"$(cat "$f")" 'Sanitizer|runtime error:'
	if grep -Eq 'Sanitizer|runtime error:' "$f"; then
		grep -E -B2 -A25 'Sanitizer|runtime error:' "$f" | head -n 60 |
			sed 's/^/#   /'
	fi
}

# nh_now: a timestamp; nh_secs T0 T1: seconds between two, 3 decimals.
nh_now() { date +%s.%N; }
nh_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
