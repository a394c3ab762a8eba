"""vhucheck fuzz --against (vhucheck.fuzz.against): the mutators, failure
signatures, and a short campaign against the reference front-end with a
fault that aborts it, whose finding must replay (skipped without a
build)."""

import json
import os
import re
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck.fuzz import against as fuzzreal, emit as fuzzemit

BUILD = build_dir()
HAVE = BUILD and os.path.exists(os.path.join(BUILD, "fuzzers", "vhu-fuzzcase"))
MAP_SEEDS = os.path.join(TOP, "corpus", "fuzz_shmem_map")
SEQ_SEEDS = os.path.join(TOP, "corpus", "fuzz_shmem_sequence")
BE_SEEDS = os.path.join(TOP, "corpus", "fuzz_backend_replies")


def setUpModule():
    if HAVE:
        os.environ["VHUCHECK_BUILD_DIR"] = BUILD


def emit_ids(d, name, corpus, seed, n=40):
    return [i for k, i in fuzzemit.emit(name, [corpus], d, mutate=n, seed=seed) if k == "case"]


@unittest.skipUnless(HAVE, "no build with vhu-fuzzcase")
class TestMutants(unittest.TestCase):
    """vhu-fuzzcase --mutate: the C mutators, through vhucheck.fuzz.emit."""

    def test_deterministic_per_seed(self):
        for name, corpus in (("fuzz_shmem_map", MAP_SEEDS), ("fuzz_shmem_sequence", SEQ_SEEDS),
                             ("fuzz_backend_replies", BE_SEEDS)):
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                a = emit_ids(os.path.join(d, "a"), name, corpus, 5)
                b = emit_ids(os.path.join(d, "b"), name, corpus, 5)
                c = emit_ids(os.path.join(d, "c"), name, corpus, 6)
                self.assertEqual(a, b)
                self.assertNotEqual(a, c)
                self.assertGreater(len(a), 20)

    def test_mutants_are_not_the_seeds(self):
        with tempfile.TemporaryDirectory() as d:
            seeds = {i for k, i in fuzzemit.emit("fuzz_shmem_sequence", [SEQ_SEEDS],
                                                 os.path.join(d, "s")) if k == "case"}
            got = emit_ids(os.path.join(d, "m"), "fuzz_shmem_sequence", SEQ_SEEDS, 1, 200)
            self.assertGreater(len(set(got) - seeds), 150)


class TestSignature(unittest.TestCase):
    def test_assertion_numbers_out(self):
        case = {"verdict": "CRASH", "target": {"signal": "SIGABRT"},
                "stderr_tail": "vhu-qtest[123]: start\nqemu-system-x86_64: ../system/memory.c:2644: "
                               "memory_region_del_eventfd: Assertion `i != mr->ioeventfd_nb' failed.\n"}
        other = dict(case, stderr_tail=case["stderr_tail"].replace("2644", "2650"))
        self.assertEqual(fuzzreal.signature(case),
                         "CRASH SIGABRT: Assertion `i != mr->ioeventfd_nb' failed")
        self.assertEqual(fuzzreal.signature(case), fuzzreal.signature(other))

    def test_no_diagnostic_and_other_verdicts(self):
        self.assertEqual(fuzzreal.signature({"verdict": "TIMEOUT", "target": None}),
                         "TIMEOUT: (no diagnostic)")
        ubsan = {"verdict": "CRASH", "target": {"signal": 6},
                 "stderr_tail": "x.c:41:24: runtime error: unsigned integer overflow: 0 - 1"}
        self.assertIn("runtime error: unsigned integer overflow: N - N", fuzzreal.signature(ubsan))

    def test_fail_is_signed_by_rule_and_step_kind(self):
        case = {"verdict": "FAIL", "target": {"signal": None},
                "fuzz_step": {"kind": "map", "rule": "6: MUST fail: overlaps a live mapping",
                              "grade": "MUST", "line": 14}}
        self.assertEqual(fuzzreal.signature(case),
                         "FAIL: 6: MUST fail: overlaps a live mapping (map)")

    def test_findings_are_every_verdict_but_pass_non_strict_unsupported(self):
        for v in ("PASS", "NON-STRICT", "UNSUPPORTED"):
            self.assertFalse(fuzzreal.is_finding({"verdict": v}))
        for v in ("FAIL", "CRASH", "TIMEOUT", "DEADLOCK", "ERROR"):
            self.assertTrue(fuzzreal.is_finding({"verdict": v}))

    def test_failed_step_is_the_first_must_failure(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "c1.steps"), "w") as f:
                f.write("12\tmap\tSHOULD\t6: len 0\n14\tunmap\tMUST\t7: MUST fail: x\n")
            case = {"id": "c1", "failures": [{"line": 12, "grade": "SHOULD"},
                                             {"line": 14, "grade": "MUST"}]}
            st = fuzzemit.failed_step(case, d)
            self.assertEqual((st["kind"], st["rule"], st["line"]), ("unmap", "7: MUST fail: x", 14))
            self.assertIsNone(fuzzemit.failed_step({"id": "c1", "failures": []}, d))


