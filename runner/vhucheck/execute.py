"""Running one target: its cases split into shares, one harness each, the
JSON lines merged into the result document. With -j N (N > 1) the shares
are small (at most CHUNK_CASES cases, fewer towards the end) and N of
them run at a time, the next starting as soon as one ends, the longest
cases first; a case that mostly waits (a window of silence, a DEADLOCK)
runs in a share of its own beside the N busy ones (schedule.py), so
its wait leaves no core idle; and each harness launches the next case's
target while the current case runs (--launch-ahead)."""

import dataclasses
import datetime
import math
import os
import select
import shlex
import shutil
import subprocess
import time

from vhucheck import (paths, profile as P, results, schedule, shared as SH, signature,
                      supervisor as S, verdicts as V)
from vhucheck.errors import HarnessError

VALIDATE_TIMEOUT_S = 60
CHUNK_CASES = schedule.CHUNK_CASES  # most cases per harness process side by side


@dataclasses.dataclass
class Plan:
    """Everything needed to run one target."""

    profile: P.Profile
    cases: list             # selected, catalogue order
    catalogue: list         # every case (for stale expectations)
    expect: object          # expectations.TargetExpectations
    harness: str
    build: str
    version: str
    shmem_bit: int          # for cases whose handshake names no bit
    multiplier: float       # profile x command line
    jobs: int
    include: tuple = ()
    exclude: tuple = ()
    faults: tuple = ()      # catalogue.Fault
    strict: bool = False
    per_case_bit: bool = False  # {shmem_bit} left for the harness to fill per case
    repeat: int = 1         # runs of the whole selection (run --repeat; repeat.py)
    backtrace: bool = False  # run --backtrace: the target preloads the crash unwinder
    schedule: str = "auto"  # run --schedule (schedule.py)
    history: dict = dataclasses.field(default_factory=dict)  # case id -> ms, an earlier run
    shared: bool = False    # run --shared-target (shared.py)


class Stop:
    """Set by the signal handlers; the loops poll it."""

    def __init__(self):
        self.signum = None

    def __call__(self, signum, frame):
        self.signum = self.signum or signum


def now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def check_harness(path):
    if not os.path.isfile(path):
        raise HarnessError(f"{paths.relpath(path)}: no harness binary ("
                           f"{paths.rebuild_hint()}, or set VHUCHECK_HARNESS)")
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{paths.relpath(path)}: the harness is not executable")


def command_line(plan):
    """The target command with the runner's placeholders filled and the
    faults appended. {shmem_bit} stays for the harness when the target
    takes any bit: it then gets each case's own (handshake shmem-bit=)."""
    bit = None if plan.per_case_bit else plan.shmem_bit
    cmd = P.expand(plan.profile.command, plan.build, bit)
    cmd += "".join(f" --fault={f.name}" for f in plan.faults)
    return backtrace_prefix(plan) + cmd


def backtrace_prefix(plan):
    """`env ...` before the command under --backtrace: env(1) execs the
    target in place, so the harness still launches, watches and stops the
    target itself (same pid, same /proc, same exit status), and the
    harness's own environment stays as it is (a sanitizer build of the
    harness must not load the unwinder)."""
    if not plan.backtrace:
        return ""
    env = harness_env(plan)
    preload = ":".join(p for p in (crashtrace_lib(plan.build), env.get("LD_PRELOAD")) if p)
    # A gcc ASan target checks that its runtime comes first; the unwinder
    # is only a handler that ASan's own (for SIGSEGV) replaces.
    asan = ":".join(o for o in ("verify_asan_link_order=0", env.get("ASAN_OPTIONS")) if o)
    words = [f"LD_PRELOAD={preload}", f"ASAN_OPTIONS={asan}", "RUST_BACKTRACE=1"]
    return "env " + " ".join(shlex.quote(w) for w in words) + " "


def crashtrace_lib(build):
    return os.path.join(build, "targets", "libvhu-crashtrace.so")


def target_argv(plan):
    """The harness options that say how to reach the target."""
    prof = plan.profile
    if prof.connect:
        return ["--connect" if prof.listen == "target" else "--listen", prof.connect]
    argv = ["--target-cmd", command_line(plan)]
    if "{socket}" in prof.command:
        argv += ["--listener", prof.listen]
    return argv


def harness_env(plan):
    env = dict(os.environ)
    env["VHUCHECK_BUILD_DIR"] = plan.build
    for key, value in plan.profile.env:
        env[key] = P.expand(value, plan.build, plan.shmem_bit, quote=False)
    return env


def _prepare_dir(out):
    os.makedirs(out, exist_ok=True)
    for sub in ("traces", "logs"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))


def slots(plan):
    """How many harness processes of this plan run at a time."""
    return plan.jobs if plan.profile.parallel() else 1


def launch_ahead(plan):
    """--schedule auto, on a target whose processes may run side by side:
    each harness launches the next case's target (a fresh one) as soon as
    the current case's is up, so that start-up overlaps the case."""
    return plan.schedule == "auto" and plan.profile.parallel() and bool(plan.profile.command)


