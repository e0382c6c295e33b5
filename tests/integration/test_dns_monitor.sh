#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Names in the log for direct connections (issue 11, "The log names
# destinations"): in monitor mode and with --redirect, nethook watches the
# DNS answers the scope receives (cgroup_skb/ingress) and the lines of a
# connection to an address they gave carry its name (name=web.example),
# orig_dst staying the address.  Needs root (tests/run.sh --integration).
#
#   c (client) <-- veth --> p (servers)
#   c: 192.0.2.1/24 2001:db8:1::1/64, no other route
#   p: 192.0.2.10/24 2001:db8:1::10/64, and
#      nginx on 192.0.2.80, 192.0.2.81 and [2001:db8:1::80] port 80;
#      dnsmasq (names.sh's nhn_dnsmasq) on 192.0.2.54 and on
#      2001:db8:1::54: web.example A 192.0.2.80 and AAAA 2001:db8:1::80,
#      other.example A 192.0.2.80 (the same address), www.example CNAME
#      lb.example A 192.0.2.81; nothing else;
#      a hostile "resolver" (python) on 192.0.2.55 port 53 that answers
#      anything with malformed, cut, unrelated and oversized answers.
# The client's programs read resolv.conf files of their own (bind-mounted
# in a private mount namespace): its DNS goes to p and nowhere else.
#
# Cases: curl, wget and python urllib by name (text and JSON); IPv6 (AAAA
# over an IPv6 server); --redirect; a CNAME names the name asked; a later
# answer for the same address replaces the name; an address never looked
# up has no name; DNS over TCP is not watched, nor anything under --dns
# off; the hostile answers crash nothing and name nothing.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/logcheck.sh"
. "$(dirname "$0")/proxies.sh"
. "$(dirname "$0")/names.sh"
nh_require_nethook
for c in dnsmasq wget python3 getent curl unshare; do
	command -v "$c" >/dev/null ||
		nh_bail "$c is not installed (apt-get install $NH_NAMES_TEST_PACKAGES python3)"
done

C4=192.0.2.1
P4=192.0.2.10
WEB4=192.0.2.80
LB4=192.0.2.81
WEB6=2001:db8:1::80
DNS4=192.0.2.54
DNS6=2001:db8:1::54
EVIL4=192.0.2.55

nh_netns c p
nh_link c p
nh_addr c to-p "$C4/24" 2001:db8:1::1/64
nh_addr p to-c "$P4/24" 2001:db8:1::10/64 "$WEB4/32" "$LB4/32" \
	"$DNS4/32" "$EVIL4/32" "$WEB6/128" "$DNS6/128"
nh_nginx p web "$WEB4:80" "$LB4:80" "[$WEB6]:80"
# shellcheck disable=SC2054 # dnsmasq's own commas
names=(--host-record=web.example,"$WEB4","$WEB6"
	--host-record=other.example,"$WEB4"
	--host-record=lb.example,"$LB4" --cname=www.example,lb.example
	--local=/example/)
nhn_dnsmasq dns4 "$DNS4" "${names[@]}"
nhn_dnsmasq dns6 "$DNS6" "${names[@]}"
nhn_etc v4 "nameserver $DNS4
options timeout:2 attempts:1"
nhn_etc v6 "nameserver $DNS6
options timeout:2 attempts:1"
nhn_etc tcp "nameserver $DNS4
options timeout:2 attempts:1 use-vc"

# preconditions: c reaches p's servers and resolves through its dnsmasq
nh_in c curl -sf -m 5 -o /dev/null "http://$WEB4/who" ||
	nh_bail "the client cannot reach the web server"
nhn_with_etc v4 nsenter "--net=/run/netns/${NH_ID}c" -- \
	getent ahostsv4 www.example | grep -q "^$LB4 " ||
	nh_bail "the client does not resolve www.example through dnsmasq"
if nh_in c ip route show | grep -q '^default' ||
	nh_in c ip -6 route show | grep -q '^default'; then
	nh_bail "client namespace has a default route"
fi

log=$NH_TMP/log
# end_field N KEY: KEY of the Nth end line (1-based) of $log
end_field() {
	nh_tfield "$(nh_tevents "$log" end | sed -n "${1}p")" "$2"
}

# --- curl, by name, IPv4: the name beside the address ----------------------
rm -f "$log"
got=$(nhn_nethook v4 run --log "$log" -- curl -sS -4 -m 5 "http://web.example/who" 2>&1)
nh_is "curl by name: fetched" "$got" web
nh_is "curl: orig_dst is the address" "$(end_field 1 orig_dst)" "$WEB4:80"
nh_is "curl: name=web.example" "$(end_field 1 name)" web.example
nh_like "curl: the name sits after orig_dst" "$(nh_tevents "$log" end)" \
	" orig_dst=$WEB4:80 name=web\\.example new_dst=$WEB4:80 "

