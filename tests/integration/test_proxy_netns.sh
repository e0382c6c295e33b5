#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# A hooked socket in another network namespace than the relay's (issue 3):
# the process is in nethook's cgroup, so its connect is hooked, but the
# relay on this namespace's loopback cannot serve it.  It must be refused
# in the kernel with ENETUNREACH and logged -- never sent direct, even
# when that namespace has a direct path to the destination.  Needs root.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world
nhp_microsocks ms "$NHP_P4" 1081

# "o": another namespace with a direct path to the web server
nh_netns o
nh_link o w
nh_addr o to-w 198.51.100.20/24
nh_addr w to-o 198.51.100.21/24
nh_route o "$NHP_W4/32" 198.51.100.21
o_ns=/run/netns/$(nh_ns o)
log=$NH_TMP/log
who="http://$NHP_W4/who"
access=$NH_TMP/nginx-web/access.log

got=$(nsenter --net="$o_ns" -- curl -sS -m 5 "$who" 2>&1)
nh_is "the other namespace reaches the web server directly (control)" \
	"$got" "web"
before=$(grep -c '^198\.51\.100\.20 ' "$access")

# The client program joins the other namespace from inside the cgroup.
start=$(nhp_ms)
out=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" --log "$log" -- \
	nsenter --net="$o_ns" -- "$NH_PROGS/nh-peer" "$NHP_W4" 80 2>&1)
rc=$?
elapsed=$(($(nhp_ms) - start))
nh_is "hooked socket in another netns: connect fails, ENETUNREACH" \
	"$rc $(grep -o 'errno=[A-Z]*' <<<"$out")" "1 errno=ENETUNREACH"
nh_check "hooked socket in another netns: refused at once (${elapsed} ms)" \
	test "$elapsed" -lt 3000
line=$(awk '$2 == "block"' "$log" | tail -1)
nh_is "hooked socket in another netns: logged as blocked with ENETUNREACH" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" error)" \
	"$NHP_W4:80 ENETUNREACH"
nh_is "hooked socket in another netns: nothing reached the web server" \
	"$(grep -c '^198\.51\.100\.20 ' "$access")" "$before"

# And curl, the same.
out=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- \
	nsenter --net="$o_ns" -- curl -sS -m 5 "$who" 2>&1)
nh_is "curl in another netns under --proxy: exit 7 (could not connect)" \
	"$?" 7
nh_is "curl in another netns: still nothing at the web server" \
	"$(grep -c '^198\.51\.100\.20 ' "$access")" "$before"

# The same process tree in the relay's namespace is proxied as usual.
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" -- curl -sS -m 5 "$who")
nh_is "in the relay's namespace the same command is proxied" "$got" "web"
nh_done
