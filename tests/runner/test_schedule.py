"""schedule.py and the slots of execute.py: the longest cases first, the
cases that mostly wait beside the busy ones, an earlier run's durations
read back; and end to end against the reference back-end, whose
H-backend cases wait out windows of 1-2.5 s."""

import io
import json
import os
import tempfile
import unittest

import helpers
from vhucheck import schedule, supervisor


class C:
    def __init__(self, cid, wait_ms=0):
        self.id, self.wait_ms, self.timeout_ms, self.path = cid, wait_ms, 5000, f"/s/{cid}.vhu"


class Estimates(unittest.TestCase):
    def test_history_wins_then_declared_waits(self):
        cases = [C("a"), C("b", wait_ms=2000), C("c")]
        est = schedule.estimates(cases, {"a": 300.0, "c": 100.0}, multiplier=2.0)
        self.assertEqual(est["a"], 0.3)
        self.assertEqual(est["c"], 0.1)
        # never run: the typical case (median of the known: 0.2) + 2 s x 2
        self.assertAlmostEqual(est["b"], 0.2 + 4.0)
        # one known of three: too few to say what a case typically takes
        est = schedule.estimates(cases, {"a": 3000.0})
        self.assertAlmostEqual(est["b"], schedule.TYPICAL_S + 2.0)
        est = schedule.estimates(cases, {})
        self.assertEqual(est["a"], schedule.TYPICAL_S)
        self.assertAlmostEqual(est["b"], schedule.TYPICAL_S + 2.0)

    def test_waiting_needs_both_floor_and_ratio(self):
        cases = [C(f"c{k}") for k in range(10)]
        est = {c.id: 0.05 for c in cases}
        est["c3"] = 1.0                     # 20x the typical case, over the floor
        est["c4"] = 0.2                     # 4x: busy
        self.assertEqual(schedule.waiting(cases, est), {"c3"})
        slow = {c.id: 0.4 for c in cases}   # all slow alike: none waits
        slow["c0"] = 1.5                    # under 5 x 0.4
        self.assertEqual(schedule.waiting(cases, slow), set())

    def test_parts_waiting_alone_first_then_longest_first_guided(self):
        cases = [C(f"c{k:02}") for k in range(40)]
        est = {c.id: 0.05 + k / 1000.0 for k, c in enumerate(cases)}
        est["c05"], est["c17"] = 1.0, 2.0
        parts = schedule.parts(cases, est, jobs=2)
        self.assertEqual(parts[0], ([cases[17]], True))
        self.assertEqual(parts[1], ([cases[5]], True))
        self.assertFalse(any(w for _, w in parts[2:]))
        busy = [c for p, _ in parts[2:] for c in p]
        self.assertEqual(sorted(c.id for c in busy),
                         sorted(c.id for c in cases if c.id not in ("c05", "c17")))
        self.assertEqual([est[c.id] for c in busy], sorted((est[c.id] for c in busy),
                                                           reverse=True))
        sizes = [len(p) for p, _ in parts[2:]]
        self.assertLessEqual(max(sizes), schedule.CHUNK_CASES)
        self.assertEqual(sizes, sorted(sizes, reverse=True), "shares shrink to the end")
        self.assertEqual(sizes[-1], 1)
        # -j 1: nothing runs beside, so nothing is set apart; nor with --schedule longest
        self.assertFalse(any(w for _, w in schedule.parts(cases, est, jobs=1)))
        longest = schedule.parts(cases, est, jobs=2, apart=False)
        self.assertFalse(any(w for _, w in longest))
        self.assertEqual(longest[0][0][:2], [cases[17], cases[5]])


