"""Crash signatures (runner/vhucheck/signature.py), --backtrace, the
expectations' `signature`, compare's signature counts and `reduce`,
against the reference targets' crash faults: nothing here needs a
user-built QEMU."""

import json
import os
import shutil
import tempfile
import unittest

from helpers import build_dir, env_for, run_cli, write

from vhucheck import expectations as X, signature as S
from vhucheck.errors import ConfigError

ASAN = """\
=================================================================
==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55d1 bp 0x7ff sp 0x7f0
READ of size 8 at 0x602000000010 thread T0
    #0 0x55d1a in vu_shmem_unmap /src/libvhost-user.c:1234:5
    #1 0x55d1b in vu_process_message /src/libvhost-user.c:2200:9
    #2 0x55d1c in main /src/main.c:10:3
    #3 0x7f00 in __libc_start_call_main
freed by thread T0 here:
    #0 0x55d00 in free
    #1 0x55d1d in vu_reset /src/libvhost-user.c:99:3
"""

GLIB = """\
**
ERROR:../hw/virtio/vhost-user.c:1834:vhost_user_backend_handle_shmem_map: assertion failed: (len > 0)
Bail out! ERROR:../hw/virtio/vhost-user.c:1834:vhost_user_backend_handle_shmem_map: assertion failed: (len > 0)
"""

GDB = """\
#0  __pthread_kill_implementation (threadid=<optimized out>, signo=6) at ./nptl/pthread_kill.c:44
#1  0x00007f in __GI_raise (sig=sig@entry=6) at ../sysdeps/posix/raise.c:26
#2  0x00007f in __GI_abort () at ./stdlib/abort.c:79
#3  0x000055 in memory_region_del_subregion (mr=0x0, subregion=0x55) at ../system/memory.c:2700
#4  0x000055 in virtio_shmem_unmap (shmem=0x55) at ../hw/virtio/virtio.c:4100
"""

RUST = """\
thread 'main' panicked at src/backend.rs:210:17:
called `Option::unwrap()` on a `None` value
stack backtrace:
   0: rust_begin_unwind
             at /rustc/abc/library/std/src/panicking.rs:665:5
   1: core::panicking::panic_fmt
   2: vhost_user_backend::handler::VhostUserHandler::shmem_map::h0123456789abcdef
             at src/handler.rs:210:17
   3: vhost::vhost_user::backend_req_handler::handle_request::h0123456789abcdef
"""


