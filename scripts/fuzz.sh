#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# scripts/fuzz.sh [--merge] [SECONDS [TARGET...]]: build the libFuzzer
# targets with clang under ASan/UBSan (build-fuzz/) and run each for
# SECONDS (default 30) from its committed corpus.  New inputs go to a
# scratch folder; --merge adds those that reach new code to
# tests/fuzz/corpus/TARGET (for a developer growing the corpus, not CI).
# Prints "ok - fuzz NAME ..." or "not ok - fuzz NAME ..." per target
# (a finding: the crashing input is kept under build-fuzz/findings/) and
# exits 1 when any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."
merge=0
if [ "${1:-}" = --merge ]; then
	merge=1
	shift
fi
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(proxy spec pkt pcapf shape dns)

command -v clang >/dev/null || { echo "not ok - fuzz: clang is not installed"; exit 1; }
CC=clang scripts/build.sh build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug || { echo "not ok - fuzz: build"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
for t in "${targets[@]}"; do
	bin=build-fuzz/tests/fuzz/fuzz_$t
	corpus=tests/fuzz/corpus/$t
	scratch=$(mktemp -d "/tmp/nethook-fuzz-$t.XXXXXX")
	findings=build-fuzz/findings/$t
	mkdir -p "$findings"
	log=$scratch.log
	if timeout -k 10 $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
		"$scratch" "$corpus" >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "ok - fuzz $t: ${secs} s, ${execs:-?} inputs, no finding"
	else
		echo "not ok - fuzz $t: a finding (under $findings)"
		grep -E 'ERROR|SUMMARY|check failed' "$log" | head -n 5 | sed 's/^/#   /'
		rc=1
	fi
	if [ "$merge" = 1 ]; then
		"$bin" -merge=1 "$corpus" "$scratch" >/dev/null 2>&1
		echo "# fuzz $t: corpus now $(find "$corpus" -type f | wc -l) inputs"
	fi
	rm -rf "$scratch" "$log"
done
exit "$rc"