class History(unittest.TestCase):
    def _doc(self, d, name, durations, sub=""):
        path = os.path.join(d, sub, "results.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"target": {"name": name},
                       "cases": [{"id": k, "duration_ms": v} for k, v in durations.items()] +
                                [{"id": "not_run", "duration_ms": None}]}, f)

    def test_first_dir_wins_and_sub_dirs_are_read(self):
        with tempfile.TemporaryDirectory() as d:
            one, two = os.path.join(d, "one"), os.path.join(d, "two")
            self._doc(one, "t", {"a": 5.0})
            self._doc(two, "t", {"a": 9.0}, sub="t")
            self._doc(two, "u", {"b": 7.0}, sub="u")
            got = schedule.earlier_durations([one, two, os.path.join(d, "missing")])
            self.assertEqual(got, {"t": {"a": 5.0}, "u": {"b": 7.0}})

    def test_the_build_dir_remembers_the_last_durations(self):
        with tempfile.TemporaryDirectory() as d:
            def doc(durations, interrupted=False, name="t/x"):
                return {"target": {"name": name}, "interrupted": interrupted,
                        "cases": [{"id": k, "duration_ms": v} for k, v in durations.items()]}
            self.assertEqual(schedule.recall(d, "t/x"), {})
            schedule.remember(d, doc({"a": 5.0, "b": 7.0}))
            schedule.remember(d, doc({"b": 9.0, "c": None}))
            self.assertEqual(schedule.recall(d, "t/x"), {"a": 5.0, "b": 9.0})
            schedule.remember(d, doc({"a": 1.0}, interrupted=True))   # not kept
            self.assertEqual(schedule.recall(d, "t/x"), {"a": 5.0, "b": 9.0})
            self.assertEqual(schedule.recall(d, "other"), {})
            blocker = os.path.join(d, "a-file")
            open(blocker, "w").close()
            schedule.remember(blocker, doc({"a": 1.0}))     # cannot be written: no error

    def test_unreadable_documents_are_skipped(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.json"), "w") as f:
                f.write("{not json")
            self.assertEqual(schedule.earlier_durations([d]), {})


class Slots(unittest.TestCase):
    def test_a_waiting_share_runs_beside_the_busy_slot(self):
        """With one slot, the waiting share W holds it no longer than it
        takes the busy share B, started beside it, to end: W waits for B's
        mark, which B can only write if it was started while W ran."""
        from vhucheck import execute
        from vhucheck.progress import Progress
        with tempfile.TemporaryDirectory() as d:
            log, mark = os.path.join(d, "order.log"), os.path.join(d, "b.done")
            wait_b = (f"n=0; while [ ! -f {mark} ] && [ $n -lt 200 ]; do sleep 0.05; "
                      f"n=$((n+1)); done; [ -f {mark} ] && echo end W >> {log} "
                      f"|| echo W gave up >> {log}")
            scripts = [(f"echo start W >> {log}; {wait_b}", True),
                       (f"echo start B >> {log}; echo end B >> {log}; touch {mark}", False)]
            shares = [supervisor.Share(
                index=k, cases=[], json_path=os.path.join(d, f"{k}.jsonl"),
                stderr_path=os.path.join(d, f"{k}.stderr"), budget_s=60, timeouts={},
                argv=["sh", "-c", text], waits=waits) for k, (text, waits) in enumerate(scripts)]
            execute._poll(shares, 1, execute.Stop(), Progress(stream=io.StringIO()),
                          lambda line: None, lambda s: s.start(dict(os.environ), d))
            for s in shares:
                s.proc.wait()
            with open(log) as f:
                lines = f.read().split()
                lines = [" ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
            # in which order the two shells write is the scheduler's choice;
            # that W ended on B's mark (not on its own time limit) is what
            # shows B ran while W held the only slot
            self.assertEqual(sorted(lines), ["end B", "end W", "start B", "start W"], lines)
            self.assertEqual(lines[-1], "end W", lines)


CASE = """\
id        wait_case
title     waits by design
target    frontend
rule      none
level     MUST
requires  SHMEM

handshake
repeat 3
  sleep 10
  repeat 2
    expect no-reply within=7
  end
end
sleep 100
expect no-msg within=5
expect reply value=0 within=900
"""


@unittest.skipUnless(helpers.build_dir(), "no build dir with the harness and the references")
class DeclaredWaits(unittest.TestCase):
    def test_list_json_counts_sleeps_and_silence_with_repeats(self):
        from vhucheck import suite
        harness = os.path.join(helpers.build_dir(), "harness", "vhucheck-harness")
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "Z-test"))
            path = os.path.join(d, "Z-test", "wait_case.vhu")
            with open(path, "w") as f:
                f.write(CASE)
            head, = suite.list_json([path], harness)
            # 3 x (10 + 2 x 7) + 100 + 5; the reply's window is not a wait
            self.assertEqual(head["wait_ms"], 3 * (10 + 2 * 7) + 100 + 5, head)
            self.assertEqual(suite.read_case(path, d).wait_ms, 177)
            with open(path, "a") as f:
                f.write("bogus step\n")
            head, = suite.list_json([path], harness)
            self.assertEqual(head["wait_ms"], 0)


