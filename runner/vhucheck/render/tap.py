"""results.tap: TAP version 13 with a plan.

`not ok` for failing verdicts, `# SKIP` for UNSUPPORTED, `# TODO` for a
failure the expectations file expects (TAP's own word for a known gap).
A FLAKY case (run --repeat) is `not ok ... (FLAKY)` with every run's
verdict in its YAML block (`verdicts`, `runs`).
Each not-ok carries a YAML block; values are JSON strings, which YAML
reads as they are.
"""

import json

from vhucheck import expectations as X, signature, verdicts as V


def _desc(case):
    text = f"{case['area']}/{case['id']}: {case['title']}"
    return " ".join(text.split()).replace("\\", "\\\\").replace("#", "\\#")


def _yaml(case):
    keys = ("verdict", "reason", "verdicts", "level", "rule", "expected", "observed",
            "duration_ms", "file")
    out = ["  ---"]
    for k in keys:
        if case.get(k) not in (None, ""):
            out.append(f"  {k}: {json.dumps(case[k], ensure_ascii=False)}")
    if case.get("failures"):
        out.append("  failures:")
        for f in case["failures"]:
            out.append("    - " + json.dumps(f, ensure_ascii=False, sort_keys=True))
    if case.get("runs"):
        out.append("  runs:")
        for r in case["runs"]:
            out.append("    - " + json.dumps(r, ensure_ascii=False, sort_keys=True))
    if case.get("crash"):
        out.append(f"  signature: {json.dumps(case['crash']['id'] + ' ' + case['crash']['text'], ensure_ascii=False)}")
    if case.get("trace"):
        out.append(f"  trace: {json.dumps(case['trace'].get('path', ''))}")
    out.append("  ...")
    return out


def render(doc):
    lines = ["TAP version 13", f"1..{len(doc['cases'])}"]
    for n, case in enumerate(doc["cases"], 1):
        verdict = case["verdict"]
        line = f"{'ok' if V.is_passing(verdict) else 'not ok'} {n} - {_desc(case)}"
        if verdict == V.UNSUPPORTED:
            line += f" # SKIP {case.get('reason') or 'unsupported'}".replace("\n", " ")
        elif case.get("gate") == X.EXPECTED and not V.is_passing(verdict):
            line += f" # TODO expected {verdict}: {case['expectation']['reason']}".replace("\n", " ")
        elif verdict in (V.NON_STRICT, V.INFO, V.FLAKY):
            line += f" ({verdict})"
        lines.append(line)
        if not V.is_passing(verdict):
            lines += _yaml(case)
    crashes = signature.summary_line(doc["cases"])
    if crashes:
        lines.append(f"# {crashes}")
    if doc.get("interrupted"):
        runs = doc.get("runs") or ()
        where = f" in run {len(runs)} of {doc['settings'].get('repeat')}" if runs else ""
        lines.append(f"Bail out! interrupted{where}; {len(doc.get('not_run', []))} cases not run")
    return "\n".join(lines) + "\n"
