"""vhucheck fuzz --to-cases (vhucheck.fuzz.cases over vhu-fuzzcase, the C
translation findings share): ids, the state bits as handshake and steps,
the model's expectations and their grades, the step table; and the whole
corpora against the references, where no case may fail (skipped without
a build)."""

import json
import os
import re
import struct
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck.fuzz import cases as fuzzcases, emit as fuzzemit

BUILD = build_dir()
HAVE = BUILD and os.path.exists(os.path.join(BUILD, "fuzzers", "vhu-fuzzcase"))


def setUpModule():
    if HAVE:
        os.environ["VHUCHECK_BUILD_DIR"] = BUILD


def map_input(state, fd_choice=2, off=0x2000, ln=0x1000, flags=1, aim=(0, 0), req=9,
              hflags=9):
    """A fuzz_shmem_map input: fd choice, state, header, a 40-byte MAP."""
    pad = bytes(aim) + b"\0" * 5
    payload = struct.pack("<B7sQQQQ", 0, pad, 0, off, ln, flags)
    return bytes([fd_choice, state]) + struct.pack("<III", req, hflags, 40) + payload


def field(text, name):
    m = re.search(rf"^{name}\s+(.*)$", text, re.M)
    return m.group(1) if m else None


def line_of(text, prefix):
    return next(ln for ln in text.splitlines() if ln.startswith(prefix))


