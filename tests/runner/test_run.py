"""End to end with the real harness and the reference targets: exit
statuses, supervision of a harness that dies, SIGINT leaving partial but
valid reports and no process behind, and the process sweep.

Skipped, with the reason, when no build holds the harness and both
reference targets (set VHUCHECK_BUILD_DIR, or build into build/)."""

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

from helpers import TOP, build_dir, env_for, run_cli, write

from vhucheck import supervisor

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"

HEAD = "id {id}\ntitle {title}\ntarget frontend\nrule 6: test input for the runner\nlevel MUST\n{extra}\n"
PASSING = "handshake\ncheck alive\n"
FAILING = ("handshake regions=0x100000\nfd a memfd size=0x10000\n"
           "send map shmid=0 shm_offset=0 len=0x1000 fd=a need_reply\n"
           "expect reply value=nonzero\n")          # a conforming front-end answers 0
SLEEPY = "handshake\nsleep 2500\ncheck alive\n"


def suite(directory, cases):
    """cases: {id: (body, extra header)} -> a suites dir (area T-runner)."""
    root = os.path.join(directory, "suites")
    for cid, (body, extra) in cases.items():
        write(root, f"T-runner/{cid}.vhu", HEAD.format(id=cid, title=f"runner test {cid}",
                                                       extra=extra) + body)
    return root


def tagged_processes(tag):
    """Pids of processes whose environment holds VHUCHECK_TEST_TAG=tag."""
    needle = f"VHUCHECK_TEST_TAG={tag}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            pass
    return found


