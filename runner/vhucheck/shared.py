"""run --shared-target: one target process serves many cases, one after
the other, instead of a fresh one per case (the default).

Only a target that listens on {socket} can serve several connections (a
back-end daemon); its command must not need {fd} or {control}, which are
one process's own channels. Only the cases that need no control channel
go to the shared target; the others still get a fresh target each.

The runner starts the target, then runs one harness per case with
`--connect SOCKET --target-pid PID`, and samples the target before and
after each case: alive or not, its open fds, its shared-memory mappings.
Each case's record says what state it left the target in ("shared_target":
the target's number and pid, the counts before/after, and `left`, e.g.
"the target died of SIGSEGV" or "2 more mappings"); a target that ended
is replaced by a new one for the next case. A verdict reached on a shared
target may depend on the cases before it: the reports mark it."""

import os
import shlex
import signal
import subprocess
import tempfile
import time

from vhucheck import paths, supervisor as S, verdicts as V
from vhucheck.errors import ConfigError

READY_TIMEOUT_S = 20.0      # for the target to create its socket
SETTLE_S = 0.5              # for the target to take a case's hang-up
SETTLE_STEP_S = 0.02
STOP_GRACE_S = 1.0


def refusal(profile):
    """Why the profile's target cannot be shared, or None."""
    cmd = profile.command or ""
    if not cmd:
        return "it is not started by the runner (connect): it is shared already"
    if "{socket}" not in cmd or profile.listen != "target":
        return "its target does not listen on {socket}, so it cannot take a new connection " \
               "for each case"
    for name in ("fd", "control"):
        if "{" + name + "}" in cmd:
            return f"its command takes {{{name}}}, a channel of one process and one case"
    return None


def check(profile):
    why = refusal(profile)
    if why:
        raise ConfigError(f"--shared-target: {profile.name}: {why}")


def split(cases):
    """(cases the shared target serves, cases that need a fresh target)."""
    shared = [c for c in cases if "control" not in c.requires]
    return shared, [c for c in cases if "control" in c.requires]


def sample(pid):
    """{"fds": N, "mappings": N} of a live process (mappings: its shared
    memfd mappings, where a back-end maps what SHMEM_MAP gives it), or
    None when it is gone."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
            maps = sum(1 for line in f if "/memfd:" in line)
    except OSError:
        return None
    return {"fds": fds, "mappings": maps}


class Target:
    """The shared target process: started from the profile's command with
    {socket} filled in, in a session of its own."""

    def __init__(self, argv, sock, stderr_path, env):
        self.sock = sock
        self.stderr_path = stderr_path
        with open(stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=env, cwd=paths.top(), start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def ready(self, deadline):
        """True once the socket exists; False when the target ended first
        or at the deadline."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.sock):
                return True
            time.sleep(0.005)
        return False

    def settled(self):
        """The target's state once it has taken the hang-up: two equal
        samples in a row, or the last one at SETTLE_S; None when it ended."""
        deadline = time.monotonic() + SETTLE_S
        last = sample(self.pid) if self.proc.poll() is None else None
        while last is not None and time.monotonic() < deadline:
            time.sleep(SETTLE_STEP_S)
            now = sample(self.pid) if self.proc.poll() is None else None
            if now == last:
                break
            last = now
        return last if self.proc.poll() is None else None

    def ended(self):
        """How the target ended: "the target died of SIG..." or "exited"."""
        rc = self.proc.wait()
        if rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            return f"the target died of {name}", {"exit": None, "signal": name}
        return f"the target exited with status {rc}", {"exit": rc, "signal": None}

    def stop(self):
        if self.proc.poll() is None:
            S.interrupt_groups([self.proc], STOP_GRACE_S)
        try:
            os.unlink(self.sock)
        except OSError:
            pass


def target_argv(plan, command, sock):
    """The command's words with {socket} and {shmem_bit} filled in."""
    words = shlex.split(command)
    return [w.replace("{socket}", sock).replace("{shmem_bit}", str(plan.shmem_bit))
            for w in words]


