"""vhucheck bench targets: what a target costs per case, against what its
own start-up costs, measured side by side in one run.

For each target (default: every real target and both references,
DEFAULT_TARGETS; one that is not installed or not configured here is
skipped, and the report says why):

* the bare start-to-quit, RUNS times, half before and half after the
  `-j 1` run below: for a QEMU profile (vhu-qtest), the
  profile's QEMU command with the vhost-user chardev and device removed,
  the same accelerator, and QMP on stdio: spawn, QMP greeting ("ready"),
  `quit`, reaped ("stop"); for any other target, its command as the
  harness would start it: spawn, the first vhost-user message ("ready"),
  close, SIGTERM, reaped ("stop");
* the guest driver's own start (vhu-qtest --help, RUNS times), for QEMU;
* one `./vhucheck run --target T -j 1 --schedule plain`: the median case
  (harness-timed,
  launch to verdict) and its phases from the trace: target start (launch
  to the target's first message; only the cases that launched it count),
  handshake (to the front-end's answer
  to `control version`: for QEMU, its vhost-user set-up, the rest of its
  start and the driver's probe), device bring-up (`control start` to its
  dump answer), steps (to the last trace line), stop (to the verdict);
* one `./vhucheck run --target T -j N`: its wall time.

The ratio is the median case over the median bare start-to-quit. Writes
last-run.md and last-run.json (default: bench/targets/) and prints the
markdown. docs/bench.md explains each figure.
"""

import json
import os
import re
import select
import shlex
import shutil
import socket
import statistics
import subprocess
import time

from vhucheck import options, outdir, paths, profile as P, run
from vhucheck.bench import suite as B
from vhucheck.errors import EXIT_OK, ConfigError, HarnessError

HELP = "each target's bare start-to-quit against the suite's per-case cost, per phase"
DESCRIPTION = __doc__

REFS = ("ref-frontend", "ref-backend")
DEFAULT_TARGETS = REFS + ("qemu-shmem", "qemu-debian", "dpdk-testpmd", "virtiofsd-debian",
                          "exec-backend", "exec-frontend")
READY_TIMEOUT_S = 20.0
QUIT_TIMEOUT_S = 10.0
PHASES = ("start", "handshake", "bring_up", "steps", "stop")
PHASE_NAMES = {"start": "target start", "handshake": "handshake", "bring_up": "bring-up",
               "steps": "steps", "stop": "stop"}
GOAL_RATIO = 1.5
LINE_RE = re.compile(r"^\+(\d+(?:\.\d+)?)s (.*)$")
QMP_QUIT = b'{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'


def add_arguments(p):
    p.add_argument("--target", action="append", metavar="PROFILE",
                   help="a target profile (name or path), repeatable (default: "
                        f"{', '.join(DEFAULT_TARGETS)}; those not installed here are skipped "
                        "with the reason)")
    p.add_argument("--runs", type=options.positive_int, default=20, metavar="N",
                   help="bare start-to-quit cycles per target (default 20)")
    p.add_argument("-j", "--jobs", type=options.positive_int, metavar="N",
                   default=os.cpu_count() or 1,
                   help="-j of the wall-time run (default: %(default)s, the CPU count)")
    p.add_argument("--cases", action="append", type=options.glob, metavar="GLOB",
                   help="only these cases in the suite runs (repeatable)")
    p.add_argument("--out", metavar="DIR", type=options.nonempty,
                   help="where last-run.md and last-run.json go (default bench/targets)")


def note(text):
    B.note(text, "targets")


# ------------------------------------------------------- bare start-to-quit

def command_words(prof):
    """The profile's command as argv words, the runner's placeholders filled."""
    if not prof.command:
        raise ConfigError(f"{paths.relpath(prof.path)}: no command (a 'connect' target is "
                          "not started per case): nothing to calibrate")
    bit = P.effective_shmem_bit(prof)
    return shlex.split(P.expand(prof.command, paths.build_dir(), bit))


