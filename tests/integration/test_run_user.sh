#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nethook run --user USER[:GROUP]: nethook needs root, the command runs
# as that user, still hooked, and the log says so.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
nh_require_nethook
nh_world_web

nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)
nogroup_gid=$(getent group nogroup | cut -d: -f3)

nh_is "--user nobody: uid" "$(nh_nethook c run --user nobody -- id -u)" "$nobody_uid"
nh_is "--user nobody: gid is nobody's primary group" \
	"$(nh_nethook c run --user nobody -- id -g)" "$nobody_gid"
nh_is "--user nobody: no supplementary groups of root" \
	"$(nh_nethook c run --user nobody -- id -G)" "$nobody_gid"
nh_is "--user nobody:nogroup: gid" \
	"$(nh_nethook c run --user nobody:nogroup -- id -g)" "$nogroup_gid"
nh_is "--user nobody: children run as nobody too" \
	"$(nh_nethook c run --user nobody -- sh -c 'sh -c "id -u"')" "$nobody_uid"
nh_is "--user $nobody_uid (numeric)" \
	"$(nh_nethook c run --user "$nobody_uid" -- id -u)" "$nobody_uid"

log=$NH_TMP/log
got=$(nh_nethook c run --user nobody --json --log "$log" \
	--redirect "$NH_SERVER4:80" -- curl -sS -m 10 "http://$NH_FAR4/who")
nh_is "--user nobody: command still redirected" "$got" web
nh_is "--user nobody: log has uid $nobody_uid" \
	"$(jq -r .uid "$log" | sort -u)" "$nobody_uid"
nh_is "--user nobody: the log file is root's" "$(stat -c %U "$log")" root

nh_nethook c run --user nobody -- sh -c 'exit 4'
nh_is "--user nobody: exit status passed back" "$?" 4

nh_done
