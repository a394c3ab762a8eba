"""The installed layout (runner/vhucheck/paths.py, runner/launcher.py.in):
where an installed runner finds its parts, that it finds its prefix from
where it lies (DESTDIR, a symlinked launcher), that it writes reports
under the current directory and never under the prefix, and that the
commands that build refuse. A fake prefix is made from the checkout's
package and data; no build is needed. Stage 80-install does the same
with a real `meson install`."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from helpers import RUNNER, TOP

from vhucheck import paths, profile as P

LAYOUT = {"runner": "share/vhucheck/runner", "data": "share/vhucheck",
          "programs": "libexec/vhucheck"}


def configure(template, values):
    """meson's configure_file: @NAME@ replaced."""
    with open(template, encoding="utf-8") as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", v)
    return text


def fake_prefix(root, version="9.8.7"):
    """root/usr laid out as `meson install` lays it out, without programs:
    the launcher, the package with its installed.json, the catalogue,
    the profiles and the suites."""
    prefix = os.path.join(root, "usr")
    pkg = os.path.join(prefix, LAYOUT["runner"], "vhucheck")
    shutil.copytree(os.path.join(RUNNER, "vhucheck"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "installed.json"))
    with open(os.path.join(pkg, "installed.json"), "w", encoding="utf-8") as f:
        f.write(configure(os.path.join(RUNNER, "installed.json.in"),
                          {"VERSION": version, "RUNNERDIR": LAYOUT["runner"],
                           "DATADIR": LAYOUT["data"], "PROGRAMDIR": LAYOUT["programs"]}))
    faults = os.path.join(prefix, LAYOUT["data"], "targets", "faults")
    os.makedirs(faults)
    shutil.copy(os.path.join(TOP, "targets", "faults", "catalogue.ini"), faults)
    data = os.path.join(prefix, LAYOUT["data"])
    shutil.copytree(os.path.join(TOP, "targets", "profiles"),
                    os.path.join(data, "targets", "profiles"))
    shutil.copytree(os.path.join(TOP, "suites"), os.path.join(data, "suites"))
    os.makedirs(os.path.join(prefix, "bin"))
    launcher = os.path.join(prefix, "bin", "vhucheck")
    with open(launcher, "w", encoding="utf-8") as f:
        f.write(configure(os.path.join(RUNNER, "launcher.py.in"),
                          {"PYTHON": sys.executable, "BINDIR": "bin",
                           "RUNNERDIR": LAYOUT["runner"], "PREFIX": "/nonexistent"}))
    os.chmod(launcher, 0o755)
    return prefix


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VHUCHECK_") and k != "PYTHONPATH"}
    return env


class LayoutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vhu-install-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.saved = paths.LAYOUT
        self.addCleanup(setattr, paths, "LAYOUT", self.saved)

    def test_checkout_is_not_installed(self):
        self.assertIsNone(paths.LAYOUT)
        self.assertFalse(paths.installed())
        self.assertEqual(paths.top(), TOP)
        self.assertIsNone(paths.checkout_only("x"))
        self.assertEqual(paths.default_out_root(), os.path.join(TOP, "reports", "out"))
        self.assertEqual(paths.run_cwd(), TOP)
        self.assertEqual(paths.command(), "./vhucheck")

    def test_prefix_found_from_where_the_package_lies(self):
        prefix = fake_prefix(self.tmp)
        got = paths._load_layout(os.path.join(prefix, LAYOUT["runner"], "vhucheck",
                                              "installed.json"))
        self.assertEqual(got, {"version": "9.8.7", "prefix": prefix,
                               "data": os.path.join(prefix, "share", "vhucheck"),
                               "programs": os.path.join(prefix, "libexec", "vhucheck")})

    def test_malformed_layout_is_one_line(self):
        path = os.path.join(self.tmp, "installed.json")
        for text in ("{", '{"version": "1"}', "[]"):
            with open(path, "w") as f:
                f.write(text)
            with self.assertRaises(SystemExit) as cm:
                paths._load_layout(path)
            self.assertIn(path, str(cm.exception))

    def test_installed_locations(self):
        paths.LAYOUT = {"version": "1", "prefix": "/p", "data": "/p/share/vhucheck",
                        "programs": "/p/libexec/vhucheck"}
        env = {k: None for k in ("VHUCHECK_BUILD_DIR", "VHUCHECK_HARNESS", "VHUCHECK_SUITES",
                                 "VHUCHECK_PROFILES", "VHUCHECK_FAULTS")}
        with patched_env(env):
            self.assertEqual(paths.build_dir(), "/p/libexec/vhucheck")
            self.assertEqual(paths.harness(), "/p/libexec/vhucheck/harness/vhucheck-harness")
            self.assertEqual(paths.suites_dir(), "/p/share/vhucheck/suites")
            self.assertEqual(paths.profiles_dir(), "/p/share/vhucheck/targets/profiles")
            self.assertEqual(paths.fault_catalogue(),
                             "/p/share/vhucheck/targets/faults/catalogue.ini")
            self.assertEqual(paths.templates_dir(), "/p/share/vhucheck/reports/templates")
            self.assertEqual(paths.default_out_root(), os.path.abspath("vhucheck-out"))
            self.assertEqual(paths.run_cwd(), os.getcwd())
            self.assertEqual(paths.project_version("x"), "1")
            self.assertIn("source checkout", paths.checkout_only("bench"))
            self.assertIn("reinstall", paths.rebuild_hint())
            self.assertEqual(paths.command(), "vhucheck")

    def test_state_placeholder(self):
        """{state}: the build dir in a checkout; installed, a dir of the
        user's (XDG_STATE_HOME), never the prefix."""
        with patched_env({"VHUCHECK_BUILD_DIR": None}):
            self.assertEqual(P.expand("{state}/x", "/b", None), os.path.join(TOP, "build") + "/x")
        paths.LAYOUT = {"version": "1", "prefix": "/p", "data": "/p/share/vhucheck",
                        "programs": "/p/libexec/vhucheck"}
        state = os.path.join(self.tmp, "state")
        with patched_env({"VHUCHECK_BUILD_DIR": None, "XDG_STATE_HOME": state}):
            self.assertEqual(P.expand("--seq={state}/s {build}/t", "/p/libexec/vhucheck", None),
                             f"--seq={state}/vhucheck/s /p/libexec/vhucheck/t")
            self.assertTrue(os.path.isdir(os.path.join(state, "vhucheck")))
        # A state home nobody may write in (a file in the way): the temp dir.
        blocked = os.path.join(self.tmp, "blocked")
        with open(blocked, "w"):
            pass
        with patched_env({"VHUCHECK_BUILD_DIR": None, "XDG_STATE_HOME": blocked}):
            got = paths.state_dir()
        self.assertEqual(got, os.path.join(tempfile.gettempdir(), f"vhucheck-state-{os.getuid()}"))
        self.assertTrue(os.path.isdir(got))

    def test_shipped_profiles_write_nothing_under_build(self):
        """A profile's program may live in {build}; what it writes may not
        (installed, {build} is the read-only prefix)."""
        d = os.path.join(TOP, "targets", "profiles")
        for name in sorted(os.listdir(d)):
            if name.endswith(".toml"):
                prof = P.load(os.path.join(d, name))
                words = (prof.command or "").split()
                for w in words[1:]:
                    self.assertNotIn("{build}", w, f"{name}: {w}")


class LauncherTest(unittest.TestCase):
    """The launcher of a fake prefix, run from elsewhere, through a symlink."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vhu-install-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.prefix = fake_prefix(os.path.join(self.tmp, "dest"))
        self.cwd = os.path.join(self.tmp, "cwd")
        os.makedirs(self.cwd)

    def run_launcher(self, exe, *args):
        p = subprocess.run([exe, *args], cwd=self.cwd, env=clean_env(), timeout=60,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.returncode, p.stdout, p.stderr

    def test_version_and_faults_from_the_prefix(self):
        exe = os.path.join(self.prefix, "bin", "vhucheck")
        rc, out, err = self.run_launcher(exe, "--version")
        self.assertEqual((rc, out.strip()), (0, "vhucheck 9.8.7"), err)
        rc, out, err = self.run_launcher(exe, "faults")
        self.assertEqual(rc, 0, err)
        self.assertIn("fe_no_overlap_check", out)

    def test_through_a_symlink(self):
        link = os.path.join(self.tmp, "vhucheck")
        os.symlink(os.path.join(self.prefix, "bin", "vhucheck"), link)
        rc, out, err = self.run_launcher(link, "--version")
        self.assertEqual((rc, out.strip()), (0, "vhucheck 9.8.7"), err)

    def test_builders_refused_and_nothing_written(self):
        exe = os.path.join(self.prefix, "bin", "vhucheck")
        before = snapshot(self.prefix)
        rc, _, err = self.run_launcher(exe, "bench", "suite")
        self.assertEqual(rc, 2, err)
        self.assertIn("source checkout", err)
        rc, _, err = self.run_launcher(exe, "fuzz", "fuzz_shmem_map", "--seconds", "1")
        self.assertEqual(rc, 2, err)
        self.assertIn("source checkout", err)
        # No harness here: run stops at exit 3 naming the prefix, having
        # written nothing under it (no bytecode either).
        rc, _, err = self.run_launcher(exe, "run")
        self.assertEqual(rc, 3, err)
        self.assertIn("reinstall", err)
        self.assertEqual(snapshot(self.prefix), before)


def snapshot(root):
    out = {}
    for d, _, files in os.walk(root):
        out[d] = None
        for f in files:
            p = os.path.join(d, f)
            out[p] = os.stat(p).st_mtime_ns
    return out


class patched_env:
    """os.environ with some variables set (a str) or removed (None)."""

    def __init__(self, changes):
        self.changes, self.saved = changes, {}

    def __enter__(self):
        for k, v in self.changes.items():
            self.saved[k] = os.environ.get(k)
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    unittest.main()
