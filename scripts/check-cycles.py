#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Include and call circles among the modules of some library folders.

A module is a .c file and the .h of the same name.  An edge A -> B: A
includes B's header, or A calls (or takes the address of) a function B
defines.  Prints the edges and every circle (strongly connected set of
more than one module, or a header that includes itself); exits 1 if any.
usage: scripts/check-cycles.py [DIR...]   (default: src/lib/core src/lib/sock)
Set CYCLES=-v to list the edges too.
"""
import os, re, sys

def strip(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)

dirs = sys.argv[1:] or ['src/lib/core', 'src/lib/sock']
files, folder = {}, {}
for d in dirs:
    for f in sorted(os.listdir(d)):
        if f.endswith(('.c', '.h')):
            files[f] = os.path.join(d, f)
            folder[f[:-2]] = os.path.basename(os.path.normpath(d))
mod = lambda f: f[:-2]
mods = sorted({mod(f) for f in files})
src = {f: open(p).read() for f, p in files.items()}

# functions each module defines (not static), and inline ones in headers
defs = {}
fn_def = re.compile(r'^(?!static\b)[A-Za-z_][\w \*]*?\b(nh_\w+)\s*\([^;{]*\)\s*\{', re.M)
inl_def = re.compile(r'^static inline [\w \*]*?\b(nh_\w+)\s*\(', re.M)
for f, t in src.items():
    body = strip(t)
    for m in fn_def.finditer(body):
        defs.setdefault(m.group(1), mod(f))
    if f.endswith('.h'):
        for m in inl_def.finditer(body):
            defs.setdefault(m.group(1), mod(f))

inc_edges, call_edges = set(), set()
hdr_inc = {}
for f, t in src.items():
    a = mod(f)
    incs = re.findall(r'^#include "([^"]+)"', t, re.M)
    if f.endswith('.h'):
        hdr_inc[f] = [i for i in incs if i in files]
    for i in incs:
        if i in files and mod(i) != a:
            inc_edges.add((a, mod(i)))
    body = strip(t)
    for name in set(re.findall(r'\b(nh_\w+)\b', body)):
        b = defs.get(name)
        if b and b != a and f.endswith('.c'):
            call_edges.add((a, b))

def sccs(nodes, edges):
    adj = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]

bad = 0
for name, edges in (('include', inc_edges), ('call', call_edges),
                    ('include+call', inc_edges | call_edges)):
    circles = sccs(mods, edges)
    print('%s edges: %d; circles: %d' % (name, len(edges), len(circles)))
    for c in circles:
        print('  circle: ' + ' <-> '.join(c))
        bad = 1
# a header reaching itself through its includes
def reach(h, seen):
    for i in hdr_inc.get(h, []):
        if i == start:
            return True
        if i not in seen:
            seen.add(i)
            if reach(i, seen):
                return True
    return False
for start in hdr_inc:
    if reach(start, set()):
        print('  header circle through ' + start)
        bad = 1
# between folders: not circles of files, but which way the folders lean
lean = {}
for a, b in inc_edges | call_edges:
    if folder[a] != folder[b]:
        lean.setdefault((folder[a], folder[b]), set()).add(a)
for (fa, fb), srcs in sorted(lean.items()):
    print('folder %s -> %s: from %s' % (fa, fb, ', '.join(sorted(srcs))))
if '-v' in os.environ.get('CYCLES', ''):
    for a, b in sorted(inc_edges | call_edges):
        print('  %s -> %s' % (a, b))
sys.exit(bad)