class TestParsing(unittest.TestCase):
    def test_normalize_takes_values_out_and_keeps_rule_numbers(self):
        self.assertEqual(S.normalize("len 0x1000 at 12 (rule 6: x)"), "len N at N (rule 6: x)")

    def test_sanitizer_report_gives_kind_and_frames(self):
        s = S.make("CRASH", exit_code=1, stderr=ASAN)
        self.assertEqual(s["frames"], ["vu_shmem_unmap", "vu_process_message"])
        self.assertIn("AddressSanitizer: heap-use-after-free", s["text"])
        self.assertEqual(s["backtrace_source"], "sanitizer")
        self.assertTrue(s["text"].startswith("CRASH exit 1: "))

    def test_glib_assertion_is_the_diagnostic(self):
        s = S.make("CRASH", sig=6, stderr=GLIB)
        self.assertIn("assertion failed: (len > N)", s["diagnostic"])
        self.assertEqual(s["stderr"][0], GLIB.splitlines()[1])

    def test_gdb_backtrace_skips_the_abort_machinery(self):
        s = S.make("CRASH", sig=6, stderr=GDB)
        self.assertEqual(s["frames"], ["memory_region_del_subregion", "virtio_shmem_unmap"])

    def test_rust_panic_frames_without_hashes(self):
        s = S.make("CRASH", sig=6, stderr=RUST)
        self.assertEqual(s["frames"][0],
                         "vhost_user_backend::handler::VhostUserHandler::shmem_map")
        # file:line:col is where it panicked: kept, as rule numbers are.
        self.assertIn("panicked at src/backend.rs:210:17:", s["text"])

    def test_same_bug_same_id_other_bug_other_id(self):
        a = S.make("CRASH", sig=11, stderr=GDB)
        b = S.make("CRASH", sig=11, stderr=GDB.replace("0x000055", "0x000066"))
        c = S.make("CRASH", sig=11, stderr=GDB.replace("virtio_shmem_unmap", "virtio_reset"))
        self.assertEqual(a["id"], b["id"])
        self.assertNotEqual(a["id"], c["id"])
        self.assertEqual(S.make("CRASH", sig=11)["text"], "CRASH SIGSEGV: (no diagnostic)")

    def test_grouping_counts_distinct_and_picks_the_shortest(self):
        a = S.make("CRASH", sig=11, stderr=GDB)
        b = S.make("CRASH", sig=6, stderr=GLIB)
        cases = [{"id": "long", "verdict": "CRASH", "crash": a, "script": "a\nb\nc\n"},
                 {"id": "short", "verdict": "CRASH", "crash": a, "script": "a\n"},
                 {"id": "other", "verdict": "CRASH", "crash": b, "script": "a\n"},
                 {"id": "fine", "verdict": "PASS", "crash": None}]
        groups = S.group(cases)
        self.assertEqual([g["cases"] for g in groups], [["long", "short"], ["other"]])
        self.assertEqual(groups[0]["shortest"], "short")
        self.assertEqual(S.summary_line(cases), "3 CRASH, 2 distinct")

    def test_not_a_crash_has_no_signature_unless_a_sanitizer_spoke(self):
        self.assertIsNone(S.of_result("FAIL", {}, "expected x", ""))
        self.assertIsNotNone(S.of_result("PASS", {}, "", ASAN))


class TestExpectations(unittest.TestCase):
    def load(self, entry):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        return X.load(write(d, "e.toml", f"[t]\nc = {entry}\n")).for_target("t").lookup("c", "A/c")

    def test_entry_names_a_signature(self):
        e = self.load('{ verdict = "CRASH", reason = "r", signature = "CRASH SIGABRT: *" }')
        abrt = S.make("CRASH", sig=6, stderr=GLIB)
        segv = S.make("CRASH", sig=11)
        self.assertEqual(X.judge("CRASH", e, abrt), X.EXPECTED)
        self.assertEqual(X.judge("CRASH", e, segv), X.REGRESSION)
        by_id = self.load('{ verdict = "CRASH", reason = "r", signature = ["%s"] }' % segv["id"])
        self.assertEqual(X.judge("CRASH", by_id, segv), X.EXPECTED)
        self.assertEqual(X.judge("CRASH", by_id, abrt), X.REGRESSION)

    def test_signature_needs_crash_among_the_verdicts(self):
        with self.assertRaisesRegex(ConfigError, "does not include CRASH"):
            self.load('{ verdict = "FAIL", reason = "r", signature = "x" }')


@unittest.skipUnless(build_dir() and shutil.which("addr2line"),
                     "needs the harness and the references built, and addr2line")
