"""Directories the runner writes into (report dirs, --baseline's), checked
before anything runs: a path through a file, a directory nobody may write
in, a read-only file system are one line naming the option, exit 2, and
nothing is left behind."""

import os
import shutil
import tempfile

from vhucheck import paths
from vhucheck.errors import ConfigError


def _missing(path, label, itself=True):
    """The components of path that do not exist yet, outermost first.
    ConfigError when path, or the nearest of its parents that exists, is
    not a directory."""
    missing, p = [], os.path.abspath(path)
    while not os.path.lexists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    if not os.path.isdir(p):
        mine = itself and not missing
        what = "exists and is not a directory" if mine else f"{paths.relpath(p)} is not a directory"
        raise ConfigError(f"{label}: {what}")
    return missing[::-1]


def _undo(created):
    for d in reversed(created):
        try:
            os.rmdir(d)
        except OSError:
            pass


def probe(path, label):
    """Prove a file can be created in the existing directory path."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vhucheck-probe-", dir=path)
    except OSError as e:
        raise ConfigError(f"{label}: not writable: {e.strerror}") from None
    os.close(fd)
    os.unlink(tmp)


def check(path, label, itself=True):
    """The directory path exists or could be made, and files could be
    written in it (or in its nearest existing parent). Creates nothing."""
    missing = _missing(path, label, itself)
    probe(os.path.dirname(missing[0]) if missing else os.path.abspath(path), label)


def check_parent(path, label):
    """The same for the directory of a file about to be written."""
    if os.path.isdir(path):
        raise ConfigError(f"{label}: is a directory")
    check(os.path.dirname(os.path.abspath(path)), label, itself=False)


def prepare(path, label):
    """Create the directory path (and its parents) and prove it takes
    files; on failure remove what was created and raise ConfigError."""
    created = _missing(path, label)
    made = []
    try:
        for d in created:
            os.mkdir(d)
            made.append(d)
        probe(path, label)
    except OSError as e:
        _undo(made)
        raise ConfigError(f"{label}: cannot create {e.filename or path}: {e.strerror}") from None
    except ConfigError:
        _undo(made)
        raise
    return path


# What a run writes into its report dir (one target: the files and the
# dirs; several: the top files and one such dir per target).
REPORT_FILES = ("results.json", "matrix.json", "index.html", "matrix.html", "junit.xml",
                "results.tap", "summary.md")
REPORT_DIRS = ("traces", "logs", "runs")
MARKERS = ("results.json", "matrix.json")


def _is_dir(path):
    return os.path.isdir(path) and not os.path.islink(path)


def _has_marker(path):
    """A report dir of one target: its results.json, or the logs of a run
    that ended before writing it."""
    if any(os.path.isfile(os.path.join(path, m)) for m in MARKERS):
        return True
    try:
        return any(n.startswith("harness-") for n in os.listdir(os.path.join(path, "logs")))
    except OSError:
        return False


def earlier_run(path):
    """The entries of the directory path that an earlier run wrote, sorted;
    [] when it holds no run (or does not exist). Other files stay out of
    it: a dir that merely is not empty holds no run."""
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    subs = [n for n in names if _is_dir(os.path.join(path, n)) and n not in REPORT_DIRS
            and _has_marker(os.path.join(path, n))]
    if not _has_marker(path) and not subs:
        return []
    own = [n for n in names if (n in REPORT_FILES and os.path.isfile(os.path.join(path, n)))
           or (n in REPORT_DIRS and _is_dir(os.path.join(path, n)))
           or (n.startswith(".") and n.endswith(".tmp"))]
    return sorted(own + subs)


def refuse_earlier_run(path, label, option="--clean"):
    """ConfigError when path holds an earlier run: a new run would leave
    its files beside the new ones (reports of targets no longer run, a
    results.json `report` and `compare` would read)."""
    found = earlier_run(path)
    if found:
        shown = ", ".join(found[:4]) + (", …" if len(found) > 4 else "")
        raise ConfigError(f"{label}: holds the reports of an earlier run ({shown}); "
                          f"pass {option} to replace them, or choose another dir")


def remove_earlier_run(path):
    """Delete what earlier_run(path) finds; the names removed."""
    found = earlier_run(path)
    for n in found:
        full = os.path.join(path, n)
        if _is_dir(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)
    return found
