"""vhucheck run: run the cases against one or more targets, write reports."""

import dataclasses
import datetime
import os
import shlex
import shutil
import signal
import sys

from vhucheck import (__version__, catalogue, execute, expectations, options, outdir, paths,
                      profile as P, repeat, results, schedule, shared, signature, suite,
                      supervisor)
from vhucheck.errors import ConfigError, EXIT_FAIL, EXIT_HARNESS, EXIT_OK, HarnessError
from vhucheck.progress import COLOURS, Progress
from vhucheck.render import atomic, write_matrix, write_target
from vhucheck.render.text import fault_sentence, first_failure, first_line

HELP = "run cases against targets and write reports"
DESCRIPTION = """\
Run the conformance cases against targets. With no --target, both reference
targets run: ref-frontend (the harness plays the back-end) and ref-backend
(the harness plays the front-end). Each target gets the cases whose 'target'
header is its role (the profile's 'role')."""
EPILOG = """\
exit status:
  0    every verdict passes (PASS, INFO, UNSUPPORTED, NON-STRICT), or every
       failure is one the expectations file lists
  1    failures (regressions against the expectations file); with
       --repeat, a FLAKY case the expectations file does not list
  2    usage or configuration error (nothing was run)
  3    harness error: the harness crashed, hung or exited 3, or a case ERROR
  130  interrupted by SIGINT (143: SIGTERM); partial reports are written

examples:
  ./vhucheck run                                  both reference targets
  ./vhucheck run --target ref-frontend --cases 'shmem_map_*' -j 4
  ./vhucheck run --target qemu.toml --expect qemu-known.toml --out out/
  ./vhucheck run --fault fe_ro_mapped_rw          inject a fault into a reference
  ./vhucheck run --repeat 5 -j 2                  every case 5 times: FLAKY when it flips"""

DEFAULT_TARGETS = ("ref-frontend", "ref-backend")


def add_arguments(p):
    p.add_argument("--target", "-t", action="extend", nargs="+", metavar="NAME|PROFILE.toml",
                   type=options.nonempty, default=[],
                   help="a profile from targets/profiles by name, or a .toml file "
                        "(repeatable; default: ref-frontend and ref-backend)")
    p.add_argument("--fault", action="extend", nargs="+", metavar="NAME", default=[],
                   type=options.nonempty,
                   help="inject a catalogued fault into the reference target of its role "
                        "(repeatable; see ./vhucheck faults)")
    p.add_argument("--shmem-bit", type=options.shmem_bit, metavar="N",
                   help="protocol feature bit of SHMEM for cases that name none (default: the "
                        "profile's, else 22); a profile's fixed shmem_bit takes it too")
    p.add_argument("--cases", "-c", action="extend", nargs="+", metavar="GLOB", default=[],
                   type=options.glob,
                   help="only cases whose id matches (fnmatch; with a '/': area/id)")
    p.add_argument("--exclude", "-x", action="extend", nargs="+", metavar="GLOB", default=[],
                   type=options.glob, help="leave out cases whose id matches")
    p.add_argument("-j", "--jobs", type=options.positive_int, metavar="N",
                   default=os.cpu_count() or 1,
                   help="harness processes in parallel (default: %(default)s, the CPU count)")
    p.add_argument("--repeat", type=options.repeat, metavar="N", default=1,
                   help="run the whole selection N times in a row; a case whose verdict "
                        "changes between runs is FLAKY (default 1)")
    p.add_argument("--timeout-multiplier", type=options.multiplier, metavar="X", default=1.0,
                   help="scale every case deadline (multiplies the profile's own)")
    p.add_argument("--expect", metavar="FILE",
                   help="expectations file (TOML; overrides the profiles' own)")
    p.add_argument("--strict-expect", action="store_true",
                   help="an unexpected pass fails the run too")
    p.add_argument("--out", "-o", metavar="DIR", type=options.nonempty,
                   help=f"report dir (default: {paths.out_label()}/<target>-<YYYYmmdd-HHMMSS>); "
                        "one that holds an earlier run is refused, unless --clean")
    p.add_argument("--clean", action="store_true",
                   help="with --out: remove the earlier run's reports from DIR first "
                        "(only them; other files stay)")
    p.add_argument("--backtrace", action="store_true",
                   help="a crashing target leaves a symbolised backtrace: its CRASH "
                        "signatures then name the functions (preloads "
                        "targets/crashtrace; docs/runner.md)")
    p.add_argument("--schedule", choices=schedule.SCHEDULES, default="auto",
                   help="'auto' (default): each harness launches the next case's target "
                        "(a fresh one) while the current case runs; with -j N > 1 also the "
                        "longest cases first (by an earlier run's durations or their "
                        "declared waits) and the cases that mostly wait beside the N busy "
                        "harnesses. 'longest': longest first only. 'plain': catalogue "
                        "order, shares of equal timeout, nothing ahead")
    p.add_argument("--shared-target", action="store_true",
                   help="one target process serves, one after the other, the cases that need "
                        "no control channel (only a target that listens on {socket}); the "
                        "report says what each case left the target in, and marks those "
                        "verdicts (default: a fresh target per case)")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per case as it ends")
    p.add_argument("--dry-run", action="store_true",
                   help="print the harness command lines and exit")
    p.add_argument("--command", metavar="CMD", type=options.nonempty,
                   help="the implementation's command line for the exec-backend and "
                        "exec-frontend targets (sets VHUCHECK_EXEC_COMMAND)")


