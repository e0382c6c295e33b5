# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# The world and the peers of the `nethook run --proxy` tests (issue 3);
# each tests/integration/test_proxy_*.sh sources lib.sh, then this file.
#
#   c (client) <-- veth --> p (proxy host) <-- veth --> w (web)
#   c: 192.0.2.1/24  2001:db8:1::1/64
#   p: 192.0.2.10/24 2001:db8:1::10/64 (client side)
#      203.0.113.1/24 2001:db8:2::1/64 (web side); forwarding off
#   w: 203.0.113.2/24 2001:db8:2::2/64
#
#   nginx "web" in w on port 80 of 203.0.113.2 and 2001:db8:2::2, serving
#   who ("web"), index.html, small.txt (1000 random bytes), big.bin
#   (2 MiB random).  c has no route to 203.0.113.0/24 or 2001:db8:2::/64 and
#   w none back to c, so a body fetched from c came through a proxy in p.
#   c routes 198.51.100.99 (NHP_HOLE4) to p, which does not forward and
#   drops it silently: a blackholed proxy address (connect times out).
#
# Peers run in p: dante (danted), microsocks, tinyproxy, squid, OpenSSH
# (sshd, and ssh -D into it) and tests/integration/fakeproxy.py, each with
# its own config and log under $NH_TMP/<name>/, each killed by pid at exit.

# Debian packages these tests need on top of lib.sh's NH_TEST_PACKAGES.
NH_PROXY_TEST_PACKAGES="dante-server microsocks tinyproxy squid openssh-server openssh-client python3 openssl"

NHP_C4=192.0.2.1
NHP_C6=2001:db8:1::1
NHP_P4=192.0.2.10
NHP_P6=2001:db8:1::10
NHP_PW4=203.0.113.1
NHP_PW6=2001:db8:2::1
NHP_W4=203.0.113.2
NHP_W6=2001:db8:2::2
NHP_HOLE4=198.51.100.99
NHP_FAKE=$NH_SRCDIR/tests/integration/fakeproxy.py
NHP_USER=		# throwaway system user made by nhp_user_add
# Words put before each peer's program in p (after nsenter): names.sh
# runs the peers with the proxy host's own /etc files.  Empty: none.
NHP_PWRAP=()

# --- world -------------------------------------------------------------

nhp_world() {
	nh_netns c p w
	nh_link c p
	nh_link p w
	nh_addr c to-p "$NHP_C4/24" "$NHP_C6/64"
	nh_addr p to-c "$NHP_P4/24" "$NHP_P6/64"
	nh_addr p to-w "$NHP_PW4/24" "$NHP_PW6/64"
	nh_addr w to-p "$NHP_W4/24" "$NHP_W6/64"
	nh_in p sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 ||
		nh_bail "cannot turn forwarding off in p"
	nh_route c "$NHP_HOLE4/32" "$NHP_P4"
	nh_nginx w web "$NHP_W4:80" "[$NHP_W6]:80"
	nh_mkfile web small.txt 1000
	nh_mkfile web big.bin $((2 * 1024 * 1024))
	# Preconditions the tests rely on.
	nh_in p curl -sf -m 5 -o /dev/null "http://$NHP_W4/who" ||
		nh_bail "the proxy host cannot reach the web server"
	nh_in p curl -sf -m 5 -o /dev/null -g "http://[$NHP_W6]/who" ||
		nh_bail "the proxy host cannot reach the web server over IPv6"
	! nh_in c curl -s -m 2 -o /dev/null "http://$NHP_W4/who" ||
		nh_bail "the client reaches the web server directly"
	! nh_in c curl -s -m 2 -o /dev/null -g "http://[$NHP_W6]/who" ||
		nh_bail "the client reaches the web server directly over IPv6"
	! nh_in c curl -s -m 2 -o /dev/null "http://$NHP_PW4:80/" ||
		nh_bail "the client reaches the proxy host's web side"
	if nh_in c ip route show | grep -q '^default' ||
		nh_in c ip -6 route show | grep -q '^default'; then
		nh_bail "client namespace has a default route"
	fi
}

# nh_web_file NAME: path of a file served by "web" (as world.sh has it).
nhp_web_file() { echo "$(nh_www web)/$1"; }

# nhp_require_peers: give up when a peer is missing.
nhp_require_peers() {
	local c
	for c in danted microsocks tinyproxy python3; do
		command -v "$c" >/dev/null ||
			nh_bail "$c is not installed (apt-get install $NH_PROXY_TEST_PACKAGES)"
	done
}

