# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Harness for nethook's integration tests; each tests/integration/test_*.sh
# sources it.  It builds throwaway worlds (network namespaces named
# nht<PID>..., veth pairs, documentation-range addresses, no route out),
# runs real servers in them, moves the test shell into a test cgroup
# <cgroup2 mount>/<own cgroup>/nht<PID> so that nethook creates its
# nethook-<pid> cgroups below it, reports TAP-ish lines (ok - NAME /
# not ok - NAME, diagnostics as "# ..." lines), and removes everything it
# made on every exit path.
#
# Environment: NETHOOK (the nethook binary), NH_BUILD (build directory),
# NH_QUICK=1 (skip the heaviest cases), NH_PROGS (test programs; default
# $NH_BUILD/tests/progs).  tests/run.sh sets them.

# Debian packages the integration tests need (the install script reads it).
# shellcheck disable=SC2034
NH_TEST_PACKAGES="nginx-light curl busybox-static iproute2 util-linux bsdutils jq file coreutils"

set -u

NH_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NH_BUILD=${NH_BUILD:-$NH_SRCDIR/build}
NETHOOK=${NETHOOK:-$NH_BUILD/src/cli/nethook}
NH_PROGS=${NH_PROGS:-$NH_BUILD/tests/progs}
NH_QUICK=${NH_QUICK:-}
NH_ID=nht$$
NH_TMP=
NH_PIDS=()	# "pid:starttime" of every process started with nh_bg
NH_NETNS=()	# full names of the namespaces made
NH_CG=		# the test cgroup (absolute path)
NH_CG_ORIG=	# the cgroup the shell came from (absolute path)
NH_CG_MNT=	# the cgroup v2 mount
nh_passed=0
nh_failed=0
nh_skipped=0

# --- results -----------------------------------------------------------

nh_ok() {
	echo "ok - $1"
	nh_passed=$((nh_passed + 1))
}

# nh_fail NAME [MSG...]: each MSG line becomes a "#   " diagnostic.
nh_fail() {
	local name=$1 line
	shift
	echo "not ok - $name"
	nh_failed=$((nh_failed + 1))
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | while IFS= read -r line; do
		echo "#   $line"
	done
}

nh_skip() {
	echo "ok - $1 # SKIP $2"
	nh_skipped=$((nh_skipped + 1))
}

# nh_check NAME CMD...: ok when CMD succeeds; else its exit status and the
# last lines of its output as diagnostics.
nh_check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		nh_ok "$name"
	else
		nh_fail "$name" "command: $*" "exit status $rc" \
			"$(printf '%s\n' "$out" | tail -n 15)"
	fi
}

# nh_is NAME GOT WANT: exact string comparison.
nh_is() {
	if [ "$2" = "$3" ]; then
		nh_ok "$1"
	else
		nh_fail "$1" "got:  $(printf '%q' "$2")" \
			"want: $(printf '%q' "$3")"
	fi
}

# nh_like NAME TEXT ERE: TEXT has a line matching the extended regex.
nh_like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		nh_ok "$1"
	else
		nh_fail "$1" "no line matches: $3" "in:" \
			"$(printf '%s\n' "$2" | head -n 15)"
	fi
}

# nh_unlike NAME TEXT ERE: no line of TEXT matches.
nh_unlike() {
	if ! printf '%s\n' "$2" | grep -Eq -- "$3"; then
		nh_ok "$1"
	else
		nh_fail "$1" "unexpected line: $(printf '%s\n' "$2" |
			grep -E -m1 -- "$3")"
	fi
}

# nh_same_file NAME GOT_FILE WANT_FILE: byte-identical.
nh_same_file() {
	if cmp -s -- "$2" "$3"; then
		nh_ok "$1"
	else
		nh_fail "$1" "$(cmp -- "$2" "$3" 2>&1 | head -n 1)" \
			"got $(stat -c %s -- "$2" 2>/dev/null || echo no) bytes," \
			"want $(stat -c %s -- "$3") bytes"
	fi
}

nh_quick() { [ -n "$NH_QUICK" ]; }

# nh_done: last line of every test file.
nh_done() {
	echo "# $nh_passed passed, $nh_failed failed, $nh_skipped skipped"
	[ "$nh_failed" -eq 0 ]
	exit
}

