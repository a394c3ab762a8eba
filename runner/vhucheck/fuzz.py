"""vhucheck fuzz: a fuzz campaign on one target of fuzzers/ (docs/fuzzing.md).

Builds the engine's build directory when needed (build-libfuzzer,
build-afl), fuzzes for a while on N cores, then deduplicates the crashes by
their symbolized top frames, minimizes one input per crash, writes a
reproducer for each (a .vhu case when the input maps to one, else the raw
input and the command that replays it) and a campaign report:

    reports/out/fuzz-NAME-TIME/
        report.md, report.json    exec/s, coverage over time, findings
        coverage.csv              seconds, executions, coverage (the engine's points)
        edges.csv                 seconds, edges, entries: every corpus entry
                                  replayed in order (runner/vhucheck/fuzzcov.py)
        findings/N-<sig>/         input, minimized, stack.txt, repro.vhu
        corpus/                   the campaign's corpus (seeded from corpus/NAME)
        logs/                     engine and build logs
"""

import configparser
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from vhucheck import catalogue, fuzzcov, paths, signature as S, supervisor
from vhucheck.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, ConfigError, HarnessError

HELP = "fuzz campaigns over the harness's decoders and the reference targets"
DESCRIPTION = __doc__
EPILOG = """\
examples:
  vhucheck fuzz shmem_map --seconds 300 --jobs 2
  vhucheck fuzz fuzz_shmem_sequence --engine afl --fault fe_unmap_partial
  vhucheck fuzz --list
exit status: 0 no finding, 1 findings, 2 usage, 3 build or engine failure,
130/143 interrupted by SIGINT/SIGTERM (found inputs triaged, report written)."""

FUZZERS = ("fuzz_proto", "fuzz_script", "fuzz_shmem_map", "fuzz_shmem_sequence",
           "fuzz_backend_replies")
# Which reference each fuzzer drives (for --fault); None: no fault applies.
FAULT_ROLE = {"fuzz_shmem_map": "frontend", "fuzz_shmem_sequence": "frontend",
              "fuzz_backend_replies": "backend"}
ENGINES = ("libfuzzer", "afl")
# fuzzers/exitcodes.h
EXIT_CODES = {"finding": 76, "timeout": 70, "oom": 71, "interrupted": 72}
SETUP = {
    "libfuzzer": ({"CC": "clang"},
                  ["-Dfuzzers=libfuzzer", "-Db_sanitize=address,undefined",
                   "-Db_lundef=false",
                   "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all",
                   "-Dc_link_args=-fno-sanitize-recover=all"]),
    "afl": ({"CC": "afl-clang-fast", "AFL_QUIET": "1"}, ["-Dfuzzers=afl"]),
}
AFL_ENV = {"AFL_NO_UI": "1", "AFL_SKIP_CPUFREQ": "1", "AFL_TRY_AFFINITY": "1",
           "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1", "AFL_QUIET": "1",
           "AFL_SHUFFLE_QUEUE": "0"}


# ------------------------------------------------------------------ names

def fuzzer_name(name):
    """fuzz_shmem_map, shmem_map and map all name fuzz_shmem_map."""
    for cand in (name, "fuzz_" + name, "fuzz_shmem_" + name):
        if cand in FUZZERS:
            return cand
    raise ConfigError(f"no fuzzer {name!r}; one of: {', '.join(FUZZERS)}")


def check_faults(name, faults):
    """The faults, checked against the catalogue and the fuzzer's role."""
    if not faults:
        return []
    role = FAULT_ROLE.get(name)
    if role is None:
        raise ConfigError(f"{name} drives no reference target: --fault does not apply")
    known = catalogue.load()
    for f in faults:
        fault = catalogue.lookup(known, f)
        if fault.role != role:
            raise ConfigError(f"--fault {f}: a {fault.role} fault; {name} drives "
                              f"the reference {role}")
    return list(faults)


# ----------------------------------------------------------------- builds

def build_dir(engine):
    env = os.environ.get("VHUCHECK_FUZZ_BUILD_" + engine.upper())
    return os.path.abspath(env) if env else os.path.join(paths.top(), "build-" + engine)


