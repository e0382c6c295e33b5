#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install, build, and run every test: the whole suite on a normal build,
# then again under ASan/UBSan without the heaviest cases, then each fuzz
# target under libFuzzer for 30 s (NH_FUZZ_SECONDS).  Needs root for the
# integration tests.  Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1
scripts/build.sh build || exit 1
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug || exit 1
# built, not run: a release build's optimiser warns where others do not
scripts/build.sh build-release -Dbuildtype=release || exit 1

total_pass=0 total_fail=0 total_skip=0
fails=$(mktemp)
trap 'rm -f "$fails"' EXIT
run_suite() {
	local label=$1 out
	shift
	out=$(mktemp)
	echo "=== $label"
	tests/run.sh "$@" 2>&1 | tee "$out"
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
	if [ -z "$line" ]; then
		echo "# $label: the runner printed no summary"
		total_fail=$((total_fail + 1))
	else
		local p f s
		p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + f))
		total_skip=$((total_skip + ${s:-0}))
	fi
	awk -v label="$label" '/^# failed in this run:/ { on = 1; next }
		on && /^[0-9]+ passed/ { on = 0 }
		on && /^#   / { print "# " label ":" substr($0, 4) }' "$out" >>"$fails"
	rm -f "$out"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite "normal build" --build build
run_suite "ASan/UBSan build" --build build-asan --quick

# the fuzz targets under libFuzzer, bounded (CI: 30 s each); a finding fails
echo "=== fuzz (libFuzzer, ASan/UBSan)"
fz=$(mktemp)
scripts/fuzz.sh "${NH_FUZZ_SECONDS:-30}" 2>&1 | tee "$fz"
total_pass=$((total_pass + $(grep -c '^ok - fuzz' "$fz")))
total_fail=$((total_fail + $(grep -c '^not ok - fuzz' "$fz")))
grep '^not ok - fuzz' "$fz" | sed 's/^not ok - /# fuzz: /' >>"$fails"
grep -q '^\(not \)\{0,1\}ok - fuzz' "$fz" ||
	{ echo "# fuzz: nothing ran"; total_fail=$((total_fail + 1)); }
rm -f "$fz"

echo "=== all suites"
if [ -s "$fails" ]; then
	echo "# failed:"
	cat "$fails"
fi
if ((total_skip)); then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
