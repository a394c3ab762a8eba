"""`vhucheck bench`: argument handling and dispatch (no build needed), the
figures and the markdown from a made-up measurement, and the calibrators
and a whole small `bench suite` on a real build (skipped, with the
reason, when there is none)."""

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
import unittest

from helpers import build_dir, env_for, run_cli, write

from vhucheck import suite
from vhucheck.bench import cli as bench, suite as B

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"


class TestArguments(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-bench-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def assert_usage(self, args, fragment, env=None):
        rc, out, err = run_cli(*args, env=env)
        self.assertEqual(rc, 2, f"{args}: {err}")
        self.assertNotIn("Traceback", err)
        self.assertIn(fragment, err)
        lines = [ln for ln in err.splitlines() if not ln.startswith(("usage:", " "))]
        self.assertEqual(len(lines), 1, err)

    def test_bad_arguments(self):
        afile = write(self.dir, "afile", "")
        for args, fragment in [
                (["bench"], "say which benchmark: suite, fuzz or targets"),
                (["bench", "nosuch"], "invalid choice: 'nosuch'"),
                (["bench", "suite", "--runs", "0"], "must be at least 1"),
                (["bench", "suite", "--runs", "many"], "is not a whole number"),
                (["bench", "suite", "-j", "0"], "must be at least 1"),
                (["bench", "suite", "--spawns", "-3"], "must be at least 1"),
                (["bench", "suite", "--empty-cases", "x"], "is not a whole number"),
                (["bench", "suite", "--out", ""], "must not be empty"),
                (["bench", "suite", "--bogus"], "unrecognized arguments: --bogus"),
                (["bench", "suite", "--out", os.path.join(afile, "x")], "afile is not a directory")]:
            with self.subTest(" ".join(args)):
                self.assert_usage(args, fragment)

    def test_help_names_both(self):
        rc, out, err = run_cli("bench", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("suite", out)
        self.assertIn("fuzz", out)
        rc, out, err = run_cli("bench", "suite", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("docs/bench.md", out)
        self.assertIn("--runs N", out)

    def test_fuzz_goes_to_bench_fuzz(self):
        mod = bench.load("fuzz", "bench.fuzz")
        if isinstance(mod, bench.Broken):
            self.skipTest(f"bench_fuzz does not load here: {mod.problem}")
        rc, out, err = run_cli("bench", "fuzz", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("--speed-seconds", out)        # bench_fuzz's own option
        self.assert_usage(["bench", "fuzz", "--runs", "0"], "must be at least 1")

    def test_broken_module_is_exit_3_and_the_other_works(self):
        broken = bench.load("fuzz", "no_such_bench_module")
        self.assertIsInstance(broken, bench.Broken)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(broken.main(None), 3)
        self.assertIn("vhucheck bench fuzz: cannot load: ModuleNotFoundError", err.getvalue())
        self.assertIs(bench.load("suite", "bench.suite"), B)

    def test_missing_build_is_exit_3(self):
        env = env_for(VHUCHECK_BUILD_DIR=os.path.join(self.dir, "nobuild"), VHUCHECK_HARNESS=None)
        rc, out, err = run_cli("bench", "suite", "--out", os.path.join(self.dir, "o"), env=env)
        self.assertEqual(rc, 3, err)
        self.assertIn("not built", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "o")))


def made_up():
    """A measurement as measure() returns it, with round numbers."""
    def runs(jobs, median, lo, hi):
        return {"jobs": jobs, "runs": 3, "wall_s": {"median": median, "min": lo, "max": hi},
                "cases": 200, "cases_per_s": round(200 / median, 1), "case_time_s": 3.0,
                "slowest": [{"target": "ref-frontend", "id": "slow_one", "ms": 1000.0}]}
    empty = {"median": 5.0, "min": 4.0, "max": 9.0, "cases": 100}
    spawn = {"cycles": 50, "ready_ms": {"median": 1.5, "min": 1, "max": 3},
             "stop_ms": {"median": 0.5, "min": 0.2, "max": 1},
             "total_ms": {"median": 2.0, "min": 1.3, "max": 4}}
    doc = {"parallel": runs(2, 4.0, 3.9, 4.4), "serial": runs(1, 6.0, 5.8, 6.5),
           "runner_floor": {"runs": 3, "wall_s": {"median": 0.5, "min": 0.4, "max": 0.6}},
           "harness_empty_case": {n: dict(empty) for n in B.REFS},
           "spawn": {n: dict(spawn) for n in B.REFS},
           "meta": {"date": "2026-01-01 00:00", "cores": 2, "kernel": "Linux x", "python": "3.11",
                    "runs": 3, "build_dir": "build", "goal_s": B.GOAL_S}}
    doc["ratios"] = B.ratios(doc)
    return doc


class TestFigures(unittest.TestCase):
    def test_spread(self):
        self.assertEqual(B.spread([3.0, 1.0, 2.0]), {"median": 2.0, "min": 1.0, "max": 3.0})
        self.assertEqual(B.spread([0.004], 1000.0, 1), {"median": 4.0, "min": 4.0, "max": 4.0})

    def test_ratios(self):
        r = made_up()["ratios"]
        self.assertEqual(r["speedup"], 1.5)
        self.assertEqual(r["per_case_ms_serial"], 27.5)     # (6.0 - 0.5) s / 200
        self.assertEqual(r["case_vs_empty"], 5.5)
        self.assertEqual(r["case_vs_spawn"], 13.75)
        self.assertEqual(r["empty_vs_spawn"], 2.5)
        self.assertEqual(r["fixed_share"], 0.125)
        self.assertEqual(r["in_cases_share_serial"], 0.5)

    def test_markdown(self):
        doc = made_up()
        md = B.markdown(doc)
        self.assertIn("| whole suite, both references, `-j 2` | 4.00 s | 3.90 | 4.40 | 200 cases, "
                      "**50.0 cases/s** |", md)
        self.assertIn("| whole suite, both references, `-j 1` | 6.00 s |", md)
        self.assertIn("| harness, empty case, ref-frontend | 5.00 ms | 4.00 | 9.00 |", md)
        self.assertIn("| spawn+stop ref-backend, no harness | 2.00 ms |", md)
        self.assertIn("**1.5x** faster", md)
        self.assertIn("<= 10 s: met (4.00 s)", md)
        self.assertIn("| `slow_one` | ref-frontend | 1000.0 |", md)
        doc["parallel"]["wall_s"]["median"] = 12.0
        self.assertIn("<= 10 s: **missed** (12.00 s)", B.markdown(doc))
        self.assertNotIn("Determinism", md)

    def test_markdown_repeat(self):
        doc = made_up()
        doc["repeat"] = {"jobs": 2, "repeat": 3, "wall_s": 12.5, "cases": 200, "exit": 1,
                         "flaky": [{"target": "ref-frontend", "id": "racy",
                                    "verdicts": ["PASS", "DEADLOCK", "PASS"]}]}
        md = B.markdown(doc)
        self.assertIn("`--repeat 3` at `-j 2`, 12.50 s: **1 flaky** of 200 cases", md)
        self.assertIn("- `racy` (ref-frontend): PASS, DEADLOCK, PASS", md)

    def test_empty_cases_parse(self):
        with tempfile.TemporaryDirectory() as d:
            cases = suite.discover(B.empty_suite(d, 3))
        self.assertEqual(len(cases), 6)
        self.assertEqual({c.role for c in cases}, {"backend", "frontend"})


@unittest.skipUnless(BUILD, SKIP)
class TestOnARealBuild(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-bench-")
        self.dir = self.tmp.name
        self.saved = os.environ.get("VHUCHECK_BUILD_DIR")
        os.environ["VHUCHECK_BUILD_DIR"] = BUILD

    def tearDown(self):
        if self.saved is None:
            os.environ.pop("VHUCHECK_BUILD_DIR", None)
        else:
            os.environ["VHUCHECK_BUILD_DIR"] = self.saved
        self.tmp.cleanup()

    def test_spawn_calibrator(self):
        got = B.spawn_floor(5)
        for name in B.REFS:
            t = got[name]["total_ms"]
            self.assertEqual(got[name]["cycles"], 5)
            self.assertGreater(t["min"], 0.0)
            self.assertLessEqual(t["min"], t["median"])
            self.assertLessEqual(t["median"], t["max"])
            self.assertLess(got[name]["ready_ms"]["max"], B.READY_TIMEOUT_S * 1000)

    def test_harness_calibrator(self):
        got = B.harness_floor(self.dir, 4, 2)
        for name in B.REFS:
            self.assertEqual(got[name]["cases"], 4)
            self.assertGreater(got[name]["min"], 0.0)

    def test_whole_bench_on_a_small_suite(self):
        """The real command, end to end, on a suite of two cases per role
        (VHUCHECK_SUITES), so it takes seconds."""
        small = B.empty_suite(os.path.join(self.dir, "suites"), 2)
        out = os.path.join(self.dir, "out")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=small, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("bench", "suite", "--runs", "2", "--empty-cases", "3",
                             "--spawns", "3", "--out", out, env=env, timeout=300)
        self.assertEqual(rc, 0, se)
        with open(os.path.join(out, "last-run.md")) as f:
            self.assertEqual(f.read(), so)
        with open(os.path.join(out, "last-run.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["parallel"]["cases"], 4)
        self.assertEqual(doc["serial"]["jobs"], 1)
        self.assertEqual(doc["parallel"]["runs"], 2)
        for key in ("runner_floor", "harness_empty_case", "spawn", "ratios", "meta"):
            self.assertIn(key, doc)
        self.assertIn("bench suite: run 2/2 -j 1:", se)

    def test_repeat_counts_flaky(self):
        small = B.empty_suite(os.path.join(self.dir, "suites"), 2)
        out = os.path.join(self.dir, "out")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=small, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("bench", "suite", "--runs", "1", "--empty-cases", "2",
                             "--spawns", "2", "--repeat", "2", "--out", out, env=env,
                             timeout=300)
        self.assertEqual(rc, 0, se)
        with open(os.path.join(out, "last-run.json")) as f:
            rep = json.load(f)["repeat"]
        self.assertEqual((rep["repeat"], rep["cases"], rep["flaky"]), (2, 4, []))
        self.assertIn("**0 flaky** of 4 cases (2 runs each)", so)
        self.assertIn("bench suite: repeat 2: 0 flaky of 4 cases", se)
        rc, so, se = run_cli("bench", "suite", "--repeat", "0", env=env)
        self.assertEqual(rc, 2, se)

    def test_failing_run_is_exit_1(self):
        """A suite that does not pass is not measured."""
        root = os.path.join(self.dir, "suites")
        write(root, "T/bad_case.vhu", "id bad_case\ntitle T\ntarget frontend\nrule 6: r\nlevel MUST\n\n"
              "handshake regions=0x100000\nfd a memfd size=0x10000\n"
              "send map shmid=0 shm_offset=0 len=0x1000 fd=a need_reply\n"
              "expect reply value=nonzero\n")
        write(root, "T/ok_case.vhu", B.empty_case("ok_case", "frontend"))
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=root, VHUCHECK_HARNESS=None)
        out = os.path.join(self.dir, "out")
        rc, so, se = run_cli("bench", "suite", "--runs", "1", "--out", out, env=env, timeout=120)
        self.assertEqual(rc, 1, se)
        self.assertIn("exited 1; nothing measured", se)
        self.assertFalse(os.path.exists(os.path.join(out, "last-run.md")))
        kept = re.search(r"report: (\S+)\)", se)
        self.assertTrue(kept and os.path.isdir(kept.group(1)), se)   # kept for a look
        shutil.rmtree(os.path.dirname(kept.group(1)))


if __name__ == "__main__":
    unittest.main()


class TestBenchFuzz(unittest.TestCase):
    """bench fuzz's calibrators (built from bench/fuzz/calibrate.c with
    the system compiler), side-by-side ratios and its markdown."""

    def setUp(self):
        from vhucheck.bench import fuzz as bench_fuzz
        self.F = bench_fuzz
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-bench-fuzz-")

    def tearDown(self):
        self.tmp.cleanup()

    def test_calibrators_run(self):
        """Both modes build and report a rate (no timing is asserted: that
        is the benchmark's job, not a unit test's)."""
        if not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
            self.skipTest("no C compiler")
        exe = self.F.build_calibrator(self.tmp.name)
        self.assertGreater(self.F.calibrate(exe, 0.2), 0)
        self.assertGreater(self.F.calibrate(exe, 0.2, with_mmap=True), 0)

    def test_side_by_side_averages_before_and_after(self):
        calls = []
        rates = iter([100.0, 300.0])

        def fake_calibrate(exe, seconds, with_mmap=False):
            calls.append(("calib", with_mmap))
            return next(rates)

        saved = self.F.calibrate
        self.F.calibrate = fake_calibrate
        try:
            got = self.F.side_by_side("exe", lambda: calls.append("measure") or 50, True)
        finally:
            self.F.calibrate = saved
        self.assertEqual(got, (50, 200.0))
        self.assertEqual(calls, [("calib", True), "measure", ("calib", True)])
        self.assertEqual(self.F.ratio(50, 200.0), 0.25)
        self.assertIsNone(self.F.ratio(None, 200.0))

    def test_map_inputs_differ_only_where_meant(self):
        (_, acc, a1), (_, ref, a2), (_, beside, a3) = self.F.map_inputs()
        self.assertEqual((a1, a2, a3), (True, False, True))
        self.assertEqual(len(acc), len(ref))
        self.assertEqual([i for i in range(len(acc)) if acc[i] != ref[i]], [38 + 1])
        self.assertEqual([i for i in range(len(acc)) if acc[i] != beside[i]], [1])

    def test_markdown_shows_each_ratio(self):
        calib = {"per_sec": 100000, "mmap_per_sec": 50000}
        speed = {"fuzz_shmem_map": {"target": 60000, "libfuzzer": 30000, "afl": 20000,
                                    "stability": "99.70%",
                                    "vs_calibrator": {"target": 0.6, "libfuzzer": 0.3,
                                                      "afl": 0.2}},
                 "fuzz_proto": {"target": 2000000, "libfuzzer": 100000, "afl": 36000,
                                "stability": "99.80%"}}
        maps = [{"input": "MAP accepted", "per_sec": 55000, "vs_calibrator": 0.5,
                 "vs_calibrator_mmap": 0.97},
                {"input": "MAP refused (len 0)", "per_sec": 90000, "vs_calibrator": 0.9,
                 "vs_calibrator_mmap": None}]
        rows = [{"fuzzer": "fuzz_shmem_map", "fault": "fe_bounds_wrap", "runs": 5,
                 "found": 5, "median_execs": 1234, "median_seconds": 0.5}]
        meta = {"date": "2026-11-21 10:00", "cores": 2, "engine": "libfuzzer",
                "runs": 5, "budget": 20}
        md = self.F.markdown(calib, speed, rows, meta, maps)
        self.assertIn("**100000/s**", md)
        self.assertIn("50000/s", md)
        self.assertIn("| fuzz_shmem_map | 60000 | 30000 | 20000 | 99.70% | 60% / 30% / 20% |", md)
        self.assertIn("| fuzz_proto | 2000000 | 100000 | 36000 | 99.80% | - |", md)
        self.assertIn("| MAP accepted | 55000 | 50% | 97% |", md)
        self.assertIn("| MAP refused (len 0) | 90000 | 90% | - |", md)
        self.assertIn("| fuzz_shmem_map | fe_bounds_wrap | 5/5 | 1234 | 0.5 |", md)