class TestKnown(unittest.TestCase):
    def test_known_from_a_report_or_a_list(self):
        with tempfile.TemporaryDirectory() as d:
            rep = os.path.join(d, "report.json")
            with open(rep, "w") as f:
                json.dump({"findings": [{"signature": "FAIL: 7: x (unmap)"}]}, f)
            lst = os.path.join(d, "known.txt")
            with open(lst, "w") as f:
                f.write("# known\nCRASH signal SIGSEGV: (no diagnostic)\n\n")
            self.assertEqual(fuzzreal.load_known(rep), {"FAIL: 7: x (unmap)"})
            self.assertEqual(fuzzreal.load_known(lst), {"CRASH signal SIGSEGV: (no diagnostic)"})
            with self.assertRaises(Exception):
                fuzzreal.load_known(os.path.join(d, "none.txt"))

    def test_known_from_an_expectations_file(self):
        # The target's table: its crash signatures, globs included; the
        # other tables and the entries without a signature give none.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "expect.toml")
            with open(path, "w") as f:
                f.write('[qemu-shmem]\n'
                        'a = { verdict = "CRASH", reason = "r", signature = '
                        '["CRASH SIGABRT: Assertion `x\' failed", "CRASH SIGSEGV: * @ f *"] }\n'
                        'b = { verdict = "FAIL", reason = "r" }\n'
                        '[other]\n'
                        'c = { verdict = "CRASH", reason = "r", signature = "CRASH SIGBUS: y" }\n')
            known = fuzzreal.load_known(path, "qemu-shmem")
            self.assertEqual(known, {"CRASH SIGABRT: Assertion `x' failed",
                                     "CRASH SIGSEGV: * @ f *"})
            camp = fuzzreal.Campaign("fuzz_shmem_sequence", "qemu-shmem", d, known)
            self.assertTrue(camp.is_known("CRASH SIGABRT: Assertion `x' failed"))
            self.assertTrue(camp.is_known("CRASH SIGSEGV: (no diagnostic) @ f @ g"))
            self.assertFalse(camp.is_known("CRASH SIGSEGV: (no diagnostic)"))
            self.assertEqual(fuzzreal.load_known(path, "nobody"), set())

    def test_known_hits_are_counted_not_kept(self):
        with tempfile.TemporaryDirectory() as d:
            known = "CRASH SIGSEGV: (no diagnostic)"
            camp = fuzzreal.Campaign("fuzz_shmem_sequence", "t", d, {known})
            crash = {"id": "c1", "verdict": "CRASH", "target": {"signal": "SIGSEGV"},
                     "duration_ms": 30}
            camp.add([crash, {"id": "c2", "verdict": "PASS", "duration_ms": 10}],
                     os.path.join(d, "suite"))
            self.assertEqual(camp.findings, {})
            self.assertEqual(camp.known_hits, {known: 1})
            self.assertAlmostEqual(camp.known_ms / camp.case_ms, 0.75)


