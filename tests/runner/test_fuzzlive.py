"""vhucheck fuzz --against T --live (vhucheck.fuzzlive and the C driver
build/fuzzers/vhu-fuzzlive) against the reference front-end as an
outside program: the stream runs clean without a fault, stops at a
catalogued fault with the operations since the last reset as an input
that becomes the case showing it, keeps off what --avoid names, counts
states across restarts; a campaign restarts the target after a crash,
goes on, and keeps the reproducer, which crashes again. The same for the
reference back-end (build/fuzzers/vhu-fuzzlive-be, the harness as its
front-end): clean without a fault, catalogued faults stopped at with the
records since the last reset as a fuzz_backend_replies input whose case
shows the fault. Runs are bounded by operation counts, not by time
(skipped without a build)."""

import json
import os
import subprocess
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli

from vhucheck.bench import live as bench_live
from vhucheck.fuzz import against as fuzzreal, emit as fuzzemit, live as fuzzlive

BUILD = build_dir()
DRIVER = BUILD and os.path.join(BUILD, "fuzzers", "vhu-fuzzlive")
HAVE = DRIVER and os.path.exists(DRIVER) and os.path.exists(
    os.path.join(BUILD, "targets", "vhu-ref-frontend"))
OVERLAP = "6: MUST fail: overlaps a live mapping"
BE_DRIVER = BUILD and os.path.join(BUILD, "fuzzers", "vhu-fuzzlive-be")
HAVE_BE = BE_DRIVER and os.path.exists(BE_DRIVER) and os.path.exists(
    os.path.join(BUILD, "targets", "vhu-ref-backend"))
OVERLAP_OWN = "12H: not overlapping its own live mappings"


def setUpModule():
    if HAVE:
        os.environ["VHUCHECK_BUILD_DIR"] = BUILD


def ref_cmd(*faults):
    return (f"{BUILD}/targets/vhu-ref-frontend --socket-path={{socket}} "
            "--control-fd={control} --shmem-bit={shmem_bit} --announce=on"
            + "".join(f" --fault={f}" for f in faults))


