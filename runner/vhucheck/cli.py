"""The vhucheck command line: one module per subcommand.

A subcommand NAME lives in ``vhucheck/<module>.py`` (the table below) and
defines ``HELP`` (one line), optionally ``DESCRIPTION`` and ``EPILOG``,
``add_arguments(parser)`` and ``main(args) -> int``; ``MODULE:NAME`` names
an object in the module instead. Only the CORE commands must load: any
other one whose module is missing says "not built yet" and exits 2, and
a broken one says so and exits 3, without breaking the rest.
"""

import argparse
import importlib
import importlib.util
import sys

from vhucheck import __version__, paths
from vhucheck.errors import EXIT_HARNESS, EXIT_USAGE, VhuError

COMMANDS = (
    ("run", "run"),
    ("list", "listing"),
    ("targets", "targets"),
    ("faults", "faults"),
    ("report", "report"),
    ("compare", "compare"),
    ("reduce", "reduce"),
    ("fuzz", "fuzz"),
    ("bench", "bench"),
    # monitor mode (docs/monitor.md); MODULE:NAME is an object in MODULE
    ("monitor", "monitor"),
    ("trace", "tracecmd:trace"),
    ("replay", "tracecmd:replay"),
    ("pcap", "tracecmd:pcap"),
)
# Commands this package ships; every other entry of COMMANDS is optional:
# when its module is missing or broken, the command says so and the rest
# of the CLI still works.
CORE = {"run", "list", "targets", "faults", "report", "compare", "reduce"}
OPTIONAL_HELP = {"fuzz": "fuzz campaigns over the harness's decoders and the references",
                 "bench": "benchmarks of the harness and the targets"}

EPILOG = """\
exit status: 0 pass, 1 failures, 2 usage or configuration error,
3 harness error, 128+N interrupted by signal N (130 for Ctrl-C).
See docs/runner.md; `vhucheck COMMAND --help` for each command."""


class Placeholder:
    """Stands in for a subcommand whose module is not there (yet)."""

    def __init__(self, name, problem=None):
        self.name, self.problem = name, problem
        base = OPTIONAL_HELP.get(name, name)
        self.HELP = base + (" (not built yet)" if problem is None else " (broken)")

    def add_arguments(self, p):
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(_takes_rest=True)

    def main(self, args):
        if self.problem:
            print(f"vhucheck {self.name}: cannot load: {self.problem}", file=sys.stderr)
            return EXIT_HARNESS
        print(f"vhucheck {self.name}: not built yet", file=sys.stderr)
        return EXIT_USAGE


def load(name, spec):
    """The object implementing a command: a module vhucheck.MODULE, or
    MODULE:NAME, an attribute of it."""
    module, _, attr = spec.partition(":")
    full = f"vhucheck.{module}"
    if name in CORE:
        mod = importlib.import_module(full)
        return getattr(mod, attr) if attr else mod
    try:
        if importlib.util.find_spec(full) is None:
            return Placeholder(name)
        mod = importlib.import_module(full)
        return getattr(mod, attr) if attr else mod
    except Exception as e:          # a broken optional module must not break the rest
        return Placeholder(name, f"{type(e).__name__}: {e}")


def build_parser():
    version = paths.project_version(__version__)
    parser = argparse.ArgumentParser(
        prog="vhucheck", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Conformance suite for the vhost-user Shared Memory extension "
                    "(SHMEM_MAP, SHMEM_UNMAP, GET_SHMEM_CONFIG) and the back-end channel.",
        epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"vhucheck {version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, module in COMMANDS:
        mod = load(name, module)
        sp = sub.add_parser(name, help=mod.HELP,
                            description=getattr(mod, "DESCRIPTION", mod.HELP),
                            epilog=getattr(mod, "EPILOG", None),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(sp)
        sp.set_defaults(_main=mod.main)
    return parser


def main(argv=None):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "_takes_rest", False):
        parser.parse_args(argv)          # reports the unknown arguments, exits 2
    if not getattr(args, "_main", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args._main(args)
    except VhuError as e:
        print(f"vhucheck: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:          # `vhucheck list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("vhucheck: interrupted", file=sys.stderr)
        return 130
