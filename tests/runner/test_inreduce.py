"""Input reduction of fuzz findings (vhucheck.fuzz.inreduce, vhu-fuzzcase
--records/--keep): a subset of an input's records emits a case that
parses; a campaign's finding against the reference front-end with a
fault reduces to a case that still fails with the fault, with the same
signature, and passes without it (skipped without a build)."""

import json
import os
import subprocess
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck.fuzz import emit as fuzzemit, inreduce

BUILD = build_dir()
HAVE = BUILD and os.path.exists(os.path.join(BUILD, "fuzzers", "vhu-fuzzcase"))
CORPUS = {name: os.path.join(TOP, "corpus", name) for name in fuzzemit.FUZZERS}


def setUpModule():
    if HAVE:
        os.environ["VHUCHECK_BUILD_DIR"] = BUILD


def validate(path):
    harness = os.path.join(BUILD, "harness", "vhucheck-harness")
    p = subprocess.run([harness, "--validate", path], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stderr


@unittest.skipUnless(HAVE, "no build with vhu-fuzzcase")
class TestRecords(unittest.TestCase):
    """The C owns the formats: the runner only names record indices."""

    def largest(self, name):
        files = [os.path.join(CORPUS[name], f) for f in sorted(os.listdir(CORPUS[name]))]
        return max(files, key=lambda f: (fuzzemit.records(name, f)[0], f))

    def test_counts(self):
        for name, size in (("fuzz_shmem_sequence", 32), ("fuzz_backend_replies", 16)):
            with self.subTest(name):
                f = self.largest(name)
                n, each = fuzzemit.records(name, f)
                self.assertEqual(each, size)
                self.assertEqual(n, os.path.getsize(f) // size)
                self.assertGreater(n, 3)
        n, each = fuzzemit.records("fuzz_shmem_map", self.largest("fuzz_shmem_map"))
        self.assertEqual((n, each), (1, 0))          # one message, whole
        self.assertFalse(inreduce.applies("fuzz_shmem_map",
                                          self.largest("fuzz_shmem_map")))

    def test_kept_subsets_emit_cases_that_parse(self):
        for name in ("fuzz_shmem_sequence", "fuzz_backend_replies"):
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                f = self.largest(name)
                n = fuzzemit.records(name, f)[0]
                keeps = [list(range(n)), list(range(0, n, 2)), list(range(1, n, 2)),
                         [0, n - 1], list(range(n // 2, n))]
                got = fuzzemit.emit(name, [f], d, keeps=keeps)
                self.assertEqual(len(got), len(keeps), got)
                ids = [i for k, i in got if k in ("case", "dup")]
                self.assertGreaterEqual(len(set(ids)), 3, got)
                for cid in set(ids):
                    rc, err = validate(os.path.join(d, cid + ".vhu"))
                    self.assertEqual(rc, 0, f"{cid}: {err}")
                    with open(os.path.join(d, cid + ".input"), "rb") as fh:
                        sub = fh.read()
                    self.assertEqual(len(sub) % fuzzemit.records(name, f)[1], 0)
                # all records: the input's own case, byte for byte
                whole = os.path.join(d, "whole")
                (k0, id0), = fuzzemit.emit(name, [f], whole)
                self.assertEqual(k0, "case")
                self.assertEqual(got[0][1], id0)

    def test_bad_keep_lists(self):
        f = self.largest("fuzz_shmem_sequence")
        n = fuzzemit.records("fuzz_shmem_sequence", f)[0]
        with tempfile.TemporaryDirectory() as d:
            for bad in ([2, 1], [0, 0], [n]):
                with self.subTest(bad), self.assertRaises(Exception) as e:
                    fuzzemit.emit("fuzz_shmem_sequence", [f], d, keeps=[bad])
                self.assertIn("ascending order", str(e.exception))
            self.assertEqual(fuzzemit.emit("fuzz_shmem_sequence", [f], d, keeps=[[]])[0][0],
                             "skip")


@unittest.skipUnless(HAVE, "no build with vhu-fuzzcase")
class TestFinding(unittest.TestCase):
    def test_reduced_fails_with_the_fault_and_passes_without(self):
        fault = "fe_no_overlap_check"
        with tempfile.TemporaryDirectory(prefix="vhucheck-inreduce-") as d:
            out = os.path.join(d, "out")
            env = env_for(VHUCHECK_BUILD_DIR=BUILD)
            rc, so, se = run_cli("fuzz", "sequence", "--against", "ref-frontend", "--fault",
                                 fault, "--seconds", "60", "--seed", "1", "--jobs", "2",
                                 "--stop-at-first", "--reduce-seconds", "120", "--out", out,
                                 env=env, timeout=600)
            self.assertEqual(rc, 1, se)
            with open(os.path.join(out, "report.json")) as f:
                fd = json.load(f)["findings"][0]
            red = fd["reduced"]
            self.assertEqual(red["by"], "records", red)
            self.assertEqual(red["outcome"]["signature"], fd["signature"])
            self.assertLessEqual(red["records_after"], red["records_before"])
            root = os.path.dirname(os.path.dirname(red["file"]))
            env["VHUCHECK_SUITES"] = root
            verdicts = {}
            for faults in ([fault], []):
                o = os.path.join(d, "run-" + "-".join(faults))
                rc, so, se = run_cli("run", "--target", "ref-frontend", "--out", o,
                                     *[a for x in faults for a in ("--fault", x)],
                                     env=env, timeout=120)
                with open(os.path.join(o, "results.json")) as f:
                    verdicts[bool(faults)] = json.load(f)["cases"]
            # (a) with the fault: the same signature, signed as the campaign signs
            case, = verdicts[True]
            step = fuzzemit.failed_step(case, os.path.dirname(red["file"]))
            self.assertEqual(case["verdict"], "FAIL")
            self.assertEqual(f"FAIL: {step['rule']} ({step['kind']})", fd["signature"])
            # (b) without it the reduced case passes: no false bug report
            self.assertEqual([c["verdict"] for c in verdicts[False]], ["PASS"],
                             verdicts[False])


if __name__ == "__main__":
    unittest.main()
