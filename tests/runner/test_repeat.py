"""run --repeat N: a case whose verdict changes between runs is FLAKY in
every report format and fails the gate unless the expectations file
lists it; a stable case keeps its verdict and its first run's details.

The merge and the renderers are fed synthetic per-run documents (result
data is a legitimate input); the end-to-end tests run the real harness
against the real reference front-end behind a wrapper that makes one
chosen launch exit at once, so the flip is deterministic. Those skip,
with the reason, when no build holds the harness and the references."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import types
import unittest
import xml.etree.ElementTree as ET

import synth
from helpers import TOP, build_dir, env_for, run_cli, write
from test_reports import TagBalance

from vhucheck import expectations, repeat, results, verdicts as V
from vhucheck.render import target_files, write_target
from vhucheck.resultfile import check_doc, load_dir

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"

P, F, D, N, E = V.PASS, V.FAIL, V.DEADLOCK, V.NON_STRICT, V.ERROR


class Runs(unittest.TestCase):
    """Per-run synthetic documents of the same cases, merged as repeat does."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-repeat-")
        self.dir = self.tmp.name
        self.cases = synth.fake_cases(4)

    def tearDown(self):
        self.tmp.cleanup()

    def merged(self, per_run, expect_text=None, interrupted_last=False):
        """per_run: one verdict tuple per run (one verdict per case)."""
        ex = expectations.empty().for_target("ref-frontend")
        if expect_text is not None:
            ex = expectations.load(write(self.dir, "expect.toml", expect_text)) \
                .for_target("ref-frontend")
        docs = []
        for k, verdicts in enumerate(per_run, 1):
            base = repeat.run_dir(self.dir, k)
            os.makedirs(base, exist_ok=True)
            last = k == len(per_run)
            doc = synth.document(base, verdicts=verdicts, case_list=self.cases,
                                 interrupted=interrupted_last and last,
                                 expect_text=expect_text)
            doc["settings"]["repeat"] = len(per_run)
            docs.append(doc)
        plan = types.SimpleNamespace(cases=self.cases, expect=ex, faults=(), strict=False)
        return repeat.merge(plan, docs)

    def by_id(self, doc):
        return {c["id"]: c for c in doc["cases"]}


