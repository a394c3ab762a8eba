"""Input reduction of a fuzz finding: the fewest records of its input
whose case, emitted again, keeps the finding's signature.

A finding's case carries the expectations the shadow model computed for
the whole input. Cut down step by step (reduce.py), it would keep
expectations computed for operations it no longer sends: a conforming
target can then fail it, a false bug report. So a finding of
fuzz_shmem_sequence or fuzz_backend_replies (the live mode's too) is
reduced at the level of its input: ddmin over the input's records
(vhu-fuzzcase --records, emitrec.h: the runner never splits the bytes),
each candidate sub-input emitted again by vhu-fuzzcase (--keep), so that
the model computes the expectations for exactly that sequence, run
against the target as `reduce` runs candidates (reduce.Runner: -j at a
time, cached by the case text, bounded by the seconds given), and kept
when the case signs as the finding does (the campaign's signature: for a
FAIL the rule and step kind of the failure, from the candidate's own
step table).

No step-level pass follows: deleting a step or simplifying a word of an
emitted case would again leave expectations the model did not compute
for it. The reduced case is a vhu-fuzzcase case like the finding's (its
.input and .steps beside it). fuzz_shmem_map's input is one message, one
record: there is nothing to drop, and its findings keep the step-level
reduction (reduce.py, whose outcome() keeps what the first failure
expected and the kind of what was seen).
"""

import json
import os
import shutil
import tempfile
import time

from vhucheck import execute, paths, reduce as R, suite
from vhucheck.errors import ConfigError, HarnessError
from vhucheck.fuzz import emit as fuzzemit

NOTE_MAX = 200
KEEPS_PER_CALL = 64      # --keep lists per vhu-fuzzcase (its limit and ARG_MAX)


def applies(name, input_path):
    """Whether a finding of fuzzer name with this input is reduced here:
    its input is a list of records (not fuzz_shmem_map's one message)."""
    if name not in fuzzemit.FUZZERS or not os.path.isfile(input_path):
        return False
    return fuzzemit.records(name, input_path)[1] > 0


class Emitter:
    """Candidates (lists of record indices) as case texts, each with its
    step table, by vhu-fuzzcase --keep over the one input."""

    def __init__(self, name, input_path, regions, work, final_reset=True):
        self.name, self.input, self.regions = name, input_path, regions
        self.final_reset = final_reset
        self.dir = os.path.join(work, "emitted")
        self.tables = {}         # text -> its step table

    def texts(self, keeps):
        """[text or None (no case says it)] for each keep list."""
        got = []
        for k in range(0, len(keeps), KEEPS_PER_CALL):
            got += fuzzemit.emit(self.name, [self.input], self.dir, self.regions,
                                 keeps=keeps[k:k + KEEPS_PER_CALL],
                                 final_reset=self.final_reset)
        if len(got) != len(keeps):
            raise HarnessError(f"vhu-fuzzcase --keep: {len(got)} answers to {len(keeps)}")
        out = []
        for kind, what in got:
            if kind not in ("case", "dup"):
                out.append(None)
                continue
            with open(os.path.join(self.dir, what + ".vhu"), encoding="utf-8") as f:
                text = f.read().replace(f"id        {what}\n", "id        @ID@\n", 1)
            self.tables[text] = fuzzemit.steps(self.dir, what)
            out.append(text)
        return out


def reduce_finding(opts, name, fd, root, regions, sign, log=lambda m: None):
    """The finding fd (a campaign's: dir, case, signature) reduced by its
    input's records against the target as opts say (reduce.options_for),
    into fd["dir"]/reduced/AREA/ID_reduced.vhu (.input, .steps) and
    reduce.json. sign(case record) is the campaign's signature. Returns
    (path, stats)."""
    inp = os.path.join(fd["dir"], fd["case"] + ".input")
    count = fuzzemit.records(name, inp)[0]
    case = suite.read_case(os.path.join(fd["dir"], fd["case"] + ".vhu"), root)
    plan = R.make_plan(opts, case)
    execute.check_harness(plan.harness)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vhu-inreduce-") as work:
        em = Emitter(name, inp, regions, work, fd.get("final_reset", True))

        def judge(rec, text):
            rec = dict(rec, fuzz_step=fuzzemit.step_of(rec, em.tables.get(text, {})))
            return (rec.get("verdict"), sign(rec))

        runner = R.Runner(plan, case.area, work, started + opts.seconds, judge)
        full = list(range(count))
        base = em.texts([full])[0]
        want = runner.outcomes([base])[0] if base else ("INVALID", None)
        if want[1] != fd["signature"]:
            raise ConfigError(f"its input, emitted again, signs {want[1] or want[0]!r} "
                              f"against {plan.profile.name}: not the finding's")
        log(f"{fd['case']}: {count} records")

        def test(cands):
            texts = em.texts(cands)
            got = runner.outcomes([t for t in texts if t])
            if runner.expired():
                return None
            it = iter(got)
            return [t is not None and next(it) == want for t in texts]

        keep = sorted(R.ddmin(full, test)) if count > 1 else full
        stats = {"outcome": {"verdict": want[0], "signature": want[1]},
                 "by": "records", "records_before": count, "records_after": len(keep),
                 "runs": runner.runs, "seconds": round(time.monotonic() - started, 1),
                 "complete": not runner.expired(), "kept_records": keep}
        path = write_result(em, fd, case, plan, keep, stats)
    return path, stats


def write_result(em, fd, case, plan, keep, stats):
    """The kept records emitted once more, with a note saying so, as
    AREA/ID_reduced.vhu with its .input and .steps (line numbers hold:
    the note is the emitter's, the id line is swapped in place)."""
    rid = f"{case.id[:R.MAX_ID]}_reduced"
    out = os.path.join(fd["dir"], "reduced")
    area = os.path.join(out, case.area)
    os.makedirs(area, exist_ok=True)
    faults = "".join(f" --fault {f.name}" for f in plan.faults)
    note = (f"Reduced from {case.id} against {plan.profile.name}{faults}: records "
            f"{stats['records_before']} -> {stats['records_after']}, emitted again "
            "(the model's expectations for exactly these operations)")[:NOTE_MAX]
    d = os.path.join(os.path.dirname(em.dir), "final")
    kind, cid = fuzzemit.emit(em.name, [em.input], d, em.regions, note=note, keeps=[keep],
                              final_reset=em.final_reset)[0]
    if kind not in ("case", "dup"):
        raise HarnessError(f"the reduced input gives no case: {cid}")
    with open(os.path.join(d, cid + ".vhu"), encoding="utf-8") as f:
        text = f.read().replace(f"id        {cid}\n", f"id        {rid}\n", 1)
    path = os.path.join(area, rid + ".vhu")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    for ext in ("input", "steps"):
        shutil.copy(os.path.join(d, f"{cid}.{ext}"), os.path.join(area, f"{rid}.{ext}"))
    stats.update(case=case.id, target=plan.profile.name, reduced=paths.relpath(path),
                 faults=[f.name for f in plan.faults])
    with open(os.path.join(out, "reduce.json"), "w") as f:
        json.dump(stats, f, indent=1)
    return path
