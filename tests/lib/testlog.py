#!/usr/bin/env python3
"""Reads meson's testlog.json (one JSON object per test, one per line).

testlog.py count LOG.json [STAGES_DIR]
    Prints what run-tests.sh shows after meson test: each stage's own
    output, the TAP lines of failed checks, then its one closing line
    "N passed, M failed, K skipped". Counts: a TAP test counts its
    checks (ok, not ok, ok # SKIP); a stage test counts its closing line
    "stage: P passed, F failed, S skipped"; any other test counts once
    by meson's result. A test meson failed with no failed check counted
    (a crash, a timeout) is one failure more; so is a stage of
    STAGES_DIR that did not run. Exit 0 when nothing failed.

testlog.py tap LOG.json
    Prints the TAP checks of every test of LOG.json as one TAP stream,
    each name prefixed by its test's name (tests/lib/sanitizers.sh), and
    a failure for a test that failed with no failed check. Exit 0 when
    nothing failed.
"""
import glob
import json
import os
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*)(#\s*(\S+).*)?$")
STAGE = re.compile(r"^stage: (\d+) passed, (\d+) failed, (\d+) skipped$")
BAD = ("FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS", "INTERRUPT")


def short(name):
    """meson's "project:suite / name" as the test's own name."""
    return name.split(" / ")[-1]


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tap_checks(stdout):
    """(status, text) per TAP check line: status ok, fail or skip."""
    out = []
    for line in stdout.splitlines():
        m = TAP.match(line)
        if not m:
            continue
        directive = (m.group(5) or "").upper()
        if directive == "SKIP":
            out.append(("skip", line))
        elif m.group(1) == "ok" or directive == "TODO":
            out.append(("ok", line))
        else:
            out.append(("fail", line))
    return out


def stage_line(stdout):
    found = [STAGE.match(line) for line in stdout.splitlines()]
    found = [m for m in found if m]
    return tuple(int(x) for x in found[-1].groups()) if found else None


def count_test(t):
    """(passed, failed, skipped, lines to show) of one test."""
    out = t.get("stdout") or ""
    if t.get("stderr"):
        out += t["stderr"]
    broke = t["result"] in BAD
    stage = stage_line(out)
    if stage is not None:
        p, f, s = stage
        show = [out.rstrip("\n")]
    else:
        checks = tap_checks(out)
        if checks:
            p = sum(1 for c in checks if c[0] == "ok")
            f = sum(1 for c in checks if c[0] == "fail")
            s = sum(1 for c in checks if c[0] == "skip")
            show = [c[1] for c in checks if c[0] == "fail"]
        else:
            p = int(t["result"] in ("OK", "EXPECTEDFAIL"))
            s = int(t["result"] == "SKIP")
            f = int(broke)
            show = []
    if broke and f == 0:
        f = 1
        show.append(f"{short(t['name'])}: meson says {t['result']} with no failed check"
                    f" (exit {t.get('returncode')})")
        show += (out.splitlines())[-20:]
    return p, f, s, show


def cmd_count(path, stages_dir=None):
    try:
        tests = read(path)
    except (OSError, ValueError) as e:
        print(f"run-tests: no test log: {e}")
        print("\n0 passed, 1 failed, 0 skipped")
        return 1
    passed = failed = skipped = 0
    names = {short(t["name"]) for t in tests}
    for t in tests:
        p, f, s, show = count_test(t)
        passed, failed, skipped = passed + p, failed + f, skipped + s
        if stage_line(t.get("stdout") or ""):
            print(f"\n== {short(t['name'])}")
            print("\n".join(show))
        elif show:
            print(f"\n== {short(t['name'])}: {f} failed")
            print("\n".join(show[:40]))
    if stages_dir:
        for script in sorted(glob.glob(os.path.join(stages_dir, "*.sh"))):
            stem = os.path.basename(script)[:-3]
            if stem not in names:
                print(f"run-tests: stage {stem} did not run (reconfigure the build:"
                      " meson setup --reconfigure build)")
                failed += 1
    print(f"\n{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def cmd_tap(path):
    n = failed = 0
    for t in read(path):
        p, f, s, show = count_test(t)
        checks = tap_checks(t.get("stdout") or "")
        for status, line in checks:
            n += 1
            text = TAP.match(line).group(3).strip()
            verdict = {"ok": "ok", "fail": "not ok", "skip": "ok"}[status]
            print(f"{verdict} {n} - {short(t['name'])}: {text}" + (" # SKIP" if status == "skip" else ""))
        if f > sum(1 for c in checks if c[0] == "fail"):
            n += 1
            print(f"not ok {n} - {short(t['name'])}: {t['result']} (exit {t.get('returncode')})")
        elif not checks:
            n += 1
            print(f"{'ok' if f == 0 else 'not ok'} {n} - {short(t['name'])}"
                  + (" # SKIP" if s else ""))
        failed += f
    print(f"1..{n}")
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "count":
        return cmd_count(argv[2], argv[3] if len(argv) > 3 else None)
    if len(argv) == 3 and argv[1] == "tap":
        return cmd_tap(argv[2])
    print("usage: testlog.py count LOG.json [STAGES_DIR] | tap LOG.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
