"""index.html (one target) and matrix.html (targets x cases).

Rendered on the server side: the page reads fine with scripts off; the
small inline script only filters. Everything comes from the result
document, every string is escaped, and nothing is loaded from elsewhere.
"""

import html
import os
import re

from vhucheck import expectations as X, paths, signature, verdicts as V
from vhucheck.errors import ConfigError
from vhucheck.render.text import fault_sentence
from vhucheck.results import FAULT_CAUGHT, FAULT_MISSED, FAULT_NOT_RUN, fault_status

TOKEN = re.compile(r"@@([A-Z]+)@@")
TRACE_HTML_MAX_LINES = 4000
ROLE_WORD = {"frontend": "front-end", "backend": "back-end"}
# an injected fault's badge: (verdict colour, word)
FAULT_BADGE = {FAULT_CAUGHT: ("PASS", "CAUGHT"), FAULT_MISSED: ("FAIL", "MISSED"),
               FAULT_NOT_RUN: ("UNSUPPORTED", "NOT RUN")}


def esc(text):
    return html.escape(str(text if text is not None else ""), quote=True)


def _template(name):
    path = os.path.join(paths.templates_dir(), name)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read report template: {e.strerror}") from None


def fill(name, values):
    """Replace every @@TOKEN@@ of a template; unknown or unused ones are errors."""
    text = _template(name)
    found = set(TOKEN.findall(text))
    missing = found - set(values)
    if missing:
        raise ConfigError(f"{name}: unknown template token(s) {', '.join(sorted(missing))}")
    unused = set(values) - found - {"CSS", "JS"}
    if unused:
        raise ConfigError(f"{name}: template lacks token(s) {', '.join(sorted(unused))}")
    return TOKEN.sub(lambda m: values[m.group(1)], text)


def _assets():
    return {"CSS": _template("report.css"), "JS": _template("report.js").replace("</", "<\\/")}


def _stack(counts, total):
    if not total:
        return '<div class="stack"></div>'
    segs = "".join(f'<i class="v-{v}" style="width:{100.0 * counts[v] / total:.3f}%;'
                   f'background:var(--c)" title="{v}: {counts[v]}"></i>'
                   for v in reversed(V.ORDER) if counts.get(v))
    return f'<div class="stack" role="img" aria-label="verdicts">{segs}</div>'


def _header(doc):
    t, s = doc["target"], doc["settings"]
    meta = [("target", ROLE_WORD.get(t["role"], t["role"])),
            ("harness plays", ROLE_WORD.get(t["harness_role"], t["harness_role"])),
            ("SHMEM bit", s["shmem_bit"]), ("timeouts", f"×{s['timeout_multiplier']:g}"),
            ("jobs", s["jobs"]), ("took", f"{doc['duration_ms'] / 1000:.1f} s"),
            ("started", doc["started"].replace("T", " "))]
    if s.get("repeat", 1) > 1:
        meta.append(("runs of each case", s["repeat"]))
    if t.get("faults"):
        meta.append(("faults", ", ".join(t["faults"])))
    if s.get("expectations"):
        meta.append(("expectations", s["expectations"]))
    if s.get("backtrace"):
        meta.append(("backtraces", s["backtrace"]))
    spans = "".join(f"<span>{esc(k)} <b>{esc(v)}</b></span>" for k, v in meta)
    where = t.get("command") or t.get("connect") or ""
    return (f'<div class="brand"><b>vhucheck</b> {esc(doc["version"])} · conformance report</div>'
            f'<h1>{esc(t["name"])}<small>{esc(where)}</small></h1>'
            f'<p class="desc">{esc(t.get("description", ""))}</p><div class="meta">{spans}</div>')