def engine_missing(engine):
    """Why this engine cannot be used here, or None."""
    if engine == "afl":
        for tool in ("afl-clang-fast", "afl-fuzz"):
            if not shutil.which(tool):
                return f"{tool} not found (Debian package afl++)"
        return None
    if not shutil.which("clang"):
        return "clang not found"
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.c")
        with open(src, "w") as f:
            f.write("#include <stddef.h>\n#include <stdint.h>\n"
                    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
                    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                    "{ (void)d; (void)n; return 0; }\n")
        r = subprocess.run(["clang", "-fsanitize=fuzzer", src, "-o", os.path.join(d, "t")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None if r.returncode == 0 else \
        "clang cannot link -fsanitize=fuzzer (Debian package libclang-rt-dev)"


def ensure_build(engine, targets, log_path):
    """Configures (once) and builds targets in the engine's build dir."""
    d = build_dir(engine)
    env_add, opts = SETUP[engine]
    env = dict(os.environ, **env_add)
    with open(log_path, "a") as log:
        if not os.path.exists(os.path.join(d, "build.ninja")):
            cmd = ["meson", "setup", d] + opts
            log.write("$ " + " ".join(f"{k}={v}" for k, v in env_add.items()) + " "
                      + shlex.join(cmd) + "\n")
            log.flush()
            if subprocess.run(cmd, cwd=paths.top(), env=env, stdout=log,
                              stderr=subprocess.STDOUT).returncode:
                raise HarnessError(f"meson setup {paths.relpath(d)} failed; "
                                   f"see {paths.relpath(log_path)}")
        cmd = ["ninja", "-C", d, "-j2"] + [f"fuzzers/{t}" for t in targets]
        log.write("$ " + shlex.join(cmd) + "\n")
        log.flush()
        if subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode:
            raise HarnessError(f"building {' '.join(targets)} in {paths.relpath(d)} "
                               f"failed; see {paths.relpath(log_path)}")
    return d


def binary(engine, name):
    return os.path.join(build_dir(engine), "fuzzers", name)


def corpus_dir(name):
    return os.path.join(paths.top(), "corpus", name)


def options(name):
    """The [libfuzzer] section of corpus/NAME.options."""
    cp = configparser.ConfigParser()
    cp.read(os.path.join(paths.top(), "corpus", name + ".options"))
    return dict(cp["libfuzzer"]) if cp.has_section("libfuzzer") else {}


def fault_env(faults):
    env = dict(os.environ)
    env.pop("VHU_FAULTS", None)
    if faults:
        env["VHU_FAULTS"] = ",".join(faults)
    return env


# -------------------------------------------------------------- libFuzzer

def libfuzzer_exit_flags(binary_path):
    """-error_exitcode etc. from fuzzers/exitcodes.h; -oom_exitcode only
    where this libFuzzer knows it (LLVM 14 has 71 built in). Asks the
    binary: compute once per campaign."""
    flags = [f"-error_exitcode={EXIT_CODES['finding']}",
             f"-timeout_exitcode={EXIT_CODES['timeout']}"]
    r = subprocess.run([binary_path, "-help=1"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    if " oom_exitcode " in r.stdout:
        flags.append(f"-oom_exitcode={EXIT_CODES['oom']}")
    return flags


def libfuzzer_args(name, binary_path, corpus, seconds, jobs, artifacts):
    opts = options(name)
    args = [binary_path] + libfuzzer_exit_flags(binary_path) + [
        f"-max_total_time={seconds}", f"-timeout={opts.get('timeout', '10')}",
        f"-rss_limit_mb={opts.get('rss_limit_mb', '2560')}",
        f"-max_len={opts.get('max_len', '4096')}", "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    d = os.path.join(paths.top(), "corpus", name + ".dict")
    if os.path.exists(d):
        args.append(f"-dict={d}")
    return args + [corpus, corpus_dir(name)]


FORK_LINE = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s:? (\d+) "
                       r"oom/timeout/crash: (\d+)/(\d+)/(\d+) time: (\d+)s")


def parse_libfuzzer_log(text):
    """Coverage over time from -fork status lines: [(s, execs, cov, corp)]."""
    points = []
    for line in text.splitlines():
        m = FORK_LINE.match(line)
        if m:
            points.append((int(m.group(9)), int(m.group(1)), int(m.group(2)),
                           int(m.group(4))))
    return points


# How long an engine gets to stop on SIGINT (writing its stats, killing
# its jobs) before it is killed.
STOP_GRACE_S = 20


def stop_engines(procs):
    """SIGINT to each engine's process group, then SIGKILL after the grace."""
    supervisor.interrupt_groups(procs, STOP_GRACE_S)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt."""
    signum = signal.SIGTERM


def wait_engines(procs, limit_s):
    """(status, signal): the first non-zero status of procs, each in its
    own session, and 0, or the signal (SIGINT, SIGTERM) that interrupted
    us. Past limit_s (a hang) they are killed; interrupted, they are
    stopped and the campaign ends early with what it has (the caller
    still triages and reports)."""
    deadline = time.monotonic() + limit_s
    rc = 0
    try:
        for p in procs:
            try:
                rc = rc or p.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = rc or EXIT_CODES["timeout"]
    except KeyboardInterrupt as e:
        stop_engines(procs)
        return rc, int(getattr(e, "signum", signal.SIGINT))
    return rc, 0


def run_libfuzzer(name, faults, seconds, jobs, out):
    b = binary("libfuzzer", name)
    args = libfuzzer_args(name, b, out["corpus"], seconds, jobs, out["crashes"])
    log = os.path.join(out["logs"], "libfuzzer.log")
    with open(log, "w") as f:
        f.write("$ " + shlex.join(args) + "\n")
        f.flush()
        p = subprocess.Popen(args, cwd=out["root"], env=fault_env(faults), stdout=f,
                             stderr=subprocess.STDOUT, start_new_session=True)
        # -max_total_time ends it; the limit only guards against a hang
        rc, interrupted = wait_engines([p], seconds * 2 + 120)
    with open(log, errors="replace") as f:
        points = parse_libfuzzer_log(f.read())
    return rc, points, interrupted


# ------------------------------------------------------------------ AFL++

def afl_env(name, faults):
    env = dict(fault_env(faults), **AFL_ENV)
    if name == "fuzz_shmem_sequence":
        env["AFL_CUSTOM_MUTATOR_LIBRARY"] = os.path.join(
            build_dir("afl"), "fuzzers", "fuzz_shmem_sequence_mutator.so")
    return env


def afl_args(name, instance, main, sync, seconds):
    args = ["afl-fuzz", "-M" if main else "-S", instance, "-i", corpus_dir(name),
            "-o", sync, "-V", str(seconds), "-t", "2000", "-m", "none"]
    d = os.path.join(paths.top(), "corpus", name + ".dict")
    if os.path.exists(d):
        args += ["-x", d]
    return args + ["--", binary("afl", name)]


def run_afl(name, faults, seconds, jobs, out):
    """-M main plus -S s1.. on a shared sync dir; all end after -V."""
    sync, procs, logs = out["sync"], [], []
    env = afl_env(name, faults)
    for i in range(jobs):
        inst = "main" if i == 0 else f"s{i}"
        log = open(os.path.join(out["logs"], f"afl-{inst}.log"), "w")
        logs.append(log)
        args = afl_args(name, inst, i == 0, sync, seconds)
        log.write("$ " + shlex.join(args) + "\n")
        log.flush()
        procs.append(subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    rc, interrupted = wait_engines(procs, seconds + 120)
    for log in logs:
        log.close()
    return rc, afl_points(os.path.join(sync, "main")), interrupted


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM (a CI job's time limit, kill) ends a campaign the way Ctrl-C
    does: engines stopped, findings triaged, the report written."""
    def on_term(signum, frame):
        raise Terminated
    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def afl_stats(instance_dir):
    stats = {}
    try:
        with open(os.path.join(instance_dir, "fuzzer_stats")) as f:
            for line in f:
                k, _, v = line.partition(":")
                stats[k.strip()] = v.strip()
    except OSError:
        pass
    return stats


def afl_points(instance_dir):
    """plot_data as [(s, execs, edges, corpus)]."""
    points, cols = [], None
    try:
        with open(os.path.join(instance_dir, "plot_data")) as f:
            for line in f:
                if line.startswith("#"):
                    cols = [c.strip() for c in line[1:].split(",")]
                    continue
                vals = dict(zip(cols or [], (v.strip() for v in line.split(","))))
                try:
                    points.append((int(vals["relative_time"]), int(vals["total_execs"]),
                                   int(vals.get("edges_found", 0)),
                                   int(vals["corpus_count"])))
                except (KeyError, ValueError):
                    continue
    except OSError:
        pass
    return points


# ----------------------------------------------------------------- triage

def replay(binary_path, path, faults, timeout=60):
    """Runs one input: (exit status or -signal, output)."""
    try:
        r = subprocess.run([binary_path, path], env=fault_env(faults),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode(errors="replace")
    return r.returncode, r.stdout.decode(errors="replace")


def signature(status, text):
    """What makes two crashes the same: the kind, the finding's words,
    the three top frames of our own code."""
    m = re.search(r"vhu-fuzz: finding: (.*)", text)
    if m:
        kind, what = "finding", S.normalize(m.group(1))
    else:
        m = (re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): ([\w-]+(?: [\w-]+)?)",
                       text) or re.search(r"runtime error: ([^:\n]*)", text))
        kind = "sanitizer" if m else ("signal" if isinstance(status, int) and status < 0
                                      else "exit")
        what = S.normalize(" ".join(g for g in m.groups() if g)) if m else f"status {status}"
    top = S.top_frames(S.text_frames(text)[0])
    return f"{kind}: {what} @ {' < '.join(top) or '?'}"


def minimize(engine, name, binary_path, crash, dest, faults, seconds=10):
    """A smaller input with the same signature, or None."""
    if engine == "libfuzzer":
        args = [binary_path, "-minimize_crash=1", f"-max_total_time={seconds}",
                f"-exact_artifact_path={dest}", crash]
    else:
        args = ["afl-tmin", "-i", crash, "-o", dest, "-t", "2000", "-m", "none",
                "--", binary_path]
    env = afl_env(name, faults) if engine == "afl" else fault_env(faults)
    try:
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=seconds * 3 + 30)
    except subprocess.TimeoutExpired:
        return None
    return dest if os.path.exists(dest) and os.path.getsize(dest) > 0 else None


def crash_files(engine, out):
    if engine == "libfuzzer":
        d = out["crashes"]
        return sorted(os.path.join(d, f) for f in os.listdir(d)
                      if f.startswith(("crash-", "leak-", "oom-", "timeout-")))
    found = []
    for inst in sorted(os.listdir(out["sync"])) if os.path.isdir(out["sync"]) else []:
        for sub in ("crashes", "hangs"):
            d = os.path.join(out["sync"], inst, sub)
            if os.path.isdir(d):
                found += sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("id:"))
    return found


def triage_binary(engine, name):
    """The libFuzzer (ASan, symbolized) build replays best; else the engine's."""
    lf = binary("libfuzzer", name)
    return lf if os.path.exists(lf) else binary(engine, name)


def triage(engine, name, faults, files, findings_dir, do_minimize):
    groups = {}
    tbin = triage_binary(engine, name)
    for path in files:
        status, text = replay(tbin, path, faults)
        if status == 0:
            continue   # does not reproduce alone (flaky, or a hang elsewhere)
        sig = signature(status, text)
        groups.setdefault(sig, []).append((path, status, text))
    findings = []
    for n, (sig, items) in enumerate(sorted(groups.items(), key=lambda kv: kv[0]), 1):
        findings.append(write_finding(engine, name, faults, n, sig, items, tbin,
                                      findings_dir, do_minimize))
    return findings


def write_finding(engine, name, faults, n, sig, items, tbin, findings_dir, do_minimize):
    path, status, text = min(items, key=lambda it: os.path.getsize(it[0]))
    h = hashlib.sha1(sig.encode()).hexdigest()[:8]
    d = os.path.join(findings_dir, f"{n:02d}-{h}")
    os.makedirs(d, exist_ok=True)
    shutil.copy(path, os.path.join(d, "input"))
    best = os.path.join(d, "input")
    if do_minimize:
        mbin = tbin if tbin == binary("libfuzzer", name) else binary(engine, name)
        mengine = "libfuzzer" if mbin == binary("libfuzzer", name) else engine
        m = minimize(mengine, name, mbin, best, os.path.join(d, "minimized"), faults)
        if m and signature(*replay(tbin, m, faults)) == sig:
            best = m
    with open(os.path.join(d, "stack.txt"), "w") as f:
        f.write(text)
    with open(best, "rb") as f:
        data = f.read()
    own = binary(engine, "vhu-fuzzcase")    # the campaign's build has one
    cid = reproducer(name, data, sig, faults, d, own if os.path.exists(own) else None)
    env = f"VHU_FAULTS={','.join(faults)} " if faults else ""
    case = None
    if cid:
        target = "ref-backend" if name == "fuzz_backend_replies" else "ref-frontend"
        case = (f"VHUCHECK_SUITES={paths.relpath(findings_dir)} ./vhucheck run -t {target}"
                + "".join(f" --fault {f}" for f in faults) + f" -c {cid}")
    return {"signature": sig, "count": len(items), "status": str(status), "run_case": case,
            "dir": paths.relpath(d), "input": paths.relpath(best), "bytes": len(data),
            "repro_vhu": paths.relpath(os.path.join(d, f"{cid}.vhu")) if cid else None,
            "replay": f"{env}{paths.relpath(tbin)} {paths.relpath(best)}"}


# ------------------------------------------------------------ reproducers

def reproducer(name, data, sig, faults, dest, exe=None):
    """The input as a case in dest, with the model's expectations at every
    step (vhu-fuzzcase, vhucheck.fuzzemit): its id, or None when no case
    says it (fuzz_proto's and fuzz_script's inputs are no messages)."""
    from vhucheck import fuzzemit
    if name not in fuzzemit.FUZZERS:
        return None
    note = f"reproducer of a fuzz finding: {sig[:200]}"
    if faults:
        note += f"; found with --fault {' --fault '.join(faults)}"
    src = os.path.join(dest, ".input-for-case")
    with open(src, "wb") as f:
        f.write(data)
    try:
        got = fuzzemit.emit(name, [src], dest, note=note, exe=exe)
    finally:
        os.unlink(src)
    return got[0][1] if got and got[0][0] in ("case", "dup") else None


# ----------------------------------------------------------------- report

def summarize(engine, out, points, seconds):
    """exec/s, executions and final coverage."""
    if engine == "afl":
        st = afl_stats(os.path.join(out["sync"], "main"))
        execs = sum(int(afl_stats(os.path.join(out["sync"], i)).get("execs_done", 0))
                    for i in os.listdir(out["sync"])) if os.path.isdir(out["sync"]) else 0
        return {"executions": execs, "exec_per_sec": round(execs / max(seconds, 1)),
                "coverage": st.get("bitmap_cvg", "?"), "edges": st.get("edges_found"),
                "stability": st.get("stability", "?"), "corpus": st.get("corpus_count")}
    last = points[-1] if points else (0, 0, 0, 0)
    return {"executions": last[1], "exec_per_sec": round(last[1] / max(last[0], 1)),
            "coverage": last[2], "corpus": last[3]}


def write_report(out, meta, summary, points, findings, edges=None):
    report = dict(meta, summary=summary, findings=findings,
                  coverage=[{"seconds": p[0], "executions": p[1], "coverage": p[2],
                             "corpus": p[3]} for p in points],
                  edges=[{"seconds": e[0], "edges": e[1], "entries": e[2]}
                         for e in edges or []])
    with open(os.path.join(out["root"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out["root"], "coverage.csv"), "w") as f:
        f.write("seconds,executions,coverage,corpus\n")
        f.writelines(f"{p[0]},{p[1]},{p[2]},{p[3]}\n" for p in points)
    if edges:
        with open(os.path.join(out["root"], "edges.csv"), "w") as f:
            f.write("seconds,edges,entries\n")
            f.writelines(f"{e[0]},{e[1]},{e[2]}\n" for e in edges)
    with open(os.path.join(out["root"], "report.md"), "w") as f:
        f.write(markdown(meta, summary, points, findings, edges))


def edges_markdown(edges):
    if not edges:
        return ["", "## Edges over time", "",
                "Not measured (needs afl-showmap and the AFL++ build); the engine's "
                "own points are above."]
    lines = ["", "## Edges over time", "",
             f"Every corpus entry (of every instance), in the order it was made, "
             f"replayed through the AFL++ build (afl-showmap): {len(edges)} points "
             f"in edges.csv, {edges[-1][1]} edges at the end.", "",
             "| s | edges | entries |", "| ---: | ---: | ---: |"]
    lines += [f"| {e[0]:g} | {e[1]} | {e[2]} |" for e in fuzzcov.sample(edges)]
    return lines


def markdown(meta, summary, points, findings, edges=None):
    lines = [f"# Fuzz campaign: {meta['fuzzer']}", "",
             f"- engine: {meta['engine']}, {meta['jobs']} job(s), {meta['seconds']} s",
             f"- faults: {', '.join(meta['faults']) or 'none (fault-free reference)'}",
             f"- started: {meta['started']}",
             f"- executions: {summary['executions']} ({summary['exec_per_sec']}/s)",
             f"- coverage: {summary['coverage']}"
             + (f", stability {summary['stability']}" if "stability" in summary else ""),
             f"- findings: {len(findings)} unique", "", "## Coverage over time", "",
             "| s | executions | coverage | corpus |", "| ---: | ---: | ---: | ---: |"]
    step = max(1, len(points) // 12)
    for p in points[::step] + ([points[-1]] if points and (len(points) - 1) % step else []):
        lines.append(f"| {p[0]} | {p[1]} | {p[2]} | {p[3]} |")
    lines += edges_markdown(edges)
    lines += ["", "## Findings", ""]
    if not findings:
        lines.append("None.")
    for i, fd in enumerate(findings, 1):
        lines += [f"### {i}. `{fd['signature']}`", "",
                  f"- {fd['count']} crashing input(s); kept {fd['input']} ({fd['bytes']} bytes)",
                  f"- replay: `{fd['replay']}`"]
        if fd["repro_vhu"]:
            lines += [f"- case: {fd['repro_vhu']}", f"- run it: `{fd['run_case']}`"]
        lines.append("")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- main

def add_arguments(p):
    p.add_argument("name", nargs="?", help="fuzzer: " + ", ".join(FUZZERS)
                   + " (the fuzz_ / fuzz_shmem_ prefix may be left out)")
    p.add_argument("--engine", choices=ENGINES, default="libfuzzer")
    p.add_argument("--seconds", type=int, default=60, help="campaign length (default 60)")
    p.add_argument("--jobs", type=int, default=1, help="cores: libFuzzer -fork=N, "
                   "AFL++ one -M and N-1 -S instances (default 1)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="fuzz the reference with this fault (VHU_FAULTS); repeatable")
    p.add_argument("--out", help="campaign directory (default reports/out/fuzz-NAME-TIME)")
    p.add_argument("--no-minimize", action="store_true", help="keep crashing inputs as found")
    p.add_argument("--list", action="store_true", help="list the fuzzers and exit")
    p.add_argument("--to-cases", metavar="DIR",
                   help="no campaign: write every corpus input as a .vhu case under DIR, "
                        "to replay against a real implementation (docs/fuzzing.md)")
    p.add_argument("--regions", metavar="SIZES",
                   help="with --to-cases: the cases' region sizes instead of the rigs' "
                        "1m,64k,0,2m (e.g. 1m,1m,0,2m for QEMU v11)")
    p.add_argument("--corpus", metavar="DIR",
                   help="with --to-cases or --against: the corpus to translate or mutate "
                        "(default corpus/NAME; a campaign's corpus/ or sync/main/queue/ "
                        "work too)")
    p.add_argument("--against", metavar="TARGET",
                   help="black-box fuzzing of a real implementation (a profile, as for "
                        "run --target): mutated inputs as cases, in batches, for --seconds; "
                        "every CRASH/TIMEOUT/DEADLOCK kept by signature (docs/fuzzing.md)")
    p.add_argument("--batch", type=int, default=20, metavar="N",
                   help="with --against: cases per vhucheck run (default 20)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="with --against: the mutation seed (default: random, in the report)")
    p.add_argument("--stop-at-first", action="store_true",
                   help="with --against: end after the batch of the first finding "
                        "(bench against)")
    p.add_argument("--backtrace", action="store_true",
                   help="with --against: run the target with the crash unwinder, so that "
                        "crash signatures name the functions (run --backtrace)")
    p.add_argument("--reduce-seconds", type=int, default=60, metavar="N",
                   help="with --against: reduce each finding's case against the target "
                        "for at most N seconds (vhucheck reduce; 0: do not; default 60)")
    p.add_argument("--command", metavar="CMD",
                   help="with --against exec-frontend or exec-backend: the target's "
                        "command ({socket}, {fd}, {control} as for run)")
    p.add_argument("--live", action="store_true",
                   help="with --against a front-end: one target process, operations "
                        "streamed into it and judged as they go; restarted only after a "
                        "violation (vhu-fuzzlive; docs/fuzzing.md, \"Live mode\")")
    p.add_argument("--known", metavar="FILE",
                   help="with --against: signatures already known (one a line, or an "
                        "earlier campaign's report.json): their hits are counted, not "
                        "kept, and the report gives the share of time spent on them")


def campaign_edges(engine, name, faults, out, started):
    """fuzzcov's curve; builds the AFL++ build for it when AFL++ is here."""
    if engine_missing("afl"):
        return None
    try:
        ensure_build("afl", [name], os.path.join(out["logs"], "build.log"))
    except HarnessError:
        return None
    return fuzzcov.campaign_edges(engine, out, corpus_dir(name), started,
                                  binary("afl", name), fault_env(faults))


def to_cases(name, args):
    from vhucheck import fuzzcases
    corpus = args.corpus or corpus_dir(name)
    written, skipped, dups = fuzzcases.write_cases(name, corpus, args.to_cases, args.regions)
    print(f"vhucheck fuzz: {written} cases from {paths.relpath(corpus)} in "
          f"{paths.relpath(args.to_cases)} ({skipped} inputs with no message, "
          f"{dups} duplicates)", file=sys.stderr)
    print(f"run them: VHUCHECK_SUITES={shlex.quote(paths.relpath(args.to_cases))} "
          "./vhucheck run --target TARGET", file=sys.stderr)
    return EXIT_OK


def against(name, args):
    from vhucheck import fuzzreal
    if args.seconds < 1 or args.jobs < 1 or args.batch < 1:
        raise ConfigError("--seconds, --jobs and --batch must be at least 1")
    if args.regions is None:        # the sizes the target accepts, from its profile
        from vhucheck import profile as P
        args.regions = P.resolve(args.against).regions
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(args.against))
    out = os.path.abspath(args.out or os.path.join(paths.default_out_root(),
                                                   f"fuzz-against-{target}-{stamp}"))
    os.makedirs(os.path.join(out, "findings"), exist_ok=True)
    print(f"vhucheck fuzz: {name} against {args.against}, {args.seconds} s, "
          + ("live" if args.live else f"batches of {args.batch}")
          + f" -> {paths.relpath(out)}", file=sys.stderr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (os.path.join(paths.top(), "runner"), os.environ.get("PYTHONPATH")) if p))
    with sigterm_interrupts():
        if args.live:
            from vhucheck import fuzzlive
            camp, interrupted = fuzzlive.campaign(args, out, env)
        else:
            camp, interrupted = fuzzreal.campaign(name, args, args.corpus or corpus_dir(name),
                                                  out, env)
    if interrupted:
        return 128 + interrupted
    return EXIT_FAIL if camp.findings else EXIT_OK


def make_out(args, name):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = os.path.abspath(args.out or os.path.join(paths.default_out_root(),
                                                    f"fuzz-{name[5:]}-{stamp}"))
    out = {k: os.path.join(root, k) for k in ("corpus", "crashes", "logs", "findings",
                                                "sync")}
    out["root"] = root
    for k in ("corpus", "crashes", "logs", "findings"):
        os.makedirs(out[k], exist_ok=True)
    return out


def main(args):
    if args.live and not args.name:
        args.name = "sequence"      # the live driver's operations are its records
    if args.list or not args.name:
        for n in FUZZERS:
            print(n + ("  (faults: " + FAULT_ROLE[n] + ")" if n in FAULT_ROLE else ""))
        return EXIT_OK if args.list else EXIT_USAGE
    name = fuzzer_name(args.name)
    if args.live and (not args.against or fuzzer_name(args.name) != "fuzz_shmem_sequence"):
        raise ConfigError("--live goes with --against a front-end (its operations are "
                          "fuzz_shmem_sequence records: no other fuzzer name)")
    if args.to_cases and args.against:
        raise ConfigError("--to-cases and --against: one or the other")
    if args.to_cases:
        return to_cases(name, args)
    if args.against:
        return against(name, args)
    if args.corpus or args.regions:
        raise ConfigError("--corpus and --regions go with --to-cases or --against "
                          "(a campaign starts from corpus/NAME)")
    if args.known or args.stop_at_first or args.command:
        raise ConfigError("--known, --stop-at-first and --command go with --against")
    faults = check_faults(name, args.fault)
    if args.seconds < 1 or args.jobs < 1:
        raise ConfigError("--seconds and --jobs must be at least 1")
    why = engine_missing(args.engine)
    if why:
        raise HarnessError(f"--engine {args.engine}: {why}")
    out = make_out(args, name)
    targets = [name, "vhu-fuzzcase"] + (["fuzz_shmem_sequence_mutator.so"]
                        if args.engine == "afl" and name == "fuzz_shmem_sequence" else [])
    ensure_build(args.engine, targets, os.path.join(out["logs"], "build.log"))
    if args.engine == "afl" and not engine_missing("libfuzzer"):
        try:   # symbolized stacks for triage; the campaign does not need it
            ensure_build("libfuzzer", [name], os.path.join(out["logs"], "build.log"))
        except HarnessError:
            pass
    meta = {"fuzzer": name, "engine": args.engine, "jobs": args.jobs,
            "seconds": args.seconds, "faults": faults,
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"vhucheck fuzz: {name} ({args.engine}, {args.jobs} job(s), {args.seconds} s"
          + (f", faults {','.join(faults)}" if faults else "") + f") -> {paths.relpath(out['root'])}",
          file=sys.stderr)
    run = run_afl if args.engine == "afl" else run_libfuzzer
    started = time.time()
    with sigterm_interrupts():
        rc, points, interrupted = run(name, faults, args.seconds, args.jobs, out)
    if interrupted:
        # What was found so far still counts; minimizing would keep the
        # user waiting, so the inputs are kept as found.
        meta["interrupted_after_s"] = round(time.time() - started, 1)
        print(f"vhucheck fuzz: interrupted after {meta['interrupted_after_s']} s; "
              "triaging what was found", file=sys.stderr)
    files = crash_files(args.engine, out)
    findings = triage(args.engine, name, faults, files, out["findings"],
                      not args.no_minimize and not interrupted)
    summary = summarize(args.engine, out, points, time.time() - started
                        if interrupted else args.seconds)
    edges = campaign_edges(args.engine, name, faults, out, started)
    write_report(out, meta, summary, points, findings, edges)
    print(markdown(meta, summary, points, findings, edges))
    if interrupted:
        return 128 + interrupted
    if rc not in (0, EXIT_CODES["finding"]) and not files and not points:
        raise HarnessError(f"the engine failed (status {rc}); see {paths.relpath(out['logs'])}")
    return EXIT_FAIL if findings else EXIT_OK
