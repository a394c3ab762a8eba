"""Malformed profiles, expectations files, case headers and options: each
is refused before anything runs, with one line naming the file and key
(or the option), and exit status 2."""

import os
import shlex
import subprocess
import tempfile
import unittest

from helpers import CATALOGUE, SMALL_SUITE, env_for, lister, make_suite, run_cli, write

from vhucheck import expectations, profile, suite
from vhucheck.errors import ConfigError

GOOD = 'name = "t"\nrole = "frontend"\ncommand = "/bin/true --fd={fd}"\n'

# (label, profile text, fragment the message must contain)
BAD_PROFILES = [
    ("not toml", 'name = \n', "not valid TOML"),
    ("duplicate key", GOOD + 'name = "u"\n', "not valid TOML"),
    ("unknown key", GOOD + 'comand = "x"\n', "'comand': unknown key"),
    ("no name", 'role = "frontend"\ncommand = "x {fd}"\n', "'name': is required"),
    ("no role", 'name = "t"\ncommand = "x {fd}"\n', "'role': is required"),
    ("bad role", 'name = "t"\nrole = "client"\ncommand = "x {fd}"\n', "'role': must be frontend or backend"),
    ("name case", 'name = "Ref"\nrole = "frontend"\ncommand = "x {fd}"\n', "'name': 'Ref' must match"),
    ("name type", 'name = 3\nrole = "frontend"\ncommand = "x {fd}"\n', "'name': must be a string, not an integer"),
    ("description type", GOOD + 'description = ["a"]\n', "'description': must be a string, not an array"),
    ("command and connect", GOOD + 'connect = "/run/x.sock"\n', "exactly one of 'command'"),
    ("neither", 'name = "t"\nrole = "frontend"\n', "exactly one of 'command'"),
    ("empty command", 'name = "t"\nrole = "frontend"\ncommand = "  "\n', "'command': is empty"),
    ("unknown placeholder", 'name = "t"\nrole = "frontend"\ncommand = "x {sock}"\n', "unknown placeholder {sock}"),
    ("unbalanced brace", 'name = "t"\nrole = "frontend"\ncommand = "x {fd"\n', "unbalanced '{'"),
    ("stray close brace", 'name = "t"\nrole = "frontend"\ncommand = "x {fd} }"\n', "unbalanced '}'"),
    ("no channel", 'name = "t"\nrole = "frontend"\ncommand = "x {control}"\n', "neither {fd} nor {socket}"),
    ("two channels", 'name = "t"\nrole = "frontend"\ncommand = "x {fd} {socket}"\n', "both {fd} and {socket}"),
    ("array of ints", 'name = "t"\nrole = "frontend"\ncommand = [1, 2]\n', "non-empty strings"),
    ("bad quoting", 'name = "t"\nrole = "frontend"\ncommand = "x \'{fd}"\n', "cannot be split"),
    ("command type", 'name = "t"\nrole = "frontend"\ncommand = 5\n', "'command': must be a string or an array"),
    ("relative connect", 'name = "t"\nrole = "backend"\nconnect = "x.sock"\n', "'connect': must be an absolute"),
    ("bad listen", GOOD.replace("{fd}", "{socket}") + 'listen = "both"\n', "'listen': must be one of"),
    ("listen with fd", GOOD + 'listen = "harness"\n', "'listen': only applies"),
    ("bad isolation", GOOD + 'isolation = "vm"\n', "'isolation': must be one of"),
    ("isolation none with command", GOOD + 'isolation = "none"\n', "'isolation': \"none\" needs 'connect'"),
    ("connect with process isolation", 'name = "t"\nrole = "backend"\nconnect = "/x.sock"\nisolation = "process"\n', "isolation must be \"none\""),
    ("shmem_bit range", GOOD + "shmem_bit = 64\n", "'shmem_bit': 64 is not a protocol feature bit"),
    ("shmem_bit string", GOOD + 'shmem_bit = "22"\n', "'shmem_bit': must be an integer, not a string"),
    ("shmem_bit bool", GOOD + "shmem_bit = true\n", "'shmem_bit': must be an integer, not a boolean"),
    ("multiplier zero", GOOD + "timeout_multiplier = 0\n", "'timeout_multiplier': 0.0 must be > 0"),
    ("multiplier string", GOOD + 'timeout_multiplier = "2"\n', "'timeout_multiplier': must be a number"),
    ("env not table", GOOD + 'env = "A=1"\n', "'env': must be a table"),
    ("env value int", GOOD + "[env]\nA = 1\n", "'env': A must be a string"),
    ("env bad name", GOOD + '[env]\n"1X" = "a"\n', "'1X' is not a valid environment"),
    ("env per-case placeholder", GOOD + '[env]\nA = "{fd}"\n', "'env.A': unknown placeholder {fd}"),
    ("missing expectations", GOOD + 'expectations = "nope.toml"\n', "'expectations': nope.toml: no such file"),
    ("faults type", GOOD + 'faults = "yes"\n', "'faults': must be a boolean"),
    ("faults on connect", 'name = "t"\nrole = "backend"\nconnect = "/x.sock"\nfaults = true\n', "cannot take --fault"),
]

