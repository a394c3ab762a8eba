"""Small text helpers shared by the renderers."""

import re

from vhucheck.results import FAULT_CAUGHT, FAULT_NOT_RUN, fault_status

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text):
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text or "")


def md_cell(text, limit=160):
    """One markdown table cell: no newlines, pipes escaped, bounded."""
    text = " ".join(str(text or "").split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;") or " "


def first_line(text, limit=300):
    """The first line of a text, bounded: harness 'observed' fields carry
    the last trace lines after the first one."""
    line = (text or "").strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[:limit - 1] + "…"


def first_failure(case):
    """(expected, observed) of a case, one line each: its own fields, else
    the first failure."""
    exp, obs = first_line(case.get("expected", "")), first_line(case.get("observed", ""))
    if not exp and not obs and case.get("failures"):
        f = case["failures"][0]
        exp, obs = first_line(f.get("expected", "")), first_line(f.get("observed", ""))
    return exp, obs


def failure_message(case):
    """One line saying why a case did not pass."""
    parts = [case["verdict"]]
    if case.get("reason"):
        parts.append(first_line(case["reason"]))
    exp, obs = first_failure(case)
    said = f"expected {exp or '?'}, observed {obs or '?'}"
    if (exp or obs) and said not in parts[-1]:     # a FLAKY reason may hold it already
        parts.append(said)
    return ": ".join(parts[:2]) + (f" ({parts[2]})" if len(parts) > 2 else "")


def duration_s(case):
    ms = case.get("duration_ms")
    return (ms or 0.0) / 1000.0


def id_list(ids, fmt=str, limit=None):
    """'a, b, c' of case ids, each through fmt; past limit, '… and N more'."""
    ids = list(ids)
    shown = ids if limit is None else ids[:limit]
    text = ", ".join(fmt(i) for i in shown)
    return text + (f" … and {len(ids) - len(shown)} more" if len(shown) < len(ids) else "")


def fault_sentence(f, fmt=str, limit=None, nobody="no case"):
    """What became of an injected fault (a faults[] entry of results.json),
    for 'fault NAME: <this>'. Its own cases that failed caught it; other
    failing cases catch it too (and are named); with nothing failing, own
    cases not run (not selected with --cases, or interrupted) make it "not
    run" rather than missed."""
    def ids(key):
        return id_list(f.get(key) or (), fmt, limit)

    missed = f"{ids('missed')} missed it" if f.get("missed") else ""
    unrun = f"{ids('not_run')} did not run" if f.get("not_run") else ""
    status = fault_status(f)
    if status == FAULT_CAUGHT and f.get("caught_by"):
        return f"caught by {ids('caught_by')}" + (f"; missed by {ids('missed')}" if missed else "")
    if status == FAULT_CAUGHT:
        own = "; ".join(p for p in (missed, unrun) if p)
        return f"caught by other cases: {ids('also_failing')}" + (f" (its own cases: {own})"
                                                                  if own else "")
    if status == FAULT_NOT_RUN:
        return f"not run: its cases {unrun}" + (f" ({missed})" if missed else "")
    return f"caught by {nobody}" + (f"; missed by {ids('missed')}" if missed else "")