class TestMerge(Runs):
    def test_flipping_case_is_flaky_and_fails_the_gate(self):
        doc = self.merged([(P, P, F, P), (P, D, F, N), (P, P, F, P)])
        c = self.by_id(doc)
        ids = [x.id for x in self.cases]
        flaky = c[ids[1]]
        self.assertEqual(flaky["verdict"], V.FLAKY)
        self.assertEqual(flaky["verdicts"], [P, D, P])
        self.assertTrue(flaky["reason"].startswith(
            "flipped between PASS (2 runs) and DEADLOCK (1 run); run 2 (DEADLOCK)"),
            flaky["reason"])
        self.assertEqual([r["verdict"] for r in flaky["runs"]], [P, D, P])
        self.assertEqual(flaky["details_run"], 2)          # the DEADLOCK run's trace
        self.assertEqual(flaky["gate"], "regression")
        # a flip between two passing verdicts is FLAKY too
        self.assertEqual(c[ids[3]]["verdict"], V.FLAKY)
        self.assertIn("flipped between PASS (2 runs) and NON-STRICT (1 run)", c[ids[3]]["reason"])
        s = doc["summary"]
        self.assertEqual(s["flaky"], 2)
        self.assertEqual(s["verdicts"][V.FLAKY], 2)
        self.assertEqual(s["passed"] + s["failed"] + s["skipped"] + s["errors"] + s["flaky"],
                         s["total"])
        self.assertEqual(sorted(s["gate"]["regressions"]), sorted([ids[1], ids[2], ids[3]]))
        self.assertEqual(s["exit_code"], 1)
        self.assertEqual(repeat.flaky(doc), [ids[1], ids[3]])
        self.assertEqual(repeat.console_line([doc], 3), "repeat 3: 2 flaky")
        self.assertIn(", 2 flaky in ", results.one_line(doc))
        self.assertEqual([r["dir"] for r in doc["runs"]], ["", "runs/2", "runs/3"])

    def test_stable_cases_keep_their_verdict_and_first_run(self):
        doc = self.merged([(P, F, P, P), (P, F, P, P)])
        for c, case in zip(doc["cases"], self.cases):
            self.assertNotEqual(c["verdict"], V.FLAKY)
            self.assertNotIn("runs", c)
            self.assertEqual(len(set(c["verdicts"])), 1)
            self.assertEqual(c["trace"]["path"], f"traces/{case.id}.trace")   # run 1's
        self.assertEqual(doc["cases"][1]["verdict"], F)
        self.assertEqual(doc["summary"]["flaky"], 0)
        self.assertEqual(doc["summary"]["exit_code"], 1)      # the stable FAIL, not a flip
        self.assertEqual(repeat.console_line([doc], 2), "repeat 2: 0 flaky")
        self.assertIsNone(repeat.console_line([doc], 1))

    def test_flip_text(self):
        self.assertEqual(repeat.flip_text([P, P, D, P, D]),
                         "flipped between PASS (3 runs) and DEADLOCK (2 runs)")
        self.assertEqual(repeat.flip_text([F, P, V.CRASH, P]),
                         "flipped between PASS (2 runs), FAIL (1 run) and CRASH (1 run)")

    def test_expected_flaky_passes_the_gate(self):
        cid = self.cases[1].id
        doc = self.merged([(P, P, P, P), (P, D, P, P)],
                          f'[ref-frontend]\n{cid} = {{ verdict = ["FLAKY", "PASS", "DEADLOCK"], '
                          'reason = "races SET_MEM_TABLE" }\n')
        c = self.by_id(doc)[cid]
        self.assertEqual((c["verdict"], c["gate"]), (V.FLAKY, "expected"))
        self.assertEqual(doc["summary"]["exit_code"], 0)

    def test_listing_the_run_verdicts_without_flaky_is_not_enough(self):
        cid = self.cases[1].id
        doc = self.merged([(P, P, P, P), (P, D, P, P)],
                          f'[ref-frontend]\n{cid} = {{ verdict = ["PASS", "DEADLOCK"], '
                          'reason = "races" }\n')
        self.assertEqual(self.by_id(doc)[cid]["gate"], "regression")
        self.assertEqual(doc["summary"]["exit_code"], 1)

    def test_an_error_run_makes_it_a_harness_error(self):
        doc = self.merged([(P, P, P, P), (P, E, P, P)])
        self.assertEqual(self.by_id(doc)[self.cases[1].id]["verdict"], V.FLAKY)
        self.assertEqual(doc["summary"]["exit_code"], 3)

    def test_interrupted_repeat_keeps_what_finished(self):
        # synth's interrupted document finishes the first half of the cases
        doc = self.merged([(P, P, P, P), (P, D, F, F)], interrupted_last=True)
        self.assertTrue(doc["interrupted"])
        self.assertEqual(doc["summary"]["exit_code"], 130)
        self.assertEqual(doc["not_run"], [])                 # every case finished once
        c = self.by_id(doc)
        ids = [x.id for x in self.cases]
        self.assertEqual(c[ids[1]]["verdicts"], [P, D])
        self.assertEqual(c[ids[1]]["verdict"], V.FLAKY)
        self.assertEqual(c[ids[3]]["verdicts"], [P])
        self.assertEqual(c[ids[3]]["verdict"], P)
        self.assertEqual([r["interrupted"] for r in doc["runs"]], [False, True])
        files = dict(target_files(doc))
        self.assertIn("Bail out! interrupted in run 2 of 2", files["results.tap"])
        self.assertIn("interrupted in run 2 of 2", files["summary.md"])

    def test_harness_cannot_say_flaky(self):
        case = self.cases[0]
        rec = results.case_record(case, {"id": case.id, "verdict": "FLAKY"}, self.dir, None)
        self.assertEqual(rec["verdict"], V.ERROR)


