"""vhucheck bench fuzz: how fast and how good the fuzz targets are, measured
Magma-style (docs/fuzzing.md, "Measuring").

Per fuzzer: executions per second on one core (the libFuzzer campaign
build, ASan+UBSan; and the AFL++ build, no sanitizer), AFL++ stability,
and for every fault of the reference within its reach the executions to
the first finding: RUNS campaigns with seeds 1..RUNS from a benign seed,
each stopped at its first finding or after BUDGET seconds; the median
over the runs that found it and how many did. The same run measures the
calibrator (bench/fuzz/calibrate.c): the raw socketpair + SCM_RIGHTS
round trip every in-process back-end channel fuzzer pays at least.

Writes bench.md and bench.json under reports/out/bench-fuzz-TIME/ and
prints the markdown.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from vhucheck import catalogue, paths
from vhucheck.errors import EXIT_OK, ConfigError, HarnessError
from vhucheck.fuzz import engines

HELP = "fuzzer speed, AFL++ stability and executions to each fault (Magma-style)"
DESCRIPTION = __doc__

# Faults each fuzzer can reach by design (docs/fuzzing.md explains the rest).
MAP_REACH_EXCLUDES = {"fe_memtable_before_reply", "fe_reset_keeps_mappings",
                      "fe_abort_nregions", "fe_memtable_blocks_backend",
                      "fe_memtable_overcommit"}
# fuzz_backend_replies sends each reply in one write and counts no fds;
# it drives refbe in-process, without the program's poll loop where the
# main channel is left alone while a reply is due.
REPLIES_REACH_EXCLUDES = {"be_split_header_lost", "be_keeps_reply_fds",
                          "be_blocks_main_while_waiting"}


def reach(name, faults):
    role = engines.FAULT_ROLE.get(name)
    names = [f.name for f in faults.values() if f.role == role]
    if name == "fuzz_shmem_map":
        names = [n for n in names if n not in MAP_REACH_EXCLUDES]
    if name == "fuzz_backend_replies":
        names = [n for n in names if n not in REPLIES_REACH_EXCLUDES]
    return sorted(names)


def benign_seed(name):
    """One input that finds nothing on the fault-free reference: every
    fault must be reached by fuzzing, not by the seed."""
    mmap = struct.pack("<B7sQQQQ", 0, b"\0" * 7, 0, 0x2000, 0x1000, 1)
    if name == "fuzz_shmem_map":
        return bytes([2, 0]) + struct.pack("<III", 9, 9, 40) + mmap
    if name == "fuzz_shmem_sequence":
        return (struct.pack("<BBBBIQQQ", 0, 2, 0, 3, 0, 2, 2, 0) +
                struct.pack("<BBBBIQQQ", 1, 0, 0, 2, 0, 2, 2, 0))
    if name == "fuzz_backend_replies":
        return struct.pack("<BBBBBBHII", 0, 0, 0, 0, 0, 0, 0, 2, 2)
    if name == "fuzz_proto":
        return bytes([2, 1, 0]) + struct.pack("<III", 9, 9, 40) + mmap
    return b"\x07id fuzz_case\n"


def run_bounded(args, env, timeout):
    """(status, output); a run that overruns is killed: (None, output)."""
    try:
        r = subprocess.run(args, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace",
                           timeout=timeout)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else ""
        return None, out


# ------------------------------------------------------------ calibrator

def build_calibrator(out_dir):
    src = os.path.join(paths.top(), "bench", "fuzz", "calibrate.c")
    exe = os.path.join(out_dir, "calibrate")
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if subprocess.run([cc, "-O2", "-std=c11", "-o", exe, src]).returncode:
        raise HarnessError(f"cannot build {paths.relpath(src)}")
    return exe


def calibrate(exe, seconds, with_mmap=False):
    """Round trips per second: the plain one, or with the mmap pair an
    accepted MAP cannot avoid (bench/fuzz/calibrate.c)."""
    args = [exe, str(seconds)] + (["mmap"] if with_mmap else [])
    r = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(r.stdout)["per_sec"]


def side_by_side(exe, measure, with_mmap=False):
    """(rate, calibrator rate): the calibrator runs for a second right
    before and right after the measurement and the two are averaged, so
    that a ratio compares rates taken under the same load (a shared VM
    moves both by tens of percent over minutes)."""
    before = calibrate(exe, 1, with_mmap)
    rate = measure()
    after = calibrate(exe, 1, with_mmap)
    return rate, (before + after) / 2


def ratio(rate, calib):
    return round(rate / calib, 3) if rate and calib else None


# ------------------------------------------------------------------ speed

def libfuzzer_speed(name, seconds, work):
    """Average exec/s of one non-fork libFuzzer process on the corpus."""
    b = engines.binary("libfuzzer", name)
    corpus = tempfile.mkdtemp(dir=work)
    args = [b] + engines.libfuzzer_exit_flags(b) + [
        f"-max_total_time={seconds}", "-print_final_stats=1",
        f"-artifact_prefix={corpus}/", corpus, engines.corpus_dir(name)]
    _, text = run_bounded(args, engines.fault_env([]), seconds + 120)
    m = re.search(r"stat::average_exec_per_sec:\s+(\d+)", text)
    return int(m.group(1)) if m else None


def target_speed(name, repeat=100):
    """Runs/s of the target alone: the AFL++ build (no sanitizer) replaying
    its corpus VHU_FUZZ_REPEAT times per input, no engine in the way."""
    env = dict(engines.fault_env([]), VHU_FUZZ_REPEAT=str(repeat))
    _, text = run_bounded([engines.binary("afl", name), engines.corpus_dir(name)], env, 600)
    m = re.search(r"runs, (\d+)/s\)", text)
    return int(m.group(1)) if m else None


# The inputs map_input_speeds replays: one accepted MAP (shmid 0,
# 0x2000+0x1000, rw, memfd), the same refused (len 0), and the accepted
# one beside the live mapping of state 0x02 (the rig that keeps it).
def map_inputs():
    accepted = benign_seed("fuzz_shmem_map")
    refused = accepted[:2 + 12 + 24] + b"\0" * 8 + accepted[2 + 12 + 32:]
    beside = accepted[:1] + b"\x02" + accepted[2:]
    return [("MAP accepted", accepted, True), ("MAP refused (len 0)", refused, False),
            ("MAP accepted beside a live mapping (0x02)", beside, True)]


def replay_rate(path, repeat):
    env = dict(engines.fault_env([]), VHU_FUZZ_REPEAT=str(repeat))
    _, text = run_bounded([engines.binary("afl", "fuzz_shmem_map"), path], env, 600)
    m = re.search(r"runs, (\d+)/s\)", text)
    return int(m.group(1)) if m else None


def map_input_speeds(exe, work, rounds=3, repeat=50000):
    """fuzz_shmem_map alone (AFL++ build, no engine) on single inputs, each
    beside the plain calibrator and, for accepted MAPs, the one with the
    mmap pair: median over rounds of rate and ratios."""
    rows = []
    for label, data, accepted in map_inputs():
        path = os.path.join(work, "map-input")
        with open(path, "wb") as f:
            f.write(data)
        rates, plain, mapped = [], [], []
        for _ in range(rounds):
            rate, calib = side_by_side(exe, lambda: replay_rate(path, repeat))
            rates.append(rate or 0)
            plain.append(ratio(rate, calib) or 0)
            if accepted:
                mapped.append(ratio(*side_by_side(
                    exe, lambda: replay_rate(path, repeat), with_mmap=True)) or 0)
        rows.append({"input": label, "per_sec": int(statistics.median(rates)),
                     "vs_calibrator": statistics.median(plain),
                     "vs_calibrator_mmap": statistics.median(mapped) if mapped else None})
    return rows


def fuzzer_speed(name, exe, seconds, work):
    """exec/s of the target alone and under each engine; for
    fuzz_shmem_map (one message per input, comparable with one round
    trip) each beside the calibrator."""
    afl = {}
    measures = {"target": lambda: target_speed(name),
                "libfuzzer": lambda: libfuzzer_speed(name, seconds, work),
                "afl": lambda: afl.setdefault("r", afl_speed(name, seconds, work))[0]}
    row = {}
    for k, measure in measures.items():
        if name == "fuzz_shmem_map":
            row[k], calib = side_by_side(exe, measure)
            row.setdefault("vs_calibrator", {})[k] = ratio(row[k], calib)
        else:
            row[k] = measure()
    row["stability"] = afl.get("r", (None, None))[1]
    print(f"bench fuzz: {name}: {row}", file=sys.stderr)
    return row


def afl_speed(name, seconds, work):
    """(exec/s, stability) of one AFL++ instance from the corpus."""
    sync = tempfile.mkdtemp(dir=work)
    args = engines.afl_args(name, "main", True, sync, seconds)
    run_bounded(args, engines.afl_env(name, []), seconds + 120)
    st = engines.afl_stats(os.path.join(sync, "main"))
    eps = st.get("execs_per_sec")
    return (round(float(eps)) if eps else None), st.get("stability")


# ------------------------------------------------------- time to finding

def first_finding_libfuzzer(name, fault, seed, budget, work, exit_flags):
    """Executions to the first finding (None if none within budget)."""
    d = tempfile.mkdtemp(dir=work)
    seeds, corpus = os.path.join(d, "seeds"), os.path.join(d, "corpus")
    os.makedirs(seeds)
    os.makedirs(corpus)
    with open(os.path.join(seeds, "benign"), "wb") as f:
        f.write(benign_seed(name))
    b = engines.binary("libfuzzer", name)
    opts = engines.options(name)
    args = [b] + exit_flags + [
        f"-seed={seed}", f"-max_total_time={budget}", "-print_final_stats=1",
        f"-max_len={opts.get('max_len', '4096')}", f"-artifact_prefix={d}/", corpus, seeds]
    dct = os.path.join(paths.top(), "corpus", name + ".dict")
    if os.path.exists(dct):
        args.insert(1, f"-dict={dct}")
    t0 = time.monotonic()
    rc, text = run_bounded(args, engines.fault_env([fault]), budget + 120)
    secs = time.monotonic() - t0
    shutil.rmtree(d, ignore_errors=True)
    if rc in (0, None):
        return None, secs
    m = re.search(r"stat::number_of_executed_units:\s+(\d+)", text)
    return (int(m.group(1)) if m else -1), secs


def first_finding_afl(name, fault, seed, budget, work, exit_flags):
    d = tempfile.mkdtemp(dir=work)
    seeds = os.path.join(d, "seeds")
    os.makedirs(seeds)
    with open(os.path.join(seeds, "benign"), "wb") as f:
        f.write(benign_seed(name))
    args = ["afl-fuzz", "-s", str(seed), "-i", seeds, "-o", os.path.join(d, "out"),
            "-V", str(budget), "-t", "2000", "-m", "none", "--", engines.binary("afl", name)]
    env = dict(engines.afl_env(name, [fault]), AFL_BENCH_UNTIL_CRASH="1")
    t0 = time.monotonic()
    _, text = run_bounded(args, env, budget + 120)
    secs = time.monotonic() - t0
    if "program crashed with one of the test cases" in text:
        shutil.rmtree(d, ignore_errors=True)
        return 1, secs     # the benign seed already trips the fault
    crashes = os.path.join(d, "out", "default", "crashes")
    execs = [int(m.group(1)) for f in (os.listdir(crashes) if os.path.isdir(crashes) else [])
             for m in [re.search(r"execs:(\d+)", f)] if m]
    shutil.rmtree(d, ignore_errors=True)
    return (min(execs) if execs else None), secs


def fault_row(name, fault, results):
    found = [e for e, _ in results if e is not None]
    secs = [s for e, s in results if e is not None]
    return {"fuzzer": name, "fault": fault, "runs": len(results), "found": len(found),
            "median_execs": int(statistics.median(found)) if found else None,
            "median_seconds": round(statistics.median(secs), 2) if secs else None}


def time_to_findings(engine, names, faults_filter, runs, budget, jobs, work):
    known = catalogue.load()
    tasks = [(n, f, s) for n in names for f in reach(n, known)
             if not faults_filter or f in faults_filter for s in range(1, runs + 1)]
    run = first_finding_afl if engine == "afl" else first_finding_libfuzzer
    flags = {n: engines.libfuzzer_exit_flags(engines.binary("libfuzzer", n)) for n in names}
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {pool.submit(run, n, f, s, budget, work, flags[n]): (n, f)
                for n, f, s in tasks}
        for fut in concurrent.futures.as_completed(futs):
            results.setdefault(futs[fut], []).append(fut.result())
    return [fault_row(n, f, results[(n, f)]) for n, f in sorted(results)]


# ---------------------------------------------------------------- output

def pct(r):
    return f"{100 * r:.0f}%" if r else "-"


def markdown(calib, speed, rows, meta, map_rates=None):
    lines = ["# Fuzzer benchmark", "",
             f"{meta['date']}, {meta['cores']} cores; time-to-finding: {meta['engine']}, "
             f"{meta['runs']} runs of at most {meta['budget']} s from one benign seed.", "",
             f"Calibrator (socketpair + SCM_RIGHTS round trip, no handler): "
             f"**{calib['per_sec']:.0f}/s**; with the mmap pair an accepted MAP "
             f"cannot avoid: {calib['mmap_per_sec']:.0f}/s. Every ratio below is "
             "against the calibrator run right before and after that measurement.", "",
             "exec/s on one core. *target*: the AFL++ build replaying its corpus with "
             "no engine (the fuzz target's own cost); libFuzzer: the ASan+UBSan "
             "campaign build; AFL++: persistent mode, no sanitizer.", "",
             "| fuzzer | target | libFuzzer | AFL++ | AFL++ stability "
             "| vs calibrator (target / libFuzzer / AFL++) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for n, s in speed.items():
        # One message per input only in fuzz_shmem_map: the others'
        # inputs are sequences, not comparable with one round trip.
        vs = s.get("vs_calibrator")
        cell = " / ".join(pct(vs.get(k)) for k in ("target", "libfuzzer", "afl")) if vs else "-"
        lines.append(f"| {n} | {s.get('target') or '-'} | {s.get('libfuzzer') or '-'} | "
                     f"{s.get('afl') or '-'} | {s.get('stability') or '-'} | {cell} |")
    if map_rates:
        lines += ["", "fuzz_shmem_map alone (AFL++ build, no engine), one input replayed "
                  "(median of 3 rounds):", "",
                  "| input | runs/s | vs calibrator | vs calibrator with mmap |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r['input']} | {r['per_sec']} | {pct(r['vs_calibrator'])} | "
                  f"{pct(r['vs_calibrator_mmap'])} |" for r in map_rates]
    lines += ["", "| fuzzer | fault | found | median execs to finding | median s |",
              "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['fuzzer']} | {r['fault']} | {r['found']}/{r['runs']} | "
                     f"{r['median_execs'] if r['median_execs'] is not None else '-'} | "
                     f"{r['median_seconds'] if r['median_seconds'] is not None else '-'} |")
    found = sum(1 for r in rows if r["found"])
    lines += ["", f"{found} of {len(rows)} (fuzzer, fault) pairs found in at least one run."]
    return "\n".join(lines) + "\n"


def add_arguments(p):
    p.add_argument("--engine", choices=engines.ENGINES, default="libfuzzer",
                   help="engine of the time-to-finding runs (default libfuzzer)")
    p.add_argument("--runs", type=int, default=5, help="seeds per fault (default 5)")
    p.add_argument("--budget", type=int, default=20,
                   help="seconds per run before giving up (default 20)")
    p.add_argument("--speed-seconds", type=int, default=10,
                   help="length of each exec/s measurement (default 10)")
    p.add_argument("--fuzzer", action="append", default=[], metavar="NAME",
                   help="only these fuzzers (repeatable)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="only these faults (repeatable)")
    p.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    p.add_argument("--out", help="directory (default reports/out/bench-fuzz-TIME)")


def build_all(names, engines, log):
    for engine in engines:
        why = engines.engine_missing(engine)
        if why:
            raise HarnessError(f"{engine}: {why}")
        targets = names + (["fuzz_shmem_sequence_mutator.so"]
                           if engine == "afl" and "fuzz_shmem_sequence" in names else [])
        engines.ensure_build(engine, targets, log)


def main(args):
    names = [engines.fuzzer_name(n) for n in args.fuzzer] or list(engines.FUZZERS)
    if args.runs < 1 or args.budget < 1 or args.jobs < 1:
        raise ConfigError("--runs, --budget and --jobs must be at least 1")
    out = os.path.abspath(args.out or os.path.join(
        paths.default_out_root(), "bench-fuzz-" + time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    build_all(names, ["libfuzzer", "afl"], os.path.join(out, "build.log"))
    work = tempfile.mkdtemp(prefix="vhu-bench-fuzz-")
    try:
        exe = build_calibrator(out)
        calib = {"per_sec": calibrate(exe, 2), "mmap_per_sec": calibrate(exe, 2, True)}
        speed = {n: fuzzer_speed(n, exe, args.speed_seconds, work) for n in names}
        map_rates = map_input_speeds(exe, work) if "fuzz_shmem_map" in names else []
        rows = time_to_findings(args.engine, [n for n in names if n in engines.FAULT_ROLE],
                                set(args.fault), args.runs, args.budget, args.jobs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
            "engine": args.engine, "runs": args.runs, "budget": args.budget}
    md = markdown(calib, speed, rows, meta, map_rates)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(dict(meta, calibrator=calib, speed=speed, map_inputs=map_rates,
                       faults=rows), f, indent=1)
    print(md)
    print(f"saved: {paths.relpath(os.path.join(out, 'bench.md'))}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="vhucheck bench fuzz", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
