#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install what nethook needs from Debian's packages: `build`, `test`
# (real peers the tests drive) or `bench` (peer tools compared against).
set -euo pipefail

build_pkgs=(gcc libc6-dev make meson ninja-build pkg-config clang llvm
	bpftool libbpf-dev libelf-dev zlib1g-dev libnetfilter-queue-dev
	libmnl-dev libpcap-dev iptables help2man)
test_pkgs=(libcmocka-dev iproute2 util-linux bsdutils procps psmisc coreutils
	curl nginx-light busybox-static python3 jq file dante-server microsocks
	tinyproxy squid openssh-server openssh-client openssl iperf3 golang-go
	dnsmasq-base wget git)
bench_pkgs=(iperf3 wrk hyperfine proxychains4 redsocks dnsmasq-base)

want=()
for group in "${@:-build}"; do
	case "$group" in
	build) want+=("${build_pkgs[@]}") ;;
	test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
	bench) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
	*) echo "deps.sh: unknown group '$group' (build, test, bench)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# services the packages bring are started by the tests themselves,
	# each in its own namespace, never system-wide
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