def drive(out, *args, faults=(), max_ops=3000, lenient=False):
    """The driver until max_ops (a generous --seconds only as a guard):
    (exit status, violation event or None, end event). lenient: the
    reference front-end takes the other choice where the digest leaves
    it open (--lenient, as QEMU v11 does)."""
    os.makedirs(out, exist_ok=True)
    cmd = ref_cmd(*faults) + (" --lenient" if lenient else "")
    p = subprocess.run([DRIVER, "--target-cmd", cmd, "--out", out,
                        "--seconds", "300", "--max-ops", str(max_ops), "--seed", "1", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=400)
    ev = [json.loads(ln) for ln in p.stdout.splitlines()]
    viol = next((e for e in ev if e["event"] == "violation"), None)
    return p.returncode, viol, next(e for e in ev if e["event"] == "end")


class TestAvoidOf(unittest.TestCase):
    """What a violation keeps the next streams off."""

    def test_messages_by_kind_and_model_verdict(self):
        self.assertEqual(fuzzlive.avoid_of({"kind": "map", "verdict": OVERLAP}),
                         "map:" + OVERLAP)
        self.assertEqual(fuzzlive.avoid_of({"kind": "map", "verdict": "accepted ro"}),
                         "map:accepted ro")

    def test_never_every_good_request(self):
        for v in ("accepted", "accepted rw", ""):
            self.assertIsNone(fuzzlive.avoid_of({"kind": "map", "verdict": v}))
            self.assertIsNone(fuzzlive.avoid_of({"kind": "unmap", "verdict": v}))

    def test_controls_by_what_led_to_them(self):
        self.assertEqual(fuzzlive.avoid_of({"kind": "reset", "verdict": ""}), "reset:")
        self.assertEqual(fuzzlive.avoid_of({"kind": "start", "after": "stop"}), "stop:")
        # a crash on a request while stopped keeps the stream off stops
        crash = {"class": "CRASH", "kind": "unmap",
                 "verdict": "10: device not started (refused by choice)"}
        self.assertEqual(fuzzlive.state_avoid_of(crash), "stop:")
        self.assertIsNone(fuzzlive.state_avoid_of(dict(crash, verdict="accepted")))
        self.assertIsNone(fuzzlive.state_avoid_of(dict(crash, role="backend")))
        self.assertEqual(fuzzlive.known_rule_of({"class": "FAIL", "kind": "map",
                                                 "rule": OVERLAP}), "map:" + OVERLAP)
        self.assertIsNone(fuzzlive.known_rule_of(crash))
        self.assertIsNone(fuzzlive.avoid_of({"kind": "start", "after": "map"}))


def drive_be(out, *args, faults=(), max_ops=800):
    """vhu-fuzzlive-be against the reference back-end until max_ops:
    (exit status, violation event or None, end event)."""
    os.makedirs(out, exist_ok=True)
    cmd = (f"{BUILD}/targets/vhu-ref-backend --fd={{fd}} --control-fd={{control}} "
           "--shmem-bit={shmem_bit}" + "".join(f" --fault={f}" for f in faults))
    p = subprocess.run([BE_DRIVER, "--target-cmd", cmd, "--out", out, "--seconds", "300",
                        "--max-ops", str(max_ops), "--seed", "1", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=400)
    ev = [json.loads(ln) for ln in p.stdout.splitlines()]
    viol = next((e for e in ev if e["event"] == "violation"), None)
    return p.returncode, viol, next(e for e in ev if e["event"] == "end")


class TestAvoidOfBackend(unittest.TestCase):
    """What keeps the back-end driver off a known violation."""

    def test_by_request_and_reply(self):
        be = {"role": "backend"}
        self.assertEqual(fuzzlive.avoid_of(dict(be, kind="map", verdict="short")), "map:short")
        self.assertEqual(fuzzlive.avoid_of(dict(be, kind="refusal", verdict=OVERLAP_OWN)),
                         "refusal:" + OVERLAP_OWN)
        self.assertEqual(fuzzlive.avoid_of(dict(be, kind="config", verdict="")), "config:")
        # a request's own shape: every MAP has it, never avoided
        self.assertIsNone(fuzzlive.avoid_of(dict(be, kind="map", verdict="")))

    def test_fuzzer_by_role(self):
        self.assertEqual(fuzzlive.fuzzer_of("ref-backend"), "fuzz_backend_replies")
        self.assertEqual(fuzzlive.fuzzer_of("ref-frontend"), "fuzz_shmem_sequence")


@unittest.skipUnless(HAVE_BE, "no build with vhu-fuzzlive-be and the reference back-end")
class TestBackendDriver(unittest.TestCase):
    def test_clean_reference_no_violation(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive_be(d)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertEqual(end["ops"], 800)
            self.assertGreater(end["messages"], 600)       # requests, replies, main channel
            self.assertGreater(end["controls"], 700)       # map, unmap, reset
            self.assertGreater(end["states"], 50)
            self.assertGreater(end["cuts"], 0)              # replies that left it in doubt

    def test_faults_stop_the_stream(self):
        for fault, kind, rule in (
                ("be_map_overlap_own", "refusal", OVERLAP_OWN),
                ("be_no_fd_on_map", "map", "6: SHMEM_MAP carries exactly one fd"),
                ("be_fd_on_unmap", "unmap", "7: SHMEM_UNMAP carries no fd"),
                ("be_reply_id_unchecked", None,
                 "9/12H: no reply, EOF or a malformed reply is no success"),
                ("be_config_unstable", "config", None)):
            with self.subTest(fault), tempfile.TemporaryDirectory() as d:
                rc, viol, end = drive_be(d, faults=[fault], max_ops=20000)
                self.assertEqual(rc, 1, end)
                self.assertEqual(viol["class"], "FAIL")
                self.assertEqual(viol["kind"], kind or viol["kind"])
                self.assertEqual(viol["rule"], rule or viol["rule"])
        with tempfile.TemporaryDirectory() as d:
            rc, viol, _ = drive_be(d, faults=["be_abort_short_reply"], max_ops=20000)
            self.assertEqual((rc, viol["class"], viol["verdict"]), (1, "CRASH", "short"))

    def test_slice_is_the_case(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive_be(os.path.join(d, "s"), faults=["be_reply_id_unchecked"],
                                     max_ops=20000)
            self.assertEqual(rc, 1, end)
            self.assertEqual(viol["verdict"], "wrong id")
            self.assertEqual(os.path.getsize(viol["slice"]) % 16, 0)
            got = fuzzemit.emit("fuzz_backend_replies", [viol["slice"]],
                                os.path.join(d, "cases", "Z-fuzz"))
            self.assertEqual([k for k, _ in got], ["case"])
            env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=os.path.join(d, "cases"))
            rc, so, se = run_cli("run", "--target", "ref-backend", "--fault",
                                 "be_reply_id_unchecked", "--out", os.path.join(d, "r1"),
                                 env=env, timeout=120)
            self.assertEqual(rc, 1, so + se)    # the case shows the fault ...
            rc, so, se = run_cli("run", "--target", "ref-backend", "--out",
                                 os.path.join(d, "r2"), env=env, timeout=120)
            self.assertEqual(rc, 0, so + se)    # ... and passes without it

    def test_avoid_keeps_off_the_known_violation(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive_be(d, "--avoid", "refusal:" + OVERLAP_OWN,
                                     faults=["be_map_overlap_own"], max_ops=400)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertGreater(end["avoided"], 0)

    def test_a_should_missed_is_counted_not_stopped_for(self):
        # A reply's fd kept: the digest leaves it open (its case grades
        # it SHOULD), so the stream counts it and goes on.
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive_be(d, faults=["be_keeps_reply_fds"], max_ops=400)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertGreater(end["should"], 0)
            _, _, clean = drive_be(d, max_ops=400)
            self.assertEqual(clean["should"], 0)

    def test_usage(self):
        p = subprocess.run([BE_DRIVER, "--out", "/tmp"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--target-cmd", p.stderr)
        # a back-end on a socket path: live mode needs {fd} and {control}
        p = subprocess.run([BE_DRIVER, "--target-cmd", "/bin/true {socket} {control}",
                            "--out", "/tmp", "--seconds", "5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("{fd}", p.stderr)

    def test_pingpong(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive_be(d, "--pingpong", max_ops=400)
            self.assertEqual((rc, viol, end["ops"], end["messages"]), (0, None, 400, 800))


@unittest.skipUnless(HAVE, "no build with vhu-fuzzlive and the reference front-end")
class TestDriver(unittest.TestCase):
    def test_clean_reference_no_violation(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(d)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertEqual(end["ops"], 3000)
            self.assertGreater(end["messages"], 1500)      # mostly MAP/UNMAP
            self.assertGreater(end["controls"], 100)       # resets, stops, starts
            self.assertGreater(end["states"], 100)
            self.assertGreater(end["corpus"], 0)           # segments with new states kept

    def test_fault_stops_the_stream_and_the_slice_is_the_case(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(os.path.join(d, "s"), faults=["fe_no_overlap_check"],
                                  max_ops=200000)
            self.assertEqual(rc, 1, end)
            self.assertEqual((viol["class"], viol["kind"], viol["rule"]),
                             ("FAIL", "map", OVERLAP))
            self.assertEqual(viol["verdict"], OVERLAP)
            size = os.path.getsize(viol["slice"])
            self.assertEqual(size % 32, 0)
            # the operations since the last known-good point, after the
            # features and config in force (a NEGOTIATE and a CONFIG record)
            self.assertIn(size // 32 - viol["segment_ops"], (0, 1, 2))
            got = fuzzemit.emit("fuzz_shmem_sequence", [viol["slice"]],
                                os.path.join(d, "cases", "Z-fuzz"))
            self.assertEqual([k for k, _ in got], ["case"])
            env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=os.path.join(d, "cases"))
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--fault",
                                 "fe_no_overlap_check", "--out", os.path.join(d, "r1"),
                                 env=env, timeout=120)
            self.assertEqual(rc, 1, so + se)    # the case shows the fault ...
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--out",
                                 os.path.join(d, "r2"), env=env, timeout=120)
            self.assertEqual(rc, 0, so + se)    # ... and passes without it

    def test_avoid_keeps_off_the_known_violation(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(d, "--avoid", "map:" + OVERLAP,
                                  faults=["fe_no_overlap_check"])
            self.assertEqual((rc, viol), (0, None), end)
            self.assertGreater(end["avoided"], 0)

    def test_the_model_follows_a_lenient_front_end(self):
        # Unknown flag bits, a file shorter than fd_offset+len, fds on an
        # UNMAP: taken by --lenient, refused by the model by choice. The
        # model takes the target's choice (adopted), so those shmids stay
        # known: no violation, and with resets kept off (a target whose
        # reset crashes) the streams last longer before a new process.
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(d, lenient=True)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertGreater(end["adopted"], 10)
            # the strict one goes the other way too (it refuses some fd
            # kinds the model takes), but the lenient choices add more
            _, _, strict = drive(d)
            self.assertGreater(end["adopted"], strict["adopted"] + 10)
            # what the model took stays judged: an overlap with it is found
            rc, viol, end = drive(d, faults=["fe_no_overlap_check"], lenient=True,
                                  max_ops=200000)
            self.assertEqual((rc, viol["rule"]), (1, OVERLAP), end)

    def test_known_rule_is_gone_past(self):
        # A FAIL the campaign signed already: the stream counts it and goes
        # on (its region lost, then won back) instead of ending.
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(d, "--known-rule", "map:" + OVERLAP,
                                  faults=["fe_no_overlap_check"], max_ops=3000)
            self.assertEqual((rc, viol), (0, None), end)
            self.assertGreater(end["absorbed"], 0)
            self.assertEqual(end["ops"], 3000)

    def test_states_are_kept_across_runs(self):
        with tempfile.TemporaryDirectory() as d:
            states = os.path.join(d, "states.bin")
            _, _, a = drive(d, "--states", states, max_ops=500)
            _, _, b = drive(d, "--states", states, "--seed", "2", max_ops=500)
            self.assertEqual(b["states"], a["states"] + b["new_states"])
            self.assertGreater(a["states"], 0)

    def test_pingpong(self):
        with tempfile.TemporaryDirectory() as d:
            rc, viol, end = drive(d, "--pingpong", max_ops=400)
            self.assertEqual((rc, viol, end["ops"], end["messages"]), (0, None, 400, 400))

    def test_case_takes_an_answer_to_a_request_flagged_as_reply(self):
        # QEMU answers a request flagged as a reply (the rst is silent):
        # the emitted case takes that answer in a SHOULD step, so that it
        # is never read as the next request's reply.
        with tempfile.TemporaryDirectory() as d:
            got = fuzzemit.emit("fuzz_shmem_sequence",
                                [os.path.join(TOP, "corpus", "fuzz_shmem_sequence")], d)
            texts = []
            for kind, cid in got:
                if kind == "case":
                    with open(os.path.join(d, cid + ".vhu")) as f:
                        texts.append(f.read().splitlines())
            flagged = [(t, i) for t in texts for i, ln in enumerate(t)
                       if ln.startswith("send ") and "hdr_flags=0xd" in ln]
            self.assertTrue(flagged)
            for t, i in flagged:
                self.assertEqual(t[i + 1], "expect no-reply within=100 grade=should")

    def test_case_without_the_closing_reset(self):
        # Once the target's reset is a known crash (--avoid reset:), the
        # slice's case ends without it: the crash would hide the rest.
        with tempfile.TemporaryDirectory() as d:
            rc, viol, _ = drive(os.path.join(d, "s"), faults=["fe_no_overlap_check"],
                                max_ops=200000)
            self.assertEqual(rc, 1)
            texts = []
            for final in (True, False):
                area = os.path.join(d, f"c{final}", "Z-fuzz")
                (kind, cid), = fuzzemit.emit("fuzz_shmem_sequence", [viol["slice"]], area,
                                             final_reset=final)
                with open(os.path.join(area, cid + ".vhu")) as f:
                    texts.append(f.read())
            self.assertEqual(texts[0].splitlines().count("control reset")
                             - texts[1].splitlines().count("control reset"), 1)
            self.assertIn("# no final reset", texts[1])
            self.assertTrue(texts[1].rstrip().endswith("check alive"))

    def test_usage(self):
        p = subprocess.run([DRIVER, "--out", "/tmp"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--target-cmd", p.stderr)
        p = subprocess.run([DRIVER, "--target-cmd", "/nonexistent {socket} {control}", "--out",
                            "/tmp", "--seconds", "5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)


@unittest.skipUnless(HAVE, "no build with vhu-fuzzlive and the reference front-end")
class TestCampaign(unittest.TestCase):
    def test_restarts_after_a_crash_and_keeps_the_reproducer(self):
        with tempfile.TemporaryDirectory(prefix="vhucheck-fuzzlive-") as d:
            out = os.path.join(d, "out")
            env = env_for(VHUCHECK_BUILD_DIR=BUILD)
            rc, so, se = run_cli("fuzz", "--against", "ref-frontend", "--live", "--fault",
                                 "fe_unknown_shmid_null", "--seconds", "6", "--seed", "3",
                                 "--reduce-seconds", "0", "--out", out, env=env, timeout=300)
            self.assertEqual(rc, 1, se)
            with open(os.path.join(out, "report.json")) as f:
                doc = json.load(f)
            sigs = [f["signature"] for f in doc["findings"]]
            self.assertTrue(any(s.startswith("CRASH SIGSEGV") for s in sigs), sigs)
            self.assertGreaterEqual(doc["live"]["restarts"], 1)
            with open(os.path.join(out, "stream.jsonl")) as f:
                ends = [json.loads(ln) for ln in f if '"end"' in ln]
            self.assertGreaterEqual(len(ends), 2)          # it went on after the crash
            crash = next(f for f in doc["findings"] if f["signature"].startswith("CRASH"))
            self.assertEqual(crash["live"]["class"], "CRASH")
            self.assertEqual(len([n for n in os.listdir(crash["dir"]) if n.endswith(".vhu")]), 1)
            env["VHUCHECK_SUITES"] = os.path.dirname(crash["dir"])
            rc, so, se = run_cli("run", "--target", "ref-frontend", "--fault",
                                 "fe_unknown_shmid_null", "--cases", crash["case"], "--out",
                                 os.path.join(d, "again"), env=env, timeout=120)
            self.assertEqual(rc, 1, so + se)
            with open(os.path.join(d, "again", "results.json")) as f:
                self.assertEqual([c["verdict"] for c in json.load(f)["cases"]], ["CRASH"])

    def test_bad_arguments(self):
        env = env_for(VHUCHECK_BUILD_DIR=BUILD)
        for args, msg in ((["fuzz", "shmem_map", "--against", "ref-backend", "--live"],
                           "fuzz_backend_replies"),
                          (["fuzz", "shmem_map", "--against", "ref-frontend", "--live"],
                           "fuzz_shmem_sequence"),
                          (["fuzz", "sequence", "--live"], "--against")):
            with self.subTest(args):
                rc, so, se = run_cli(*args, env=env, timeout=60)
                self.assertEqual(rc, 2, se)
                self.assertIn(msg, se)


class TestBenchLive(unittest.TestCase):
    """bench live's arithmetic and table from made-up measurements."""

    def test_ops_per_case_counts_sends_controls_handshakes(self):
        with tempfile.TemporaryDirectory() as d:
            area = os.path.join(d, "batches", "cases", "Z-fuzz")
            os.makedirs(area)
            with open(os.path.join(area, "a.vhu"), "w") as f:
                f.write("id a\nhandshake regions=1m\nfd f1 memfd\nsend map fd=f1\n"
                        "expect reply value=0\ncontrol reset\ncheck alive\n")
            with open(os.path.join(area, "b.vhu"), "w") as f:
                f.write("id b\nhandshake\nsend unmap\n")
            self.assertEqual(bench_live.ops_per_case(d), 2.5)     # (3 + 2) / 2

    def test_table(self):
        row = {"target": "ref-frontend", "ceiling": {"ops_per_sec": 12000.0},
               "live": {"ops_per_sec": 4000.0, "in_stream": 4100.0},
               "cases": {"ops_per_sec": 40.0, "cases_per_sec": 10.0, "ops_per_case": 4.0},
               "vs_cases": 100.0, "vs_ceiling": 0.33}
        md = bench_live.markdown([row], [], None, {"started": "t", "wall_s": 1, "seconds": 20,
                                                   "runs": 5, "budget": 60})
        self.assertIn("| ref-frontend | 12000.0 | 4000.0 (4100.0) | 40.0 (10.0 x 4.0) | "
                      "100.0x | 0.33 |", md)


class TestProfileRegions(unittest.TestCase):
    """A profile's `regions`: the sizes fuzz --against offers it."""

    def test_shipped_and_checked(self):
        from vhucheck import profile as P
        from vhucheck.errors import ConfigError
        self.assertEqual(P.resolve("qemu-shmem").regions, "1m,1m,0,2m")
        self.assertIsNone(P.resolve("ref-frontend").regions)
        base = {"name": "x", "role": "frontend", "command": "x {socket}"}
        self.assertEqual(P.from_dict("x.toml", dict(base, regions="64k,0x2000")).regions,
                         "64k,0x2000")
        with self.assertRaisesRegex(ConfigError, "x.toml: 'regions'"):
            P.from_dict("x.toml", dict(base, regions="1 MiB"))


class TestFailUnderCloseCrash(unittest.TestCase):
    """A MUST failure the SHMEM QEMU's abort at the close outranks is
    kept under its own FAIL signature (made-up result, no target)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.suite = os.path.join(self.tmp.name, "cases")
        area = os.path.join(self.suite, "Z-fuzz")
        os.makedirs(area)
        for ext, text in (("vhu", "id c1\n"), ("input", ""),
                          ("steps", "12\tmap\tMUST\t6: the model accepts it: reply 0\n")):
            with open(os.path.join(area, "c1." + ext), "w") as f:
                f.write(text)
        self.camp = fuzzreal.Campaign("fuzz_shmem_sequence", "qemu-shmem", self.tmp.name)
        self.case = {"id": "c1", "verdict": "CRASH", "duration_ms": 5,
                     "reason": "the target was killed by SIGABRT after line 20 when the "
                               "harness closed its channels",
                     "failures": [{"line": 12, "grade": "MUST", "expected": "reply value 0"}],
                     "crash": {"text": "CRASH SIGABRT: Assertion", "id": "x"}}

    def tearDown(self):
        self.tmp.cleanup()

    def test_kept_as_fail(self):
        sig = fuzzlive.fail_under_close_crash(self.camp, dict(self.case), self.suite)
        self.assertEqual(sig, "FAIL: 6: the model accepts it: reply 0 (map)")
        self.assertEqual(self.camp.findings[sig]["under"], "CRASH SIGABRT: Assertion")
        self.assertTrue(os.path.exists(os.path.join(self.camp.findings[sig]["dir"], "c1.vhu")))

    def test_not_for_a_crash_mid_case_nor_a_should_failure(self):
        mid = dict(self.case, reason="the target was killed by SIGSEGV at line 12")
        self.assertIsNone(fuzzlive.fail_under_close_crash(self.camp, mid, self.suite))
        should = dict(self.case, failures=[{"line": 12, "grade": "SHOULD"}])
        self.assertIsNone(fuzzlive.fail_under_close_crash(self.camp, should, self.suite))
        self.assertEqual(self.camp.findings, {})
