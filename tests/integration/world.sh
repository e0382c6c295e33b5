# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034
#
# The standard world of the `nethook run` tests (sourced by lib.sh).
#
#   namespace c (client)  <-- veth -->  namespace s (server)
#   c: 192.0.2.1/24  2001:db8:1::1/64   s: 192.0.2.2/24  2001:db8:1::2/64
#
#   nginx "web" in s on port 80 and 8080 of 192.0.2.2 and 2001:db8:1::2,
#     serving who ("web"), index.html, small.txt (1000 random bytes),
#     big.bin (2 MiB random)
#   nginx "local" in c on 127.0.0.1:80 and [::1]:80, serving who ("local")
#   c has no route to 198.51.100.0/24, 203.0.113.0/24 or 2001:db8:ff::/48
#   and no default route: connect() from c to NH_FAR4/NH_FAR6 fails with
#   ENETUNREACH unless nethook rewrites it.

NH_CLIENT4=192.0.2.1
NH_CLIENT6=2001:db8:1::1
NH_SERVER4=192.0.2.2
NH_SERVER6=2001:db8:1::2
NH_FAR4=198.51.100.7
NH_FAR6=2001:db8:ff::7

nh_world_web() {
	nh_netns c s
	nh_link c s
	nh_addr c to-s "$NH_CLIENT4/24" "$NH_CLIENT6/64"
	nh_addr s to-c "$NH_SERVER4/24" "$NH_SERVER6/64"
	nh_nginx s web "$NH_SERVER4:80" "$NH_SERVER4:8080" "[$NH_SERVER6]:80" \
		"[$NH_SERVER6]:8080"
	nh_mkfile web small.txt 1000
	nh_mkfile web big.bin $((2 * 1024 * 1024))
	nh_nginx c local "127.0.0.1:80" "[::1]:80"
	# Preconditions the tests rely on.
	nh_in c curl -sf -m 5 -o /dev/null "http://$NH_SERVER4/who" ||
		nh_bail "client cannot reach the server directly"
	nh_in c curl -sf -m 5 -o /dev/null -g "http://[$NH_SERVER6]/who" ||
		nh_bail "client cannot reach the server over IPv6"
	! nh_in c curl -s -m 3 -o /dev/null "http://$NH_FAR4/who" ||
		nh_bail "$NH_FAR4 is reachable from the client"
	if nh_in c ip route show | grep -q '^default' ||
		nh_in c ip -6 route show | grep -q '^default'; then
		nh_bail "client namespace has a default route"
	fi
}

# nh_web_file NAME: path of a file served by "web".
nh_web_file() { echo "$(nh_www web)/$1"; }

# nh_access_count: requests "web" has logged so far.
nh_access_count() {
	local f=$NH_TMP/nginx-web/access.log
	[ -f "$f" ] && wc -l <"$f" || echo 0
}
