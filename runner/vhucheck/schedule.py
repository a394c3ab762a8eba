"""The order of a target's cases and how they are cut into harness
processes (shares) when cases run side by side (-j N, N > 1).

Each case gets an estimate: its duration in an earlier run of the same
target (the report dir given with --out, read before --clean removes it,
else the durations the last runs against it left in the build dir,
else the newest default report dir), or, for a case never run, what it
waits by design (the harness's `wait_ms`: sleeps and windows of silence)
on top of a typical case. Then:

* longest first: a case that takes a second does not start last, while
  the other worker has nothing left to do;
* shares shrink towards the end (guided: about a 2*N-th of what is left,
  at most CHUNK_CASES cases), so the workers run out of work together;
* a case that mostly waits (at least WAIT_MIN_S, and WAIT_RATIO times the
  typical case) gets a share of its own, marked `waits`: execute.py runs
  such shares beside the N busy ones, in up to N more slots, because
  while a case waits out a window its harness and its target use no
  core. Each case still gets a fresh target of its own.

`--schedule longest` does the same without running anything beside the
busy shares; `--schedule plain` keeps the order of the catalogue and
shares of equal total timeout, as before this module (both for
comparison: docs/targets.md has the measurement)."""

import json
import math
import os
import re
import statistics

from vhucheck.render import atomic

CHUNK_CASES = 8         # most cases in one harness process
WAIT_MIN_S = 0.5        # a case estimated at least this long ...
WAIT_RATIO = 5.0        # ... and this many times the typical case waits
TYPICAL_S = 0.05        # a case's estimate when nothing is known of the target
SCHEDULES = ("auto", "longest", "plain")


def _doc_durations(path):
    """(target name, {case id: ms}) of one results.json; None when it cannot
    be read or holds no durations."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        name = doc["target"]["name"]
        cases = doc["cases"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    got = {c["id"]: float(c["duration_ms"]) for c in cases
           if isinstance(c, dict) and isinstance(c.get("id"), str)
           and isinstance(c.get("duration_ms"), (int, float))}
    return (name, got) if got and isinstance(name, str) else None


def _report_docs(top):
    """The results.json of a report dir: its own, or its targets' (a run of
    several targets keeps one sub-dir each)."""
    if not top or not os.path.isdir(top):
        return []
    own = os.path.join(top, "results.json")
    if os.path.isfile(own):
        return [own]
    try:
        subs = sorted(os.listdir(top))
    except OSError:
        return []
    return [p for p in (os.path.join(top, s, "results.json") for s in subs)
            if os.path.isfile(p)]


def earlier_durations(dirs):
    """{target name: {case id: ms}} from the report dirs, the first dir that
    has a target winning."""
    out = {}
    for d in dirs:
        for path in _report_docs(d):
            found = _doc_durations(path)
            if found and found[0] not in out:
                out[found[0]] = found[1]
    return out


def _memory_path(build, name):
    return os.path.join(build, "runner-durations",
                        re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".json")


def recall(build, name):
    """{case id: ms} the runs against target `name` left in the build dir."""
    try:
        with open(_memory_path(build, name), encoding="utf-8") as f:
            got = json.load(f)["durations_ms"]
        return {k: float(v) for k, v in got.items() if isinstance(v, (int, float))}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def remember(build, doc):
    """Keeps the durations of a finished run in `build` (paths.state_dir():
    the build dir in a checkout, never an installed prefix), over those of
    earlier runs (a case not run this time keeps its old one). Only the
    order of later runs depends on it, never a verdict; a dir that cannot
    be written is no error."""
    found = {c["id"]: c["duration_ms"] for c in doc.get("cases", [])
             if isinstance(c.get("duration_ms"), (int, float))}
    name = doc.get("target", {}).get("name")
    if doc.get("interrupted") or not found or not isinstance(name, str):
        return
    merged = dict(recall(build, name), **found)
    path = _memory_path(build, name)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.write_text(path, json.dumps({"target": name, "durations_ms": merged},
                                           indent=0, sort_keys=True) + "\n")
    except OSError:
        pass


def estimates(cases, history, multiplier=1.0):
    """{case id: seconds}: the earlier duration, else the typical case (the
    median earlier duration when at least half the cases have one) plus the
    case's own declared waits."""
    known = [history[c.id] / 1000.0 for c in cases if c.id in history]
    typical = statistics.median(known) if known and 2 * len(known) >= len(cases) else TYPICAL_S
    return {c.id: (history[c.id] / 1000.0 if c.id in history
                   else typical + getattr(c, "wait_ms", 0) * multiplier / 1000.0)
            for c in cases}


def waiting(cases, est):
    """The ids of the cases that mostly wait."""
    if not cases:
        return set()
    typical = statistics.median(est[c.id] for c in cases)
    floor = max(WAIT_MIN_S, WAIT_RATIO * typical)
    return {c.id for c in cases if est[c.id] >= floor}


def longest_first(cases, est):
    order = {c.id: k for k, c in enumerate(cases)}
    return sorted(cases, key=lambda c: (-est[c.id], order[c.id]))


def parts(cases, est, jobs, apart=True):
    """[(cases, waits)]: the shares in the order they should start. The
    waiting cases first, one a share (unless not apart); then the busy
    ones, longest first, in guided chunks."""
    slow = waiting(cases, est) if jobs > 1 and apart else set()
    ordered = longest_first(cases, est)
    out = [([c], True) for c in ordered if c.id in slow]
    busy = [c for c in ordered if c.id not in slow]
    while busy:
        size = max(1, min(CHUNK_CASES, math.ceil(len(busy) / (2 * jobs))))
        out.append((busy[:size], False))
        busy = busy[size:]
    return out
