"""summary.md: short enough for a CI comment on a merge request."""

from vhucheck import expectations as X, signature, verdicts as V
from vhucheck.render.text import fault_sentence, first_failure, md_cell
from vhucheck.results import FAULT_CAUGHT, FAULT_MISSED, FAULT_NOT_RUN, fault_status

MAX_ROWS = 50
ICON = {"ok": "✅", "fail": "❌", "warn": "⚠️"}
FAULT_ICON = {FAULT_CAUGHT: ICON["ok"], FAULT_MISSED: ICON["fail"], FAULT_NOT_RUN: ICON["warn"]}


def _gate_line(doc):
    s = doc["summary"]
    g = s["gate"]
    if doc.get("interrupted"):
        runs = doc.get("runs") or ()
        where = f" in run {len(runs)} of {doc['settings'].get('repeat')}" if runs else ""
        return f"{ICON['warn']} interrupted{where}: {s['not_run']} cases not run"
    if s.get("exit_code") == 3:
        return f"{ICON['fail']} harness error (see the ERROR cases)"
    if g["regressions"]:
        word = "regressions" if doc["settings"].get("expectations") else "failures"
        return f"{ICON['fail']} {len(g['regressions'])} {word}"
    if g["strict"] and g["unexpected_passes"]:
        return f"{ICON['fail']} {len(g['unexpected_passes'])} unexpected passes (strict)"
    if g["expected"]:
        return f"{ICON['ok']} no regressions ({g['expected']} known, as expected)"
    return f"{ICON['ok']} all cases pass"


def _counts(doc):
    v = doc["summary"]["verdicts"]
    cols = [k for k in V.ORDER if v.get(k)]
    if not cols:
        return ["_no case ran_"]
    return ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols),
            "| " + " | ".join(str(v[k]) for k in cols) + " |"]


def _failure_rows(cases):
    rows = ["| case | verdict | level | why | expectation |",
            "| --- | --- | --- | --- | --- |"]
    for c in cases[:MAX_ROWS]:
        exp, obs = first_failure(c)
        why = "; ".join(p for p in (c.get("reason", ""),
                                    f"expected {exp}, observed {obs}" if exp or obs else "") if p)
        known = ""
        if c.get("expectation"):
            e = c["expectation"]
            verdicts = e["verdict"] if isinstance(e["verdict"], str) else "/".join(e["verdict"])
            known = f"{verdicts}: {e['reason']}"
        rows.append(f"| `{c['id']}` | **{c['verdict']}** | {c['level']} | {md_cell(why, 200)} | "
                    f"{md_cell(known, 80)} |")
    if len(cases) > MAX_ROWS:
        rows.append(f"\n…and {len(cases) - MAX_ROWS} more (see index.html)")
    return rows


def _crash_section(doc, level):
    """CRASH verdicts by signature: one entry a bug, its cases, its
    shortest case, its stderr and backtrace."""
    sigs = signature.of_doc(doc)
    if not sigs:
        return []
    n = sum(len(g["cases"]) for g in sigs)
    out = [f"{level}# Crashes: {n} CRASH, {len(sigs)} distinct", ""]
    for g in sigs[:MAX_ROWS]:
        others = len(g["cases"]) - 1
        out.append(f"- `{g['id']}` **{md_cell(g['text'], 240)}**: {len(g['cases'])} case(s); "
                   f"shortest `{g['shortest']}`" + (f" and {others} more" if others else ""))
        detail = [f"    {ln}" for ln in (g.get("stderr") or [])[:4]]
        if g.get("backtrace"):
            detail += ["", f"    backtrace ({g.get('backtrace_source')}):", ""]
            detail += [f"    {ln}" for ln in g["backtrace"].splitlines()[:12]]
        if detail:
            out += ["  <details><summary>stderr and backtrace</summary>", "", *detail, "",
                    "  </details>"]
    return out + [""]


