"""Small text helpers shared by the renderers."""

import re

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
