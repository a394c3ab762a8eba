"""Reading results back: a results.json, or a report dir of one or several
targets. Checked enough that renderers can trust what they get."""

import json
import os
import re

from vhucheck import results, verdicts as V
from vhucheck.errors import ConfigError
from vhucheck.render import MATRIX, RESULTS

NUMBER = (int, float)
# What the renderers and compare read without looking: key -> type(s).
# A hand-edited or foreign file that breaks these is refused with the key
# named, rather than failing half way through a re-render.
SHAPE = {"version": str, "target": dict, "settings": dict, "summary": dict,
         "cases": list, "started": str, "duration_ms": NUMBER, "interrupted": bool}
TARGET_SHAPE = {"name": str, "role": str, "harness_role": str}
SUMMARY_SHAPE = {"total": int, "verdicts": dict, "passed": int, "failed": int,
                 "skipped": int, "errors": int, "not_run": int, "gate": dict,
                 "exit_code": int}
GATE_SHAPE = {"regressions": list, "unexpected_passes": list, "expected": int,
              "stale": list, "strict": bool}
CASE_SHAPE = {"id": str, "title": str, "area": str, "level": str, "rule": str,
              "verdict": str}
# Optional per-case keys: when present, of this type (None allowed).
CASE_OPTIONAL = {"failures": list, "findings": list, "trace": dict, "target": dict,
                 "expectation": dict, "gate": str, "reason": str, "expected": str,
                 "observed": str, "duration_ms": NUMBER, "requires": list, "script": str,
                 "stderr_tail": str, "verdicts": list, "runs": list, "details_run": int,
                 "crash": dict}
CRASH_SHAPE = {"id": str, "text": str}
# Optional top-level keys.
DOC_OPTIONAL = {"signatures": list}
# Optional summary keys (added after schema 1 was first written).
SUMMARY_OPTIONAL = {"flaky": int, "crash_signatures": int}
# The schemas read back (1 is upgraded on load: upgrade()).
READS = (1, results.SCHEMA)
SUBDIR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _names(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join({str: "a string", dict: "an object", list: "an array",
                        int: "an integer", float: "a number", bool: "a boolean"}[t]
                       for t in types)


def _typed(value, types):
    types = types if isinstance(types, tuple) else (types,)
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def check_shape(path, where, obj, shape, optional=None):
    """ConfigError naming path and the key when obj lacks a key of shape
    or holds a value of the wrong type."""
    for key, types in shape.items():
        if key not in obj:
            raise ConfigError(f"{path}: {where}lacks '{key}'")
        if not _typed(obj[key], types):
            raise ConfigError(f"{path}: {where}'{key}' must be {_names(types)}")
    for key, types in (optional or {}).items():
        if obj.get(key) is not None and not _typed(obj[key], types):
            raise ConfigError(f"{path}: {where}'{key}' must be {_names(types)} or null")


def upgrade(doc):
    """A schema 1 document as schema 2: a case's `role` said the side the
    harness played; it now says the target's, which is the target's own
    `role` (every case of a document ran against that one target)."""
    if doc.get("schema") == 1:
        for c in doc["cases"]:
            if isinstance(c, dict) and "role" in c:
                c["role"] = doc["target"]["role"]
        doc["schema"] = results.SCHEMA
    return doc


def check_doc(path, doc):
    if not isinstance(doc, dict) or doc.get("tool") != "vhucheck":
        raise ConfigError(f"{path}: not a vhucheck results file")
    if doc.get("schema") not in READS:
        raise ConfigError(f"{path}: results schema {doc.get('schema')!r}, this vhucheck "
                          f"reads {' and '.join(map(str, READS))}")
    check_shape(path, "", doc, SHAPE, DOC_OPTIONAL)
    check_shape(path, "target: ", doc["target"], TARGET_SHAPE)
    check_shape(path, "summary: ", doc["summary"], SUMMARY_SHAPE, SUMMARY_OPTIONAL)
    check_shape(path, "summary.gate: ", doc["summary"]["gate"], GATE_SHAPE)
    for n, c in enumerate(doc["cases"]):
        if not isinstance(c, dict):
            raise ConfigError(f"{path}: cases[{n}] must be an object")
        check_shape(path, f"cases[{n}] ", c, CASE_SHAPE, CASE_OPTIONAL)
        if c["verdict"] not in V.ALL:
            raise ConfigError(f"{path}: cases[{n}] ({c['id']}): unknown verdict {c['verdict']!r}")
        if c.get("crash") is not None:
            check_shape(path, f"cases[{n}] ({c['id']}) crash: ", c["crash"], CRASH_SHAPE)
        for key in ("failures", "findings", "runs"):
            if any(not isinstance(f, dict) for f in c.get(key) or ()):
                raise ConfigError(f"{path}: cases[{n}] ({c['id']}): '{key}' must hold objects")
        if any(v not in V.HARNESS for v in c.get("verdicts") or ()):
            raise ConfigError(f"{path}: cases[{n}] ({c['id']}): 'verdicts' must hold "
                              "verdict names (no FLAKY)")


def load_doc(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(f"{path}: not readable JSON: {e}") from None
    check_doc(path, doc)
    return upgrade(doc)


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
        subs = _matrix_dirs(index)
    else:
        try:
            names = os.listdir(path)
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
        subs = sorted(d for d in names if os.path.isfile(os.path.join(path, d, RESULTS)))
    if not subs:
        raise ConfigError(f"{path}: no {RESULTS} in it or in its sub-dirs")
    return [(d, load_doc(os.path.join(path, d, RESULTS))) for d in subs]


def _matrix_dirs(index):
    """The sub-dirs a matrix.json lists: plain names inside its dir."""
    try:
        with open(index, encoding="utf-8") as f:
            targets = json.load(f)["targets"]
        subs = [t["dir"] for t in targets]
    except OSError as e:
        raise ConfigError(f"{index}: cannot read: {e.strerror}") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{index}: unreadable: {type(e).__name__}: {e}") from None
    for d in subs:
        if not isinstance(d, str) or not SUBDIR_RE.match(d):
            raise ConfigError(f"{index}: 'dir' {d!r} is not a sub-directory name")
    return subs
