"""Tests of vhu-qtest (the C guest driver, built as
BUILD/targets/qtest/vhu-qtest) against a fake QEMU (fake_qemu.py), which
the driver execs in QEMU's place and which logs what the driver did. The
real thing is exercised against QEMU by tests/stages/40-real-targets.sh.

    VHU_QTEST=build/targets/qtest/vhu-qtest python3 -m unittest discover -s targets/qtest -v

Without $VHU_QTEST the driver is looked for in build/ and build-*/ of the
tree; the tests are skipped, with the reason, when there is none.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(HERE, "fake_qemu.py")
DEADLINE_S = 20


def find_driver():
    env = os.environ.get("VHU_QTEST")
    candidates = [env] if env else [os.path.join(d, "targets", "qtest", "vhu-qtest") for d in
                                    [os.path.join(TOP, "build")] +
                                    sorted(glob.glob(os.path.join(TOP, "build-*")))]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


DRIVER = find_driver()
SKIP = "no vhu-qtest built (ninja -C build, or set VHU_QTEST)"


class Session:
    """vhu-qtest over the fake QEMU, our end of its control channel."""

    def __init__(self, test, *opts, env=None):
        self.tmp = tempfile.mkdtemp(prefix="vhu-qtest-test-")
        self.log = os.path.join(self.tmp, "fake.log")
        ours, theirs = socket.socketpair()
        e = dict(os.environ, FAKE_QEMU_LOG=self.log, **(env or {}))
        self.p = subprocess.Popen([DRIVER, f"--control-fd={theirs.fileno()}", *opts, "--",
                                   sys.executable, FAKE], pass_fds=[theirs.fileno()], env=e,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  start_new_session=True)
        theirs.close()
        self.sock, self.buf = ours, b""
        ours.settimeout(DEADLINE_S)
        test.addCleanup(self.close)

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return "EOF"
            self.buf += chunk
        answer, _, self.buf = self.buf.partition(b"\n")
        return answer.decode()

    def dump(self):
        a = self.ask("dump")
        return json.loads(a[3:]) if a.startswith("ok {") else {"answer": a}

    def entries(self):
        try:
            with open(self.log, encoding="utf-8") as f:
                return [json.loads(ln) for ln in f if ln.strip()]
        except FileNotFoundError:
            return []

    def end(self):
        """Closes the control channel; the exit status of QEMU (the fake)."""
        self.sock.close()
        return self.p.wait(timeout=DEADLINE_S)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.p.stderr.close()
        self.sock.close()
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)


@unittest.skipUnless(DRIVER, SKIP)
class TestBringUp(unittest.TestCase):
    def test_start_follows_the_spec_order(self):
        s = Session(self)
        self.assertEqual(s.ask("start"), "ok")
        d = s.dump()
        self.assertEqual((d["started"], d["status"], d["device"]), (True, "0xf", "00:03.0"))
        self.assertEqual(d["negotiated"], "0x100000000")
        self.assertEqual(d["shm"], [{"bar": 2, "length": 0x100000, "offset": 0, "shmid": 7}])
        log = s.entries()
        self.assertEqual([e["status"] for e in log if "status" in e], [0, 1, 3, 0xB, 0xF])
        self.assertEqual([(e["queue"], e["desc"]) for e in log if "queue" in e],
                         [(0, 0x200000), (1, 0x210000)])

    def test_bring_up_is_batched(self):
        s = Session(self)
        self.assertEqual(s.ask("start"), "ok")
        s.dump()
        self.assertEqual(s.end(), 0)
        counts = next(e for e in s.entries() if "lines" in e)
        # hundreds of qtest commands (the bus, the config space, the BARs,
        # the queues), in a few reads: one round trip each would be
        # ~400 batches
        self.assertGreater(counts["lines"], 200)
        self.assertLess(counts["batches"], 30, counts)

    def test_bars_are_placed_and_the_shm_bar_left_unmapped_on_request(self):
        for opt, shm_base in (("--shm-bar=map", True), ("--shm-bar=unmapped", False)):
            with self.subTest(opt):
                s = Session(self, opt)
                self.assertEqual(s.ask("start"), "ok")
                self.assertTrue(s.dump()["started"])
                s.end()
                bases = {e["bar"]: e["base"] for e in s.entries() if "bar" in e}
                self.assertEqual(bases[4] % 0x4000, 0)
                self.assertNotEqual(bases[4], 0)
                self.assertEqual(bases[2] != 0, shm_base, bases)

    def test_reset_then_start_again(self):
        s = Session(self)
        s.ask("start")
        s.dump()
        self.assertEqual(s.ask("reset"), "ok")
        d = s.dump()
        self.assertEqual((d["started"], d["status"]), (False, "0x0"))
        s.ask("start")
        self.assertEqual(s.dump()["status"], "0xf")


@unittest.skipUnless(DRIVER, SKIP)
class TestControl(unittest.TestCase):
    """What QEMU cannot do is `err unsupported: WHY` (the harness's
    UNSUPPORTED), never a plain err (a FAIL) nor an ok that does nothing."""

    def test_answers(self):
        s = Session(self)
        self.assertEqual(s.ask("version 2"), "ok version=2")
        self.assertEqual(s.ask("version 1"), "ok version=1")
        self.assertEqual(s.ask("version 7"), "ok version=2")
        self.assertTrue(s.ask("version x").startswith("err version: usage"))
        self.assertRegex(s.ask("reconnect"), r"^err unsupported: \S.*re-open a vhost-user")
        text = s.ask("bogus")
        self.assertTrue(text.startswith("err unknown command 'bogus'"), text)
        self.assertNotIn("unsupported:", text)

    def test_stop_and_start_go_through_qmp(self):
        s = Session(self)
        s.ask("start")
        s.dump()
        self.assertEqual(s.ask("stop"), "ok")
        self.assertEqual((s.dump()["paused"], s.dump()["started"]), (True, False))
        self.assertEqual(s.ask("start"), "ok")
        self.assertEqual(s.dump()["started"], True)
        self.assertEqual([e["qmp"] for e in s.entries() if "qmp" in e],
                         ["qmp_capabilities", "stop", "cont"])

    def test_stop_without_qmp_is_unsupported(self):
        s = Session(self, "--no-qmp")
        self.assertRegex(s.ask("stop"), r"^err unsupported: stop needs QMP")

    def test_quit_ends_qemu(self):
        s = Session(self)
        self.assertEqual(s.ask("quit"), "ok")
        self.assertEqual(s.p.wait(timeout=DEADLINE_S), 0)
        self.assertEqual(s.entries()[-1], {"exit": "quit"})


@unittest.skipUnless(DRIVER, SKIP)
class TestEnd(unittest.TestCase):
    def test_eof_quits_once_the_vhost_user_socket_reads_disconnected(self):
        s = Session(self, env={"FAKE_QEMU_CHARDEV_CONNECTED": "3"})
        s.ask("start")
        s.dump()
        self.assertEqual(s.end(), 0)
        qmp = [e["qmp"] for e in s.entries() if "qmp" in e]
        # three answers with the socket still connected, a fourth with it
        # disconnected, and only then the quit
        self.assertEqual(qmp, ["qmp_capabilities"] + ["query-chardev"] * 4 + ["quit"])
        self.assertEqual(s.entries()[-1], {"exit": "quit"})

    def test_eof_without_qmp_leaves_qemu_to_the_harness(self):
        s = Session(self, "--no-qmp")
        s.ask("start")
        s.dump()
        s.sock.close()
        with self.assertRaises(subprocess.TimeoutExpired):
            s.p.wait(timeout=1.0)

    def test_qemu_that_never_connects_is_reported_on_the_channel(self):
        s = Session(self, "--connect-timeout=0.3", env={"FAKE_QEMU_NO_CONNECT": "1"})
        text = s.ask("dump")
        self.assertTrue(text.startswith("err vhu-qtest: QEMU did not connect"), text)


@unittest.skipUnless(DRIVER, SKIP)
class TestUsage(unittest.TestCase):
    def test_errors_are_exit_2_with_one_error_line(self):
        for args, fragment in ((["--"], "no QEMU command"),
                               (["--start=sometimes", "--", "q"], "invalid choice"),
                               (["--bogus", "--", "q"], "unrecognized"),
                               (["--start=control", "--", "q"], "needs --control-fd"),
                               (["--qemu-env=VHU_NO_SUCH_VAR", "--", "q"], "VHU_NO_SUCH_VAR")):
            with self.subTest(args):
                p = subprocess.run([DRIVER, *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=DEADLINE_S)
                self.assertEqual(p.returncode, 2)
                errs = [ln for ln in p.stderr.decode().splitlines() if "error:" in ln]
                self.assertEqual(len(errs), 1, p.stderr)
                self.assertIn(fragment, errs[0])


if __name__ == "__main__":
    unittest.main()