# nh_bail MSG: give up on the whole file (counted as one failure).
nh_bail() {
	nh_fail "setup" "$@"
	exit 1
}

# --- processes ---------------------------------------------------------

# Field 22 of /proc/PID/stat (start time), empty if gone.
nh_starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

# nh_bg VAR CMD...: start CMD in the background (redirect the nh_bg call
# to redirect it), remember it for cleanup, put its pid in VAR.
nh_bg() {
	local _nh_bg_var=$1 _nh_bg_pid
	shift
	"$@" &
	_nh_bg_pid=$!
	NH_PIDS+=("$_nh_bg_pid:$(nh_starttime "$_nh_bg_pid")")
	printf -v "$_nh_bg_var" '%s' "$_nh_bg_pid"
}

# Is PID alive and not a zombie?
nh_alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# nh_wait_gone PID SECS: wait until PID has exited (or is a zombie).
nh_wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		nh_alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# nh_wait_file FILE SECS: wait until FILE exists.
nh_wait_file() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# Kill one remembered process if it is still the one we started.
nh_kill_ours() {
	local pid=${1%%:*} start=${1#*:}
	[ -n "$start" ] && [ "$(nh_starttime "$pid")" = "$start" ] || return 0
	kill "-$2" "$pid" 2>/dev/null
}

# --- namespaces and links ----------------------------------------------

# nh_ns NAME: full name of the namespace NAME of this run.
nh_ns() { echo "$NH_ID$1"; }

# nh_in NAME CMD...: run CMD in namespace NAME (with nsenter: no /sys
# remount, so the cgroup2 mount stays visible).
nh_in() {
	local ns=$1
	shift
	nsenter "--net=/run/netns/$NH_ID$ns" -- "$@"
}

# nh_netns NAME...: make empty namespaces with lo up.
nh_netns() {
	local n
	for n in "$@"; do
		# run.sh tells the owner's pid from nht<PID><name>
		[[ $n =~ ^[a-z][a-z0-9]{0,7}$ ]] || nh_bail "bad netns name $n"
		ip netns add "$NH_ID$n" || nh_bail "cannot create netns $NH_ID$n"
		NH_NETNS+=("$NH_ID$n")
		ip -n "$NH_ID$n" link set lo up
	done
}

# Refuse an address outside the documentation ranges (or loopback).
nh_doc_addr() {
	case $1 in
	192.0.2.* | 198.51.100.* | 203.0.113.* | 2001:db8:* | 127.* | ::1*)
		return 0 ;;
	esac
	nh_bail "address $1 is not from a documentation range"
}

# nh_link NS1 NS2: veth pair "to-NS2" in NS1 and "to-NS1" in NS2, up.
nh_link() {
	ip -n "$NH_ID$1" link add "to-$2" type veth peer name "to-$1" \
		netns "$NH_ID$2" || nh_bail "cannot link $1 and $2"
	ip -n "$NH_ID$1" link set "to-$2" up
	ip -n "$NH_ID$2" link set "to-$1" up
}

# nh_addr NS DEV ADDR/LEN...: add addresses (IPv6 without DAD delay).
nh_addr() {
	local ns=$1 dev=$2 a
	shift 2
	for a in "$@"; do
		nh_doc_addr "$a"
		case $a in
		*:*) ip -n "$NH_ID$ns" addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$NH_ID$ns" addr add "$a" dev "$dev" ;;
		esac || nh_bail "cannot add $a to $dev in $ns"
	done
}

# nh_route NS PREFIX GATEWAY: a route inside a namespace of this run.
nh_route() {
	nh_doc_addr "$2"
	ip -n "$NH_ID$1" route add "$2" via "$3" ||
		nh_bail "cannot add route $2 via $3 in $1"
}

# --- servers -----------------------------------------------------------

# nh_www NAME: document root of nginx instance NAME.
nh_www() { echo "$NH_TMP/nginx-$1/www"; }

# nh_mkfile NAME FILE BYTES: a file of random bytes in NAME's root.
nh_mkfile() {
	head -c "$3" /dev/urandom >"$(nh_www "$1")/$2"
}

