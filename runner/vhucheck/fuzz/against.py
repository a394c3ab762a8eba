"""Black-box fuzzing of a real implementation through cases, judged by
the model.

    ./vhucheck fuzz sequence --against ref-frontend --fault fe_no_overlap_check --seconds 60
    ./vhucheck fuzz backend_replies --against ref-backend --fault be_eof_as_success
    ./vhucheck fuzz shmem_map --against qemu-shmem --regions 1m,1m,0,2m --seconds 3600

No fuzz target can hold QEMU or a rust-vmm daemon in process, and they
are not built with coverage here, so this mode asks vhu-fuzzcase
(fuzzers/emitcase.h, through fuzz/emit.py) for batches of mutants
of the corpus inputs (structure-aware, blind), each written as a case
that carries the shadow model's expectations step by step, and runs
them with `vhucheck run` against the target, launched per case like any
other. Front-end fuzzers' cases judge a front-end (the harness plays the
back-end); fuzz_backend_replies' cases judge a back-end: the harness
asks it for its MAPs over the control channel (protocol 2), answers them
as the input says and judges what the back-end concluded.

Every verdict other than PASS, NON-STRICT and UNSUPPORTED is a finding,
kept once per signature (for FAIL: the rule and the step kind of the
failure that made it, from the case's step table; for CRASH, TIMEOUT,
DEADLOCK: the verdict, the signal and the first diagnostic line of the
target's stderr), with the case that made it, ready to run again.

Writes under reports/out/fuzz-against-TARGET-TIME/: report.md,
report.json, findings/NN-<hash>/ (case .vhu, its .input and .steps,
stderr; findings/ is a suite root: VHUCHECK_SUITES=.../findings),
batches/ (the last batch's run, for a look). SIGINT/SIGTERM end it after
the running batch is stopped; the report is still written.
"""

import fnmatch
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from vhucheck import expectations, paths, reduce as R, signature as S, suite, supervisor
from vhucheck.fuzz import cases as fuzzcases, emit as fuzzemit, inreduce
from vhucheck.errors import ConfigError, HarnessError

# Verdicts that are not findings: a pass, a rule the digest leaves open,
# our own limit.
NOT_FINDINGS = ("PASS", "NON-STRICT", "UNSUPPORTED")
BATCH_AREA = "Z-fuzz"            # the batch suite's one area
STOP_GRACE_S = 20                # a stopped batch run writes its reports


def is_finding(case):
    return case.get("verdict") not in NOT_FINDINGS


def signature(case):
    """What makes two findings the same. FAIL: the rule and the step kind
    of the failure that made it (case["fuzz_step"], from the case's step
    table). Otherwise the crash signature (signature.py: the signal, the
    first diagnostic line of the target's stderr normalised, the top
    frames when there is a backtrace), as `run` reports it."""
    step = case.get("fuzz_step")
    if case.get("verdict") in ("FAIL", "NON-STRICT") and step:
        return f"{case['verdict']}: {step['rule']} ({step['kind']})"
    if case.get("verdict") == "FAIL":
        fails = case.get("failures") or [{}]
        what = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", fails[0].get("expected") or "")[:160]
        return f"FAIL: {what or '(no failure recorded)'}"
    if case.get("crash"):
        return case["crash"]["text"]
    return S.make(case.get("verdict") or "?", sig=(case.get("target") or {}).get("signal"),
                  exit_code=(case.get("target") or {}).get("exit"),
                  reason=case.get("reason") or "", stderr=case.get("stderr_tail") or "")["text"]


def run_batch(target, suite_dir, out_dir, jobs, faults, env, limit_s, command=None,
              backtrace=False):
    """`vhucheck run` on the batch; its results.json cases. Killed past
    limit_s (a hung runner would be a vhucheck bug, but never a hang).
    command: exec-frontend's / exec-backend's --command."""
    args = [sys.executable, "-m", "vhucheck", "run", "--target", target, "-j", str(jobs),
            "--out", out_dir] + [a for f in faults for a in ("--fault", f)]
    args += ["--command", command] if command else []
    if backtrace:
        args.append("--backtrace")
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
        supervisor.interrupt_groups([p], STOP_GRACE_S)  # it writes what finished, then exits
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
    fuzzcases.copy_case(os.path.join(suite_dir, BATCH_AREA), case["id"], d)
    with open(os.path.join(d, "stderr.txt"), "w") as f:
        f.write(case.get("stderr_tail") or "")
    fails = case.get("failures") or []
    why = case.get("reason") or (f"line {fails[0].get('line')}: expected "
                                  f"{fails[0].get('expected', '')}; observed "
                                  f"{fails[0].get('observed', '')}" if fails else "")
    findings[sig] = {"signature": sig, "count": 1, "case": case["id"],
                     "verdict": case.get("verdict"), "step": case.get("fuzz_step"),
                     "reason": why, "dir": d}
    return True