def left_state(before, after, how):
    """What a case changed in the target, in words ('' for nothing)."""
    if after is None:
        return how
    out = []
    for key, word in (("mappings", "mappings"), ("fds", "open fds")):
        d = after[key] - before[key]
        if d:
            out.append(f"{abs(d)} {'more' if d > 0 else 'fewer'} {word} "
                       f"({before[key]} -> {after[key]})")
    return "; ".join(out)


class Runner:
    """Runs the shared cases one after the other on as few targets as
    they leave alive."""

    def __init__(self, plan, out, env, command):
        self.plan, self.out, self.env, self.command = plan, out, env, command
        self.tmp = tempfile.mkdtemp(prefix="vhu-shared-")
        self.target, self.started = None, 0

    def _start(self):
        self.started += 1
        sock = os.path.join(self.tmp, f"t{self.started}.sock")
        stderr = os.path.join(self.out, "logs", f"shared-target-{self.started}.stderr")
        t = Target(target_argv(self.plan, self.command, sock), sock, stderr, self.env)
        if not t.ready(time.monotonic() + READY_TIMEOUT_S * self.plan.multiplier):
            why = (self.ended_words(t) if t.proc.poll() is not None
                   else f"no {{socket}} within {READY_TIMEOUT_S:g}s")
            t.stop()
            return None, why
        return t, None

    @staticmethod
    def ended_words(t):
        return t.ended()[0]

    def case_argv(self, case, json_path):
        p = self.plan
        return [p.harness, "--target-role", p.profile.role, "--connect", self.target.sock,
                "--target-pid", str(self.target.pid), "--shmem-bit", str(p.shmem_bit),
                "--timeout-multiplier", f"{p.multiplier:g}",
                "--trace-dir", os.path.join(self.out, "traces"), "--json", json_path, case.path]

    def run_case(self, case, timeouts, stop):
        """(the case's line, its shared_target record)."""
        if self.target is None:
            self.target, why = self._start()
            if self.target is None:
                return ({"id": case.id, "verdict": V.ERROR, "_reported_by": "runner",
                         "reason": f"the shared target did not start: {why}"}, None)
        t = self.target
        before = sample(t.pid) or {"fds": 0, "mappings": 0}
        json_path = os.path.join(self.out, "logs", f"shared-{case.id}.jsonl")
        share = S.Share(index=0, cases=[case], argv=self.case_argv(case, json_path),
                        json_path=json_path,
                        stderr_path=os.path.join(self.out, "logs", f"shared-{case.id}.stderr"),
                        budget_s=S.budget([case], timeouts), timeouts=timeouts)
        share.start(self.env, paths.top())
        while share.running() and not stop.signum:
            if share.overdue(time.monotonic()):
                share.killed_for = share.overdue(time.monotonic())
                break
            try:
                share.proc.wait(timeout=S.POLL_S)
            except subprocess.TimeoutExpired:
                pass
        S.stop_all([share])
        share.read(lambda line: None)
        share.finish()
        line = share.lines.get(case.id) or S.error_lines(share)[case.id]
        after = t.settled()
        how, ended = ("", {"exit": None, "signal": None})
        if after is None:
            how, ended = t.ended()
            t.stop()
            self.target = None
        rec = {"target": self.started, "pid": t.pid, "alive": after is not None, **ended,
               "before": before, "after": after,
               "left": left_state(before, after, how) or None}
        return line, rec

    def close(self):
        if self.target is not None:
            self.target.stop()
        try:
            os.rmdir(self.tmp)
        except OSError:
            pass


def run(plan, cases, out, env, command, stop, on_line, timeouts):
    """{case id: line} (each with its "_shared_target" record), the ids not
    run (interrupted), and how many target processes served them."""
    r = Runner(plan, out, env, command)
    lines, not_run = {}, []
    try:
        for case in cases:
            if stop.signum:
                not_run.append(case.id)
                continue
            line, rec = r.run_case(case, timeouts, stop)
            line = dict(line, _shared_target=rec)
            lines[case.id] = line
            on_line(line)
    finally:
        r.close()
    return lines, not_run, r.started