# ---- planning: everything that can be wrong is found before anything runs ----

def resolve_targets(specs):
    profiles = [P.resolve(s) for s in (specs or DEFAULT_TARGETS)]
    seen = {}
    for p in profiles:
        if p.name in seen:
            raise ConfigError(f"--target: '{p.name}' given twice ({paths.relpath(seen[p.name])}"
                              f" and {paths.relpath(p.path)})")
        seen[p.name] = p.path
    return profiles


def assign_faults(profiles, names, explicit):
    """{target name: [Fault]}; each fault goes to the fault-taking targets of
    its role. Without explicit targets, targets that got none are dropped."""
    if not names:
        return profiles, {}
    cat = catalogue.load()
    faults = []
    for n in names:
        f = catalogue.lookup(cat, n)
        if f in faults:
            raise ConfigError(f"--fault {n}: given twice")
        faults.append(f)
    out = {p.name: [] for p in profiles}
    for f in faults:
        takers = [p for p in profiles if p.faults and p.role == f.role]
        if not takers:
            roles = ", ".join(f"{p.name} ({p.role}{'' if p.faults else ', takes no faults'})"
                              for p in profiles)
            raise ConfigError(f"--fault {f.name}: a {f.role} fault, but no selected target is "
                              f"a {f.role} that takes faults ({roles})")
        for p in takers:
            out[p.name].append(f)
    if not explicit:
        profiles = [p for p in profiles if out[p.name]]
    return profiles, out


def select_cases(profiles, cases, include, exclude, explicit):
    chosen = {p.name: suite.select(cases, p.role, include, exclude) for p in profiles}
    roles = {p.role for p in profiles}
    in_roles = [c for c in cases if c.role in roles]
    for g in suite.unmatched_globs(in_roles, include):
        raise ConfigError(f"--cases {g!r}: matches no case for the selected targets "
                          f"({len(in_roles)} cases; {paths.command()} list shows them)")
    for g in suite.unmatched_globs(in_roles, exclude):
        print(f"vhucheck: warning: --exclude {g!r} matches no case", file=sys.stderr)
    if not any(chosen.values()):
        raise ConfigError("no case selected: " + ("the suites are empty" if not cases else
                          "every case is excluded or of another role"))
    for p in profiles:
        if not chosen[p.name] and explicit:
            raise ConfigError(f"--target {p.name}: no selected case is for a {p.role} "
                              f"target (the harness plays {p.harness_role} against it)")
    return chosen


def load_expectations(args, prof, cache, profiles):
    """prof's expectations (--expect, else the profile's file). A file's
    tables must name targets: one naming none is an error, not a table
    quietly applied to nothing."""
    path = args.expect or prof.expectations
    if not path:
        return expectations.empty().for_target(prof.name)
    if path not in cache:
        cache[path] = expectations.load(path)
        cache[path].check_targets(P.known_names(profiles), [p.name for p in profiles])
    return cache[path].for_target(prof.name)


