"""Unit tests of vhu-qtest's qtest client, PCI and virtio layers against a
fake QEMU: a thread that answers the qtest line protocol for one virtio
PCI function (config space through 0xcf8/0xcfc, BAR sizing, a common
configuration structure in BAR 4). The real thing is exercised against
Debian's QEMU by tests/stages/40-real-targets.sh.

    python3 -m unittest discover -s targets/qtest -v
"""

import os
import socket
import struct
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vhuqtest import main as driver, pci, qtest, virtio  # noqa: E402

SLOT = 3
BARS = {1: (0x1000, False), 2: (0x100000, True), 4: (0x4000, True)}  # size, 64-bit
F_OFFERED = virtio.F_VERSION_1 | 1 << 0 | 1 << 29


class FakeDevice:
    """Config space and common cfg of one modern virtio function."""

    def __init__(self):
        self.cfg = bytearray(256)
        struct.pack_into("<HH", self.cfg, 0, virtio.VENDOR, 0x105A)
        struct.pack_into("<H", self.cfg, pci.STATUS, pci.STATUS_CAP_LIST)
        self.cfg[pci.CAP_PTR] = 0x40
        self._cap(0x40, 0x54, virtio.CFG_COMMON, 4, 0, 0x38)
        self._cap(0x54, 0x68, virtio.CFG_NOTIFY, 4, 0x1000, 0x1000, extra=4)
        self._cap(0x68, 0x00, virtio.CFG_SHM, 2, 0, 0x100000, extra=8, shmid=7)
        self.bar_regs = {}
        for idx, (size, is64) in BARS.items():
            self.bar_regs[idx] = 0x4 if is64 else 0x0
            if is64:
                self.bar_regs[idx + 1] = 0
        self.cf8 = 0
        self.status_writes = []
        self.common = {"dfselect": 0, "gfselect": 0, "gf": [0, 0], "status": 0,
                       "qsel": 0, "queues": {}}

    def _cap(self, off, nxt, cfg_type, bar, offset, length, extra=0, shmid=0):
        self.cfg[off:off + 4] = bytes([virtio.CAP_VNDR, nxt, 16 + extra, cfg_type])
        self.cfg[off + 4], self.cfg[off + 5] = bar, shmid
        struct.pack_into("<II", self.cfg, off + 8, offset, length)

    # ---- config space ----

    def _bar_read(self, idx):
        if idx in BARS or idx - 1 in BARS:
            return self.bar_regs[idx]
        return 0

    def _bar_write(self, idx, value):
        if idx in BARS:
            size, is64 = BARS[idx]
            self.bar_regs[idx] = (value & ~(size - 1) & 0xFFFFFFFF) | (0x4 if is64 else 0)
        elif idx - 1 in BARS and BARS[idx - 1][1]:
            size = BARS[idx - 1][0]
            self.bar_regs[idx] = value & ~((size - 1) >> 32) & 0xFFFFFFFF

    def cfg_read(self, off, size):
        slot = (self.cf8 >> 11) & 0x1F
        func = (self.cf8 >> 8) & 7
        reg = (self.cf8 & 0xFC) + off
        if slot != SLOT or func:
            return (1 << (8 * size)) - 1
        if 0x10 <= reg < 0x28:
            word = self._bar_read((reg - 0x10) // 4)
            return (word >> (8 * (reg & 3))) & ((1 << (8 * size)) - 1)
        return int.from_bytes(self.cfg[reg:reg + size], "little")

    def cfg_write(self, off, size, value):
        reg = (self.cf8 & 0xFC) + off
        if (self.cf8 >> 11) & 0x1F != SLOT:
            return
        if 0x10 <= reg < 0x28 and size == 4:
            self._bar_write((reg - 0x10) // 4, value)
        elif reg == pci.COMMAND:
            self.cfg[reg:reg + size] = value.to_bytes(size, "little")

    def bar_base(self, idx):
        base = self.bar_regs[idx] & ~0xF
        if BARS[idx][1]:
            base |= self.bar_regs[idx + 1] << 32
        return base

    # ---- common configuration ----

    def mmio(self, addr, size, value=None):
        off = addr - self.bar_base(4)
        c = self.common
        if not 0 <= off < 0x38:
            return 0
        if value is None:
            return self._common_read(off)
        if off == virtio.STATUS:
            self.status_writes.append(value)
            c["status"] = value
            if value == 0:
                c["queues"].clear()
        elif off == virtio.DFSELECT:
            c["dfselect"] = value
        elif off == virtio.GFSELECT:
            c["gfselect"] = value
        elif off == virtio.GF:
            c["gf"][c["gfselect"]] = value
        elif off == virtio.Q_SELECT:
            c["qsel"] = value
        else:
            c["queues"].setdefault(c["qsel"], {})[off] = value
        return 0

    def _common_read(self, off):
        c = self.common
        if off == virtio.DF:
            return (F_OFFERED >> (32 * c["dfselect"])) & 0xFFFFFFFF
        if off == virtio.NUM_QUEUES:
            return 2
        if off == virtio.STATUS:
            return c["status"]
        if off == virtio.Q_SIZE:
            return 128
        return 0


class FakeQemu(threading.Thread):
    """Answers qtest lines on one end of a socketpair."""

    def __init__(self, sock, dev, mute_after=None):
        super().__init__(daemon=True)
        self.sock, self.dev, self.mute_after = sock, dev, mute_after
        self.lines = 0

    def run(self):
        f = self.sock.makefile("rwb", buffering=0)
        for raw in f:
            self.lines += 1
            if self.mute_after is not None and self.lines > self.mute_after:
                continue
            f.write((self.answer(raw.decode().split()) + "\n").encode())

    def answer(self, w):
        d, cmd = self.dev, w[0]
        if cmd == "bogus":
            return "FAIL unknown command"
        if cmd == "endianness":
            return "OK little"
        if cmd == "memset":
            return "OK"
        addr = int(w[1], 16)
        size = {"b": 1, "w": 2, "l": 4, "q": 8}[cmd[-1]]
        if cmd.startswith("out"):
            if addr == pci.CONFIG_ADDR:
                d.cf8 = int(w[2], 16)
            else:
                d.cfg_write(addr - pci.CONFIG_DATA, size, int(w[2], 16))
            return "OK"
        if cmd.startswith("in"):
            return f"OK 0x{d.cfg_read(addr - pci.CONFIG_DATA, size):x}"
        if cmd.startswith("write"):
            d.mmio(addr, size, int(w[2], 16))
            return "OK"
        return f"OK 0x{d.mmio(addr, size):016x}"


def connect(dev, mute_after=None, op_timeout=2.0):
    a, b = socket.socketpair()
    FakeQemu(b, dev, mute_after).start()
    return qtest.Qtest(a, op_timeout)


class QtestTests(unittest.TestCase):
    def test_typed_accessors_format_commands(self):
        qt = connect(FakeDevice())
        self.assertEqual(qt.cmd("endianness"), ["little"])
        qt.out(4, pci.CONFIG_ADDR, 0x80000000 | SLOT << 11)
        self.assertEqual(qt.inp(2, pci.CONFIG_DATA), virtio.VENDOR)

    def test_fail_answer_breaks_the_session(self):
        qt = connect(FakeDevice())
        with self.assertRaisesRegex(qtest.QtestError, "answered 'FAIL"):
            qt.cmd("bogus")
        with self.assertRaises(qtest.QtestError):
            qt.cmd("endianness")

    def test_silence_is_a_timeout_not_a_hang(self):
        qt = connect(FakeDevice(), mute_after=0, op_timeout=0.2)
        with self.assertRaisesRegex(qtest.QtestError, "no answer from QEMU"):
            qt.cmd("endianness")

    def test_eof_is_reported(self):
        a, b = socket.socketpair()
        b.close()
        with self.assertRaisesRegex(qtest.QtestError, "closed"):
            qtest.Qtest(a, 1.0).cmd("endianness")


class PciTests(unittest.TestCase):
    def setUp(self):
        self.dev = FakeDevice()
        self.qt = connect(self.dev)

    def test_enumeration_finds_the_function(self):
        found = pci.functions(self.qt)
        self.assertEqual([c.slot for c in found], [SLOT])

    def test_bars_are_sized_and_placed_aligned(self):
        cfg = pci.Config(self.qt, SLOT)
        bars = pci.assign_bars(cfg, pci.size_bars(cfg), pci.Windows())
        self.assertEqual(sorted(bars), [1, 2, 4])
        for idx, (size, is64) in BARS.items():
            self.assertEqual((bars[idx].size, bars[idx].is64), (size, is64))
            self.assertEqual(bars[idx].address % size, 0)
            self.assertEqual(self.dev.bar_base(idx), bars[idx].address)
        self.assertTrue(cfg.read(2, pci.COMMAND) & pci.CMD_MEMORY)

    def test_capability_list(self):
        caps = pci.Config(self.qt, SLOT).capabilities()
        self.assertEqual([off for off, _ in caps], [0x40, 0x54, 0x68])


class VirtioTests(unittest.TestCase):
    def setUp(self):
        self.dev = FakeDevice()
        self.qt = connect(self.dev)
        cfg, _ = virtio.find(self.qt)
        self.vdev = virtio.Device(cfg, pci.assign_bars(cfg, pci.size_bars(cfg),
                                                       pci.Windows()))

    def test_shared_memory_capability_is_read(self):
        self.assertEqual(len(self.vdev.shm), 1)
        s = self.vdev.shm[0]
        self.assertEqual((s.shmid, s.bar, s.offset, s.length), (7, 2, 0, 0x100000))

    def test_initialisation_follows_the_spec_order(self):
        n = self.vdev.initialise(wanted_features=0, ring_base=0x200000)
        A, D, F, OK = virtio.ACKNOWLEDGE, virtio.DRIVER, virtio.FEATURES_OK, virtio.DRIVER_OK
        self.assertEqual(self.dev.status_writes, [0, A, A | D, A | D | F, A | D | F | OK])
        self.assertEqual(n, 2)
        self.assertEqual(self.vdev.negotiated, virtio.F_VERSION_1)
        q0 = self.dev.common["queues"][0]
        self.assertEqual(q0[virtio.Q_ENABLE], 1)
        self.assertEqual(q0[virtio.Q_DESC], 0x200000)
        self.assertEqual(self.dev.common["queues"][1][virtio.Q_DESC],
                         0x200000 + virtio.QUEUE_STRIDE)

    def test_only_wanted_features_are_accepted(self):
        self.vdev.initialise(wanted_features=1 << 29 | 1 << 5, ring_base=0x200000)
        self.assertEqual(self.vdev.negotiated, virtio.F_VERSION_1 | 1 << 29)

    def test_reset_writes_zero(self):
        self.vdev.initialise(0, 0x200000)
        self.vdev.reset()
        self.assertEqual(self.dev.status_writes[-1], 0)
        self.assertEqual(self.vdev.status(), 0)

    def test_no_virtio_function_is_an_error(self):
        with self.assertRaisesRegex(virtio.VirtioError, "no virtio PCI function"):
            virtio.find(self.qt, device_id=0x1041)


class ControlTests(unittest.TestCase):
    """Answers on vhucheck's control channel: what QEMU cannot do is
    `err unsupported: WHY` (the harness's UNSUPPORTED), never a plain err
    (a FAIL) nor an ok that does nothing."""

    def ask(self, line, qmp=None):
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        d = driver.Driver(opts=None, qt=None, qmp=qmp)
        self.assertTrue(d.command(a.fileno(), line))
        b.settimeout(1.0)
        return b.recv(4096).decode()

    def test_reconnect_is_unsupported(self):
        text = self.ask("reconnect")
        self.assertRegex(text, r"^err unsupported: \S.*\n$")
        self.assertIn("re-open a vhost-user connection", text)

    def test_stop_without_qmp_is_unsupported(self):
        self.assertRegex(self.ask("stop"), r"^err unsupported: stop needs QMP")

    def test_unknown_command_is_a_plain_err(self):
        text = self.ask("bogus")
        self.assertTrue(text.startswith("err unknown command 'bogus'"), text)
        self.assertNotIn("unsupported:", text)

    def test_version_2(self):
        """docs/control.md: a front-end answers `ok version=2`."""
        self.assertEqual(self.ask("version 2"), "ok version=2\n")
        self.assertEqual(self.ask("version 1"), "ok version=1\n")
        self.assertEqual(self.ask("version 7"), "ok version=2\n")
        self.assertTrue(self.ask("version x").startswith("err "))


if __name__ == "__main__":
    unittest.main()
