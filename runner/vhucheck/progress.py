"""What the user sees while cases run.

On a terminal: one line, rewritten in place, with the counts and the
slowest case so far. Elsewhere (CI logs): nothing until the summary,
unless --verbose asks for one line per case.
"""

import shutil
import sys
import time

from vhucheck import verdicts as V

COLOURS = {"PASS": "32", "INFO": "36", "NON-STRICT": "33", "UNSUPPORTED": "90",
           "FAIL": "31;1", "CRASH": "35;1", "TIMEOUT": "31", "DEADLOCK": "31",
           "ERROR": "41;97", "FLAKY": "45;97"}


class Progress:
    def __init__(self, stream=None, tty=None, verbose=False):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.verbose = verbose
        self.shown = False
        self.last_draw = 0.0

    def begin(self, target, total):
        self.target, self.total = target, total
        self.done = 0
        self.buckets = dict.fromkeys(V.BUCKETS, 0)
        self.slowest = None
        self.t0 = time.monotonic()
        self.draw(force=True)

    def case_done(self, target, line):
        self.done += 1
        verdict = line.get("verdict")
        self.buckets[V.BUCKET.get(verdict, "errors")] += 1
        ms = line.get("duration_ms")
        if isinstance(ms, (int, float)) and (self.slowest is None or ms > self.slowest[1]):
            self.slowest = (line.get("id", "?"), ms)
        if self.verbose:
            self.clear()
            self.stream.write(self.case_line(line) + "\n")
        self.draw(force=self.verbose or self.done == self.total)

    def case_line(self, line):
        verdict = str(line.get("verdict"))
        ms = line.get("duration_ms")
        dur = f"{ms:8.1f} ms" if isinstance(ms, (int, float)) else " " * 11
        word = f"{verdict:<11}"
        if self.tty:
            word = f"\x1b[{COLOURS.get(verdict, '0')}m{word}\x1b[0m"
        reason = str(line.get("reason") or "").strip().split("\n", 1)[0][:160]
        tail = f"  {reason}" if reason and not V.is_passing(verdict) else ""
        return f"{word} {dur}  {self.target}: {line.get('id')}{tail}"

    def tick(self):
        self.draw()

    def draw(self, force=False):
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        b = self.buckets
        text = (f"{self.target} [{self.done}/{self.total}] {b['passed']} passed, "
                f"{b['failed']} failed, {b['skipped']} skipped")
        if b["errors"]:
            text += f", {b['errors']} errors"
        if self.slowest:
            text += f" | slowest {self.slowest[0]} {self.slowest[1]:.0f} ms"
        text += f" | {now - self.t0:.1f}s"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + text[:width] + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self):
        if self.tty and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def end(self, target):
        self.clear()