def is_qtest(words):
    return os.path.basename(words[0]) == "vhu-qtest" and "--" in words


def driver_option(words, name):
    """--name=VALUE or --name VALUE among the driver's words, else None."""
    for i, w in enumerate(words):
        if w.startswith(f"--{name}="):
            return w.split("=", 1)[1]
        if w == f"--{name}" and i + 1 < len(words):
            return words[i + 1]
    return None


def halt_bios(work):
    """vhu-qtest's one-instruction firmware, for accelerators that run one."""
    path = os.path.join(work, "halt.bin")
    image = bytearray(0x10000)
    image[0xFFF0:0xFFF4] = b"\xfa\xf4\xeb\xfd"
    with open(path, "wb") as f:
        f.write(image)
    return path


def bare_qemu_argv(prof, words, work):
    """The QEMU a case starts, without its vhost-user chardev and device,
    with the same accelerator, QMP on stdio."""
    split = words.index("--")
    driver, qemu = words[:split], list(words[split + 1:])
    var = driver_option(driver, "qemu-env")
    if var:
        if not os.environ.get(var):
            raise ConfigError(f"{paths.relpath(prof.path)}: command: --qemu-env {var}: set "
                              f"{var} to the QEMU binary to test")
        qemu[0] = os.environ[var]
    out, i = [], 0
    while i < len(qemu):
        w = qemu[i]
        nxt = qemu[i + 1] if i + 1 < len(qemu) else ""
        if w == "-chardev" or (w == "-device" and "chardev=" in nxt):
            i += 2
            continue
        out.append(w)
        i += 1
    accel = driver_option(driver, "accel") or "qtest"
    out += ["-accel", accel]
    if accel != "qtest":
        out += ["-bios", halt_bios(work)]
    return out + ["-qmp", "stdio"]


def _read_until(fd, deadline, want_line):
    """Reads fd until a newline (want_line) or EOF; False at the deadline."""
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        chunk = os.read(fd, 65536)
        if not chunk:
            return not want_line
        got += chunk
        if want_line and b"\n" in got:
            return True


def qmp_cycle(argv, env):
    """(ms to the QMP greeting, ms from it to QEMU reaped)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out = p.stdout.fileno()
        if not _read_until(out, time.monotonic() + READY_TIMEOUT_S, True):
            raise HarnessError(f"{argv[0]}: no QMP greeting within {READY_TIMEOUT_S:g}s "
                               f"(exit {p.poll()}; try: {shlex.join(argv)})")
        t1 = time.perf_counter()
        p.stdin.write(QMP_QUIT)
        p.stdin.flush()
        if not _read_until(out, time.monotonic() + QUIT_TIMEOUT_S, False):
            raise HarnessError(f"{argv[0]}: still running {QUIT_TIMEOUT_S:g}s after QMP quit")
        p.wait(timeout=QUIT_TIMEOUT_S)
        return (t1 - t0) * 1000.0, (time.perf_counter() - t1) * 1000.0
    finally:
        if p.poll() is None:
            B._killpg(p.pid, 9)
            p.wait()
        p.stdin.close()
        p.stdout.close()


def _fill(words, values):
    out = []
    for w in words:
        for key, value in values.items():
            w = w.replace("{" + key + "}", str(value))
        out.append(w)
    return out


def _connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)


def _accept(listener, deadline):
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([listener], [], [], left)[0]:
        return None
    return listener.accept()[0]


def spawn_cycle(prof, words, work, env):
    """(ms to the first vhost-user message, ms from it to the target
    reaped), the target started as the harness starts it."""
    path = os.path.join(work, "vu.sock")
    ctl_a, ctl_b = socket.socketpair()
    main_a, main_b = socket.socketpair()
    listener, conn, pid = None, None, None
    try:
        if os.path.exists(path):
            os.unlink(path)
        if "{socket}" in prof.command and prof.listen == "harness":
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(1)
        argv = _fill(words, {"fd": main_b.fileno(), "control": ctl_b.fileno(), "socket": path})
        for s in (main_b, ctl_b):
            os.set_inheritable(s.fileno(), True)
        null = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, 1, 2)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, env, setsid=True, file_actions=null)
        main_b.close()
        ctl_b.close()
        if "{socket}" in prof.command:
            conn = _accept(listener, deadline) if listener else _connect(path, deadline)
        else:
            conn = main_a
        if conn is not None and prof.role == "backend":     # speaks when spoken to
            conn.sendall(B.GET_FEATURES)
        if conn is None or not B._first_message(conn, deadline):
            raise HarnessError(f"{prof.name}: no vhost-user message within "
                               f"{READY_TIMEOUT_S:g}s of its start")
        t1 = time.perf_counter()
        for s in (conn, main_a, ctl_a):
            s.close()
        child, pid = pid, None
        B._stop(child)
        return (t1 - t0) * 1000.0, (time.perf_counter() - t1) * 1000.0
    finally:
        for s in (main_a, main_b, ctl_a, ctl_b, listener, conn):
            if s is not None:
                s.close()
        if pid is not None:
            B._stop(pid)


def driver_start(driver, runs):
    """ms spread of `DRIVER --help`: the guest driver's own start and exit."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([driver, "--help"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return B.spread(samples, digits=2)


