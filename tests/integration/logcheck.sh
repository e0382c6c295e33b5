# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034
#
# Reading nethook's event log (docs/log-schema.md) in tests.

# The fields of an event line documented in docs/log-schema.md (rows "|
# `name` | type |" of its first table: the later ones are the dns line's).
NH_LOG_FIELDS=$(sed -n '/^## /q; s/^| `\([a-z_]*\)` |.*/\1/p' \
	"$NH_SRCDIR/docs/log-schema.md" 2>/dev/null | paste -sd ' ')
NH_TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$'

# nh_tfield LINE KEY: value of key=value in a text log line ("" if absent).
nh_tfield() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# nh_tevents FILE EVENT: text lines of that event ("TS EVENT ...").
nh_tevents() {
	awk -v e="$2" '$2 == e' "$1"
}

# nh_jevents FILE EVENT: JSON lines of that event.
nh_jevents() {
	jq -c --arg e "$2" 'select(.event == $e)' "$1"
}

# nh_between LOW NUMBER HIGH: LOW <= NUMBER <= HIGH (decimals allowed).
nh_between() {
	awk -v l="$1" -v n="$2" -v h="$3" \
		'BEGIN { exit !(n ~ /^[0-9]+(\.[0-9]+)?$/ && n + 0 >= l && n + 0 <= h) }'
}

# nh_positive NUMBER
nh_positive() {
	awk -v n="$1" 'BEGIN { exit !(n ~ /^[0-9]+(\.[0-9]+)?$/ && n + 0 > 0) }'
}
