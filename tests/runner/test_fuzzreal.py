"""vhucheck fuzz --against (vhucheck.fuzzreal): the mutators, failure
signatures, and a short campaign against the reference front-end with a
fault that aborts it, whose finding must replay (skipped without a
build)."""

import json
import os
import random
import re
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck import fuzzcases, fuzzreal

BUILD = build_dir()
MAP_SEEDS = os.path.join(TOP, "corpus", "fuzz_shmem_map")
SEQ_SEEDS = os.path.join(TOP, "corpus", "fuzz_shmem_sequence")


class TestMutators(unittest.TestCase):
    def test_deterministic_per_seed(self):
        seeds = fuzzreal.load_seeds("fuzz_shmem_map", MAP_SEEDS)
        a = [fuzzreal.mutant(random.Random(5), "fuzz_shmem_map", seeds) for _ in range(3)]
        b = [fuzzreal.mutant(random.Random(5), "fuzz_shmem_map", seeds) for _ in range(3)]
        self.assertEqual(a, b)

    def test_mutants_differ_and_translate(self):
        for name, corpus in (("fuzz_shmem_map", MAP_SEEDS), ("fuzz_shmem_sequence", SEQ_SEEDS)):
            with self.subTest(name):
                seeds = fuzzreal.load_seeds(name, corpus)
                rng = random.Random(1)
                got = [fuzzreal.mutant(rng, name, seeds) for _ in range(300)]
                self.assertGreater(len(set(got) - set(seeds)), 250)
                cases = [fuzzcases.translate(name, d)[0] for d in got]
                self.assertGreater(sum(1 for c in cases if c), 280)

    def test_sequence_mutants_stay_whole_steps(self):
        seeds = fuzzreal.load_seeds("fuzz_shmem_sequence", SEQ_SEEDS)
        rng = random.Random(2)
        for _ in range(200):
            self.assertEqual(len(fuzzreal.mutant(rng, "fuzz_shmem_sequence", seeds)) % 32, 0)

    def test_map_field_mutation_lands_on_the_field(self):
        rng = random.Random(0)
        data = bytes(54)
        for _ in range(200):
            out = fuzzreal.mutate_map(rng, data)
            self.assertGreaterEqual(len(out), 1)
        out = fuzzreal._u64_at(bytes(54), 14 + 24, (1 << 64) - 4096)
        self.assertEqual(out[38:46], bytes.fromhex("00f0ffffffffffff"))


class TestSignature(unittest.TestCase):
    def test_assertion_numbers_out(self):
        case = {"verdict": "CRASH", "target": {"signal": "SIGABRT"},
                "stderr_tail": "vhu-qtest[123]: start\nqemu-system-x86_64: ../system/memory.c:2644: "
                               "memory_region_del_eventfd: Assertion `i != mr->ioeventfd_nb' failed.\n"}
        other = dict(case, stderr_tail=case["stderr_tail"].replace("2644", "2650"))
        self.assertEqual(fuzzreal.signature(case),
                         "CRASH signal SIGABRT: Assertion `i != mr->ioeventfd_nb' failed")
        self.assertEqual(fuzzreal.signature(case), fuzzreal.signature(other))

    def test_no_diagnostic_and_other_verdicts(self):
        self.assertEqual(fuzzreal.signature({"verdict": "TIMEOUT", "target": None}),
                         "TIMEOUT signal -: (no diagnostic)")
        ubsan = {"verdict": "CRASH", "target": {"signal": 6},
                 "stderr_tail": "x.c:41:24: runtime error: unsigned integer overflow: 0 - 1"}
        self.assertIn("runtime error: unsigned integer overflow: N - N", fuzzreal.signature(ubsan))


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
            self.assertTrue(doc["findings"][0]["signature"].startswith("CRASH signal SIGABRT"))
            found = doc["findings"][0]["dir"]
            self.assertEqual(len([f for f in os.listdir(found) if f.endswith(".vhu")]), 1)
            env["VHUCHECK_SUITES"] = os.path.join(out, "findings")
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--fault",
                                 "fe_abort_before_start", "--out", os.path.join(d, "again"),
                                 env=env, timeout=120)
            self.assertEqual(rc, 1, so + se)
            with open(os.path.join(d, "again", "results.json")) as f:
                self.assertEqual([c["verdict"] for c in json.load(f)["cases"]], ["CRASH"])
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
        rc, _, se = run_cli("fuzz", "backend_replies", "--against", "ref-backend", env=env)
        self.assertEqual(rc, 2, se)
        self.assertIn("do not translate to cases", se)


if __name__ == "__main__":
    unittest.main()
