#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""fakeproxy: a scripted SOCKS5 / SOCKS4 / HTTP CONNECT proxy for failure tests.

    fakeproxy.py --listen ADDR:PORT --script MODE[,MODE...] [--lifetime S]
                 [--ready FILE] [--log FILE]

Connection N (counting from 1) is served by the Nth MODE of the script; the
last one serves every later connection.  Each mode reads the client's
request as the protocol says and answers as its name says:

  good                a working proxy (SOCKS5, SOCKS4/4a or HTTP CONNECT,
                      told apart by the first byte): connects to the target
                      and relays both ways
  eager               SOCKS5: the success reply and an HTTP response of its
                      own ("HTTP/1.0 200 OK ... eager") in one segment, no
                      target involved
  refuse              accept and reset at once (SO_LINGER 0), reading nothing
  close               read the greeting, close without a byte
  stall               read what comes, never answer (until the lifetime ends)
  s5-bad-version      greeting reply 04 00
  s5-greet-truncated  greeting reply 05 (one byte), then close
  s5-no-method        greeting reply 05 ff
  s5-auth-reject      ask for username/password (05 02), read them, answer 01 01
  s5-reply-refused    proper greeting, then connect reply 05 05 00 01 ...
  s5-reply-truncated  proper greeting, then 05 00 00 01 c0 00 (6 of 10 bytes), close
  s5-bad-atyp         proper greeting, then 05 00 00 09 ...
  s5-reset            proper greeting, the success reply, then reset at once
                      (SO_LINGER 0): a tunnel that dies as it opens
  s5-midreset         proper greeting, the success reply, an HTTP response
                      whose body is cut after 64 KiB by a reset (SO_LINGER
                      0): a proxy that dies mid-download
  s5-garbage          greeting reply: "\\xde\\xad\\xbe\\xef" x 16
  s4-reject           SOCKS4 reply 00 5b ...
  s4-bad-version      SOCKS4 reply 05 5a ...
  s4-truncated        SOCKS4 reply 00 5a 00 (3 of 8 bytes), close
  http-403            "HTTP/1.1 403 Forbidden"
  http-407            "HTTP/1.1 407 Proxy Authentication Required"
  http-garbage        "SSH-2.0-OpenSSH_9.2\\r\\n" instead of a status line
  http-truncated      "HTTP/1.1 200 Connection established\\r\\n", then close
                      (no blank line)
  http-endless        200 status line, then headers forever (up to 1 MiB)

Modes for pipelined handshakes and optimistic data (issue 15); each works
with and without username/password (any user and password are taken):
  pipe-close          SOCKS5: reads the greeting with one recv; if more than
                      the greeting came in that recv, closes without a
                      byte; else goes on as good
  pipe-stall          SOCKS5 like microsocks: one step (greeting, auth,
                      request) per recv, the rest of each recv discarded;
                      then as good.  Pipelined input stalls it
  split               as good, each reply (SOCKS5, SOCKS4, HTTP) written
                      one byte a send, 5 ms apart
  early               SOCKS5: right after the greeting, the greeting reply
                      (and the auth reply if it chose 02) and the success
                      reply in one send, before reading the rest; then
                      reads auth and request, connects, relays
  opt-discard         as good, but whatever came with the request (SOCKS5:
                      after the CONNECT; HTTP: after the blank line)
                      before the reply is dropped; later bytes relayed.
                      Logs "N discarded BYTES"
  opt-refuse          reads the request and what comes with it (up to
                      0.5 s after the request), then refuses (SOCKS5 reply
                      05, SOCKS4 5b, HTTP 403); never contacts the target.
                      Logs "N early BYTES"

Every connection the proxy accepted is written to --log as one line
"N MODE PEER FIRST_BYTES_HEX" (the request as received, up to 64 bytes),
and after a "good" connection's handshake "N target HOST:PORT".
The process exits after --lifetime seconds (default 60) whatever happens;
every socket operation is bounded by that deadline too.  python3 stdlib only.
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time

DEADLINE = 0.0
LOG_LOCK = threading.Lock()
LOG_FILE = None


def log(line):
    if not LOG_FILE:
        return
    with LOG_LOCK:
        with open(LOG_FILE, "a") as f:
            f.write(line + "\n")