def bare_sampler(prof, work):
    """(description, sample): sample(n) runs n bare start-to-quit cycles of
    a target and returns their (ready ms, stop ms)."""
    words = command_words(prof)
    env = dict(os.environ)
    for key, value in prof.env:
        env[key] = P.expand(value, paths.build_dir(), P.effective_shmem_bit(prof), quote=False)
    if is_qtest(words):
        argv = bare_qemu_argv(prof, words, work)
        return ({"kind": "QEMU, QMP quit", "command": shlex.join(argv), "driver": words[0]},
                lambda n: [qmp_cycle(argv, env) for _ in range(n)])
    return ({"kind": "spawn, first message, SIGTERM", "command": shlex.join(words)},
            lambda n: [spawn_cycle(prof, words, work, env) for _ in range(n)])


def bare_figures(desc, samples, runs):
    """{kind, command, cycles, ready_ms, stop_ms, total_ms[, driver_start_ms]}."""
    out = {k: v for k, v in desc.items() if k != "driver"}
    if "driver" in desc:
        out["driver_start_ms"] = driver_start(desc["driver"], runs)
    out.update(cycles=len(samples), ready_ms=B.spread([a for a, _ in samples], digits=2),
               stop_ms=B.spread([b for _, b in samples], digits=2),
               total_ms=B.spread([a + b for a, b in samples], digits=2))
    return out


# ---------------------------------------------------------------- per case

def trace_phases(text, duration_ms):
    """{phase: ms} of one case from its trace (times are from the launch):
    a phase whose markers are missing is None."""
    lines = []
    for raw in text.splitlines():
        m = LINE_RE.match(raw)
        if m:
            lines.append((float(m.group(1)) * 1000.0, m.group(2)))
    if not lines or duration_ms is None:
        return dict.fromkeys(PHASES)
    first = next((t for t, s in lines if re.match(r"(main|backend) <- ", s)), None)
    version = next((t for t, s in lines if s.startswith("# control <- ok version=")), None)
    start = next((k for k, (t, s) in enumerate(lines) if s == "# control -> start"), None)
    up = None
    if start is not None:
        up = next((t for t, s in lines[start:] if s.startswith("# control <- ok {")), None)
    last = lines[-1][0]
    out = dict.fromkeys(PHASES)
    out["start"] = first
    if first is not None and version is not None:
        out["handshake"] = max(0.0, version - first)
    if start is not None and up is not None:
        out["bring_up"] = up - lines[start][0]
    begin = up if up is not None else version if version is not None else first
    if begin is not None:
        out["steps"] = max(0.0, last - begin)
    out["stop"] = max(0.0, duration_ms - last)
    return out


