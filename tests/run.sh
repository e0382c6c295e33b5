#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The single entry point of nethook's tests.
#
#   tests/run.sh [--build DIR] [--unit] [--integration] [--quick]
#                [--filter SUBSTR]
#
# --build DIR      build directory (default: build, next to tests/)
# --unit           run the unit tests (DIR/tests/unit/test_*)
# --integration    run the integration tests (tests/integration/test_*.sh,
#                  as root)
#                  (neither: both)
# --quick          NH_QUICK=1: integration tests leave out their heaviest
#                  cases
# --filter SUBSTR  only the unit programs / integration files whose name
#                  contains SUBSTR
#
# Prints every line of every test, the failures again, and ends with one line
# "N passed, N failed" (", N skipped" when some were), counting every test
# case of both suites; exits 1 when any failed.

set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRCDIR/build
FILTER=
QUICK=
want_unit=0
want_integ=0
FILE_LIMIT=600

usage() {
	sed -n '4,22s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) [ $# -ge 2 ] || usage; BUILD=$2; shift ;;
	--build=*) BUILD=${1#*=} ;;
	--unit) want_unit=1 ;;
	--integration) want_integ=1 ;;
	--quick) QUICK=1 ;;
	--filter) [ $# -ge 2 ] || usage; FILTER=$2; shift ;;
	--filter=*) FILTER=${1#*=} ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
if [ "$want_unit" = 0 ] && [ "$want_integ" = 0 ]; then
	want_unit=1
	want_integ=1
fi
if ! [ -d "$BUILD" ]; then
	echo "not ok - build directory $BUILD exists (meson setup build && ninja -C build)"
	echo "0 passed, 1 failed"
	exit 1
fi
BUILD=$(cd "$BUILD" && pwd)

passed=0
failed=0
skipped=0
LOG=$(mktemp "/tmp/nethook-run.XXXXXX") || exit 2
FAILS=$(mktemp "/tmp/nethook-fails.XXXXXX") || exit 2
trap 'rm -f "$LOG" "$FAILS"' EXIT

# fail_one WHAT: a failure that no test line reported.
fail_one() {
	echo "not ok - $1"
	echo "not ok - $1" >>"$FAILS"
	failed=$((failed + 1))
}

# count LOG: add the log's result lines to the totals.  Results are
# "ok N ..." / "not ok N ..." (cmocka TAP) and "ok - ..." / "not ok - ..."
# (integration); "# SKIP" in a result line makes it skipped.
# Sets file_failed to the failures found.
count() {
	local p f s
	read -r p f s < <(awk '
		/^(not )?ok( [0-9]+)?( - | #|$)/ && !/^ok$/ && !/^not ok$/ {
			if ($0 ~ /# SKIP/) s++
			else if ($0 ~ /^not ok/) f++
			else p++
		}
		END { print p + 0, f + 0, s + 0 }' "$1")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	file_results=$((p + f + s))
	file_failed=$f
}

# run_one NAME CMD...: run a test program, show and count its results.
run_one() {
	local name=$1 rc
	shift
	timeout -k 10 "$FILE_LIMIT" "$@" </dev/null 2>&1 | tee "$LOG"
	rc=${PIPESTATUS[0]}
	count "$LOG"
	# each failure with the lines that explain it
	awk -v n="$name" '/^not ok/ && !/# SKIP/ { sub(/^not ok/, "not ok (" n ")"); print; k = 4; next }
		/^#   / && k > 0 { print; k--; next } { k = 0 }' "$LOG" >>"$FAILS"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail_one "$name: killed after the ${FILE_LIMIT}s time limit"
	elif [ "$rc" -ne 0 ] && [ "$file_failed" -eq 0 ]; then
		fail_one "$name: exited with status $rc"
	elif [ "$file_results" -eq 0 ]; then
		fail_one "$name: reported no results"
	fi
}

wanted() {
	[ -z "$FILTER" ] || [[ $(basename "$1") == *"$FILTER"* ]]
}

run_unit() {
	local t found=0
	for t in "$BUILD"/tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		found=1
		wanted "$t" || continue
		echo "# unit: $(basename "$t")"
		CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit/$(basename "$t")" "$t"
	done
	[ "$found" = 1 ] || fail_one "unit: no test programs in $BUILD/tests/unit"
	# the fuzz targets' corpora, replayed (tests/fuzz/README.md)
	for t in "$BUILD"/tests/fuzz/test_fuzz_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		wanted "$t" || continue
		echo "# unit: $(basename "$t")"
		run_one "fuzz/$(basename "$t")" "$t"
	done
}

# Remove what integration runs killed with SIGKILL left: namespaces
# nht<PID><name>, cgroups nht<PID> and temp dirs /tmp/nht<PID>.* of test
# shells that no longer exist.
sweep_dead_runs() {
	local ns pid mnt d pids
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		[[ $ns =~ ^nht([0-9]+)[a-z] ]] || continue
		pid=${BASH_REMATCH[1]}
		[ -d "/proc/$pid" ] && continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null && echo "# swept netns $ns"
	done
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	for d in "$mnt"/nht* "$mnt"/*/nht*; do
		[ -d "$d" ] && [[ $(basename "$d") =~ ^nht([0-9]+)$ ]] || continue
		[ -d "/proc/${BASH_REMATCH[1]}" ] && continue
		pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null &&
			echo "# swept cgroup $d"
	done
	for d in /tmp/nht*.*; do
		[ -d "$d" ] && [[ $(basename "$d") =~ ^nht([0-9]+)\. ]] || continue
		[ -d "/proc/${BASH_REMATCH[1]}" ] || rm -rf -- "$d"
	done
}

run_integration() {
	local t name
	for t in "$SRCDIR"/tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		wanted "$t" || continue
		name=integration/$(basename "$t")
		echo "# $name"
		if [ "$(id -u)" -ne 0 ]; then
			fail_one "$name # needs root: run tests/run.sh as root"
			continue
		fi
		NETHOOK=$BUILD/src/cli/nethook NH_BUILD=$BUILD NH_QUICK=$QUICK \
			run_one "$name" bash "$t"
		sweep_dead_runs
	done
}

[ "$want_unit" = 1 ] && run_unit
[ "$want_integ" = 1 ] && run_integration

# the failures again, where the end of a long log shows them
if [ -s "$FAILS" ]; then
	echo "# failed in this run:"
	sed 's/^/#   /' "$FAILS"
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
