#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Socket filters on a context with an upstream proxy (opts.proxy, issue
# 4): the filter sees every diverted connection, its sf_connect_out
# rewrite is what the proxy is asked for, data callbacks compose with the
# proxy, and a dead proxy still detaches.  The world of proxies.sh: the
# client reaches the web server only through a proxy.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxies.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nhp_require_peers
nhp_world
nhp_microsocks ms "$NHP_P4" 1081
nhp_tinyproxy tp "$NHP_P4" 8888
www=$(nh_www web)
echo "file bbb" >"$www/bbb"
alog=$NH_TMP/nginx-web/access.log

got=$(nh_sflt c --proxy "socks5://$NHP_P4:1081" --lines -- \
	curl -sS -m 10 "http://$NHP_W4/who")
nh_is "socks5 proxy with a filter: body" "$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_is "socks5 proxy: the filter saw the connection" \
	"$(nh_kvs "$got" attach detach to.0)" "attach=1 detach=1 to.0=$NHP_W4:80"
nh_like "socks5 proxy: the server saw the proxy host" "$(tail -n 1 "$alog")" \
	"^$NHP_PW4 $NHP_W4:80 \"GET /who "

got=$(nh_sflt c --proxy "socks5://$NHP_P4:1081" --rewrite-dst "$NHP_W4:80" -- \
	curl -sS -m 10 "http://$NH_FAR4:8000/who")
nh_is "socks5: the proxy is asked for the rewritten destination" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web

got=$(nh_sflt c --proxy "http://$NHP_P4:8888" --rewrite-dst "$NHP_W4:80" -- \
	curl -sS -m 10 "http://$NH_FAR4/who")
nh_is "HTTP CONNECT proxy, rewritten destination: body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_like "HTTP CONNECT proxy: tinyproxy was asked for the rewritten one" \
	"$(cat "$NH_TMP/tp/tinyproxy.log")" "CONNECT $NHP_W4:80 "

got=$(nh_sflt c --proxy "socks5://$NHP_P4:1081" \
	--out-replace "GET /aaa:GET /bbb" --in-replace "bbb:BBB" -- \
	curl -sS -m 10 "http://$NHP_W4/aaa")
nh_is "data rewrite both ways through a proxy: body" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" "file BBB"
nh_like "data rewrite through a proxy: the server saw GET /bbb" \
	"$(tail -n 1 "$alog")" '"GET /bbb HTTP/1.1" 200 '

got=$(nh_sflt c --proxy "socks5://$NHP_P4:1999" -- \
	curl -sS -m 10 "http://$NHP_W4/who")
st=$(nh_kv "$got" status)
nh_check "dead proxy: curl fails (exit $st)" test "$st" != 0
nh_is "dead proxy: attached and detached" "$(nh_kvs "$got" attach detach)" \
	"attach=1 detach=1"

nh_sflt_sanitizers
nh_done
