"""vhucheck bench suite: how long the whole suite takes against both
reference targets, and where that time goes, measured in one run.

Figures (docs/bench.md explains each):

* the whole suite, both references, ``./vhucheck run -j N`` (N = the CPU
  count by default) and the same with ``-j 1``, each RUNS times,
  interleaved: median, min and max wall time, cases per second;
* the runner's fixed cost: ``./vhucheck run`` on one empty case per
  reference (start-up, validation, reports);
* the harness's floor per case: one harness process running EMPTY
  generated cases (``check alive``: launch, connect, stop) against each
  reference, with the runner's own command line;
* the raw cost of a reference target: spawn it, exchange the first
  vhost-user message, close, SIGTERM, reap; no harness, SPAWNS times;
* with --repeat N, determinism: one more ``./vhucheck run -j N --repeat
  N`` over both references, its wall time and its FLAKY cases.

Writes last-run.md and last-run.json (default: bench/suite/) and prints
the markdown.
"""

import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from vhucheck import (execute, expectations, options, outdir, paths, profile as P,
                      suite, verdicts as V)
from vhucheck.errors import EXIT_FAIL, EXIT_OK, HarnessError, VhuError
from vhucheck.render import atomic

HELP = "wall time of the whole suite against both references, and its breakdown"
DESCRIPTION = __doc__

REFS = ("ref-frontend", "ref-backend")
GOAL_S = 10.0
RUN_TIMEOUT_S = 600
BATCH_TIMEOUT_S = 300
READY_TIMEOUT_S = 2.0
STOP_GRACE_S = 1.0
KILL_WAIT_S = 2.0
HEADER = 12                      # a vhost-user message header
GET_FEATURES = bytes([1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
SLOWEST = 5


class SuiteFailed(VhuError):
    """A measured run did not pass: its numbers would mean nothing."""

    exit_code = EXIT_FAIL


def measured(measure, args, prefix, kept):
    """measure(args, work) in a fresh temp dir, removed afterwards; an
    error of the kept class leaves it (its message names a log there)."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        doc = measure(args, work)
    except kept:
        raise
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return doc


def machine(args):
    """What a benchmark's figures were measured on, for its report."""
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
            "kernel": f"Linux {platform.release()}", "python": platform.python_version(),
            "runs": args.runs, "build_dir": paths.relpath(paths.build_dir())}


def add_arguments(p):
    p.add_argument("--runs", type=options.positive_int, default=5, metavar="N",
                   help="repetitions of each suite run (default 5)")
    p.add_argument("-j", "--jobs", type=options.positive_int, metavar="N",
                   default=os.cpu_count() or 1,
                   help="-j of the parallel run (default: %(default)s, the CPU count)")
    p.add_argument("--empty-cases", type=options.positive_int, default=100, metavar="N",
                   help="empty cases per reference in the harness calibrator (default 100)")
    p.add_argument("--spawns", type=options.positive_int, default=200, metavar="N",
                   help="spawn+stop cycles per reference in the raw calibrator (default 200)")
    p.add_argument("--repeat", type=options.repeat, metavar="N",
                   help="also run the whole suite once with `run --repeat N` and count the "
                        "FLAKY cases (default: off)")
    p.add_argument("--out", metavar="DIR", type=options.nonempty,
                   help="where last-run.md and last-run.json go (default bench/suite)")


# ------------------------------------------------------------ statistics

def spread(values, scale=1.0, digits=3):
    """{"median", "min", "max"} of values (times scale), rounded."""
    return {k: round(f(values) * scale, digits)
            for k, f in (("median", statistics.median), ("min", min), ("max", max))}


# ------------------------------------------------------- whole-suite runs

def vhucheck_env(**extra):
    env = dict(os.environ, VHUCHECK_BUILD_DIR=paths.build_dir())
    env.update(extra)
    return env


def timed_run(argv, env, log, timeout):
    """(wall seconds, exit status) of one command, output to log."""
    with open(log, "wb") as f:
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, env=env, cwd=paths.top(), stdin=subprocess.DEVNULL,
                               stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{' '.join(argv[:2])}: still running after {timeout}s "
                               f"(log: {log})") from None
        return time.monotonic() - t0, p.returncode


