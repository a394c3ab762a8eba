"""vhucheck targets --check PROFILE (runner/vhucheck/ctlcheck.py, harness
--check-control, harness/engine/ctlcheck.c) against the built reference and
chaos targets, and the reference back-end behind ctl_filter.py (missing
commands, protocol 1, wrong answers)."""

import json
import os
import re
import sys
import tempfile
import unittest

from helpers import HERE, build_dir, env_for, run_cli, write

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"
CHAOS = BUILD and os.access(os.path.join(BUILD, "targets", "vhu-chaos"), os.X_OK)


def items(out):
    """{item: (status, detail)} from the check's lines."""
    found = {}
    for line in out.splitlines():
        m = re.match(r"(\S+(?: \S+=\S+| zz)?) +(ok|missing|unsupported|skipped|wrong)(?:: (.*))?$",
                     line)
        if m:
            found[m.group(1)] = (m.group(2), m.group(3) or "")
    return found


@unittest.skipUnless(BUILD, SKIP)
class TestTargetsCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhucheck-ctlcheck-")
        self.env = env_for(VHUCHECK_BUILD_DIR=BUILD, VHUCHECK_HARNESS=None)

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, target, *more):
        return run_cli("targets", "--check", target, *more, env=self.env)

    def profile(self, name, role, command):
        text = f'name = "{name}"\nrole = "{role}"\ncommand = {json.dumps(command)}\n'
        return write(self.tmp.name, f"{name}.toml", text)

    def filtered_backend(self, *opts):
        """The reference back-end behind ctl_filter.py with opts."""
        return self.profile("filtered", "backend", [
            sys.executable, os.path.join(HERE, "ctl_filter.py"), "--control={control}",
            "--keep={fd}", *opts, "--", "{build}/targets/vhu-ref-backend", "--fd={fd}",
            "--control-fd=CTL", "--shmem-bit={shmem_bit}"])

    def assert_all_ok(self, out, names):
        got = items(out)
        for n in names:
            self.assertIn(n, got, out)
            self.assertIn(got[n][0], ("ok", "unsupported"), f"{n}: {got[n]}\n{out}")

    def test_ref_backend(self):
        rc, out, err = self.check("ref-backend")
        self.assertEqual(rc, 0, out + err)
        self.assert_all_ok(out, ["handshake", "version", "get-config", "dump", "map", "unmap",
                                 "reset", "map len=zz", "version zz", "bogus", "quit"])
        got = items(out)
        self.assertEqual(got["version"], ("ok", "protocol 2"))
        self.assertRegex(got["map"][1], r"^ok result=(0|sent)$")
        self.assertEqual(got["quit"], ("ok", "exited 0"))
        self.assertRegex(out, r"control protocol 2: 11 ok, 0 unsupported, 0 skipped, "
                              r"0 missing, 0 wrong in \d+ ms")

    def test_ref_frontend(self):
        rc, out, err = self.check("ref-frontend")
        self.assertEqual(rc, 0, out + err)
        self.assert_all_ok(out, ["handshake", "version", "dump", "stop", "start", "reset",
                                 "reconnect", "version zz", "bogus", "quit"])
        self.assertEqual(items(out)["reconnect"][0], "ok")   # {socket}: it reconnects

    @unittest.skipUnless(CHAOS, "no targets/vhu-chaos in the build")
    def test_chaos_polite_both_roles(self):
        for role, n in (("backend", 11), ("frontend", 10)):
            prof = self.profile(f"chaos-{role}", role, f"{{build}}/targets/vhu-chaos "
                                f"--role={role} --fd={{fd}} --control-fd={{control}} "
                                "--shmem-bit={shmem_bit} --mode=polite --seed=1")
            rc, out, err = self.check(prof)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("control protocol 2:", out)
            if role == "frontend":      # given {fd}, a connected socket
                self.assertEqual(items(out)["reconnect"][0], "unsupported", out)
            self.assertEqual(len(items(out)), n, out)

    @unittest.skipUnless(CHAOS, "no targets/vhu-chaos in the build")
    def test_chaos_misbehaving_reported(self):
        base = ("{build}/targets/vhu-chaos --role=backend --fd={fd} --control-fd={control} "
                "--shmem-bit={shmem_bit} --seed=1 --mode=")
        for mode, want in (("ctl-silent", r"version +wrong: 'version 2': no answer within"),
                           ("segv", r"handshake +wrong: CRASH: the target was killed by SIGSEGV")):
            rc, out, err = self.check(self.profile(f"chaos-{mode}", "backend", base + mode))
            self.assertEqual(rc, 1, out + err)
            self.assertRegex(out, want)
            self.assertRegex(out, r"control protocol \w+: .* [1-9]\d* wrong in \d+ ms")

    def test_protocol_1_and_missing_commands(self):
        rc, out, err = self.check(self.filtered_backend("--missing=version,get-config"))
        self.assertEqual(rc, 1, out + err)
        got = items(out)
        self.assertEqual(got["version"][0], "ok")
        self.assertIn("protocol 1", got["version"][1])
        self.assertEqual(got["get-config"], ("missing", "err unknown command 'get-config'"))
        self.assertEqual(got["map"], ("ok", "SHMEM_MAP sent (protocol 1: no outcome)"))
        self.assertNotIn("version zz", got)         # no version command to give bad arguments
        self.assertIn("control protocol 1: ", out)

    def test_wrong_answers(self):
        prof = self.filtered_backend("--answer=bogus=err nope", "--answer=reset=fine",
                                     "--answer=map=ok result=0", "--answer=unmap=err unsupported")
        rc, out, err = self.check(prof)
        self.assertEqual(rc, 1, out + err)
        got = items(out)
        self.assertEqual(got["bogus"][0], "wrong")
        self.assertIn("not 'err unknown command", got["bogus"][1])
        self.assertEqual(got["reset"], ("wrong", "neither ok nor err: 'fine'"))
        # ok without a SHMEM_MAP on the back-end channel
        self.assertEqual(got["map"][0], "wrong")
        self.assertIn("sent no SHMEM_MAP", got["map"][1])
        self.assertEqual(got["unmap"][0], "skipped")
        self.assertEqual(got["map len=zz"][0], "wrong")     # answered ok result=0 too

    def test_unsupported_is_allowed(self):
        rc, out, err = self.check(self.filtered_backend("--answer=dump=err unsupported: no state"))
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(items(out)["dump"], ("unsupported", "no state"))

    def test_no_control_channel(self):
        prof = self.profile("nocontrol", "backend", "{build}/targets/vhu-ref-backend --fd={fd} "
                            "--shmem-bit={shmem_bit}")
        rc, out, err = self.check(prof)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("the profile has no {control} in its command", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_exec_backend_command(self):
        ref = os.path.join(BUILD, "targets", "vhu-ref-backend")
        rc, out, err = self.check("exec-backend", "--command",
                                  f"{ref} --fd={{fd}} --control-fd={{control}}")
        self.assertEqual(rc, 0, out + err)
        rc, out, err = self.check("exec-backend", "--command", f"{ref} --fd={{fd}}")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("pass a --command that takes {control}", err)

    def test_usage(self):
        rc, _, err = self.check("ref-backend", "--command", "x")
        self.assertEqual(rc, 2, err)
        rc, _, err = run_cli("targets", "--command", "x", env=self.env)
        self.assertEqual(rc, 2, err)
        self.assertIn("--command: only with --check", err)


if __name__ == "__main__":
    unittest.main()
