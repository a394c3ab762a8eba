"""Running harness processes: one per share of the cases, each in its own
session (so its whole process group can be killed), with deadlines, and a
clean-up that leaves nothing running.

The runner makes itself a child subreaper (Linux prctl), so a target that
outlives its harness is re-parented to the runner, where the final sweep
finds and kills it.
"""

import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import subprocess
import time

from vhucheck import verdicts as V

PR_SET_CHILD_SUBREAPER = 36
# Time the harness needs beyond its cases' own deadlines: launching and
# killing targets, writing traces.
SHARE_MARGIN_S = 5.0
PER_CASE_MARGIN_S = 1.0
# A harness that reports nothing for this long after the longest case
# deadline still to come is taken as hung.
STALL_MARGIN_S = 5.0
TERM_GRACE_S = 1.0
POLL_S = 0.05


def become_subreaper():
    """Adopt orphaned descendants; False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid):
    """(ppid, session) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    try:
        return int(fields[1]), int(fields[3])
    except (IndexError, ValueError):
        return None


def _pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def sweep(sessions, known=()):
    """Kill every process left in the given sessions and every child of the
    runner not in `known` (orphans it adopted), and reap them. Returns the
    pids killed."""
    me = os.getpid()
    killed = []
    for _ in range(50):
        found = []
        for pid in _pids():
            st = _stat(pid)
            if st and pid != me and (st[1] in sessions or (st[0] == me and pid not in known)):
                found.append((pid, st[0] == me))
        if not found:
            break
        for pid, child in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            killed.append(pid)
        for pid, child in found:
            if child:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
        time.sleep(0.01)
    return sorted(set(killed))


@dataclasses.dataclass
class Share:
    """One harness process and the cases it was given."""

    index: int
    cases: list
    argv: list
    json_path: str
    stderr_path: str
    budget_s: float
    timeouts: dict          # case id -> scaled timeout in s
    waits: bool = False     # its cases mostly wait: it runs beside the busy ones
    proc: subprocess.Popen = None
    started: float = 0.0
    last_progress: float = 0.0
    offset: int = 0
    partial: bytes = b""
    lines: dict = dataclasses.field(default_factory=dict)
    junk: list = dataclasses.field(default_factory=list)
    killed_for: str = ""
    exit: int = None
    signal: int = None

    def start(self, env, cwd):
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err, env=env, cwd=cwd,
                                         start_new_session=True, close_fds=True)
        self.started = self.last_progress = time.monotonic()

    def pending(self):
        return [c for c in self.cases if c.id not in self.lines]

    def read(self, on_line):
        """Take the complete JSON lines written since the last call."""
        try:
            with open(self.json_path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        if not data:
            return
        self.offset += len(data)
        chunks = (self.partial + data).split(b"\n")
        self.partial = chunks.pop()
        ids = {c.id for c in self.cases}
        for raw in chunks:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                self.junk.append(raw[:200].decode("utf-8", "replace"))
                continue
            cid = line.get("id") if isinstance(line, dict) else None
            if cid not in ids or cid in self.lines:
                self.junk.append(raw[:200].decode("utf-8", "replace"))
                continue
            self.lines[cid] = line
            self.last_progress = time.monotonic()
            on_line(line)

    def overdue(self, now):
        """Why this harness must be stopped now, or ''."""
        if now - self.started > self.budget_s:
            return (f"the harness exceeded its deadline of {self.budget_s:.0f}s "
                    "(the sum of its case timeouts plus a margin)")
        pend = self.pending()
        if pend:
            longest = max(self.timeouts[c.id] for c in pend)
            if now - self.last_progress > longest + STALL_MARGIN_S:
                return (f"the harness reported nothing for {now - self.last_progress:.0f}s, "
                        f"more than the longest pending case timeout ({longest:.1f}s) "
                        "plus a margin")
        return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, sig):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def finish(self):
        rc = self.proc.returncode if self.proc else None
        if rc is not None and rc < 0:
            self.signal, self.exit = -rc, None
        else:
            self.exit = rc


def stop_all(shares, grace=TERM_GRACE_S):
    """SIGTERM every process group, SIGKILL what is left after the grace."""
    live = [s for s in shares if s.running()]
    for s in live:
        s.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(s.running() for s in live) and time.monotonic() < deadline:
        time.sleep(0.02)
    for s in shares:
        if s.proc is not None:
            s.signal_group(signal.SIGKILL)
            try:
                s.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def split(cases, n, timeouts):
    """n shares of about equal total timeout (longest first, greedy)."""
    n = max(1, min(n, len(cases)))
    shares = [[] for _ in range(n)]
    load = [0.0] * n
    for c in sorted(cases, key=lambda c: (-timeouts[c.id], c.id)):
        i = load.index(min(load))
        shares[i].append(c)
        load[i] += timeouts[c.id]
    order = {c.id: k for k, c in enumerate(cases)}
    return [sorted(s, key=lambda c: order[c.id]) for s in shares if s]


def budget(cases, timeouts):
    return sum(timeouts[c.id] for c in cases) + SHARE_MARGIN_S + PER_CASE_MARGIN_S * len(cases)


def _signame(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def unreported_reason(share):
    """Why the cases of a share got no line: the harness's fate in words."""
    tail = ""
    try:
        with open(share.stderr_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        tail = lines[-1].strip() if lines else ""
    except OSError:
        pass
    if share.killed_for:
        why = share.killed_for
    elif share.signal is not None:
        why = f"the harness died of {_signame(share.signal)}"
    elif share.exit not in (0, None):
        why = f"the harness exited with status {share.exit}"
    else:
        why = "the harness exited without reporting this case"
    return f"{why}: {tail}" if tail else why


def error_lines(share):
    """Runner-made ERROR lines for the cases a finished share did not report.
    The first pending case is the one the harness was running."""
    reason = unreported_reason(share)
    out = {}
    for k, c in enumerate(share.pending()):
        text = reason if k == 0 else f"not run: {reason}"
        out[c.id] = {"id": c.id, "verdict": V.ERROR, "reason": text,
                     "_reported_by": "runner"}
    return out


def share_info(share, interrupted=False):
    fault = not interrupted and bool(share.killed_for or share.signal is not None
                                     or share.exit != 0 or share.pending())
    return {"index": share.index, "cases": len(share.cases), "waits": share.waits,
            "reported": len(share.lines), "exit": share.exit,
            "signal": _signame(share.signal) if share.signal else None,
            "killed_for": share.killed_for or None, "fault": fault,
            "junk_lines": share.junk[:5],
            "stderr": os.path.basename(share.stderr_path)}


def interrupt_groups(procs, grace_s):
    """SIGINT to each process group (a fuzz engine, a `vhucheck run` of
    a batch: each writes what it finished), then SIGKILL after grace_s."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
