"""Verdict names, which count as passing, and their order of severity.

FLAKY is the runner's, never the harness's: with ``run --repeat N`` a case
whose verdict changed between the runs is FLAKY (repeat.py)."""

PASS = "PASS"
FAIL = "FAIL"
NON_STRICT = "NON-STRICT"
INFO = "INFO"
UNSUPPORTED = "UNSUPPORTED"
TIMEOUT = "TIMEOUT"
DEADLOCK = "DEADLOCK"
CRASH = "CRASH"
ERROR = "ERROR"
FLAKY = "FLAKY"

# Most severe first: the harness's precedence, UNSUPPORTED (decided before
# judging) placed with the passing ones, FLAKY (a verdict that would not
# hold still) after ERROR. Reports list counts in this order.
ORDER = (ERROR, FLAKY, CRASH, DEADLOCK, TIMEOUT, FAIL, NON_STRICT, INFO, UNSUPPORTED, PASS)
ALL = frozenset(ORDER)
# What a harness result line may say: everything but FLAKY.
HARNESS = ALL - {FLAKY}

PASSING = frozenset((PASS, INFO, UNSUPPORTED, NON_STRICT))
FAILING = frozenset((FAIL, CRASH, TIMEOUT, DEADLOCK, ERROR, FLAKY))

# Words for the one-line summary: how each verdict is counted.
BUCKET = {
    PASS: "passed", INFO: "passed", NON_STRICT: "passed",
    UNSUPPORTED: "skipped",
    FAIL: "failed", CRASH: "failed", TIMEOUT: "failed", DEADLOCK: "failed",
    ERROR: "errors",
    FLAKY: "flaky",
}
BUCKETS = ("passed", "failed", "skipped", "errors", "flaky")


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
