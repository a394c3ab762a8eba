"""Case reduction: the smallest case with the same outcome.

    ./vhucheck reduce lifecycle_be_reset_frees_ranges --target qemu-shmem --backtrace

A case with a non-PASS verdict is shrunk against the real target to a
smaller case with the same outcome: the same verdict and, for a CRASH,
the same signature (signature.py). First delta debugging (ddmin) over
the steps, where a step goes together with the steps that use what it
defines (the fd a MAP passes) and a repeat with its end; then the words
of the steps that are left (flags and fields dropped, numbers made
simpler). The harness says which lines are steps and which words they
have (`vhucheck-harness --outline`), and a candidate that does not
parse is never run: the .vhu language stays the harness's.

Every candidate runs as a case against the target, launched per case
as `run` does (-j candidates at a time); outcomes are cached by the
candidate's text. `--seconds` bounds the whole reduction: the smallest
case found by then is written.

Writes under reports/out/reduce-ID-TIME/ (or --out): AREA/ID_reduced.vhu
(the directory is a suite root: VHUCHECK_SUITES=DIR ./vhucheck run
--cases ID_reduced), reduce.md and reduce.json (steps before and after,
runs, seconds).
"""

import argparse
import dataclasses
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from vhucheck import execute, options, paths, run as R, suite
from vhucheck.errors import ConfigError, EXIT_OK, HarnessError
from vhucheck.progress import Progress

HELP = "shrink a failing case to the smallest one with the same outcome (docs/runner.md)"
SIMPLE_NUMBERS = ("0", "1", "0x1000")
MAX_ID = 50
MAX_ROUNDS = 4           # the harness keeps ids up to 63 characters


def add_arguments(p):
    p.add_argument("case", metavar="CASE", help="a case id, or a .vhu file")
    p.add_argument("--target", "-t", required=True, metavar="NAME|PROFILE.toml",
                   help="the target the case fails against")
    p.add_argument("--fault", action="extend", nargs="+", metavar="NAME", default=[],
                   help="inject these faults (reference targets)")
    p.add_argument("--seconds", type=options.positive_int, default=600, metavar="N",
                   help="stop reducing after N seconds and write the best so far "
                        "(default %(default)s)")
    p.add_argument("-j", "--jobs", type=options.positive_int, metavar="N",
                   default=os.cpu_count() or 1, help="candidates run in parallel")
    p.add_argument("--backtrace", action="store_true",
                   help="run the target with the crash unwinder: a CRASH must keep "
                        "the same frames, not only the same signal and message")
    p.add_argument("--command", metavar="CMD", type=options.nonempty,
                   help="the implementation's command line, for exec-backend and "
                        "exec-frontend (as for run)")
    p.add_argument("--shmem-bit", type=options.shmem_bit, metavar="N")
    p.add_argument("--timeout-multiplier", type=options.multiplier, metavar="X", default=1.0)
    p.add_argument("--out", "-o", metavar="DIR", type=options.nonempty,
                   help=f"output dir (default: {paths.out_label()}/reduce-<id>-<YYYYmmdd-HHMMSS>)")


# ---- the case as units ----

