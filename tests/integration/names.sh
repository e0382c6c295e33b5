# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034
#
# Names in the `nethook run --proxy` world (issue 11); sourced after
# lib.sh and proxies.sh.  On top of nhp_world (c <-> p <-> w):
#
#   p also holds 192.0.2.53 and 2001:db8:1::53, the client's resolver
#     address: nothing listens there, so a query that leaks the client is
#     refused at once (and counted, below); and 192.0.2.54, where
#     nhn_dnsmasq starts a resolver that answers the client (--dns direct).
#   The peers in p (nhp_dante, nhp_microsocks, nhp_tinyproxy) read p's
#     own /etc/hosts, resolv.conf and nsswitch.conf, bind-mounted in a
#     mount namespace of their own (NHP_PWRAP): only they know
#     web.example (A), v6only.web.example (AAAA), dual.web.example (A and
#     AAAA) and n0..n999.web.example (A), all the web host; any other
#     name fails at once (their resolv.conf points at p's 127.0.0.1, where
#     nothing listens).
#   The client's programs run with the /etc files of a variant made by
#     nhn_etc (resolv.conf as given, hosts with localhost only, nsswitch
#     "hosts: files dns"), through nhn_nethook; nothing in c answers DNS.
#   Counters (iptables): in c on the way out to p and in p on the way in
#     from c, every packet from the client that is not TCP to a proxy
#     port (NHN_PROXY_PORTS at NHP_P4 / NHP_P6), nor IPv6 neighbour
#     discovery, is counted: nhn_leaks, nhn_no_leak.
#
# Nothing is written under /etc: the files are bind-mounted in private
# mount namespaces that end with their processes.

# Debian packages these tests need on top of proxies.sh's.
NH_NAMES_TEST_PACKAGES="dnsmasq-base wget git busybox-static iptables"

NHN_NS4=192.0.2.53
NHN_NS6=2001:db8:1::53
NHN_DNS4=192.0.2.54
NHN_PROXY_PORTS=1080,1081,8888
NHN_NAMES=${NHN_NAMES:-1000}	# n0..n(NAMES-1).web.example
NHN_DNSQ=$NH_SRCDIR/tests/integration/dnsq.py

# Run "$@" with the /etc files of directory $1 (in a private mount
# namespace: nothing shows outside it).  exec all the way: the pid is the
# program's.
# shellcheck disable=SC2016
NHN_WRAP='d=$1; shift
for f in resolv.conf hosts nsswitch.conf; do
	mount --bind "$d/$f" "/etc/$f" || exit 125
done
exec "$@"'

nhn_require() {
	local c
	for c in wget git busybox iptables ip6tables unshare; do
		command -v "$c" >/dev/null ||
			nh_bail "$c is not installed (apt-get install $NH_NAMES_TEST_PACKAGES)"
	done
}

# nhn_etc NAME RESOLV-CONF-TEXT: the /etc files of variant NAME, in
# $NH_TMP/etc-NAME.
nhn_etc() {
	local d=$NH_TMP/etc-$1
	mkdir -p "$d"
	printf '%s\n' "$2" >"$d/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$d/hosts"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' \
		>"$d/nsswitch.conf"
}

# nhn_with_etc NAME CMD...: CMD with the /etc files of variant NAME.
nhn_with_etc() {
	local d=$NH_TMP/etc-$1
	shift
	unshare -m --propagation private -- sh -c "$NHN_WRAP" sh "$d" "$@"
}

# nhn_nethook VARIANT ARGS...: nethook ARGS in c, with the client's /etc
# files of VARIANT, bounded in time (NH_TIMEOUT, default 20 s).
nhn_nethook() {
	local v=$1
	shift
	timeout -k 5 "${NH_TIMEOUT:-20}" \
		nsenter "--net=/run/netns/${NH_ID}c" -- \
		unshare -m --propagation private -- \
		sh -c "$NHN_WRAP" sh "$NH_TMP/etc-$v" "$NETHOOK" "$@"
}

# --- the world ---------------------------------------------------------------

nhn_world() {
	local d=$NH_TMP/etc-p i
	nhp_world
	nh_addr p to-c "$NHN_NS4/32" "$NHN_DNS4/32" "$NHN_NS6/128"
	# the proxy host's names
	mkdir -p "$d"
	{
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n'
		printf '%s\tweb.example\n' "$NHP_W4"
		printf '%s\tv6only.web.example\n' "$NHP_W6"
		printf '%s\tdual.web.example\n%s\tdual.web.example\n' "$NHP_W4" "$NHP_W6"
		for ((i = 0; i < NHN_NAMES; i++)); do
			printf '%s\tn%d.web.example\n' "$NHP_W4" "$i"
		done
	} >"$d/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' \
		>"$d/nsswitch.conf"
	NHP_PWRAP=(unshare -m --propagation private -- sh -c "$NHN_WRAP" sh "$d")
	# preconditions: p knows the names, c does not (and nothing answers it)
	nh_in p "${NHP_PWRAP[@]}" getent ahosts web.example | grep -q "^$NHP_W4 " ||
		nh_bail "the proxy host does not know web.example"
	nh_in p "${NHP_PWRAP[@]}" getent ahosts v6only.web.example | grep -q "^$NHP_W6 " ||
		nh_bail "the proxy host does not know v6only.web.example"
	nhn_etc remote "nameserver $NHN_NS4
options timeout:1 attempts:1"
	! nh_in c timeout 10 unshare -m --propagation private -- \
		sh -c "$NHN_WRAP" sh "$NH_TMP/etc-remote" getent hosts web.example ||
		nh_bail "the client resolves web.example without nethook"
	nhn_counters
}

# --- the counters ------------------------------------------------------------

