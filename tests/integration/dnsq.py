#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""dnsq.py: one DNS query, as a program's resolver sends it, for the name
tests (test_dns_proxy.sh).

    dnsq.py [--tcp | --connect] [--timeout S] SERVER NAME TYPE

SERVER is an IPv4 or IPv6 address (port 53).  By default the query goes
out with sendto() on an unconnected UDP socket and the answer is read with
recvfrom(); --connect connects the UDP socket first; --tcp asks over TCP.
TYPE is A, AAAA, MX, TXT, PTR, HTTPS or a number.  Prints one line:

    from=ADDR:PORT rcode=N answers=DATA,DATA ms=N

(from: where recvfrom() says the answer came from; DATA: addresses for A
and AAAA, names for PTR, "TYPE" numbers for others), or "error=ERRNO-NAME
ms=N"; exits 0 on an answer.
"""
import errno
import ipaddress
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "HTTPS": 65}


def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def readname(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode(errors="replace"))
        off += n
    return ".".join(labels), (end if jumped else off)


def parse(msg, qid):
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid:
        raise ValueError("id mismatch")
    off = 12
    for _ in range(qd):
        _, off = readname(msg, off)
        off += 4
    answers = []
    for _ in range(an):
        _, off = readname(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == 1 and rdlen == 4:
            answers.append(str(ipaddress.IPv4Address(rdata)))
        elif rtype == 28 and rdlen == 16:
            answers.append(str(ipaddress.IPv6Address(rdata)))
        elif rtype in (5, 12):
            answers.append(readname(msg, off)[0])
        else:
            answers.append("TYPE%d" % rtype)
        off += rdlen
    return flags & 0xF, answers


def main():
    args = sys.argv[1:]
    mode, timeout = "udp", 3.0
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--tcp":
            mode = "tcp"
        elif a == "--connect":
            mode = "udpc"
        elif a == "--timeout":
            timeout = float(args.pop(0))
        else:
            sys.exit("usage: dnsq.py [--tcp | --connect] [--timeout S] SERVER NAME TYPE")
    if len(args) != 3:
        sys.exit("usage: dnsq.py [--tcp | --connect] [--timeout S] SERVER NAME TYPE")
    server, name, qtype = args
    t = TYPES.get(qtype.upper()) or int(qtype)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    qid = random.randrange(1, 65535)
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + \
        struct.pack("!HH", t, 1)
    t0 = time.monotonic()
    ms = lambda: int((time.monotonic() - t0) * 1000)
    try:
        if mode == "tcp":
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect((server, 53))
            s.sendall(struct.pack("!H", len(query)) + query)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                d = s.recv(65536)
                if not d:
                    raise OSError(errno.ECONNRESET, "closed")
                buf += d
            msg, frm = buf[2:], s.getpeername()
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(timeout)
            if mode == "udpc":
                s.connect((server, 53))
                s.send(query)
                msg = s.recv(65536)
                frm = s.getpeername()
            else:
                s.sendto(query, (server, 53))
                msg, frm = s.recvfrom(65536)
        rcode, answers = parse(msg, qid)
    except socket.timeout:
        print("error=ETIMEDOUT ms=%d" % ms())
        return 1
    except OSError as e:
        print("error=%s ms=%d" % (errno.errorcode.get(e.errno, str(e.errno)), ms()))
        return 1
    host = "[%s]" % frm[0] if fam == socket.AF_INET6 else frm[0]
    print("from=%s:%d rcode=%d answers=%s ms=%d" %
          (host, frm[1], rcode, ",".join(answers), ms()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