def load_known(path, target=None):
    """Known signatures: an earlier campaign's report.json (its findings),
    an expectations file (.toml: the crash signatures its [target] table
    names, globs included), or a text file, one signature a line (#
    comments; a line may be a glob)."""
    if not path:
        return set()
    if path.endswith(".toml"):
        table = expectations.load(path).for_target(target)
        return {s for e in table.entries for s in e.signatures}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"--known {path}: {e.strerror}") from None
    if path.endswith(".json"):
        try:
            return {f["signature"] for f in json.loads(text).get("findings", [])}
        except (ValueError, AttributeError, KeyError, TypeError):
            raise ConfigError(f"--known {path}: not a campaign's report.json") from None
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


class Campaign:
    """The state a report is written from, whatever ends the campaign."""

    def __init__(self, name, target, out, known=frozenset()):
        self.name, self.target, self.out = name, target, out
        self.known, self.known_hits = set(known), {}
        self.case_ms, self.known_ms = 0.0, 0.0    # the targets' time, and on known
        self.findings, self.verdicts = {}, {}
        self.nonstrict = {}     # not findings: signature -> count, first case, when
        self.cases, self.batches, self.started = 0, 0, time.monotonic()

    def is_known(self, sig):
        """Whether sig is a known signature or matches a known glob."""
        return sig in self.known or any(
            fnmatch.fnmatchcase(sig, k) for k in self.known if any(ch in k for ch in "*?["))

    def add(self, cases, suite_dir):
        self.batches += 1
        for c in cases:
            self.cases += 1
            self.verdicts[c["verdict"]] = self.verdicts.get(c["verdict"], 0) + 1
            self.case_ms += c.get("duration_ms") or 0
            if c["verdict"] == "NON-STRICT":
                self.note_nonstrict(c, suite_dir)
            if is_finding(c):
                c["fuzz_step"] = fuzzemit.failed_step(c, os.path.join(suite_dir, BATCH_AREA))
                if self.is_known(signature(c)):
                    self.known_hits[signature(c)] = self.known_hits.get(signature(c), 0) + 1
                    self.known_ms += c.get("duration_ms") or 0
                    continue
                if keep_finding(self.findings, c, suite_dir,
                                os.path.join(self.out, "findings")):
                    self.findings[signature(c)]["found_after_s"] = round(
                        time.monotonic() - self.started, 1)
                    print(f"vhucheck fuzz: new: {signature(c)} ({c['id']})", file=sys.stderr)

    def note_nonstrict(self, case, suite_dir):
        """A rule the digest leaves open went the other way: no finding,
        but counted by signature (a fault the digest is silent about
        shows here; bench against reads it)."""
        case["fuzz_step"] = fuzzemit.failed_step(case, os.path.join(suite_dir, BATCH_AREA))
        sig = signature(case)
        e = self.nonstrict.setdefault(sig, {"signature": sig, "count": 0, "case": case["id"],
                                            "found_after_s": round(time.monotonic()
                                                                   - self.started, 1)})
        e["count"] += 1

    def report(self, meta):
        secs = time.monotonic() - self.started
        doc = dict(meta, seconds=round(secs, 1), cases=self.cases, batches=self.batches,
                   cases_per_sec=round(self.cases / max(secs, 0.001), 2),
                   verdicts=self.verdicts, findings=list(self.findings.values()),
                   non_strict=list(self.nonstrict.values()),
                   known={"signatures": len(self.known), "hits": self.known_hits,
                          "share_of_case_time": round(self.known_ms / self.case_ms, 3)
                          if self.case_ms else 0.0})
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump(doc, f, indent=1)
        lines = [f"# Fuzzing {meta['target']} through cases: {meta['fuzzer']}", "",
                 f"- {self.cases} cases in {self.batches} batches, {secs:.0f} s "
                 f"({doc['cases_per_sec']}/s), seed {meta['seed']}"
                 + (", interrupted" if meta.get("interrupted") else ""),
                 "- verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items())),
                 f"- findings: {len(self.findings)} unique", ""]
        if self.known:
            lines[-1:] = [f"- known signatures ({len(self.known)}): "
                          f"{sum(self.known_hits.values())} hits, "
                          f"{100 * doc['known']['share_of_case_time']:.0f}% of the cases' time", ""]
        rel = paths.relpath(os.path.join(self.out, "findings"))
        for i, fd in enumerate(self.findings.values(), 1):
            lines += [f"## {i}. {fd['signature']}", "",
                      f"- {fd['count']} case(s); first: {fd['case']} ({fd['reason'][:200]})",
                      f"- run it again: `VHUCHECK_SUITES={rel} ./vhucheck run --target "
                      f"{meta['target']} --cases {fd['case']}"
                      + "".join(f" --fault {f}" for f in meta["faults"])
                      + (f" --command {shlex.quote(meta['command'])}" if meta.get("command")
                         else "") + "`"]
            if fd.get("reduced", {}).get("by") == "records":
                r = fd["reduced"]
                lines.append(f"- reduced: {r['records_before']} -> {r['records_after']} "
                             f"records of its input, the case emitted again with the model "
                             f"({r['runs']} runs, {r['seconds']} s"
                             + ("" if r["complete"] else ", stopped by --reduce-seconds")
                             + f"): `{r['file']}`")
            elif fd.get("reduced"):
                r = fd["reduced"]
                lines.append(f"- reduced: {r['steps_before']} -> {r['steps_after']} steps "
                             f"({r['runs']} runs, {r['seconds']} s"
                             + ("" if r["complete"] else ", stopped by --reduce-seconds")
                             + f"): `{r['file']}`")
            elif fd.get("reduce_error"):
                lines.append(f"- not reduced: {fd['reduce_error']}")
            lines.append("")
        if self.nonstrict:
            lines += ["## NON-STRICT (rules the digest leaves open; not findings)", ""]
            lines += [f"- {e['signature']}: {e['count']} case(s), first {e['case']}"
                      for e in self.nonstrict.values()] + [""]
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return "\n".join(lines)


