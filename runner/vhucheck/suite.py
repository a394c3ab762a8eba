"""The case catalogue: the headers of the ``.vhu`` files under ``suites/``.

The harness parses the files (``vhucheck-harness --list-json``, one JSON
line per file: the header, whether it parsed, the errors): the .vhu
language has one owner, the C, and this module never reads a case file
itself. A case whose header does not parse is a configuration error
naming its file and line; a case whose steps do not parse is still
listed, and running it is an ERROR (the harness says why).
"""

import dataclasses
import fnmatch
import json
import os
import subprocess

from vhucheck import paths
from vhucheck.errors import ConfigError, HarnessError

LEVELS = ("MUST", "SHOULD", "INFO")
LIST_TIMEOUT_S = 120


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    title: str
    area: str
    role: str          # the TARGET's role (the case's 'target' line)
    level: str
    rule: str
    reason: str
    requires: tuple
    timeout_ms: int
    path: str          # absolute
    file: str          # as shown in reports: relative to the source tree
    wait_ms: int = 0   # what it waits by design (sleeps, windows of silence)

    def key(self):
        """area/id: what globs containing a '/' are matched against."""
        return f"{self.area}/{self.id}"


def list_json(files, harness=None):
    """The harness's header of each file: [dict], in the order given."""
    if not files:
        return []
    harness = harness or paths.harness()
    if not os.access(harness, os.X_OK):
        raise HarnessError(f"{paths.relpath(harness)}: no harness binary to read the cases "
                           f"with ({paths.rebuild_hint()})")
    try:
        p = subprocess.run([harness, "--list-json", *files], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=LIST_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HarnessError(f"{paths.relpath(harness)} --list-json: {e}") from None
    if p.returncode != 0:
        raise HarnessError(f"{paths.relpath(harness)} --list-json: exit {p.returncode}: "
                           f"{p.stderr.strip()[:300]}")
    try:
        heads = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    except ValueError as e:
        raise HarnessError(f"{paths.relpath(harness)} --list-json: not JSON: {e}") from None
    if len(heads) != len(files):
        raise HarnessError(f"{paths.relpath(harness)} --list-json: {len(heads)} headers for "
                           f"{len(files)} files (is it vhucheck-harness?)")
    return heads


def _case(head, root):
    """A Case from the harness's header; ConfigError when it did not parse."""
    path = os.path.abspath(head["file"])
    if not head.get("header_ok"):
        errors = head.get("errors") or [f"{path}: cannot read the header"]
        raise ConfigError(errors[0])
    rel = os.path.relpath(path, root)
    if os.sep not in rel:
        raise ConfigError(f"{path}: case files live in suites/<area>/, not at the top")
    return Case(id=head["id"], title=head["title"], area=rel.split(os.sep)[0],
                role=head["role"], level=head["level"], rule=head["rule"],
                reason=head["reason"], requires=tuple(head["requires"]),
                timeout_ms=int(head["timeout_ms"]), path=path,
                file=os.path.relpath(path, os.path.dirname(root)),
                wait_ms=int(head.get("wait_ms") or 0))


def read_case(path, root):
    """The header of one case file; ConfigError names file:line."""
    return _case(list_json([path])[0], root)


def discover(root=None):
    """Every case under root (default: the suites dir), sorted by area then id."""
    root = os.path.abspath(root or paths.suites_dir())
    if not os.path.isdir(root):
        raise ConfigError(f"{root}: no such suites directory")
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files += [os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith(".vhu")]
    cases = [_case(h, root) for h in list_json(files)]
    seen = {}
    for c in cases:
        if c.id in seen:
            raise ConfigError(f"{c.path}: id '{c.id}' also used by {seen[c.id]}")
        seen[c.id] = c.path
    cases.sort(key=lambda c: (c.area, c.id))
    return cases


def glob_matches(pattern, case):
    """A glob with a '/' is matched against area/id, otherwise against the id."""
    if "/" in pattern:
        return fnmatch.fnmatchcase(case.key(), pattern)
    return fnmatch.fnmatchcase(case.id, pattern)


def select(cases, role=None, include=(), exclude=()):
    """The cases for targets of one role that match an include glob (all when
    there is none) and no exclude glob, in catalogue order."""
    out = []
    for c in cases:
        if role and c.role != role:
            continue
        if include and not any(glob_matches(p, c) for p in include):
            continue
        if any(glob_matches(p, c) for p in exclude):
            continue
        out.append(c)
    return out


def unmatched_globs(cases, globs):
    """The globs that match no case at all (typos)."""
    return [p for p in globs if not any(glob_matches(p, c) for c in cases)]
