"""vhucheck bench: measurements, one sub-command each.

    bench suite   the whole suite against both references: wall time and
                  where it goes (bench/suite.py, docs/bench.md)
    bench fuzz    fuzzer speed, AFL++ stability, executions to each fault
                  (bench/fuzz.py, docs/fuzzing.md)
    bench targets each target's bare start-to-quit against the suite's
                  per-case cost, per phase (bench/targets.py, docs/bench.md)
    bench against the references' faults found by fuzzing them as outside
                  programs, judged by the model (bench/against.py)
    bench live    live mode (fuzz --against T --live): operations per second
                  against --against and a target's own MAP/UNMAP ceiling, and
                  the front-end faults found (bench/live.py)

A sub-command whose module cannot be loaded says so and exits 3; the
other still works.
"""

import argparse
import importlib
import sys

from vhucheck.errors import EXIT_HARNESS, EXIT_USAGE

HELP = "benchmarks: the suite's wall time (suite), the fuzzers (fuzz, against), per-case cost (targets)"
DESCRIPTION = __doc__
SUBCOMMANDS = (("suite", "bench.suite"), ("fuzz", "bench.fuzz"), ("targets", "bench.targets"),
               ("against", "bench.against"), ("live", "bench.live"))


class Broken:
    """Stands in for a sub-command module that failed to import."""

    def __init__(self, name, problem):
        self.name, self.problem = name, problem
        self.HELP = f"(cannot load: {problem})"

    def add_arguments(self, p):
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(_takes_rest=True)

    def main(self, args):
        print(f"vhucheck bench {self.name}: cannot load: {self.problem}", file=sys.stderr)
        return EXIT_HARNESS


def load(name, module):
    try:
        return importlib.import_module(f"vhucheck.{module}")
    except Exception as e:          # one broken benchmark must not break the other
        return Broken(name, f"{type(e).__name__}: {e}")


def add_arguments(p):
    sub = p.add_subparsers(dest="bench", metavar="WHAT", title="benchmarks")
    for name, module in SUBCOMMANDS:
        mod = load(name, module)
        sp = sub.add_parser(name, help=mod.HELP,
                            description=getattr(mod, "DESCRIPTION", mod.HELP),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(sp)
        sp.set_defaults(_bench_main=mod.main)
    p.set_defaults(_bench_parser=p)


def main(args):
    run = getattr(args, "_bench_main", None)
    if run is None:
        args._bench_parser.print_usage(sys.stderr)
        print("vhucheck bench: say which benchmark: suite, fuzz or targets", file=sys.stderr)
        return EXIT_USAGE
    return run(args)
