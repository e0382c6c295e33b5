#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --proxy http://... through tinyproxy (HTTP CONNECT, Basic
# auth), curl and the static client, IPv6 destinations, the proxy's
# refusals (403 for a port it does not CONNECT to, 407 for missing or
# wrong credentials), and chains mixing SOCKS and HTTP hops.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
nh_require_nethook
nhp_require_peers
nhp_world

# another server port the proxy host can reach but tinyproxy won't CONNECT to
nh_nginx w web81 "$NHP_W4:81"

nhp_tinyproxy tp "$NHP_P4" 8888
nhp_tinyproxy tpauth "$NHP_P4" 8889 tpuser pa-ss.1
nhp_tinyproxy tplo 127.0.0.1 8890
nhp_microsocks ms "$NHP_P4" 1081
nhp_dante dante 1080 none

small=$(nhp_web_file small.txt)
big=$(nhp_web_file big.bin)
sget=$NH_PROGS/nh-static-get
log=$NH_TMP/log
out=$NH_TMP/out

# --- tinyproxy ------------------------------------------------------------
nhp_proxied "tinyproxy" "http://$NHP_P4:8888" --proxy "http://$NHP_P4:8888"
nh_like "tinyproxy: it got a CONNECT for the destination" \
	"$(cat "$NH_TMP/tp/tinyproxy.log")" "Request .*: CONNECT $NHP_W4:80 HTTP/1\.1"
nh_like "tinyproxy: web server saw the proxy host" \
	"$(tail -n 1 "$NH_TMP/nginx-web/access.log")" "^$NHP_PW4 $NHP_W4:80 "

got=$(nh_nethook c run --proxy "http://$NHP_P4:8888" -- "$NH_PROGS/nh-peer" \
	-s 'GET /who HTTP/1.0\r\n\r\n' "$NHP_W4" 80)
nh_like "tinyproxy: getpeername() original" "$got" "^peer=$NHP_W4:80\$"
# (no reply check: nh-peer half-closes after its request, and tinyproxy
# drops the tunnel at the client's FIN, with or without nethook)

rm -f "$out"
nh_nethook c run --proxy "http://$NHP_P4:8888" -- \
	curl -sS -m 10 -o "$out" "http://$NHP_W4/big.bin"
nh_same_file "tinyproxy: 2 MiB body intact" "$out" "$big"

rm -f "$out"
nh_nethook c run --proxy "http://$NHP_P4:8888" -- \
	curl -sS -m 10 -g -o "$out" "http://[$NHP_W6]/small.txt"
nh_same_file "tinyproxy: IPv6 destination" "$out" "$small"
nh_like "tinyproxy: CONNECT [IPv6]:80" "$(cat "$NH_TMP/tp/tinyproxy.log")" \
	"CONNECT \[$NHP_W6\]:80 HTTP/1\.1"

# Basic auth (tinyproxy allows only [-a-z0-9._]; '-' percent-encoded).
nhp_proxied "tinyproxy Basic auth" "http://$NHP_P4:8889" \
	--proxy "http://tpuser:pa%2Dss.1@$NHP_P4:8889"
nh_unlike "tinyproxy Basic auth: no credentials in the log" "$(cat "$log")" \
	"tpuser|pa%2D|pa-ss|dHB1c2Vy"
# (tinyproxy 1.11 answers wrong credentials with 401, missing ones with 407)
nhp_failing "tinyproxy wrong password" "http://$NHP_W4/who" \
	"^http CONNECT status 40[17] .*from $NHP_P4:8889\$" ECONNREFUSED \
	--proxy "http://tpuser:bad@$NHP_P4:8889"
nh_unlike "tinyproxy wrong password: no credentials in the log" \
	"$(cat "$log")" "tpuser|bad"
nhp_failing "tinyproxy without credentials" "http://$NHP_W4/who" \
	"^http CONNECT status 407 .*from $NHP_P4:8889\$" ECONNREFUSED \
	--proxy "http://$NHP_P4:8889"
nhp_failing "tinyproxy refuses a port (ConnectPort 80)" "http://$NHP_W4:81/who" \
	"^http CONNECT status 403 .*from $NHP_P4:8888\$" ECONNREFUSED \
	--proxy "http://$NHP_P4:8888"

# --- the static client ------------------------------------------------------
for p in "http://$NHP_P4:8888" "http://tpuser:pa%2Dss.1@$NHP_P4:8889"; do
	rm -f "$out"
	nh_nethook c run --proxy "$p" -- "$sget" -t 10 "http://$NHP_W4/big.bin" >"$out"
	nh_is "static client via ${p/tpuser:pa%2Dss.1@/USER:PASS@}: exit 0" "$?" 0
	nh_same_file "static client via ${p/tpuser:pa%2Dss.1@/USER:PASS@}: body" "$out" "$big"
done

# --- chains -------------------------------------------------------------------
# microsocks, then tinyproxy on the proxy host's loopback (the client
# cannot reach it), then the server.
nhp_proxied "chain microsocks -> tinyproxy" \
	"socks5://$NHP_P4:1081,http://127.0.0.1:8890" \
	--proxy "socks5://$NHP_P4:1081" --proxy "http://127.0.0.1:8890"
nh_like "chain microsocks -> tinyproxy: tinyproxy saw a loopback client" \
	"$(cat "$NH_TMP/tplo/tinyproxy.log")" "Connect .*: 127\.0\.0\.1"
nhp_proxied "chain tinyproxy -> dante" \
	"http://$NHP_P4:8888,socks5://$NHP_P4:1080" \
	--proxy "http://$NHP_P4:8888" --proxy "socks5://$NHP_P4:1080"
nhp_proxied "chain of three: dante -> tinyproxy (auth) -> microsocks" \
	"socks5://$NHP_P4:1080,http://$NHP_P4:8889,socks5://$NHP_P4:1081" \
	--proxy "socks5://$NHP_P4:1080" --proxy "http://tpuser:pa%2Dss.1@$NHP_P4:8889" \
	--proxy "socks5://$NHP_P4:1081"
got=$(nh_nethook c run --proxy "socks5://$NHP_P4:1081" --proxy "http://127.0.0.1:8890" -- \
	"$sget" -t 10 "http://$NHP_W4/who")
nh_is "static client through the chain microsocks -> tinyproxy" "$got" web

nh_done
