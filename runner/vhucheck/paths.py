"""Where things live. Every location can be overridden from the environment,
which is how the tests point the runner at their own inputs:

=====================  ==============================================
VHUCHECK_BUILD_DIR     the meson build dir (default: <top>/build)
VHUCHECK_HARNESS       the harness binary (default: <build>/harness/vhucheck-harness)
VHUCHECK_SUITES        the case tree (default: <top>/suites)
VHUCHECK_PROFILES      the profile dir (default: <top>/targets/profiles)
VHUCHECK_FAULTS        the fault catalogue (default: <top>/targets/faults/catalogue.ini)
=====================  ==============================================

Two layouts. In a checkout (./vhucheck) <top> is the source tree and the
programs are in the build dir. Installed (`meson install`, the `vhucheck`
launcher), this package carries ``installed.json``, written by meson: the
data dir (``<datadir>/vhucheck``, laid out like the source tree: suites/,
targets/profiles/, targets/faults/, reports/templates/, corpus/) takes
<top>'s place, the program dir (``<libexecdir>/vhucheck``, laid out like
the build dir: harness/, targets/, fuzzers/) the build dir's, and reports
go under the current directory (``vhucheck-out/``); nothing is built and
nothing is written under the prefix. Its paths are relative to the
prefix, which is found from where this file is, so that a tree installed
with DESTDIR runs from where it was staged.
"""

import json
import os
import re
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYOUT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "installed.json")
# The report root of an installed tool, under the current directory.
INSTALLED_OUT = "vhucheck-out"


def _load_layout(path):
    """The installed layout ({'version', 'prefix', 'data', 'programs'}:
    absolute paths), or None in a checkout (no installed.json)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise SystemExit(f"vhucheck: {path}: unreadable install layout: {e}") from None
    keys = ("version", "runner", "data", "programs")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in keys):
        raise SystemExit(f"vhucheck: {path}: install layout lacks one of {', '.join(keys)}")
    # <prefix>/<runner>/vhucheck/installed.json: strip <runner>'s parts.
    prefix = os.path.dirname(os.path.dirname(path))
    if not os.path.isabs(raw["runner"]):
        for _ in os.path.normpath(raw["runner"]).split(os.sep):
            prefix = os.path.dirname(prefix)
    return {"version": raw["version"], "prefix": prefix,
            "data": os.path.join(prefix, raw["data"]),
            "programs": os.path.join(prefix, raw["programs"])}


LAYOUT = _load_layout(os.path.realpath(LAYOUT_FILE))


def installed():
    """Whether this is an installed copy (not the checkout's runner)."""
    return LAYOUT is not None


def _env_path(name, default):
    value = os.environ.get(name)
    return os.path.abspath(value) if value else default


def top():
    """The source tree (the directory holding ./vhucheck); installed, the
    data dir, which has the same layout for what the runner reads."""
    return LAYOUT["data"] if LAYOUT else TOP


def build_dir():
    """The meson build dir; installed, the program dir (same layout)."""
    return _env_path("VHUCHECK_BUILD_DIR",
                     LAYOUT["programs"] if LAYOUT else os.path.join(TOP, "build"))


def state_dir():
    """Where a target keeps state between cases of a run and across runs
    (the {state} placeholder: vhu-chaos's seed counter): the build dir in
    a checkout; installed, $XDG_STATE_HOME/vhucheck (~/.local/state/vhucheck),
    or a per-user dir under the temp dir when there is no writable home.
    Created on demand."""
    if not LAYOUT or os.environ.get("VHUCHECK_BUILD_DIR"):
        return build_dir()
    home = os.environ.get("HOME")
    base = os.environ.get("XDG_STATE_HOME") or (home and os.path.join(home, ".local", "state"))
    fallback = os.path.join(tempfile.gettempdir(), f"vhucheck-state-{os.getuid()}")
    for d in ([os.path.join(base, "vhucheck")] if base else []) + [fallback]:
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
        except OSError:
            continue            # a home nobody may write in: the next one
        if os.access(d, os.W_OK):
            return d
    return fallback             # the target says what it cannot write


def harness():
    return _env_path("VHUCHECK_HARNESS",
                     os.path.join(build_dir(), "harness", "vhucheck-harness"))


def rebuild_hint():
    """What to do about a program missing from build_dir()."""
    if LAYOUT and not os.environ.get("VHUCHECK_BUILD_DIR"):
        return f"the installation in {LAYOUT['prefix']} is incomplete: reinstall it"
    return f"build it: ninja -C {relpath(build_dir())}"


SUITES_ENV = "VHUCHECK_SUITES"


def suites_dir():
    return _env_path(SUITES_ENV, os.path.join(top(), "suites"))


def profiles_dir():
    return _env_path("VHUCHECK_PROFILES", os.path.join(top(), "targets", "profiles"))


def fault_catalogue():
    return _env_path("VHUCHECK_FAULTS",
                     os.path.join(top(), "targets", "faults", "catalogue.ini"))


def templates_dir():
    return os.path.join(top(), "reports", "templates")


def run_cwd():
    """The harness's (and so the targets') working directory: the source
    tree in a checkout; installed, the current directory, never the
    prefix (a target's core file or scratch file lands there)."""
    return os.getcwd() if LAYOUT else TOP


def default_out_root():
    """Where reports go without --out: reports/out/ in a checkout, the
    current directory's vhucheck-out/ when installed (never the prefix)."""
    return os.path.abspath(INSTALLED_OUT) if LAYOUT else os.path.join(TOP, "reports", "out")


def out_label():
    """default_out_root() as help texts name it."""
    return "./" + INSTALLED_OUT if LAYOUT else "reports/out"


def command():
    """How the user runs this tool, for hints: ./vhucheck or vhucheck."""
    return "vhucheck" if LAYOUT else "./vhucheck"


def checkout_only(what):
    """None in a checkout; installed, why WHAT cannot be done (it builds
    programs or writes into the source tree)."""
    if not LAYOUT:
        return None
    return (f"{what} needs the source checkout (it builds into it); "
            "the installed vhucheck does not build: run ./vhucheck from a clone")


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
    """The version in meson.build: one source of truth for C and python
    (installed: the one meson wrote into installed.json)."""
    if LAYOUT:
        return LAYOUT["version"]
    try:
        with open(os.path.join(TOP, "meson.build"), encoding="utf-8") as f:
            m = re.search(r"version\s*:\s*'([^']+)'", f.read(4096))
    except OSError:
        return fallback
    return m.group(1) if m else fallback