# nh_port_up NS ADDR PORT: something listens on TCP ADDR:PORT in NS.
nh_port_up() {
	local want=$2:$3
	case $2 in *:*) want="[$2]:$3" ;; esac
	nh_in "$1" ss -Hltn | awk -v w="$want" '$4 == w { f = 1 } END { exit !f }'
}

# nh_wait_port NS ADDR PORT [SECS]
nh_wait_port() {
	local i
	for ((i = 0; i < ${4:-10} * 10; i++)); do
		nh_port_up "$1" "$2" "$3" && return 0
		sleep 0.1
	done
	return 1
}

# nh_nginx NS NAME ADDR:PORT...: start nginx in NS listening on each
# address (IPv6 as [ADDR]:PORT), serving $(nh_www NAME), which holds
# "who" (containing "NAME\n") and index.html; a PUT to /up/FILE stores
# the body there ($(nh_www NAME)/up/FILE) and answers only once all of it
# has come (201).  Access log:
# $NH_TMP/nginx-NAME/access.log ("$remote_addr $server_addr:$server_port
# $request $status $body_bytes_sent").  Connections are closed after each
# reply unless NH_NGINX_KEEPALIVE gives nginx's keepalive_timeout.
nh_nginx() {
	local ns=$1 name=$2 dir=$NH_TMP/nginx-$2 l listen="" npid hp
	shift 2
	mkdir -p "$dir/www/up" "$dir/tmp" || nh_bail "cannot make $dir"
	for l in "$@"; do
		listen+="		listen $l;"$'\n'
	done
	echo "$name" >"$dir/www/who"
	echo "<html><body>nethook test server $name</body></html>" \
		>"$dir/www/index.html"
	cat >"$dir/nginx.conf" <<-EOF
	daemon off;
	master_process off;
	worker_processes 1;
	pid $dir/nginx.pid;
	error_log $dir/error.log warn;
	events { worker_connections 8192; }
	http {
		log_format nh '\$remote_addr \$server_addr:\$server_port "\$request" \$status \$body_bytes_sent';
		access_log $dir/access.log nh;
		client_body_temp_path $dir/tmp/body;
		proxy_temp_path $dir/tmp/proxy;
		fastcgi_temp_path $dir/tmp/fastcgi;
		uwsgi_temp_path $dir/tmp/uwsgi;
		scgi_temp_path $dir/tmp/scgi;
		default_type application/octet-stream;
		sendfile on;
		keepalive_timeout ${NH_NGINX_KEEPALIVE:-0};
		server {
	$listen
			root $dir/www;
			location /up/ {
				dav_methods PUT;
				client_max_body_size 64m;
			}
		}
	}
	EOF
	# shellcheck disable=SC2034
	nh_bg npid nsenter "--net=/run/netns/$NH_ID$ns" -- nginx -p "$dir" -e "$dir/error.log" \
		-c "$dir/nginx.conf" </dev/null >>"$dir/stdout.log" 2>&1
	for l in "$@"; do
		hp=${l##*:}
		l=${l%:*}
		l=${l#[}
		l=${l%]}
		nh_wait_port "$ns" "$l" "$hp" 10 ||
			nh_bail "nginx $name did not listen on $l port $hp" \
				"$(tail -n 5 "$dir/error.log" 2>/dev/null)"
	done
}

# --- nethook -----------------------------------------------------------

# nh_nethook NS ARGS...: run nethook in namespace NS, bounded in time
# (NH_TIMEOUT seconds, default 60).
nh_nethook() {
	local ns=$1
	shift
	timeout -k 5 "${NH_TIMEOUT:-60}" \
		nsenter "--net=/run/netns/$NH_ID$ns" -- "$NETHOOK" "$@"
}

# nh_require_nethook: give up on the file when there is no binary to test.
nh_require_nethook() {
	[ -x "$NETHOOK" ] || nh_bail "no nethook binary at $NETHOOK (build it)"
	local p
	for p in nh-peer nh-udp nh-conn nh-static-get; do
		[ -x "$NH_PROGS/$p" ] || nh_bail "no test program $NH_PROGS/$p"
	done
}

# nh_leftover_cgroups: nethook-* cgroups under the test cgroup.
nh_leftover_cgroups() {
	find "$NH_CG" -mindepth 1 -type d -name 'nethook-*' 2>/dev/null
}

# --- setup and cleanup -------------------------------------------------

nh_cgroup_setup() {
	local rel
	NH_CG_MNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	[ -n "$NH_CG_MNT" ] || nh_bail "no cgroup2 mount in /proc/self/mountinfo"
	rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
	NH_CG_ORIG=$NH_CG_MNT${rel%/}
	[ "$NH_CG_ORIG" = "$NH_CG_MNT/" ] && NH_CG_ORIG=$NH_CG_MNT
	NH_CG=$NH_CG_ORIG/$NH_ID
	mkdir "$NH_CG" || { NH_CG=; nh_bail "cannot create cgroup"; }
	echo $$ >"$NH_CG/cgroup.procs" || nh_bail "cannot join $NH_CG"
}

# Kill (by pid) whatever is left in the test cgroup and remove it; every
# process there descends from this shell.
nh_cgroup_cleanup() {
	local i sig pids
	[ -n "$NH_CG" ] && [ -d "$NH_CG" ] || return 0
	echo $$ >"$NH_CG_ORIG/cgroup.procs" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		pids=$(find "$NH_CG" -name cgroup.procs -exec cat {} + 2>/dev/null)
		[ -n "$pids" ] || break
		sig=TERM
		[ "$i" -ge 10 ] && sig=KILL
		# shellcheck disable=SC2086
		kill -"$sig" $pids 2>/dev/null
		sleep 0.1
	done
	find "$NH_CG" -depth -type d -exec rmdir {} + 2>/dev/null
	[ -d "$NH_CG" ] && echo "# cleanup: could not remove $NH_CG"
	return 0
}

# Pinned links of this file's runs that a killed nethook left: a run's
# lock (/run/nethook/ID.lock) names its cgroup, below ours; its pins are
# <bpffs>/nethook/ID.  Only once our cgroup's processes are gone.
nh_pins_cleanup() {
	local l id root
	[ -n "$NH_CG" ] || return 0
	for l in /run/nethook/*.lock; do
		[ -f "$l" ] || continue
		case $(cat "$l" 2>/dev/null) in
		"$NH_CG"/*) ;;
		*) continue ;;
		esac
		flock -n "$l" true || continue # a live run
		id=$(basename "$l" .lock)
		for root in /sys/fs/bpf /run/nethook/bpf; do
			[ -d "$root/nethook/$id" ] && rm -rf -- "$root/nethook/$id"
		done
		rm -f -- "$l"
	done
	return 0
}

nh_cleanup() {
	local rc=$? p i ns pids
	trap - EXIT HUP INT TERM
	set +e
	for p in "${NH_PIDS[@]}"; do
		nh_kill_ours "$p" TERM
	done
	for ((i = 0; i < 20; i++)); do
		pids=
		for p in "${NH_PIDS[@]}"; do
			[ -n "${p#*:}" ] && [ "$(nh_starttime "${p%%:*}")" = "${p#*:}" ] &&
				nh_alive "${p%%:*}" && pids=1
		done
		[ -z "$pids" ] && break
		sleep 0.1
	done
	for p in "${NH_PIDS[@]}"; do
		nh_kill_ours "$p" KILL
	done
	# Anything still in our namespaces was started by this run.
	for ns in "${NH_NETNS[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	nh_cgroup_cleanup
	nh_pins_cleanup
	for ns in "${NH_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || echo "# cleanup: netns $ns stays"
	done
	[ -n "$NH_TMP" ] && rm -rf -- "$NH_TMP"
	[ "$rc" -eq 0 ] && [ "$nh_failed" -gt 0 ] && rc=1
	exit "$rc"
}

nh_setup() {
	trap nh_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "$(id -u)" -ne 0 ]; then
		nh_fail "setup" "integration tests need root"
		exit 1
	fi
	NH_TMP=$(mktemp -d "/tmp/$NH_ID.XXXXXX") || nh_bail "no temp dir"
	nh_cgroup_setup
}

nh_setup
# shellcheck source=tests/integration/world.sh
. "$NH_SRCDIR/tests/integration/world.sh"