def make_shares(plan, out):
    """The harness processes of a plan: one with -j 1 (or a target whose
    cases cannot run side by side); else, by default, the shares of
    schedule.parts (longest first, the waiting cases apart; with
    --schedule longest, not apart); with --schedule plain, chunks of
    about CHUNK_CASES cases of equal total timeout in catalogue order, at
    least one per slot."""
    timeouts = {c.id: c.timeout_ms / 1000.0 * plan.multiplier for c in plan.cases}
    jobs = slots(plan)
    if jobs == 1:
        parts = [(plan.cases, False)]
    elif plan.schedule == "plain":
        n = max(jobs, math.ceil(len(plan.cases) / CHUNK_CASES))
        parts = [(part, False) for part in S.split(plan.cases, n, timeouts)]
    else:
        est = schedule.estimates(plan.cases, plan.history, plan.multiplier)
        parts = schedule.parts(plan.cases, est, jobs, apart=plan.schedule == "auto")
    shares = []
    for k, (part, waits) in enumerate(parts):
        json_path = os.path.join(out, "logs", f"harness-{k}.jsonl")
        argv = [plan.harness, "--target-role", plan.profile.role, *target_argv(plan),
                "--shmem-bit", str(plan.shmem_bit),
                "--timeout-multiplier", f"{plan.multiplier:g}",
                "--trace-dir", os.path.join(out, "traces"),
                "--json", json_path, *(["--launch-ahead"] if launch_ahead(plan) else []),
                *[c.path for c in part]]
        shares.append(S.Share(index=k, cases=part, argv=argv, json_path=json_path,
                              stderr_path=os.path.join(out, "logs", f"harness-{k}.stderr"),
                              budget_s=S.budget(part, timeouts), timeouts=timeouts,
                              waits=waits))
    return shares


def validate(plan, out):
    """Parse every selected case with `harness --validate`. The harness
    refuses a whole run for one script error, so the cases it names become
    ERROR here and the others still run. {id: runner-made line}."""
    argv = [plan.harness, "--validate", *[c.path for c in plan.cases]]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=VALIDATE_TIMEOUT_S,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{paths.relpath(plan.harness)} --validate took more than "
                           f"{VALIDATE_TIMEOUT_S}s") from None
    except OSError as e:
        raise HarnessError(f"{paths.relpath(plan.harness)}: cannot run: {e.strerror}") from None
    text = p.stdout.decode("utf-8", "replace")
    if p.returncode == 0:
        return {}
    by_path = {c.path: c for c in plan.cases}
    errors = {}
    for line in text.splitlines():
        path = line.split(":", 1)[0]
        case = by_path.get(os.path.abspath(path))
        if case:
            errors.setdefault(case.id, []).append(
                os.path.basename(path) + ":" + line[len(path) + 1:].rstrip())
    if p.returncode != 2 or not errors:
        last = text.strip().splitlines()[-1] if text.strip() else f"exit status {p.returncode}"
        raise HarnessError(f"{paths.relpath(plan.harness)} --validate failed: {last}")
    with open(os.path.join(out, "logs", "validate.txt"), "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return {cid: {"id": cid, "verdict": V.ERROR, "_reported_by": "runner",
                  "reason": "script error: " + "; ".join(msgs)}
            for cid, msgs in errors.items()}


def supervise(shares, stop, progress, plan, label=None):
    """Run the shares, slots(plan) at a time, until all have ended or a
    signal came; an overrunning one is stopped. Whatever happens (a harness
    that cannot start, a full disk), every harness started is stopped and
    its sessions swept; a share never started keeps its cases pending."""
    def on_line(line):
        progress.case_done(label or plan.profile.name, line)

    env = harness_env(plan)
    try:
        _poll(shares, slots(plan), stop, progress, on_line,
              lambda s: s.start(env, paths.run_cwd()))
    finally:
        S.stop_all(shares)
        for s in shares:
            s.read(on_line)
            s.finish()
        S.sweep({s.proc.pid for s in shares if s.proc})


def _poll(shares, nslots, stop, progress, on_line, start):
    """Starts the shares in order, nslots busy ones at a time and, beside
    them, up to nslots more that mostly wait (Share.waits)."""
    waiting = list(shares)
    while True:
        for s in shares:
            s.read(on_line)
        if stop.signum:
            return
        for waits in (True, False):
            queue = [s for s in waiting if s.waits == waits]
            while queue and sum(s.running() for s in shares if s.waits == waits) < nslots:
                s = queue.pop(0)
                waiting.remove(s)
                start(s)
        now = time.monotonic()
        for s in shares:
            why = s.running() and s.overdue(now)
            if why:
                s.killed_for = why
                S.stop_all([s])
        if not waiting and not any(s.running() for s in shares):
            return
        progress.tick()
        _wait_exit([s for s in shares if s.running()], S.POLL_S)


