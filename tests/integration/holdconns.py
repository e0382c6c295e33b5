#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""holdconns: hold N connections to ADDR:PORT (default 8080), each with an
HTTP request sent, then read the replies and hold them SECS seconds more.

    holdconns.py N ADDR SECS [PORT]

Prints "open=N reset=N served=N" (served: a reply that begins with a 200
status).  Each connect and read gives up after 3 s.  python3 stdlib only.
"""
import socket
import sys
import time

n, addr, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
port = int(sys.argv[4]) if len(sys.argv) > 4 else 8080
socks, reset = [], 0
for i in range(n):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((addr, port))
        s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
        socks.append(s)
    except OSError:
        reset += 1
        s.close()
served = 0
for s in socks:
    try:
        if s.recv(4096).startswith(b"HTTP/1.1 200"):
            served += 1
    except OSError:
        reset += 1
print("open=%d reset=%d served=%d" % (len(socks), reset, served), flush=True)
time.sleep(secs)
for s in socks:
    s.close()
