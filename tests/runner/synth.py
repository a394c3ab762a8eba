"""Synthetic result data for the renderer tests: real case headers from
suites/ when there are some (else a few made-up ones), with harness-shaped
JSON lines of every verdict. Report rendering from result data is a
legitimate input; the harness itself is never faked."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "runner"))

from vhucheck import expectations, results, suite, verdicts as V  # noqa: E402

VERDICT_CYCLE = (V.PASS, V.PASS, V.PASS, V.FAIL, V.PASS, V.NON_STRICT, V.INFO, V.UNSUPPORTED,
                 V.PASS, V.CRASH, V.TIMEOUT, V.DEADLOCK, V.ERROR, V.PASS)

TRACE = """\
# case shmem_map_overlap_equal, target pid 4242
   0.112 main    <- GET_FEATURES flags=0x1 size=0
   0.118 main    -> GET_FEATURES reply flags=0x5 size=8 u64=0x140000000
   1.204 backend -> SHMEM_MAP flags=0x9 size=40 fds=1 shmid=0 shm_offset=0x2000 len=0x2000 fd_offset=0 flags=rw
   1.398 backend <- reply flags=0x5 size=8 u64=0
   1.401 backend -> SHMEM_MAP flags=0x9 size=40 fds=1 shmid=0 shm_offset=0x2000 len=0x2000
   1.590 backend <- reply flags=0x5 size=8 u64=0
!! line 12: expected reply value nonzero, observed 0 <tag> & "quote"
"""


def fake_cases(n=6):
    areas = ("A-framing", "C-map", "D-unmap")
    out = []
    for k in range(n):
        area = areas[k % len(areas)]
        cid = f"synthetic_case_{k}"
        out.append(suite.Case(id=cid, title=f"Synthetic case {k} | with <markup> & pipes",
                              area=area, role="frontend", level=("MUST", "SHOULD", "INFO")[k % 3],
                              rule="6: MUST fail: mapping over an existing mapping", reason="why",
                              requires=("SHMEM", "REPLY_ACK"), timeout_ms=5000,
                              path=f"/nonexistent/{area}/{cid}.vhu",
                              file=f"suites/{area}/{cid}.vhu"))
    return out


def cases(limit=40):
    try:
        found = suite.discover()
    except Exception:
        found = []
    found = [c for c in found if c.role == "frontend"][:limit]
    return found or fake_cases()


def line_for(case, verdict, base, k):
    line = {"id": case.id, "file": case.file, "title": case.title, "area": case.area,
            "role": case.role, "level": case.level, "rule": case.rule, "verdict": verdict,
            "duration_ms": 1.5 + 7.25 * k, "reason": "", "expected": "", "observed": "",
            "failures": [], "findings": [], "trace": None,
            "target": {"pid": 4000 + k, "exit": None, "signal": None, "stderr": None}}
    if not V.is_passing(verdict) or verdict == V.NON_STRICT:
        line["reason"] = {V.CRASH: "target died of SIGSEGV", V.TIMEOUT: "case deadline 5000 ms",
                          V.DEADLOCK: "reply never came while SET_MEM_TABLE waited",
                          V.ERROR: "suites/x.vhu:3: unknown step 'sendd'"}.get(verdict, "")
        line["expected"] = "reply value non-zero"
        line["observed"] = "reply value 0 | <b>not bold</b>"
        line["failures"] = [{"line": 12, "grade": "MUST", "expected": "reply value non-zero",
                             "observed": "reply value 0"}]
        line["findings"] = [{"code": "MMAP_PADDING", "severity": "error", "msg": "SHMEM_MAP",
                             "text": "padding bytes are not zero"}]
    if verdict == V.UNSUPPORTED:
        line["reason"] = "the target does not negotiate BACKEND_SEND_FD"
    trace_dir = os.path.join(base, "traces")
    os.makedirs(trace_dir, exist_ok=True)
    path = os.path.join(trace_dir, case.id + ".trace")
    with open(path, "w") as f:
        f.write(TRACE.replace("shmem_map_overlap_equal", case.id) + "\x01 control char\n")
    line["trace"] = path
    err = os.path.join(trace_dir, case.id + ".stderr")
    with open(err, "w") as f:
        f.write("ref-frontend: started\nref-frontend: refusing MAP: overlap\n")
    line["target"]["stderr"] = err
    return line


def document(base, name="ref-frontend", expect_text=None, strict=False, interrupted=False,
             verdicts=VERDICT_CYCLE, case_list=None):
    cs = case_list or cases()
    ex = expectations.empty().for_target(name)
    if expect_text is not None:
        path = os.path.join(base, "expect.toml")
        with open(path, "w") as f:
            f.write(expect_text)
        ex = expectations.load(path).for_target(name)
    recs, not_run = [], []
    for k, c in enumerate(cs):
        if interrupted and k >= len(cs) // 2:
            not_run.append(c.id)
            continue
        recs.append(results.case_record(c, line_for(c, verdicts[k % len(verdicts)], base, k),
                                        base, ex))
    target = {"name": name, "description": "Synthetic target for the renderer tests",
              "role": "frontend", "harness_role": "backend", "profile": "x.toml",
              "command": "/bin/true {fd}", "connect": None, "listen": None,
              "isolation": "process", "faults": []}
    settings = {"shmem_bit": 22, "timeout_multiplier": 1.0, "jobs": 2, "cases": [],
                "exclude": [], "expectations": ex.path, "strict_expect": strict,
                "harness": "build/harness/vhucheck-harness", "build_dir": "build",
                "selected": len(cs)}
    return results.document(
        version="0.1.0", target=target, settings=settings, cases=recs, not_run=not_run,
        harness={"path": "h", "shares": []}, faults=[], stale=[e.pattern for e in ex.stale(cs)],
        strict=strict, started="2026-01-01T12:00:00+00:00",
        finished="2026-01-01T12:00:03+00:00", duration_ms=3210.0,
        interrupted=interrupted, signal=2 if interrupted else None)
