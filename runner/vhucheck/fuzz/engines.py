"""The fuzz engines: which fuzzers there are, the engines' build
directories (build-libfuzzer, build-afl), and running libFuzzer (-fork)
or AFL++ (-M/-S) on one fuzzer for a campaign, with their status points
(coverage over time) and a stop on SIGINT/SIGTERM that leaves the
campaign its findings.
"""

import configparser
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from vhucheck import catalogue, paths, supervisor
from vhucheck.errors import ConfigError, HarnessError

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