def warn_expectations(args, plans):
    """On the console, before the run: entries matching no case (a mistyped
    or renamed id; summary.md lists them too), and an --expect file with no
    table for any selected target."""
    for plan in plans:
        for line in plan.expect.stale_warnings(plan.profile.name, plan.catalogue):
            print(f"vhucheck: warning: {line}", file=sys.stderr)
    if args.expect and plans and not any(plan.expect for plan in plans):
        print(f"vhucheck: warning: --expect {args.expect}: no entry for any selected target "
              f"({', '.join(plan.profile.name for plan in plans)})", file=sys.stderr)


def out_dir(args, profiles, stamp):
    """(report dir, whether it is the default one, the label for messages).
    Checked here, before anything runs: a path through a file or a
    directory that takes no files is a usage error."""
    if args.clean and not args.out:
        raise ConfigError("--clean: only with --out DIR (a default report dir is always new)")
    if args.out:
        out = os.path.abspath(args.out)
        label = f"--out {args.out}"
    else:
        name = profiles[0].name if len(profiles) == 1 else "matrix"
        base = os.path.join(paths.default_out_root(), f"{name}-{stamp}")
        out, n = base, 1
        while os.path.exists(out):
            n += 1
            out = f"{base}-{n}"
        label = f"report dir {paths.relpath(out)} (choose one with --out)"
    outdir.check(out, label)
    if args.out and not args.clean:
        outdir.refuse_earlier_run(out, label)
    return out, not args.out, label


EXEC_VAR = "VHUCHECK_EXEC_COMMAND"


def exec_channels(profile, cmd):
    """An exec-* profile whose harness command offers what cmd (the user's
    command) uses: its script takes NAME {NAME} pairs after $0 and fills
    them in cmd, and the harness creates a channel only for a placeholder
    in its own command. So {control} adds "control {control}" (without it
    the cases that require control are UNSUPPORTED, not failed by a
    program that never reads the channel), {shmem_bit} adds "shmem_bit
    {shmem_bit}" (each case's own bit, as for the references), and {fd}
    replaces "socket {socket}" with "fd {fd}" (a connected socket)."""
    command = profile.command
    if "{fd}" in cmd:
        if "{socket}" in cmd:
            raise ConfigError("--command: uses both {fd} and {socket}; pick one channel")
        command = command.replace(" socket {socket}", " fd {fd}")
    for name in ("control", "shmem_bit"):
        if "{%s}" % name in cmd:
            command += f" {name} {{{name}}}"
    return dataclasses.replace(profile, command=command)


def check_exec_command(profiles, command):
    """The exec-* targets run whatever VHUCHECK_EXEC_COMMAND says; --command
    sets it. A missing command, or one naming no program, is one error
    before anything runs instead of an ERROR in every case. Returns the
    profiles, the exec-* ones with the channels the command uses."""
    users = [p.name for p in profiles if p.command and EXEC_VAR in p.command]
    if command is not None:
        if not users:
            raise ConfigError("--command: only targets that run $VHUCHECK_EXEC_COMMAND "
                              "(exec-backend, exec-frontend) take a command")
        os.environ[EXEC_VAR] = command
    if not users:
        return profiles
    cmd = os.environ.get(EXEC_VAR, "").strip()
    if not cmd:
        raise ConfigError(f"{users[0]}: no command line: pass --command '...' "
                          f"or set {EXEC_VAR}")
    try:
        prog = shlex.split(cmd)[0]
    except (ValueError, IndexError) as e:
        raise ConfigError(f"--command: cannot split {cmd!r}: {e}") from None
    if not (shutil.which(prog) or (os.sep in prog and os.access(prog, os.X_OK))):
        raise ConfigError(f"--command: {prog}: no such program (not on PATH, "
                          "or not executable)")
    if "exec-frontend" in users and "{socket}" not in cmd and "{fd}" not in cmd:
        raise ConfigError("exec-frontend: the command line must say where the socket "
                          "goes with {socket} (the harness listens there) or {fd}")
    return [exec_channels(p, cmd) if p.name in users else p for p in profiles]