@unittest.skipUnless(BUILD, "no build with the harness and the references")
class TestCampaign(unittest.TestCase):
    def test_finds_the_fault_and_the_finding_replays(self):
        with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzreal-") as d:
            out = os.path.join(d, "out")
            env = env_for(VHUCHECK_BUILD_DIR=BUILD)
            rc, so, se = run_cli("fuzz", "shmem_map", "--against", "ref-frontend", "--fault",
                                 "fe_abort_before_start", "--seconds", "4", "--batch", "20",
                                 "--seed", "7", "--jobs", "2", "--out", out, env=env, timeout=300)
            self.assertEqual(rc, 1, se)
            with open(os.path.join(out, "report.json")) as f:
                doc = json.load(f)
            self.assertGreaterEqual(doc["cases"], 20)
            self.assertEqual(len(doc["findings"]), 1, doc["findings"])
            self.assertTrue(doc["findings"][0]["signature"].startswith("CRASH SIGABRT"))
            found = doc["findings"][0]["dir"]
            self.assertEqual(len([f for f in os.listdir(found) if f.endswith(".vhu")]), 1)
            # reduced against the target (reduce.py): fewer steps, same crash
            red = doc["findings"][0]["reduced"]
            self.assertLess(red["steps_after"], red["steps_before"])
            self.assertEqual(red["outcome"]["verdict"], "CRASH")
            self.assertTrue(os.path.exists(red["file"]), red)
            env["VHUCHECK_SUITES"] = os.path.join(out, "findings")
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--fault",
                                 "fe_abort_before_start", "--out", os.path.join(d, "again"),
                                 env=env, timeout=120)
            self.assertEqual(rc, 1, so + se)
            with open(os.path.join(d, "again", "results.json")) as f:
                cases = json.load(f)["cases"]
            # the finding and its reduced case, both crashing
            self.assertEqual([c["verdict"] for c in cases], ["CRASH", "CRASH"])
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--out",
                                 os.path.join(d, "clean"), env=env, timeout=120)
            self.assertEqual(rc, 0, so + se)        # without the fault it passes

    def test_bad_arguments(self):
        env = env_for(VHUCHECK_BUILD_DIR=BUILD)
        for args, msg in ((["--against", "ref-frontend", "--to-cases", "/tmp/x"], "one or the other"),
                          (["--against", "ref-frontend", "--batch", "0"], "must be at least 1"),
                          (["--against", "ref-frontend", "--regions", "a,b"], "not a list of sizes")):
            with self.subTest(args):
                rc, _, se = run_cli("fuzz", "shmem_map", *args, env=env)
                self.assertEqual(rc, 2, se)
                self.assertIn(msg, se)
        rc, _, se = run_cli("fuzz", "proto", "--against", "ref-backend", env=env)
        self.assertEqual(rc, 2, se)
        self.assertIn("do not translate to cases", se)

    def campaign(self, d, name, target, fault, seconds=6):
        out = os.path.join(d, "out-" + fault)
        env = env_for(VHUCHECK_BUILD_DIR=BUILD)
        rc, so, se = run_cli("fuzz", name, "--against", target, "--fault", fault, "--seconds",
                             str(seconds), "--seed", "1", "--jobs", "2", "--out", out,
                             "--reduce-seconds", "0",
                             env=env, timeout=300)
        self.assertEqual(rc, 1, so + se)
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)

    def test_the_model_finds_a_front_end_that_acks_overlaps(self):
        """fe_no_overlap_check: acked 0, and no crash: only the model sees it."""
        with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzreal-") as d:
            doc = self.campaign(d, "sequence", "ref-frontend", "fe_no_overlap_check")
            sigs = [f["signature"] for f in doc["findings"]]
            self.assertTrue(any("overlaps a live mapping" in s for s in sigs), sigs)
            found = [f for f in doc["findings"] if "overlaps" in f["signature"]][0]
            self.assertEqual(found["verdict"], "FAIL")
            self.assertTrue(any(f.endswith(".steps") for f in os.listdir(found["dir"])))

    def test_a_back_end_is_judged_on_what_it_concludes(self):
        """be_eof_as_success: the harness closes the back-end channel
        instead of replying; the back-end reports success."""
        with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzreal-") as d:
            doc = self.campaign(d, "backend_replies", "ref-backend", "be_eof_as_success")
            sigs = [f["signature"] for f in doc["findings"]]
            self.assertTrue(any("is no success" in s for s in sigs), sigs)


if __name__ == "__main__":
    unittest.main()
