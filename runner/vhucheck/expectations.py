"""Expectations files: the verdicts a target is known to get, so CI gates
on regressions rather than on known gaps.

    [ref-frontend]                       # a target name
    shmem_map_len_zero = { verdict = "NON-STRICT", reason = "len 0 accepted" }
    "shmem_unmap_*" = { verdict = ["FAIL", "CRASH"], reason = "...", issue = "URL" }

A key is a case id or an fnmatch glob (an exact id wins over globs, globs
are tried in file order). ``verdict`` is one verdict or a list of them;
``reason`` is required: every known gap says why. ``signature`` (one or a
list) says which crash a CRASH verdict must be: a signature id
("3f2a9c1e") or a glob over its text ("CRASH SIGABRT: Assertion*"); a
CRASH with another signature is a regression (a new bug in a case that
already crashed).
"""

import dataclasses
import difflib
import fnmatch
import re
import tomllib

from vhucheck import verdicts as V
from vhucheck.errors import ConfigError

ENTRY_KEYS = ("verdict", "reason", "issue", "signature")
KEY_RE = re.compile(r"^[A-Za-z0-9_*?\[\]!/.-]+$")

# Gate outcomes per case.
OK = "ok"                     # passing, nothing expected
EXPECTED = "expected"         # the verdict is one the file lists
REGRESSION = "regression"     # failing, and not as the file says
UNEXPECTED_PASS = "unexpected-pass"  # passing, the file expected otherwise


@dataclasses.dataclass(frozen=True)
class Entry:
    pattern: str
    verdicts: tuple
    reason: str
    issue: str = ""
    signatures: tuple = ()

    def is_glob(self):
        return any(ch in self.pattern for ch in "*?[")

    def matches(self, case_id, key):
        target = key if "/" in self.pattern else case_id
        return fnmatch.fnmatchcase(target, self.pattern)

    def as_dict(self):
        d = {"verdict": list(self.verdicts) if len(self.verdicts) > 1 else self.verdicts[0],
             "reason": self.reason, "pattern": self.pattern}
        if self.issue:
            d["issue"] = self.issue
        if self.signatures:
            d["signature"] = list(self.signatures)
        return d

    def crash_matches(self, crash):
        """Whether a crash signature is one this entry names (any, when it
        names none)."""
        if not self.signatures or not crash:
            return True
        return any(s in (crash.get("id"), crash.get("text"))
                   or fnmatch.fnmatchcase(crash.get("text", ""), s)
                   for s in self.signatures)


def _entry(path, target, key, value):
    where = f"{path}: [{target}] {key}"
    if not KEY_RE.match(key):
        raise ConfigError(f"{where}: not a case id or glob")
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table like "
                          "{ verdict = \"FAIL\", reason = \"...\" }")
    for k in value:
        if k not in ENTRY_KEYS:
            raise ConfigError(f"{where}: unknown key '{k}' (known: {', '.join(ENTRY_KEYS)})")
    if "verdict" not in value:
        raise ConfigError(f"{where}: 'verdict' is required")
    verdict = value["verdict"]
    vlist = verdict if isinstance(verdict, list) else [verdict]
    if not vlist:
        raise ConfigError(f"{where}: 'verdict' is an empty list")
    for v in vlist:
        if not isinstance(v, str) or v not in V.ALL:
            raise ConfigError(f"{where}: 'verdict' {v!r} is not one of {', '.join(V.ORDER)}")
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: 'reason' is required (a non-empty string): "
                          "say why this verdict is expected")
    issue = value.get("issue", "")
    if not isinstance(issue, str):
        raise ConfigError(f"{where}: 'issue' must be a string")
    sigs = value.get("signature", [])
    sigs = sigs if isinstance(sigs, list) else [sigs]
    if not all(isinstance(s, str) and s.strip() for s in sigs):
        raise ConfigError(f"{where}: 'signature' must be a signature id or text glob, "
                          "or a list of them")
    if sigs and "CRASH" not in vlist:
        raise ConfigError(f"{where}: 'signature' names a crash, but 'verdict' does not "
                          "include CRASH")
    return Entry(pattern=key, verdicts=tuple(vlist), reason=reason.strip(), issue=issue,
                 signatures=tuple(s.strip() for s in sigs))


class Expectations:
    """All entries of one file, by target name."""

    def __init__(self, path, targets):
        self.path = path
        self.targets = targets   # name -> [Entry]

    def for_target(self, name):
        return TargetExpectations(self.path, self.targets.get(name, []))

    def check_targets(self, known, selected):
        """ConfigError for a table naming no known target: a typo there
        ([ref-frontnd]) would otherwise leave the target it meant without
        its expectations, silently. known: every target name that may
        appear; selected: those of this run, named in the message."""
        for name in self.targets:
            if name in known:
                continue
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean [{near[0]}]?" if near else ""
            raise ConfigError(f"{self.path}: [{name}]: no such target (the tables are target "
                              f"names; selected: {', '.join(selected) or 'none'}{hint})")


class TargetExpectations:
    def __init__(self, path, entries):
        self.path = path
        self.entries = entries

    def __bool__(self):
        return bool(self.entries)

    def lookup(self, case_id, key):
        for e in self.entries:
            if not e.is_glob() and e.pattern in (case_id, key):
                return e
        for e in self.entries:
            if e.is_glob() and e.matches(case_id, key):
                return e
        return None

    def stale(self, cases):
        """Entries that match no case of the catalogue: renamed or mistyped."""
        return [e for e in self.entries
                if not any(e.matches(c.id, c.key()) for c in cases)]

    def stale_warnings(self, target, cases):
        """One line per stale entry, with the nearest case id."""
        ids = [c.id for c in cases]
        out = []
        for e in self.stale(cases):
            near = [] if e.is_glob() else difflib.get_close_matches(e.pattern, ids, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            out.append(f"{self.path}: [{target}] {e.pattern}: matches no case{hint}")
        return out


def empty():
    return Expectations(None, {})


def load(path):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such expectations file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    targets = {}
    for target, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: '{target}' must be a table [{target}] of case "
                              "entries (top-level keys are target names)")
        targets[target] = [_entry(path, target, k, v) for k, v in table.items()]
    return Expectations(path, targets)


def judge(verdict, entry, crash=None):
    """The gate's view of one case: OK, EXPECTED, REGRESSION, UNEXPECTED_PASS.
    crash: the case's signature, judged when the entry names signatures."""
    if entry is not None and verdict in entry.verdicts:
        if verdict == V.CRASH and not entry.crash_matches(crash):
            return REGRESSION
        return EXPECTED
    if V.is_passing(verdict):
        return OK if entry is None else UNEXPECTED_PASS
    return REGRESSION
