"""Report writers. Each takes result documents (results.json's content)
and returns text; this module writes them into a report dir, atomically.

One target:      DIR/results.json junit.xml results.tap summary.md index.html
Several targets: DIR/<target>/... as above, plus DIR/matrix.html,
                 DIR/matrix.json, DIR/summary.md and a combined DIR/junit.xml
"""

import json
import os

from vhucheck.render import atomic, html, junit, markdown, tap

RESULTS = "results.json"
MATRIX = "matrix.json"


def dumps(doc):
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def write_target(out, doc):
    """Every per-target file; results.json last, so a reader that finds it
    finds the rest too."""
    atomic.write_text(os.path.join(out, "junit.xml"), junit.render([doc]))
    atomic.write_text(os.path.join(out, "results.tap"), tap.render(doc))
    atomic.write_text(os.path.join(out, "summary.md"), markdown.render(doc))
    atomic.write_text(os.path.join(out, "index.html"), html.render(doc))
    atomic.write_text(os.path.join(out, RESULTS), dumps(doc))


def write_matrix(out, docs, subdirs, started, version, not_run=()):
    links = [f"{d}/index.html" for d in subdirs]
    atomic.write_text(os.path.join(out, "junit.xml"), junit.render(docs))
    atomic.write_text(os.path.join(out, "summary.md"),
                      markdown.render_matrix(docs, links))
    atomic.write_text(os.path.join(out, "matrix.html"),
                      html.render_matrix(docs, links, started, version))
    index = {"tool": docs[0]["tool"] if docs else "vhucheck", "version": version,
             "started": started, "interrupted": any(d.get("interrupted") for d in docs),
             "targets": [{"name": d["target"]["name"], "dir": sub,
                          "exit_code": d["summary"]["exit_code"],
                          "summary": {k: d["summary"][k] for k in
                                      ("total", "passed", "failed", "skipped", "errors", "not_run")}}
                         for d, sub in zip(docs, subdirs)],
             "targets_not_run": list(not_run)}
    atomic.write_text(os.path.join(out, MATRIX), dumps(index))
