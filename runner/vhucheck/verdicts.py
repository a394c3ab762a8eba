"""Verdict names, which count as passing, and their order of severity."""

PASS = "PASS"
FAIL = "FAIL"
NON_STRICT = "NON-STRICT"
INFO = "INFO"
UNSUPPORTED = "UNSUPPORTED"
TIMEOUT = "TIMEOUT"
DEADLOCK = "DEADLOCK"
CRASH = "CRASH"
ERROR = "ERROR"

# Most severe first: the harness's precedence, UNSUPPORTED (decided before
# judging) placed with the passing ones. Reports list counts in this order.
ORDER = (ERROR, CRASH, DEADLOCK, TIMEOUT, FAIL, NON_STRICT, INFO, UNSUPPORTED, PASS)
ALL = frozenset(ORDER)

PASSING = frozenset((PASS, INFO, UNSUPPORTED, NON_STRICT))
FAILING = frozenset((FAIL, CRASH, TIMEOUT, DEADLOCK, ERROR))

# Words for the one-line summary: how each verdict is counted.
BUCKET = {
    PASS: "passed", INFO: "passed", NON_STRICT: "passed",
    UNSUPPORTED: "skipped",
    FAIL: "failed", CRASH: "failed", TIMEOUT: "failed", DEADLOCK: "failed",
    ERROR: "errors",
}


def is_passing(verdict):
    """True for the verdicts that do not fail a run."""
    return verdict in PASSING


def severity(verdict):
    """Sort key: 0 for the most severe verdict; unknown ones first."""
    try:
        return ORDER.index(verdict)
    except ValueError:
        return -1


def counts(verdict_list):
    """Every verdict name mapped to how often it occurs (zeros included)."""
    out = {v: 0 for v in ORDER}
    for v in verdict_list:
        out[v] = out.get(v, 0) + 1
    return out