def alive(pid):
    """Running (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:].split()[0] != b"Z"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            fields = data[data.rfind(b")") + 2:].split()
            if int(fields[1]) == pid:
                out.append(int(name))
    return out


@unittest.skipUnless(BUILD, SKIP)
class TestEndToEnd(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-e2e-")
        self.dir = self.tmp.name
        self.tag = uuid.uuid4().hex

    def tearDown(self):
        for pid in tagged_processes(self.tag):
            os.kill(pid, signal.SIGKILL)
        self.tmp.cleanup()

    def env(self, cases):
        return env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=suite(self.dir, cases),
                       VHUCHECK_TEST_TAG=self.tag, VHUCHECK_HARNESS=None)

    def results(self, out):
        with open(os.path.join(out, "results.json")) as f:
            return json.load(f)

    def assert_nothing_left(self):
        deadline = time.monotonic() + 3
        while tagged_processes(self.tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(tagged_processes(self.tag), [], "processes left running")

    def test_exit_0_all_pass(self):
        out = os.path.join(self.dir, "out")
        rc, so, se = run_cli("run", "--target", "ref-frontend", "--out", out,
                             env=self.env({"pass_a": (PASSING, ""), "pass_b": (PASSING, "")}))
        doc = self.results(out)
        self.assertEqual(rc, 0, so + se + json.dumps(doc["cases"], indent=1)[:3000])
        self.assertEqual(doc["summary"]["verdicts"]["PASS"], 2)
        self.assertRegex(so, r"ref-frontend: 2 passed, 0 failed, 0 skipped in [\d.]+s")
        self.assertIn("report: ", so)
        for c in doc["cases"]:
            self.assertEqual(c["reported_by"], "harness")
        self.assert_nothing_left()

    def test_exit_1_on_failure_and_0_when_expected(self):
        out = os.path.join(self.dir, "out")
        env = self.env({"pass_a": (PASSING, ""), "must_fail": (FAILING, "")})
        rc, so, se = run_cli("run", "--target", "ref-frontend", "--out", out, env=env)
        doc = self.results(out)
        self.assertEqual(rc, 1, so + se)
        bad = {c["id"]: c for c in doc["cases"]}["must_fail"]
        self.assertEqual(bad["verdict"], "FAIL")
        self.assertTrue(bad["failures"])
        self.assertTrue(bad["trace"]["text"])
        junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
        self.assertEqual(junit.get("failures"), "1")
        known = write(self.dir, "known.toml",
                      '[ref-frontend]\nmust_fail = { verdict = "FAIL", reason = "by design" }\n')
        rc, so, se = run_cli("run", "--target", "ref-frontend", "--out", out, "--clean",
                             "--expect", known, env=env)
        self.assertEqual(rc, 0, so + se)
        self.assertEqual(self.results(out)["summary"]["gate"]["expected"], 1)
        self.assert_nothing_left()

    def test_fault_is_caught(self):
        """A real catalogued fault in the real reference, with the real
        cases the catalogue names: they must catch it."""
        out = os.path.join(self.dir, "out")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_TEST_TAG=self.tag, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("run", "--fault", "fe_no_overlap_check", "--cases",
                             "shmem_map_overlap_*", "--out", out, env=env)
        self.assertEqual(rc, 1, so + se)
        doc = self.results(out)
        self.assertIn("--fault=fe_no_overlap_check", doc["target"]["command"])
        f = doc["faults"][0]
        self.assertEqual(f["name"], "fe_no_overlap_check")
        self.assertTrue(f["caught_by"])
        self.assertIn("fault fe_no_overlap_check: caught by", so)
        self.assertNotIn("ref-backend", so)
        self.assert_nothing_left()

    def test_shmem_bit_cases_run_at_their_own_bit(self):
        """The references take any SHMEM bit: the harness launches each
        case's target at the case's own handshake shmem-bit=, so the bit
        20 and 21 cases PASS. A profile pinned to one bit (a real target
        built for 22) gets UNSUPPORTED for the others."""
        out = os.path.join(self.dir, "out")
        env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_TEST_TAG=self.tag, VHUCHECK_HARNESS=None)
        rc, so, se = run_cli("run", "--cases", "negotiation_*_shmem_bit_2[012]", "--out", out,
                             env=env)
        self.assertEqual(rc, 0, so + se)
        got = {}
        for name in ("ref-frontend", "ref-backend"):
            doc = self.results(os.path.join(out, name))
            self.assertTrue(doc["settings"]["shmem_bit_per_case"])
            got.update({c["id"]: c["verdict"] for c in doc["cases"]})
        self.assertEqual(len(got), 6, got)
        self.assertEqual(set(got.values()), {"PASS"}, got)
        with open(os.path.join(TOP, "targets", "profiles", "ref-backend.toml")) as f:
            text = f.read().replace('name = "ref-backend"', 'name = "pinned"')
        pinned = write(self.dir, "pinned.toml", text + "shmem_bit = 22\n")
        rc, so, se = run_cli("run", "-t", pinned, "--cases", "negotiation_fe_shmem_bit_*",
                             "--out", out, "--clean", env=env)
        self.assertEqual(rc, 0, so + se)
        doc = self.results(out)
        self.assertIn("--shmem-bit=22", doc["target"]["command"])
        got = {c["id"]: c["verdict"] for c in doc["cases"]}
        self.assertEqual(got, {"negotiation_fe_shmem_bit_20": "UNSUPPORTED",
                               "negotiation_fe_shmem_bit_21": "UNSUPPORTED",
                               "negotiation_fe_shmem_bit_22": "PASS"})
        self.assert_nothing_left()

    def test_script_error_is_that_case_only(self):
        out = os.path.join(self.dir, "out")
        env = self.env({"pass_a": (PASSING, ""), "broken": ("handshake\nsendd map\n", "")})
        rc, so, se = run_cli("run", "--target", "ref-frontend", "--out", out, env=env)
        self.assertEqual(rc, 3, so + se)
        cases = {c["id"]: c for c in self.results(out)["cases"]}
        self.assertEqual(cases["pass_a"]["verdict"], "PASS")
        self.assertEqual(cases["broken"]["verdict"], "ERROR")
        self.assertRegex(cases["broken"]["reason"], r"^script error: broken\.vhu:\d+: ")
        self.assertEqual(cases["broken"]["reported_by"], "runner")

    def test_exit_3_when_the_harness_dies(self):
        out = os.path.join(self.dir, "out")
        env = self.env({f"sleepy_{k}": (SLEEPY, "timeout 20000") for k in range(3)})
        p = subprocess.Popen([sys.executable, "-m", "vhucheck", "run", "--target", "ref-frontend",
                              "-j", "1", "--out", out], cwd=TOP, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        harness = self.wait_for_harness(p)
        os.kill(harness, signal.SIGKILL)
        so, se = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 3, so.decode() + se.decode())
        doc = self.results(out)
        errs = [c for c in doc["cases"] if c["verdict"] == "ERROR"]
        self.assertEqual(len(errs), 3)
        self.assertIn("died of SIGKILL", errs[0]["reason"])
        self.assertTrue(errs[1]["reason"].startswith("not run: "))
        self.assertEqual({c["reported_by"] for c in errs}, {"runner"})
        self.assertTrue(doc["harness"]["shares"][0]["fault"])
        self.assert_nothing_left()

    def test_exit_3_when_the_harness_hangs(self):
        """A frozen harness (SIGSTOP) is a hung one: the stall deadline
        (longest pending case timeout + margin) ends it."""
        out = os.path.join(self.dir, "out")
        env = self.env({f"quick_{k}": ("handshake\nsleep 300\ncheck alive\n", "timeout 1000")
                        for k in range(3)})
        p = subprocess.Popen([sys.executable, "-m", "vhucheck", "run", "--target", "ref-frontend",
                              "-j", "1", "--out", out], cwd=TOP, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        harness = self.wait_for_harness(p, settle=0.0)
        os.kill(harness, signal.SIGSTOP)
        t0 = time.monotonic()
        so, se = p.communicate(timeout=60)
        waited = time.monotonic() - t0
        self.assertEqual(p.returncode, 3, so.decode() + se.decode())
        self.assertLess(waited, 1.0 + supervisor.STALL_MARGIN_S + 4.0)
        doc = self.results(out)
        errs = [c for c in doc["cases"] if c["verdict"] == "ERROR"]
        self.assertTrue(errs)
        self.assertIn("reported nothing for", errs[0]["reason"])
        self.assertIn("reported nothing for", doc["harness"]["shares"][0]["killed_for"])
        self.assert_nothing_left()

    def wait_for_harness(self, p, timeout=20, settle=0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = [k for k in children(p.pid) if b"--json" in cmdline(k)]   # not --validate
            if kids:
                time.sleep(settle)       # let it reach the first case's target
                return kids[0]
            time.sleep(0.05)
        p.kill()
        self.fail("no harness process appeared")

    def test_sigint_partial_reports_nothing_left(self):
        out = os.path.join(self.dir, "out")
        env = self.env({f"sleepy_{k}": (SLEEPY, "timeout 20000") for k in range(6)})
        p = subprocess.Popen([sys.executable, "-m", "vhucheck", "run", "-j", "2", "--out", out],
                             cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.wait_for_harness(p)
        time.sleep(3.0)            # some cases finish, others are running
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=30)
        self.assertLess(time.monotonic() - t0, 5.0, "slow to stop")
        self.assertEqual(p.returncode, 130, so.decode() + se.decode())
        self.assertIn("interrupted by SIGINT", se.decode())
        doc = self.results(out)
        self.assertTrue(doc["interrupted"])
        self.assertEqual(doc["summary"]["exit_code"], 130)
        self.assertTrue(doc["not_run"])
        self.assertEqual(len(doc["cases"]) + len(doc["not_run"]), 6)
        ET.parse(os.path.join(out, "junit.xml"))
        with open(os.path.join(out, "results.tap")) as f:
            tap = f.read()
        self.assertIn(f"1..{len(doc['cases'])}\n", tap)
        self.assertIn("Bail out!", tap)
        self.assertEqual([n for n in os.listdir(out) if n.endswith(".tmp")], [])
        self.assert_nothing_left()


class TestSweep(unittest.TestCase):
    """The clean-up kills what is left in a session, with real processes."""

    def test_sweep_kills_a_whole_session(self):
        p = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
        time.sleep(0.2)
        killed = supervisor.sweep({p.pid}, known={p.pid})
        p.wait(timeout=5)
        self.assertGreaterEqual(len(killed), 3)
        time.sleep(0.1)
        for pid in killed:
            self.assertFalse(alive(pid), pid)

    def test_a_share_that_cannot_start_stops_the_others(self):
        """supervise() raising half way (here: the second harness's log dir
        is gone) still stops and sweeps the harness already started."""
        from vhucheck import execute, expectations, profile
        from vhucheck.progress import Progress
        with tempfile.TemporaryDirectory() as d:
            prof = profile.from_dict(os.path.join(d, "t.toml"), {
                "name": "t", "role": "frontend", "command": "/bin/true {fd}"})
            plan = execute.Plan(profile=prof, cases=[], catalogue=[],
                                expect=expectations.empty().for_target("t"), harness="/bin/true",
                                build=d, version="0", shmem_bit=22, multiplier=1.0, jobs=2)
            shares = [supervisor.Share(index=k, cases=[], argv=["sleep", "60"],
                                       json_path=os.path.join(d, f"{k}.jsonl"),
                                       stderr_path=os.path.join(d, sub, f"{k}.stderr"),
                                       budget_s=60, timeouts={})
                      for k, sub in ((0, ""), (1, "missing-dir"))]
            with self.assertRaises(FileNotFoundError):
                execute.supervise(shares, execute.Stop(), Progress(stream=io.StringIO()),
                                  plan)
            self.assertIsNotNone(shares[0].proc)
            self.assertIsNotNone(shares[0].proc.returncode, "the first harness still runs")
            self.assertFalse(alive(shares[0].proc.pid))

    def _plan(self, d, jobs, isolation="process"):
        from vhucheck import execute, expectations, profile
        prof = profile.from_dict(os.path.join(d, "t.toml"), {
            "name": "t", "role": "frontend", "command": "/bin/true {fd}",
            "isolation": isolation})
        return execute.Plan(profile=prof, cases=[], catalogue=[],
                            expect=expectations.empty().for_target("t"), harness="/bin/true",
                            build=d, version="0", shmem_bit=22, multiplier=1.0, jobs=jobs)

    def _logging_shares(self, d, n):
        log = os.path.join(d, "order.log")
        return log, [supervisor.Share(
            index=k, cases=[], json_path=os.path.join(d, f"{k}.jsonl"),
            stderr_path=os.path.join(d, f"{k}.stderr"), budget_s=60, timeouts={},
            argv=["sh", "-c", f"echo start {k} >> {log}; sleep 0.05; echo end {k} >> {log}"])
            for k in range(n)]

    def test_shares_run_slots_at_a_time(self):
        """With one slot each share starts only after the one before ended;
        with more shares than slots every share still runs."""
        from vhucheck import execute
        from vhucheck.progress import Progress
        for jobs, isolation in ((1, "process"), (3, "serial")):
            with self.subTest(jobs=jobs, isolation=isolation), \
                    tempfile.TemporaryDirectory() as d:
                log, shares = self._logging_shares(d, 4)
                execute.supervise(shares, execute.Stop(), Progress(stream=io.StringIO()),
                                  self._plan(d, jobs, isolation))
                with open(log) as f:
                    lines = f.read().split()
                pairs = [" ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
                self.assertEqual(pairs, [f"{w} {k}" for k in range(4) for w in ("start", "end")])
        with tempfile.TemporaryDirectory() as d:
            log, shares = self._logging_shares(d, 5)
            execute.supervise(shares, execute.Stop(), Progress(stream=io.StringIO()),
                              self._plan(d, 2))
            with open(log) as f:
                words = f.read().split()
            self.assertEqual(sorted(words[1::2]), sorted([str(k) for k in range(5)] * 2))
            self.assertTrue(all(s.proc.returncode == 0 for s in shares))

    def test_make_shares_chunks_only_side_by_side(self):
        from vhucheck import execute

        class C:
            def __init__(self, i):
                self.id, self.timeout_ms, self.path = f"c{i}", 5000, f"/s/c{i}.vhu"
        with tempfile.TemporaryDirectory() as d:
            plan = self._plan(d, 2)
            plan.cases[:] = [C(i) for i in range(40)]
            plain = dataclasses.replace(plan, schedule="plain")
            self.assertEqual(len(execute.make_shares(plain, d)), 40 // execute.CHUNK_CASES)
            # auto: shares shrink towards the end (schedule.parts)
            sizes = [len(s.cases) for s in execute.make_shares(plan, d)]
            self.assertEqual(sum(sizes), 40)
            self.assertGreater(len(sizes), 40 // execute.CHUNK_CASES)
            plan1 = self._plan(d, 1)
            plan1.cases[:] = plan.cases
            self.assertEqual(len(execute.make_shares(plan1, d)), 1)
            serial = self._plan(d, 4, "serial")
            serial.cases[:] = plan.cases
            self.assertEqual(len(execute.make_shares(serial, d)), 1)

    def test_split_balances(self):
        class C:
            def __init__(self, i):
                self.id = f"c{i}"
        cases = [C(i) for i in range(7)]
        t = {c.id: (10.0 if c.id == "c0" else 1.0) for c in cases}
        shares = supervisor.split(cases, 3, t)
        self.assertEqual(len(shares), 3)
        self.assertEqual(sorted(c.id for s in shares for c in s), sorted(t))
        self.assertEqual([c.id for c in shares[0]], ["c0"])   # the long one alone
        self.assertEqual(len(supervisor.split(cases, 50, t)), 7)


if __name__ == "__main__":
    unittest.main()
