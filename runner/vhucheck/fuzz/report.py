"""A campaign's report: report.json, report.md, coverage.csv (the
engine's points) and edges.csv (fuzz/coverage.py's curve).
"""

import json
import os

from vhucheck.fuzz import coverage
from vhucheck.fuzz.engines import afl_stats

def summarize(engine, out, points, seconds):
    """exec/s, executions and final coverage."""
    if engine == "afl":
        st = afl_stats(os.path.join(out["sync"], "main"))
        execs = sum(int(afl_stats(os.path.join(out["sync"], i)).get("execs_done", 0))
                    for i in os.listdir(out["sync"])) if os.path.isdir(out["sync"]) else 0
        return {"executions": execs, "exec_per_sec": round(execs / max(seconds, 1)),
                "coverage": st.get("bitmap_cvg", "?"), "edges": st.get("edges_found"),
                "stability": st.get("stability", "?"), "corpus": st.get("corpus_count")}
    last = points[-1] if points else (0, 0, 0, 0)
    return {"executions": last[1], "exec_per_sec": round(last[1] / max(last[0], 1)),
            "coverage": last[2], "corpus": last[3]}


def write_report(out, meta, summary, points, findings, edges=None):
    report = dict(meta, summary=summary, findings=findings,
                  coverage=[{"seconds": p[0], "executions": p[1], "coverage": p[2],
                             "corpus": p[3]} for p in points],
                  edges=[{"seconds": e[0], "edges": e[1], "entries": e[2]}
                         for e in edges or []])
    with open(os.path.join(out["root"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out["root"], "coverage.csv"), "w") as f:
        f.write("seconds,executions,coverage,corpus\n")
        f.writelines(f"{p[0]},{p[1]},{p[2]},{p[3]}\n" for p in points)
    if edges:
        with open(os.path.join(out["root"], "edges.csv"), "w") as f:
            f.write("seconds,edges,entries\n")
            f.writelines(f"{e[0]},{e[1]},{e[2]}\n" for e in edges)
    with open(os.path.join(out["root"], "report.md"), "w") as f:
        f.write(markdown(meta, summary, points, findings, edges))


def edges_markdown(edges):
    if not edges:
        return ["", "## Edges over time", "",
                "Not measured (needs afl-showmap and the AFL++ build); the engine's "
                "own points are above."]
    lines = ["", "## Edges over time", "",
             f"Every corpus entry (of every instance), in the order it was made, "
             f"replayed through the AFL++ build (afl-showmap): {len(edges)} points "
             f"in edges.csv, {edges[-1][1]} edges at the end.", "",
             "| s | edges | entries |", "| ---: | ---: | ---: |"]
    lines += [f"| {e[0]:g} | {e[1]} | {e[2]} |" for e in coverage.sample(edges)]
    return lines


def markdown(meta, summary, points, findings, edges=None):
    lines = [f"# Fuzz campaign: {meta['fuzzer']}", "",
             f"- engine: {meta['engine']}, {meta['jobs']} job(s), {meta['seconds']} s",
             f"- faults: {', '.join(meta['faults']) or 'none (fault-free reference)'}",
             f"- started: {meta['started']}",
             f"- executions: {summary['executions']} ({summary['exec_per_sec']}/s)",
             f"- coverage: {summary['coverage']}"
             + (f", stability {summary['stability']}" if "stability" in summary else ""),
             f"- findings: {len(findings)} unique", "", "## Coverage over time", "",
             "| s | executions | coverage | corpus |", "| ---: | ---: | ---: | ---: |"]
    step = max(1, len(points) // 12)
    for p in points[::step] + ([points[-1]] if points and (len(points) - 1) % step else []):
        lines.append(f"| {p[0]} | {p[1]} | {p[2]} | {p[3]} |")
    lines += edges_markdown(edges)
    lines += ["", "## Findings", ""]
    if not findings:
        lines.append("None.")
    for i, fd in enumerate(findings, 1):
        lines += [f"### {i}. `{fd['signature']}`", "",
                  f"- {fd['count']} crashing input(s); kept {fd['input']} ({fd['bytes']} bytes)",
                  f"- replay: `{fd['replay']}`"]
        if fd["repro_vhu"]:
            lines += [f"- case: {fd['repro_vhu']}", f"- run it: `{fd['run_case']}`"]
        lines.append("")
    return "\n".join(lines) + "\n"
