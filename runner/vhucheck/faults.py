"""vhucheck faults: the fault catalogue the reference targets implement."""

import textwrap

from vhucheck import catalogue, paths

HELP = "list the injectable faults (targets/faults/catalogue.ini)"
DESCRIPTION = """\
List the faults of targets/faults/catalogue.ini. `vhucheck run --fault NAME`
builds a reference target with the fault switched on; the cases listed
for a fault are the ones expected to catch it (the run reports which did)."""


def add_arguments(p):
    p.add_argument("--role", choices=("frontend", "backend"),
                   help="only faults of reference targets of this role")
    p.add_argument("--names", action="store_true", help="names only, one a line")


def main(args):
    faults = [f for f in catalogue.load().values() if not args.role or f.role == args.role]
    if args.names:
        for f in faults:
            print(f.name)
        return 0
    if not faults:
        print(f"no faults in {paths.relpath(paths.fault_catalogue())}")
        return 0
    w = max(len(f.name) for f in faults)
    for f in faults:
        print(f"{f.name.ljust(w)}  {f.role:<8}  {f.klass}")
        indent = " " * (w + 2)
        print(textwrap.fill(f"rule: {f.rule}", 100, initial_indent=indent,
                            subsequent_indent=indent + "  "))
        print(textwrap.fill(f"caught by: {' '.join(f.cases)}", 100, initial_indent=indent,
                            subsequent_indent=indent + "  "))
    return 0
