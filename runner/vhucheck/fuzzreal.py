"""Black-box fuzzing of a real implementation through cases.

    ./vhucheck fuzz shmem_map --against qemu-shmem --regions 1m,1m,0,2m --seconds 3600

No fuzz target can hold QEMU or a rust-vmm daemon in process, and they
are not built with coverage here, so this mode mutates the fuzzer's
inputs blindly but structure-aware (fields, the aim bytes, state bits,
fd choices, whole 32-byte steps), turns each into a case by the
translation of `--to-cases`, and runs batches of them with `vhucheck run`
against the target, which is launched per case like any other. What a
robust implementation must survive, it must survive: every CRASH,
TIMEOUT or DEADLOCK is kept, deduplicated by its signature (the verdict,
the signal and the first diagnostic line of the target's stderr: an
assertion, a sanitizer's report, a Rust panic), with the case that made
it, ready to run again.

Writes under reports/out/fuzz-against-TARGET-TIME/: report.md,
report.json, findings/NN-<hash>/ (case .vhu, stderr; findings/ is a
suite root: VHUCHECK_SUITES=.../findings), batches/ (the last
batch's run, for a look). SIGINT/SIGTERM end it after the running batch
is stopped; the report is still written.
"""

import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

from vhucheck import fuzz, fuzzcases, paths
from vhucheck.errors import ConfigError, HarnessError

BAD = ("CRASH", "TIMEOUT", "DEADLOCK")
PAGE = 4096
INTERESTING_U64 = (0, 1, PAGE - 1, PAGE, PAGE + 1, 0x10000, 0xFFFF000, 0x100000,
                   0x200000, 1 << 31, 1 << 32, 1 << 63, (1 << 64) - PAGE, (1 << 64) - 1)
DIAG = re.compile(r"(Assertion .*failed|assertion failed|runtime error:.*|ERROR: AddressSanitizer: \S+"
                  r"|panicked at .*|Segmentation fault|[Aa]borted|\bBUG\b.*|FATAL.*|fatal.*)")

# fuzz_shmem_map inputs: fd choice, state, header (request, flags, size),
# then a VhostUserMMap payload whose fields sit at these offsets.
MAP_HDR = 2
MAP_PAYLOAD = 14
MAP_FIELDS = (8, 16, 24, 32)      # fd_offset, shm_offset, len, flags
SEQ_RECORD = 32
BATCH_AREA = "Z-fuzz"            # the batch suite's one area


def _u64_at(data, at, value):
    data = bytearray(data.ljust(at + 8, b"\0"))
    data[at:at + 8] = struct.pack("<Q", value % (1 << 64))
    return data


