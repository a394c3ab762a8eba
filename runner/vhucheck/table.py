"""The README's real-target verdict table, made from runs.

``vhucheck report DIR --table`` prints one markdown row per target of a
report dir; ``--check-table FILE`` compares those rows with the rows of
FILE (a README) that name the same target, so that a figure in the docs
cannot drift from what a run gives. A row names its target by the profile
name in backticks in its first cell (e.g. "QEMU 7.2 (Debian,
`qemu-debian`)"); the count cells are compared, the notes (prose) are not.
"""

import re

from vhucheck import verdicts as V

# The count columns, in the README's order.
COLUMNS = (V.PASS, V.NON_STRICT, V.INFO, V.UNSUPPORTED, V.FAIL, V.CRASH, V.TIMEOUT,
           V.DEADLOCK)
HEADER = "| target | " + " | ".join(COLUMNS) + " | notes |"
RULE = "| --- | " + " | ".join("---:" for _ in COLUMNS) + " | --- |"


def counts(doc):
    """{verdict: n} of a results.json document."""
    return doc["summary"]["verdicts"]


def row(doc):
    """The markdown row of one run: its target in backticks, a count per
    column, and in the notes cell any verdict outside the columns (ERROR,
    FLAKY) that the run had, since the row would otherwise hide it."""
    n = counts(doc)
    others = ", ".join(f"{n[v]} {v}" for v in V.ORDER if v not in COLUMNS and n.get(v))
    cells = [f"`{doc['target']['name']}`"] + [str(int(n.get(v, 0))) for v in COLUMNS]
    return "| " + " | ".join(cells) + " | " + others + " |"


def cells(line):
    """The cells of a markdown table row, stripped."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def is_header(line):
    """True for the header row of a verdict table (its count columns)."""
    return cells(line)[1:1 + len(COLUMNS)] == list(COLUMNS)


def find_rows(text, name):
    """The rows of text (markdown) whose first cell names `name`, in a
    table whose header has the count columns (other tables, e.g. of
    timings, may name the same target)."""
    tag = re.compile(r"`" + re.escape(name) + r"`")
    out, in_table = [], False
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            in_table = False
        elif not in_table:
            in_table = is_header(line)
        elif in_table and tag.search(cells(line)[0]):
            out.append(line)
    return out


def check(text, doc, where):
    """None when text has exactly one row for doc's target with the same
    counts, else a one-line problem naming the row."""
    name = doc["target"]["name"]
    found = find_rows(text, name)
    if not found:
        return (f"{where}: no row of a verdict table ({' | '.join(COLUMNS[:2])} | ...) "
                f"names `{name}`; a run gives: {row(doc)}")
    if len(found) > 1:
        return f"{where}: {len(found)} table rows name `{name}`, want one"
    have = cells(found[0])[1:1 + len(COLUMNS)]
    want = [str(int(counts(doc).get(v, 0))) for v in COLUMNS]
    if have != want:
        diff = ", ".join(f"{col} {h or '(none)'} -> {w}" for col, h, w in
                         zip(COLUMNS, have + [""] * (len(COLUMNS) - len(have)), want)
                         if h != w)
        return f"{where}: the row of `{name}` is stale ({diff}); a run gives: {row(doc)}"
    return None