class TestAgainstTheReferences(unittest.TestCase):
    """Two crash faults of the reference front-end, with --backtrace."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vhu-sig-")
        cls.env = env_for(VHUCHECK_BUILD_DIR=build_dir())
        cls.docs = {}
        for fault in ("fe_abort_before_start", "fe_abort_nregions"):
            out = os.path.join(cls.tmp, fault)
            rc, _, err = run_cli("run", "-t", "ref-frontend", "--fault", fault, "--backtrace",
                                 "-c", "lifecycle_be_*_before_start*", "config_be_nregions_*",
                                 "--out", out, env=cls.env)
            with open(os.path.join(out, "results.json")) as f:
                cls.docs[fault] = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_a_crash_fault_gives_signatures_split_by_path(self):
        # The fault aborts in gate(), reached from the MAP and from the
        # UNMAP handler: two paths, two signatures, each with the frames.
        sigs = self.docs["fe_abort_before_start"]["signatures"]
        self.assertEqual([g["frames"][:2] for g in sigs],
                         [["gate", "handle_map"], ["gate", "handle_unmap"]], sigs)
        for g in sigs:
            self.assertEqual(g["signal"], "SIGABRT")
            self.assertIn("in-process unwinder", g["backtrace_source"])
            self.assertIn("refshmem.c", g["backtrace"])
        crashed = [c for c in self.docs["fe_abort_before_start"]["cases"]
                   if c["verdict"] == "CRASH"]
        self.assertEqual(sorted(c["id"] for g in sigs for c in crashed if c["crash"]["id"] == g["id"]),
                         sorted(c["id"] for c in crashed))

    def test_two_crash_faults_two_signatures_and_compare_names_the_new_one(self):
        a = self.docs["fe_abort_before_start"]["signatures"]
        b = self.docs["fe_abort_nregions"]["signatures"]
        self.assertNotEqual({g["id"] for g in a}, {g["id"] for g in b})
        rc, out, _ = run_cli("compare", os.path.join(self.tmp, "fe_abort_before_start"),
                             os.path.join(self.tmp, "fe_abort_nregions"), "--format", "json",
                             env=self.env)
        doc = json.loads(out)
        self.assertEqual(rc, 1)
        self.assertEqual(sorted(r["id"] for r in doc["signatures"]["new"]),
                         sorted(g["id"] for g in b))
        self.assertEqual(sorted(r["id"] for r in doc["signatures"]["gone"]),
                         sorted(g["id"] for g in a))

    def test_reports_group_crashes(self):
        out = os.path.join(self.tmp, "fe_abort_before_start")
        with open(os.path.join(out, "summary.md")) as f:
            md = f.read()
        n = sum(1 for c in self.docs["fe_abort_before_start"]["cases"] if c["verdict"] == "CRASH")
        self.assertIn(f"Crashes: {n} CRASH, 2 distinct", md)
        with open(os.path.join(out, "index.html")) as f:
            self.assertIn(f"crashes: {n} CRASH, 2 distinct signatures", f.read())

    def test_reduce_keeps_the_signature_with_fewer_steps(self):
        out = os.path.join(self.tmp, "reduced")
        rc, text, err = run_cli("reduce", "lifecycle_be_map_before_start_then_start",
                                "-t", "ref-frontend", "--fault", "fe_abort_before_start",
                                "--backtrace", "--out", out, env=self.env)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(out, "reduce.json")) as f:
            stats = json.load(f)
        sig = next(g["id"] for g in self.docs["fe_abort_before_start"]["signatures"]
                   if "lifecycle_be_map_before_start_then_start" in g["cases"])
        self.assertEqual(stats["outcome"], {"verdict": "CRASH", "signature": sig})
        self.assertLess(stats["steps_after"], stats["steps_before"])
        self.assertTrue(stats["complete"])
        # The reduced case is a case like any other: the runner takes it
        # and it crashes the same way.
        rc, _, err = run_cli("run", "-t", "ref-frontend", "--fault", "fe_abort_before_start",
                             "--backtrace", "--out", os.path.join(self.tmp, "rerun"),
                             env=dict(self.env, VHUCHECK_SUITES=out))
        with open(os.path.join(self.tmp, "rerun", "results.json")) as f:
            doc = json.load(f)
        self.assertEqual([c["verdict"] for c in doc["cases"]], ["CRASH"], err)
        self.assertEqual(doc["cases"][0]["crash"]["id"], sig)

    def test_reduce_refuses_a_passing_case(self):
        rc, _, err = run_cli("reduce", "shmem_map_overlap_equal", "-t", "ref-frontend",
                             "--out", os.path.join(self.tmp, "nothing"), env=self.env)
        self.assertEqual(rc, 2, err)
        self.assertIn("nothing to reduce", err)


if __name__ == "__main__":
    unittest.main()
