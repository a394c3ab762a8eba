"""Shared by the runner tests: paths, running the CLI as a subprocess, and
writing input files (profiles, expectations, case headers, catalogues)."""

import glob
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(TOP, "runner")
if RUNNER not in sys.path:
    sys.path.insert(0, RUNNER)


def build_dir():
    """A build dir holding the harness and both reference targets, or None.
    VHUCHECK_BUILD_DIR wins; else build/, else any build-*/ of the tree."""
    env = os.environ.get("VHUCHECK_BUILD_DIR")
    candidates = [env] if env else [os.path.join(TOP, "build"), os.path.join(TOP, "build-runner")] + \
        sorted(glob.glob(os.path.join(TOP, "build-*")))
    for d in candidates:
        need = [os.path.join(d, "harness", "vhucheck-harness"),
                os.path.join(d, "targets", "vhu-ref-frontend"),
                os.path.join(d, "targets", "vhu-ref-backend")]
        if all(os.access(p, os.X_OK) for p in need):
            return os.path.abspath(d)
    return None


def lister(tmp):
    """The harness the catalogue is read with (suite.py asks it for the
    case headers): the built one, or a path that does not exist (then a
    command that reads the catalogue stops with exit 3)."""
    b = build_dir()
    return os.path.join(b, "harness", "vhucheck-harness") if b else os.path.join(tmp, "no-harness")


def env_for(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = RUNNER
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_cli(*args, env=None, timeout=120, cwd=None):
    """python3 -m vhucheck ARGS: (exit status, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-m", "vhucheck", *args], cwd=cwd or TOP,
                       env=env or env_for(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(directory, name, text):
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


def case_text(cid, role="frontend", level="MUST", body="handshake\ncheck alive\n", extra=""):
    """A case for a target of this role."""
    reason = "" if level == "MUST" else "reason because the rst is silent\n"
    return (f"id {cid}\ntitle Case {cid}\ntarget {role}\nrule 6: MUST do the thing\n"
            f"level {level}\n{reason}{extra}\n{body}")


def make_suite(directory, cases):
    """cases: [(area, id, target role)] -> a suites dir with those headers."""
    root = os.path.join(directory, "suites")
    for area, cid, role in cases:
        write(root, f"{area}/{cid}.vhu", case_text(cid, role))
    return root


SMALL_SUITE = [("C-map", "map_one", "frontend"), ("C-map", "map_two", "frontend"),
               ("D-unmap", "unmap_one", "frontend"), ("H-backend", "be_one", "backend"),
               ("H-backend", "be_two", "backend")]

CATALOGUE = """\
[fe_no_overlap_check]
role = frontend
class = validation
rule = 6: MUST fail: mapping over an existing mapping
cases = map_one map_two

[be_map_without_shmem]
role = backend
class = gating
rule = 6: only when SHMEM is negotiated
cases = be_one
"""


# ---- the CLI as an unprivileged user (root passes every permission check) ----

NOBODY = 65534


def drop_privileges():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


# Run as that user from the checkout, as the tests run the CLI: the
# package must import and the trees the CLI reads must be listable.
_READABLE_PROBE = """\
import os, sys
from vhucheck import paths
for d in (paths.top(), paths.templates_dir(), paths.suites_dir(), paths.profiles_dir()):
    try:
        os.listdir(d)
    except FileNotFoundError:
        pass
    except OSError as e:
        sys.exit(f"{d}: {e.strerror}")
"""


def unprivileged_python(top=TOP):
    """(an interpreter user 65534 can run the CLI of the checkout top
    with, None), or (None, why not). Not root: (sys.executable, None).
    As root: a python >= 3.11 that user may run, and a checkout that user
    may read; a clone in a dir only root can read (mktemp -d, mode 0700)
    is not, and the tests that need it skip with this reason."""
    if os.geteuid() != 0:
        return sys.executable, None
    for exe in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            p = subprocess.run([exe, "-c", "import tomllib"], preexec_fn=drop_privileges,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=30, cwd="/")
        except OSError:
            continue
        if p.returncode == 0:
            break
    else:
        return None, f"running as root and no python >= 3.11 that user {NOBODY} may run"
    env = dict(os.environ, PYTHONPATH=os.path.join(top, "runner"))
    for k in ("VHUCHECK_SUITES", "VHUCHECK_PROFILES"):
        env.pop(k, None)
    try:
        p = subprocess.run([exe, "-c", _READABLE_PROBE], preexec_fn=drop_privileges, cwd=top,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=30)
    except OSError as e:
        return None, f"user {NOBODY} cannot run python in {top}: {e.strerror}"
    if p.returncode != 0:
        lines = p.stderr.decode(errors="replace").strip().splitlines()
        return None, (f"user {NOBODY} cannot read the checkout {top} "
                      f"({lines[-1] if lines else 'exit %d' % p.returncode}); clone it "
                      "where other users may read it to run this test")
    return exe, None