# (label, expectations text, fragment)
BAD_EXPECT = [
    ("not toml", "[t\n", "not valid TOML"),
    ("top-level value", "x = 1\n", "'x' must be a table"),
    ("entry not a table", '[t]\nmap_one = "FAIL"\n', "map_one: must be a table"),
    ("no verdict", '[t]\nmap_one = { reason = "r" }\n', "'verdict' is required"),
    ("bad verdict", '[t]\nmap_one = { verdict = "FAILED", reason = "r" }\n', "'FAILED' is not one of"),
    ("verdict int", '[t]\nmap_one = { verdict = 1, reason = "r" }\n', "1 is not one of"),
    ("empty verdict list", '[t]\nmap_one = { verdict = [], reason = "r" }\n', "empty list"),
    ("no reason", '[t]\nmap_one = { verdict = "FAIL" }\n', "'reason' is required"),
    ("blank reason", '[t]\nmap_one = { verdict = "FAIL", reason = " " }\n', "'reason' is required"),
    ("unknown key", '[t]\nmap_one = { verdict = "FAIL", reason = "r", why = "x" }\n', "unknown key 'why'"),
    ("bad id", '[t]\n"Map One!" = { verdict = "FAIL", reason = "r" }\n', "not a case id or glob"),
    ("issue type", '[t]\nmap_one = { verdict = "FAIL", reason = "r", issue = 5 }\n', "'issue' must be a string"),
]

BAD_CASES = [
    ("no id", "title T\ntarget frontend\nrule r\nlevel MUST\nhandshake\n", "missing 'id' in the header"),
    ("id differs", "id other\ntitle T\ntarget frontend\nrule r\nlevel MUST\n", "differs from the file name"),
    ("bad target", "id c\ntitle T\ntarget client\nrule r\nlevel MUST\n", "target 'client'"),
    ("old role key", "id c\ntitle T\nrole backend\nrule r\nlevel MUST\n",
     "c.vhu:3: 'role' is no longer a header key: write 'target frontend'"),
    ("bad level", "id c\ntitle T\ntarget frontend\nrule r\nlevel MAY\n", "level 'MAY'"),
    ("should without reason", "id c\ntitle T\ntarget frontend\nrule r\nlevel SHOULD\n", "needs a 'reason'"),
    ("bad timeout", "id c\ntitle T\ntarget frontend\nrule r\nlevel MUST\ntimeout soon\n", "timeout soon: expected milliseconds"),
    ("twice", "id c\nid c\ntitle T\ntarget frontend\nrule r\nlevel MUST\n", "'id' given twice"),
]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-test-")
        self.dir = self.tmp.name
        self.suites = make_suite(self.dir, SMALL_SUITE)
        # The references' programs, as run checks them: no real build needed
        # for a plan (the harness is deliberately missing).
        build = os.path.join(self.dir, "build")
        for name in ("vhu-ref-frontend", "vhu-ref-backend"):
            os.chmod(write(build, f"targets/{name}", "#!/bin/sh\nexit 0\n"), 0o755)
        self.env = env_for(VHUCHECK_SUITES=self.suites,
                           VHUCHECK_FAULTS=write(self.dir, "catalogue.ini", CATALOGUE),
                           VHUCHECK_HARNESS=lister(self.dir),
                           VHUCHECK_BUILD_DIR=build, VHUCHECK_EXEC_COMMAND=None)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_usage(self, args, fragment, env=None):
        rc, out, err = run_cli(*args, env=env or self.env)
        self.assertEqual(rc, 2, f"{args}: rc {rc}, stderr {err!r}")
        self.assertIn(fragment, err)
        lines = [ln for ln in err.splitlines() if not ln.startswith(("usage:", " "))]
        self.assertEqual(len(lines), 1, f"expected one message line, got {err!r}")
        return err


