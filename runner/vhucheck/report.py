"""vhucheck report: re-render a report dir from its results.json."""

import os
import re
import sys

from vhucheck import expectations, outdir, paths, profile as P, results, table
from vhucheck.errors import ConfigError, HarnessError
from vhucheck.render import atomic, matrix_files, target_files, write_files
from vhucheck.render.text import first_line
from vhucheck.resultfile import load_dir

HELP = "re-render the reports of a run from its results.json"
DESCRIPTION = """\
Re-render index.html, junit.xml, results.tap and summary.md (and, for
several targets, matrix.html) from the results.json files of a report dir,
e.g. after editing the templates. With --expect, the gate is judged again
against another expectations file and the exit status is the run's (0, 1
or 3); --baseline writes an expectations file that accepts the run as is.
--table prints the run's row(s) of the README's real-target table instead
(writing nothing); --check-table FILE compares them with FILE's rows for
the same targets and exits 1 naming each row that differs."""


def add_arguments(p):
    p.add_argument("dir", metavar="DIR", help="a report dir (or a results.json)")
    p.add_argument("--expect", metavar="FILE", help="judge the gate against this file")
    p.add_argument("--strict-expect", action="store_true",
                   help="with --expect: unexpected passes fail")
    p.add_argument("--baseline", metavar="FILE",
                   help="write an expectations file listing every failing case as it is")
    p.add_argument("--table", action="store_true",
                   help="print the markdown verdict-table row of each target; write nothing")
    p.add_argument("--check-table", metavar="FILE",
                   help="compare those rows with FILE's rows naming the same targets "
                        "(count cells); exit 1 when one differs or is missing")


def rejudge(doc, expect, strict):
    tex = expect.for_target(doc["target"]["name"])
    for c in doc["cases"]:
        entry = tex.lookup(c["id"], f"{c['area']}/{c['id']}")
        c["expectation"] = entry.as_dict() if entry else None
        c["gate"] = expectations.judge(c["verdict"], entry, c.get("crash"))
    ids = [c["id"] for c in doc["cases"]] + list(doc.get("not_run", []))
    stale = [e.pattern for e in tex.entries if not any(e.matches(i, i) for i in ids)]
    doc["settings"]["expectations"] = expect.path
    doc["settings"]["strict_expect"] = strict
    doc["summary"] = results.summarize(doc["cases"], doc.get("not_run", []), stale, strict)
    doc["summary"]["exit_code"] = results.exit_code(doc)


def _toml_str(s):
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " else f"\\u{ord(c):04x}" for c in out) + '"'


def _verdicts(case):
    """TOML for the verdict(s) a baseline accepts: a FLAKY case's entry
    lists FLAKY and every verdict of its runs, so that a run without
    --repeat that lands on any of them passes the gate too."""
    if case["verdict"] != results.V.FLAKY:
        return _toml_str(case["verdict"])
    runs = sorted({v for v in case.get("verdicts") or () if isinstance(v, str)},
                  key=results.V.severity)
    return "[" + ", ".join(_toml_str(v) for v in [case["verdict"], *runs]) + "]"


# What changes from run to run in a reason: user-space addresses (12 hex
# digits: mmap, heap; also as /proc/PID/maps writes a range, without 0x),
# pids. Guest addresses and offsets (shorter) stay.
_ADDR = re.compile(r"\b0x0*[0-9a-fA-F]{12}\b|\b[0-9a-f]{12}(?=-[0-9a-f]{12}\b)|"
                   r"(?<=\b[0-9a-f]{12}-)[0-9a-f]{12}\b")
_PID = re.compile(r"(\bpid[ =]|/proc/)\d+")
REASON_MAX = 200


def stable_reason(text):
    """A reason fit for a file that is committed and reviewed: its first
    line (the rest is trace), bounded, with live addresses and pids
    replaced, so that a baseline written from two runs is the same."""
    line = first_line(text or "", REASON_MAX)
    line = _ADDR.sub(lambda m: "0x<addr>" if m.group(0).startswith("0x") else "<addr>", line)
    return _PID.sub(lambda m: m.group(1) + "<pid>", line)


