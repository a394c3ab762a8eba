"""The result document of one target (results.json) and the run's exit code.

Everything the renderers need is in here, so ``vhucheck report DIR`` can
re-render from results.json alone: the case headers, the harness's
judgement, the gate against the expectations, traces inlined.
"""

import os

from vhucheck import TOOL, expectations as X, signature, verdicts as V
from vhucheck.errors import EXIT_FAIL, EXIT_HARNESS, EXIT_OK

# 2: a case's `role` is the target's (in 1 it was the harness's side);
# resultfile still reads 1.
SCHEMA = 2
TRACE_INLINE_MAX = 256 * 1024
SCRIPT_INLINE_MAX = 64 * 1024
STDERR_TAIL_BYTES = 4096
STDERR_TAIL_LINES = 40
# Exit status of an interrupted run: 128 + the signal, as a shell reports it.
EXIT_SIGNAL_BASE = 128


def read_trace(path, base):
    """{"path", "text", "truncated"} for a trace file, or None. The path is
    kept relative to the report dir so the dir can be moved."""
    if not path:
        return None
    full = path if os.path.isabs(path) else os.path.join(base, path)
    rel = os.path.relpath(full, base) if full.startswith(base + os.sep) else path
    try:
        with open(full, "rb") as f:
            data = f.read(TRACE_INLINE_MAX + 1)
    except OSError:
        return {"path": rel, "text": "", "truncated": False, "missing": True}
    truncated = len(data) > TRACE_INLINE_MAX
    text = data[:TRACE_INLINE_MAX].decode("utf-8", "replace")
    return {"path": rel, "text": text, "truncated": truncated}


def read_script(path):
    """The case file's text, so the report shows what was tested."""
    try:
        with open(path, "rb") as f:
            return f.read(SCRIPT_INLINE_MAX).decode("utf-8", "replace")
    except OSError:
        return ""


def tail(path, nbytes=STDERR_TAIL_BYTES, nlines=STDERR_TAIL_LINES):
    """The last lines of a file (a stderr capture), '' when absent."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    if size > nbytes and lines:
        lines = lines[1:]        # the first one is cut
    return "\n".join(lines[-nlines:])


def _list_of_dicts(value):
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _text(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


def case_record(case, line, base, expect, sym=None):
    """Merge the case header (from the .vhu), the harness's JSON line (or the
    runner's own ERROR for an unreported case), the crash signature and the
    gate. sym: a signature.Symbolizer shared by the run's cases."""
    verdict = line.get("verdict")
    reason = _text(line.get("reason"))
    if verdict not in V.HARNESS:
        reason = f"the harness reported an unknown verdict {verdict!r}; {reason}".strip()
        verdict = V.ERROR
    target = line.get("target") if isinstance(line.get("target"), dict) else {}
    crash = signature.of_result(verdict, target, reason,
                                signature.read_stderr(target.get("stderr")), sym)
    entry = expect.lookup(case.id, case.key()) if expect else None
    duration = line.get("duration_ms")
    rec = {
        "id": case.id,
        "title": _text(line.get("title")) or case.title,
        "area": case.area,
        "role": case.role,
        "level": case.level,
        "level_reason": case.reason,
        "rule": _text(line.get("rule")) or case.rule,
        "requires": list(case.requires),
        "file": case.file,
        "verdict": verdict,
        "reason": reason,
        "duration_ms": round(float(duration), 3) if isinstance(duration, (int, float)) else None,
        "expected": _text(line.get("expected")),
        "observed": _text(line.get("observed")),
        "failures": _list_of_dicts(line.get("failures")),
        "failures_dropped": _count(line.get("failures_dropped")),
        "findings": _list_of_dicts(line.get("findings")),
        "findings_dropped": _count(line.get("findings_dropped")),
        "trace": read_trace(line.get("trace"), base),
        "script": read_script(case.path),
        "target": {k: target.get(k) for k in ("pid", "exit", "signal")},
        "stderr_tail": tail(target.get("stderr")),
        "crash": crash,
        "expectation": entry.as_dict() if entry else None,
        "gate": X.judge(verdict, entry, crash),
        "reported_by": line.get("_reported_by", "harness"),
    }
    if isinstance(line.get("_shared_target"), dict):
        # run --shared-target: the verdict was reached on a target that
        # served the cases before it; what the case left it in
        rec["shared_target"] = line["_shared_target"]
    if target.get("stderr"):
        s = target["stderr"]
        rec["target"]["stderr"] = os.path.relpath(s, base) if s.startswith(base + os.sep) else s
    return rec


def summarize(cases, not_run, stale, strict):
    """Counts per verdict, the passed/failed/skipped buckets and the gate."""
    verdicts = V.counts(c["verdict"] for c in cases)
    buckets = dict.fromkeys(V.BUCKETS, 0)
    for c in cases:
        buckets[V.BUCKET[c["verdict"]]] += 1
    gate = {
        "regressions": [c["id"] for c in cases if c["gate"] == X.REGRESSION],
        "unexpected_passes": [c["id"] for c in cases if c["gate"] == X.UNEXPECTED_PASS],
        "expected": sum(1 for c in cases if c["gate"] == X.EXPECTED),
        "stale": list(stale),
        "strict": bool(strict),
    }
    return {"total": len(cases), "verdicts": verdicts, **buckets,
            "not_run": len(not_run), "gate": gate,
            "crash_signatures": len(signature.group(cases))}



