"""Where things live. Every location can be overridden from the environment,
which is how the tests point the runner at their own inputs:

=====================  ==============================================
VHUCHECK_BUILD_DIR     the meson build dir (default: <top>/build)
VHUCHECK_HARNESS       the harness binary (default: <build>/harness/vhucheck-harness)
VHUCHECK_SUITES        the case tree (default: <top>/suites)
VHUCHECK_PROFILES      the profile dir (default: <top>/targets/profiles)
VHUCHECK_FAULTS        the fault catalogue (default: <top>/targets/faults/catalogue.ini)
=====================  ==============================================
"""

import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env_path(name, default):
    value = os.environ.get(name)
    return os.path.abspath(value) if value else default


def top():
    """The source tree (the directory holding ./vhucheck)."""
    return TOP


def build_dir():
    return _env_path("VHUCHECK_BUILD_DIR", os.path.join(TOP, "build"))


def harness():
    return _env_path("VHUCHECK_HARNESS",
                     os.path.join(build_dir(), "harness", "vhucheck-harness"))


SUITES_ENV = "VHUCHECK_SUITES"


def suites_dir():
    return _env_path(SUITES_ENV, os.path.join(TOP, "suites"))


def profiles_dir():
    return _env_path("VHUCHECK_PROFILES", os.path.join(TOP, "targets", "profiles"))


def fault_catalogue():
    return _env_path("VHUCHECK_FAULTS",
                     os.path.join(TOP, "targets", "faults", "catalogue.ini"))


def templates_dir():
    return os.path.join(TOP, "reports", "templates")


def default_out_root():
    return os.path.join(TOP, "reports", "out")


def relpath(path):
    """A path relative to the current directory when it lies under it and
    that is shorter; paths elsewhere keep the form they were given in."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path
    return rel if len(rel) < len(path) else path


def project_version(fallback):
    """The version in meson.build: one source of truth for C and python."""
    try:
        with open(os.path.join(TOP, "meson.build"), encoding="utf-8") as f:
            m = re.search(r"version\s*:\s*'([^']+)'", f.read(4096))
    except OSError:
        return fallback
    return m.group(1) if m else fallback
