"""One fuzz campaign on a fuzzer of fuzzers/ (docs/fuzzing.md): the
engine's build, the engine run for --seconds on --jobs cores, triage of
what crashed, the edges-over-time curve and the report, in
reports/out/fuzz-NAME-TIME/ (or --out).
"""

import os
import sys
import time

from vhucheck import paths
from vhucheck.errors import EXIT_FAIL, EXIT_OK, ConfigError, HarnessError
from vhucheck.fuzz import coverage
from vhucheck.fuzz.engines import (EXIT_CODES, binary, check_faults, corpus_dir, engine_missing,
                                   ensure_build, fault_env, run_afl, run_libfuzzer,
                                   sigterm_interrupts)
from vhucheck.fuzz.report import markdown, summarize, write_report
from vhucheck.fuzz.triage import crash_files, triage


def campaign_edges(engine, name, faults, out, started):
    """fuzz/coverage.py's curve; builds the AFL++ build for it when AFL++ is here."""
    if engine_missing("afl"):
        return None
    try:
        ensure_build("afl", [name], os.path.join(out["logs"], "build.log"))
    except HarnessError:
        return None
    return coverage.campaign_edges(engine, out, corpus_dir(name), started,
                                   binary("afl", name), fault_env(faults))


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


def run(name, args):
    """The campaign of `vhucheck fuzz NAME` (no --to-cases, no --against)."""
    faults = check_faults(name, args.fault)
    if args.seconds < 1 or args.jobs < 1:
        raise ConfigError("--seconds and --jobs must be at least 1")
    if paths.checkout_only("a fuzz campaign"):     # --to-cases, --against need no build
        raise ConfigError(paths.checkout_only("a fuzz campaign"))
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
