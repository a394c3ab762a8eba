"""tests/lib's two scripts: gen_suite.py (a test file's Check registration)
and testlog.py (run-tests.sh's count from meson's testlog.json)."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

from helpers import TOP

LIB = os.path.join(TOP, "tests", "lib")


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(LIB, script), *args],
                          capture_output=True, text=True, timeout=60)


class TestGenSuite(unittest.TestCase):
    def generate(self, text):
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "test_x.c"), os.path.join(d, "out.c")
            with open(src, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))
            p = run("gen_suite.py", "x", src, out)
            body = open(out, encoding="utf-8").read() if p.returncode == 0 else ""
            return p, body

    def test_cases_loops_fixtures_timeouts_and_pre_main(self):
        p, body = self.generate("""\
            TEST_CASE("codec");
            START_TEST(a) {} END_TEST
            START_LOOP_TEST(b, 0, 9) {} END_TEST
            TEST_CASE("slow", 20);
            TEST_FIXTURE(setup, NULL);
            START_TEST(c) {} END_TEST
            TEST_CASE("codec");
            START_TEST(d) {} END_TEST
            TEST_PRE_MAIN(as_peer);
            """)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('#include "test_x.c"', body)
        self.assertIn('suite_create("x")', body)
        order = [line.strip() for line in body.splitlines()
                 if line.strip().startswith(("gen_tc = ", "tcase_"))]
        self.assertEqual(order, [
            'gen_tc = tcase_create("codec");',
            "tcase_add_test(gen_tc, a);",
            "tcase_add_loop_test(gen_tc, b, 0, 9);",
            "tcase_add_test(gen_tc, d);",
            'gen_tc = tcase_create("slow");',
            "tcase_set_timeout(gen_tc, 20);",
            "tcase_add_checked_fixture(gen_tc, setup, NULL);",
            "tcase_add_test(gen_tc, c);",
        ])
        self.assertIn("int gen_rc = as_peer(argc, argv);", body)

    def test_mistakes_name_file_and_line(self):
        for text, want in [
                ("START_TEST(a) {} END_TEST\n", ":1: START_TEST before any TEST_CASE"),
                ('TEST_CASE("c");\nSTART_TEST(a)\nSTART_TEST(a)\n', ":3: test a defined twice"),
                ("TEST_CASE(c);\n", ":1: cannot read this marker"),
                ('TEST_CASE("c");\n', "no START_TEST"),
        ]:
            with self.subTest(text=text):
                p, _ = self.generate(text)
                self.assertEqual(p.returncode, 1)
                self.assertIn(want, p.stderr)


def entry(name, result, stdout, returncode=0):
    return {"name": f"vhucheck:unit / {name}", "result": result, "stdout": stdout,
            "returncode": returncode}


class TestTestlog(unittest.TestCase):
    def count(self, entries, stages=None):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "testlog.json")
            with open(log, "w", encoding="utf-8") as f:
                for e in entries:
                    f.write(json.dumps(e) + "\n")
            args = ["count", log] + ([stages] if stages else [])
            return run("testlog.py", *args)

    def test_tap_checks_and_stage_lines_are_counted(self):
        p = self.count([
            entry("proto", "OK", "ok 1 - t.c:c:a: Passed\nok 2 - t.c:c:b: Passed\n1..2\n"),
            entry("chan", "FAIL", "ok 1 - t.c:c:a: Passed\nnot ok 2 - t.c:c:b: boom\n1..2\n", 1),
            entry("x", "OK", "ok 1 # SKIP no tool\n1..1\n"),
            entry("10-runner", "OK", "Ran 5 tests\nstage: 4 passed, 0 failed, 1 skipped\n"),
        ])
        self.assertEqual(p.returncode, 1)
        self.assertIn("not ok 2 - t.c:c:b: boom", p.stdout)
        self.assertIn("Ran 5 tests", p.stdout)
        self.assertEqual(p.stdout.strip().splitlines()[-1], "7 passed, 1 failed, 2 skipped")

    def test_a_crash_with_no_failed_check_is_a_failure(self):
        p = self.count([entry("engine", "TIMEOUT", "ok 1 - t.c:c:a: Passed\n", -15)])
        self.assertEqual(p.stdout.strip().splitlines()[-1], "1 passed, 1 failed, 0 skipped")
        self.assertIn("meson says TIMEOUT", p.stdout)

    def test_a_stage_that_did_not_run_is_a_failure(self):
        with tempfile.TemporaryDirectory() as stages:
            for name in ("05-a.sh", "10-b.sh"):
                open(os.path.join(stages, name), "w").close()
            p = self.count([entry("05-a", "OK", "stage: 1 passed, 0 failed, 0 skipped\n")],
                           stages)
        self.assertIn("stage 10-b did not run", p.stdout)
        self.assertEqual(p.stdout.strip().splitlines()[-1], "1 passed, 1 failed, 0 skipped")

    def test_no_log_is_one_failure(self):
        p = run("testlog.py", "count", "/nonexistent/testlog.json")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout.strip().splitlines()[-1], "0 passed, 1 failed, 0 skipped")

    def test_tap_stream_of_a_nested_run(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "testlog.json")
            with open(log, "w", encoding="utf-8") as f:
                f.write(json.dumps(entry("proto", "OK", "ok 1 - t.c:c:a: Passed\n1..1\n")) + "\n")
                f.write(json.dumps(entry("chan", "ERROR", "", 134)) + "\n")
            p = run("testlog.py", "tap", log)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout.splitlines(), [
            "ok 1 - proto: t.c:c:a: Passed",
            "not ok 2 - chan: ERROR (exit 134)",
            "1..2",
        ])


if __name__ == "__main__":
    unittest.main()
