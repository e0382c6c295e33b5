#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# In-kernel rules of a context with a socket filter (issue 4,
# nh_ctx_add_rule): block with a chosen errno, redirect, pass and divert,
# first match wins.  Block and redirect never reach the relay (the
# filter's attach counter stays 0); only divert does.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nh_world_web

far=$NH_FAR4
srv=$NH_SERVER4
alog=$NH_TMP/nginx-web/access.log
peer=$NH_PROGS/nh-peer

# --- block -----------------------------------------------------------------
got=$(nh_sflt c --rule "$far/32:80:block=EHOSTUNREACH" -- "$peer" -t 3 "$far" 80)
nh_like "block with EHOSTUNREACH: connect() gets it" "$got" '^errno=EHOSTUNREACH$'
nh_is "block: no relay hop (attach 0)" "$(nh_kvs "$got" attach connect_out)" \
	"attach=0 connect_out=0"
got=$(nh_sflt c --rule "$srv:80:block" -- "$peer" -t 3 "$srv" 80)
nh_like "block with err 0: ECONNREFUSED" "$got" '^errno=ECONNREFUSED$'
got=$(nh_sflt c --rule "[$NH_FAR6/48]:80:block=EACCES" -- "$peer" -t 3 "$NH_FAR6" 80)
nh_like "block an IPv6 prefix with EACCES" "$got" '^errno=EACCES$'
got=$(nh_sflt c --family 46 --rule "$far:80:block=ENETDOWN" -- \
	"$peer" -6 -t 3 "$far" 80)
nh_like "block matches a v4-mapped destination of an AF_INET6 socket" "$got" \
	'^errno=ENETDOWN$'
nh_is "block v4-mapped: no relay hop" "$(nh_kv "$got" attach)" 0

# --- redirect ------------------------------------------------------------------
got=$(nh_sflt c --rule "$far:80:redirect=$srv:8080" -- \
	curl -sS -m 10 "http://$far/who")
nh_is "redirect rule: body" "$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web
nh_like "redirect rule: served on 8080" "$(tail -n 1 "$alog")" \
	"^$NH_CLIENT4 $srv:8080 \"GET /who "
nh_is "redirect rule: no relay hop (attach 0)" \
	"$(nh_kvs "$got" attach connect_out)" "attach=0 connect_out=0"
got=$(nh_sflt c --rule "$far:80:redirect=$srv:8080" -- \
	"$peer" -s 'GET /who HTTP/1.0\r\n\r\n' "$far" 80)
nh_like "redirect rule: getpeername is the original" "$got" "^peer=$far:80\$"

# --- divert ---------------------------------------------------------------------
got=$(nh_sflt c --rule "$far:80:divert" --rewrite-dst "$srv:80" -- sh -c \
	"curl -sS -m 10 http://$far/who; curl -sS -m 10 http://$srv:8080/who")
nh_is "divert rule: the diverted one rewritten by the filter, the other direct" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "divert rule: only the matching connection reached the filter" \
	"$(nh_kvs "$got" attach detach to.0)" "attach=1 detach=1 to.0=$far:80"
nh_like "divert rule: the non-matching one went straight to 8080" \
	"$(tail -n 1 "$alog")" "^$NH_CLIENT4 $srv:8080 "

# --- first match wins -----------------------------------------------------------
got=$(nh_sflt c --rule "$srv:8080:pass" --rule ":divert" -- sh -c \
	"curl -sS -m 10 http://$srv:8080/who; curl -sS -m 10 http://$srv/who")
nh_is "pass before divert-all: both fetches ok" \
	"$(printf '%s\n' "$got" | grep -c '^web$')" 2
nh_is "pass before divert-all: only the second one diverted" \
	"$(nh_kvs "$got" attach to.0)" "attach=1 to.0=$srv:80"
got=$(nh_sflt c --rule "$far:80:block=EHOSTUNREACH" \
	--rule "$far:80:redirect=$srv:80" -- "$peer" -t 3 "$far" 80)
nh_like "block before redirect for the same destination: blocked" "$got" \
	'^errno=EHOSTUNREACH$'
got=$(nh_sflt c --rule "$far:80:redirect=$srv:80" \
	--rule "$far:80:block=EHOSTUNREACH" -- curl -sS -m 10 "http://$far/who")
nh_is "redirect before block for the same destination: redirected" \
	"$(printf '%s\n' "$got" | grep -v '^conn ' | head -n 1)" web

# --- a rule that cannot be compiled ---------------------------------------------
got=$(nh_sflt c --rule "not-an-address:divert" -- true)
nh_is "bad match spec: nh_ctx_add_rule fails, nh-sflt exits 125" "$?" 125
nh_like "bad match spec: EINVAL" "$(cat "$NH_SFLT_ERR")" 'nh_ctx_add_rule\(0\): EINVAL'

nh_is "after the runs: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_sflt_sanitizers
nh_done
