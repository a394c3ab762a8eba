"""`vhucheck bench targets`: the phases read from a trace, the bare QEMU
command made from a profile, the markdown from a made-up measurement,
and, on a real build, the whole benchmark against the reference
front-end on a few cases (skipped, with the reason, when there is none)."""

import json
import os
import tempfile
import unittest
from unittest import mock

from helpers import build_dir, env_for, run_cli

from vhucheck.bench import targets as T
from vhucheck.errors import ConfigError

BUILD = build_dir()
SKIP = "no build with harness/vhucheck-harness and targets/vhu-ref-* (build one, or set VHUCHECK_BUILD_DIR)"

QEMU_TRACE = """\
+0.0150s # case c, target pid 1
+0.0240s main <- GET_FEATURES flags=0x1(v1) size=0 fds=0
+0.0250s main -> GET_FEATURES flags=0x5(v1,REPLY) size=8 fds=0 u64=0x140000000
+0.0250s # control -> version 2
+0.0380s # control <- ok version=2
+0.0380s # control protocol version 2
+0.0390s # control -> start
+0.0390s # control <- ok
+0.0390s # control -> dump
+0.0410s # control <- ok {"started":true}
+0.0420s backend -> SHMEM_MAP flags=0x9(v1,NEED_REPLY) size=40 fds=1
+0.0450s backend <- SHMEM_MAP flags=0x5(v1,REPLY) size=8 fds=0 u64=0
"""

PROFILE_WORDS = ["/b/vhu-qtest", "--control-fd={control}", "--qemu-env=VHU_TEST_QEMU",
                 "--", "qemu-system-x86_64", "-M", "pc", "-chardev",
                 "socket,id=vu,path={socket}", "-device", "vhost-user-x-pci,chardev=vu",
                 "-device", "virtio-rng-pci", "-m", "64"]


class Profile:
    path = "/p/qemu-x.toml"
    name = "qemu-x"


class TestPhases(unittest.TestCase):
    def test_front_end_with_control(self):
        ph = T.trace_phases(QEMU_TRACE, 50.0)
        self.assertAlmostEqual(ph["start"], 24.0)
        self.assertAlmostEqual(ph["handshake"], 14.0)     # 24 ms -> version answer at 38
        self.assertAlmostEqual(ph["bring_up"], 2.0)       # start at 39 -> dump answer at 41
        self.assertAlmostEqual(ph["steps"], 4.0)          # -> last line at 45
        self.assertAlmostEqual(ph["stop"], 5.0)           # -> verdict at 50

    def test_missing_markers_are_none(self):
        text = "+0.0050s # case c\n+0.0060s main -> GET_FEATURES\n+0.0070s main <- GET_FEATURES\n"
        ph = T.trace_phases(text, 9.0)
        self.assertAlmostEqual(ph["start"], 7.0)
        self.assertIsNone(ph["handshake"])
        self.assertIsNone(ph["bring_up"])
        self.assertAlmostEqual(ph["steps"], 0.0)
        self.assertAlmostEqual(ph["stop"], 2.0)
        self.assertEqual(T.trace_phases("", 3.0), dict.fromkeys(T.PHASES))


class TestBareQemu(unittest.TestCase):
    def test_device_and_chardev_removed_accel_and_qmp_added(self):
        old = os.environ.get("VHU_TEST_QEMU")
        os.environ["VHU_TEST_QEMU"] = "/q/qemu"
        try:
            self.assertTrue(T.is_qtest(PROFILE_WORDS))
            argv = T.bare_qemu_argv(Profile, PROFILE_WORDS, tempfile.gettempdir())
        finally:
            if old is None:
                del os.environ["VHU_TEST_QEMU"]
            else:
                os.environ["VHU_TEST_QEMU"] = old
        self.assertEqual(argv, ["/q/qemu", "-M", "pc", "-device", "virtio-rng-pci", "-m", "64",
                                "-accel", "qtest", "-qmp", "stdio"])

    def test_unset_qemu_env_is_a_config_error(self):
        os.environ.pop("VHU_TEST_QEMU", None)
        with self.assertRaisesRegex(ConfigError, "set VHU_TEST_QEMU"):
            T.bare_qemu_argv(Profile, PROFILE_WORDS, tempfile.gettempdir())

    def test_other_accelerator_gets_the_halt_firmware(self):
        with tempfile.TemporaryDirectory() as d:
            words = ["vhu-qtest", "--accel=tcg", "--", "qemu", "-M", "pc"]
            argv = T.bare_qemu_argv(Profile, words, d)
            self.assertEqual(argv[:5], ["qemu", "-M", "pc", "-accel", "tcg"])
            self.assertEqual(argv[5:7], ["-bios", os.path.join(d, "halt.bin")])
            with open(argv[6], "rb") as f:
                self.assertEqual(f.read()[0xFFF0:0xFFF4], b"\xfa\xf4\xeb\xfd")


def made_up(ratio_case_ms):
    spread = {"median": 30.0, "min": 25.0, "max": 40.0}
    return {"targets": [{
        "name": "qemu-x", "spec": "qemu-x", "ratio": round(ratio_case_ms / 30.0, 2),
        "bare": {"kind": "QEMU, QMP quit", "command": "qemu -qmp stdio", "cycles": 5,
                 "ready_ms": spread, "stop_ms": spread, "total_ms": spread,
                 "driver_start_ms": {"median": 1.5, "min": 1, "max": 2}},
        "serial": {"jobs": 1, "wall_s": 9.0, "cases": 100, "cases_run": 120, "case_sum_s": 5.0,
                   "case_ms": {"median": ratio_case_ms, "min": 1, "max": 900},
                   "phases_ms": {"start": 20.0, "handshake": 9.0, "bring_up": 1.0,
                                 "steps": 0.5, "stop": 4.0}},
        "parallel": {"jobs": 2, "wall_s": 5.5, "cases": 100}}],
        "meta": {"date": "2026-01-01 00:00", "cores": 2, "kernel": "Linux x",
                 "python": "3.11", "runs": 5, "jobs": 2, "build_dir": "build",
                 "goal_ratio": T.GOAL_RATIO}}


