#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# NH_SFLT_GLOBAL (issue 4) without touching the machine's real cgroup
# root: inside `unshare -m -C` started from the test cgroup, with every
# inherited cgroup2 mount removed from that private mount namespace and a
# fresh cgroup2 mounted on a private mountpoint, whose root is the test
# cgroup.  There a global filter hooks processes outside the context's
# scope; the real root's attachments stay as they were, and a process
# outside the test cgroup is not hooked.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sflt.sh"
nh_sflt_require
nh_world_web
command -v unshare >/dev/null || nh_bail "no unshare (util-linux)"

far=$NH_FAR4
srv=$NH_SERVER4
mnt=$NH_TMP/cg2
mark=$NH_TMP/global.ready
done_f=$NH_TMP/global.done
out=$NH_TMP/global.out
inner=$NH_TMP/global-inner.sh
mkdir -p "$mnt" || nh_bail "cannot make $mnt"

have_bpftool=
command -v bpftool >/dev/null && have_bpftool=1
# programs attached to one cgroup (not inherited ones), without ids
nh_cg_progs() {
	bpftool cgroup show "$1" 2>/dev/null |
		awk 'NR > 1 { print $2, $3, $4 }' | sort
}
root_before=
[ -n "$have_bpftool" ] && root_before=$(nh_cg_progs "$NH_CG_MNT")

cat >"$inner" <<INNER
set -u
# this mount namespace is private: what happens here stays here
for m in \$(awk '\$9 == "cgroup2" { print \$5 }' /proc/self/mountinfo | sort -r); do
	umount -l "\$m" || { echo "inner: cannot umount \$m"; exit 1; }
done
mount -t cgroup2 cgroup2 "$mnt" || { echo "inner: cannot mount cgroup2"; exit 1; }
n=\$(awk '\$9 == "cgroup2"' /proc/self/mountinfo | wc -l)
[ "\$n" = 1 ] || { echo "inner: \$n cgroup2 mounts"; exit 1; }
grep -qx "\$\$" "$mnt/cgroup.procs" ||
	{ echo "inner: the new mount's root is not the test cgroup"; exit 1; }
mkdir -p "$mnt/scope" || exit 1
exec timeout -k 5 60 "$NH_SFLT" --global "$mnt/scope" --no-add \
	--rewrite-dst "$srv:80" --lines -- sh -c \
	"curl -sS -m 10 http://$far/who; touch '$mark'; i=0; \
	while [ ! -e '$done_f' ] && [ \\\$i -lt 300 ]; do sleep 0.1; i=\\\$((i + 1)); done"
INNER

# Before anything is attached: the test cgroup is below the root.
[ "${NH_CG#"$NH_CG_MNT"/}" != "$NH_CG" ] ||
	nh_bail "test cgroup $NH_CG is not below $NH_CG_MNT"

gpid=
nh_bg gpid nh_in c unshare -m -C --propagation private bash "$inner" \
	>"$out" 2>"$NH_SFLT_ERR"
if nh_wait_file "$mark" 20; then
	nh_ok "global: nh-sflt started in a cgroup namespace rooted at the test cgroup"
	nh_like "global: the command, not in the scope, was hooked" \
		"$(cat "$out")" '^web$'
	nh_like "global: the log says where it attached" "$(cat "$NH_SFLT_ERR")" \
		"cgroup v2 root $mnt"
	if [ -n "$have_bpftool" ]; then
		nh_is "global: nothing attached at the real cgroup root" \
			"$(nh_cg_progs "$NH_CG_MNT")" "$root_before"
		nh_like "global: attached at the test cgroup (the namespace's root)" \
			"$(nh_cg_progs "$NH_CG")" 'connect4'
	else
		nh_skip "global: real root untouched" "no bpftool"
	fi
	# The test shell is in the test cgroup, outside the context's scope
	# and not a child of nh-sflt: hooked too.
	got=$(nh_in c curl -sS -m 10 "http://$far/who" 2>&1)
	nh_is "global: another process of the (namespace's) host is hooked" \
		"$got" web
	# shellcheck disable=SC2016
	got=$(nh_in c sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' \
		"$NH_CG_ORIG" "$NH_PROGS/nh-peer" -t 3 "$far" 80)
	nh_is "global: a process outside the test cgroup is not hooked" \
		"$got" errno=ENETUNREACH
else
	nh_fail "global: nh-sflt started in a cgroup namespace" \
		"$(cat "$out" "$NH_SFLT_ERR" | tail -n 15)"
fi
touch "$done_f"
nh_wait_gone "$gpid" 20
wait "$gpid"
rc=$?
cat "$NH_SFLT_ERR" >>"$NH_SFLT_ALLERR"
nh_is "global: nh-sflt exit status" "$rc" 0
nh_is "global: two connections attached and detached" \
	"$(nh_kvs "$(cat "$out")" attach detach)" "attach=2 detach=2"
if [ -n "$have_bpftool" ]; then
	nh_is "global: after the run, the test cgroup has nothing attached" \
		"$(nh_cg_progs "$NH_CG")" ""
	nh_is "global: after the run, the real root as before" \
		"$(nh_cg_progs "$NH_CG_MNT")" "$root_before"
fi
nh_is "global: the far address unreachable again" \
	"$(nh_in c "$NH_PROGS/nh-peer" -t 3 "$far" 80)" errno=ENETUNREACH
nh_is "after the run: no nethook-* cgroup left" "$(nh_leftover_cgroups)" ""
nh_sflt_sanitizers
nh_done
