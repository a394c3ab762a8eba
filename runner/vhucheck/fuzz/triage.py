"""Triage of a campaign's crashing inputs: each replayed alone, grouped
by signature (kind, words, top frames of our own code), one kept per
signature, minimized, with a reproducer: the input as a .vhu case when
it maps to one (vhu-fuzzcase, fuzz/emit.py), and the command that
replays it.
"""

import hashlib
import os
import re
import shutil
import subprocess

from vhucheck import paths, signature as S
from vhucheck.fuzz import emit
from vhucheck.fuzz.engines import afl_env, binary, fault_env

def replay(binary_path, path, faults, timeout=60):
    """Runs one input: (exit status or -signal, output)."""
    try:
        r = subprocess.run([binary_path, path], env=fault_env(faults),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode(errors="replace")
    return r.returncode, r.stdout.decode(errors="replace")


def signature(status, text):
    """What makes two crashes the same: the kind, the finding's words,
    the three top frames of our own code."""
    m = re.search(r"vhu-fuzz: finding: (.*)", text)
    if m:
        kind, what = "finding", S.normalize(m.group(1))
    else:
        m = (re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): ([\w-]+(?: [\w-]+)?)",
                       text) or re.search(r"runtime error: ([^:\n]*)", text))
        kind = "sanitizer" if m else ("signal" if isinstance(status, int) and status < 0
                                      else "exit")
        what = S.normalize(" ".join(g for g in m.groups() if g)) if m else f"status {status}"
    top = S.top_frames(S.text_frames(text)[0])
    return f"{kind}: {what} @ {' < '.join(top) or '?'}"


def minimize(engine, name, binary_path, crash, dest, faults, seconds=10):
    """A smaller input with the same signature, or None."""
    if engine == "libfuzzer":
        args = [binary_path, "-minimize_crash=1", f"-max_total_time={seconds}",
                f"-exact_artifact_path={dest}", crash]
    else:
        args = ["afl-tmin", "-i", crash, "-o", dest, "-t", "2000", "-m", "none",
                "--", binary_path]
    env = afl_env(name, faults) if engine == "afl" else fault_env(faults)
    try:
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=seconds * 3 + 30)
    except subprocess.TimeoutExpired:
        return None
    return dest if os.path.exists(dest) and os.path.getsize(dest) > 0 else None


def crash_files(engine, out):
    if engine == "libfuzzer":
        d = out["crashes"]
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.startswith(("crash-", "leak-", "oom-", "timeout-")))
    found = []
    for inst in sorted(os.listdir(out["sync"])) if os.path.isdir(out["sync"]) else []:
        for sub in ("crashes", "hangs"):
            d = os.path.join(out["sync"], inst, sub)
            if os.path.isdir(d):
                found += sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("id:"))
    return found


def triage_binary(engine, name):
    """The libFuzzer (ASan, symbolized) build replays best; else the engine's."""
    lf = binary("libfuzzer", name)
    return lf if os.path.exists(lf) else binary(engine, name)


def triage(engine, name, faults, files, findings_dir, do_minimize):
    groups = {}
    tbin = triage_binary(engine, name)
    for path in files:
        status, text = replay(tbin, path, faults)
        if status == 0:
            continue   # does not reproduce alone (flaky, or a hang elsewhere)
        sig = signature(status, text)
        groups.setdefault(sig, []).append((path, status, text))
    findings = []
    for n, (sig, items) in enumerate(sorted(groups.items(), key=lambda kv: kv[0]), 1):
        findings.append(write_finding(engine, name, faults, n, sig, items, tbin,
                                      findings_dir, do_minimize))
    return findings


def write_finding(engine, name, faults, n, sig, items, tbin, findings_dir, do_minimize):
    path, status, text = min(items, key=lambda it: os.path.getsize(it[0]))
    h = hashlib.sha1(sig.encode()).hexdigest()[:8]
    d = os.path.join(findings_dir, f"{n:02d}-{h}")
    os.makedirs(d, exist_ok=True)
    shutil.copy(path, os.path.join(d, "input"))
    best = os.path.join(d, "input")
    if do_minimize:
        mbin = tbin if tbin == binary("libfuzzer", name) else binary(engine, name)
        mengine = "libfuzzer" if mbin == binary("libfuzzer", name) else engine
        m = minimize(mengine, name, mbin, best, os.path.join(d, "minimized"), faults)
        if m and signature(*replay(tbin, m, faults)) == sig:
            best = m
    with open(os.path.join(d, "stack.txt"), "w") as f:
        f.write(text)
    with open(best, "rb") as f:
        data = f.read()
    own = binary(engine, "vhu-fuzzcase")    # the campaign's build has one
    cid = reproducer(name, data, sig, faults, d, own if os.path.exists(own) else None)
    env = f"VHU_FAULTS={','.join(faults)} " if faults else ""
    case = None
    if cid:
        target = "ref-backend" if name == "fuzz_backend_replies" else "ref-frontend"
        case = (f"VHUCHECK_SUITES={paths.relpath(findings_dir)} ./vhucheck run -t {target}"
                + "".join(f" --fault {f}" for f in faults) + f" -c {cid}")
    return {"signature": sig, "count": len(items), "status": str(status), "run_case": case,
            "dir": paths.relpath(d), "input": paths.relpath(best), "bytes": len(data),
            "repro_vhu": paths.relpath(os.path.join(d, f"{cid}.vhu")) if cid else None,
            "replay": f"{env}{paths.relpath(tbin)} {paths.relpath(best)}"}


# ------------------------------------------------------------ reproducers

def reproducer(name, data, sig, faults, dest, exe=None):
    """The input as a case in dest, with the model's expectations at every
    step (vhu-fuzzcase, fuzz/emit.py): its id, or None when no case
    says it (fuzz_proto's and fuzz_script's inputs are no messages)."""
    if name not in emit.FUZZERS:
        return None
    note = f"reproducer of a fuzz finding: {sig[:200]}"
    if faults:
        note += f"; found with --fault {' --fault '.join(faults)}"
    src = os.path.join(dest, ".input-for-case")
    with open(src, "wb") as f:
        f.write(data)
    try:
        got = emit.emit(name, [src], dest, note=note, exe=exe)
    finally:
        os.unlink(src)
    return got[0][1] if got and got[0][0] in ("case", "dup") else None