# JSON: the field is there, and null where no name is known
rm -f "$log"
nhn_nethook v4 run --json --log "$log" -- sh -c \
	"curl -s -4 -m 5 -o /dev/null http://$LB4/who; curl -s -4 -m 5 -o /dev/null http://web.example/who"
nh_is "json: by address, then by name: names null, web.example" \
	"$(jq -r 'select(.event == "end") | "\(.orig_dst) \(.name)"' "$log" 2>/dev/null | paste -sd ' ')" \
	"$LB4:80 null $WEB4:80 web.example"

# --- wget and python ---------------------------------------------------------
rm -f "$log"
got=$(nhn_nethook v4 run --log "$log" -- wget -q -4 -T 5 -O - "http://web.example/who" 2>&1)
nh_is "wget by name: fetched" "$got" web
nh_is "wget: name=web.example, orig_dst the address" \
	"$(end_field 1 name) $(end_field 1 orig_dst)" "web.example $WEB4:80"
rm -f "$log"
got=$(nhn_nethook v4 run --log "$log" -- python3 -c '
import socket, urllib.request
orig = socket.getaddrinfo
socket.getaddrinfo = lambda *a, **k: [r for r in orig(*a, **k) if r[0] == socket.AF_INET]
print(urllib.request.urlopen("http://web.example/who", timeout=5).read().decode().strip())' 2>&1)
nh_is "python urllib by name: fetched" "$got" web
nh_is "python: name=web.example" "$(end_field 1 name)" web.example

# --- IPv6: AAAA over an IPv6 server ------------------------------------------
rm -f "$log"
got=$(nhn_nethook v6 run --log "$log" -- curl -sS -6 -m 5 "http://web.example/who" 2>&1)
nh_is "curl -6 by name, resolver on IPv6: fetched" "$got" web
nh_is "IPv6: orig_dst is the address, name=web.example" \
	"$(end_field 1 orig_dst) $(end_field 1 name)" "[$WEB6]:80 web.example"

# --- a CNAME names the name asked ---------------------------------------------
rm -f "$log"
got=$(nhn_nethook v4 run --log "$log" -- curl -sS -4 -m 5 "http://www.example/who" 2>&1)
nh_is "curl www.example (a CNAME): fetched" "$got" web
nh_is "CNAME: name=www.example (not lb.example), orig_dst the address" \
	"$(end_field 1 name) $(end_field 1 orig_dst)" "www.example $LB4:80"

# --- a later answer for the same address replaces the name ----------------------
rm -f "$log"
nhn_nethook v4 run --log "$log" -- sh -c "
	curl -s -4 -m 5 -o /dev/null http://web.example/who
	getent ahostsv4 other.example >/dev/null
	curl -s -4 -m 5 -o /dev/null http://$WEB4/who"
nh_is "same address, two names: each line named by the answer before it" \
	"$(end_field 1 name) $(end_field 2 name)" "web.example other.example"

# --- --redirect ----------------------------------------------------------------
rm -f "$log"
got=$(nhn_nethook v4 run --redirect "$LB4:80" --log "$log" -- \
	curl -sS -4 -m 5 "http://web.example/who" 2>&1)
nh_is "--redirect: fetched from the target" "$got" web
line=$(nh_tevents "$log" redirect)
nh_is "--redirect: the redirect line names the host" \
	"$(nh_tfield "$line" orig_dst) $(nh_tfield "$line" name) $(nh_tfield "$line" new_dst)" \
	"$WEB4:80 web.example $LB4:80"
nh_is "--redirect: the end line too" \
	"$(end_field 1 orig_dst) $(end_field 1 name) $(end_field 1 new_dst)" \
	"$WEB4:80 web.example $LB4:80"

# --- what is not watched ------------------------------------------------------
rm -f "$log"
got=$(nhn_nethook tcp run --log "$log" -- curl -sS -4 -m 5 "http://web.example/who" 2>&1)
nh_is "DNS over TCP (use-vc): fetched" "$got" web
nh_is "DNS over TCP: not watched, no name (README)" "$(end_field 1 name)" ""
nh_like "DNS over TCP: its own connection is logged, to port 53" \
	"$(nh_tevents "$log" end)" " orig_dst=$DNS4:53 "
rm -f "$log"
got=$(nhn_nethook v4 run --dns off --log "$log" -- curl -sS -4 -m 5 "http://web.example/who" 2>&1)
nh_is "--dns off: fetched" "$got" web
nh_is "--dns off: no name" "$(end_field 1 name)" ""

# --- hostile answers -------------------------------------------------------------
# Whatever reaches it, the "resolver" on EVIL4 answers with each of these,
# from port 53, and then 300 datagrams of noise that pass for responses.
cat >"$NH_TMP/evil.py" <<'EOF'
import os, random, socket, struct, sys

def name(n):
    return b"".join(bytes([len(l)]) + l for l in n.split(b".")) + b"\0"

def resp(qid, qname, rrs, an=None, flags=0x8180):
    h = struct.pack(">HHHHHH", qid, flags, 1, len(rrs) if an is None else an, 0, 0)
    return h + name(qname) + struct.pack(">HH", 1, 1) + b"".join(rrs)

def a(owner, ip, raw_owner=None):
    o = raw_owner if raw_owner is not None else name(owner)
    return o + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)

