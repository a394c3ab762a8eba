"""junit.xml for GitLab, Jenkins and friends: one <testsuite> per area,
named target.area (also the classname of its test cases).

FAIL, CRASH, TIMEOUT, DEADLOCK, ERROR and FLAKY (run --repeat: the
verdict changed between runs; its message says between which) are
<failure type="VERDICT">;
UNSUPPORTED is <skipped>; so is a failure the expectations file expects
(like pytest's xfail), with a message saying so. The wire trace goes into
<system-out>, the target's stderr tail into <system-err>. The cases an
interrupted run did not run are <skipped> too, in a testsuite TARGET.not-run
(results.json keeps only their ids), so the counts add up to the selection.
"""

import signal
import xml.etree.ElementTree as ET

from vhucheck import expectations as X, verdicts as V
from vhucheck.render.text import duration_s, failure_message, first_line, xml_safe

NOT_RUN = "not-run"     # the testsuite (TARGET.not-run) of the cases an interrupted run left


def _outcome(case):
    """'failure', 'skipped' or None (passed), and the message."""
    verdict = case["verdict"]
    if case.get("gate") == X.EXPECTED and not V.is_passing(verdict):
        exp = case.get("expectation") or {}
        return "skipped", f"expected {verdict}: {exp.get('reason', '')}"
    if verdict == V.UNSUPPORTED:
        return "skipped", f"UNSUPPORTED: {case.get('reason') or 'the target lacks a required feature'}"
    if not V.is_passing(verdict):
        return "failure", failure_message(case)
    return None, ""


def _details(case):
    lines = [f"{case['id']}: {case['title']}", f"rule ({case['level']}): {case['rule']}",
             f"verdict: {case['verdict']}" + (f" ({case['reason']})" if case.get("reason") else "")]
    if case.get("crash"):
        s = case["crash"]
        lines.append(f"crash signature {s['id']}: {s['text']}")
        if s.get("backtrace"):
            lines += [f"backtrace ({s.get('backtrace_source')}):", s["backtrace"]]
    if len(case.get("verdicts") or ()) > 1:
        lines.append("runs: " + ", ".join(case["verdicts"]))
    for r in case.get("runs") or ():
        lines.append(f"  run {r.get('run', '?')}: {r.get('verdict', '?')}"
                     + (f" ({first_line(r['reason'], 200)})" if r.get("reason") else ""))
    if case.get("expected") or case.get("observed"):
        lines.append(f"expected: {case.get('expected', '')}")
        lines.append(f"observed: {case.get('observed', '')}")
    for f in case.get("failures", []):
        lines.append(f"  line {f.get('line', '?')} [{f.get('grade', '?')}]: expected "
                     f"{f.get('expected', '')}, observed {f.get('observed', '')}")
    for f in case.get("findings", []):
        lines.append(f"  finding {f.get('code', '?')} ({f.get('severity', '?')}): "
                     f"{f.get('msg', '')} {f.get('text', '')}".rstrip())
    if case.get("gate") == X.UNEXPECTED_PASS:
        lines.append(f"unexpected pass: the expectations said {case['expectation']['verdict']}")
    return "\n".join(lines)


def _testcase(parent, case, classname):
    tc = ET.SubElement(parent, "testcase", name=case["id"], classname=classname,
                       time=f"{duration_s(case):.6f}", file=case.get("file", ""))
    kind, msg = _outcome(case)
    if kind == "failure":
        el = ET.SubElement(tc, "failure", message=xml_safe(msg), type=case["verdict"])
        el.text = xml_safe(_details(case))
    elif kind == "skipped":
        ET.SubElement(tc, "skipped", message=xml_safe(msg))
    trace = (case.get("trace") or {}).get("text", "")
    out = ET.SubElement(tc, "system-out")
    out.text = xml_safe(_details(case) + ("\n\n--- wire trace ---\n" + trace if trace else ""))
    if case.get("stderr_tail"):
        ET.SubElement(tc, "system-err").text = xml_safe(case["stderr_tail"])
    return kind


def _suite(parent, name, cases, doc):
    ts = ET.SubElement(parent, "testsuite", name=name)
    props = ET.SubElement(ts, "properties")
    for key, value in (("target", doc["target"]["name"]), ("role", doc["target"]["role"]),
                       ("shmem_bit", doc["settings"]["shmem_bit"]),
                       ("tool", f"{doc['tool']} {doc['version']}")):
        ET.SubElement(props, "property", name=key, value=str(value))
    counts = {"failure": 0, "skipped": 0, None: 0}
    for c in cases:
        counts[_testcase(ts, c, name)] += 1
    ts.set("tests", str(len(cases)))
    ts.set("failures", str(counts["failure"]))
    ts.set("errors", "0")
    ts.set("skipped", str(counts["skipped"]))
    ts.set("time", f"{sum(duration_s(c) for c in cases):.6f}")
    ts.set("timestamp", doc["started"][:19])
    return counts


def add_target(root, doc, prefix=""):
    """One <testsuite> per area of a target's document under root."""
    areas = {}
    for c in doc["cases"]:
        areas.setdefault(c["area"], []).append(c)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for area in sorted(areas):
        counts = _suite(root, f"{prefix}{area}", areas[area], doc)
        totals["tests"] += len(areas[area])
        totals["failures"] += counts["failure"]
        totals["skipped"] += counts["skipped"]
    not_run = [cid for cid in doc.get("not_run") or () if isinstance(cid, str)]
    if not_run:
        _not_run_suite(root, f"{prefix}{NOT_RUN}", not_run, doc)
        totals["tests"] += len(not_run)
        totals["skipped"] += len(not_run)
    return totals


def _not_run_suite(parent, name, ids, doc):
    """The cases an interrupted run never ran, skipped, so that the counts
    of an interrupted run's junit.xml add up to what was selected."""
    sig = doc.get("signal")
    try:
        why = f" by {signal.Signals(int(sig)).name}" if sig else ""
    except (TypeError, ValueError):
        why = ""
    msg = f"not run: the run was interrupted{why}" if doc.get("interrupted") else "not run"
    ts = ET.SubElement(parent, "testsuite", name=name, tests=str(len(ids)), failures="0",
                       errors="0", skipped=str(len(ids)), time="0.000000",
                       timestamp=doc["started"][:19])
    for cid in ids:
        tc = ET.SubElement(ts, "testcase", name=cid, classname=name, time="0.000000")
        ET.SubElement(tc, "skipped", message=msg)


def render(docs):
    """The whole junit.xml for one or several targets' documents."""
    root = ET.Element("testsuites", name="vhucheck")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for doc in docs:
        # target.area even for one target: CI merges reports of several jobs
        for k, v in add_target(root, doc, f"{doc['target']['name']}.").items():
            totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("errors", "0")
    root.set("time", f"{sum(d['duration_ms'] for d in docs) / 1000.0:.3f}")
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
