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


def target_files(doc):
    """[(file name, text)] of one target's report; results.json last, so a
    reader that finds it finds the rest too."""
    return [("junit.xml", junit.render([doc])), ("results.tap", tap.render(doc)),
            ("summary.md", markdown.render(doc)), ("index.html", html.render(doc)),
            (RESULTS, dumps(doc))]


def matrix_files(docs, subdirs, started, version, not_run=()):
    """[(file name, text)] of the top of a several-target report dir."""
    links = [f"{d}/index.html" for d in subdirs]
    index = {"tool": docs[0]["tool"] if docs else "vhucheck", "version": version,
             "started": started, "interrupted": any(d.get("interrupted") for d in docs),
             "targets": [{"name": d["target"]["name"], "dir": sub,
                          "exit_code": d["summary"]["exit_code"],
                          "summary": {k: d["summary"].get(k, 0) for k in
                                      ("total", "passed", "failed", "skipped", "errors",
                                       "flaky", "not_run")}}
                         for d, sub in zip(docs, subdirs)],
             "targets_not_run": list(not_run)}
    return [("junit.xml", junit.render(docs)),
            ("summary.md", markdown.render_matrix(docs, links)),
            ("matrix.html", html.render_matrix(docs, links, started, version)),
            (MATRIX, dumps(index))]


def write_files(out, files):
    """Write rendered files into out, each atomically, in order."""
    for name, text in files:
        atomic.write_text(os.path.join(out, name), text)


def write_target(out, doc):
    write_files(out, target_files(doc))


def write_matrix(out, docs, subdirs, started, version, not_run=()):
    write_files(out, matrix_files(docs, subdirs, started, version, not_run))
