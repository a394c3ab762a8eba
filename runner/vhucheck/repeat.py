"""run --repeat N: determinism, measured.

Each target's whole selection runs N times in a row, each run a fresh set
of harness processes exactly as a single run (same -j shares, same
progress line, labelled "run k/N"). The runs' documents are then merged
into one: a case whose verdict is the same in every run keeps that
verdict and its first run's details; a case whose verdict changed is
FLAKY, keeps every run's verdict ("verdicts", "runs") and the details of
its first run with the most severe verdict, and says what it flipped
between. FLAKY fails the gate unless the expectations file lists it.

Run 1 writes traces/ and logs/ in the report dir as usual; run k > 1 in
runs/k/. An interruption stops the repeat: the merged document holds
every run that finished a case, and is marked interrupted.
"""

import collections
import os
import shutil

from vhucheck import execute, expectations as X, results, verdicts as V
from vhucheck.render.text import first_failure, first_line

RUNS_DIR = "runs"


def run_dir(out, k):
    """Where run k (1-based) keeps its traces and logs."""
    return out if k == 1 else os.path.join(out, RUNS_DIR, str(k))


def run_target(plan, out, stop, progress):
    """Run plan.repeat times (stopping at a signal); the merged document.
    With repeat 1 this is exactly execute.run_target."""
    shutil.rmtree(os.path.join(out, RUNS_DIR), ignore_errors=True)
    if plan.repeat <= 1:
        return execute.run_target(plan, out, stop, progress)
    docs = []
    for k in range(1, plan.repeat + 1):
        label = f"{plan.profile.name} run {k}/{plan.repeat}"
        docs.append(execute.run_target(plan, run_dir(out, k), stop, progress,
                                       base=out, label=label))
        if stop.signum:
            break
    return merge(plan, docs)


def flip_text(verdicts):
    """'flipped between PASS (3 runs) and DEADLOCK (2 runs)': most frequent
    first, ties in order of first appearance."""
    n = collections.Counter(verdicts)
    order = sorted(n, key=lambda v: (-n[v], verdicts.index(v)))
    parts = [f"{v} ({n[v]} run{'' if n[v] == 1 else 's'})" for v in order]
    return "flipped between " + ", ".join(parts[:-1]) + " and " + parts[-1]


def _why(rec):
    """A run's reason in one line: the harness's reason, else its first
    failed expectation."""
    why = first_line(rec.get("reason"), 200)
    if why or V.is_passing(rec["verdict"]):
        return why
    exp, obs = first_failure(rec)
    return f"expected {exp}, observed {obs}"[:200] if exp or obs else ""


def _run_entry(k, rec):
    trace = rec.get("trace") or {}
    return {"run": k, "verdict": rec["verdict"], "reason": _why(rec),
            "duration_ms": rec.get("duration_ms"), "trace": trace.get("path")}


def _with_runs(rec, extra):
    """rec with extra's keys placed right after 'reason'."""
    out = {}
    for key, value in rec.items():
        if key not in extra:
            out[key] = value
        if key == "reason":
            out.update(extra)
    out.update({k: v for k, v in extra.items() if k not in out})
    return out


def merge_case(case, recs, expect):
    """One case's record from [(run number, record)] of the runs that
    finished it (at least one)."""
    verdicts = [r["verdict"] for _, r in recs]
    if len(set(verdicts)) == 1:
        return _with_runs(recs[0][1], {"verdicts": verdicts})
    # The first run with the most severe verdict: its trace shows the trouble.
    k, pick = min(recs, key=lambda kr: V.severity(kr[1]["verdict"]))
    why = _why(pick)
    reason = f"{flip_text(verdicts)}; run {k} ({pick['verdict']})" + (f": {why}" if why else "")
    entry = expect.lookup(case.id, case.key()) if expect else None
    rec = _with_runs(pick, {"verdicts": verdicts,
                            "runs": [_run_entry(j, r) for j, r in recs],
                            "details_run": k})
    rec.update(verdict=V.FLAKY, reason=reason, gate=X.judge(V.FLAKY, entry))
    return rec


def merge(plan, docs):
    """One result document from the documents of plan's runs, in order."""
    first, last = docs[0], docs[-1]
    by_run = [{c["id"]: c for c in d["cases"]} for d in docs]
    cases, not_run = [], []
    for case in plan.cases:
        recs = [(k, ix[case.id]) for k, ix in enumerate(by_run, 1) if case.id in ix]
        if recs:
            cases.append(merge_case(case, recs, plan.expect))
        else:
            not_run.append(case.id)
    shares = [dict(s, run=k) for k, d in enumerate(docs, 1) for s in d["harness"]["shares"]]
    doc = results.document(
        version=first["version"], target=first["target"], settings=first["settings"],
        cases=cases, not_run=not_run, harness={"path": first["harness"]["path"], "shares": shares},
        faults=results.fault_coverage(plan.faults, cases),
        stale=first["summary"]["gate"]["stale"], strict=plan.strict,
        started=first["started"], finished=last["finished"],
        duration_ms=sum(d["duration_ms"] for d in docs),
        interrupted=last["interrupted"], signal=last["signal"])
    runs = [{"run": k, "dir": "" if k == 1 else f"{RUNS_DIR}/{k}",
             "started": d["started"], "duration_ms": d["duration_ms"],
             "interrupted": d["interrupted"], "cases": len(d["cases"]),
             "verdicts": {v: n for v, n in d["summary"]["verdicts"].items() if n},
             "exit_code": d["summary"]["exit_code"]}
            for k, d in enumerate(docs, 1)]
    return _insert_before(doc, "cases", "runs", runs)


def _insert_before(doc, key, new_key, value):
    out = {}
    for k, v in doc.items():
        if k == key:
            out[new_key] = value
        out[k] = v
    return out


def flaky(doc):
    """Ids of the FLAKY cases of a document."""
    return [c["id"] for c in doc["cases"] if c["verdict"] == V.FLAKY]


def console_line(docs, repeat):
    """'repeat N: K flaky' over every target's document (None for N = 1)."""
    if repeat <= 1:
        return None
    k = sum(len(flaky(d)) for d in docs)
    stopped = [d for d in docs if d.get("interrupted")]
    tail = ""
    if stopped:
        tail = f" (interrupted in run {len(stopped[0].get('runs', ())) or 1} of {repeat})"
    return f"repeat {repeat}: {k} flaky{tail}"
