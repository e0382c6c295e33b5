#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --block: TCP and connected UDP connect() fail with
# ECONNREFUSED, an unconnected sendto() with EPERM; IPv4, IPv6 and
# IPv4-mapped destinations; ports and prefixes.  The blocked server is
# reachable, so every refusal comes from nethook.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

peer=$NH_PROGS/nh-peer
udp=$NH_PROGS/nh-udp
s4=$NH_SERVER4
s6=$NH_SERVER6

# Without nethook everything below gets through.
nh_is "without nethook: TCP connect succeeds" \
	"$(nh_in c "$peer" "$s4" 80)" "peer=$s4:80"
nh_is "without nethook: connected UDP send succeeds" \
	"$(nh_in c "$udp" -c "$s4" 5353)" ok
nh_is "without nethook: unconnected sendto succeeds" \
	"$(nh_in c "$udp" "$s4" 5353)" ok

# block SPEC, then: name, expected output, program and arguments
while IFS='|' read -r spec name want args; do
	[ -n "$spec" ] || continue
	# shellcheck disable=SC2086
	got=$(nh_nethook c run --block "$spec" -- $args 2>"$NH_TMP/err")
	if [ "$got" = "$want" ]; then
		nh_ok "--block $spec: $name"
	else
		nh_fail "--block $spec: $name" "got:  $got" "want: $want" \
			"command: $args" "stderr: $(cat "$NH_TMP/err")"
	fi
done <<EOF2
$s4|TCP connect|errno=ECONNREFUSED|$peer $s4 80
$s4|connected UDP|errno=ECONNREFUSED|$udp -c $s4 5353
$s4|unconnected sendto|errno=EPERM|$udp $s4 5353
$s4:80|TCP to another port passes|peer=$s4:8080|$peer $s4 8080
$s4:5353|UDP to another port passes|ok|$udp $s4 53
$s4:8000-8100|TCP in the port range|errno=ECONNREFUSED|$peer $s4 8080
$s4:8000-8100|TCP below the port range passes|peer=$s4:80|$peer $s4 80
192.0.2.0/24|TCP in the prefix|errno=ECONNREFUSED|$peer $s4 80
192.0.2.0/25:80|TCP in prefix and port|errno=ECONNREFUSED|$peer $s4 80
198.51.100.0/24|TCP outside the prefix passes|peer=$s4:80|$peer $s4 80
[$s6]|IPv6 TCP connect|errno=ECONNREFUSED|$peer $s6 80
[$s6]|IPv6 connected UDP|errno=ECONNREFUSED|$udp -c $s6 5353
[$s6]|IPv6 unconnected sendto|errno=EPERM|$udp $s6 5353
[2001:db8:1::/64]:80|IPv6 prefix and port|errno=ECONNREFUSED|$peer $s6 80
[$s6]:80|IPv6 other port passes|peer=[$s6]:8080|$peer $s6 8080
$s4|v4-mapped TCP (IPv4 spec)|errno=ECONNREFUSED|$peer -6 $s4 80
$s4|v4-mapped connected UDP|errno=ECONNREFUSED|$udp -6 -c $s4 5353
$s4|v4-mapped unconnected sendto|errno=EPERM|$udp -6 $s4 5353
[$s6]|IPv6 spec leaves IPv4 alone|peer=$s4:80|$peer $s4 80
$s4|IPv4 spec leaves IPv6 alone|peer=[$s6]:80|$peer $s6 80
EOF2

# A real client: curl fails to connect and the server sees nothing.
before=$(nh_access_count)
nh_nethook c run --block "$s4:80" -- curl -s -m 5 -o /dev/null "http://$s4/who"
nh_is "curl to a blocked server: exit status 7 (cannot connect)" "$?" 7
nh_is "curl to a blocked server: the server saw no request" \
	"$(nh_access_count)" "$before"

# --block with --redirect: the block is checked first.
got=$(nh_nethook c run --redirect "$s4:80" --block "$NH_FAR4" -- \
	"$peer" "$NH_FAR4" 80)
nh_is "--block wins over --redirect" "$got" errno=ECONNREFUSED

nh_done
