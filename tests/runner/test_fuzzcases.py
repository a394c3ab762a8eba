"""vhucheck fuzz --to-cases (vhucheck.fuzzcases and the reproducer
translation it shares with findings): ids, the state bits as handshake
and steps, what is refused; and the whole corpus against the reference
front-end, where every case must pass (skipped without a build)."""

import os
import re
import struct
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck import fuzz, fuzzcases

BUILD = build_dir()


def map_input(state, fd_choice=2, off=0x2000, ln=0x1000, flags=1):
    """A fuzz_shmem_map input: fd choice, state, header, a 40-byte MAP."""
    payload = struct.pack("<B7sQQQQ", 0, b"\0" * 7, 0, off, ln, flags)
    return bytes([fd_choice, state]) + struct.pack("<III", 9, 9, 40) + payload


def field(text, name):
    m = re.search(rf"^{name}\s+(.*)$", text, re.M)
    return m.group(1) if m else None


class TestTranslation(unittest.TestCase):
    def test_id_is_stable_and_names_the_case(self):
        cid, text = fuzzcases.translate("fuzz_shmem_map", map_input(0))
        self.assertRegex(cid, r"^fuzzcorpus_shmem_map_[0-9a-f]{12}$")
        self.assertEqual(field(text, "id"), cid)
        self.assertEqual(fuzzcases.translate("fuzz_shmem_map", map_input(0)), (cid, text))
        other, _ = fuzzcases.translate("fuzz_shmem_map", map_input(0, off=0x3000))
        self.assertNotEqual(other, cid)
        self.assertNotIn(fuzzcases.PLACEHOLDER, text)

    def test_corpus_case_header(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(0))
        self.assertTrue(field(text, "rule").startswith("8, 10: a robust front-end survives"))
        self.assertEqual(field(text, "level"), "MUST")
        self.assertEqual(field(text, "role"), "backend")
        self.assertIn("check alive", text)
        self.assertNotIn("Reproducer of a fuzz finding", text)

    def test_stopped_with_live_mapping_maps_then_stops(self):
        """0x01|0x02: the rig maps on a started device, then stops it."""
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(3))
        self.assertNotIn("start=no", text)
        steps = [ln.split()[0] + " " + ln.split()[1] for ln in text.splitlines()
                 if ln.startswith(("send ", "control "))]
        self.assertEqual(steps, ["send map", "control stop", "send raw"])
        self.assertIn("control", field(text, "requires").split())

    def test_regions_replace_the_rigs(self):
        cid, text = fuzzcases.translate("fuzz_shmem_map", map_input(2), "1m,1m,0,2m")
        self.assertIn("handshake regions=1m,1m,0,2m\n", text)
        self.assertNotIn("64k,0,2m", text)
        self.assertNotEqual(cid, fuzzcases.translate("fuzz_shmem_map", map_input(2))[0])
        self.assertEqual(fuzzcases.check_regions("0x100000,0,2m"), "0x100000,0,2m")

    def test_stopped_alone_never_starts(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(1))
        self.assertIn("start=no", text)
        self.assertNotIn("control", text)

    def test_features_off_are_not_required(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(4 | 8 | 2))
        req = field(text, "requires").split()
        self.assertNotIn("SHMEM", req)
        self.assertNotIn("REPLY_ACK", req)
        self.assertIn("shmem=off", text)
        self.assertIn("reply-ack=off", text)
        self.assertNotIn("send map", text)          # no live mapping without SHMEM

    def test_no_reply_ack_live_mapping_expects_no_reply(self):
        _, text = fuzzcases.translate("fuzz_shmem_map", map_input(4 | 2))
        self.assertIn("send map shmid=0 shm_offset=0x10000 len=0x10000 fd=p\n", text)
        self.assertNotIn("expect reply value=0", text)

    def test_every_fd_choice_parses_as_declared(self):
        for choice in range(11):
            lines, value = fuzz.vhu_fds(choice)
            for line in lines:
                kind = line.split()[2]
                if kind not in ("memfd", "memfd-sealed", "rdonly-file"):
                    self.assertNotIn("size=", line, line)
            self.assertEqual(value is None, choice == 0)

    def test_refuses_fuzzers_without_real_target_cases(self):
        for name in ("fuzz_backend_replies", "fuzz_proto", "fuzz_script"):
            with self.subTest(name), tempfile.TemporaryDirectory() as d:
                with self.assertRaises(Exception) as cm:
                    fuzzcases.write_cases(name, os.path.join(TOP, "corpus", name), d)
                self.assertIn("--to-cases", str(cm.exception))


class TestWrite(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-fuzzcases-")
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_duplicates_written_once_empty_inputs_skipped(self):
        corpus = os.path.join(self.d, "corpus")
        os.makedirs(corpus)
        for name, data in (("a", map_input(0)), ("b", map_input(0)), ("c", map_input(2)),
                           (".hidden", map_input(1))):
            with open(os.path.join(corpus, name), "wb") as f:
                f.write(data)
        out = os.path.join(self.d, "cases")
        self.assertEqual(fuzzcases.write_cases("fuzz_shmem_map", corpus, out), (2, 0, 1))
        files = os.listdir(os.path.join(out, "Z-fuzz-shmem-map"))
        self.assertEqual(len(files), 2)
        self.assertTrue(all(f.endswith(".vhu") for f in files))

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

    @unittest.skipUnless(BUILD, "no build with the harness and the references")
    def test_whole_corpus_passes_on_the_reference(self):
        """Every seed of corpus/fuzz_shmem_map and corpus/fuzz_shmem_sequence,
        as a case, passes on the fault-free reference front-end: the
        translation says what the fuzzer did."""
        cases = os.path.join(self.d, "cases")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD)
        for name in ("shmem_map", "shmem_sequence"):
            rc, _, err = run_cli("fuzz", name, "--to-cases", cases, env=env)
            self.assertEqual(rc, 0, err)
        env["VHUCHECK_SUITES"] = cases
        rc, out, err = run_cli("run", "--target", "ref-frontend", "-j", "2", "--out",
                               os.path.join(self.d, "out"), env=env, timeout=600)
        self.assertEqual(rc, 0, out + err)
        m = re.search(r"ref-frontend: (\d+) passed, 0 failed, 0 skipped", out + err)
        self.assertIsNotNone(m, out + err)
        self.assertGreater(int(m.group(1)), 300)


if __name__ == "__main__":
    unittest.main()
