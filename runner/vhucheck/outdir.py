"""Directories the runner writes into (report dirs, --baseline's), checked
before anything runs: a path through a file, a directory nobody may write
in, a read-only file system are one line naming the option, exit 2, and
nothing is left behind."""

import os
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
