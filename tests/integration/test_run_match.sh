#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Which connections nethook run rewrites: --match (default: everything
# but loopback), --exclude (wins over --match), --block (checked first),
# ports and prefixes, IPv4 specs on v4-mapped destinations.  Each row runs
# nh-peer; "web" means it was redirected to the server, "local" that it
# reached the client's own loopback server, errno=... that it failed.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

# Body of the reply to GET /who, or errno=NAME.
outcome() {
	local out
	out=$(nh_nethook c run "$@" 2>"$NH_TMP/err")
	case $out in
	errno=*) echo "$out" ;;
	*) printf '%s\n' "$out" | tail -n 1 ;;
	esac
}

to4="--redirect $NH_SERVER4:80"
to6="--redirect [$NH_SERVER6]:80"
far=$NH_FAR4
peer=("$NH_PROGS/nh-peer" -s 'GET /who HTTP/1.0\r\n\r\n')
set -f	# the specs below are words, not globs

# OPTIONS | nh-peer ARGS | expected
while IFS='|' read -r opts args want; do
	[ -n "$opts" ] || continue
	# shellcheck disable=SC2086
	got=$(outcome $opts -- "${peer[@]}" $args)
	name="$opts -> $args: $want"
	if [ "$got" = "$want" ]; then
		nh_ok "$name"
	else
		nh_fail "$name" "got: $got" "stderr: $(cat "$NH_TMP/err")"
	fi
done <<EOF2
$to4|$far 80|web
$to4 --match 198.51.100.0/24|$far 80|web
$to4 --match 198.51.100.0/24|203.0.113.9 80|errno=ENETUNREACH
$to4 --match 198.51.100.0/24 --match 203.0.113.0/24|203.0.113.9 80|web
$to4 --match 198.51.100.0/24 --exclude $far|$far 80|errno=ENETUNREACH
$to4 --match 198.51.100.0/24 --exclude $far|198.51.100.8 80|web
$to4 --exclude $far --match 198.51.100.0/24|$far 80|errno=ENETUNREACH
$to4 --exclude 198.51.100.0/24|203.0.113.9 80|web
$to4 --match 198.51.100.0/24:8000-8100|$far 8080|web
$to4 --match 198.51.100.0/24:8000-8100|$far 80|errno=ENETUNREACH
$to4 --match 198.51.100.0/24 --exclude $far:8080|$far 8080|errno=ENETUNREACH
$to4 --match 198.51.100.0/24 --exclude $far:8080|$far 80|web
$to4 --match 198.51.100.0/24 --block 198.51.100.8|198.51.100.8 80|errno=ECONNREFUSED
$to4 --exclude 198.51.100.8 --block 198.51.100.8|198.51.100.8 80|errno=ECONNREFUSED
$to4|127.0.0.1 80|local
$to4|::1 80|local
$to4|-6 127.0.0.1 80|local
$to4 --match 127.0.0.0/8|127.0.0.1 80|web
$to4 --match 198.51.100.0/24|-6 $far 80|web
$to4 --match 198.51.100.0/24 --exclude $far|-6 $far 80|errno=ENETUNREACH
$to6 --match [2001:db8:ff::/48]|$NH_FAR6 80|web
$to6 --match [2001:db8:ff::/48]:80|$NH_FAR6 80|web
$to6 --match [2001:db8:ff::/48]:81|$NH_FAR6 80|errno=ENETUNREACH
$to6 --match [2001:db8:ff::/48] --exclude [$NH_FAR6]|$NH_FAR6 80|errno=ENETUNREACH
$to6 --match [2001:db8:ff::/48]|-6 $far 80|errno=ENETUNREACH
EOF2

nh_done