def _wait_exit(running, timeout):
    """Sleeps up to timeout, less when a harness ends first (its slot is
    then given to the next share at once)."""
    fds = []
    try:
        for s in running:
            try:
                fds.append(os.pidfd_open(s.proc.pid))
            except (OSError, AttributeError):
                pass            # already reaped, or no pidfd here: the timeout
        select.select(fds, [], [], timeout)
    finally:
        for fd in fds:
            os.close(fd)


def collect(shares, interrupted):
    """The lines of every share, the runner's ERRORs for what a harness did
    not report, and the ids not run because of an interruption. A harness
    stopped mid-case reports that case as ERROR "interrupted": when the
    user interrupted, it was not run; when the runner stopped an overdue
    harness, the reason says why."""
    lines, not_run = {}, []
    for s in shares:
        for cid, line in s.lines.items():
            stopped = line.get("verdict") == V.ERROR and line.get("reason") == "interrupted"
            if stopped and interrupted:
                not_run.append(cid)
                continue
            if stopped and s.killed_for:
                line = dict(line, reason=f"{s.killed_for}; it was stopped during this case")
            lines[cid] = line
        if interrupted:
            not_run += [c.id for c in s.pending()]
        else:
            lines.update(S.error_lines(s))
    return lines, not_run


def run_target(plan, out, stop, progress, base=None, label=None):
    """Run every case of plan on its target; the result document. Traces
    and logs go under out; paths in the document are relative to base (the
    report dir; default out). label names the run on the progress line."""
    _prepare_dir(out)
    base = base or out
    label = label or plan.profile.name
    started, t0 = now_iso(), time.monotonic()
    broken = validate(plan, out)
    runnable = dataclasses.replace(plan, cases=[c for c in plan.cases if c.id not in broken])
    on_shared, fresh = SH.split(runnable.cases) if plan.shared else ([], runnable.cases)
    runnable = dataclasses.replace(runnable, cases=fresh)
    shares = make_shares(runnable, out) if runnable.cases else []
    progress.begin(label, len(plan.cases))
    for line in broken.values():
        progress.case_done(label, line)
    supervise(shares, stop, progress, plan, label)
    shared_lines, shared_not_run, targets = {}, [], 0
    if on_shared:
        timeouts = {c.id: c.timeout_ms / 1000.0 * plan.multiplier for c in on_shared}
        shared_lines, shared_not_run, targets = SH.run(
            plan, on_shared, out, harness_env(plan), command_line(plan), stop,
            lambda line: progress.case_done(label, line), timeouts)
    interrupted = stop.signum is not None
    lines, not_run = collect(shares, interrupted)
    lines.update(shared_lines)
    not_run += shared_not_run
    lines.update(broken)
    order = {c.id: k for k, c in enumerate(plan.cases)}
    not_run.sort(key=order.get)
    sym = signature.Symbolizer()
    cases = [results.case_record(c, lines[c.id], base, plan.expect, sym)
             for c in plan.cases if c.id in lines]
    progress.end(label)
    return results.document(
        version=plan.version, target=target_info(plan), settings=settings(plan),
        cases=cases, not_run=not_run,
        harness={"path": plan.harness,
                 "shares": [S.share_info(s, interrupted) for s in shares],
                 **({"shared_targets": targets, "shared_cases": len(on_shared)}
                    if plan.shared else {})},
        faults=results.fault_coverage(plan.faults, cases),
        stale=[e.pattern for e in plan.expect.stale(plan.catalogue)],
        strict=plan.strict, started=started, finished=now_iso(),
        duration_ms=(time.monotonic() - t0) * 1000.0,
        interrupted=interrupted, signal=stop.signum)


def target_info(plan):
    p = plan.profile
    return {"name": p.name, "description": p.description, "role": p.role,
            "harness_role": p.harness_role, "profile": paths.relpath(p.path),
            "command": command_line(plan) if p.command else None,
            "connect": p.connect, "listen": p.listen, "isolation": p.isolation,
            "faults": [f.name for f in plan.faults]}


def settings(plan):
    return {"shmem_bit": plan.shmem_bit, "shmem_bit_per_case": plan.per_case_bit,
            "timeout_multiplier": plan.multiplier,
            "jobs": plan.jobs if plan.profile.parallel() else 1,
            "cases": list(plan.include), "exclude": list(plan.exclude),
            "expectations": paths.relpath(plan.expect.path) if plan.expect.path else None,
            "strict_expect": plan.strict, "harness": paths.relpath(plan.harness),
            "build_dir": paths.relpath(plan.build), "selected": len(plan.cases),
            "repeat": plan.repeat,
            "shared_target": plan.shared,
            "schedule": (plan.schedule if plan.jobs > 1 and plan.profile.parallel()
                         else None),
            "launch_ahead": launch_ahead(plan),
            "backtrace": ("in-process unwinder (targets/crashtrace), symbolised with addr2line"
                          if plan.backtrace else None)}


def not_passing(doc):
    return [c for c in doc["cases"] if not V.is_passing(c["verdict"])]
