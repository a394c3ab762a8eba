"""vhucheck compare: what changed between two runs."""

import json

from vhucheck import signature, verdicts as V
from vhucheck.errors import ConfigError
from vhucheck.repeat import flip_text
from vhucheck.resultfile import load_dir

HELP = "compare two runs: regressions and fixes"
DESCRIPTION = """\
Compare two runs case by case (results.json files or report dirs, of one
or several targets). A regression is a case that passed in OLD and fails
in NEW; a fix the other way round. FLAKY (run --repeat: the verdict changed
between runs) counts as failing: PASS -> FLAKY is a regression. The cases
FLAKY in NEW are also listed on their own, with what they flipped between.
Cases are matched by target name and case id; --pair A=B matches the
target A of OLD with the target B of NEW (two profiles of one program,
qemu-shmem against qemu-shmem-unmapped), shown as A=B.
Crashes are also compared by signature (docs/runner.md, "Crash
signatures"): a signature in NEW that OLD does not have is a new bug, even
in a case that crashed before. Compare runs made alike: a run with
--backtrace has frames in its signatures, one without has not.
Exit 1 when there is a regression or a new crash signature."""


def add_arguments(p):
    p.add_argument("old", metavar="OLD.json", help="the earlier run (file or report dir)")
    p.add_argument("new", metavar="NEW.json", help="the later run (file or report dir)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--pair", action="append", default=[], metavar="A=B",
                   help="compare target A of OLD with target B of NEW (repeatable)")


def parse_pairs(specs):
    """[(A, B), ...] from --pair A=B options; a target in at most one pair
    on each side."""
    pairs = []
    for spec in specs:
        a, eq, b = spec.partition("=")
        if not eq or not a.strip() or not b.strip() or "=" in b:
            raise ConfigError(f"--pair {spec}: expected OLD_TARGET=NEW_TARGET")
        a, b = a.strip(), b.strip()
        taken = [n for n, used in ((a, [p[0] for p in pairs]), (b, [p[1] for p in pairs]))
                 if n in used]
        if taken:
            raise ConfigError(f"--pair {spec}: {taken[0]} is already paired")
        pairs.append((a, b))
    return pairs


def check_pairs(pairs, old, new):
    """A paired name that is no target of its run is a usage error."""
    for side, index, names in (("OLD", old, [p[0] for p in pairs]),
                               ("NEW", new, [p[1] for p in pairs])):
        have = sorted({t for t, _ in index})
        for name in names:
            if name not in have:
                raise ConfigError(f"--pair: no target {name!r} in {side} "
                                  f"(its targets: {', '.join(have) or 'none'})")


def rename_paired(index, pairs, side):
    """{(target, id): x} with the paired targets of that side (0 OLD, 1
    NEW) named "A=B", so that the cases of a pair line up."""
    label = {p[side]: f"{p[0]}={p[1]}" for p in pairs}
    return {(label.get(t, t), cid): v for (t, cid), v in index.items()}


def _index(path, flips=None):
    """{(target, id): verdict}; flips, when given, gets the run verdicts of
    every FLAKY case."""
    out = {}
    for _, doc in load_dir(path):
        for c in doc["cases"]:
            key = (doc["target"]["name"], c["id"])
            out[key] = c["verdict"]
            if flips is not None and c["verdict"] == V.FLAKY:
                flips[key] = [v for v in c.get("verdicts") or () if isinstance(v, str)]
    return out


def signatures(path, pairs=(), side=0):
    """{(target, signature id): {"text", "cases"}} of a report dir (its
    distinct crashes), paired targets named as in rename_paired."""
    label = {p[side]: f"{p[0]}={p[1]}" for p in pairs}
    out = {}
    for _, doc in load_dir(path):
        t = doc["target"]["name"]
        for g in signature.of_doc(doc):
            out[(label.get(t, t), g["id"])] = {"text": g["text"], "cases": g["cases"]}
    return out


def signature_diff(old, new, targets=None):
    """Crash signatures new in NEW and gone from it: [(target, id, text,
    cases)] each, sorted. targets: the targets both runs have (a target of
    one run only is compared as a whole, not crash by crash)."""
    def rows(a, b):
        return [(k[0], k[1], a[k]["text"], a[k]["cases"]) for k in sorted(set(a) - set(b))
                if targets is None or k[0] in targets]
    return {"new": rows(new, old), "gone": rows(old, new)}


def _signature_text(sigs):
    lines = []
    for name, rows in sigs.items():
        if rows:
            lines.append(f"crash signatures {name} ({len(rows)}):")
            lines += [f"  {t:<16} [{sid}] {text} ({len(cases)} case"
                      f"{'s' if len(cases) > 1 else ''}: {', '.join(cases[:3])}"
                      f"{', ...' if len(cases) > 3 else ''})" for t, sid, text, cases in rows]
    return lines


def diff(old, new):
    """Changes between two {(target, id): verdict} maps, each a sorted list
    of (target, id, old verdict, new verdict); "flaky" lists the cases
    FLAKY in new (whatever they were in old), not a change of its own."""
    groups = {"regressions": [], "fixes": [], "changed": [], "new": [], "removed": [],
              "flaky": []}
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
        if b == V.FLAKY:
            groups["flaky"].append(row)
    return groups


def _flip(flips, t, cid):
    runs = flips.get((t, cid))
    return f" ({flip_text(runs)})" if runs and len(set(runs)) > 1 else ""


