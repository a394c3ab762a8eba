"""vhucheck compare: what changed between two runs."""

import json

from vhucheck import verdicts as V
from vhucheck.resultfile import load_dir

HELP = "compare two runs: regressions and fixes"
DESCRIPTION = """\
Compare two runs case by case (results.json files or report dirs, of one
or several targets). A regression is a case that passed in OLD and fails
in NEW; a fix the other way round. Exit 1 when there is a regression."""


def add_arguments(p):
    p.add_argument("old", metavar="OLD.json", help="the earlier run (file or report dir)")
    p.add_argument("new", metavar="NEW.json", help="the later run (file or report dir)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def _index(path):
    out = {}
    for _, doc in load_dir(path):
        for c in doc["cases"]:
            out[(doc["target"]["name"], c["id"])] = c["verdict"]
    return out


def diff(old, new):
    """Changes between two {(target, id): verdict} maps, each a sorted list
    of (target, id, old verdict, new verdict)."""
    groups = {"regressions": [], "fixes": [], "changed": [], "new": [], "removed": []}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        row = (key[0], key[1], a, b)
        if a is None:
            groups["new"].append(row)
        elif b is None:
            groups["removed"].append(row)
        elif V.is_passing(a) and not V.is_passing(b):
            groups["regressions"].append(row)
        elif not V.is_passing(a) and V.is_passing(b):
            groups["fixes"].append(row)
        elif a != b:
            groups["changed"].append(row)
    return groups


def _text(groups):
    lines = []
    for name, rows in groups.items():
        if not rows:
            continue
        lines.append(f"{name} ({len(rows)}):")
        for t, cid, a, b in rows:
            lines.append(f"  {t:<16} {cid:<48} {a or '-':>11} -> {b or '-'}")
    lines.append("compare: " + ", ".join(f"{len(r)} {n}" for n, r in groups.items()))
    return "\n".join(lines)


def _markdown(groups):
    lines = ["## vhucheck compare", "",
             " · ".join(f"**{len(r)}** {n}" for n, r in groups.items()), ""]
    for name, rows in groups.items():
        if rows and name != "new":
            lines += [f"### {name.capitalize()}", "", "| target | case | old | new |",
                      "| --- | --- | --- | --- |"]
            lines += [f"| {t} | `{cid}` | {a or '—'} | {b or '—'} |" for t, cid, a, b in rows]
            lines.append("")
    new_bad = [r for r in groups["new"] if not V.is_passing(r[3])]
    if groups["new"]:
        lines.append(f"{len(groups['new'])} new cases, {len(new_bad)} of them failing" +
                     (": " + ", ".join(f"`{r[1]}` ({r[3]})" for r in new_bad[:20]) if new_bad else ""))
    return "\n".join(lines)


def main(args):
    groups = diff(_index(args.old), _index(args.new))
    if args.format == "json":
        print(json.dumps({k: [dict(zip(("target", "id", "old", "new"), r)) for r in v]
                          for k, v in groups.items()}, indent=1))
    else:
        print(_markdown(groups) if args.format == "markdown" else _text(groups))
    return 1 if groups["regressions"] else 0
