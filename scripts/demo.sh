#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A self-contained demonstration of nethook's main job, as root:
#   - a client that can reach only a SOCKS5 proxy host (192.0.2.10),
#   - a web server at 198.51.100.7 that only the proxy host can reach,
#   - curl (dynamic) and busybox wget (static) fetch from the web server
#     through the proxy under `nethook run --proxy`, unchanged and unaware;
#   - the same with `--handoff`: the tunnel opened on wget's own socket;
#   - the same fetch redirected in the kernel with `--redirect`;
#   - a blocked destination, one program's packets delayed, and the
#     monitor's per-connection log.
# Everything lives in throwaway network namespaces, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh build
N=${NETHOOK:-$PWD/build/src/cli/nethook}
id=nhdemo$$
tmp=$(mktemp -d)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in c p w; do ip netns del "$id$ns" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$id$ns" -- "$@"; }
# in the background, recording the server's own pid (nsenter execs it)
bg_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$id$ns" -- "$@" </dev/null >/dev/null 2>&1 &
	pids+=($!)
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# client c <-> proxy host p <-> web server w; c has no route to w
for ns in c p w; do ip netns add "$id$ns"; ip -n "$id$ns" link set lo up; done
ip link add "${id}cp" type veth peer name "${id}pc"
ip link add "${id}pw" type veth peer name "${id}wp"
ip link set "${id}cp" netns "${id}c"
ip link set "${id}pc" netns "${id}p"
ip link set "${id}pw" netns "${id}p"
ip link set "${id}wp" netns "${id}w"
ip -n "${id}c" addr add 192.0.2.1/24 dev "${id}cp"
ip -n "${id}p" addr add 192.0.2.10/24 dev "${id}pc"
ip -n "${id}p" addr add 198.51.100.1/24 dev "${id}pw"
ip -n "${id}w" addr add 198.51.100.7/24 dev "${id}wp"
ip -n "${id}c" link set "${id}cp" up
ip -n "${id}p" link set "${id}pc" up
ip -n "${id}p" link set "${id}pw" up
ip -n "${id}w" link set "${id}wp" up

mkdir -p "$tmp/www"
echo "hello from 198.51.100.7, reached through the proxy" >"$tmp/www/index.html"
nginx_conf() { # NAME LISTEN
	cat >"$tmp/$1.conf" <<NGINX
daemon off; master_process off; worker_processes 1;
pid $tmp/$1.pid; error_log $tmp/$1.err;
events { worker_connections 64; }
http { access_log $tmp/$1.log; client_body_temp_path $tmp/b;
  proxy_temp_path $tmp/p; fastcgi_temp_path $tmp/f; uwsgi_temp_path $tmp/u;
  scgi_temp_path $tmp/s;
  server { listen $2; root $tmp/www; } }
NGINX
}
nginx_conf web 198.51.100.7:80
bg_ns w nginx -p "$tmp" -c "$tmp/web.conf" -e "$tmp/web.err"
# the same page on the proxy host too, for the --redirect part
nginx_conf local 192.0.2.10:8080
bg_ns p nginx -p "$tmp" -c "$tmp/local.conf" -e "$tmp/local.err"
bg_ns p microsocks -i 192.0.2.10 -p 1080
sleep 1

say "without nethook, the client cannot reach 198.51.100.7"
in_ns c curl -sS -m 2 http://198.51.100.7/ || true

say "nethook run --proxy socks5://192.0.2.10:1080 -- curl http://198.51.100.7/"
in_ns c "$N" run --proxy socks5://192.0.2.10:1080 --log - -- \
	curl -sS -m 5 http://198.51.100.7/

say "a static binary (busybox wget) is caught the same way"
file -L "$(command -v busybox)" | sed 's/,.*static.*/: statically linked/'
in_ns c "$N" run --proxy socks5://192.0.2.10:1080 -- \
	busybox wget -q -O - http://198.51.100.7/

say "nethook run --handoff --proxy ...: the tunnel opened on the program's own socket, no relay hop"
in_ns c "$N" run --handoff --proxy socks5://192.0.2.10:1080 --log - -- \
	busybox wget -q -O - http://198.51.100.7/

say "nethook run --redirect 192.0.2.10:8080 -- curl http://198.51.100.7/  (rewritten in the kernel)"
in_ns c "$N" run --redirect 192.0.2.10:8080 --log - -- \
	curl -sS -m 5 http://198.51.100.7/

say "nethook run --block 198.51.100.0/24 -- curl http://198.51.100.7/"
in_ns c "$N" run --block 198.51.100.0/24 --log - -- \
	curl -sS -m 5 http://198.51.100.7/ || true

say "nethook packet --delay 100 --filter icmp -- ping: that program's packets only"
in_ns c busybox ping -c 3 -q 192.0.2.10 | tail -1
in_ns c "$N" packet --delay 100 --filter icmp -- busybox ping -c 3 -q 192.0.2.10 |
	tail -1

say "monitor: nethook run -- sh -c 'curl ...; curl ...' (one line per connection)"
in_ns c "$N" run --json -- sh -c \
	'curl -s -o /dev/null http://192.0.2.10:8080/; curl -s -o /dev/null http://192.0.2.10:8080/index.html'
echo