def _status(doc):
    s = doc["summary"]
    g = s["gate"]
    total = s["total"]
    if doc.get("interrupted"):
        runs = doc.get("runs") or ()
        where = f" in run {len(runs)} of {doc['settings'].get('repeat')}" if runs else ""
        cls, big = "warn", f"Interrupted{where} — {s['not_run']} cases not run"
    elif s.get("exit_code") == 3:
        cls, big = "bad", "Harness error — some cases could not be judged"
    elif g["regressions"]:
        word = "regressions" if doc["settings"].get("expectations") else "failing"
        cls, big = "bad", f"{len(g['regressions'])} {word} of {total} cases"
    elif g["strict"] and g["unexpected_passes"]:
        cls, big = "bad", f"{len(g['unexpected_passes'])} unexpected passes (strict)"
    elif g["expected"]:
        cls, big = "", f"No regressions — {g['expected']} known gaps as expected"
    else:
        cls, big = "", f"All {total} cases pass" if total else "No case ran"
    sub = (f"{s['passed']} passed · {s['failed']} failed · {s['skipped']} skipped"
           + (f" · {s['errors']} errors" if s["errors"] else ""))
    if s.get("flaky") or doc["settings"].get("repeat", 1) > 1:
        sub += f" · {s.get('flaky', 0)} flaky"
    if g["unexpected_passes"]:
        sub += f" · {len(g['unexpected_passes'])} unexpected passes"
    if g["stale"]:
        sub += f" · {len(g['stale'])} stale expectations"
    links = ""
    bad = g["regressions"] + (g["unexpected_passes"] if g["strict"] else [])
    if bad:
        shown = "".join(f'<a href="#{esc(cid)}" class="mono">{esc(cid)}</a>' for cid in bad[:30])
        more = f"<span> … {len(bad) - 30} more</span>" if len(bad) > 30 else ""
        links = f'<div class="bad-list">{shown}{more}</div>'
    return (f'<section class="status {cls}"><div><div class="big">{esc(big)}</div>'
            f'<div class="sub">{esc(sub)}</div>{links}</div>{_stack(s["verdicts"], total)}</section>')


def _faults(doc):
    """Injected faults: caught, not run or missed (results.fault_status)."""
    rows = []
    ran = {c["id"] for c in doc["cases"]}

    def link(cid):          # a case not run has no entry to link to
        if cid not in ran:
            return f'<span class="mono">{esc(cid)}</span>'
        return f'<a class="mono" href="#{esc(cid)}">{esc(cid)}</a>'

    for f in doc.get("faults", []):
        verdict, word = FAULT_BADGE[fault_status(f)]
        # fault_sentence's own words are plain ASCII; the ids come escaped by link
        rows.append(f'<li><span class="badge v-{verdict}">{word}</span> '
                    f'<b class="mono">{esc(f["name"])}</b> — {esc(f["class"])}<br>'
                    f'<span class="why">{fault_sentence(f, link, 50)}</span></li>')
    if not rows:
        return ""
    return f'<section class="faults"><h4>injected faults</h4><ul>{"".join(rows)}</ul></section>'


def _crashes(doc):
    """CRASH verdicts grouped by signature: one row a bug."""
    sigs = signature.of_doc(doc)
    if not sigs:
        return ""
    n = sum(len(g["cases"]) for g in sigs)
    rows = []
    for g in sigs:
        cases = ", ".join(f'<a class="mono" href="#{esc(c)}">{esc(c)}</a>' for c in g["cases"])
        detail = "\n".join((g.get("stderr") or [])[:4])
        if g.get("backtrace"):
            detail += (("\n\n" if detail else "") + f"backtrace ({g.get('backtrace_source')}):\n"
                       + g["backtrace"])
        more = (f'<details class="sub"><summary>stderr and backtrace</summary>'
                f"{_pre(detail, 'log')}</details>") if detail else ""
        rows.append(f'<li><span class="badge v-CRASH">{len(g["cases"])}×</span> '
                    f'<code>{esc(g["id"])}</code> <b class="mono">{esc(g["text"])}</b><br>'
                    f'<span class="why">shortest <a class="mono" href="#{esc(g["shortest"])}">'
                    f'{esc(g["shortest"])}</a>; cases {cases}</span>{more}</li>')
    return (f'<section class="faults"><h4>crashes: {n} CRASH, {len(sigs)} distinct '
            f'signatures</h4><ul>{"".join(rows)}</ul></section>')


def _crash(case):
    s = case.get("crash")
    if not s:
        return ""
    bt = (f'<details class="sub"><summary>backtrace ({esc(s.get("backtrace_source") or "")})'
          f"</summary>{_pre(s['backtrace'], 'log')}</details>") if s.get("backtrace") else ""
    return (f'<p class="reason">crash signature <code>{esc(s["id"])}</code> '
            f'<span class="mono">{esc(s["text"])}</span></p>{bt}')


