"""vhucheck targets: the shipped target profiles, validated."""

import sys

from vhucheck import ctlcheck, paths, profile as P
from vhucheck.errors import ConfigError

HELP = "list the target profiles (targets/profiles/*.toml)"
DESCRIPTION = """\
List and validate the target profiles. A profile names the program under
test, its role, how it is launched or reached, and its settings; see
docs/runner.md for the schema. Exits 2 when a profile is invalid.

--check PROFILE launches the target once, as a case would, and exercises
its control channel (docs/control.md): one line per command, ok, missing,
unsupported or wrong. Exits 0 when every item is fine, 1 otherwise.

PROFILE.toml files named here are checked as `run` checks them, their
program too (exit 2 when it cannot be run); in the list of the shipped
profiles, a program not installed here is only noted."""


def add_arguments(p):
    p.add_argument("profiles", nargs="*", metavar="PROFILE.toml",
                   help="validate these files instead of the shipped ones")
    p.add_argument("--check", metavar="NAME|PROFILE.toml",
                   help="exercise this target's control channel (docs/control.md)")
    p.add_argument("--command", metavar="CMD",
                   help="with --check: the command line for exec-backend / exec-frontend")


def main(args):
    if args.check:
        if args.profiles:
            raise ConfigError("--check takes one profile: no other PROFILE.toml")
        return ctlcheck.check(args.check, args.command)
    if args.command is not None:
        raise ConfigError("--command: only with --check")
    files = args.profiles or P.shipped()
    if not files:
        raise ConfigError(f"{paths.relpath(paths.profiles_dir())}: no profile (*.toml)")
    rows, bad, absent = [("NAME", "ROLE", "HARNESS", "SHMEM", "HOW", "DESCRIPTION")], [], []
    build = paths.build_dir()
    for f in files:
        try:
            p = P.load(f)
            # Files named here are checked as `run` would check them; the
            # shipped ones include real targets not installed everywhere.
            if args.profiles:
                P.check_program(p, build)
        except ConfigError as e:
            bad.append(str(e))
            continue
        if P.program_problem(p, build):
            absent.append(f"{p.name} ({paths.relpath(P.program(p, build))})")
        how = "connect " + p.connect if p.connect else "launch" + (", faults" if p.faults else "")
        bit = (str(p.shmem_bit) if p.shmem_bit is not None else
               "case" if P.per_case_bit(p) else f"{P.DEFAULT_SHMEM_BIT}*")
        rows.append((p.name, p.role, p.harness_role, bit, how, p.description))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows if len(rows) > 1 else ():
        print("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
    if any(r[3] == "case" for r in rows[1:]):
        print("(case: the command takes {shmem_bit}; each case gets its own bit, "
              f"by default {P.DEFAULT_SHMEM_BIT})")
    if any(r[3].endswith("*") for r in rows[1:]):
        print(f"(* no shmem_bit in the profile: the default, {P.DEFAULT_SHMEM_BIT})")
    if absent:
        print("(no program here, so `run` refuses them: " + ", ".join(absent) + ")")
    for msg in bad:
        print(f"vhucheck: {msg}", file=sys.stderr)
    return 2 if bad else 0
