"""The progress line: rewritten in place on a terminal, silent elsewhere."""

import io
import unittest

import helpers  # noqa: F401  (sys.path)

from vhucheck.progress import Progress


class TestProgress(unittest.TestCase):
    def feed(self, tty, verbose=False):
        out = io.StringIO()
        p = Progress(stream=out, tty=tty, verbose=verbose)
        p.begin("ref-frontend", 3)
        p.case_done("ref-frontend", {"id": "a", "verdict": "PASS", "duration_ms": 2.0})
        p.case_done("ref-frontend", {"id": "slow_one", "verdict": "FAIL", "duration_ms": 812.0,
                                     "reason": "reply value 0"})
        p.case_done("ref-frontend", {"id": "c", "verdict": "UNSUPPORTED", "duration_ms": 1.0})
        p.end("ref-frontend")
        return out.getvalue()

    def test_tty_line(self):
        text = self.feed(True)
        last = text.split("\r")[-2]
        self.assertIn("ref-frontend [3/3] 1 passed, 1 failed, 1 skipped", last)
        self.assertIn("slowest slow_one 812 ms", last)
        self.assertTrue(text.endswith("\r\x1b[K"))       # cleared at the end

    def test_quiet_when_not_a_tty(self):
        self.assertEqual(self.feed(False), "")

    def test_verbose_lines(self):
        lines = self.feed(False, verbose=True).splitlines()
        self.assertEqual(len(lines), 3)
        self.assertRegex(lines[1], r"^FAIL\s+812\.0 ms  ref-frontend: slow_one  reply value 0$")


if __name__ == "__main__":
    unittest.main()