def read_run(out):
    """Cases, harness-timed case durations and the slowest cases of a run dir."""
    cases, total_ms, rows = 0, 0.0, []
    for name in REFS:
        with open(os.path.join(out, name, "results.json"), encoding="utf-8") as f:
            doc = json.load(f)
        cases += doc["summary"]["total"]
        for c in doc["cases"]:
            ms = c.get("duration_ms") or 0.0
            total_ms += ms
            rows.append((ms, name, c["id"]))
    rows.sort(reverse=True)
    return cases, total_ms, rows[:SLOWEST]


def suite_run(work, jobs, k, suites=None, tag="suite"):
    """One `./vhucheck run -j jobs` over both references: a dict."""
    out = os.path.join(work, f"{tag}-j{jobs}-{k}")
    argv = [os.path.join(paths.top(), "vhucheck"), "run", "-j", str(jobs), "--out", out]
    env = vhucheck_env(**({"VHUCHECK_SUITES": suites} if suites else {}))
    wall, rc = timed_run(argv, env, out + ".log", RUN_TIMEOUT_S)
    if rc != 0:
        raise SuiteFailed(f"bench suite: `vhucheck run -j {jobs}` exited {rc}; nothing "
                          f"measured (output: {out}.log, report: {out})")
    cases, case_ms, slowest = read_run(out)
    shutil.rmtree(out, ignore_errors=True)
    return {"wall_s": wall, "cases": cases, "case_ms": case_ms, "slowest": slowest}


def repeat_run(work, jobs, n):
    """One `./vhucheck run -j jobs --repeat n`: its wall time and FLAKY cases.
    Exit 1 is fine here (a FLAKY case is what is counted); anything else
    means the run itself went wrong."""
    out = os.path.join(work, f"repeat-j{jobs}")
    argv = [os.path.join(paths.top(), "vhucheck"), "run", "-j", str(jobs), "--repeat", str(n),
            "--out", out]
    wall, rc = timed_run(argv, vhucheck_env(), out + ".log", RUN_TIMEOUT_S * n)
    if rc not in (0, 1):
        raise SuiteFailed(f"bench suite: `vhucheck run -j {jobs} --repeat {n}` exited {rc} "
                          f"(output: {out}.log, report: {out})")
    cases, flaky = 0, []
    for name in REFS:
        with open(os.path.join(out, name, "results.json"), encoding="utf-8") as f:
            doc = json.load(f)
        cases += doc["summary"]["total"]
        flaky += [{"target": name, "id": c["id"], "verdicts": c.get("verdicts", [])}
                  for c in doc["cases"] if c["verdict"] == V.FLAKY]
    shutil.rmtree(out, ignore_errors=True)
    return {"jobs": jobs, "repeat": n, "wall_s": round(wall, 3), "cases": cases,
            "exit": rc, "flaky": flaky}


def summarize_runs(runs, jobs):
    walls = [r["wall_s"] for r in runs]
    cases = runs[0]["cases"]
    med = statistics.median(walls)
    slow = {}
    for r in runs:
        for ms, target, cid in r["slowest"]:
            slow.setdefault((target, cid), []).append(ms)
    slowest = sorted(((statistics.median(v), t, c) for (t, c), v in slow.items()),
                     reverse=True)[:SLOWEST]
    return {"jobs": jobs, "runs": len(runs), "wall_s": spread(walls), "cases": cases,
            "cases_per_s": round(cases / med, 1),
            "case_time_s": round(statistics.median(r["case_ms"] for r in runs) / 1000, 3),
            "slowest": [{"target": t, "id": c, "ms": round(ms, 1)} for ms, t, c in slowest]}


# ------------------------------------------------------------ calibrators

def empty_case(cid, role):
    """An empty case for a target of this role."""
    return (f"id {cid}\ntitle bench calibrator: launch, connect, stop\ntarget {role}\n"
            f"rule 0: calibrator, not a conformance case\nlevel MUST\n\ncheck alive\n")


def empty_suite(root, per_role):
    """A suites dir of per_role empty cases for targets of each role."""
    area = os.path.join(root, "Z-bench")
    os.makedirs(area, exist_ok=True)
    for role in ("backend", "frontend"):
        for n in range(per_role):
            cid = f"bench_empty_{role}_{n:04d}"
            with open(os.path.join(area, cid + ".vhu"), "w", encoding="utf-8") as f:
                f.write(empty_case(cid, role))
    return root