# nhn_counters: the leak counters in c and p, IPv4 and IPv6.
nhn_counters() {
	local t t2 ns i cmd proxy client
	for t in 4 6; do
		cmd=iptables proxy=$NHP_P4 client=$NHP_C4
		[ "$t" = 6 ] && cmd=ip6tables proxy=$NHP_P6 client=$NHP_C6
		{
			# c: on the way out to p
			nh_in c "$cmd" -w -t mangle -N NHLEAK &&
			nh_in c "$cmd" -w -t mangle -A POSTROUTING -o to-p -j NHLEAK &&
			nh_in c "$cmd" -w -t mangle -A NHLEAK -p tcp -d "$proxy" \
				-m multiport --dports "$NHN_PROXY_PORTS" -j RETURN &&
			# p: on the way in from c, from the client's address
			nh_in p "$cmd" -w -t raw -N NHLEAK &&
			nh_in p "$cmd" -w -t raw -A PREROUTING -i to-c -s "$client" -j NHLEAK &&
			nh_in p "$cmd" -w -t raw -A NHLEAK -p tcp -d "$proxy" \
				-m multiport --dports "$NHN_PROXY_PORTS" -j RETURN
		} || nh_bail "cannot set up the $cmd counters"
		if [ "$t" = 6 ]; then
			for i in 133 134 135 136 143; do
				nh_in c ip6tables -w -t mangle -A NHLEAK -p ipv6-icmp \
					--icmpv6-type "$i" -j RETURN
				nh_in p ip6tables -w -t raw -A NHLEAK -p ipv6-icmp \
					--icmpv6-type "$i" -j RETURN
			done
		fi
		for ns in c p; do
			t2=mangle
			[ "$ns" = p ] && t2=raw
			nh_in "$ns" "$cmd" -w -t "$t2" -A NHLEAK -p udp --dport 53 \
				-m comment --comment dns
			nh_in "$ns" "$cmd" -w -t "$t2" -A NHLEAK -p tcp --dport 53 \
				-m comment --comment dns
			nh_in "$ns" "$cmd" -w -t "$t2" -A NHLEAK \
				-m comment --comment leak -j RETURN
		done
	done
}

# nhn_count NS CMD TABLE COMMENT: packets counted by that rule.
nhn_count() {
	nh_in "$1" "$2" -w -t "$3" -nvxL NHLEAK 2>/dev/null |
		awk -v c="/* $4 */" 'index($0, c) { n += $1 } END { print n + 0 }'
}

# nhn_leaks: "N" packets counted (all four counters), then, for
# diagnostics, " (c4 N c6 N p4 N p6 N; to port 53: N)".
nhn_leaks() {
	local c4 c6 p4 p6 dns
	c4=$(nhn_count c iptables mangle leak)
	c6=$(nhn_count c ip6tables mangle leak)
	p4=$(nhn_count p iptables raw leak)
	p6=$(nhn_count p ip6tables raw leak)
	dns=$(($(nhn_count c iptables mangle dns) + $(nhn_count c ip6tables mangle dns)))
	echo "$((c4 + c6 + p4 + p6)) (c4 $c4 c6 $c6 p4 $p4 p6 $p6; from c to port 53: $dns)"
}

# nhn_leaks_zero: reset the counters.
nhn_leaks_zero() {
	nh_in c iptables -w -t mangle -Z NHLEAK
	nh_in c ip6tables -w -t mangle -Z NHLEAK
	nh_in p iptables -w -t raw -Z NHLEAK
	nh_in p ip6tables -w -t raw -Z NHLEAK
}

# nhn_no_leak NAME: since the last reset, not one packet from the
# client to anything but a proxy port; resets the counters.
nhn_no_leak() {
	local got
	got=$(nhn_leaks)
	if [ "${got%% *}" = 0 ]; then
		nh_ok "$1: not one packet from the client but to the proxy ports"
	else
		nh_fail "$1: not one packet from the client but to the proxy ports" \
			"counted $got"
	fi
	nhn_leaks_zero
}

# --- peers -------------------------------------------------------------------

# nhn_dnsmasq NAME ADDR ARGS...: a dnsmasq in p answering on ADDR:53 (UDP
# and TCP) from ARGS (--address=/NAME/ADDR ...) and nothing else; it
# logs each query to $NH_TMP/NAME/log.
nhn_dnsmasq() {
	local name=$1 addr=$2 dir=$NH_TMP/$1 pid
	shift 2
	mkdir -p "$dir"
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- dnsmasq \
		--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--no-poll --bind-interfaces --listen-address="$addr" \
		--except-interface=lo --port=53 --user=root --group=root \
		--pid-file= --log-queries --log-facility="$dir/log" "$@" \
		</dev/null >"$dir/stdout" 2>&1
	nh_wait_port p "$addr" 53 10 ||
		nh_bail "dnsmasq $name did not listen on $addr port 53" \
			"$(tail -n 5 "$dir/stdout" "$dir/log" 2>/dev/null)"
}

# nhn_git_repo: a bare repository served (dumb HTTP) by the web host at
# /repo.git, holding one file "who" ("web").
nhn_git_repo() {
	local src=$NH_TMP/git-src repo
	repo=$(nh_www web)/repo.git
	if ! {
		mkdir -p "$src" &&
		printf 'web\n' >"$src/who" &&
		git -C "$src" init -q &&
		git -C "$src" add who &&
		git -C "$src" -c user.name=nethook -c user.email=nethook@web.example \
			commit -q -m "who" &&
		git clone -q --bare "$src" "$repo" &&
		git -C "$repo" update-server-info
	}; then
		nh_bail "cannot make the git repository"
	fi
	chmod -R a+rX "$repo"
}