class TestFormats(Runs):
    """FLAKY in every file of the report."""

    def setUp(self):
        super().setUp()
        self.doc = self.merged([(P, P, P, F), (P, D, P, F), (P, P, P, F)])
        self.cid = self.cases[1].id
        self.files = dict(target_files(self.doc))

    def test_results_json(self):
        got = json.loads(self.files["results.json"])
        check_doc("results.json", got)                  # the reader accepts it
        c = {x["id"]: x for x in got["cases"]}[self.cid]
        self.assertEqual(c["verdict"], "FLAKY")
        self.assertEqual(c["verdicts"], ["PASS", "DEADLOCK", "PASS"])
        self.assertEqual(got["summary"]["flaky"], 1)
        self.assertEqual(got["settings"]["repeat"], 3)
        self.assertEqual(len(got["runs"]), 3)

    def test_junit(self):
        root = ET.fromstring(self.files["junit.xml"])
        tc = [t for t in root.iter("testcase") if t.get("name") == self.cid][0]
        fail = tc.find("failure")
        self.assertIsNotNone(fail)
        self.assertEqual(fail.get("type"), "FLAKY")
        self.assertIn("flipped between PASS (2 runs) and DEADLOCK (1 run)", fail.get("message"))
        self.assertIn("runs: PASS, DEADLOCK, PASS", fail.text)
        self.assertEqual(root.get("failures"), "2")     # the FLAKY one and the stable FAIL

    def test_tap(self):
        tap = self.files["results.tap"]
        line = [ln for ln in tap.splitlines() if f"/{self.cid}:" in ln][0]
        self.assertTrue(line.startswith("not ok 2 - "), line)
        self.assertTrue(line.endswith("(FLAKY)"), line)
        self.assertIn('verdicts: ["PASS", "DEADLOCK", "PASS"]', tap)

    def test_summary_md(self):
        md = self.files["summary.md"]
        self.assertIn(", 1 flaky", md.splitlines()[0])
        self.assertIn(f"| `{self.cid}` | **FLAKY** |", md)
        self.assertIn("| FLAKY |", md)                   # the counts table
        self.assertIn("3 runs of each case", md)

    def test_html(self):
        page = self.files["index.html"]
        self.assertIn(f'data-verdict="FLAKY"', page)
        self.assertIn('data-fv="FLAKY"', page)             # its own filter pill
        self.assertIn("1 flaky", page)
        self.assertIn("<h4>runs</h4>", page)
        p = TagBalance()
        p.feed(page)
        self.assertEqual(p.errors, [])
        self.assertEqual(p.external, [])
        with open(os.path.join(TOP, "reports", "templates", "report.css")) as f:
            self.assertIn(".v-FLAKY", f.read())

    def test_matrix_and_rerender(self):
        out = os.path.join(self.dir, "out")
        write_target(out, self.doc)
        rc, so, se = run_cli("report", out)
        self.assertEqual(rc, 0, so + se)
        self.assertIn(", 1 flaky in ", so)
        self.assertEqual(load_dir(out)[0][1]["summary"]["flaky"], 1)
        from vhucheck.render import matrix_files
        files = dict(matrix_files([self.doc], ["a"], self.doc["started"], "0.1.0"))
        self.assertIn("FLAKY", files["matrix.html"])
        self.assertEqual(json.loads(files["matrix.json"])["targets"][0]["summary"]["flaky"], 1)

    def test_compare(self):
        stable = self.merged([(P, P, P, F)])
        old, new = os.path.join(self.dir, "old"), os.path.join(self.dir, "new")
        write_target(old, stable)
        write_target(new, self.doc)
        rc, so, se = run_cli("compare", old, new)
        self.assertEqual(rc, 1, so + se)                # PASS -> FLAKY is a regression
        self.assertRegex(so, rf"{self.cid}\s+PASS -> FLAKY")
        self.assertIn("flaky in NEW (1):", so)
        self.assertIn("(flipped between PASS (2 runs) and DEADLOCK (1 run))", so)
        rc, so, se = run_cli("compare", old, new, "--format", "json")
        got = json.loads(so)
        self.assertEqual(got["flaky"][0]["verdicts"], ["PASS", "DEADLOCK", "PASS"])
        rc, so, se = run_cli("compare", new, old)
        self.assertEqual(rc, 0, so + se)                # FLAKY -> PASS is a fix
        self.assertRegex(so, rf"fixes \(1\):\n.*{self.cid}\s+FLAKY -> PASS")

    def test_baseline_accepts_the_flaky_case(self):
        out = os.path.join(self.dir, "out")
        write_target(out, self.doc)
        base = os.path.join(self.dir, "known.toml")
        rc, so, se = run_cli("report", out, "--baseline", base)
        self.assertEqual(rc, 0, so + se)
        with open(base) as f:
            self.assertIn(f'{self.cid} = {{ verdict = ["FLAKY", "DEADLOCK", "PASS"]', f.read())
        rc, so, se = run_cli("report", out, "--expect", base)
        self.assertEqual(rc, 0, so + se)