class Outline:
    """The harness's outline of a case file, and candidates built from it."""

    def __init__(self, harness, path):
        p = subprocess.run([harness, "--outline", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            raise ConfigError(p.stderr.strip().splitlines()[0] if p.stderr.strip()
                              else f"{path}: the harness cannot outline it")
        doc = json.loads(p.stdout)
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().splitlines()
        self.id = doc["id"]
        self.header = doc["header"]
        self.steps = doc["steps"]
        self.words = [[w["w"] for w in s["words"]] for s in self.steps]
        self.numeric = [[bool(w.get("num")) for w in s["words"]] for s in self.steps]

    @classmethod
    def of_text(cls, harness, text, area, work):
        """The outline of a candidate's text (after a round of reduction)."""
        d = tempfile.mkdtemp(prefix="outline-", dir=work)
        path = os.path.join(d, area, "c.vhu")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(text.replace("id        @ID@", "id        c"))
        return cls(harness, path)

    def units(self):
        """Step indices grouped so that a repeat and its end go together."""
        out, seen = [], set()
        for i, s in enumerate(self.steps):
            if i in seen:
                continue
            group = [i] + ([s["pair"]] if s.get("pair") is not None else [])
            seen.update(group)
            out.append(tuple(sorted(group)))
        return out

    def closure(self, keep):
        """keep without the steps that use a name no kept step before them
        defines (removing `fd a` removes what passes a)."""
        out, defined = [], set()
        for i in sorted(keep):
            s = self.steps[i]
            if all(n in defined for n in s["uses"]):
                out.append(i)
                defined.update(s["defines"])
        return out

    def text(self, keep, words, case_id):
        """The candidate: the header as written (a new id), then the kept
        steps with their (maybe edited) words."""
        out = []
        for n in self.header:
            line = self.lines[n - 1]
            if line.split(None, 1)[:1] == ["id"]:
                line = f"id        {case_id}"
            out.append(line)
        out.append("")
        out += [" ".join(words[i]) for i in keep]
        return "\n".join(out) + "\n"


# ---- running candidates ----

class Runner:
    """Runs candidate texts as cases against the target, -j at a time,
    each outcome cached by the text. judge(record, text) is what must
    stay the same (default outcome(); fuzz/inreduce.py signs a case as
    its campaign does)."""

    def __init__(self, plan, area, work, deadline, judge=None):
        self.plan, self.area, self.work, self.deadline = plan, area, work, deadline
        self.judge = judge or (lambda rec, text: outcome(rec))
        self.cache, self.runs, self.batches, self.n = {}, 0, 0, 0

    def expired(self):
        return time.monotonic() > self.deadline

    def outcomes(self, texts):
        """[(verdict, signature id or None)] for each text (None: not valid)."""
        todo = {}
        for t in texts:
            key = _key(t)
            if key not in self.cache and key not in todo and not self.expired():
                todo[key] = t
        if todo:
            self._run_batch(todo)
        return [self.cache.get(_key(t), ("NOT-RUN", None)) for t in texts]

    def _run_batch(self, todo):
        self.batches += 1
        root = os.path.join(self.work, f"batch-{self.batches}")
        area_dir = os.path.join(root, self.area)
        os.makedirs(area_dir)
        files = {}
        for key, text in todo.items():
            self.n += 1
            cid = f"c{self.n}"
            path = os.path.join(area_dir, f"{cid}.vhu")
            with open(path, "w") as f:
                f.write(text.replace("id        @ID@", f"id        {cid}"))
            files[key] = path
        valid = {k: p for k, p in files.items() if self._parses(p)}
        for k in files:
            if k not in valid:
                self.cache[k] = ("INVALID", None)
        if not valid:
            return
        cases = [suite.read_case(p, root) for p in valid.values()]
        plan = dataclasses.replace(self.plan, cases=cases, catalogue=cases)
        doc = execute.run_target(plan, os.path.join(root, "out"), execute.Stop(),
                                 Progress(stream=open(os.devnull, "w"), tty=False))
        by_file = {c["file"]: c for c in doc["cases"]}
        for (k, p), case in zip(valid.items(), cases):
            rec = by_file.get(case.file)
            self.runs += 1
            self.cache[k] = self.judge(rec, todo[k]) if rec else ("NOT-RUN", None)

    def _parses(self, path):
        p = subprocess.run([self.plan.harness, "--validate", path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        return p.returncode == 0


def _key(text):
    return text


def outcome(rec):
    """What must stay the same: the verdict, for a CRASH its signature,
    for a FAIL or NON-STRICT what its first failure expected and the kind
    of what was observed (its words before the first colon, numbers left
    out): else a case cut down to `handshake` and an `expect reply` with
    nothing sent, or a MAP without need_reply and an expectation bent to
    match, would fail "the same way"."""
    crash = rec.get("crash") if rec.get("verdict") == "CRASH" else None
    if crash:
        return (rec["verdict"], crash["id"])
    if rec.get("verdict") in ("FAIL", "NON-STRICT"):
        seen = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", (rec.get("observed") or "").split(":")[0])
        return (rec["verdict"], rec.get("expected") or "", seen[:60])
    return (rec["verdict"], None)


# ---- the two passes ----

def ddmin(units, test):
    """Zeller's ddmin over units; test(list of candidate unit lists) ->
    [bool] (same outcome), run as one batch. The smallest list found."""
    n = 2
    while len(units) >= 2:
        size = -(-len(units) // n)
        chunks = [units[k:k + size] for k in range(0, len(units), size)]
        subsets = chunks if len(chunks) > 2 else []
        complements = [[u for u in units if u not in c] for c in chunks]
        cands = subsets + complements
        ok = test(cands)
        if ok is None:
            break
        hit = next((c for c, good in zip(cands, ok) if good), None)
        if hit is not None:
            from_subset = any(hit is s for s in subsets)
            units = hit
            n = 2 if from_subset else max(n - 1, 2)
            continue
        if n >= len(units):
            break
        n = min(len(units), 2 * n)
    return units


def word_edits(words, numeric, keep):
    """Single-word edits of the kept steps: drop a word (never the step's
    keyword), or make a number simpler. [(step, index, new word or None)]."""
    out = []
    for i in keep:
        for k, w in enumerate(words[i]):
            if k == 0:
                continue
            out.append((i, k, None))
            if numeric[i][k]:
                key, value = w.split("=", 1)
                out += [(i, k, f"{key}={v}") for v in SIMPLE_NUMBERS if v != value]
    return out


def apply_edits(words, edits):
    new = [list(w) for w in words]
    drops = {}
    for i, k, w in edits:
        if w is None:
            drops.setdefault(i, set()).add(k)
        else:
            new[i][k] = w
    for i, ks in drops.items():
        new[i] = [w for k, w in enumerate(new[i]) if k not in ks]
    return new


# ---- the command ----

def make_plan(args, case):
    """run's plan for the one case, found in the suite root it lives in
    (the suites, or a fuzz campaign's findings)."""
    ns = argparse.Namespace(target=[args.target], command=getattr(args, "command", None),
                            fault=args.fault,
                            cases=[case.id], exclude=[], jobs=args.jobs, repeat=1,
                            timeout_multiplier=args.timeout_multiplier, expect=None,
                            strict_expect=False, shmem_bit=args.shmem_bit,
                            backtrace=args.backtrace)
    saved = os.environ.get(paths.SUITES_ENV)
    os.environ[paths.SUITES_ENV] = os.path.dirname(os.path.dirname(case.path))
    try:
        plans = R.make_plans(ns)
    finally:
        if saved is None:
            os.environ.pop(paths.SUITES_ENV)
        else:
            os.environ[paths.SUITES_ENV] = saved
    if not plans:
        raise ConfigError(f"{args.target}: does not run case {case.id}")
    return plans[0]


def find_case(spec):
    if spec.endswith(".vhu") or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise ConfigError(f"{spec}: no such case file")
        root = os.path.dirname(os.path.dirname(path))
        return suite.read_case(path, root)
    for c in suite.discover():
        if c.id == spec:
            return c
    raise ConfigError(f"{spec}: no such case ({paths.command()} list shows them)")


def reduce_case(args, case, plan, work, log):
    """The reduction itself: (outline, kept steps, words, stats)."""
    started = time.monotonic()
    first = ol = Outline(plan.harness, case.path)
    runner = Runner(plan, case.area, work, started + args.seconds)
    all_steps = list(range(len(ol.steps)))
    base = ol.text(all_steps, ol.words, "@ID@")
    want = runner.outcomes([base])[0]
    if want[0] in ("PASS", "UNSUPPORTED", "INVALID", "NOT-RUN"):
        raise ConfigError(f"{case.id}: {want[0]} against {plan.profile.name}: "
                          "nothing to reduce (reduce takes a case that does not pass)")
    log(f"{case.id}: {want[0]}" + (f" [{want[1]}]" if want[1] else "")
        + f", {len(ol.steps)} steps")

    # Steps, then words, then again on the result, outlined anew, while a
    # round changes something: a word dropped (fd=a) frees a step (fd a).
    origin = list(range(len(first.steps)))   # step of ol -> step of the original
    keep, words = all_steps, ol.words
    for rnd in range(MAX_ROUNDS):
        keep = reduce_steps(ol, keep, words, runner, want)
        words = reduce_words(ol, keep, words, runner, want)
        log(f"round {rnd + 1}: steps {len(first.steps)} -> {len(keep)}, "
            f"{runner.runs} runs")
        text = ol.text(keep, words, "@ID@")
        if text == ol.text(all_steps, ol.words, "@ID@") or runner.expired():
            break
        origin = [origin[i] for i in keep]
        ol = Outline.of_text(plan.harness, text, case.area, work)
        keep, words, all_steps = list(range(len(ol.steps))), ol.words, list(range(len(ol.steps)))
    kept_orig = {origin[i] for i in keep}
    stats = {"outcome": {"verdict": want[0], "signature": want[1]},
             "steps_before": len(first.steps), "steps_after": len(keep),
             "words_before": sum(len(w) for w in first.words),
             "words_after": sum(len(words[i]) for i in keep),
             "runs": runner.runs, "seconds": round(time.monotonic() - started, 1),
             "complete": not runner.expired(),
             "removed_lines": [s["line"] for i, s in enumerate(first.steps)
                               if i not in kept_orig]}
    return ol, keep, words, stats


def reduce_steps(ol, keep, words, runner, want):
    """ddmin over the units of the kept steps, each candidate closed
    over what its steps use."""
    def test(cands):
        keeps = [ol.closure([i for u in c for i in u]) for c in cands]
        got = runner.outcomes([ol.text(k, words, "@ID@") for k in keeps])
        return None if runner.expired() else [g == want for g in got]

    kept = set(keep)
    units = [u for u in ol.units() if all(i in kept for i in u)]
    return ol.closure([i for u in ddmin(units, test) for i in u])


def reduce_words(ol, keep, words, runner, want):
    """Every single-word edit tried at once; those that keep the outcome
    applied together, or, when together they do not, one by one."""
    edits = word_edits(words, ol.numeric, keep)
    got = runner.outcomes([ol.text(keep, apply_edits(words, [e]), "@ID@") for e in edits])
    good = [e for e, g in zip(edits, got) if g == want]
    # One edit per word: the first that worked (a drop before a number).
    chosen = {}
    for e in good:
        chosen.setdefault((e[0], e[1]), e)
    good = list(chosen.values())
    if not good:
        return words
    together = apply_edits(words, good)
    if runner.outcomes([ol.text(keep, together, "@ID@")])[0] == want:
        return together
    for e in good:
        trial = apply_edits(words, [e])
        if runner.outcomes([ol.text(keep, trial, "@ID@")])[0] == want:
            words = trial
    return words


def write_result(out, case, plan, ol, keep, words, stats):
    rid = f"{case.id[:MAX_ID]}_reduced"
    area_dir = os.path.join(out, case.area)
    os.makedirs(area_dir, exist_ok=True)
    o = stats["outcome"]
    what = o["verdict"] + (f" with signature {o['signature']}" if o["signature"] else "")
    head = [f"# Reduced by `vhucheck reduce` from {case.file} against {plan.profile.name}"
            + (f" (faults: {', '.join(f.name for f in plan.faults)})" if plan.faults else "")
            + ".",
            f"# Same outcome: {what}. Steps {stats['steps_before']} -> {stats['steps_after']}, "
            f"words {stats['words_before']} -> {stats['words_after']}; "
            f"{stats['runs']} runs in {stats['seconds']} s"
            + ("" if stats["complete"] else " (stopped by --seconds: not minimal)") + ".",
            "# Removed the steps of lines " + (", ".join(map(str, stats["removed_lines"]))
                                               or "(none)") + " of the original."]
    path = os.path.join(area_dir, f"{rid}.vhu")
    with open(path, "w") as f:
        f.write("\n".join(head) + "\n" + ol.text(keep, words, rid))
    stats.update(case=case.id, target=plan.profile.name, reduced=paths.relpath(path),
                 faults=[f.name for f in plan.faults])
    with open(os.path.join(out, "reduce.json"), "w") as f:
        json.dump(stats, f, indent=1)
    with open(os.path.join(out, "reduce.md"), "w") as f:
        f.write(f"# {case.id} reduced against {plan.profile.name}\n\n"
                f"| outcome | steps before | steps after | runs | seconds |\n"
                f"| --- | --- | --- | --- | --- |\n"
                f"| {what} | {stats['steps_before']} | {stats['steps_after']} | "
                f"{stats['runs']} | {stats['seconds']} |\n\n```\n"
                + ol.text(keep, words, rid) + "```\n")
    return path


def reduce_into(args, case, out, log):
    """Reduce case as args say, writing into out: (path of the reduced
    case, stats). Also what `fuzz --against` calls for its findings."""
    plan = make_plan(args, case)
    execute.check_harness(plan.harness)
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vhu-reduce-") as work:
        try:
            ol, keep, words, stats = reduce_case(args, case, plan, work, log)
        except (OSError, ValueError) as e:
            raise HarnessError(f"reduce {case.id}: {e}") from None
    return write_result(out, case, plan, ol, keep, words, stats), stats


def options_for(target, faults=(), seconds=600, jobs=1, backtrace=False, shmem_bit=None,
                timeout_multiplier=1.0, command=None):
    """The arguments of `reduce`, for a caller that is not the command line."""
    return argparse.Namespace(target=target, fault=list(faults), seconds=seconds, jobs=jobs,
                              backtrace=backtrace, shmem_bit=shmem_bit,
                              timeout_multiplier=timeout_multiplier, command=command)


def main(args):
    case = find_case(args.case)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(paths.default_out_root(),
                                                   f"reduce-{case.id}-{stamp}"))

    def log(msg):
        print(f"vhucheck reduce: {msg}", file=sys.stderr, flush=True)

    path, stats = reduce_into(args, case, out, log)
    print(f"{case.id}: {stats['steps_before']} -> {stats['steps_after']} steps, "
          f"{stats['runs']} runs, {stats['seconds']} s: {paths.relpath(path)}")
    return EXIT_OK
