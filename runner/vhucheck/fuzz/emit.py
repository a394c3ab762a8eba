"""Fuzz inputs as cases: the runner's one way to turn a fuzzer's input
into a .vhu case, by asking the C that owns the format
(build/fuzzers/vhu-fuzzcase, fuzzers/emitcase.h). Nothing here decodes
an input or a case.

vhu-fuzzcase runs the shadow model on exactly what the case sends and
writes the expectations into it, step by step: the reply value where the
digest fixes it, `check mapped`/`check unmapped`/`check fds` after each
step and after a reset, for back-ends `expect result` for what they must
conclude. MUST rules are graded at the case's level, the digest's silent
or ambiguous ones `grade=should` (NON-STRICT). Beside each ID.vhu it
writes ID.input (the bytes) and ID.steps (tab separated: line, step kind,
MUST|SHOULD, rule), which names the rule of a failure by its line.
"""

import os
import subprocess

from vhucheck import paths
from vhucheck.errors import ConfigError, HarnessError

FUZZERS = ("fuzz_shmem_map", "fuzz_shmem_sequence", "fuzz_backend_replies")
# The role of the target the cases of each fuzzer are for.
TARGET_ROLE = {"fuzz_shmem_map": "frontend", "fuzz_shmem_sequence": "frontend",
               "fuzz_backend_replies": "backend"}


def binary():
    return os.path.join(paths.build_dir(), "fuzzers", "vhu-fuzzcase")


def _run(exe, args, timeout):
    exe = exe or binary()
    if not os.path.exists(exe):
        raise HarnessError(f"{paths.relpath(exe)} is missing: build it "
                           f"(ninja -C {paths.relpath(paths.build_dir())})")
    try:
        p = subprocess.run([exe] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"vhu-fuzzcase overran {timeout} s") from None
    if p.returncode != 0:
        why = (p.stderr.strip().splitlines() or ["(no message)"])[0]
        raise (ConfigError if p.returncode == 2 else HarnessError)(why)
    return p.stdout


def emit(name, inputs, dest, regions=None, mutate=None, seed=None, note=None,
         timeout=600, exe=None, keeps=None, final_reset=True):
    """vhu-fuzzcase (exe, default the build's) over inputs (files or
    directories) into dest: one (kind, text) per input or mutant, kind
    "case" (text: the id), "dup" (the id, written before) or "skip" (the
    input and why). keeps: lists of record indices of the one input, a
    case each, in order (input reduction, fuzz/inreduce.py). final_reset
    False: no closing reset (the target's reset is a known finding)."""
    args = [name, "--out", dest]
    if regions:
        args += ["--regions", regions]
    if note:
        args += ["--note", note]
    if not final_reset:
        args.append("--no-final-reset")
    if mutate is not None:
        args += ["--mutate", str(mutate), "--seed", str(seed)]
    for k in keeps or ():
        args += ["--keep", ",".join(map(str, k)) or "-"]
    os.makedirs(dest, exist_ok=True)
    out = _run(exe, args + list(inputs), timeout)
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if " " in line]


def records(name, path, exe=None):
    """(count, bytes each) of an input's records, as the fuzzer reads
    them (bytes 0: the whole input is one record)."""
    line = _run(exe, [name, "--records", path], 60).split(" ", 3)
    return int(line[1]), int(line[2])


def parse_steps(text):
    """{line: {"kind", "grade", "rule"}} of a step table's text."""
    out = {}
    for row in text.splitlines():
        parts = row.split("\t", 3)
        if len(parts) == 4 and parts[0].isdigit():
            out[int(parts[0])] = {"kind": parts[1], "grade": parts[2], "rule": parts[3]}
    return out


def steps(case_dir, case_id):
    """{line: {"kind", "grade", "rule"}} of a case vhu-fuzzcase wrote."""
    try:
        with open(os.path.join(case_dir, case_id + ".steps"), encoding="utf-8") as f:
            return parse_steps(f.read())
    except OSError:
        return {}


def step_of(case, table):
    """The step behind a case's verdict in its step table: its first
    failure graded MUST (the one that makes it FAIL), else its first
    failure; None when the case has no failure or the table no row."""
    fails = case.get("failures") or []
    first = next((f for f in fails if f.get("grade") == "MUST"), fails[0] if fails else None)
    if not first:
        return None
    st = table.get(first.get("line"))
    return dict(st, line=first.get("line")) if st else None


def failed_step(case, case_dir):
    """step_of with the table vhu-fuzzcase wrote beside the case."""
    return step_of(case, steps(case_dir, case["id"]))