class TestUsage(unittest.TestCase):
    def test_bad_repeat_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            for value, msg in (("0", "must be at least 1, not 0"), ("-2", "must be at least 1"),
                               ("x", "'x' is not a whole number"),
                               ("1001", "more than 1000 runs")):
                rc, so, se = run_cli("run", "--repeat", value, "--out", out)
                self.assertEqual(rc, 2, (value, so, se))
                self.assertRegex(se.strip().splitlines()[-1],
                                 rf"^vhucheck run: error: argument --repeat: .*{msg}")
                self.assertFalse(os.path.exists(out))

    def test_dry_run_says_the_runs(self):
        rc, so, se = run_cli("run", "-t", "ref-frontend", "--repeat", "4", "--dry-run",
                             env=env_for(VHUCHECK_BUILD_DIR=BUILD or "/nonexistent"))
        self.assertEqual(rc, 0, so + se)
        self.assertIn("4 runs in a row", so)


FLIP = """\
#!/bin/sh
# Counts launches (from 0) in {count}; launch $FLIP_AT exits at once.
n=$(cat '{count}' 2>/dev/null || echo 0)
echo $((n + 1)) > '{count}'
[ "$n" = "${{FLIP_AT:--1}}" ] && exit 0
exec "$@"
"""
HEAD = "id {id}\ntitle runner repeat test {id}\ntarget frontend\nrule 6: test input\nlevel MUST\n{extra}\n"