@unittest.skipUnless(helpers.build_dir(), "no build dir with the harness and the references")
class EndToEnd(unittest.TestCase):
    CASES = ("backend_belief_no_reply", "backend_belief_eof", "backend_belief_reply_size_0",
             "backend_map_*", "backend_reply_size_16")

    def _run(self, out, schedule_name):
        args = ["run", "--target", "ref-backend", "-j", "2", "--schedule", schedule_name,
                "--out", out, "--clean"]
        for g in self.CASES:
            args += ["--cases", g]
        env = helpers.env_for(VHUCHECK_BUILD_DIR=helpers.build_dir())
        rc, _, err = helpers.run_cli(*args, env=env)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "results.json")) as f:
            return json.load(f)

    def test_dry_run_sets_apart_what_took_long_before(self):
        """An earlier run in --out says backend_reply_size_16 took 3 s: it
        gets a share of its own, beside the busy ones."""
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "results.json"), "w") as f:
                json.dump({"target": {"name": "ref-backend"},
                           "cases": [{"id": "backend_reply_size_16", "duration_ms": 3000.0}]},
                          f)
            args = ["run", "--target", "ref-backend", "-j", "2", "--dry-run", "--out", d]
            for g in self.CASES:
                args += ["--cases", g]
            rc, out, err = helpers.run_cli(
                *args, env=helpers.env_for(VHUCHECK_BUILD_DIR=helpers.build_dir()))
            self.assertEqual(rc, 0, err)
            lines = out.splitlines()
            apart = [lines[k + 1] for k, line in enumerate(lines)
                     if line.startswith("# beside the busy harnesses")]
            self.assertEqual(len(apart), 2, out)    # and the declared 2 s window
            self.assertTrue(apart[0].endswith("/backend_reply_size_16.vhu"), apart[0])
            self.assertTrue(apart[1].endswith("/backend_belief_no_reply.vhu"), apart[1])
            rc, out, err = helpers.run_cli(
                *args[:-2], "--schedule", "plain",
                env=helpers.env_for(VHUCHECK_BUILD_DIR=helpers.build_dir()))
            self.assertNotIn("# beside", out)

    def test_auto_reads_the_earlier_run_and_keeps_every_verdict(self):
        with tempfile.TemporaryDirectory() as d:
            plain = self._run(os.path.join(d, "plain"), "plain")
            self.assertEqual(plain["settings"]["schedule"], "plain")
            self.assertFalse(any(s["waits"] for s in plain["harness"]["shares"]))
            out = os.path.join(d, "auto")
            first = self._run(out, "auto")
            # the 2 s window of backend_belief_no_reply is declared: apart already
            alone = [s for s in first["harness"]["shares"] if s["waits"]]
            self.assertTrue(alone)
            self.assertTrue(all(s["cases"] == 1 for s in alone))
            # the second run in the same dir knows the first's durations
            second = self._run(out, "auto")
            waited = {c["id"] for c in first["cases"]
                      if c["duration_ms"] >= schedule.WAIT_MIN_S * 1000.0}
            self.assertGreaterEqual(sum(s["waits"] for s in second["harness"]["shares"]),
                                    len(waited) and 1)
            verdicts = [{c["id"]: c["verdict"] for c in doc["cases"]}
                        for doc in (plain, first, second)]
            self.assertEqual(verdicts[0], verdicts[1])
            self.assertEqual(verdicts[0], verdicts[2])
            self.assertEqual(len(verdicts[0]), plain["settings"]["selected"])


@unittest.skipUnless(helpers.build_dir(), "no build dir with the harness and the references")
class LaunchAhead(unittest.TestCase):
    """vhucheck-harness --launch-ahead against the reference back-end: the
    next case's target is launched while a case runs, a fresh one each;
    one that waited more than a second (here: behind a case that sleeps
    2 s) is replaced; the verdicts are those of a run without."""

    CASES = ("H-backend/backend_reply_size_16", "H-backend/backend_belief_no_reply",
             "H-backend/backend_belief_eof", "H-backend/backend_reply_bad_version")

    def _harness(self, d, ahead):
        import subprocess
        build = helpers.build_dir()
        out = os.path.join(d, "ahead" if ahead else "plain")
        os.makedirs(out)
        argv = [os.path.join(build, "harness", "vhucheck-harness"), "--target-role", "backend",
                "--target-cmd", os.path.join(build, "targets", "vhu-ref-backend") +
                " --fd={fd} --control-fd={control} --shmem-bit={shmem_bit}",
                "--trace-dir", os.path.join(out, "traces"),
                "--json", os.path.join(d, f"{ahead}.jsonl")]
        argv += ["--launch-ahead"] if ahead else []
        argv += [os.path.join(helpers.TOP, "suites", c + ".vhu") for c in self.CASES]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout)
        with open(os.path.join(d, f"{ahead}.jsonl")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        traces = {}
        for line in lines:
            with open(os.path.join(out, "traces", line["id"] + ".trace")) as f:
                traces[line["id"]] = f.read()
        return lines, traces

    def test_ahead_fresh_replaced_when_stale_same_verdicts(self):
        with tempfile.TemporaryDirectory() as d:
            plain, _ = self._harness(d, False)
            ahead, traces = self._harness(d, True)
            self.assertEqual([(x["id"], x["verdict"]) for x in plain],
                             [(x["id"], x["verdict"]) for x in ahead])
            marked = [cid for cid, t in traces.items() if "target launched ahead" in t]
            # the first case launches its own; the third's target waited out
            # the second's 2 s sleep: replaced by a fresh one
            self.assertEqual(marked, ["backend_belief_no_reply", "backend_reply_bad_version"])
            pids = [x["target"]["pid"] for x in ahead]
            self.assertEqual(len(set(pids)), len(pids), "one fresh target per case")


if __name__ == "__main__":
    unittest.main()
