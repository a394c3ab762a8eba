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


def case_text(cid, role="backend", level="MUST", body="handshake\ncheck alive\n", extra=""):
    reason = "" if level == "MUST" else "reason because the rst is silent\n"
    return (f"id {cid}\ntitle Case {cid}\nrole {role}\nrule 6: MUST do the thing\n"
            f"level {level}\n{reason}{extra}\n{body}")


def make_suite(directory, cases):
    """cases: [(area, id, role)] -> a suites dir with those headers."""
    root = os.path.join(directory, "suites")
    for area, cid, role in cases:
        write(root, f"{area}/{cid}.vhu", case_text(cid, role))
    return root


SMALL_SUITE = [("C-map", "map_one", "backend"), ("C-map", "map_two", "backend"),
               ("D-unmap", "unmap_one", "backend"), ("H-backend", "be_one", "frontend"),
               ("H-backend", "be_two", "frontend")]

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
