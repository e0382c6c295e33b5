#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""fillflows: hold more diverted connections at once than nethook's kernel
table of them holds (test_faults_tables.sh), driven by files in DIR.

    fillflows.py DIR ADDR

- writes DIR/ready (its parent's pid: nethook's), waits for DIR/go ("M E":
  the table's size and how many more);
- opens M + E non-blocking connections to ADDR:80 in that order, from
  127.0.0.2, .3, ... (5,000 a source address: connect() finds a free
  port slowly in a crowded range), in processes of 15,000 sockets each (the open-file
  limit may be 20,000, and root without CAP_SYS_RESOURCE cannot raise
  it), one process after the other; writes DIR/opened
  ("opened=N errors=ERRNO:COUNT,...|none": connect() should say
  EINPROGRESS for each);
- on DIR/close, closes all but the last 500 filed ([M-500, M)) and the
  last 500 ([M+E-500, M+E)), 500 at a time with a pause (so that the
  kernel's end events do not outrun nethook's reader), and writes
  DIR/closed ("kept=N");
- on DIR/run, waits up to 40 s for each one kept to connect, sends
  "GET /who" and reads the answer; then makes 50 new connections the same
  way, one at a time; writes DIR/finished ("served=N reset=N refused=N
  other=N hung=N after=N": served is an HTTP 200 whose body ends in
  "web"; after counts the new ones served);
- exits on DIR/exit.
python3 stdlib only.
"""
import ast
import errno
import os
import selectors
import socket
import sys
import time

PER = 15000
REQ = b"GET /who HTTP/1.0\r\nHost: x\r\n\r\n"
d, addr = sys.argv[1], sys.argv[2]


def put(name, text):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(d, name))


def wait(name):
    p = os.path.join(d, name)
    while not os.path.exists(p):
        time.sleep(0.02)
    with open(p) as f:
        return f.read().split()


def open_range(lo, hi):
    socks, errors = {}, {}
    for i in range(lo, hi):
        s = socket.socket()
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
        s.bind(("127.0.0.%d" % (2 + i // 5000), 0))
        r = s.connect_ex((addr, 80))
        if r != errno.EINPROGRESS:
            k = errno.errorcode.get(r, str(r))
            errors[k] = errors.get(k, 0) + 1
        socks[i] = s
    return socks, errors


def close_others(socks, keep):
    n = 0
    for i in sorted(socks):
        if i in keep:
            continue
        socks.pop(i).close()
        n += 1
        if n % 500 == 0:
            time.sleep(0.04)


def run(socks):
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks.values():
        sel.register(s, selectors.EVENT_WRITE)
        got[s] = b""
    res = {"served": 0, "reset": 0, "refused": 0, "other": 0}
    deadline = time.monotonic() + 40
    while got and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if ev & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    s.send(REQ)
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                b = s.recv(4096)
                if b:
                    got[s] += b
                    continue
                ok = got[s].startswith(b"HTTP/1.1 200") and got[s].endswith(b"web\n")
                res["served" if ok else "other"] += 1
            except OSError as x:
                if x.errno in (errno.ECONNRESET, errno.EPIPE):
                    res["reset"] += 1
                elif x.errno == errno.ECONNREFUSED:
                    res["refused"] += 1
                else:
                    res["other"] += 1
            sel.unregister(s)
            s.close()
            del got[s]
    res["hung"] = len(got)
    return res


def kid(lo, hi, keep, cmd, ans):
    socks, errors = open_range(lo, hi)
    ans.write(repr((len(socks), errors)) + "\n")
    cmd.readline()
    close_others(socks, keep)
    ans.write("%d\n" % len(socks))
    cmd.readline()
    ans.write(repr(run(socks)) + "\n")
    os._exit(0)


def main():
    put("ready", str(os.getppid()))
    m, e = (int(x) for x in wait("go"))
    t = m + e
    keep = set(range(m - 500, m)) | set(range(t - 500, t))
    kids, errors, n = [], {}, 0
    for lo in range(0, t, PER):
        cr, cw = os.pipe()
        ar, aw = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(cw)
            os.close(ar)
            kid(lo, min(lo + PER, t), keep, os.fdopen(cr),
                os.fdopen(aw, "w", buffering=1))
        os.close(cr)
        os.close(aw)
        k = (pid, os.fdopen(cw, "w", buffering=1), os.fdopen(ar))
        got, errs = ast.literal_eval(k[2].readline())
        n += got
        for x, y in errs.items():
            errors[x] = errors.get(x, 0) + y
        kids.append(k)
    put("opened", "opened=%d errors=%s" % (
        n, ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "none"))
    wait("close")
    kept = 0
    for _, cw, ar in kids:
        cw.write("close\n")
        kept += int(ar.readline())
    put("closed", "kept=%d" % kept)
    wait("run")
    for _, cw, _ in kids:
        cw.write("run\n")
    res = {}
    for pid, _, ar in kids:
        for x, y in ast.literal_eval(ar.readline()).items():
            res[x] = res.get(x, 0) + y
        os.waitpid(pid, 0)
    after = 0
    for _ in range(50):
        try:
            s = socket.create_connection((addr, 80), timeout=5)
            s.sendall(REQ)
            b = b""
            while True:
                x = s.recv(4096)
                if not x:
                    break
                b += x
            after += b.endswith(b"web\n")
            s.close()
        except OSError:
            pass
    put("finished", " ".join("%s=%d" % (k, res.get(k, 0)) for k in
                         ("served", "reset", "refused", "other", "hung")) +
        " after=%d" % after)
    wait("exit")


main()