class TestMarkdown(unittest.TestCase):
    def test_table_and_goal(self):
        md = T.markdown(made_up(39.0))
        self.assertIn("| qemu-x | 30.0 ms | 39.0 ms | **1.30x** | 100 / 120 | 5.50 s |", md)
        self.assertIn("| qemu-x | 20.0 | 9.0 | 1.0 | 0.5 | 4.0 | 30.0 | 30.0 | 1.5 |", md)
        self.assertIn("qemu-x met", md)
        self.assertIn("qemu-x **missed**", T.markdown(made_up(60.0)))


class TestUnavailable(unittest.TestCase):
    """Which targets the calibrator skips here, and why (nothing here
    depends on what this machine has installed)."""

    def _prof(self, d, command):
        from vhucheck import profile
        return profile.from_dict(os.path.join(d, "t.toml"), {
            "name": "t", "role": "frontend", "command": command})

    def test_reasons(self):
        with tempfile.TemporaryDirectory() as d:
            qtest = ("/bin/sh --qemu-env=VHU_TEST_QEMU -- qemu-system-x86_64 "
                     "-chardev socket,id=vu,path={socket}")
            env = {"PATH": "/usr/bin:/bin"}
            self.assertIsNone(T.unavailable(self._prof(d, "/bin/sh {socket}"), env))
            self.assertIn("no such program",
                          T.unavailable(self._prof(d, f"{d}/nothing {{socket}}"), env))
            # vhu-qtest's QEMU: the variable it names, then the binary
            words = qtest.replace("/bin/sh", "/b/vhu-qtest").split()
            self.assertTrue(T.is_qtest(words))
            self.assertIn("no such program", T.unavailable(self._prof(d, qtest.replace(
                "/bin/sh", f"{d}/vhu-qtest")), env))
            exe = os.path.join(d, "vhu-qtest")
            with open(exe, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(exe, 0o755)
            prof = self._prof(d, qtest.replace("/bin/sh", exe))
            self.assertIn("$VHU_TEST_QEMU is not set", T.unavailable(prof, env))
            self.assertIn(f"{d}/q: no such program",
                          T.unavailable(prof, dict(env, VHU_TEST_QEMU=f"{d}/q")))
            self.assertIsNone(T.unavailable(prof, dict(env, VHU_TEST_QEMU="/bin/sh")))
            # exec-*: the implementation's command line
            ex = self._prof(d, "sh -c 'c=$VHUCHECK_EXEC_COMMAND; exec $c' x {socket}")
            self.assertIn("VHUCHECK_EXEC_COMMAND is not set", T.unavailable(ex, env))
            for cmd, why in (("/bin/true --socket-path={socket}", None),
                             (f"{d}/nothing", "no such program")):
                with mock.patch.dict(os.environ, {"VHUCHECK_EXEC_COMMAND": cmd}):
                    got = T.unavailable(ex)
                    self.assertIsNone(got) if why is None else self.assertIn(why, got)

    def test_every_real_target_is_in_the_default_list(self):
        for name in ("qemu-shmem", "qemu-debian", "dpdk-testpmd", "virtiofsd-debian",
                     "exec-backend", "exec-frontend", "ref-frontend", "ref-backend"):
            self.assertIn(name, T.default_targets())


@unittest.skipUnless(BUILD, SKIP)
class TestOnBuild(unittest.TestCase):
    def test_reference_front_end(self):
        with tempfile.TemporaryDirectory(prefix="vhucheck-bench-targets-") as d:
            ghost = os.path.join(d, "ghost.toml")
            with open(ghost, "w", encoding="utf-8") as f:
                f.write('name = "ghost"\nrole = "frontend"\n'
                        f'command = "{d}/not-installed --socket-path={{socket}}"\n')
            rc, out, err = run_cli("bench", "targets", "--target", "ref-frontend", "--runs", "3",
                                   "--target", ghost,
                                   "--cases", "shmem_map_overlap_*", "--out", d,
                                   env=env_for(VHUCHECK_BUILD_DIR=BUILD), timeout=300)
            self.assertEqual(rc, 0, err)
            with open(os.path.join(d, "last-run.json"), encoding="utf-8") as f:
                doc = json.load(f)
            skipped, = doc["skipped"]
            self.assertEqual(skipped["name"], "ghost")
            self.assertIn("not-installed: no such program", skipped["reason"])
            self.assertIn("- ghost: ", out)
            t, = doc["targets"]
            self.assertEqual(t["name"], "ref-frontend")
            self.assertGreater(t["bare"]["total_ms"]["median"], 0)
            self.assertGreater(t["serial"]["cases"], 1)
            self.assertEqual(t["serial"]["cases_run"], t["parallel"]["cases_run"])
            self.assertLessEqual(t["serial"]["cases"], t["serial"]["cases_run"])
            self.assertGreater(t["ratio"], 0)
            self.assertIn("| ref-frontend |", out)


if __name__ == "__main__":
    unittest.main()
