"""vhucheck(1) from the argparse parser of the runner: every command and
sub-command with its usage, description, options and epilog, then the
exit status, environment and files of the installed tool. Run by meson
at build time (runner/meson.build); python3 standard library only.

    python3 runner/manpage.py --version V --output vhucheck.1 [--depfile F]

The page describes the installed tool (reports under ./vhucheck-out),
so the parser is built as the installed runner builds it."""

import argparse
import datetime
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True          # a build does not write into the source tree

from vhucheck import paths  # noqa: E402

ENVIRONMENT = (
    ("VHUCHECK_HARNESS", "the harness program (default: the installed vhucheck-harness)."),
    ("VHUCHECK_SUITES", "the case tree (default: the installed suites)."),
    ("VHUCHECK_PROFILES", "where \\-\\-target NAME looks for NAME.toml "
                          "(default: the installed profiles)."),
    ("VHUCHECK_FAULTS", "the fault catalogue (default: the installed catalogue.ini)."),
    ("VHUCHECK_BUILD_DIR", "a build dir whose programs to use instead of the installed "
                           "ones (profiles' {build})."),
    ("VHUCHECK_EXEC_COMMAND", "the command of the exec\\-backend and exec\\-frontend "
                              "targets (or \\-\\-command)."),
    ("VHUCHECK_QEMU", "the SHMEM QEMU the qemu\\-shmem profiles run."),
    ("XDG_STATE_HOME", "a profile's {state} is $XDG_STATE_HOME/vhucheck "
                       "(default ~/.local/state/vhucheck): vhu\\-chaos keeps its seed "
                       "counter there."),
)

FILES = (
    ("PREFIX/bin/vhucheck", "this program."),
    ("PREFIX/bin/vhucheck\\-harness, PREFIX/bin/vhucheck\\-monitor",
     "links to the harness and the monitor, for use without the runner."),
    ("PREFIX/libexec/vhucheck/", "the programs, laid out like a build dir: "
     "harness/vhucheck\\-harness, harness/vhucheck\\-monitor, targets/vhu\\-ref\\-frontend, "
     "targets/vhu\\-ref\\-backend, targets/vhu\\-chaos, targets/qtest/vhu\\-qtest, "
     "targets/libvhu\\-crashtrace.so, fuzzers/vhu\\-fuzzcase; a profile's {build} is this dir."),
    ("PREFIX/share/vhucheck/suites/", "the cases (.vhu)."),
    ("PREFIX/share/vhucheck/targets/profiles/", "the target profiles and, in expect/, "
     "their expectations files."),
    ("PREFIX/share/vhucheck/targets/faults/catalogue.ini", "the fault catalogue."),
    ("PREFIX/share/vhucheck/reports/templates/", "the HTML report's page, style and script."),
    ("PREFIX/share/vhucheck/corpus/", "the fuzzers' seeds (fuzz \\-\\-to\\-cases, \\-\\-against)."),
    ("PREFIX/share/vhucheck/runner/", "the python3 package behind this program."),
    ("./vhucheck\\-out/", "reports without \\-\\-out: TARGET\\-TIME/ (matrix\\-TIME/ for several "
     "targets) under the current directory, and a symlink latest to the newest."),
)


def installed_words(text):
    """Help written for the checkout, as the installed tool reads: its
    command is `vhucheck`, not `./vhucheck`."""
    return re.sub(r"\./vhucheck\b(?!-)", "vhucheck", text)


def esc(text):
    """Plain text as roff: backslashes and hyphens escaped, a line that
    would read as a request guarded."""
    text = installed_words(text).replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + ln if ln[:1] in (".", "'") else ln for ln in text.split("\n"))


def block(text):
    """Text laid out by hand (RawDescriptionHelpFormatter), kept as is."""
    text = text.strip("\n")
    if not text:
        return []
    return [".RS", ".nf", esc(text), ".fi", ".RE"]


def options(parser):
    out = []
    fmt = parser._get_formatter()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        out += [".TP", "\\fB" + esc(fmt._format_action_invocation(action)) + "\\fR"]
        out.append(esc(" ".join(fmt._expand_help(action).split())) if action.help else "")
    return out


def subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sp in action.choices.items():
                yield name, helps.get(name), sp