def harness_plan(name, cases):
    """The plan the runner would make for a reference and these cases, -j 1."""
    prof = P.resolve(name)
    mine = [c for c in cases if c.role == prof.role]
    return execute.Plan(profile=prof, cases=mine, catalogue=cases,
                        expect=expectations.empty().for_target(prof.name),
                        harness=paths.harness(), build=paths.build_dir(), version="bench",
                        shmem_bit=P.effective_shmem_bit(prof), multiplier=1.0, jobs=1,
                        per_case_bit=P.per_case_bit(prof))


def harness_batch(plan, out):
    """Wall seconds of one harness process running every case of plan,
    with the runner's command line; every case must PASS."""
    for sub in ("traces", "logs"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    share, = execute.make_shares(plan, out)
    wall, rc = timed_run(share.argv, execute.harness_env(plan), share.stderr_path,
                         BATCH_TIMEOUT_S)
    with open(share.json_path, encoding="utf-8") as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    bad = [ln for ln in lines if ln.get("verdict") != V.PASS]
    if rc != 0 or len(lines) != len(plan.cases) or bad:
        why = (f"{bad[0]['id']}: {bad[0].get('verdict')} {bad[0].get('reason', '')}" if bad
               else f"exit {rc}, {len(lines)} of {len(plan.cases)} cases reported")
        raise SuiteFailed(f"bench suite: harness calibrator on {plan.profile.name}: {why} "
                          f"(log: {share.stderr_path})")
    return wall


def harness_floor(work, per_role, runs):
    """{reference: per-case ms spread} of the harness on empty cases."""
    cases = suite.discover(empty_suite(os.path.join(work, "empty-suite"), per_role))
    out = {}
    for name in REFS:
        plan = harness_plan(name, cases)
        walls = [harness_batch(plan, os.path.join(work, f"harness-{name}-{k}"))
                 for k in range(runs)]
        out[name] = dict(spread(walls, 1000.0 / len(plan.cases), 2), cases=len(plan.cases))
    return out


def _spawn(exe, main_fd, ctl_fd):
    null = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, 1, 2)]
    argv = [exe, f"--fd={main_fd}", f"--control-fd={ctl_fd}",
            f"--shmem-bit={P.DEFAULT_SHMEM_BIT}"]
    return os.posix_spawn(exe, argv, os.environ, setsid=True, file_actions=null)


def _first_message(sock, deadline):
    """Read one message header from sock before the deadline."""
    got = b""
    while len(got) < HEADER:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return False
        data = sock.recv(HEADER - len(got))
        if not data:
            return False
        got += data
    return True


def _stop(pid):
    """SIGTERM the target's group, SIGKILL after the grace, reap it; as the
    harness does, and never waiting without a bound."""
    pidfd = os.pidfd_open(pid)
    try:
        for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, KILL_WAIT_S)):
            _killpg(pid, sig)
            if select.select([pidfd], [], [], grace)[0]:
                break
        if os.waitpid(pid, os.WNOHANG)[0] != pid:
            raise HarnessError(f"pid {pid} survived SIGKILL for {KILL_WAIT_S:g}s")
    finally:
        os.close(pidfd)