def _flaky_words(doc):
    """', K flaky' when the run repeated (or a FLAKY case is there)."""
    n = doc["summary"].get("flaky", 0)
    return f", {n} flaky" if n or doc["settings"].get("repeat", 1) > 1 else ""


def _shared_section(doc, level):
    """run --shared-target: which verdicts came from a shared target, and
    what each case left it in."""
    on = [c for c in doc["cases"] if c.get("shared_target")]
    if not on:
        return []
    out = [f"{level}# Shared target", "",
           f"{len(on)} verdicts were reached on a target shared with the cases before them "
           f"({doc['harness'].get('shared_targets', 0)} target processes), not on a fresh "
           "one: a verdict here can depend on the earlier cases.", ""]
    left = [c for c in on if c["shared_target"].get("left")]
    out += [f"- `{c['id']}` ({c['verdict']}, target {c['shared_target']['target']}) left: "
            f"{c['shared_target']['left']}" for c in left[:MAX_ROWS]]
    return out + ([""] if left else [])


def target_section(doc, level="##", link=""):
    name = doc["target"]["name"]
    s = doc["summary"]
    out = [f"{level} vhucheck: `{name}` — {s['passed']} passed, {s['failed']} failed, "
           f"{s['skipped']} skipped" + (f", {s['errors']} errors" if s["errors"] else "")
           + _flaky_words(doc), "", _gate_line(doc), ""]
    out += _counts(doc) + [""]
    bad = [c for c in doc["cases"] if not V.is_passing(c["verdict"])]
    regress = [c for c in bad if c["gate"] == X.REGRESSION]
    known = [c for c in bad if c["gate"] == X.EXPECTED]
    if regress:
        title = "Regressions" if doc["settings"].get("expectations") else "Failures"
        out += [f"{level}# {title}", ""] + _failure_rows(regress) + [""]
    if known:
        out += [f"<details><summary>{len(known)} known failures (as expected)</summary>", ""]
        out += _failure_rows(known) + ["", "</details>", ""]
    out += _crash_section(doc, level)
    g = s["gate"]
    if g["unexpected_passes"]:
        out += [f"{level}# Unexpected passes", "",
                "These cases now pass although the expectations file says otherwise; "
                "update it:", ""]
        out += [f"- `{cid}`" for cid in g["unexpected_passes"][:MAX_ROWS]] + [""]
    if g["stale"]:
        out += [f"{level}# Stale expectations", "",
                "Entries that match no case (renamed or mistyped):", ""]
        out += [f"- `{p}`" for p in g["stale"]] + [""]
    out += _shared_section(doc, level)
    for f in doc.get("faults", []):
        mark = FAULT_ICON[fault_status(f)]
        out.append(f"- {mark} fault `{f['name']}` ({f['class']}): "
                   + fault_sentence(f, lambda cid: f"`{cid}`", MAX_ROWS))
    if doc.get("faults"):
        out.append("")
    settings = doc["settings"]
    out.append(f"<sub>{doc['tool']} {doc['version']} · {doc['target']['role']} target, "
               f"harness as {doc['target']['harness_role']} · SHMEM bit {settings['shmem_bit']}"
               + (f" · {settings['repeat']} runs of each case" if settings.get("repeat", 1) > 1
                  else "")
               + f" · {doc['duration_ms'] / 1000:.1f}s · {doc['started']}"
               + (f" · [report]({link})" if link else "") + "</sub>")
    return out


def render(doc):
    return "\n".join(target_section(doc)) + "\n"


def render_matrix(docs, links):
    out = ["## vhucheck matrix", "",
           "| target | role | passed | failed | skipped | errors | flaky | gate |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for d in docs:
        s = d["summary"]
        out.append(f"| `{d['target']['name']}` | {d['target']['role']} | {s['passed']} | "
                   f"{s['failed']} | {s['skipped']} | {s['errors']} | {s.get('flaky', 0)} | "
                   f"{_gate_line(d)} |")
    out.append("")
    for d, link in zip(docs, links):
        out += target_section(d, "###", link) + [""]
    return "\n".join(out)