# --- peers -------------------------------------------------------------

# nhp_hostport ADDR PORT: "ADDR:PORT" or "[ADDR6]:PORT".
nhp_hostport() {
	case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac
}

# nhp_microsocks NAME ADDR PORT [USER PASS]: microsocks in p.
nhp_microsocks() {
	local name=$1 addr=$2 port=$3 dir=$NH_TMP/$1 pid
	shift 3
	mkdir -p "$dir"
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- "${NHP_PWRAP[@]}" microsocks -i "$addr" -p "$port" \
		${1:+-u "$1" -P "$2"} </dev/null >"$dir/log" 2>&1
	nh_wait_port p "$addr" "$port" 10 ||
		nh_bail "microsocks $name did not listen on $addr port $port" \
			"$(tail -n 5 "$dir/log")"
}

# nhp_dante NAME PORT METHOD [EXTRA-CONFIG]: danted in p on NHP_P4 and
# NHP_P6 port PORT, socksmethod METHOD (none or username), going out from
# NHP_PW4 / NHP_PW6 (and NHP_P4 and 127.0.0.1, for chains to other
# proxies in p).  Speaks SOCKS5 and SOCKS4/4a.
nhp_dante() {
	local name=$1 port=$2 method=$3 dir=$NH_TMP/$1 pid
	mkdir -p "$dir"
	cat >"$dir/danted.conf" <<-EOF
	logoutput: $dir/dante.log
	errorlog: $dir/dante.err
	debug: 0
	internal: $NHP_P4 port = $port
	internal: $NHP_P6 port = $port
	external: $NHP_PW4
	external: $NHP_PW6
	external: $NHP_P4
	external: 127.0.0.1
	external.rotation: route
	socksmethod: $method
	clientmethod: none
	user.privileged: root
	user.unprivileged: nobody
	timeout.negotiate: 10
	timeout.io: 60
	client pass {
		from: 0/0 to: 0/0
		log: error
	}
	socks pass {
		from: 0/0 to: 0/0
		command: connect
		log: error connect disconnect
	}
	${4:-}
	EOF
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- "${NHP_PWRAP[@]}" danted -f "$dir/danted.conf" -p "$dir/danted.pid" \
		</dev/null >"$dir/stdout" 2>&1
	nh_wait_port p "$NHP_P4" "$port" 10 ||
		nh_bail "danted $name did not listen on $NHP_P4 port $port" \
			"$(tail -n 5 "$dir/dante.err" "$dir/stdout" 2>/dev/null)"
}