def exit_code(doc):
    """0 all passing or as expected; 1 regressions (and, strict, unexpected
    passes); 3 a harness fault or an unexpected ERROR verdict (also in one
    run of a FLAKY case); 128+signal when interrupted."""
    if doc.get("interrupted"):
        return EXIT_SIGNAL_BASE + int(doc.get("signal") or 2)
    harness_fault = any(s.get("fault") for s in doc.get("harness", {}).get("shares", []))
    unexpected_error = any(c["gate"] != X.EXPECTED and
                           (c["verdict"] == V.ERROR or (c["verdict"] == V.FLAKY and
                                                        V.ERROR in c.get("verdicts", ())))
                           for c in doc["cases"])
    if harness_fault or unexpected_error:
        return EXIT_HARNESS
    gate = doc["summary"]["gate"]
    if gate["regressions"] or (gate["strict"] and gate["unexpected_passes"]):
        return EXIT_FAIL
    return EXIT_OK


def document(*, version, target, settings, cases, not_run, harness, faults,
             stale, strict, started, finished, duration_ms, interrupted, signal):
    doc = {
        "schema": SCHEMA,
        "tool": TOOL,
        "version": version,
        "target": target,
        "settings": settings,
        "started": started,
        "finished": finished,
        "duration_ms": round(duration_ms, 1),
        "interrupted": bool(interrupted),
        "signal": signal,
        "summary": summarize(cases, not_run, stale, strict),
        "faults": faults,
        "harness": harness,
        "not_run": list(not_run),
        "signatures": signature.summaries(cases),
        "cases": cases,
    }
    doc["summary"]["exit_code"] = exit_code(doc)
    return doc


FAULT_CAUGHT, FAULT_MISSED, FAULT_NOT_RUN = "caught", "missed", "not run"


def fault_status(f):
    """caught, missed or not run, from a faults[] entry's lists: caught
    when one of its cases or any other case did not pass (with a fault
    switched on, a reference fails nothing else); not run when nothing
    failed and some of its cases were not run (not selected with
    --cases, or the run was interrupted): they might have caught it."""
    if f.get("caught_by") or f.get("also_failing"):
        return FAULT_CAUGHT
    return FAULT_NOT_RUN if f.get("not_run") else FAULT_MISSED


def fault_coverage(faults, cases):
    """For each injected fault: which of its cases caught it. As in the
    catalogue, a case catches a fault when its verdict is not PASS (nor
    UNSUPPORTED): a SHOULD case catches with NON-STRICT. `status` says
    whether the fault was caught at all (fault_status)."""
    def caught(c):
        return c["verdict"] not in (V.PASS, V.UNSUPPORTED)

    by_id = {c["id"]: c for c in cases}
    out = []
    for f in faults:
        d = f.as_dict()
        ran = [cid for cid in f.cases if cid in by_id]
        d["caught_by"] = [cid for cid in ran if caught(by_id[cid])]
        d["missed"] = [cid for cid in ran if not caught(by_id[cid])]
        d["not_run"] = [cid for cid in f.cases if cid not in by_id]
        d["also_failing"] = [c["id"] for c in cases if caught(c) and c["id"] not in f.cases]
        d["status"] = fault_status(d)
        out.append(d)
    return out


def one_line(doc):
    """'<target>: N passed, M failed, K skipped' and the rest that is non-zero."""
    s = doc["summary"]
    v = s["verdicts"]
    parts = [f"{s['passed']} passed"]
    soft = [f"{v[k]} {k.lower()}" for k in (V.NON_STRICT, V.INFO) if v.get(k)]
    if soft:
        parts[0] += f" ({', '.join(soft)})"
    parts.append(f"{s['failed']} failed")
    parts.append(f"{s['skipped']} skipped")
    if s["errors"]:
        parts.append(f"{s['errors']} error" + ("s" if s["errors"] > 1 else ""))
    if s.get("flaky") or doc["settings"].get("repeat", 1) > 1:
        parts.append(f"{s.get('flaky', 0)} flaky")
    if s["not_run"]:
        parts.append(f"{s['not_run']} not run")
    g = s["gate"]
    if doc["settings"].get("expectations"):
        parts.append(f"{g['expected']} as expected, {len(g['regressions'])} regressions")
    if g["unexpected_passes"]:
        parts.append(f"{len(g['unexpected_passes'])} unexpected passes")
    secs = doc["duration_ms"] / 1000.0
    tail_ = " (interrupted)" if doc["interrupted"] else ""
    return f"{doc['target']['name']}: {', '.join(parts)} in {secs:.1f}s{tail_}"
