#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --log, text and JSON: one `end` line per TCP connection
# (monitor mode, measured in the kernel) with the pid the client printed,
# its full executable path, bytes and duration; redirect and block events.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
nh_world_web

curl_bin=$(readlink -f "$(command -v curl)")
size=$(stat -c %s "$(nh_web_file big.bin)")
log=$NH_TMP/log

# The client prints its pid (sh's $$, kept by exec) and what curl counted:
# header bytes, body bytes, request bytes.
client="echo \$\$; exec curl -sS -m 20 -o /dev/null -w '%{size_header} %{size_download} %{size_request}\\n'"

# --- monitor mode, text log -------------------------------------------
rm -f "$log"
out=$(nh_nethook c run --log "$log" -- sh -c "$client http://$NH_SERVER4/big.bin")
nh_is "monitor: command succeeds" "$?" 0
pid=$(printf '%s\n' "$out" | sed -n 1p)
read -r hdr body req <<<"$(printf '%s\n' "$out" | sed -n 2p)"
nh_is "monitor text: exactly one line, an end event" \
	"$(awk '{ print $2 }' "$log" 2>/dev/null)" end
line=$(nh_tevents "$log" end)
nh_like "monitor text: ts is RFC 3339 UTC with microseconds" \
	"$(echo "$line" | awk '{ print $1 }')" "$NH_TS_RE"
nh_is "monitor text: pid is the client's" "$(nh_tfield "$line" pid)" "$pid"
nh_is "monitor text: comm" "$(nh_tfield "$line" comm)" curl
nh_is "monitor text: exe is the full path" "$(nh_tfield "$line" exe)" "$curl_bin"
nh_is "monitor text: uid" "$(nh_tfield "$line" uid)" 0
nh_is "monitor text: proto" "$(nh_tfield "$line" proto)" tcp
nh_is "monitor text: orig_dst" "$(nh_tfield "$line" orig_dst)" "$NH_SERVER4:80"
nh_is "monitor text: new_dst equals orig_dst" \
	"$(nh_tfield "$line" new_dst)" "$NH_SERVER4:80"
nh_is "monitor text: route direct" "$(nh_tfield "$line" route)" direct
nh_is "monitor text: result ok" "$(nh_tfield "$line" result)" ok
nh_like "monitor text: cgroup_id is a number" \
	"$(nh_tfield "$line" cgroup_id)" '^[1-9][0-9]*$'
v=$(nh_tfield "$line" bytes_in)
nh_check "monitor text: bytes_in ($v) >= body size ($size)" \
	nh_between "$size" "$v" 1e12
nh_check "monitor text: bytes_in ($v) = bytes curl read ($hdr+$body, +1 FIN)" \
	nh_between $((hdr + body)) "$v" $((hdr + body + 1))
v=$(nh_tfield "$line" bytes_out)
nh_check "monitor text: bytes_out ($v) = request ($req, +2 SYN/FIN)" \
	nh_between "$req" "$v" $((req + 2))
v=$(nh_tfield "$line" duration_ms)
nh_check "monitor text: duration_ms ($v) > 0" nh_positive "$v"
nh_like "monitor text: duration_ms has three decimals" "$v" '^[0-9]+\.[0-9]{3}$'

# --- monitor mode, JSON log -------------------------------------------
rm -f "$log"
out=$(nh_nethook c run --json --log "$log" -- sh -c "$client http://$NH_SERVER4/big.bin")
pid=$(printf '%s\n' "$out" | sed -n 1p)
nh_check "json: every line is a JSON object" jq -e 'type == "object"' "$log"
nh_is "json: exactly one line, an end event" \
	"$(jq -r .event "$log" 2>/dev/null)" end
keys=$(jq -r 'keys_unsorted | sort | join(" ")' "$log" 2>/dev/null)
nh_is "json: keys are exactly the fields of docs/log-schema.md" "$keys" \
	"$(tr ' ' '\n' <<<"$NH_LOG_FIELDS" | sort | paste -sd ' ')"