def mutate_bytes(rng, data):
    data = bytearray(data or b"\0")
    k = rng.randrange(4)
    if k == 0:
        i = rng.randrange(len(data) * 8)
        data[i // 8] ^= 1 << (i % 8)
    elif k == 1:
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif k == 2 and len(data) > 1:
        del data[rng.randrange(len(data)):]
    else:
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    return data


def mutate_map(rng, data):
    """One structure-aware change of a fuzz_shmem_map input."""
    data = bytearray(data.ljust(MAP_PAYLOAD + 40, b"\0"))
    k = rng.randrange(8)
    if k == 0:
        data[0] = rng.randrange(11)                                # fd choice
    elif k == 1:
        data[1] = rng.randrange(32)                                # state bits
    elif k == 2:                                                   # aim bytes
        data[MAP_PAYLOAD + 1 + rng.randrange(2)] = rng.randrange(256)
    elif k == 3:
        data = _u64_at(data, MAP_PAYLOAD + rng.choice(MAP_FIELDS),
                       rng.choice(INTERESTING_U64) + rng.choice((0, 0, PAGE, -PAGE)))
    elif k == 4:
        data[MAP_PAYLOAD] = rng.choice((0, 1, 2, 3, 4, 255, rng.randrange(256)))   # shmid
    elif k == 5:                                                   # request
        data[MAP_HDR:MAP_HDR + 4] = struct.pack("<I", rng.choice((9, 10, 9, 10, 0, 11, 255)))
    elif k == 6:                                                   # header flags / size
        at = MAP_HDR + rng.choice((4, 8))
        data[at:at + 4] = struct.pack("<I", rng.choice((0, 1, 5, 8, 9, 39, 40, 41, 4096)))
    else:
        data = mutate_bytes(rng, data)
    return bytes(data)


def mutate_sequence(rng, data):
    """One change of a fuzz_shmem_sequence input: a step duplicated,
    dropped or swapped, a field set to an edge value, or bytes."""
    recs = [bytearray(data[i:i + SEQ_RECORD]) for i in range(0, len(data) - len(data) % SEQ_RECORD,
                                                             SEQ_RECORD)] or [bytearray(SEQ_RECORD)]
    k = rng.randrange(5)
    i = rng.randrange(len(recs))
    if k == 0 and len(recs) < 64:
        recs.insert(rng.randrange(len(recs) + 1), bytearray(recs[i]))
    elif k == 1 and len(recs) > 1:
        del recs[i]
    elif k == 2 and len(recs) > 1:
        j = rng.randrange(len(recs))
        recs[i], recs[j] = recs[j], recs[i]
    elif k == 3:
        recs[i] = _u64_at(recs[i], rng.choice((8, 16, 24)), rng.choice(INTERESTING_U64))
    else:
        recs[i] = bytearray(mutate_bytes(rng, recs[i]).ljust(SEQ_RECORD, b"\0")[:SEQ_RECORD])
    return b"".join(bytes(r) for r in recs)


MUTATORS = {"fuzz_shmem_map": mutate_map, "fuzz_shmem_sequence": mutate_sequence}


def mutant(rng, name, seeds):
    data = rng.choice(seeds)
    for _ in range(rng.randrange(1, 4)):
        data = MUTATORS[name](rng, data)
    return data


def signature(case):
    """What makes two failures the same: verdict, signal, and the first
    diagnostic line of the target's stderr with numbers taken out."""
    sig = (case.get("target") or {}).get("signal")
    diag = ""
    for line in (case.get("stderr_tail") or "").splitlines():
        m = DIAG.search(line)
        if m:
            diag = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", m.group(0))[:160]
            break
    return f"{case.get('verdict')} signal {sig or '-'}: {diag or '(no diagnostic)'}"


def run_batch(target, suite_dir, out_dir, jobs, faults, env, limit_s):
    """`vhucheck run` on the batch; its results.json cases. Killed past
    limit_s (a hung runner would be a vhucheck bug, but never a hang)."""
    args = [sys.executable, "-m", "vhucheck", "run", "--target", target, "-j", str(jobs),
            "--out", out_dir] + [a for f in faults for a in ("--fault", f)]
    env = dict(env, VHUCHECK_SUITES=suite_dir)
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        _, err = p.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise HarnessError(f"vhucheck run on a batch overran {limit_s} s") from None
    except KeyboardInterrupt:
        fuzz.stop_engines([p])     # SIGINT: it writes what finished, then exits
        raise
    if p.returncode in (2, 3):
        raise HarnessError(f"vhucheck run on a batch: {err.strip().splitlines()[-1:]}")
    with open(os.path.join(out_dir, "results.json")) as f:
        return json.load(f).get("cases", [])


def keep_finding(findings, case, suite_dir, found_dir):
    sig = signature(case)
    entry = findings.get(sig)
    if entry:
        entry["count"] += 1
        return False
    h = hashlib.sha1(sig.encode()).hexdigest()[:8]
    d = os.path.join(found_dir, f"{len(findings) + 1:02d}-{h}")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(suite_dir, BATCH_AREA, case["id"] + ".vhu")
    if os.path.exists(src):
        shutil.copy(src, d)
    with open(os.path.join(d, "stderr.txt"), "w") as f:
        f.write(case.get("stderr_tail") or "")
    findings[sig] = {"signature": sig, "count": 1, "case": case["id"],
                     "reason": case.get("reason", ""), "dir": d}
    return True


class Campaign:
    """The state a report is written from, whatever ends the campaign."""

    def __init__(self, name, target, out):
        self.name, self.target, self.out = name, target, out
        self.findings, self.verdicts = {}, {}
        self.cases, self.batches, self.started = 0, 0, time.monotonic()

    def add(self, cases, suite_dir):
        self.batches += 1
        for c in cases:
            self.cases += 1
            self.verdicts[c["verdict"]] = self.verdicts.get(c["verdict"], 0) + 1
            if c["verdict"] in BAD:
                if keep_finding(self.findings, c, suite_dir,
                                os.path.join(self.out, "findings")):
                    print(f"vhucheck fuzz: new: {signature(c)} ({c['id']})", file=sys.stderr)

    def report(self, meta):
        secs = time.monotonic() - self.started
        doc = dict(meta, seconds=round(secs, 1), cases=self.cases, batches=self.batches,
                   cases_per_sec=round(self.cases / max(secs, 0.001), 2),
                   verdicts=self.verdicts, findings=list(self.findings.values()))
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump(doc, f, indent=1)
        lines = [f"# Fuzzing {meta['target']} through cases: {meta['fuzzer']}", "",
                 f"- {self.cases} cases in {self.batches} batches, {secs:.0f} s "
                 f"({doc['cases_per_sec']}/s), seed {meta['seed']}"
                 + (", interrupted" if meta.get("interrupted") else ""),
                 "- verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items())),
                 f"- findings: {len(self.findings)} unique", ""]
        rel = paths.relpath(os.path.join(self.out, "findings"))
        for i, fd in enumerate(self.findings.values(), 1):
            lines += [f"## {i}. {fd['signature']}", "",
                      f"- {fd['count']} case(s); first: {fd['case']} ({fd['reason'][:120]})",
                      f"- run it again: `VHUCHECK_SUITES={rel} ./vhucheck run --target "
                      f"{meta['target']} --cases {fd['case']}"
                      + "".join(f" --fault {f}" for f in meta["faults"]) + "`", ""]
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return "\n".join(lines)


def write_batch(rng, name, seeds, regions, size, suite_dir):
    shutil.rmtree(suite_dir, ignore_errors=True)
    area = os.path.join(suite_dir, BATCH_AREA)
    os.makedirs(area)
    n = 0
    while n < size:
        cid, text = fuzzcases.translate(name, mutant(rng, name, seeds), regions)
        path = os.path.join(area, f"{cid}.vhu") if cid else None
        if path and not os.path.exists(path):
            with open(path, "w") as f:
                f.write(text)
            n += 1


def load_seeds(name, corpus):
    seeds = [data for _, data in fuzzcases.inputs(corpus)]
    if not seeds:
        raise ConfigError(f"--corpus {corpus}: no inputs")
    return seeds


def campaign(name, args, corpus, out, env):
    """Batches until --seconds; returns (Campaign, interrupted signal or 0)."""
    if name not in MUTATORS:
        raise ConfigError(f"--against: {name}'s inputs do not translate to cases "
                          "(fuzz_shmem_map and fuzz_shmem_sequence do)")
    fuzzcases.check_regions(args.regions)
    seeds = load_seeds(name, corpus)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    camp = Campaign(name, args.against, out)
    deadline = time.monotonic() + args.seconds
    suite_dir = os.path.join(out, "batches", "cases")
    meta = {"fuzzer": name, "target": args.against, "seed": seed, "regions": args.regions,
            "faults": args.fault, "corpus": paths.relpath(corpus)}
    interrupted = 0
    try:
        while time.monotonic() < deadline:
            write_batch(rng, name, seeds, args.regions, args.batch, suite_dir)
            run_dir = os.path.join(out, "batches", "run")
            shutil.rmtree(run_dir, ignore_errors=True)
            cases = run_batch(args.against, suite_dir, run_dir, args.jobs, args.fault, env,
                              limit_s=max(300, args.batch * 30))
            camp.add(cases, suite_dir)
    except KeyboardInterrupt as e:
        interrupted = int(getattr(e, "signum", signal.SIGINT))
        meta["interrupted"] = True
        partial = os.path.join(out, "batches", "run", "results.json")
        if os.path.exists(partial):     # what the stopped batch finished
            with open(partial) as f:
                camp.add(json.load(f).get("cases", []), suite_dir)
    print(camp.report(meta))
    return camp, interrupted