def make_plans(args):
    """Validate everything and return the plans (one per target)."""
    explicit = bool(args.target)
    profiles = resolve_targets(args.target)
    profiles = check_exec_command(profiles, args.command)
    profiles, faults = assign_faults(profiles, args.fault, explicit)
    cases = suite.discover()
    chosen = select_cases(profiles, cases, args.cases, args.exclude, explicit)
    cache = {}
    harness = paths.harness()
    build = paths.build_dir()
    version = paths.project_version(__version__)
    plans = []
    for p in profiles:
        if not chosen[p.name]:
            print(f"vhucheck: note: {p.name}: no selected case for a {p.role} target; "
                  "skipped", file=sys.stderr)
            continue
        P.check_program(p, build)
        plans.append(execute.Plan(
            profile=p, cases=chosen[p.name], catalogue=cases,
            expect=load_expectations(args, p, cache, profiles), harness=harness, build=build,
            version=version, shmem_bit=P.effective_shmem_bit(p, args.shmem_bit),
            multiplier=p.timeout_multiplier * args.timeout_multiplier, jobs=args.jobs,
            include=tuple(args.cases), exclude=tuple(args.exclude),
            faults=tuple(faults.get(p.name, ())), strict=args.strict_expect,
            per_case_bit=P.per_case_bit(p), repeat=args.repeat,
            backtrace=check_backtrace(args, p, build),
            schedule=getattr(args, "schedule", "auto"),
            shared=getattr(args, "shared_target", False)))
        if plans[-1].shared:
            shared.check(p)
    warn_expectations(args, plans)
    return plans


def check_backtrace(args, profile, build):
    """--backtrace needs a target the harness launches and the unwinder
    library built beside it."""
    if not getattr(args, "backtrace", False):
        return False
    if not profile.command:
        raise ConfigError(f"--backtrace: {profile.name} is a running target "
                          "(connect/listen): only a target the harness launches can be "
                          "given the crash unwinder")
    lib = execute.crashtrace_lib(build)
    if not os.path.isfile(lib):
        raise ConfigError(f"--backtrace: {paths.relpath(lib)}: not built (ninja -C "
                          f"{paths.relpath(build)})")
    return True


# ---- running ----

def dry_run(plans):
    for plan in plans:
        shares = execute.make_shares(plan, os.path.join("OUT", plan.profile.name))
        runs = f", {plan.repeat} runs in a row" if plan.repeat > 1 else ""
        print(f"# {plan.profile.name}: {len(plan.cases)} cases, {len(shares)} harness "
              f"processes{runs}")
        for s in shares:
            if s.waits:
                print("# beside the busy harnesses (its case mostly waits):")
            print(shlex.join(s.argv))
    return EXIT_OK


def _colour(verdict, tty):
    return f"\x1b[{COLOURS.get(verdict, '0')}m{verdict}\x1b[0m" if tty else verdict


def print_summary(doc, report, tty, limit=15):
    bad = [c for c in doc["cases"] if c["gate"] == "regression"]
    for c in bad[:limit]:
        exp, obs = first_failure(c)
        why = first_line(c.get("reason"), 160) or (f"expected {exp}; observed {obs}"[:200]
                                                    if exp or obs else "")
        print(f"  {_colour(c['verdict'], tty):<11} {c['id']}" + (f": {why}" if why else ""))
    if len(bad) > limit:
        print(f"  … and {len(bad) - limit} more")
    for cid in doc["summary"]["gate"]["unexpected_passes"][:limit]:
        print(f"  {'XPASS':<11} {cid} (the expectations file expects a failure)")
    print_crashes(doc, limit)
    for f in doc.get("faults", []):
        print(f"  fault {f['name']}: {fault_sentence(f, limit=limit, nobody='NO case')}")
    for line in shared_lines(doc, limit):
        print(line)
    print(results.one_line(doc))
    if report:
        print(f"report: {paths.relpath(report)}")


def shared_lines(doc, limit):
    """run --shared-target: how many verdicts came from a shared target,
    and each case that left it changed (died, more mappings or fds)."""
    on = [c for c in doc["cases"] if c.get("shared_target")]
    if not on:
        return []
    h = doc["harness"]
    out = [f"  shared target: {len(on)} verdicts reached on {h.get('shared_targets', 0)} "
           "shared target process(es), marked as such in the reports"]
    left = [c for c in on if c["shared_target"].get("left")]
    out += [f"  left by {c['id']}: {c['shared_target']['left']}" for c in left[:limit]]
    if len(left) > limit:
        out.append(f"  … and {len(left) - limit} more")
    return out