nh_check "json: id is a number" jq -e '(.id | type) == "number"' "$log"
nh_check "json: field types" jq -e '
	(.pid | type) == "number" and (.uid | type) == "number" and
	(.cgroup_id | type) == "number" and (.bytes_in | type) == "number" and
	(.bytes_out | type) == "number" and (.duration_ms | type) == "number" and
	(.exe_partial == false) and .error == null and
	(.ts | test("'"${NH_TS_RE//\\/\\\\}"'"))' "$log"
nh_is "json: pid is the client's" "$(jq -r .pid "$log")" "$pid"
nh_is "json: exe is the full path" "$(jq -r .exe "$log")" "$curl_bin"
nh_is "json: orig_dst, new_dst, route, result" \
	"$(jq -r '[.orig_dst, .new_dst, .route, .result, .proto] | join(" ")' "$log")" \
	"$NH_SERVER4:80 $NH_SERVER4:80 direct ok tcp"
nh_check "json: bytes_in >= body size, duration_ms > 0" \
	jq -e ".bytes_in >= $size and .duration_ms > 0" "$log"

# --- the pid of a grandchild; --log - is standard error ----------------
out=$(nh_nethook c run --log - -- \
	sh -c "sh -c 'echo \$\$; exec curl -sS -m 10 http://$NH_SERVER4/who'" \
	2>"$NH_TMP/stderr")
nh_is "--log -: standard output holds only the command's output" \
	"$(printf '%s\n' "$out" | sed -n 2,\$p)" web
line=$(nh_tevents "$NH_TMP/stderr" end)
nh_is "--log -: one end line on standard error" \
	"$(printf '%s\n' "$line" | grep -c .)" 1
nh_is "grandchild's end line has the grandchild's pid" \
	"$(nh_tfield "$line" pid)" "$(printf '%s\n' "$out" | sed -n 1p)"

# --- one end line per connection -------------------------------------
n=20
rm -f "$log"
out=$(nh_nethook c run --json --log "$log" -- \
	sh -c "echo \$\$; exec $NH_PROGS/nh-conn -n $n -c 4 -p /who $NH_SERVER4 80")
pid=$(printf '%s\n' "$out" | sed -n 1p)
nh_like "$n connections: all ok" "$out" "^ok=$n failed=0 "
nh_is "$n connections: $n end lines" "$(nh_jevents "$log" end | grep -c .)" "$n"
nh_is "$n connections: all with the client's pid and path" \
	"$(jq -r '[.pid, .exe] | join(" ")' "$log" | sort -u)" \
	"$pid $(readlink -f "$NH_PROGS/nh-conn")"
# none reported twice: a repeat would be the same line.  (Two connections
# may end in the same microsecond: ts alone is not enough.)
nh_is "$n connections: $n distinct lines" \
	"$(jq -c '{ts, duration_ms}' "$log" | sort -u | grep -c .)" "$n"

# --- redirect, block, errors, --events --------------------------------
rm -f "$log"
nh_nethook c run --json --log "$log" --redirect "$NH_SERVER4:80" -- \
	curl -sS -m 10 -o /dev/null "http://$NH_FAR4/who"
nh_is "redirect json: one redirect and one end event" \
	"$(jq -r .event "$log" | sort | paste -sd ' ')" "end redirect"
nh_is "redirect json: redirect event fields" \
	"$(nh_jevents "$log" redirect | jq -r '[.orig_dst, .new_dst, .route, .result] | join(" ")')" \
	"$NH_FAR4:80 $NH_SERVER4:80 redirect ok"
nh_is "redirect json: end event fields" \
	"$(nh_jevents "$log" end | jq -r '[.orig_dst, .new_dst, .route, .result] | join(" ")')" \
	"$NH_FAR4:80 $NH_SERVER4:80 redirect ok"

rm -f "$log"
nh_nethook c run --json --log "$log" --block "$NH_SERVER4" -- sh -c \
	"$NH_PROGS/nh-peer $NH_SERVER4 80; $NH_PROGS/nh-udp $NH_SERVER4 53" \
	>/dev/null 2>&1
nh_is "block json: TCP block event" \
	"$(nh_jevents "$log" block | jq -r 'select(.proto == "tcp") | [.orig_dst, .new_dst, .route, .result, .error] | join(" ")')" \
	"$NH_SERVER4:80  block blocked ECONNREFUSED"
nh_is "block json: new_dst is null" \
	"$(nh_jevents "$log" block | jq -r '.new_dst' | sort -u)" null
nh_is "block json: UDP sendto block event" \
	"$(nh_jevents "$log" block | jq -r 'select(.proto == "udp") | [.orig_dst, .result, .error] | join(" ")')" \
	"$NH_SERVER4:53 blocked EPERM"

rm -f "$log"
nh_nethook c run --log "$log" --redirect "[$NH_SERVER6]:80" -- \
	"$NH_PROGS/nh-peer" "$NH_FAR4" 80 >/dev/null
line=$(grep EAFNOSUPPORT "$log")
nh_is "EAFNOSUPPORT is logged" "$(nh_tfield "$line" error) $(nh_tfield "$line" result)" \
	"EAFNOSUPPORT error"

rm -f "$log"
nh_nethook c run --log "$log" -- "$NH_PROGS/nh-peer" "$NH_SERVER4" 81 >/dev/null
line=$(nh_tevents "$log" end)
nh_is "refused connection: end line, result failed" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" result)" "$NH_SERVER4:81 failed"

# A server that accepts, then resets: the connection was made, and failed.
rm -f "$NH_TMP/rst-ready"
nh_bg rst_pid nsenter "--net=/run/netns/$(nh_ns s)" -- python3 \
	"$NH_SRCDIR/tests/integration/fakeproxy.py" --listen "$NH_SERVER4:82" \
	--script refuse --lifetime 60 --ready "$NH_TMP/rst-ready" \
	</dev/null >/dev/null 2>&1
nh_wait_file "$NH_TMP/rst-ready" 10 || nh_bail "the resetting server did not start"
rm -f "$log"
got=$(nh_nethook c run --log "$log" -- \
	"$NH_PROGS/nh-peer" -s 'hello\n' "$NH_SERVER4" 82 2>&1)
nh_like "reset by the server: the client saw it" "$got" ECONNRESET
line=$(nh_tevents "$log" end)
nh_is "reset by the server: end line, result error, error ECONNRESET" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" result) $(nh_tfield "$line" error)" \
	"$NH_SERVER4:82 error ECONNRESET"

rm -f "$log"
nh_nethook c run --events all --log "$log" -- \
	curl -sS -m 10 -o /dev/null "http://$NH_SERVER4/who"
nh_is "--events all: create, connect, end" \
	"$(awk '{ print $2 }' "$log" | paste -sd ' ')" "create connect end"
rm -f "$log"
nh_nethook c run --events connect --log "$log" -- \
	curl -sS -m 10 -o /dev/null "http://$NH_SERVER4/who"
nh_is "--events connect: only connect" "$(awk '{ print $2 }' "$log")" connect

if ! nh_quick; then
	n=2000
	rm -f "$log"
	out=$(nh_nethook c run --json --log "$log" -- \
		"$NH_PROGS/nh-conn" -n $n -c 8 -p /who "$NH_SERVER4" 80 2>"$NH_TMP/stderr")
	nh_like "$n connections: all ok" "$out" "^ok=$n failed=0 "
	lost=$(jq -r 'select(.event == "lost") | .count' "$log")
	nh_is "$n connections: $n end lines (lost: ${lost:-none})" \
		"$(nh_jevents "$log" end | grep -c .)" "$n"
fi

# --- one id a connection: a redirect line and its end line -----------
# Two connections of one process to one destination: each redirect line's
# id is on exactly one end line, and the two differ.
rm -f "$log"
nh_nethook c run --json --log "$log" --events redirect,end \
	--redirect "$NH_SERVER4:80" -- \
	sh -c "curl -s -o /dev/null http://$NH_FAR4/who; curl -s -o /dev/null http://$NH_FAR4/who"
ids=$(jq -r 'select(.event == "redirect") | .id' "$log" | sort)
nh_is "id: two redirect lines, two different ids" "$(sort -u <<<"$ids" | wc -l)" 2
nh_is "id: each redirect's id is on exactly one end line" \
	"$(jq -r 'select(.event == "end") | .id' "$log" | sort)" "$ids"

nh_done
