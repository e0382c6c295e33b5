#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# nh_sflt_register / nh_sflt_unregister refusals (issue 4): sf_flags 0
# (-EINVAL), NH_SFLT_GLOBAL without NH_CTX_ALLOW_GLOBAL (-EPERM), every
# callback Linux cannot honour (-EOPNOTSUPP, naming it in the log),
# SOCK_DGRAM (-EOPNOTSUPP), a handle in use (-EEXIST), an unknown handle
# (-ENOENT); errno set to match; the context still usable after each.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nh_netns c

# nh_bad CASE WANT: nh-sflt --bad CASE prints result=WANT errno=WANT.
nh_bad() {
	local got
	got=$(nh_sflt c --bad "$1")
	nh_is "--bad $1: $2, errno set" "$(printf '%s\n' "$got" | grep '^result=')" \
		"result=$2 errno=$2"
	nh_is "--bad $1: a good filter registers afterwards" \
		"$(nh_kv "$got" good_after)" 0
}

nh_bad flags0 EINVAL
nh_bad sz0 EINVAL
nh_bad global EPERM
nh_bad dgram EOPNOTSUPP
nh_bad unknown ENOENT
for cb in getpeername getsockname connect_in bind setoption getoption \
	listen ioctl; do
	nh_bad "$cb" EOPNOTSUPP
	nh_like "--bad $cb: the log names sf_$cb" "$(cat "$NH_SFLT_ERR")" \
		"sf_$cb"
done
got=$(nh_sflt c --bad dup)
nh_is "--bad dup: the first registration works" "$(nh_kv "$got" first)" 0
nh_is "--bad dup: the second is EEXIST, errno set" \
	"$(printf '%s\n' "$got" | grep '^result=')" "result=EEXIST errno=EEXIST"
nh_is "--bad dup: the first stays registered, and only once" \
	"$(nh_kvs "$got" unregister unregister_again)" \
	"unregister=0 unregister_again=ENOENT"
got=$(nh_sflt c --bad domain)
nh_like "--bad domain (AF_UNIX): refused" "$(printf '%s\n' "$got" | grep '^result=')" \
	'^result=E[A-Z]+ errno=E[A-Z]+$'
got=$(nh_sflt c --bad protocol)
nh_like "--bad protocol (IPPROTO_UDP on SOCK_STREAM): refused" \
	"$(printf '%s\n' "$got" | grep '^result=')" '^result=E[A-Z]+ errno=E[A-Z]+$'

nh_is "after the runs: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_sflt_sanitizers
nh_done