class TestProfiles(Base):
    def test_good_profile_loads(self):
        p = profile.load(write(self.dir, "good.toml", GOOD))
        self.assertEqual((p.name, p.role, p.harness_role, p.isolation), ("t", "frontend", "backend", "process"))

    def test_socket_default_listener_is_the_backend(self):
        fe = profile.load(write(self.dir, "a.toml", GOOD.replace("{fd}", "{socket}")))
        be = profile.load(write(self.dir, "b.toml", GOOD.replace("{fd}", "{socket}").replace("frontend", "backend")))
        self.assertEqual((fe.listen, be.listen), ("harness", "target"))

    def test_bad_profiles_direct(self):
        self.assertGreaterEqual(len(BAD_PROFILES), 25)
        for label, text, fragment in BAD_PROFILES:
            with self.subTest(label):
                path = write(self.dir, f"bad-{label.replace(' ', '-')}.toml", text)
                with self.assertRaises(ConfigError) as cm:
                    profile.load(path)
                msg = str(cm.exception)
                self.assertIn(fragment, msg)
                self.assertTrue(msg.startswith(path), msg)
                self.assertNotIn("\n", msg)

    def test_bad_profiles_cli(self):
        for label, text, fragment in BAD_PROFILES:
            with self.subTest(label):
                path = write(self.dir, f"cli-{label.replace(' ', '-')}.toml", text)
                err = self.assert_usage(["run", "--target", path, "--dry-run"], fragment)
                self.assertIn(os.path.basename(path), err)

    def test_targets_command_flags_bad_profile(self):
        path = write(self.dir, "bad.toml", GOOD + "bogus = 1\n")
        rc, out, err = run_cli("targets", path, env=self.env)
        self.assertEqual(rc, 2)
        self.assertIn("'bogus': unknown key", err)

    def test_shipped_profiles_are_valid(self):
        rc, out, err = run_cli("targets", env=env_for())
        self.assertEqual(rc, 0, err)
        self.assertIn("ref-frontend", out)
        self.assertIn("ref-backend", out)


class TestExpectations(Base):
    def test_bad_expectations_direct(self):
        for label, text, fragment in BAD_EXPECT:
            with self.subTest(label):
                path = write(self.dir, f"x-{label.replace(' ', '-')}.toml", text)
                with self.assertRaises(ConfigError) as cm:
                    expectations.load(path)
                self.assertIn(fragment, str(cm.exception))
                self.assertTrue(str(cm.exception).startswith(path))

    def test_bad_expectations_cli(self):
        prof = write(self.dir, "t.toml", GOOD.replace("frontend", "backend"))
        for label, text, fragment in BAD_EXPECT:
            with self.subTest(label):
                path = write(self.dir, f"y-{label.replace(' ', '-')}.toml", text)
                self.assert_usage(["run", "--target", prof, "--expect", path, "--dry-run"], fragment)

    def test_lookup_exact_beats_glob_and_judge(self):
        path = write(self.dir, "e.toml", """\
            [t]
            "map_*" = { verdict = "FAIL", reason = "glob" }
            map_one = { verdict = ["CRASH", "TIMEOUT"], reason = "exact" }
            "C-map/*" = { verdict = "PASS", reason = "never reached" }
            stale_one = { verdict = "FAIL", reason = "renamed" }
            """)
        ex = expectations.load(path).for_target("t")
        self.assertEqual(ex.lookup("map_one", "C-map/map_one").reason, "exact")
        self.assertEqual(ex.lookup("map_two", "C-map/map_two").reason, "glob")
        self.assertIsNone(ex.lookup("unmap_one", "D-unmap/unmap_one"))
        e = ex.lookup("map_one", "C-map/map_one")
        self.assertEqual(expectations.judge("CRASH", e), expectations.EXPECTED)
        self.assertEqual(expectations.judge("FAIL", e), expectations.REGRESSION)
        self.assertEqual(expectations.judge("PASS", e), expectations.UNEXPECTED_PASS)
        self.assertEqual(expectations.judge("PASS", None), expectations.OK)
        self.assertEqual(expectations.judge("DEADLOCK", None), expectations.REGRESSION)
        stale = [e.pattern for e in ex.stale(suite.discover(self.suites))]
        self.assertEqual(stale, ["stale_one"])