def read_trace(out, case):
    trace = case.get("trace") or {}
    path = trace.get("path") if isinstance(trace, dict) else trace
    if path:
        try:
            with open(os.path.join(out, path), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            pass
    return trace.get("text", "") if isinstance(trace, dict) else ""


def suite_run(spec, jobs, cases, work, tag):
    """One `./vhucheck run --target spec -j jobs`: wall, cases, per-case
    medians and phase medians."""
    out = os.path.join(work, tag)
    argv = [os.path.join(paths.top(), "vhucheck"), "run", "--target", spec, "-j", str(jobs),
            "--out", out]
    if jobs == 1:       # a case's own cost: its target not launched ahead
        argv += ["--schedule", "plain"]
    for g in cases or ():
        argv += ["--cases", g]
    wall, rc = B.timed_run(argv, B.vhucheck_env(), out + ".log", B.RUN_TIMEOUT_S)
    if rc not in (0, 1):
        raise HarnessError(f"bench targets: `vhucheck run --target {spec} -j {jobs}` exited "
                           f"{rc} (output: {out}.log)")
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        doc = json.load(f)
    durations, phases = [], {k: [] for k in PHASES}
    for c in doc["cases"]:
        # a case decided before any launch (UNSUPPORTED from what the
        # target is known not to do) costs no start-up: not counted
        if c.get("duration_ms") is None or not (c.get("target") or {}).get("pid"):
            continue
        durations.append(c["duration_ms"])
        for k, v in trace_phases(read_trace(out, c), c["duration_ms"]).items():
            if v is not None:
                phases[k].append(v)
    if not durations:
        raise HarnessError(f"bench targets: `vhucheck run --target {spec}` launched the "
                           f"target for no case (output: {out}.log)")
    shutil.rmtree(out, ignore_errors=True)
    return {"jobs": jobs, "wall_s": round(wall, 3), "cases": len(durations),
            "cases_run": len(doc["cases"]),
            "case_ms": B.spread(durations, digits=2),
            "case_sum_s": round(sum(durations) / 1000.0, 3),
            "phases_ms": {k: round(statistics.median(v), 2) if v else None
                          for k, v in phases.items()}}


# ---------------------------------------------------------------- output

def default_targets():
    return list(DEFAULT_TARGETS)


def unavailable(prof, environ=None):
    """Why prof cannot be calibrated here, or None: no command, its program
    (or, for vhu-qtest, its QEMU) not installed, exec-*'s command unset."""
    env = os.environ if environ is None else environ
    if not prof.command:
        return "a 'connect' target is not started per case"
    why = P.program_problem(prof, paths.build_dir(), env)
    if why:
        return why
    words = shlex.split(P.expand(prof.command, paths.build_dir(), P.effective_shmem_bit(prof)))
    if is_qtest(words):
        var = driver_option(words[:words.index("--")], "qemu-env")
        if var and not env.get(var):
            return f"${var} is not set (the QEMU binary to test)"
        qemu = env[var] if var else words[words.index("--") + 1]
        if not shutil.which(qemu, path=env.get("PATH", os.defpath)):
            return f"{qemu}: no such program"
    if run.EXEC_VAR in prof.command:
        if not env.get(run.EXEC_VAR):
            return f"${run.EXEC_VAR} is not set (the implementation's command line)"
        try:        # what `run` checks of it (a program; {socket} or {fd} for a front-end)
            run.check_exec_command([prof], None)
        except ConfigError as e:
            why = str(e)
            return why[len(prof.name) + 2:] if why.startswith(prof.name + ": ") else why
    return None


def _ms(v):
    return "-" if v is None else f"{v:.1f}"


def markdown(doc):
    m = doc["meta"]
    lines = [
        "# Target benchmark", "",
        f"{m['date']}, {m['cores']} cores, {m['kernel']}, python {m['python']}; build "
        f"`{m['build_dir']}`; {m['runs']} bare cycles per target, one suite run at `-j 1` "
        f"and one at `-j {m['jobs']}`, all in this one invocation. docs/bench.md explains "
        "each figure.", "",
        "| target | bare start-to-quit | per case, `-j 1` (median) | **ratio** | "
        f"cases (launched / run) | `-j {m['jobs']}` wall |",
        "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in doc["targets"]:
        b, s, w = t["bare"], t["serial"], t["parallel"]
        lines.append(f"| {t['name']} | {b['total_ms']['median']:.1f} ms | "
                     f"{s['case_ms']['median']:.1f} ms | **{t['ratio']:.2f}x** | "
                     f"{s['cases']} / {s.get('cases_run', s['cases'])} | {w['wall_s']:.2f} s |")
    lines += ["", "Where a case's time goes (medians over the cases of the `-j 1` run, ms; "
                  "'-': the target has no such phase):", "",
              "| target | " + " | ".join(PHASE_NAMES[k] for k in PHASES) +
              " | bare: ready | bare: stop | driver start |",
              "| --- |" + " ---: |" * (len(PHASES) + 3)]
    for t in doc["targets"]:
        b, ph = t["bare"], t["serial"]["phases_ms"]
        drv = b.get("driver_start_ms")
        lines.append(f"| {t['name']} | " + " | ".join(_ms(ph[k]) for k in PHASES) +
                     f" | {b['ready_ms']['median']:.1f} | {b['stop_ms']['median']:.1f} | "
                     f"{_ms(drv['median'] if drv else None)} |")
    lines += ["", "Bare start-to-quit, as measured:", ""]
    for t in doc["targets"]:
        lines.append(f"- {t['name']} ({t['bare']['kind']}): `{t['bare']['command']}`")
    if doc.get("skipped"):
        lines += ["", "Not measured here:", ""]
        lines += [f"- {t['name']}: {t['reason']}" for t in doc["skipped"]]
    lines += ["", f"Goal: a case at most {GOAL_RATIO:g}x the bare start-to-quit: " +
              ", ".join(f"{t['name']} {'met' if t['ratio'] <= GOAL_RATIO else '**missed**'}"
                        for t in doc["targets"]) + "."]
    return "\n".join(lines) + "\n"


def measure(args, work):
    rows, skipped = [], []
    for spec in args.target or default_targets():
        prof = P.resolve(spec)
        why = unavailable(prof)
        if why:
            note(f"{prof.name}: skipped: {why}")
            skipped.append({"name": prof.name, "reason": why})
            continue
        desc, sample = bare_sampler(prof, work)
        # half the bare cycles before the -j 1 run, half after: a change in
        # the machine's load during the run weighs on both sides
        first = sample((args.runs + 1) // 2)
        ser = suite_run(spec, 1, args.cases, work, f"{prof.name}-j1")
        b = bare_figures(desc, first + sample(args.runs // 2), args.runs)
        note(f"{prof.name}: bare start-to-quit {b['total_ms']['median']:.1f} ms")
        note(f"{prof.name}: -j 1, {ser['cases']} cases, median {ser['case_ms']['median']:.1f} ms")
        par = suite_run(spec, args.jobs, args.cases, work, f"{prof.name}-j{args.jobs}")
        note(f"{prof.name}: -j {args.jobs}, {par['wall_s']:.2f} s")
        rows.append({"name": prof.name, "spec": spec, "bare": b, "serial": ser,
                     "parallel": par,
                     "ratio": round(ser["case_ms"]["median"] / b["total_ms"]["median"], 2)})
    return {"targets": rows, "skipped": skipped}


def main(args):
    out = os.path.abspath(args.out or os.path.join(paths.top(), "bench", "targets"))
    label = f"--out {args.out}" if args.out else paths.relpath(out)
    outdir.check(out, label)
    B.check_build()
    doc = B.measured(measure, args, "vhu-bench-targets-", HarnessError)
    doc["meta"] = dict(B.machine(args), jobs=args.jobs, goal_ratio=GOAL_RATIO)
    B.save(out, label, doc, markdown(doc), "targets")
    return EXIT_OK
