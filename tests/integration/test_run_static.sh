#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Statically linked clients (which LD_PRELOAD tools cannot hook) are
# redirected like any other: nh-static-get and Debian's busybox-static.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

sget=$NH_PROGS/nh-static-get
bb=$(command -v busybox)

nh_like "nh-static-get is statically linked" "$(file -L "$sget")" \
	'statically linked'
got=$(nh_in c "$sget" -t 3 "http://$NH_FAR4/who" 2>&1)
nh_like "nh-static-get cannot reach $NH_FAR4 without nethook" "$got" \
	'errno=ENETUNREACH'

out=$NH_TMP/static.out
nh_nethook c run --redirect "$NH_SERVER4:80" -- "$sget" "http://$NH_FAR4/big.bin" >"$out"
nh_is "nh-static-get redirected: exit status 0" "$?" 0
nh_same_file "nh-static-get redirected: body is the served file" "$out" \
	"$(nh_web_file big.bin)"

got=$(nh_nethook c run --redirect "[$NH_SERVER6]:80" -- \
	"$sget" "http://[$NH_FAR6]/who")
nh_is "nh-static-get redirected over IPv6" "$got" web

if [ -z "$bb" ] || ! file -L "$bb" | grep -q 'statically linked'; then
	nh_fail "busybox-static is installed" "no static busybox in PATH"
else
	nh_ok "busybox is statically linked"
	out=$NH_TMP/bb.out
	# (busybox 1.35's wget -T crashes; timeout bounds it instead)
	nh_nethook c run --redirect "$NH_SERVER4:80" -- \
		timeout 15 "$bb" wget -q -O - "http://$NH_FAR4/small.txt" >"$out"
	nh_is "busybox wget redirected: exit status 0" "$?" 0
	nh_same_file "busybox wget redirected: body is the served file" \
		"$out" "$(nh_web_file small.txt)"
fi

nh_done