def _filters(verdict_counts, area_counts, items_word="cases", extra=""):
    pills = "".join(f'<button class="pill v-{v}" data-fv="{v}" aria-pressed="true">{v}'
                    f"<b>{verdict_counts[v]}</b></button>"
                    for v in V.ORDER if verdict_counts.get(v))
    chips = "".join(f'<button class="chip" data-fa="{esc(a)}" aria-pressed="true">{esc(a)}'
                    f"<b>{n}</b></button>" for a, n in sorted(area_counts.items()))
    return (f'<div class="row"><span class="lbl">verdict</span>{pills}</div>'
            f'<div class="row"><span class="lbl">area</span>{chips}</div>'
            f'<div class="row"><span class="lbl">find</span><input type="search" id="q" '
            f'placeholder="id, title, rule, observed… (press /)" aria-label="search">'
            '<button class="btn" data-act="failures">failures only</button>'
            '<button class="btn" data-act="all">show all</button>'
            '<button class="btn" data-act="expand">expand</button>'
            '<button class="btn" data-act="collapse">collapse</button>'
            f'{extra}<span id="shown">{sum(area_counts.values())} {items_word}</span></div>')


TRACE_LINE = re.compile(r"^(\+?[\d.]+s)\s+(main|backend|#)\s*(->|<-)?\s?(.*)$")


def _trace_line(line):
    """One trace line as spans: time, channel, direction, message name."""
    m = TRACE_LINE.match(line)
    if not m:
        c = trace_class(line)
        return f'<span class="{c}">{esc(line) or " "}</span>' if c else f"<span>{esc(line) or ' '}</span>"
    when, chan, arrow, rest = m.groups()
    if chan == "#":
        return (f'<span class="t-note"><i class="tm">{esc(when)}</i> # {esc(rest)}</span>')
    name, _, args = rest.partition(" ")
    cls = "t-out" if arrow == "->" else "t-in"
    return (f'<span><i class="tm">{esc(when)}</i> <i class="ch ch-{chan}">{chan}</i> '
            f'<i class="{cls}">{esc(arrow or "")} <b>{esc(name)}</b></i> {esc(args)}</span>')


def trace_class(line):
    low = line.lower()
    if re.search(r"(^|\s)(!!|fail|error|finding|deadlock|crash)", low):
        return "t-bad"
    if re.match(r"\s*(#|--|;)", line):
        return "t-note"
    if re.search(r"(->|=>|>>|→|\bsend\b|\bout\b)", line[:40]):
        return "t-out"
    if re.search(r"(<-|<=|<<|←|\brecv\b|\bin\b)", line[:40]):
        return "t-in"
    return ""


def _pre(text, cls, marks=()):
    lines = text.splitlines()
    more = len(lines) - TRACE_HTML_MAX_LINES
    spans = []
    for n, line in enumerate(lines[:TRACE_HTML_MAX_LINES], 1):
        if cls == "trace":
            spans.append(_trace_line(line))
        elif n in marks:
            spans.append(f'<span class="t-mark">{esc(line) or " "}</span>')
        else:
            spans.append(f"<span>{esc(line) or ' '}</span>")
    if more > 0:
        spans.append(f'<span class="t-note">… {more} more lines in the trace file</span>')
    return f'<pre class="{cls}">{"".join(spans)}</pre>'


def _rule(case):
    m = re.match(r"^\s*(\d+(?:\s*[./,]\s*\d+)*)\s*:\s*(.*)$", case["rule"])
    tag = f"Requirement · digest §{m.group(1)} · {case['level']}" if m else \
        f"Requirement · {case['level']}"
    text = m.group(2) if m else case["rule"]
    out = f'<blockquote class="rule"><span class="tag">{esc(tag)}</span>{esc(text)}</blockquote>'
    if case.get("level_reason"):
        out += f'<p class="why">Why {esc(case["level"])}: {esc(case["level_reason"])}</p>'
    return out