def print_crashes(doc, limit):
    """'21 CRASH, 4 distinct' and one line a signature."""
    sigs = signature.of_doc(doc)
    if not sigs:
        return
    n = sum(len(g["cases"]) for g in sigs)
    print(f"  crashes: {n} CRASH, {len(sigs)} distinct")
    for g in sigs[:limit]:
        print(f"    [{g['id']}] {g['text']} ({len(g['cases'])} case"
              f"{'s' if len(g['cases']) > 1 else ''}; shortest {g['shortest']})")


def combine(codes):
    """The run's exit status from each target's."""
    for c in codes:
        if c >= 128:
            return c
    if EXIT_HARNESS in codes:
        return EXIT_HARNESS
    return EXIT_FAIL if EXIT_FAIL in codes else EXIT_OK


class Signals:
    """SIGINT/SIGTERM set a flag the loops poll; restored on exit."""

    def __init__(self, stop):
        self.stop, self.saved = stop, {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.saved[sig] = signal.signal(sig, self.stop)
        return self

    def __exit__(self, *exc):
        for sig, old in self.saved.items():
            signal.signal(sig, old)


def run_plans(plans, out, several, verbose, runs=1):
    stop = execute.Stop()
    progress = Progress(verbose=verbose)
    tty = sys.stdout.isatty()
    docs, subdirs = [], []
    started = execute.now_iso()
    supervisor.become_subreaper()
    with Signals(stop):
        for plan in plans:
            sub = plan.profile.name if several else ""
            target_out = os.path.join(out, sub) if sub else out
            doc = repeat.run_target(plan, target_out, stop, progress)
            write_target(target_out, doc)
            schedule.remember(paths.state_dir(), doc)
            docs.append(doc)
            subdirs.append(sub)
            print_summary(doc, None if several else os.path.join(target_out, "index.html"), tty)
            if stop.signum:
                break
        if several:
            done = {d["target"]["name"] for d in docs}
            write_matrix(out, docs, subdirs, started, docs[0]["version"],
                         [p.profile.name for p in plans if p.profile.name not in done])
            print(f"report: {paths.relpath(os.path.join(out, 'matrix.html'))}")
    line = repeat.console_line(docs, runs)
    if line:
        print(line)
    if stop.signum:
        print(f"vhucheck: interrupted by {signal.Signals(stop.signum).name}; partial reports "
              f"in {paths.relpath(out)}", file=sys.stderr)
    return combine([d["summary"]["exit_code"] for d in docs])


def with_history(plans, out):
    """The plans with their cases' durations in an earlier run (read before
    --clean removes it): of the run in --out DIR, else those the state dir
    keeps (the build dir in a checkout), else of the latest default report dir (schedule.py)."""
    in_out = schedule.earlier_durations([out] if out else [])
    latest = schedule.earlier_durations([os.path.join(paths.default_out_root(), "latest")])
    return [dataclasses.replace(p, history=(in_out.get(p.profile.name)
                                            or schedule.recall(paths.state_dir(), p.profile.name)
                                            or latest.get(p.profile.name, {})))
            for p in plans]


def main(args):
    plans = make_plans(args)
    plans = with_history(plans, os.path.abspath(args.out) if args.out else None)
    if args.dry_run:
        return dry_run(plans)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out, default, label = out_dir(args, [p.profile for p in plans], stamp)
    execute.check_harness(plans[0].harness)
    if args.clean:
        try:
            gone = outdir.remove_earlier_run(out)
        except OSError as e:
            raise ConfigError(f"{label}: --clean: cannot remove "
                              f"{paths.relpath(e.filename or out)}: {e.strerror}") from None
        if gone:
            print(f"vhucheck: --clean: removed the earlier run from {paths.relpath(out)} "
                  f"({', '.join(gone)})", file=sys.stderr)
    outdir.prepare(out, label)
    try:
        code = run_plans(plans, out, len(plans) > 1, args.verbose, args.repeat)
    except OSError as e:
        # Checked writable before the run: this is the disk filling up, or
        # the dir removed under us; the harness processes are gone already.
        where = paths.relpath(e.filename) if e.filename else paths.relpath(out)
        raise HarnessError(f"{where}: {e.strerror or e}") from None
    if default:
        atomic.symlink(os.path.basename(out), os.path.join(paths.default_out_root(), "latest"))
    return code
