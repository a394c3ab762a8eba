"""Reading results back: a results.json, or a report dir of one or several
targets. Checked enough that renderers can trust what they get."""

import json
import os

from vhucheck import results, verdicts as V
from vhucheck.errors import ConfigError
from vhucheck.render import MATRIX, RESULTS

REQUIRED = ("tool", "version", "target", "settings", "summary", "cases", "started",
            "duration_ms")
CASE_REQUIRED = ("id", "title", "area", "level", "rule", "verdict")


def load_doc(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: not readable JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("tool") != "vhucheck":
        raise ConfigError(f"{path}: not a vhucheck results file")
    if doc.get("schema") != results.SCHEMA:
        raise ConfigError(f"{path}: results schema {doc.get('schema')!r}, this vhucheck "
                          f"reads {results.SCHEMA}")
    for key in REQUIRED:
        if key not in doc:
            raise ConfigError(f"{path}: lacks '{key}'")
    for n, c in enumerate(doc["cases"]):
        for key in CASE_REQUIRED:
            if not isinstance(c, dict) or key not in c:
                raise ConfigError(f"{path}: cases[{n}] lacks '{key}'")
        if c["verdict"] not in V.ALL:
            raise ConfigError(f"{path}: cases[{n}] ({c['id']}): unknown verdict {c['verdict']!r}")
    return doc


def load_dir(path):
    """[(subdir, doc)]: one entry ('', doc) for a single-target dir."""
    if os.path.isfile(path):
        return [("", load_doc(path))]
    if not os.path.isdir(path):
        raise ConfigError(f"{path}: no such report dir or results file")
    if os.path.isfile(os.path.join(path, RESULTS)):
        return [("", load_doc(os.path.join(path, RESULTS)))]
    subs = []
    index = os.path.join(path, MATRIX)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as f:
                subs = [t["dir"] for t in json.load(f)["targets"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{index}: unreadable: {e}") from None
    else:
        subs = sorted(d for d in os.listdir(path)
                      if os.path.isfile(os.path.join(path, d, RESULTS)))
    if not subs:
        raise ConfigError(f"{path}: no {RESULTS} in it or in its sub-dirs")
    return [(d, load_doc(os.path.join(path, d, RESULTS))) for d in subs]