def baseline(entries):
    """An expectations file (TOML text) accepting every non-passing verdict."""
    lines = ["# vhucheck expectations: written by `vhucheck report --baseline`.",
             "# Each entry is a known gap; replace the reasons with real ones.", ""]
    for doc in entries:
        bad = [c for c in doc["cases"] if c["verdict"] not in results.V.PASSING]
        if not bad:
            continue
        lines.append(f"[{_toml_str(doc['target']['name'])}]")
        for c in bad:
            why = stable_reason(c.get("reason") or c.get("observed")) or "baseline"
            lines.append(f"{c['id']} = {{ verdict = {_verdicts(c)}, "
                         f"reason = {_toml_str('baseline: ' + why)} }}")
        lines.append("")
    return "\n".join(lines)


def render_all(found, base, expect, strict):
    """([(dir, [(name, text)])], [summary line]) for every file to write,
    judged again against expect when given. Everything is rendered before
    anything is written: a results.json the renderers cannot read leaves
    the dir as it was."""
    out, docs = [], [doc for _, doc in found]
    try:
        for sub, doc in found:
            if expect:
                rejudge(doc, expect, strict)
            out.append((os.path.join(base, sub), target_files(doc)))
        if len(found) > 1 or found[0][0]:
            out.append((base, matrix_files(docs, [s for s, _ in found], docs[0]["started"],
                                           docs[0]["version"])))
        return out, [results.one_line(doc) for doc in docs]
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ConfigError(f"{paths.relpath(base)}: malformed results.json, cannot render it "
                          f"({type(e).__name__}: {e})") from None


def table_main(args, found):
    """--table / --check-table: print or compare the verdict-table rows."""
    if args.expect or args.baseline or args.strict_expect:
        raise ConfigError("--table and --check-table take no --expect, --strict-expect "
                          "or --baseline")
    try:
        docs = [doc for _, doc in found]
        rows = [table.row(doc) for doc in docs]
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{paths.relpath(args.dir)}: malformed results.json, no table row "
                          f"({type(e).__name__}: {e})") from None
    if args.table:
        print(table.HEADER)
        print(table.RULE)
        for r in rows:
            print(r)
    if not args.check_table:
        return 0
    try:
        with open(args.check_table, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--check-table {args.check_table}: cannot read: "
                          f"{getattr(e, 'strerror', None) or e}") from None
    problems = [p for p in (table.check(text, doc, args.check_table) for doc in docs) if p]
    for p in problems:
        print(f"vhucheck: {p}", file=sys.stderr)
    if not problems:
        print(f"{args.check_table}: {len(docs)} row(s) match the run")
    return 1 if problems else 0


def main(args):
    found = load_dir(args.dir)
    if args.table or args.check_table:
        return table_main(args, found)
    if args.strict_expect and not args.expect:
        raise ConfigError("--strict-expect needs --expect FILE")
    expect = expectations.load(args.expect) if args.expect else None
    if expect:
        names = [doc["target"]["name"] for _, doc in found]
        expect.check_targets(P.known_names([]) | set(names), names)
    base = args.dir if os.path.isdir(args.dir) else os.path.dirname(os.path.abspath(args.dir))
    for d in sorted({os.path.join(base, sub) for sub, _ in found}):
        outdir.probe(d, f"{paths.relpath(d)}")
    if args.baseline:
        outdir.check_parent(args.baseline, f"--baseline {args.baseline}")
    docs = [doc for _, doc in found]
    rendered, lines = render_all(found, base, expect, args.strict_expect)
    try:
        for d, files in rendered:
            write_files(d, files)
        if args.baseline:
            atomic.write_text(args.baseline, baseline(docs))
    except OSError as e:
        raise HarnessError(f"{paths.relpath(e.filename or base)}: cannot write: "
                           f"{e.strerror or e}") from None
    for line in lines:
        print(line)
    if args.baseline:
        print(f"baseline: {args.baseline}")
    print(f"report: {base}")
    if not expect:
        return 0
    codes = [d["summary"]["exit_code"] for d in docs]
    return 3 if 3 in codes else (1 if 1 in codes else 0)
