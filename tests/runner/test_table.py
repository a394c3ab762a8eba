"""The README's real-target verdict table made from runs (report --table,
--check-table, vhucheck/table.py), and the strict gate stage 40 judges
the shipped expectations files with (run --strict-expect)."""

import json
import os
import re
import tempfile
import unittest

from helpers import TOP, build_dir, env_for, run_cli, write
import synth
from vhucheck import table, verdicts as V

STAGE40 = os.path.join(TOP, "tests", "stages", "40-real-targets.sh")
BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"

# synth.VERDICT_CYCLE over 14 cases: 6 PASS, then one each.
ROW = "| `ref-frontend` | 6 | 1 | 1 | 1 | 1 | 1 | 1 | 1 | 1 ERROR |"


def readme(rows):
    return "\n".join(["# x", "", "| target | a | b |", "| --- | --- | --- |",
                      "| timings of `ref-frontend` | 1 | 2 |", "", table.HEADER, table.RULE,
                      *rows, "", "text"]) + "\n"


class TableRows(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-table-")
        self.dir = self.tmp.name
        self.doc = synth.document(self.dir, case_list=synth.fake_cases(14))

    def tearDown(self):
        self.tmp.cleanup()

    def test_row_counts_every_column_and_names_the_rest(self):
        self.assertEqual(table.row(self.doc), ROW)

    def test_check_accepts_the_same_counts_with_prose_around(self):
        text = readme(["| Reference (`ref-frontend`) | 6 | 1 | 1 | 1 | 1 | 1 | 1 | 1 | notes |"])
        self.assertIsNone(table.check(text, self.doc, "R.md"))

    def test_check_names_the_stale_row_and_cell(self):
        text = readme(["| Reference (`ref-frontend`) | 0 | 1 | 1 | 1 | 4 | 1 | 1 | 1 | x |"])
        p = table.check(text, self.doc, "R.md")
        self.assertRegex(p, r"^R\.md: the row of `ref-frontend` is stale \(PASS 0 -> 6, "
                            r"FAIL 4 -> 1\); a run gives: ")
        self.assertNotIn("\n", p)

    def test_check_wants_a_row_in_a_verdict_table(self):
        # the other table's row naming the target does not count
        p = table.check(readme([]), self.doc, "R.md")
        self.assertRegex(p, r"^R\.md: no row of a verdict table .* names `ref-frontend`")

    def test_check_refuses_two_rows(self):
        r = "| `ref-frontend` | 6 | 1 | 1 | 1 | 1 | 1 | 1 | 1 | |"
        self.assertRegex(table.check(readme([r, r]), self.doc, "R.md"), "2 table rows")

    def test_a_short_row_is_stale(self):
        text = readme(["| `ref-frontend` | 6 | 1 | 1 | 1 | 1 | 1 | notes |"])
        self.assertRegex(table.check(text, self.doc, "R.md"), r"TIMEOUT notes -> 1")

    def test_cli_table_and_check_table(self):
        out = os.path.join(self.dir, "run")
        os.makedirs(out)
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(self.doc, f)
        rc, so, se = run_cli("report", out, "--table")
        self.assertEqual((rc, so.splitlines()), (0, [table.HEADER, table.RULE, ROW]), se)
        self.assertEqual(os.listdir(out), ["results.json"], "--table writes nothing")
        good = write(self.dir, "good.md", readme([ROW]))
        rc, so, se = run_cli("report", out, "--check-table", good)
        self.assertEqual(rc, 0, so + se)
        bad = write(self.dir, "bad.md", readme([ROW.replace("| 6 |", "| 5 |", 1)]))
        rc, so, se = run_cli("report", out, "--check-table", bad)
        self.assertEqual(rc, 1, so + se)
        self.assertRegex(se, r"^vhucheck: .*bad\.md: the row of `ref-frontend` is stale "
                             r"\(PASS 5 -> 6\)")
        self.assertEqual(len(se.splitlines()), 1, se)
        rc, so, se = run_cli("report", out, "--check-table", os.path.join(self.dir, "nope.md"))
        self.assertEqual((rc, len(se.splitlines())), (2, 1), se)
        rc, so, se = run_cli("report", out, "--table", "--baseline", bad)
        self.assertEqual(rc, 2, se)


class ReadmeRows(unittest.TestCase):
    """The rows stage 40 checks are there, one each, in the verdict table."""

    def test_readme_has_one_row_per_checked_target(self):
        with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
            text = f.read()
        with open(STAGE40, encoding="utf-8") as f:
            m = re.search(r"^README_ROWS = \(([^)]*)\)", f.read(), re.M)
        names = re.findall(r'"([^"]+)"', m.group(1))
        self.assertEqual(sorted(names), ["dpdk-testpmd", "qemu-debian", "virtiofsd-debian"])
        for name in names:
            self.assertEqual(len(table.find_rows(text, name)), 1, name)


class StrictGate(unittest.TestCase):
    """Stage 40 fails on a case its shipped expectations file lists as
    failing that passes: run --strict-expect exits 1 and results.json
    names it in summary.gate.unexpected_passes."""

    def test_stage_runs_strict_and_judges_unexpected_passes(self):
        with open(STAGE40, encoding="utf-8") as f:
            text = f.read()
        run = re.search(r'cmd = \[RUNNER, "run",[^\]]*\]', text)
        self.assertIn('"--strict-expect"', run.group(0))
        self.assertRegex(text, r'"unexpected_passes"')
        self.assertIn("not xpass and not stale", text)

    @unittest.skipUnless(BUILD, SKIP)
    def test_unexpected_pass_of_a_profiles_own_file_fails_strict(self):
        with tempfile.TemporaryDirectory(prefix="vhucheck-strict-") as d:
            suites = os.path.join(d, "suites")
            write(suites, "T-runner/pass_a.vhu",
                  "id pass_a\ntitle runner test pass_a\ntarget frontend\n"
                  "rule 6: test input for the runner\nlevel MUST\n\nhandshake\ncheck alive\n")
            write(d, "known.toml",
                  '[ref-frontend]\npass_a = { verdict = "FAIL", reason = "was failing" }\n')
            with open(os.path.join(TOP, "targets", "profiles", "ref-frontend.toml")) as f:
                prof = f.read()
            prof = write(d, "ref-frontend.toml", prof + 'expectations = "known.toml"\n')
            env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_SUITES=suites,
                          VHUCHECK_HARNESS=None)
            out = os.path.join(d, "out")
            rc, so, se = run_cli("run", "--target", prof, "--out", out, env=env)
            self.assertEqual(rc, 0, "without --strict-expect an unexpected pass passes: "
                             + so + se)
            rc, so, se = run_cli("run", "--target", prof, "--out", out, "--clean",
                                 "--strict-expect", env=env)
            self.assertEqual(rc, 1, so + se)
            with open(os.path.join(out, "results.json")) as f:
                gate = json.load(f)["summary"]["gate"]
            self.assertEqual(gate["unexpected_passes"], ["pass_a"])
            self.assertEqual(gate["regressions"], [])


if __name__ == "__main__":
    unittest.main()