# nhp_tinyproxy NAME ADDR PORT [USER PASS]: tinyproxy in p (HTTP CONNECT
# to ports 80, 1080 and 1081 only, for chains to dante and microsocks,
# and the ports in NHP_TP_CONNECT_PORTS), clients from 192.0.2.0/24,
# 203.0.113.0/24, loopback.
nhp_tinyproxy() {
	local name=$1 addr=$2 port=$3 dir=$NH_TMP/$1 pid
	mkdir -p "$dir"
	cat >"$dir/tinyproxy.conf" <<-EOF
	Port $port
	Listen $addr
	Timeout 60
	LogFile "$dir/tinyproxy.log"
	LogLevel Connect
	PidFile "$dir/tinyproxy.pid"
	MaxClients 300
	Allow 192.0.2.0/24
	Allow 203.0.113.0/24
	Allow 2001:db8::/32
	Allow 127.0.0.1
	DisableViaHeader Yes
	EOF
	local cp
	for cp in 80 1080 1081 ${NHP_TP_CONNECT_PORTS:-}; do
		echo "ConnectPort $cp" >>"$dir/tinyproxy.conf"
	done
	[ $# -ge 5 ] && echo "BasicAuth $4 $5" >>"$dir/tinyproxy.conf"
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- "${NHP_PWRAP[@]}" tinyproxy -d -c "$dir/tinyproxy.conf" \
		</dev/null >"$dir/stdout" 2>&1
	nh_wait_port p "$addr" "$port" 10 ||
		nh_bail "tinyproxy $name did not listen on $addr port $port" \
			"$(tail -n 5 "$dir/stdout" "$dir/tinyproxy.log" 2>/dev/null)"
}

# nhp_squid NAME ADDR PORT [USER PASS]: squid in p on ADDR:PORT, as a
# CONNECT proxy (and a plain one) for clients from the documentation
# ranges and loopback: CONNECT to port 80 and to PORT itself only, no
# cache; with USER, Basic auth against a password file made here.  It
# runs in the foreground (-N: no kids), as user proxy; config and logs
# (access.log, cache.log) in $NH_TMP/NAME.
nhp_squid() {
	local name=$1 addr=$2 port=$3 dir=$NH_TMP/$1 pid auth=''
	mkdir -p "$dir"
	# squid drops to user proxy: it must reach its own directory
	chmod 711 "$NH_TMP"
	chown proxy "$dir"
	if [ $# -ge 5 ]; then
		printf '%s:%s\n' "$4" "$(openssl passwd -1 "$5")" >"$dir/passwd" ||
			nh_bail "cannot make squid's password file"
		chmod 644 "$dir/passwd"
		auth="auth_param basic program /usr/lib/squid/basic_ncsa_auth $dir/passwd
	auth_param basic children 2 startup=1 idle=1
	auth_param basic realm nethook
	acl authed proxy_auth REQUIRED
	http_access deny !authed"
	fi
	cat >"$dir/squid.conf" <<-EOF
	http_port $(nhp_hostport "$addr" "$port")
	visible_hostname nhp-$name
	cache_effective_user proxy
	pid_filename $dir/squid.pid
	cache_log $dir/cache.log
	access_log stdio:$dir/access.log
	cache_store_log none
	logfile_rotate 0
	coredump_dir $dir
	cache deny all
	cache_mem 4 MB
	shutdown_lifetime 0 seconds
	dns_nameservers 127.0.0.1
	acl clients src 192.0.2.0/24 203.0.113.0/24 2001:db8::/32 127.0.0.1
	acl cports port 80 $port
	acl CONNECT method CONNECT
	http_access deny !clients
	http_access deny CONNECT !cports
	$auth
	http_access allow clients
	http_access deny all
	EOF
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- "${NHP_PWRAP[@]}" squid -N -f "$dir/squid.conf" \
		</dev/null >"$dir/stdout" 2>&1
	nh_wait_port p "$addr" "$port" 20 ||
		nh_bail "squid $name did not listen on $addr port $port" \
			"$(tail -n 5 "$dir/stdout" "$dir/cache.log" 2>/dev/null)"
}

# nhp_sshd NAME: an OpenSSH server in p on 127.0.0.1 port 2222, for root
# by a key made here ($NH_TMP/NAME/id), no password, StrictModes no.  sshd
# runs in a mount namespace of its own with a tmpfs on /run (its
# privilege-separation directory /run/sshd is made there): nothing is
# written outside $NH_TMP.
NHP_SSHD_PORT=2222
nhp_sshd() {
	local name=$1 dir=$NH_TMP/$1 pid
	mkdir -p "$dir"
	if ! ssh-keygen -q -t ed25519 -N '' -C nhp-host -f "$dir/hostkey" </dev/null ||
		! ssh-keygen -q -t ed25519 -N '' -C nhp-client -f "$dir/id" </dev/null; then
		nh_bail "cannot make ssh keys"
	fi
	cp "$dir/id.pub" "$dir/authorized_keys"
	cat >"$dir/sshd_config" <<-EOF
	Port $NHP_SSHD_PORT
	ListenAddress 127.0.0.1
	HostKey $dir/hostkey
	PidFile $dir/sshd.pid
	AuthorizedKeysFile $dir/authorized_keys
	PermitRootLogin prohibit-password
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	AllowTcpForwarding yes
	X11Forwarding no
	PrintMotd no
	LogLevel VERBOSE
	EOF
	# shellcheck disable=SC2016
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- unshare -m --propagation private -- \
		sh -c 'mount -t tmpfs -o mode=755 nhp-run /run && mkdir -m 755 /run/sshd &&
			exec /usr/sbin/sshd -D -e -f "$1"' sh "$dir/sshd_config" \
		</dev/null >"$dir/log" 2>&1
	nh_wait_port p 127.0.0.1 "$NHP_SSHD_PORT" 10 ||
		nh_bail "sshd $name did not listen on 127.0.0.1 port $NHP_SSHD_PORT" \
			"$(tail -n 5 "$dir/log")"
}

# nhp_ssh_socks NAME ADDR PORT: `ssh -N -D ADDR:PORT` in p into the sshd
# of nhp_sshd NAME (as root): a SOCKS5 (and SOCKS4) proxy without auth.
# Its log is $NH_TMP/NAME/ssh.log.
nhp_ssh_socks() {
	local name=$1 dir=$NH_TMP/$1 pid
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- ssh -F /dev/null -N \
		-D "$(nhp_hostport "$2" "$3")" -i "$dir/id" -p "$NHP_SSHD_PORT" \
		-o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile="$dir/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes \
		-o ServerAliveInterval=30 -o LogLevel=ERROR \
		root@127.0.0.1 </dev/null >"$dir/ssh.log" 2>&1
	nh_wait_port p "$2" "$3" 10 ||
		nh_bail "ssh -D $name did not listen on $2 port $3" \
			"$(tail -n 5 "$dir/ssh.log" "$dir/log")"
}

# nhp_fake NAME ADDR PORT SCRIPT [LIFETIME]: fakeproxy.py in p; its log
# of connections is $NH_TMP/NAME/log.
nhp_fake() {
	local name=$1 addr=$2 port=$3 dir=$NH_TMP/$1 pid
	mkdir -p "$dir"
	rm -f "$dir/ready"
	nh_bg pid nsenter "--net=/run/netns/${NH_ID}p" -- "${NHP_PWRAP[@]}" python3 "$NHP_FAKE" \
		--listen "$(nhp_hostport "$addr" "$port")" --script "$4" \
		--lifetime "${5:-120}" --ready "$dir/ready" --log "$dir/log" \
		</dev/null >"$dir/stdout" 2>&1
	nh_wait_file "$dir/ready" 10 ||
		nh_bail "fakeproxy $name did not start" "$(tail -n 5 "$dir/stdout")"
}

# nhp_kill_peer PID: stop one peer started with nh_bg (and wait for it).
nhp_kill_peer() {
	kill "$1" 2>/dev/null
	nh_wait_gone "$1" 5 || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# --- a throwaway system user for dante's username method ----------------

# nhp_user_add PASSWORD: make user nhp<PID> (no home, no shell) with that
# password; removed on exit whatever happens.
nhp_user_add() {
	NHP_USER=nhp$$
	useradd -M -N -r -s /usr/sbin/nologin "$NHP_USER" 2>/dev/null ||
		nh_bail "cannot create user $NHP_USER"
	trap 'nhp_user_cleanup; nh_cleanup' EXIT
	echo "$NHP_USER:$1" | chpasswd || nh_bail "cannot set the password of $NHP_USER"
}

# Runs before nh_cleanup and keeps the exit status for it.
nhp_user_cleanup() {
	local rc=$?
	if [ -n "$NHP_USER" ] && id "$NHP_USER" >/dev/null 2>&1; then
		userdel "$NHP_USER" 2>/dev/null || echo "# cleanup: user $NHP_USER stays"
	fi
	return "$rc"
}

# --- measuring ---------------------------------------------------------

# nhp_ms: monotonic-ish milliseconds.
nhp_ms() { echo $(($(date +%s%N) / 1000000)); }

# nhp_rss_kb PID: VmRSS of PID in kB ("" if gone).
nhp_rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}

# nhp_child_pid PARENT COMM: the pid of PARENT's descendant named COMM,
# through any nsenter/timeout wrappers.
nhp_nethook_pid() {
	local p
	for p in $(pgrep -x nethook); do
		# only ours: a descendant of this shell
		local q=$p
		while [ -n "$q" ] && [ "$q" -gt 1 ]; do
			[ "$q" = "$1" ] && { echo "$p"; return 0; }
			q=$(awk '$1 == "PPid:" { print $2 }' "/proc/$q/status" 2>/dev/null)
		done
	done
	return 1
}

# nhp_relay_port NS: the TCP port nethook's relay listens on in NS
# (127.0.0.1), "" if none.
# nethook's resolver listens on loopback too, on TCP and UDP at one port:
# the relay's is the TCP port with no UDP socket beside it.
nhp_relay_port() {
	nh_in "$1" ss -Hltunp 2>/dev/null |
		awk '/"nethook"/ && $5 ~ /^127\.0\.0\.1:/ { p = $5; sub(/.*:/, "", p)
			if ($1 == "udp") udp[p] = 1; else tcp[p] = 1 }
			END { for (p in tcp) if (!(p in udp)) { print p; exit } }'
}

# nhp_log_end LOG: the `end` lines of a text log.
nhp_log_end() { awk '$2 == "end"' "$1" 2>/dev/null; }

# nhp_detail LINE: the detail="..." of a text log line.
nhp_detail() {
	printf '%s\n' "$1" | sed -n 's/.* detail="\(.*\)"$/\1/p' | head -n 1
}

# nhp_proxied NAME ROUTE RUN-ARGS...: nethook run RUN-ARGS (in c) fetches
# small.txt from the web host with curl; checks exit status, body and the
# one end line (route ROUTE, result ok).  Log in $NH_TMP/log, body in
# $NH_TMP/out, for the caller's further checks.
nhp_proxied() {
	local name=$1 route=$2 log=$NH_TMP/log out=$NH_TMP/out line rc
	shift 2
	rm -f "$log" "$out"
	nh_nethook c run --log "$log" "$@" -- \
		curl -sS -m 10 -o "$out" "http://$NHP_W4/small.txt"
	rc=$?
	nh_is "$name: curl and nethook exit 0" "$rc" 0
	nh_same_file "$name: body is the served file" "$out" "$(nhp_web_file small.txt)"
	line=$(nhp_log_end "$log")
	nh_is "$name: one end line, route $route, result ok" \
		"$(printf '%s\n' "$line" | awk 'NF { n++ } END { print n + 0 }') $(nh_tfield "$line" route) $(nh_tfield "$line" result)" \
		"1 $route ok"
}

# nhp_failing NAME URL DETAIL-ERE ERROR RUN-ARGS...: nethook run RUN-ARGS
# (in c) fetches URL with curl, which must fail within 3 s; the end line
# says result=error, error=ERROR and a detail matching DETAIL-ERE.  Log in
# $NH_TMP/log.
nhp_failing() {
	local name=$1 url=$2 re=$3 err=$4 log=$NH_TMP/log t0 t1 rc line
	shift 4
	rm -f "$log"
	t0=$(nhp_ms)
	nh_nethook c run --log "$log" "$@" -- \
		curl -sS -m 10 -g -o /dev/null "$url" 2>/dev/null
	rc=$?
	t1=$(nhp_ms)
	nh_check "$name: curl fails within 3 s (exit $rc, $((t1 - t0)) ms)" \
		test "$rc" -ne 0 -a $((t1 - t0)) -lt 3000
	line=$(nhp_log_end "$log")
	nh_is "$name: result=error error=$err" \
		"$(nh_tfield "$line" result) $(nh_tfield "$line" error)" "error $err"
	nh_like "$name: detail" "$(nhp_detail "$line")" "$re"
}

# nhp_concget COUNT ADDR PORT PATH WANT_FILE: python client that opens
# COUNT connections at once (all connected before any request is sent),
# then GETs PATH on each and compares each body with WANT_FILE; prints
# "open=N ok=N bad=N" and exits 0 when all COUNT were ok.
nhp_concget() {
	python3 - "$@" <<-'EOF'
	import socket, sys, time, selectors
	n, addr, port, path, want = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], open(sys.argv[5], "rb").read()
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	deadline = time.monotonic() + 90
	socks, err = [], None
	for i in range(n):
	    s = socket.socket(fam, socket.SOCK_STREAM)
	    s.settimeout(10)
	    try:
	        s.connect((addr, port))
	    except OSError as e:
	        err = err or repr(e); s.close(); continue
	    socks.append(s)
	opened = len(socks)
	sel = selectors.DefaultSelector()
	bufs = {}
	for s in socks:
	    s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: x\r\n\r\n")
	    s.setblocking(False)
	    bufs[s] = bytearray()
	    sel.register(s, selectors.EVENT_READ)
	done = ok = bad = 0
	while done < opened and time.monotonic() < deadline:
	    for key, _ in sel.select(timeout=1):
	        s = key.fileobj
	        try:
	            d = s.recv(65536)
	        except BlockingIOError:
	            continue
	        except OSError as e:
	            d = b""; err = err or repr(e)
	        if d:
	            bufs[s] += d; continue
	        sel.unregister(s); s.close(); done += 1
	        head, _, body = bytes(bufs[s]).partition(b"\r\n\r\n")
	        if head.startswith(b"HTTP/1.1 200") and body == want: ok += 1
	        else: bad += 1
	print("open=%d ok=%d bad=%d%s" % (opened, ok, bad, " first_error=" + err if err else ""))
	sys.exit(0 if ok == n else 1)
	EOF
}