web = sys.argv[2]
bad = [
    # records the question does not lead to: not taken
    resp(1, b"evil.example", [a(b"bank.example", web), a(b"web.example", web)]),
    # a name that is no host name, as the question and as the owner
    resp(2, b"we b.example", [a(b"we b.example", web)]),
    resp(3, b"x.example", [a(None, web, raw_owner=b"\x05a/b.c\x07example\x00")]),
    # a compression loop in the owner, a pointer past the end
    resp(4, b"loop.example", [a(None, web, raw_owner=b"\xc0\x30")]),
    resp(5, b"far.example", [a(None, web, raw_owner=b"\xc3\xff")]),
    # more records announced than there are
    resp(6, b"many.example", [a(b"many.example", web)], an=65535),
    # cut in the middle of its only record
    resp(7, b"cut.example", [a(b"cut.example", web)])[:-3],
    # an answer too long: its record past the 512 bytes read
    resp(8, b"big.example",
         [a(b"big.example", "192.0.2.%d" % (100 + i)) for i in range(40)] +
         [a(b"big.example", web)]),
    # a header alone, and nothing at all
    struct.pack(">HHHHHH", 9, 0x8180, 1, 1, 0, 0),
    b"",
]
rnd = random.Random(7)
noise = [struct.pack(">HHHH", rnd.randrange(65536), 0x8180, rnd.randrange(3),
                     1 + rnd.randrange(65535)) + os.urandom(rnd.randrange(600))
         for _ in range(300)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    _, peer = s.recvfrom(4096)
    for m in bad + noise:
        s.sendto(m, peer)
EOF
evil_pid=
nh_bg evil_pid nsenter "--net=/run/netns/${NH_ID}p" -- \
	python3 "$NH_TMP/evil.py" "$EVIL4" "$WEB4" </dev/null >"$NH_TMP/evil.log" 2>&1
sleep 0.5
nh_alive "$evil_pid" || nh_bail "the hostile resolver did not start" "$(cat "$NH_TMP/evil.log")"
rm -f "$log"
got=$(nhn_nethook v4 run -vv --log "$log" -- python3 -c '
import socket, sys
socket.getaddrinfo("web.example", 80, socket.AF_INET)
for connect in (True, False):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1)
    if connect:
        u.connect((sys.argv[1], 53)); u.send(b"\0" * 12)
    else:
        u.sendto(b"\0" * 12, (sys.argv[1], 53))
    n = 0
    try:
        while True:
            u.recv(4096); n += 1
    except socket.timeout:
        pass
    print(n)
s = socket.create_connection((sys.argv[2], 80), timeout=5)
s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
while s.recv(4096):
    pass
print("done")' "$EVIL4" "$WEB4" 2>"$NH_TMP/vv")
rc=$?
nh_is "hostile answers: the program and nethook ran to the end (exit 0)" \
	"$rc $(printf '%s' "$got" | tail -n 1)" "0 done"
nh_check "hostile answers: the program received them (connected and not)" \
	test "$(printf '%s\n' "$got" | head -n 2 | paste -sd ' ')" != "0 0"
nh_check "hostile answers: nethook read them, and turned them down (-vv)" \
	grep -q "a DNS answer of .* not read" "$NH_TMP/vv"
nh_is "hostile answers: the address keeps the name the real answer gave" \
	"$(end_field 1 orig_dst) $(end_field 1 name)" "$WEB4:80 web.example"
nh_unlike "hostile answers: no line names bank, evil, big or the others" \
	"$(cat "$log")" 'name=(bank|evil|x|loop|far|many|cut|big)\.example'

nh_done