def left():
    return max(0.05, DEADLINE - time.monotonic())


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.s.settimeout(left())
        self.seen = b""

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            self.s.settimeout(left())
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("peer closed")
            buf += chunk
        self.seen += buf
        return buf

    def recv_until(self, delim, limit=65536):
        buf = b""
        while delim not in buf:
            if len(buf) > limit:
                raise EOFError("request too long")
            self.s.settimeout(left())
            chunk = self.s.recv(1)
            if not chunk:
                raise EOFError("peer closed")
            buf += chunk
        self.seen += buf
        return buf

    def send(self, data):
        self.s.settimeout(left())
        self.s.sendall(data)


# --- reading requests ---------------------------------------------------


def s5_greeting(c):
    ver, n = c.recv_exact(2)
    methods = c.recv_exact(n)
    return ver, methods


def s5_auth(c):
    ver, ulen = c.recv_exact(2)
    user = c.recv_exact(ulen)
    (plen,) = c.recv_exact(1)
    pw = c.recv_exact(plen)
    return user, pw


def s5_request(c):
    ver, cmd, rsv, atyp = c.recv_exact(4)
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, c.recv_exact(4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, c.recv_exact(16))
    elif atyp == 3:
        (n,) = c.recv_exact(1)
        host = c.recv_exact(n).decode("ascii", "replace")
    else:
        raise EOFError("bad atyp %d" % atyp)
    (port,) = struct.unpack("!H", c.recv_exact(2))
    return host, port


def s4_request(c, first):
    """first: the version byte already read."""
    cmd = c.recv_exact(1)
    (port,) = struct.unpack("!H", c.recv_exact(2))
    ip = c.recv_exact(4)
    c.recv_until(b"\0", 512)  # user id
    if ip[:3] == b"\0\0\0" and ip[3] != 0:
        host = c.recv_until(b"\0", 512)[:-1].decode("ascii", "replace")
    else:
        host = socket.inet_ntop(socket.AF_INET, ip)
    return host, port


def http_request(c, first):
    head = first + c.recv_until(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) < 2 or parts[0] != "CONNECT":
        raise EOFError("not a CONNECT: %r" % line)
    hp = parts[1]
    host, _, port = hp.rpartition(":")
    return host.strip("[]"), int(port)


S5_OK = b"\x05\x00\x00\x01\xc0\x00\x02\x0a\x04\x38"
S4_OK = b"\x00\x5a\x00\x00\x00\x00\x00\x00"


def s5_after_greeting(c, methods, send=None):
    """Choose a method, authenticate, read the request: (host, port)."""
    send = send or c.send
    if 0 in methods:
        send(b"\x05\x00")
    elif 2 in methods:
        send(b"\x05\x02")
        s5_auth(c)
        send(b"\x01\x00")
    else:
        send(b"\x05\xff")
        raise EOFError("no acceptable method")
    return s5_request(c)


def read_request(c, send=None):
    """Read a whole request of any kind; returns (kind, host, port)."""
    (first,) = c.recv_exact(1)
    if first == 5:
        (n,) = c.recv_exact(1)
        methods = c.recv_exact(n)
        host, port = s5_after_greeting(c, methods, send)
        return "s5", host, port
    if first == 4:
        host, port = s4_request(c, first)
        return "s4", host, port
    host, port = http_request(c, bytes([first]))
    return "http", host, port


def pipe(a, b):
    try:
        while True:
            a.settimeout(left())
            d = a.recv(65536)
            if not d:
                break
            b.settimeout(left())
            b.sendall(d)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def send_split(c, data):
    """One byte a send, 5 ms apart (TCP_NODELAY: one segment each)."""
    c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(0.005)


def recv_pending(c, wait):
    """Whatever the client sent, waiting up to WAIT s for the first byte
    and 50 ms for each next one."""
    got = b""
    end = time.monotonic() + wait
    while True:
        t = end - time.monotonic() if not got else 0.05
        if t <= 0:
            break
        c.s.settimeout(min(t, left()))
        try:
            d = c.s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        got += d
    c.seen += got
    return got


