#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# scripts/build.sh [DIR [MESON OPTIONS...]]: configure once, then build.
# Quiet when all is well; the whole log when not.  Development and CI
# builds turn warnings into errors (-Dwerror=true); a user's plain
# `meson setup` does not, so a newer compiler's new warning cannot stop
# someone from building nethook.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ ! -f "$dir/build.ninja" ]; then
	if ! meson setup "$dir" -Dwerror=true "$@" >"$log" 2>&1; then
		cat "$log" >&2
		echo "build.sh: meson setup $dir failed" >&2
		exit 1
	fi
fi
if ! ninja -C "$dir" >"$log" 2>&1; then
	cat "$log" >&2
	echo "build.sh: ninja -C $dir failed" >&2
	exit 1
fi