WHOLE = {"new": "not in OLD", "removed": "not in NEW"}
LIST_MAX = 10           # new or removed cases listed per target (text format)


def whole_targets(old, new):
    """{target: (group, "N cases: K VERDICT, ...")} for the targets of one
    run only: every case of theirs is new (or removed), which says nothing
    case by case, so each is one line."""
    out = {}
    for name, here, there in (("new", new, old), ("removed", old, new)):
        others = {t for t, _ in there}
        for t in sorted({t for t, _ in here} - others):
            verdicts = [v for (tt, _), v in here.items() if tt == t]
            counts = ", ".join(f"{n} {v}" for v, n in V.counts(verdicts).items() if n)
            out[t] = (name, f"{len(verdicts)} cases: {counts}")
    return out


def _whole_note(name, t, what):
    return f"the whole target is {WHOLE[name]} ({what})"


def _text(groups, flips, sigs, whole=None):
    lines = _signature_text(sigs)
    whole = whole or {}
    for name, rows in groups.items():
        if not rows:
            continue
        lines.append(f"{name} in NEW ({len(rows)}):" if name == "flaky" else
                     f"{name} ({len(rows)}):")
        said, shown = set(), {}
        for t, cid, a, b in rows:
            if t in whole and name in WHOLE:
                if t not in said:
                    said.add(t)
                    lines.append(f"  {t:<16} {_whole_note(name, t, whole[t][1])}")
                continue
            # cases in one run only (another --cases selection): the failing
            # ones, a few passing ones, then a count
            if name in WHOLE and V.is_passing(b if name == "new" else a):
                shown[t] = shown.get(t, 0) + 1
                if shown[t] > LIST_MAX:
                    continue
            tail = _flip(flips, t, cid) if name == "flaky" else ""
            lines.append(f"  {t:<16} {cid:<48} {a or '-':>11} -> {b or '-'}{tail}")
        for t, n in shown.items():
            if n > LIST_MAX:
                lines.append(f"  {t:<16} … and {n - LIST_MAX} more {name}, passing "
                             "(--format json lists them all)")
    lines.append("compare: " + ", ".join(f"{len(r)} {n}" for n, r in groups.items())
                 + f"; crash signatures: {len(sigs['new'])} new, {len(sigs['gone'])} gone")
    return "\n".join(lines)


def _markdown(groups, flips, sigs, whole=None):
    lines = ["## vhucheck compare", "",
             " · ".join(f"**{len(r)}** {n}" for n, r in groups.items())
             + f" · crash signatures **{len(sigs['new'])}** new, **{len(sigs['gone'])}** gone", ""]
    for name, rows in sigs.items():
        if rows:
            lines += [f"### Crash signatures {name}", "", "| target | signature | cases |",
                      "| --- | --- | --- |"]
            lines += [f"| {t} | `{sid}` {text} | {len(cases)}: `{cases[0]}` |"
                      for t, sid, text, cases in rows]
            lines.append("")
    whole = whole or {}
    for t, (name, what) in sorted(whole.items()):
        lines += [f"- `{t}`: {_whole_note(name, t, what)}"]
    if whole:
        lines.append("")
    for name, rows in groups.items():
        rows = [r for r in rows if not (r[0] in whole and name in WHOLE)]
        if rows and name != "new":
            title = "Flaky in NEW" if name == "flaky" else name.capitalize()
            lines += [f"### {title}", "", "| target | case | old | new |",
                      "| --- | --- | --- | --- |"]
            lines += [f"| {t} | `{cid}` | {a or '—'} | {b or '—'}"
                      f"{_flip(flips, t, cid) if name == 'flaky' else ''} |"
                      for t, cid, a, b in rows]
            lines.append("")
    added = [r for r in groups["new"] if r[0] not in whole]
    new_bad = [r for r in added if not V.is_passing(r[3])]
    if added:
        lines.append(f"{len(added)} new cases, {len(new_bad)} of them failing" +
                     (": " + ", ".join(f"`{r[1]}` ({r[3]})" for r in new_bad[:20]) if new_bad else ""))
    return "\n".join(lines)


def main(args):
    pairs = parse_pairs(args.pair)
    flips = {}
    old, new = _index(args.old), _index(args.new, flips)
    if pairs:
        check_pairs(pairs, old, new)
        old, new = rename_paired(old, pairs, 0), rename_paired(new, pairs, 1)
        flips = rename_paired(flips, pairs, 1)
    groups = diff(old, new)
    both = {t for t, _ in old} & {t for t, _ in new}
    sigs = signature_diff(signatures(args.old, pairs, 0), signatures(args.new, pairs, 1), both)
    if args.format == "json":
        def row(name, r):
            d = dict(zip(("target", "id", "old", "new"), r))
            if name == "flaky":
                d["verdicts"] = flips.get(r[:2], [])
            return d
        doc = {k: [row(k, r) for r in v] for k, v in groups.items()}
        doc["signatures"] = {k: [dict(zip(("target", "id", "text", "cases"), r)) for r in v]
                             for k, v in sigs.items()}
        print(json.dumps(doc, indent=1))
    else:
        whole = whole_targets(old, new)
        print(_markdown(groups, flips, sigs, whole) if args.format == "markdown"
              else _text(groups, flips, sigs, whole))
    return 1 if groups["regressions"] or sigs["new"] else 0
