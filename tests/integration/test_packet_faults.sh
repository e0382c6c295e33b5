#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# `nethook packet` when the iptables tools fail (needs root): in a mount
# namespace of the test's own, ip6tables-restore is replaced by one that
# fails after iptables-restore has added the IPv4 rules.  nethook must say
# so and exit 125, and leave no rule of its own in the namespace; with a
# working tool again, the same command works.

. "$(dirname "$0")/lib.sh"
nh_require_nethook
nh_world_web

# A /usr/sbin where ip6tables-restore fails; the rest are the real tools
# (reached through a second view of the real /usr/sbin).
fake=$NH_TMP/sbin real=$NH_TMP/realsbin
mkdir -p "$fake" "$real"
for f in /usr/sbin/*; do
	ln -s "$real/$(basename "$f")" "$fake/$(basename "$f")"
done
rm -f "$fake/ip6tables-restore"
cat >"$fake/ip6tables-restore" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "ip6tables-restore: fake failure for a nethook test" >&2
exit 4
EOF
chmod 755 "$fake/ip6tables-restore"

# in_broken CMD...: CMD with the failing tool, in a private mount namespace
in_broken() {
	timeout -k 5 60 unshare -m --propagation private sh -c '
		mount --bind /usr/sbin "$1" && mount --bind "$2" /usr/sbin &&
		shift 2 && exec "$@"' sh "$real" "$fake" "$@"
}

# the rules of nethook's own chains in namespace c, both families
own_rules() {
	{ nh_in c iptables-save; nh_in c ip6tables-save; } 2>/dev/null | grep -ci nethook
}

nh_is "before: no rule of nethook's in the namespace" "$(own_rules)" 0
out=$(in_broken "$NETHOOK" packet --netns "/run/netns/$(nh_ns c)" --drop \
	--filter 'udp dst port 9999' -- true 2>&1)
rc=$?
nh_is "ip6tables-restore failing: exit 125" "$rc" 125
nh_like "ip6tables-restore failing: says which tool and what it said" \
	"$out" 'ip6tables-restore.*(fake failure|exit)'
nh_is "ip6tables-restore failing: the IPv4 rules it had added are gone" "$(own_rules)" 0
got=$(nh_in c curl -sS -m 5 "http://$NH_SERVER4/who")
nh_is "ip6tables-restore failing: traffic unharmed" "$got" web

out=$(timeout -k 5 60 "$NETHOOK" packet --netns "/run/netns/$(nh_ns c)" --drop \
	--filter 'udp dst port 9999' -- true 2>&1)
nh_is "with the real tools again: exit 0" "$?" 0
nh_is "with the real tools again: no rule left" "$(own_rules)" 0

nh_done