class TestOptions(Base):
    def test_bad_options(self):
        prof = write(self.dir, "t.toml", GOOD.replace("frontend", "backend"))
        nofault = write(self.dir, "nf.toml", GOOD)
        afile = write(self.dir, "afile", "x")
        cases = [
            (["run", "-j", "0"], "must be at least 1"),
            (["run", "-j", "many"], "is not a whole number"),
            (["run", "--timeout-multiplier", "0"], "must be > 0"),
            (["run", "--timeout-multiplier", "nan"], "must be > 0"),
            (["run", "--timeout-multiplier", "x"], "is not a number"),
            (["run", "--shmem-bit", "64"], "is not a protocol feature bit"),
            (["run", "--shmem-bit", "twenty"], "is not a bit number"),
            (["run", "--target", "nosuch", "--dry-run"], "--target nosuch: no such target"),
            (["run", "--target", "Bad Name", "--dry-run"], "not a profile name"),
            (["run", "--target", prof, prof, "--dry-run"], "given twice"),
            (["run", "--target", prof, "--cases", "nomatch*", "--dry-run"], "matches no case"),
            (["run", "--target", prof, "--cases", "a[b"], "unbalanced [ ]"),
            (["run", "--target", prof, "--cases", ""], "empty or padded glob"),
            (["run", "--target", prof, "--expect", "/nonexistent.toml", "--dry-run"], "no such expectations file"),
            (["run", "--target", prof, "--out", afile], "exists and is not a directory"),
            (["run", "--target", prof, "--out", os.path.join(afile, "sub")],
             f"--out {os.path.join(afile, 'sub')}: {afile} is not a directory"),
            (["run", "--target", prof, "--out", ""], "must not be empty"),
            (["run", "--bogus"], "unrecognized arguments"),
            (["run", "--fault", "nosuch_fault", "--dry-run"], "not in the fault catalogue"),
            (["run", "--fault", "fe_no_overlap_chek", "--dry-run"], "did you mean fe_no_overlap_check"),
            (["run", "--target", nofault, "--fault", "fe_no_overlap_check", "--dry-run"], "takes no faults"),
            (["run", "--target", prof, "--fault", "fe_no_overlap_check", "--dry-run"], "a frontend fault"),
            (["run", "--fault", "fe_no_overlap_check", "fe_no_overlap_check", "--dry-run"], "given twice"),
            (["run", "--target", nofault, "--cases", "be_*", "--dry-run"], "matches no case"),
            (["report", os.path.join(self.dir, "nowhere")], "no such report dir"),
            (["report", afile], "not readable JSON"),
            (["report", self.dir, "--strict-expect"], "no results.json"),
            (["compare", afile, afile], "not readable JSON"),
            (["list", "--cases", "zzz*"], "matches no case"),
            (["list", "--role", "client"], "invalid choice"),
            (["run", "--command", "true", "--dry-run"], "only targets that run $VHUCHECK_EXEC_COMMAND"),
            (["run", "--target", "exec-backend", "--dry-run"], "no command line: pass --command"),
            (["run", "--target", "exec-backend", "--command", "", "--dry-run"], "must not be empty"),
            (["run", "--target", "exec-backend", "--command", "/nonexistent/daemon -v",
              "--dry-run"], "/nonexistent/daemon: no such program"),
            (["run", "--target", "exec-backend", "--command", "'unbalanced", "--dry-run"],
             "cannot split"),
            (["run", "--target", "exec-frontend", "--command", "true", "--dry-run"],
             "must say where the socket goes with {socket}"),
        ]
        self.assertGreaterEqual(len(cases), 25)
        for args, fragment in cases:
            with self.subTest(" ".join(args)):
                self.assert_usage(args, fragment)

    def test_out_through_a_file_writes_nothing(self):
        afile = write(self.dir, "f", "")
        for out in (os.path.join(afile, "sub"), os.path.join(afile, "a", "b")):
            with self.subTest(out):
                rc, so, err = run_cli("run", "--out", out, env=self.env)
                self.assertEqual(rc, 2, err)
                self.assertEqual(err.strip().splitlines(), [
                    f"vhucheck: --out {out}: {afile} is not a directory"])
                self.assertEqual(os.path.getsize(afile), 0)
                self.assertFalse(os.path.isdir(afile))

    def test_unwritable_out_is_usage_and_leaves_nothing(self):
        from test_reports import NO_UNPRIVILEGED, UNPRIVILEGED_PYTHON, run_unprivileged
        if not UNPRIVILEGED_PYTHON:
            self.skipTest(NO_UNPRIVILEGED)
        os.chmod(self.dir, 0o755)
        ro = os.path.join(self.dir, "ro")
        os.makedirs(ro)
        os.chmod(ro, 0o555)
        for out in (ro, os.path.join(ro, "a", "b")):
            with self.subTest(out):
                rc, so, err = run_unprivileged("run", "--out", out, env=self.env)
                self.assertEqual(rc, 2, err)
                self.assertNotIn("Traceback", err)
                self.assertEqual(err.strip().splitlines(),
                                 [f"vhucheck: --out {out}: not writable: Permission denied"])
                self.assertEqual(os.listdir(ro), [])

    def test_write_failure_after_the_run_is_exit_3(self):
        """Reports that cannot be written once the cases ran (a full disk):
        one line, exit 3, no traceback."""
        import argparse
        from unittest import mock
        from vhucheck import run
        from vhucheck.errors import HarnessError
        parser = argparse.ArgumentParser()
        run.add_arguments(parser)
        out = os.path.join(self.dir, "o")
        args = parser.parse_args(["--out", out])
        env = {k: v for k, v in self.env.items() if k.startswith("VHUCHECK_")}
        full = OSError(28, "No space left on device", os.path.join(out, "junit.xml"))
        with mock.patch.dict(os.environ, env), \
                mock.patch.object(run, "run_plans", side_effect=full):
            with self.assertRaises(HarnessError) as cm:
                run.main(args)
        self.assertEqual(cm.exception.exit_code, 3)
        self.assertIn("junit.xml: No space left on device", str(cm.exception))

    def test_no_command_is_usage(self):
        rc, out, err = run_cli(env=self.env)
        self.assertEqual(rc, 2)
        self.assertIn("commands:", err)

    def test_missing_harness_is_exit_3(self):
        env = dict(self.env, VHUCHECK_HARNESS=os.path.join(self.dir, "no-harness"))
        rc, out, err = run_cli("run", "--out", os.path.join(self.dir, "o"), env=env)
        self.assertEqual(rc, 3, err)
        self.assertIn("no harness binary", err)

    def test_command_checked_then_accepted(self):
        """A command naming a real program passes the check (the dry run
        prints the plan); the environment's own value is checked the same
        way when --command is absent."""
        rc, out, err = run_cli("run", "--target", "exec-backend", "--command", "cat -u",
                               "--dry-run", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("# exec-backend: 2 cases", out)
        env = dict(self.env, VHUCHECK_EXEC_COMMAND="/nonexistent/fe {socket}")
        self.assert_usage(["run", "--target", "exec-frontend", "--dry-run"],
                          "/nonexistent/fe: no such program", env=env)

    def test_exec_command_channels(self):
        """The harness gets a control channel, or a connected fd, only
        when the user's command asks for it ({control}, {fd})."""
        def plan(target, cmd):
            rc, out, err = run_cli("run", "--target", target, "--command", cmd,
                                   "--dry-run", env=self.env)
            self.assertEqual(rc, 0, err)
            return out
        out = plan("exec-backend", "cat --socket-path={socket}")
        self.assertIn("exec-backend socket {socket}'", out)
        self.assertNotIn("{control}", out)
        out = plan("exec-backend", "cat --socket-path={socket} --control-fd={control}")
        self.assertIn("exec-backend socket {socket} control {control}'", out)
        out = plan("exec-backend", "cat --fd={fd} --control-fd={control}")
        self.assertIn("exec-backend fd {fd} control {control}'", out)
        self.assertNotIn("{socket}", out.split("sh -c")[1].split("exec-backend fd")[1])
        out = plan("exec-backend", "cat --shmem-bit={shmem_bit}")
        self.assertIn("exec-backend socket {socket} shmem_bit {shmem_bit}'", out)
        out = plan("exec-frontend", "cat --fd={fd}")
        self.assertIn("exec-frontend fd {fd}'", out)
        self.assert_usage(["run", "--target", "exec-backend", "--command",
                           "cat --fd={fd} --socket-path={socket}", "--dry-run"],
                          "uses both {fd} and {socket}")

    def test_exec_script_fills_placeholders(self):
        """The profiles' scripts, run as the harness would run them (its
        placeholders filled), fill the user's command and exec it."""
        def run_script(name, cmd, *pairs):
            prof = profile.resolve(name)
            argv = shlex.split(prof.command)
            self.assertEqual(argv[-2:], ["socket", "{socket}"])
            argv = argv[:-2] + list(pairs)
            return subprocess.run(argv, env=dict(os.environ, VHUCHECK_EXEC_COMMAND=cmd),
                                  capture_output=True, text=True, timeout=30)
        r = run_script("exec-backend", "echo -v", "socket", "/t/s.sock")
        self.assertEqual(r.stdout, "-v --socket-path=/t/s.sock\n", r.stderr)
        r = run_script("exec-backend", "echo --fd={fd} --control-fd={control} {control}",
                       "fd", "5", "control", "7")
        self.assertEqual(r.stdout, "--fd=5 --control-fd=7 7\n", r.stderr)
        r = run_script("exec-frontend", "echo --sock={socket} --ctl={control}",
                       "socket", "/t/s", "control", "9")
        self.assertEqual(r.stdout, "--sock=/t/s --ctl=9\n", r.stderr)
        r = run_script("exec-frontend", "echo nothing", "socket", "/t/s")
        self.assertEqual(r.returncode, 2)
        self.assertIn("{socket} or {fd}", r.stderr)

    def test_fault_goes_to_the_matching_reference(self):
        rc, out, err = run_cli("run", "--fault", "fe_no_overlap_check", "--dry-run", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("# ref-frontend: 3 cases", out)
        self.assertIn("--fault=fe_no_overlap_check", out)
        self.assertNotIn("ref-backend", out)

    def test_dry_run_splits_shares(self):
        rc, out, err = run_cli("run", "-j", "2", "--schedule", "plain", "--dry-run",
                               env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("# ref-frontend: 3 cases, 2 harness processes", out)
        self.assertIn("# ref-backend: 2 cases, 2 harness processes", out)
        self.assertIn("--target-role backend", out)
        self.assertIn("--target-role frontend", out)
        self.assertNotIn("--launch-ahead", out)
        # auto (default): shares shrink to one case at the end; targets launched ahead
        rc, out, err = run_cli("run", "-j", "2", "--dry-run", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("# ref-frontend: 3 cases, 3 harness processes", out)
        self.assertEqual(out.count("--launch-ahead"), 5)

    def test_optional_command_placeholder(self):
        import contextlib
        import io
        import importlib.util
        from vhucheck import cli
        stub = cli.load("bench", "no_such_module_here")
        self.assertIsInstance(stub, cli.Placeholder)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(stub.main(None), 2)
        self.assertIn("not built yet", err.getvalue())
        missing = [n for n in ("bench", "fuzz") if importlib.util.find_spec(f"vhucheck.{n}") is None]
        if missing:                    # through the CLI, extra arguments and all
            rc, out, err = run_cli(missing[0], "--anything", env=self.env)
            self.assertEqual(rc, 2)
            self.assertIn("not built yet", err)


class TestShmemBit(Base):
    """{shmem_bit}: left for the harness (each case's own bit) when the
    target takes any; written in by the runner for a fixed-bit profile."""

    def target_cmd(self, out, role):
        lines = [ln for ln in out.splitlines() if not ln.startswith("#")]
        for ln in lines:
            argv = shlex.split(ln)
            if argv[argv.index("--target-role") + 1] == role:
                return argv[argv.index("--target-cmd") + 1], argv[argv.index("--shmem-bit") + 1]
        self.fail(f"no harness line for a {role} target: {out}")

    def test_references_get_the_bit_per_case(self):
        rc, out, err = run_cli("run", "--dry-run", env=self.env)
        self.assertEqual(rc, 0, err)
        for role in ("backend", "frontend"):
            cmd, bit = self.target_cmd(out, role)
            self.assertIn("--shmem-bit={shmem_bit}", cmd)
            self.assertEqual(bit, "22")
        rc, out, err = run_cli("run", "--dry-run", "--shmem-bit", "20", env=self.env)
        cmd, bit = self.target_cmd(out, "backend")
        self.assertIn("{shmem_bit}", cmd)        # still per case; 20 is the default
        self.assertEqual(bit, "20")
        self.assertTrue(profile.per_case_bit(profile.resolve("ref-frontend")))

    def test_fixed_bit_profile_is_expanded(self):
        fixed = write(self.dir, "fixed.toml", 'name = "fixed"\nrole = "backend"\n'
                      'command = "/bin/true --fd={fd} --bit={shmem_bit}"\nshmem_bit = 20\n')
        rc, out, err = run_cli("run", "-t", fixed, "--dry-run", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.target_cmd(out, "backend"), ("/bin/true --fd={fd} --bit=20", "20"))
        rc, out, err = run_cli("run", "-t", fixed, "--dry-run", "--shmem-bit", "22", env=self.env)
        self.assertEqual(self.target_cmd(out, "backend"), ("/bin/true --fd={fd} --bit=22", "22"))
        p = profile.load(fixed)
        self.assertFalse(profile.per_case_bit(p))
        self.assertFalse(profile.per_case_bit(profile.load(write(self.dir, "nobit.toml", GOOD))))
        rc, out, err = run_cli("targets", fixed, env=self.env)
        self.assertRegex(out, r"fixed\s+backend\s+frontend\s+20\s")


class TestCaseHeaders(Base):
    def test_bad_headers(self):
        for label, text, fragment in BAD_CASES:
            with self.subTest(label):
                root = os.path.join(self.dir, "s-" + label.replace(" ", "-"))
                write(root, "C-map/c.vhu", text)
                with self.assertRaises(ConfigError) as cm:
                    suite.discover(root)
                self.assertIn(fragment, str(cm.exception))
                self.assertIn("c.vhu:", str(cm.exception))
                rc, out, err = run_cli("list", env=env_for(VHUCHECK_SUITES=root))
                self.assertEqual(rc, 2)
                self.assertIn(fragment, err)

    def test_duplicate_ids(self):
        root = os.path.join(self.dir, "dup")
        write(root, "A/x.vhu", "id x\ntitle T\ntarget frontend\nrule r\nlevel MUST\n")
        write(root, "B/x.vhu", "id x\ntitle T\ntarget frontend\nrule r\nlevel MUST\n")
        with self.assertRaises(ConfigError) as cm:
            suite.discover(root)
        self.assertIn("also used by", str(cm.exception))

    def test_selection_globs(self):
        cases = suite.discover(self.suites)
        ids = lambda sel: [c.id for c in sel]  # noqa: E731
        self.assertEqual(ids(suite.select(cases, "frontend")), ["map_one", "map_two", "unmap_one"])
        self.assertEqual(ids(suite.select(cases, None, ["map_*"])), ["map_one", "map_two"])
        self.assertEqual(ids(suite.select(cases, None, ["D-unmap/*"])), ["unmap_one"])
        self.assertEqual(ids(suite.select(cases, "frontend", (), ["*_two"])), ["map_one", "unmap_one"])
        self.assertEqual(suite.unmatched_globs(cases, ["map_*", "x*"]), ["x*"])

    def test_list_and_markdown(self):
        rc, out, err = run_cli("list", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.strip().splitlines()), 1 + len(SMALL_SUITE))
        rc, out, err = run_cli("list", "--markdown", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertIn("## C-map", out)
        self.assertIn("| `map_one` | Case map_one | MUST | frontend | 6: MUST do the thing |", out)
        rc, out, err = run_cli("list", "--role", "backend", env=self.env)
        self.assertEqual(rc, 0, err)
        self.assertEqual([ln.split()[0] for ln in out.strip().splitlines()[1:]], ["be_one", "be_two"])


if __name__ == "__main__":
    unittest.main()
