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
                                  replayed in order (fuzz/coverage.py)
        findings/N-<sig>/         input, minimized, stack.txt, repro.vhu
        corpus/                   the campaign's corpus (seeded from corpus/NAME)
        logs/                     engine and build logs
"""

import os
import re
import shlex
import sys
import time

from vhucheck import paths, profile as P
from vhucheck.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, ConfigError
from vhucheck.fuzz import against as fuzzagainst, campaign, cases, live as fuzzlive
from vhucheck.fuzz.engines import (ENGINES, FAULT_ROLE, FUZZERS, corpus_dir, fuzzer_name,
                                   sigterm_interrupts)

HELP = "fuzz campaigns over the harness's decoders and the reference targets"
DESCRIPTION = __doc__
EPILOG = """\
examples:
  vhucheck fuzz shmem_map --seconds 300 --jobs 2
  vhucheck fuzz fuzz_shmem_sequence --engine afl --fault fe_unmap_partial
  vhucheck fuzz --list
exit status: 0 no finding, 1 findings, 2 usage, 3 build or engine failure,
130/143 interrupted by SIGINT/SIGTERM (found inputs triaged, report written)."""


def add_arguments(p):
    p.add_argument("name", nargs="?", help="fuzzer: " + ", ".join(FUZZERS)
                   + " (the fuzz_ / fuzz_shmem_ prefix may be left out)")
    p.add_argument("--engine", choices=ENGINES, default="libfuzzer")
    p.add_argument("--seconds", type=int, default=60, help="campaign length (default 60)")
    p.add_argument("--jobs", type=int, default=1, help="cores: libFuzzer -fork=N, "
                   "AFL++ one -M and N-1 -S instances (default 1)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="fuzz the reference with this fault (VHU_FAULTS); repeatable")
    p.add_argument("--out", help=f"campaign directory (default {paths.out_label()}/fuzz-NAME-TIME)")
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
                   help="with --against: one target process, operations streamed into "
                        "it and judged as they go; restarted only after a violation "
                        "(vhu-fuzzlive, vhu-fuzzlive-be for a back-end; docs/fuzzing.md, "
                        "\"Live mode\")")
    p.add_argument("--known", metavar="FILE",
                   help="with --against: signatures already known (one a line, an "
                        "earlier campaign's report.json, or an expectations file: its "
                        "table for the target): their hits are counted, not kept, and "
                        "the report gives the share of time spent on them")
    p.add_argument("--edges", action="store_true",
                   help="with --live: the target's AFL++ edge coverage as feedback "
                        "besides the protocol states (a target built with afl-clang-fast; "
                        "one built without it is reported as not instrumented; "
                        "docs/fuzzing.md, \"Edge coverage\")")



def to_cases(name, args):
    corpus = args.corpus or corpus_dir(name)
    written, skipped, dups = cases.write_cases(name, corpus, args.to_cases, args.regions)
    print(f"vhucheck fuzz: {written} cases from {paths.relpath(corpus)} in "
          f"{paths.relpath(args.to_cases)} ({skipped} inputs with no message, "
          f"{dups} duplicates)", file=sys.stderr)
    print(f"run them: VHUCHECK_SUITES={shlex.quote(paths.relpath(args.to_cases))} "
          "./vhucheck run --target TARGET", file=sys.stderr)
    return EXIT_OK


def against(name, args):
    if args.seconds < 1 or args.jobs < 1 or args.batch < 1:
        raise ConfigError("--seconds, --jobs and --batch must be at least 1")
    if args.regions is None:        # the sizes the target accepts, from its profile
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
            camp, interrupted = fuzzlive.campaign(args, out, env)
        else:
            camp, interrupted = fuzzagainst.campaign(name, args,
                                                     args.corpus or corpus_dir(name), out, env)
    if interrupted:
        return 128 + interrupted
    return EXIT_FAIL if camp.findings else EXIT_OK


def main(args):
    if args.live and not args.name and args.against:
        args.name = fuzzlive.fuzzer_of(args.against)   # the driver's records
    elif args.live and not args.name:
        args.name = "sequence"
    if args.list or not args.name:
        for n in FUZZERS:
            print(n + ("  (faults: " + FAULT_ROLE[n] + ")" if n in FAULT_ROLE else ""))
        return EXIT_OK if args.list else EXIT_USAGE
    name = fuzzer_name(args.name)
    if args.edges and not args.live:
        raise ConfigError("--edges goes with --live (the stream reads the target's map)")
    if args.live and (not args.against or name != fuzzlive.fuzzer_of(args.against)):
        raise ConfigError("--live goes with --against a target, and no other fuzzer name "
                          "than its records': fuzz_shmem_sequence for a front-end, "
                          "fuzz_backend_replies for a back-end")
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
    return campaign.run(name, args)