@unittest.skipUnless(HAVE, "no build with vhu-fuzzcase")
class TestTranslation(unittest.TestCase):
    def test_id_is_stable_and_names_the_case(self):
        cid, text = fuzzcases.translate("fuzz_shmem_map", map_input(0))
        self.assertRegex(cid, r"^fuzzcase_map_[0-9a-f]{12}$")
        self.assertEqual(field(text, "id"), cid)
        self.assertEqual(fuzzcases.translate("fuzz_shmem_map", map_input(0)), (cid, text))
        other, _ = fuzzcases.translate("fuzz_shmem_map", map_input(0, off=0x3000))
        self.assertNotEqual(other, cid)

    def test_header_and_the_accepted_map_checked_in_proc(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(0))
        self.assertIn("shadow model", field(text, "rule"))
        self.assertEqual(field(text, "level"), "MUST")
        self.assertEqual(field(text, "target"), "frontend")
        self.assertIn("expect reply value=0 flags=5 size=8\n", text)
        self.assertIn("check mapped f1 count=1 prot=rw-s offset=0 len=0x1000", text)
        self.assertIn("control reset\ncheck unmapped f1", text)
        self.assertTrue(text.endswith("check alive\n"))
        self.assertEqual(set(field(text, "requires").split()) & {"pid", "control"},
                         {"pid", "control"})

    def test_read_only_wants_r__s(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(0, flags=0))
        self.assertIn("prot=r--s", text)

    def test_overlap_is_a_must_refusal_and_named_in_the_step_table(self):
        """Aim 1/7: the range equal to the live mapping, which is made first."""
        data = map_input(0, aim=(1 | (16 << 3), 7 | (16 << 3)))
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in")
            with open(src, "wb") as f:
                f.write(data)
            (kind, cid), = fuzzemit.emit("fuzz_shmem_map", [src], os.path.join(d, "o"))
            with open(os.path.join(d, "o", cid + ".vhu")) as f:
                text = f.read()
            steps = fuzzemit.steps(os.path.join(d, "o"), cid)
        lines = text.splitlines()
        self.assertEqual(kind, "case")
        self.assertIn("send map shmid=0 shm_offset=0x10000 fd_offset=0 len=0x10000", text)
        at = lines.index("expect reply value=nonzero flags=5 size=8") + 1
        self.assertEqual(steps[at]["grade"], "MUST")
        self.assertIn("overlaps a live mapping", steps[at]["rule"])
        self.assertEqual(steps[at]["kind"], "message")

    def test_silent_rules_are_graded_should(self):
        """len not page aligned: the digest is silent (digest 6)."""
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(0, ln=0x1001))
        self.assertIn("expect reply value=nonzero flags=5 size=8 grade=should", text)
        self.assertIn("check fds f1 count=0 grade=should", text)

    def test_len_zero_leaves_no_doubt_behind(self):
        """A len-0 MAP (silent: graded should) covers no range either way,
        so the MAP at the same offset after it stays MUST (the suite's
        shmem_map_len_zero_then_same_offset)."""
        def rec(off, ln):
            return struct.pack("<BBBBIQQQ", 0, 2, 0, 0x03, 0, off, ln, 0)
        _, text = fuzzcases.translate("fuzz_shmem_sequence", rec(2, 0) + rec(2, 1))
        replies = [ln for ln in text.splitlines() if ln.startswith("expect reply")]
        self.assertEqual(replies, ["expect reply value=nonzero flags=5 size=8 grade=should",
                                   "expect reply value=0 flags=5 size=8"])

    def test_a_payload_cut_before_len_names_no_range(self):
        """An UNMAP of 24 bytes (no len) after a MAP: whatever a front-end
        does with it, it cannot name the mapping, so the whole UNMAP after
        it must succeed (MUST), as in shmem_map_payload_8_no_stale_fields."""
        def rec(op, bits, aux=0):
            return struct.pack("<BBBBIQQQ", op, 2 if op == 0 else 0, 0, bits, aux, 2, 4, 0)
        data = rec(0, 0x03) + rec(1, 0x02 | 0x40, 24) + rec(1, 0x02)
        _, text = fuzzcases.translate("fuzz_shmem_sequence", data)
        self.assertIn("size=24 truncate=24", text)
        replies = [ln for ln in text.splitlines() if ln.startswith("expect reply")]
        self.assertEqual(replies[1:], ["expect reply value=nonzero flags=5 size=8 grade=should",
                                       "expect reply value=0 flags=5 size=8"])

    def test_stopped_with_live_mapping_maps_then_stops(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(3))
        self.assertNotIn("start=no", text)
        steps = [" ".join(ln.split()[:2]) for ln in text.splitlines()
                 if ln.startswith(("send ", "control "))]
        self.assertEqual(steps, ["send map", "control stop", "send raw", "control reset"])

    def test_regions_replace_the_rigs(self):
        cid, text = fuzzcases.translate("fuzz_shmem_map", map_input(2), "1m,1m,0,2m")
        self.assertIn("handshake regions=0x100000,0x100000,0,0x200000\n", text)
        self.assertNotEqual(cid, fuzzcases.translate("fuzz_shmem_map", map_input(2))[0])
        self.assertEqual(fuzzcases.check_regions("0x100000,0,2m"), "0x100000,0,2m")

    def test_stopped_alone_never_starts(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(1))
        self.assertIn("start=no", line_of(text, "handshake"))
        self.assertIn("grade=should", line_of(text, "expect reply"))

    def test_features_off_are_not_required(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(4 | 8 | 2))
        req = field(text, "requires").split()
        self.assertNotIn("SHMEM", req)
        self.assertNotIn("REPLY_ACK", req)
        self.assertIn("shmem=off", text)
        self.assertIn("reply-ack=off", text)
        self.assertNotIn("send map", text)          # no live mapping without SHMEM

    def test_no_reply_ack_expects_no_reply_and_waits_longer(self):
        """Without a reply nothing says the front-end read the MAP yet:
        its /proc checks get a window of their own."""
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(4 | 2))
        self.assertNotIn("expect reply", text)
        self.assertRegex(text, r"check mapped f1 .* within=1000\n")

    def test_first_accepted_reply_is_ordered_before_the_memory_table(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(0))
        self.assertIn("expect reply value=0 flags=5 size=8\nexpect order backend:reply "
                      "main:SET_MEM_TABLE|ADD_MEM_REG|REM_MEM_REG\n", text)
        self.assertEqual(text.count("expect order"), 1)

    def test_backend_input_asks_over_control_and_judges_the_outcome(self):
        rec = struct.pack("<BBBBBBHII", 0, 1, 0, 0, 0x02, 5, 0, 4, 2)  # map, reply error
        _, text = fuzzcases.translate("fuzz_backend_replies", rec)
        self.assertEqual(field(text, "target"), "backend")
        self.assertIn("control map shmid=0 shm_offset=0x4000 len=0x2000 fd_offset=0 "
                      "flags=ro need_reply=1\n", text)
        self.assertIn("reply value=5\nexpect result fail\n", text)
        self.assertIn("control", field(text, "requires").split())

    def test_refuses_fuzzers_without_cases(self):
        for name in ("fuzz_proto", "fuzz_script"):
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                with self.assertRaises(Exception) as cm:
                    fuzzcases.write_cases(name, os.path.join(TOP, "corpus", name), d)
                self.assertIn("--to-cases", str(cm.exception))