def command(path, help_, parser):
    out = [f'.SS "{esc(path)}"']
    if help_:
        out += [esc(help_), ".PP"]
    usage = parser.format_usage().strip()
    usage = usage[len("usage: "):] if usage.startswith("usage: ") else usage
    out += [".nf", "\\fB" + esc(usage) + "\\fR", ".fi"]
    if parser.description and parser.description != help_:
        out += [".PP"] + block(parser.description)
    opts = options(parser)
    if opts:
        out += [".PP", "Options:"] + opts
    if parser.epilog:
        out += [".PP"] + block(parser.epilog)
    for name, sub_help, sp in subparsers(parser):
        out += command(f"{path} {name}", sub_help, sp)
    return out


def page(version):
    from vhucheck import cli
    parser = cli.build_parser()
    date = datetime.date.fromtimestamp(
        int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or os.stat(__file__).st_mtime)
    lines = [
        f'.TH VHUCHECK 1 "{date.isoformat()}" "vhucheck {esc(version)}" "User Commands"',
        ".SH NAME",
        "vhucheck \\- conformance and fuzzing suite for the vhost\\-user Shared Memory extension",
        ".SH SYNOPSIS",
        ".B vhucheck",
        ".I COMMAND",
        "[\\fIOPTIONS\\fR]",
        ".br",
        ".B vhucheck run",
        "[\\fB\\-\\-target\\fR \\fIPROFILE\\fR] [\\fB\\-\\-expect\\fR \\fIFILE\\fR] "
        "[\\fB\\-\\-out\\fR \\fIDIR\\fR]",
        ".SH DESCRIPTION",
        esc(" ".join(parser.description.split())),
        ".PP",
        "It plays either side of a real vhost\\-user connection (unix sockets, fds over "
        "SCM_RIGHTS, real mmap), replays scripted cases and judges what the target does. "
        "Without \\fB\\-\\-target\\fR, \\fBvhucheck run\\fR runs the whole suite against both "
        "reference targets (ref\\-frontend, ref\\-backend). The installed vhucheck runs from "
        "any directory, builds nothing and writes nothing under its prefix: reports go to "
        "\\fB\\-\\-out\\fR \\fIDIR\\fR, by default under \\fI./vhucheck\\-out/\\fR. "
        "\\fBbench\\fR and fuzz campaigns need a source checkout.",
        ".SH COMMANDS",
    ]
    for name, help_, sp in subparsers(parser):
        lines += command(f"vhucheck {name}", help_, sp)
    lines += [".SH EXIT STATUS", ".TP", "0", "every verdict passes, or matches the "
              "expectations file", ".TP", "1", "failures", ".TP", "2",
              "usage or configuration error", ".TP", "3", "harness error", ".TP", "128+N",
              "interrupted by signal N (130 for Ctrl\\-C); partial reports are still written"]
    lines.append(".SH ENVIRONMENT")
    for name, what in ENVIRONMENT:
        lines += [".TP", f"\\fB{name}\\fR", what]
    lines.append(".SH FILES")
    for name, what in FILES:
        lines += [".TP", f"\\fI{name}\\fR", what]
    lines += [".SH EXAMPLES", ".nf",
              esc("vhucheck run --out /tmp/refs             # both references\n"
                  "vhucheck run --target my-backend.toml --expect known.toml --out report/\n"
                  "vhucheck run --target exec-backend --command 'my-backend "
                  "--socket-path={socket}'\n"
                  "vhucheck list\nvhucheck targets --check my-backend.toml\n"
                  "vhucheck compare old/ new/"),
              ".fi",
              ".SH SEE ALSO",
              "The project's docs/runner.md (the runner), docs/targets.md (profiles, "
              "expectations, CI), docs/writing-cases.md (the case language), docs/control.md "
              "(the control channel), in the source tree."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="write vhucheck(1)")
    ap.add_argument("--version", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--depfile")
    args = ap.parse_args(argv)
    # Document the installed tool: its report root, its own version.
    paths.LAYOUT = {"version": args.version, "prefix": "PREFIX",
                    "data": "PREFIX/share/vhucheck", "programs": "PREFIX/libexec/vhucheck"}
    text = page(args.version)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.output)
    if args.depfile:
        deps = sorted({os.path.abspath(m.__file__) for m in list(sys.modules.values())
                       if getattr(m, "__file__", None)
                       and os.path.abspath(m.__file__).startswith(HERE + os.sep)})
        with open(args.depfile, "w", encoding="utf-8") as f:
            f.write(args.output.replace(" ", "\\ ") + ": "
                    + " ".join(d.replace(" ", "\\ ") for d in deps) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