def _killpg(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def spawn_once(exe, role):
    """(ms to the first vhost-user message, ms to stop and reap)."""
    main_a, main_b = socket.socketpair()
    ctl_a, ctl_b = socket.socketpair()
    pid = None
    try:
        for s in (main_b, ctl_b):
            os.set_inheritable(s.fileno(), True)
        t0 = time.perf_counter()
        pid = _spawn(exe, main_b.fileno(), ctl_b.fileno())
        main_b.close()
        ctl_b.close()
        if role == "backend":           # a back-end speaks when spoken to
            main_a.sendall(GET_FEATURES)
        if not _first_message(main_a, time.monotonic() + READY_TIMEOUT_S):
            raise HarnessError(f"{paths.relpath(exe)}: no vhost-user message within "
                               f"{READY_TIMEOUT_S:g}s of its start")
        t1 = time.perf_counter()
        main_a.close()
        ctl_a.close()
        child, pid = pid, None
        _stop(child)
        return (t1 - t0) * 1000.0, (time.perf_counter() - t1) * 1000.0
    finally:
        for s in (main_a, main_b, ctl_a, ctl_b):
            s.close()
        if pid is not None:
            _stop(pid)


def spawn_floor(n):
    """{reference: spread of ready, stop and total ms} over n cycles."""
    out = {}
    for name in REFS:
        prof = P.resolve(name)
        exe = os.path.join(paths.build_dir(), "targets", f"vhu-{name}")
        samples = [spawn_once(exe, prof.role) for _ in range(n)]
        out[name] = {"cycles": n,
                     "ready_ms": spread([a for a, _ in samples], digits=3),
                     "stop_ms": spread([b for _, b in samples], digits=3),
                     "total_ms": spread([a + b for a, b in samples], digits=3)}
    return out


# ---------------------------------------------------------------- output

def ratios(doc):
    par, ser = doc["parallel"], doc["serial"]
    fixed = doc["runner_floor"]["wall_s"]["median"]
    cases = ser["cases"]
    per_case = (ser["wall_s"]["median"] - fixed) * 1000.0 / cases
    hmean = statistics.mean(doc["harness_empty_case"][n]["median"] for n in REFS)
    smean = statistics.mean(doc["spawn"][n]["total_ms"]["median"] for n in REFS)
    return {"speedup": round(ser["wall_s"]["median"] / par["wall_s"]["median"], 2),
            "per_case_ms_serial": round(per_case, 2),
            "case_vs_empty": round(per_case / hmean, 2),
            "case_vs_spawn": round(per_case / smean, 2),
            "empty_vs_spawn": round(hmean / smean, 2),
            "fixed_share": round(fixed / par["wall_s"]["median"], 3),
            "in_cases_share_serial": round(ser["case_time_s"] / ser["wall_s"]["median"], 3)}


def _s(d):
    return f"{d['median']:.2f} s | {d['min']:.2f} | {d['max']:.2f}"


def _ms(d):
    return f"{d['median']:.2f} ms | {d['min']:.2f} | {d['max']:.2f}"


def _repeat_lines(rep):
    """The determinism figure (bench suite --repeat N), or nothing."""
    if not rep:
        return []
    lines = ["", f"Determinism: the whole suite once with `--repeat {rep['repeat']}` at "
                 f"`-j {rep['jobs']}`, {rep['wall_s']:.2f} s: **{len(rep['flaky'])} flaky** of "
                 f"{rep['cases']} cases ({rep['repeat']} runs each)."]
    for f in rep["flaky"]:
        lines.append(f"- `{f['id']}` ({f['target']}): {', '.join(f['verdicts'])}")
    return lines


def markdown(doc):
    par, ser, r = doc["parallel"], doc["serial"], doc["ratios"]
    m = doc["meta"]
    lines = [
        "# Suite benchmark", "",
        f"{m['date']}, {m['cores']} cores, {m['kernel']}, python {m['python']}; build "
        f"`{m['build_dir']}`; {m['runs']} runs of each suite figure, interleaved. "
        "docs/bench.md explains each figure.", "",
        "| figure | median | min | max | notes |", "| --- | ---: | ---: | ---: | --- |",
        f"| whole suite, both references, `-j {par['jobs']}` | {_s(par['wall_s'])} | "
        f"{par['cases']} cases, **{par['cases_per_s']} cases/s** |",
        f"| whole suite, both references, `-j 1` | {_s(ser['wall_s'])} | "
        f"{ser['cases_per_s']} cases/s; harness-timed case time {ser['case_time_s']:.2f} s |",
        f"| runner fixed cost (1 empty case per reference) | "
        f"{_s(doc['runner_floor']['wall_s'])} | start-up, validation, reports |"]
    for n in REFS:
        h = doc["harness_empty_case"][n]
        lines.append(f"| harness, empty case, {n} | {_ms(h)} | per case, {h['cases']} "
                     "cases in one harness |")
    for n in REFS:
        s = doc["spawn"][n]
        lines.append(f"| spawn+stop {n}, no harness | {_ms(s['total_ms'])} | medians: "
                     f"ready {s['ready_ms']['median']:.2f} ms, stop "
                     f"{s['stop_ms']['median']:.2f} ms; {s['cycles']} cycles |")
    goal = "met" if par["wall_s"]["median"] <= GOAL_S else "**missed**"
    lines += [
        "", "Ratios (medians of this run):", "",
        f"- `-j {par['jobs']}` is **{r['speedup']}x** faster than `-j 1`.",
        f"- At `-j 1` a case costs **{r['per_case_ms_serial']:.1f} ms** (runner fixed cost "
        f"taken out): {r['case_vs_empty']}x an empty case, {r['case_vs_spawn']}x a bare "
        "spawn+stop of a reference.",
        f"- An empty case costs {r['empty_vs_spawn']}x a bare spawn+stop: the harness's "
        "own cost per case.",
        f"- The runner's fixed cost is {100 * r['fixed_share']:.0f}% of the `-j "
        f"{par['jobs']}` wall time; at `-j 1`, {100 * r['in_cases_share_serial']:.0f}% of "
        "the wall time is inside cases (harness-timed).",
        f"- Goal: whole suite against both references <= {GOAL_S:g} s: {goal} "
        f"({par['wall_s']['median']:.2f} s).",
        *_repeat_lines(doc.get("repeat")),
        "", f"Slowest cases at `-j 1` (median ms):", "",
        "| case | target | ms |", "| --- | --- | ---: |"]
    lines += [f"| `{c['id']}` | {c['target']} | {c['ms']:.1f} |" for c in ser["slowest"]]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main

def check_build():
    need = [paths.harness()] + [os.path.join(paths.build_dir(), "targets", f"vhu-{n}")
                                for n in REFS]
    for exe in need:
        if not os.access(exe, os.X_OK):
            raise HarnessError(f"{paths.relpath(exe)}: not built (ninja -C "
                               f"{paths.relpath(paths.build_dir())})")


def note(text, who="suite"):
    print(f"bench {who}: {text}", file=sys.stderr, flush=True)


def save(out, label, doc, md, who="suite"):
    """out/last-run.md and last-run.json (out made ready first), the
    markdown printed: how bench suite and bench targets end."""
    outdir.prepare(out, label)
    atomic.write_text(os.path.join(out, "last-run.md"), md)
    atomic.write_text(os.path.join(out, "last-run.json"), json.dumps(doc, indent=1) + "\n")
    print(md, end="")
    note(f"saved {paths.relpath(os.path.join(out, 'last-run.md'))} and last-run.json", who)


def measure(args, work):
    runs = {args.jobs: [], 1: []}
    for k in range(args.runs):
        for j in runs:
            r = suite_run(work, j, k)
            runs[j].append(r)
            note(f"run {k + 1}/{args.runs} -j {j}: {r['wall_s']:.2f} s, {r['cases']} cases")
    tiny = empty_suite(os.path.join(work, "tiny-suite"), 1)
    floor = [suite_run(work, args.jobs, k, suites=tiny, tag="floor")["wall_s"]
             for k in range(args.runs)]
    note(f"runner fixed cost: {statistics.median(floor):.2f} s")
    harness = harness_floor(work, args.empty_cases, args.runs)
    note("harness empty case: " + ", ".join(f"{n} {harness[n]['median']:.2f} ms"
                                             for n in REFS))
    spawn = spawn_floor(args.spawns)
    note("spawn+stop: " + ", ".join(f"{n} {spawn[n]['total_ms']['median']:.2f} ms"
                                     for n in REFS))
    doc = {"parallel": summarize_runs(runs[args.jobs], args.jobs),
           "serial": summarize_runs(runs[1], 1),
           "runner_floor": {"runs": args.runs, "wall_s": spread(floor)},
           "harness_empty_case": harness, "spawn": spawn}
    if getattr(args, "repeat", None):
        rep = repeat_run(work, args.jobs, args.repeat)
        note(f"repeat {rep['repeat']}: {len(rep['flaky'])} flaky of {rep['cases']} cases "
             f"in {rep['wall_s']:.2f} s")
        doc["repeat"] = rep
    return doc


def main(args):
    out = os.path.abspath(args.out or os.path.join(paths.top(), "bench", "suite"))
    label = f"--out {args.out}" if args.out else paths.relpath(out)
    outdir.check(out, label)
    check_build()
    doc = measured(measure, args, "vhu-bench-suite-", SuiteFailed)
    doc["meta"] = dict(machine(args), goal_s=GOAL_S)
    doc["ratios"] = ratios(doc)
    save(out, label, doc, markdown(doc))
    return EXIT_OK