@unittest.skipUnless(HAVE, "no build with vhu-fuzzcase")
class TestWrite(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-fuzzcases-")
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_duplicates_written_once_hidden_skipped(self):
        corpus = os.path.join(self.d, "corpus")
        os.makedirs(corpus)
        for name, data in (("a", map_input(0)), ("b", map_input(0)), ("c", map_input(2)),
                           (".hidden", map_input(1)), ("d", b"")):
            with open(os.path.join(corpus, name), "wb") as f:
                f.write(data)
        out = os.path.join(self.d, "cases")
        self.assertEqual(fuzzcases.write_cases("fuzz_shmem_map", corpus, out), (2, 1, 1))
        files = sorted(os.listdir(os.path.join(out, "Z-fuzz-shmem-map")))
        self.assertEqual(len([f for f in files if f.endswith(".vhu")]), 2)
        self.assertEqual(len([f for f in files if f.endswith(".steps")]), 2)

    def test_cli_errors(self):
        env = env_for()
        rc, _, err = run_cli("fuzz", "shmem_map", "--to-cases", self.d, "--corpus",
                             os.path.join(self.d, "none"), env=env)
        self.assertEqual(rc, 2)
        self.assertIn("no such directory", err)
        rc, _, err = run_cli("fuzz", "shmem_map", "--corpus", self.d, env=env)
        self.assertEqual(rc, 2)
        self.assertIn("--corpus and --regions go with --to-cases", err)
        rc, _, err = run_cli("fuzz", "shmem_map", "--to-cases", self.d, "--regions", "1m;2m", env=env)
        self.assertEqual(rc, 2)
        self.assertIn("not a list of sizes", err)

    def test_whole_corpora_pass_on_the_references(self):
        """Every seed of the three corpora, as a case with the model's
        expectations, passes on the fault-free reference (NON-STRICT where
        a rule is silent): the translation says what the model says."""
        env = env_for(VHUCHECK_BUILD_DIR=BUILD)
        for name, target in (("shmem_map", "ref-frontend"), ("shmem_sequence", "ref-frontend"),
                             ("backend_replies", "ref-backend")):
            with self.subTest(name):
                cases = os.path.join(self.d, name)
                rc, _, err = run_cli("fuzz", name, "--to-cases", cases, env=env)
                self.assertEqual(rc, 0, err)
                env["VHUCHECK_SUITES"] = cases
                out = os.path.join(self.d, "out-" + name)
                rc, so, se = run_cli("run", "--target", target, "-j", "2", "--out", out,
                                     env=env, timeout=900)
                self.assertIn(rc, (0, 1), so + se)
                with open(os.path.join(out, "results.json")) as f:
                    cases_run = json.load(f)["cases"]
                bad = [(c["id"], c["verdict"]) for c in cases_run
                       if c["verdict"] not in ("PASS", "NON-STRICT")]
                self.assertEqual(bad, [])
                self.assertGreater(len(cases_run), 40)


if __name__ == "__main__":
    unittest.main()
