"""The vhucheck command line: one module per subcommand.

A subcommand NAME lives in ``vhucheck/<module>.py`` (the table below; a
dotted module is one of a package: ``fuzz.cli`` is ``vhucheck/fuzz/cli.py``) and
defines ``HELP`` (one line), optionally ``DESCRIPTION`` and ``EPILOG``,
``add_arguments(parser)`` and ``main(args) -> int``; ``MODULE:NAME`` names
an object in the module instead. A command outside CORE whose module is
not there says "not built yet" and exits 2; a module that is there but
does not import is an error of the package: its traceback, exit 3.
"""

import argparse
import importlib
import importlib.util
import sys
import traceback

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
    ("fuzz", "fuzz.cli"),
    ("bench", "bench.cli"),
    # monitor mode (docs/monitor.md); MODULE:NAME is an object in MODULE
    ("monitor", "monitor"),
    ("trace", "tracecmd:trace"),
    ("replay", "tracecmd:replay"),
    ("pcap", "tracecmd:pcap"),
)
# Commands that must be there; every other entry of COMMANDS may be left
# out of a copy of the package (its module missing): that command says so
# and the rest of the CLI still works. A module that is there always loads.
CORE = {"run", "list", "targets", "faults", "report", "compare", "reduce"}
# Commands that build into the source tree or measure it: a checkout's
# only (the installed vhucheck says so, exit 2).
CHECKOUT_ONLY = {"bench": "benchmarking"}
OPTIONAL_HELP = {"fuzz": "fuzz campaigns over the harness's decoders and the references",
                 "bench": "benchmarks of the harness and the targets"}

EPILOG = """\
exit status: 0 pass, 1 failures, 2 usage or configuration error,
3 harness error, 128+N interrupted by signal N (130 for Ctrl-C).
See docs/runner.md; `vhucheck COMMAND --help` for each command."""


class Placeholder:
    """Stands in for an optional subcommand whose module is not there."""

    def __init__(self, name):
        self.name = name
        self.HELP = OPTIONAL_HELP.get(name, name) + " (not built yet)"

    def add_arguments(self, p):
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(_takes_rest=True)

    def main(self, args):
        print(f"vhucheck {self.name}: not built yet", file=sys.stderr)
        return EXIT_USAGE


def load(name, spec):
    """The object implementing a command: a module vhucheck.MODULE, or
    MODULE:NAME, an attribute of it. Only an optional module that is not
    there at all becomes a Placeholder: a module that is there but fails
    to import is a bug, and its error is not hidden (main says so)."""
    module, _, attr = spec.partition(":")
    full = f"vhucheck.{module}"
    if name not in CORE and importlib.util.find_spec(full) is None:
        return Placeholder(name)
    mod = importlib.import_module(full)
    return getattr(mod, attr) if attr else mod


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
    try:
        parser = build_parser()
    except Exception:               # a module of ours that does not load: show why
        traceback.print_exc()
        print("vhucheck: internal error: a command module failed to load (above)",
              file=sys.stderr)
        return EXIT_HARNESS
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "_takes_rest", False):
        parser.parse_args(argv)          # reports the unknown arguments, exits 2
    if not getattr(args, "_main", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    why = args.command in CHECKOUT_ONLY and paths.checkout_only(CHECKOUT_ONLY[args.command])
    if why:
        print(f"vhucheck {args.command}: {why}", file=sys.stderr)
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