def write_batch(rng, name, corpus, regions, size, suite_dir):
    """A fresh batch suite of about `size` mutant cases (vhu-fuzzcase
    --mutate; duplicates and inputs no case says are dropped)."""
    shutil.rmtree(suite_dir, ignore_errors=True)
    area = os.path.join(suite_dir, BATCH_AREA)
    written = 0
    for _ in range(4):
        got = fuzzemit.emit(name, [corpus], area, regions, mutate=size - written,
                            seed=rng.randrange(1 << 63))
        written += sum(1 for k, _ in got if k == "case")
        if written >= size // 2:
            break
    if not written:
        raise HarnessError(f"no mutant of {paths.relpath(corpus)} became a case")
    return written


def check_corpus(corpus):
    if not any(True for _ in fuzzcases.inputs(corpus)):
        raise ConfigError(f"--corpus {corpus}: no inputs")


def campaign(name, args, corpus, out, env):
    """Batches until --seconds; returns (Campaign, interrupted signal or 0)."""
    fuzzcases.check_fuzzer(name, "--against")
    fuzzcases.check_regions(args.regions)
    check_corpus(corpus)
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    camp = Campaign(name, args.against, out,
                    load_known(getattr(args, "known", None), args.against))
    deadline = time.monotonic() + args.seconds
    suite_dir = os.path.join(out, "batches", "cases")
    meta = {"fuzzer": name, "target": args.against, "seed": seed, "regions": args.regions,
            "known": getattr(args, "known", None), "command": getattr(args, "command", None),
            "faults": args.fault, "corpus": paths.relpath(corpus)}
    interrupted = 0
    try:
        while time.monotonic() < deadline:
            write_batch(rng, name, corpus, args.regions, args.batch, suite_dir)
            run_dir = os.path.join(out, "batches", "run")
            shutil.rmtree(run_dir, ignore_errors=True)
            cases = run_batch(args.against, suite_dir, run_dir, args.jobs, args.fault, env,
                              command=getattr(args, "command", None),
                              limit_s=max(300, args.batch * 30),
                              backtrace=getattr(args, "backtrace", False))
            camp.add(cases, suite_dir)
            if args.stop_at_first and camp.findings:
                break
    except KeyboardInterrupt as e:
        interrupted = int(getattr(e, "signum", signal.SIGINT))
        meta["interrupted"] = True
        partial = os.path.join(out, "batches", "run", "results.json")
        if os.path.exists(partial):     # what the stopped batch finished
            with open(partial) as f:
                camp.add(json.load(f).get("cases", []), suite_dir)
    if not interrupted:
        reduce_findings(camp, args)
    print(camp.report(meta))
    return camp, interrupted


def reduce_findings(camp, args):
    """Each finding reduced against the target, at most --reduce-seconds
    each, into its dir as reduced/: by the records of its input, each
    candidate emitted again with the model (fuzz/inreduce.py); a
    fuzz_shmem_map finding, one message, by the steps of its case
    (reduce.py)."""
    seconds = getattr(args, "reduce_seconds", 0)
    if seconds <= 0:
        return
    root = os.path.join(camp.out, "findings")
    opts = R.options_for(args.against, args.fault, seconds=seconds, jobs=args.jobs,
                         backtrace=getattr(args, "backtrace", False),
                         command=getattr(args, "command", None))
    for fd in camp.findings.values():
        path = os.path.join(fd["dir"], fd["case"] + ".vhu")
        if not os.path.exists(path):
            continue
        try:
            if inreduce.applies(camp.name, os.path.join(fd["dir"], fd["case"] + ".input")):
                out, stats = inreduce.reduce_finding(opts, camp.name, fd, root,
                                                     getattr(args, "regions", None), signature)
                fd["reduced"] = dict(stats, file=paths.relpath(out))
                continue
            case = suite.read_case(path, root)
            out, stats = R.reduce_into(opts, case, os.path.join(fd["dir"], "reduced"),
                                       lambda msg: None)
            fd["reduced"] = dict(stats, file=paths.relpath(out))
        except (ConfigError, HarnessError) as e:
            fd["reduce_error"] = str(e)
