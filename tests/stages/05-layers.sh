#!/bin/sh
# stage: layers: no include reaches a layer above (docs/architecture.md)
#
# The harness is three layers: harness/core (every program may use it),
# harness/engine and harness/monitor (each above core, beside each
# other). targets/, fuzzers/ and bench/ sit on core (fuzz_script alone
# also takes the engine's case parser, the module it fuzzes). Each
# `#include "x.h"` of those folders is resolved to the folder holding x.h
# and judged; tests/ may include anything. The build enforces the same
# (a layer exports only its own include directory); this names the file
# and line when someone adds the include path that would hide it.
# One test per C file: passed when every include it has is allowed.
# Then one test per folder of modules: no circle of includes between its
# modules (x.c/x.h including y.h while y's files include x.h, directly or
# round a longer loop), named module by module when there is one.
#
# usage: sh tests/stages/05-layers.sh TOPDIR
top=$(cd "${1:-.}" && pwd) || exit 2
cd "$top" || exit 2
exec python3 - "$top" <<'PY'
import os, re, sys

top = sys.argv[1]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# Which folders a file of each place may include from (besides its own).
ALLOWED = {
    "harness/core": {"harness/core"},
    "harness/engine": {"harness/core", "harness/engine"},
    "harness/monitor": {"harness/core", "harness/monitor"},
    "targets": {"harness/core", "targets"},
    "fuzzers": {"harness/core", "targets", "fuzzers"},
    "bench": {"harness/core", "bench"},
}
EXCEPTIONS = {("fuzzers/fuzz_script.c", "harness/engine")}


def place(rel):
    for p in sorted(ALLOWED, key=len, reverse=True):
        if rel == p or rel.startswith(p + "/"):
            return p
    return None


def headers():
    where = {}
    for root in ("harness", "targets", "fuzzers", "bench"):
        for d, _, files in os.walk(os.path.join(top, root)):
            for f in files:
                if f.endswith(".h"):
                    where.setdefault(f, []).append(os.path.relpath(d, top))
    return where


where = headers()
passed = failed = 0
for root in ALLOWED:
    for d, _, files in sorted(os.walk(os.path.join(top, root))):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            rel = os.path.relpath(os.path.join(d, f), top)
            if place(rel) != root:
                continue          # judged by its own, deeper place
            bad = []
            with open(os.path.join(top, rel), errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    name = m.group(1)
                    own = os.path.normpath(os.path.join(os.path.dirname(rel), name))
                    if os.path.exists(os.path.join(top, own)):
                        dirs = [os.path.dirname(own)]
                    else:
                        dirs = where.get(os.path.basename(name), [])
                    if not dirs:
                        continue      # generated or a system header in quotes
                    allowed = ALLOWED[root] | {p for (fr, p) in EXCEPTIONS if fr == rel}
                    if not any(place(x) in allowed for x in dirs):
                        bad.append(f"{rel}:{n}: includes {dirs[0]}/{os.path.basename(name)}: "
                                   f"{root} may include only {', '.join(sorted(allowed))}")
            if bad:
                failed += 1
                print("\n".join(bad))
            else:
                passed += 1
print(f"layers: {passed + failed} files, {failed} with an include from a layer above")


def circles(folder):
    """The include circles between the modules (x.c + x.h) of folder."""
    names = {f[:-2] for f in os.listdir(folder) if f.endswith((".c", ".h"))}
    dep = {}
    for f in os.listdir(folder):
        if not f.endswith((".c", ".h")):
            continue
        with open(os.path.join(folder, f), errors="replace") as fh:
            for line in fh:
                m = INCLUDE.match(line)
                if m and m.group(1).endswith(".h") and m.group(1)[:-2] in names \
                        and m.group(1)[:-2] != f[:-2]:
                    dep.setdefault(f[:-2], set()).add(m.group(1)[:-2])
    found, state = [], {}

    def walk(v, path):
        state[v] = 1
        for w in sorted(dep.get(v, ())):
            if state.get(w) == 1:
                found.append(path[path.index(w):] + [w])
            elif w not in state:
                walk(w, path + [w])
        state[v] = 2

    for v in sorted(dep):
        if v not in state:
            walk(v, [v])
    return found


folders = sorted({os.path.relpath(d, top) for root in ALLOWED
                  for d, _, files in os.walk(os.path.join(top, root))
                  if any(f.endswith(".c") for f in files)})
loops = 0
for rel in folders:
    found = circles(os.path.join(top, rel))
    if found:
        failed += 1
        loops += len(found)
        for c in found:
            print(f"{rel}: include circle: {' -> '.join(c)}")
    else:
        passed += 1
print(f"module circles: {len(folders)} folders, {loops} circles")
print(f"stage: {passed} passed, {failed} failed, 0 skipped")
PY