def _failures(case):
    rows = "".join(f'<tr><td class="mono">{esc(f.get("line", ""))}</td><td>{esc(f.get("grade", ""))}</td>'
                   f'<td>{esc(f.get("expected", ""))}</td><td>{esc(f.get("observed", ""))}</td></tr>'
                   for f in case["failures"])
    if case.get("failures_dropped"):
        rows += (f'<tr><td colspan="4" class="why">… {case["failures_dropped"]} more failed '
                 'expectations were not recorded</td></tr>')
    return ('<table class="fl"><thead><tr><th>line</th><th>grade</th><th>expected</th>'
            f'<th>observed</th></tr></thead><tbody>{rows}</tbody></table>') if rows else ""


def _findings(case):
    items = "".join(f'<li><span class="sev-{esc(f.get("severity", ""))}">{esc(f.get("code", "?"))}</span>'
                    f' <span class="mono">{esc(f.get("msg", ""))}</span> {esc(f.get("text", ""))}</li>'
                    for f in case["findings"])
    if case.get("findings_dropped"):
        items += f'<li class="why">… {case["findings_dropped"]} more findings not recorded</li>'
    return f'<h4>findings</h4><ul class="findings">{items}</ul>' if items else ""


def _runs(case):
    """Every run's verdict of a case run with --repeat: a table for a FLAKY
    case, one line for a stable one."""
    verdicts = case.get("verdicts") or []
    if len(verdicts) < 2:
        return ""
    if not case.get("runs"):
        return f'<p class="why">The same verdict in all {len(verdicts)} runs.</p>'
    rows = []
    for r in case["runs"]:
        v = r.get("verdict", "")
        ms = r.get("duration_ms")
        dur = f"{ms:.1f} ms" if isinstance(ms, (int, float)) else "—"
        mark = " ← details below" if r.get("run") == case.get("details_run") else ""
        rows.append(f'<tr><td class="mono">{esc(r.get("run", ""))}</td><td><span class="badge '
                    f'v-{esc(v)}">{esc(v)}</span></td><td class="mono">{esc(dur)}</td>'
                    f'<td>{esc(r.get("reason", ""))}{esc(mark)}</td>'
                    f'<td class="mono">{esc(r.get("trace") or "")}</td></tr>')
    return ('<h4>runs</h4><table class="fl"><thead><tr><th>run</th><th>verdict</th>'
            '<th>took</th><th>reason</th><th>trace</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _expectation(case):
    e = case.get("expectation")
    gate = case.get("gate")
    if not e:
        return ""
    verdicts = e["verdict"] if isinstance(e["verdict"], str) else " or ".join(e["verdict"])
    word = {X.EXPECTED: "as expected", X.UNEXPECTED_PASS: "unexpected pass: update the file",
            X.REGRESSION: "REGRESSION", X.OK: ""}[gate]
    issue = f' · <span class="mono">{esc(e["issue"])}</span>' if e.get("issue") else ""
    return (f'<div class="expect">Expectations file: <b>{esc(verdicts)}</b> — {esc(e["reason"])}'
            f"{issue} <b>({esc(word)})</b></div>")


def _shared(case):
    """run --shared-target: the verdict came from a target that served the
    cases before it; what this case left it in."""
    st = case.get("shared_target")
    if not st:
        return ""
    left = st.get("left") or "nothing changed (alive; the same fds and mappings)"
    return (f'<p class="reason">Shared target {esc(st.get("target"))} (pid {esc(st.get("pid"))}): '
            f"this verdict may depend on the cases before it. Left: {esc(left)}</p>")


def _case_body(case):
    parts = [_rule(case)]
    if case.get("reason"):
        parts.append(f'<p class="reason">{esc(case["reason"])}</p>')
    parts.append(_crash(case))
    parts.append(_shared(case))
    parts.append(_runs(case))
    if case.get("expected") or case.get("observed"):
        bad = " bad" if not V.is_passing(case["verdict"]) else ""
        parts.append(f'<div class="eo"><div class="exp"><h4>expected</h4><pre>{esc(case["expected"])}</pre></div>'
                     f'<div class="obs{bad}"><h4>observed</h4><pre>{esc(case["observed"])}</pre></div></div>')
    parts += [_failures(case), _findings(case), _expectation(case)]
    trace = case.get("trace") or {}
    if trace.get("text"):
        n = trace["text"].count("\n") + 1
        cut = " (cut; the full trace is in the file)" if trace.get("truncated") else ""
        parts.append(f'<details class="sub"{" open" if not V.is_passing(case["verdict"]) else ""}>'
                     f'<summary>wire trace · {n} lines · <span class="mono">{esc(trace.get("path", ""))}'
                     f"</span>{cut}</summary>{_pre(trace['text'], 'trace')}</details>")
    if case.get("script"):
        marks = {f.get("line") for f in case["failures"]}
        parts.append(f'<details class="sub"><summary>case script · <span class="mono">'
                     f'{esc(case.get("file", ""))}</span>'
                     + (" · failed lines marked" if marks else "") + "</summary>"
                     f"{_pre(case['script'], 'log', marks)}</details>")
    if case.get("stderr_tail"):
        parts.append(f'<details class="sub"><summary>target stderr (tail)</summary>'
                     f"{_pre(case['stderr_tail'], 'log')}</details>")
    req = " · requires " + " ".join(case["requires"]) if case.get("requires") else ""
    parts.append(f'<p class="file mono">{esc(case.get("file", ""))}{esc(req)}</p>')
    return "".join(parts)


def _case(case):
    v = case["verdict"]
    dur = f"{case['duration_ms']:.1f} ms" if case.get("duration_ms") is not None else "—"
    search = " ".join((case["id"], case["title"], case["rule"], case.get("reason", ""),
                       case.get("observed", ""), case.get("expected", ""), v)).lower()
    is_open = " open" if not V.is_passing(v) and case.get("gate") != X.EXPECTED else ""
    return (f'<details class="case v-{v}" id="{esc(case["id"])}" data-item data-verdict="{v}" '
            f'data-area="{esc(case["area"])}" data-search="{esc(search)}"{is_open}>'
            f'<summary><span class="badge v-{v}">{v}</span>'
            + ('<span class="lvl">shared</span>' if case.get("shared_target") else "")
            + f'<code class="cid">{esc(case["id"])}</code>'
            f'<span class="ttl">{esc(case["title"])}</span><span class="lvl">{esc(case["level"])}</span>'
            f'<span class="dur">{dur}</span></summary><div class="body">{_case_body(case)}</div></details>')


def _areas(cases):
    areas = {}
    for c in cases:
        areas.setdefault(c["area"], []).append(c)
    return areas


def _footer(doc, links):
    files = " · ".join(f'<a href="{esc(h)}">{esc(t)}</a>' for t, h in links)
    notrun = ""
    if doc.get("not_run"):
        notrun = f"<p>Not run (interrupted): {esc(', '.join(doc['not_run']))}</p>"
    return f"{notrun}Generated by {esc(doc['tool'])} {esc(doc['version'])} · {files}"


def render(doc):
    areas = _areas(doc["cases"])
    body = []
    for area in sorted(areas):
        cs = areas[area]
        counts = V.counts(c["verdict"] for c in cs)
        body.append(f'<section class="area" data-group><h2>{esc(area)} <small>{len(cs)} cases</small>'
                    f'{_stack(counts, len(cs))}</h2>{"".join(_case(c) for c in cs)}</section>')
    s = doc["summary"]
    title = f"vhucheck · {doc['target']['name']} · {s['passed']}/{s['total']} passed"
    links = [("results.json", "results.json"), ("junit.xml", "junit.xml"),
             ("results.tap", "results.tap"), ("summary.md", "summary.md")]
    return fill("page.html", {
        **_assets(), "TITLE": esc(title), "GENERATOR": esc(f"{doc['tool']} {doc['version']}"),
        "HEADER": _header(doc), "STATUS": _status(doc) + _faults(doc) + _crashes(doc),
        "FILTERS": _filters(s["verdicts"], {a: len(c) for a, c in areas.items()}),
        "BODY": "\n".join(body), "FOOTER": _footer(doc, links)})


# ---- matrix ----

def _abbr(v):
    return {"NON-STRICT": "NON-STRICT", "UNSUPPORTED": "UNSUPP."}.get(v, v)


def _matrix_rows(docs, links):
    index = [{c["id"]: c for c in d["cases"]} for d in docs]
    meta = {}
    for d in docs:
        for c in d["cases"]:
            meta.setdefault(c["id"], c)
    areas = {}
    for cid, c in meta.items():
        areas.setdefault(c["area"], []).append(c)
    out = []
    for area in sorted(areas):
        rows = [f'<tr class="ar"><th colspan="{len(docs) + 2}">{esc(area)}</th></tr>']
        for c in sorted(areas[area], key=lambda c: c["id"]):
            cells, verdicts = [], []
            for ix, link in zip(index, links):
                r = ix.get(c["id"])
                if r is None:
                    cells.append('<td class="cell"><span class="na" title="not run on this target">—</span></td>')
                    continue
                verdicts.append(r["verdict"])
                tip = esc(r.get("reason") or r["verdict"])
                cells.append(f'<td class="cell"><a class="badge v-{r["verdict"]}" title="{tip}" '
                             f'href="{esc(link)}#{esc(c["id"])}">{_abbr(r["verdict"])}</a></td>')
            search = f"{c['id']} {c['title']} {' '.join(verdicts)}".lower()
            diff = "1" if len(set(verdicts)) > 1 else "0"
            rows.append(f'<tr data-item data-diff="{diff}" data-verdict="{" ".join(sorted(set(verdicts)))}" '
                        f'data-area="{esc(area)}" data-search="{esc(search)}">'
                        f'<td><code>{esc(c["id"])}</code></td><td class="ttl">{esc(c["title"])}</td>'
                        f'{"".join(cells)}</tr>')
        out.append(f'<tbody data-group>{"".join(rows)}</tbody>')
    return out, areas


def _matrix_failing(docs, links, limit=30):
    """At the top of the matrix: each target's failing cases (those that
    fail its gate), linked to the case in that target's report."""
    out = []
    for d, link in zip(docs, links):
        g = d["summary"]["gate"]
        bad = g["regressions"] + (g["unexpected_passes"] if g["strict"] else [])
        if not bad:
            continue
        shown = "".join(f'<a href="{esc(link)}#{esc(cid)}" class="mono">{esc(cid)}</a>'
                        for cid in bad[:limit])
        more = f"<span> … {len(bad) - limit} more</span>" if len(bad) > limit else ""
        out.append(f'<div class="bad-list"><b>{esc(d["target"]["name"])}: {len(bad)} '
                   f'failing</b>{shown}{more}</div>')
    return "".join(out)


def render_matrix(docs, links, started, version):
    rows, areas = _matrix_rows(docs, links)
    heads = "".join(f'<th class="tg"><a href="{esc(link)}">{esc(d["target"]["name"])}</a>'
                    f'<small>{esc(d["summary"]["passed"])}/{esc(d["summary"]["total"])} passed'
                    f' · {esc(ROLE_WORD.get(d["target"]["role"], ""))}</small></th>'
                    for d, link in zip(docs, links))
    table = (f'<table class="mx"><thead><tr><th>case</th><th>title</th>{heads}</tr></thead>'
             f'{"".join(rows)}</table>')
    counts = V.counts(c["verdict"] for d in docs for c in d["cases"])
    total = sum(counts.values())
    bad = sum(1 for d in docs if d["summary"].get("exit_code"))
    sub = ", ".join("%s: %d/%d passed" % (d["target"]["name"], d["summary"]["passed"],
                                          d["summary"]["total"]) for d in docs)
    status = (f'<section class="status {"bad" if bad else ""}"><div><div class="big">'
              f'{len(docs)} targets · {total} results</div><div class="sub">{esc(sub)}'
              f'</div>{_matrix_failing(docs, links)}</div>{_stack(counts, total)}</section>')
    header = (f'<div class="brand"><b>vhucheck</b> {esc(version)} · interop matrix</div>'
              f'<h1>Targets × cases</h1><p class="desc">Each cell links to the case in that '
              f'target\'s report; — means the case does not apply to that target\'s role.</p>'
              f'<div class="meta"><span>started <b>{esc(started.replace("T", " "))}</b></span></div>')
    return fill("page.html", {
        **_assets(), "TITLE": "vhucheck · matrix", "GENERATOR": esc(f"vhucheck {version}"),
        "HEADER": header, "STATUS": status,
        "FILTERS": _filters(counts, {a: len(c) for a, c in areas.items()}, "rows",
                            '<button class="btn" data-act="diff" aria-pressed="false">'
                            "differences only</button>"),
        "BODY": table,
        "FOOTER": f"Generated by vhucheck {esc(version)} · " + " · ".join(
            f'<a href="{esc(l)}">{esc(d["target"]["name"])}</a>' for d, l in zip(docs, links))})