def serve_good(c, n, send=None, discard=False):
    kind, host, port = read_request(c, send)
    log("%d target %s:%d" % (n, host, port))
    send = send or c.send
    if discard:
        log("%d discarded %d" % (n, len(recv_pending(c, 0.05))))
    try:
        up = socket.create_connection((host, port), timeout=min(5, left()))
    except OSError:
        if kind == "s5":
            send(b"\x05\x05\x00\x01\0\0\0\0\0\0")
        elif kind == "s4":
            send(b"\x00\x5b\0\0\0\0\0\0")
        else:
            send(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        return
    if kind == "s5":
        send(S5_OK)
    elif kind == "s4":
        send(S4_OK)
    else:
        send(b"HTTP/1.1 200 Connection established\r\n\r\n")
    relay(c, up)


def relay(c, up):
    t = threading.Thread(target=pipe, args=(up, c.s), daemon=True)
    t.start()
    pipe(c.s, up)
    t.join(left())
    up.close()


def recv_step(c):
    """One recv, as microsocks does: what it returns is one step."""
    c.s.settimeout(left())
    d = c.s.recv(1024)
    if not d:
        raise EOFError("peer closed")
    c.seen += d
    return d


def serve_stepper(c, n):
    """pipe-stall: one step per recv, the rest of each recv dropped."""
    d = recv_step(c)
    if d[0] != 5 or len(d) < 2 or len(d) < 2 + d[1]:
        raise EOFError("not a SOCKS5 greeting")
    if len(d) > 2 + d[1]:
        log("%d dropped %d after the greeting" % (n, len(d) - 2 - d[1]))
    methods = d[2:2 + d[1]]
    if 0 in methods:
        c.send(b"\x05\x00")
    elif 2 in methods:
        c.send(b"\x05\x02")
        d = recv_step(c)
        if len(d) < 2 or len(d) < 3 + d[1] or len(d) < 3 + d[1] + d[2 + d[1]]:
            raise EOFError("short auth")
        used = 3 + d[1] + d[2 + d[1]]
        if len(d) > used:
            log("%d dropped %d after the auth" % (n, len(d) - used))
        c.send(b"\x01\x00")
    else:
        c.send(b"\x05\xff")
        raise EOFError("no acceptable method")
    d = recv_step(c)
    if len(d) < 10 or d[:2] != b"\x05\x01":
        raise EOFError("bad request")
    if d[3] == 1:
        host, used = socket.inet_ntop(socket.AF_INET, d[4:8]), 8
    elif d[3] == 4:
        host, used = socket.inet_ntop(socket.AF_INET6, d[4:20]), 20
    elif d[3] == 3:
        host, used = d[5:5 + d[4]].decode("ascii", "replace"), 5 + d[4]
    else:
        raise EOFError("bad atyp")
    (port,) = struct.unpack("!H", d[used:used + 2])
    if len(d) > used + 2:
        log("%d dropped %d after the request" % (n, len(d) - used - 2))
    s5_connect_relay(c, n, host, port)


def s5_connect_relay(c, n, host, port):
    """Connect to the target, answer the CONNECT (0x05 when refused), relay."""
    log("%d target %s:%d" % (n, host, port))
    try:
        up = socket.create_connection((host, port), timeout=min(5, left()))
    except OSError:
        return c.send(b"\x05\x05\x00\x01\0\0\0\0\0\0")
    c.send(S5_OK)
    relay(c, up)


def serve_pipe_close(c, n):
    """pipe-close: the greeting must come alone in its recv."""
    d = recv_step(c)
    if d[0] != 5 or len(d) < 2:
        raise EOFError("not a SOCKS5 greeting")
    if len(d) > 2 + d[1]:
        log("%d pipelined %d bytes: closing" % (n, len(d)))
        return
    methods = d[2:] + c.recv_exact(2 + d[1] - len(d))
    host, port = s5_after_greeting(c, methods)
    s5_connect_relay(c, n, host, port)


def serve_early(c, n):
    """early: every reply sent right after the greeting."""
    ver, methods = s5_greeting(c)
    if 0 in methods:
        c.send(b"\x05\x00" + S5_OK)
    elif 2 in methods:
        c.send(b"\x05\x02\x01\x00" + S5_OK)
        s5_auth(c)
    else:
        return c.send(b"\x05\xff")
    host, port = s5_request(c)
    log("%d target %s:%d" % (n, host, port))
    try:
        up = socket.create_connection((host, port), timeout=min(5, left()))
    except OSError:
        return  # too late to say so: the success went out already
    relay(c, up)


def serve_opt_refuse(c, n):
    kind, host, port = read_request(c)
    log("%d early %d" % (n, len(recv_pending(c, 0.5))))
    if kind == "s5":
        c.send(b"\x05\x05\x00\x01\0\0\0\0\0\0")
    elif kind == "s4":
        c.send(b"\x00\x5b\0\0\0\0\0\0")
    else:
        c.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    # let the refusal reach the client before the close
    try:
        c.s.shutdown(socket.SHUT_WR)
        c.s.settimeout(min(2, left()))
        while c.s.recv(65536):
            pass
    except OSError:
        pass


def serve(mode, c, n):
    if mode == "good":
        return serve_good(c, n)
    if mode == "split":
        return serve_good(c, n, send=lambda d: send_split(c, d))
    if mode == "opt-discard":
        return serve_good(c, n, discard=True)
    if mode == "opt-refuse":
        return serve_opt_refuse(c, n)
    if mode == "pipe-stall":
        return serve_stepper(c, n)
    if mode == "pipe-close":
        return serve_pipe_close(c, n)
    if mode == "early":
        return serve_early(c, n)
    if mode == "refuse":
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       struct.pack("ii", 1, 0))
        return
    if mode == "stall":
        try:
            while c.s.recv(4096):
                c.s.settimeout(left())
        except OSError:
            pass
        time.sleep(left())
        return
    if mode.startswith("s5-") or mode in ("eager", "close"):
        s5_greeting(c)
        if mode == "close":
            return
        if mode == "s5-bad-version":
            return c.send(b"\x04\x00")
        if mode == "s5-greet-truncated":
            return c.send(b"\x05")
        if mode == "s5-no-method":
            return c.send(b"\x05\xff")
        if mode == "s5-garbage":
            return c.send(b"\xde\xad\xbe\xef" * 16)
        if mode == "s5-auth-reject":
            c.send(b"\x05\x02")
            s5_auth(c)
            return c.send(b"\x01\x01")
        c.send(b"\x05\x00")
        s5_request(c)
        if mode == "s5-reply-refused":
            return c.send(b"\x05\x05\x00\x01\0\0\0\0\0\0")
        if mode == "s5-reply-truncated":
            return c.send(b"\x05\x00\x00\x01\xc0\x00")
        if mode == "s5-bad-atyp":
            return c.send(b"\x05\x00\x00\x09\0\0\0\0\0\0")
        if mode == "s5-reset":
            c.send(S5_OK)
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            return
        if mode == "s5-midreset":
            c.send(S5_OK + b"HTTP/1.0 200 OK\r\nContent-Length: 1048576"
                   b"\r\n\r\n" + b"x" * 65536)
            time.sleep(0.3)
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                           struct.pack("ii", 1, 0))
            return
        if mode == "eager":
            body = b"eager\n"
            c.send(S5_OK + b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                   % len(body) + body)
            try:
                c.s.settimeout(min(2, left()))
                c.s.recv(4096)
            except OSError:
                pass
            return
    if mode.startswith("s4-"):
        (first,) = c.recv_exact(1)
        s4_request(c, first)
        if mode == "s4-reject":
            return c.send(b"\x00\x5b\0\0\0\0\0\0")
        if mode == "s4-bad-version":
            return c.send(b"\x05\x5a\0\0\0\0\0\0")
        if mode == "s4-truncated":
            return c.send(b"\x00\x5a\x00")
    if mode.startswith("http-"):
        http_request(c, b"")
        if mode == "http-403":
            return c.send(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        if mode == "http-407":
            return c.send(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                          b"Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n")
        if mode == "http-garbage":
            return c.send(b"SSH-2.0-OpenSSH_9.2\r\n")
        if mode == "http-truncated":
            return c.send(b"HTTP/1.1 200 Connection established\r\n")
        if mode == "http-endless":
            c.send(b"HTTP/1.1 200 Connection established\r\n")
            line = b"X-Filler: " + b"a" * 100 + b"\r\n"
            for _ in range((1 << 20) // len(line)):
                c.send(line)
            return
    raise SystemExit("fakeproxy: unknown mode %s" % mode)


def handle(sock, peer, mode, n):
    c = Conn(sock)
    try:
        serve(mode, c, n)
    except (OSError, EOFError) as e:
        log("%d error %s" % (n, e))
    finally:
        log("%d %s %s %s" % (n, mode, peer, c.seen[:64].hex() or "-"))
        try:
            sock.close()
        except OSError:
            pass


def main():
    global DEADLINE, LOG_FILE
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--script", required=True)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--ready")
    ap.add_argument("--log")
    a = ap.parse_args()
    DEADLINE = time.monotonic() + a.lifetime
    LOG_FILE = a.log
    modes = a.script.split(",")
    host, _, port = a.listen.rpartition(":")
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(1024)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    n = 0
    while time.monotonic() < DEADLINE:
        ls.settimeout(left())
        try:
            s, peer = ls.accept()
        except socket.timeout:
            break
        n += 1
        mode = modes[min(n, len(modes)) - 1]
        threading.Thread(target=handle, args=(s, "%s:%d" % peer[:2], mode, n),
                         daemon=True).start()
    ls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