@unittest.skipUnless(BUILD, SKIP)
class TestEndToEnd(unittest.TestCase):
    """The real harness and reference front-end, wrapped so that one
    chosen launch (a case of one run) exits before connecting."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-repeat-e2e-")
        self.dir = self.tmp.name
        self.count = os.path.join(self.dir, "count")
        wrapper = write(self.dir, "flip.sh", FLIP.format(count=self.count))
        os.chmod(wrapper, 0o755)
        from vhucheck import profile
        cmd = profile.resolve("ref-frontend").command
        self.profile = write(self.dir, "flip.toml",
                             'name = "flip"\nrole = "frontend"\n'
                             f"command = {json.dumps(wrapper + ' ' + cmd)}\n")

    def tearDown(self):
        self.tmp.cleanup()

    def env(self, flip_at, cases):
        root = os.path.join(self.dir, "suites")
        for cid, (body, extra) in cases.items():
            write(root, f"T-runner/{cid}.vhu", HEAD.format(id=cid, extra=extra) + body)
        return env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=root, VHUCHECK_HARNESS=None,
                       FLIP_AT=str(flip_at))

    def run_flip(self, flip_at, *extra):
        """Two cases, -j 1, 3 runs: launches 0..5 are a1 b1 a2 b2 a3 b3."""
        try:
            os.unlink(self.count)
        except FileNotFoundError:
            pass
        out = os.path.join(self.dir, "out")
        env = self.env(flip_at, {"a_steady": ("handshake\ncheck alive\n", ""),
                                 "b_flips": ("handshake\ncheck alive\n", "")})
        rc, so, se = run_cli("run", "-t", self.profile, "--repeat", "3", "-j", "1",
                             "--out", out, "--clean", *extra, env=env)
        with open(os.path.join(out, "results.json")) as f:
            return rc, so + se, out, json.load(f)

    def test_a_flip_is_flaky_everywhere_and_fails(self):
        rc, text, out, doc = self.run_flip(3)          # b_flips in run 2
        self.assertEqual(rc, 1, text)
        c = {x["id"]: x for x in doc["cases"]}
        self.assertEqual(c["a_steady"]["verdict"], "PASS", text)
        self.assertEqual(c["a_steady"]["verdicts"], ["PASS"] * 3)
        b = c["b_flips"]
        self.assertEqual(b["verdict"], "FLAKY", text)
        self.assertEqual(b["verdicts"][0::2], ["PASS", "PASS"])
        self.assertNotEqual(b["verdicts"][1], "PASS")
        self.assertTrue(b["reason"].startswith(
            f"flipped between PASS (2 runs) and {b['verdicts'][1]} (1 run); run 2"), b["reason"])
        self.assertTrue(b["trace"]["path"].startswith("runs/2/traces/"), b["trace"])
        self.assertTrue(os.path.isfile(os.path.join(out, b["trace"]["path"])))
        self.assertEqual(doc["summary"]["flaky"], 1)
        self.assertIn("repeat 3: 1 flaky", text)
        self.assertRegex(text, r"flip: 1 passed, 0 failed, 0 skipped, 1 flaky in ")
        junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
        self.assertEqual([f.get("type") for f in junit.iter("failure")], ["FLAKY"])
        with open(os.path.join(out, "results.tap")) as f:
            self.assertIn("not ok 2 - T-runner/b_flips: runner repeat test b_flips (FLAKY)",
                          f.read())
        with open(os.path.join(out, "summary.md")) as f:
            self.assertIn("| `b_flips` | **FLAKY** |", f.read())

    def test_expected_flaky_passes_and_no_flip_is_stable(self):
        known = write(self.dir, "known.toml",
                      '[flip]\nb_flips = { verdict = ["FLAKY", "PASS", "FAIL"], '
                      'reason = "one launch in three dies" }\n')
        rc, text, out, doc = self.run_flip(3, "--expect", known)
        self.assertEqual(rc, 0, text)
        self.assertEqual({x["id"]: x["gate"] for x in doc["cases"]}["b_flips"], "expected")
        self.assertIn("repeat 3: 1 flaky", text)
        rc, text, out, doc = self.run_flip(-1)          # no launch dies
        self.assertEqual(rc, 0, text)
        self.assertEqual([x["verdict"] for x in doc["cases"]], ["PASS", "PASS"])
        self.assertIn("repeat 3: 0 flaky", text)

    def test_sigint_mid_repeat_writes_reports(self):
        out = os.path.join(self.dir, "out")
        env = self.env(-1, {f"s_{k}": ("handshake\nsleep 600\ncheck alive\n", "timeout 20000")
                            for k in range(4)})
        p = subprocess.Popen([sys.executable, "-m", "vhucheck", "run", "-t", "ref-frontend",
                              "--repeat", "5", "-j", "2", "--out", out], cwd=TOP, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        second = os.path.join(out, "runs", "2", "logs")
        deadline = time.monotonic() + 60
        while not os.path.isdir(second) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.isdir(second), "run 2 never started")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        so, se = p.communicate(timeout=60)
        text = so.decode() + se.decode()
        self.assertEqual(p.returncode, 130, text)
        self.assertRegex(so.decode(), r"repeat 5: 0 flaky \(interrupted in run [23] of 5\)")
        with open(os.path.join(out, "results.json")) as f:
            doc = json.load(f)
        self.assertTrue(doc["interrupted"])
        self.assertEqual(len(doc["cases"]), 4)          # all finished in run 1
        self.assertTrue(all(c["verdicts"][0] == "PASS" for c in doc["cases"]))
        self.assertIn(len(doc["runs"]), (2, 3))
        ET.parse(os.path.join(out, "junit.xml"))
        with open(os.path.join(out, "results.tap")) as f:
            self.assertIn("Bail out! interrupted in run", f.read())


if __name__ == "__main__":
    unittest.main()
