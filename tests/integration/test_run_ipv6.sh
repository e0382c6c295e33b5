#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --redirect with IPv6 destinations, IPv4 through AF_INET6
# sockets (v4-mapped, handled by connect6), and redirects across families.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

peer=$NH_PROGS/nh-peer
get_who='GET /who HTTP/1.0\r\n\r\n'

# IPv6 destination redirected to the IPv6 server.
out=$NH_TMP/small6.out
nh_nethook c run --redirect "[$NH_SERVER6]:80" -- \
	curl -sS -m 10 -g -o "$out" "http://[$NH_FAR6]/small.txt"
nh_is "IPv6 curl redirected: exit status 0" "$?" 0
nh_same_file "IPv6 curl redirected: body is the served file" "$out" \
	"$(nh_web_file small.txt)"
nh_like "IPv6 curl redirected: server saw the client's IPv6 address" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" \
	"^$NH_CLIENT6 $NH_SERVER6:80 \"GET /small.txt "

got=$(nh_nethook c run --redirect "[$NH_SERVER6]:80" -- \
	"$peer" -s "$get_who" "$NH_FAR6" 80)
nh_like "IPv6 getpeername after redirect: original destination" "$got" \
	"^peer=\\[$NH_FAR6\\]:80\$"
nh_like "IPv6 redirect: reply from the server" "$got" '^web$'

# IPv4 destination on an AF_INET6 socket (::ffff:a.b.c.d).
got=$(nh_nethook c run --redirect "$NH_SERVER4:80" -- \
	"$peer" -6 -s "$get_who" "$NH_FAR4" 80)
nh_like "v4-mapped on AF_INET6 socket: getpeername original" "$got" \
	"^peer=\\[::ffff:$NH_FAR4\\]:80\$"
nh_like "v4-mapped on AF_INET6 socket: redirected to the server" "$got" \
	'^web$'
nh_like "v4-mapped: server saw an IPv4 client" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" "^$NH_CLIENT4 $NH_SERVER4:80 "

# The kernel can redirect an AF_INET6 socket to a real IPv6 address.
got=$(nh_nethook c run --redirect "[$NH_SERVER6]:80" -- \
	"$peer" -6 -s "$get_who" "$NH_FAR4" 80)
nh_like "v4-mapped destination redirected to an IPv6 server" "$got" '^web$'

# An AF_INET6 socket can reach an IPv4 target as ::ffff:a.b.c.d.
got=$(nh_nethook c run --redirect "$NH_SERVER4:80" -- \
	"$peer" -s "$get_who" "$NH_FAR6" 80)
nh_like "IPv6 destination, IPv4 target: getpeername original" "$got" \
	"^peer=\\[$NH_FAR6\\]:80\$"
nh_like "IPv6 destination, IPv4 target: reaches the server" "$got" '^web$'

# Across families the kernel cannot do: EAFNOSUPPORT.
got=$(nh_nethook c run --redirect "[$NH_SERVER6]:80" -- "$peer" "$NH_FAR4" 80)
nh_is "IPv4 socket, IPv6 target: EAFNOSUPPORT" "$got" errno=EAFNOSUPPORT

nh_done
