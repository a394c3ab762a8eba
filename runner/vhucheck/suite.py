"""The case catalogue: headers of the ``.vhu`` files under ``suites/``.

Only the header is read here (id, title, role, rule, level, reason,
requires, timeout; refusal and model are known, so that the header goes
on past them): enough to list, select and label cases. The steps are
the harness's business; a script error there becomes that case's ERROR.
"""

import dataclasses
import fnmatch
import os
import re

from vhucheck import paths
from vhucheck.errors import ConfigError

HEADER_KEYS = ("id", "title", "role", "rule", "level", "reason", "requires", "timeout",
               "refusal", "model")
REQUIRED_KEYS = ("id", "title", "role", "rule", "level")
TEXT_KEYS = ("title", "rule", "reason")
ROLES = ("backend", "frontend")
LEVELS = ("MUST", "SHOULD", "INFO")
DEFAULT_TIMEOUT_MS = 5000
ID_RE = re.compile(r"^[a-z0-9_]+$")


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    title: str
    area: str
    role: str          # the role the HARNESS plays
    level: str
    rule: str
    reason: str
    requires: tuple
    timeout_ms: int
    path: str          # absolute
    file: str          # as shown in reports: relative to the source tree

    def key(self):
        """area/id: what globs containing a '/' are matched against."""
        return f"{self.area}/{self.id}"


def _header_lines(path):
    """(line number, keyword, rest) for each statement of the header."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read case: {e}") from None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        word, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if word not in HEADER_KEYS:
            return
        yield n, word, rest.strip()


def _check_field(path, n, key, value, fields):
    where = f"{path}:{n}"
    if key in fields:
        raise ConfigError(f"{where}: '{key}' given twice")
    if key not in TEXT_KEYS and key != "requires":
        value = value.split("#", 1)[0].strip()
    if not value and key != "requires":
        raise ConfigError(f"{where}: '{key}' needs a value")
    if key == "id" and not ID_RE.match(value):
        raise ConfigError(f"{where}: id '{value}' must match [a-z0-9_]+")
    if key == "role" and value not in ROLES:
        raise ConfigError(f"{where}: role '{value}' must be backend or frontend")
    if key == "level" and value not in LEVELS:
        raise ConfigError(f"{where}: level '{value}' must be MUST, SHOULD or INFO")
    if key == "timeout":
        try:
            value = int(value, 0)
        except ValueError:
            raise ConfigError(f"{where}: timeout '{value}' is not a number of ms") from None
        if value <= 0:
            raise ConfigError(f"{where}: timeout must be positive")
    if key == "requires":
        value = tuple(value.split("#", 1)[0].split())
    return value


def read_case(path, root):
    """Parse the header of one case file; ConfigError names file:line."""
    fields = {}
    lines = {}
    for n, key, value in _header_lines(path):
        fields[key] = _check_field(path, n, key, value, fields)
        lines[key] = n
    for key in REQUIRED_KEYS:
        if key not in fields:
            raise ConfigError(f"{path}:1: header lacks '{key}'")
    stem = os.path.splitext(os.path.basename(path))[0]
    if fields["id"] != stem:
        raise ConfigError(f"{path}:{lines['id']}: id '{fields['id']}' differs from "
                          f"the file name '{stem}'")
    if fields["level"] != "MUST" and "reason" not in fields:
        raise ConfigError(f"{path}:{lines['level']}: level {fields['level']} needs a 'reason'")
    rel = os.path.relpath(path, root)
    area = rel.split(os.sep)[0] if os.sep in rel else ""
    if not area:
        raise ConfigError(f"{path}: case files live in suites/<area>/, not at the top")
    return Case(id=fields["id"], title=fields["title"], area=area,
                role=fields["role"], level=fields["level"], rule=fields["rule"],
                reason=fields.get("reason", ""), requires=fields.get("requires", ()),
                timeout_ms=fields.get("timeout", DEFAULT_TIMEOUT_MS),
                path=os.path.abspath(path),
                file=os.path.relpath(path, os.path.dirname(root)))


def discover(root=None):
    """Every case under root (default: the suites dir), sorted by area then id."""
    root = root or paths.suites_dir()
    if not os.path.isdir(root):
        raise ConfigError(f"{root}: no such suites directory")
    cases = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".vhu"):
                cases.append(read_case(os.path.join(dirpath, name), root))
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
    """The cases of one harness role that match an include glob (all when
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
