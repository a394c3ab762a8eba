"""A fake QEMU for the tests of vhu-qtest (test_vhuqtest.py), started by
the driver in QEMU's place: it takes the arguments the driver appends
(-qtest unix:PATH, -qmp unix:PATH,server=on,wait=off), serves QMP, and
answers the qtest line protocol for one modern virtio PCI function in
slot 3 (config space through 0xcf8/0xcfc, BAR sizing, a common
configuration structure in BAR 4, a shared memory capability in BAR 2).

What the driver did goes to $FAKE_QEMU_LOG, one JSON object per line:
{"status": V} per status write, {"queue": N, "desc": A, "enable": 1} per
enabled queue, {"qmp": COMMAND}, {"bar": N, "base": A} at the end,
{"lines": N, "batches": M}: the qtest commands and the reads that
carried them (a pipelined driver sends many commands per read), and
{"qtest": "closed"} when the driver closed it (QEMU lives on, as the
real one does), {"exit": "quit"}.

$FAKE_QEMU_CHARDEV_CONNECTED=N: query-chardev shows a connected
vhost-user chardev the first N times, then a disconnected one.
$FAKE_QEMU_NO_CONNECT=1: never connect to the qtest socket.
"""

import json
import os
import select
import socket
import struct
import sys
import time

SLOT = 3
BARS = {1: (0x1000, False), 2: (0x100000, True), 4: (0x4000, True)}  # size, 64-bit
VENDOR, DEVICE = 0x1AF4, 0x105A
F_OFFERED = 1 << 32 | 1 << 0 | 1 << 29
CF8, CFC = 0xCF8, 0xCFC
COMMAND, STATUS_REG, CAP_PTR = 0x04, 0x06, 0x34
DFSELECT, DF, GFSELECT, GF, NUM_QUEUES, STATUS = 0, 4, 8, 12, 18, 20
Q_SELECT, Q_SIZE, Q_ENABLE, Q_DESC = 22, 24, 28, 32
LIFETIME_S = 60


def log(**entry):
    path = os.environ.get("FAKE_QEMU_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


class Device:
    """Config space and common cfg of one modern virtio function."""

    def __init__(self):
        self.cfg = bytearray(256)
        struct.pack_into("<HH", self.cfg, 0, VENDOR, DEVICE)
        struct.pack_into("<H", self.cfg, STATUS_REG, 0x10)
        self.cfg[CAP_PTR] = 0x40
        self._cap(0x40, 0x54, 1, 4, 0, 0x38)            # common
        self._cap(0x54, 0x68, 2, 4, 0x1000, 0x1000, 4)  # notify
        self._cap(0x68, 0x00, 8, 2, 0, 0x100000, 8, shmid=7)
        self.bars = {}
        for idx, (_, is64) in BARS.items():
            self.bars[idx] = 0x4 if is64 else 0x0
            if is64:
                self.bars[idx + 1] = 0
        self.cf8 = 0
        self.c = {"dfselect": 0, "gfselect": 0, "gf": [0, 0], "status": 0, "qsel": 0,
                  "queues": {}}

    def _cap(self, off, nxt, cfg_type, bar, offset, length, extra=0, shmid=0):
        self.cfg[off:off + 4] = bytes([9, nxt, 16 + extra, cfg_type])
        self.cfg[off + 4], self.cfg[off + 5] = bar, shmid
        struct.pack_into("<II", self.cfg, off + 8, offset, length)

    def _bar_write(self, idx, value):
        if idx in BARS:
            size, is64 = BARS[idx]
            self.bars[idx] = (value & ~(size - 1) & 0xFFFFFFFF) | (0x4 if is64 else 0)
        elif idx - 1 in BARS and BARS[idx - 1][1]:
            self.bars[idx] = value & ~((BARS[idx - 1][0] - 1) >> 32) & 0xFFFFFFFF

    def cfg_read(self, off, size):
        if (self.cf8 >> 11) & 0x1F != SLOT or (self.cf8 >> 8) & 7:
            return (1 << (8 * size)) - 1
        reg = (self.cf8 & 0xFC) + off
        if 0x10 <= reg < 0x28:
            word = self.bars.get((reg - 0x10) // 4, 0)
            return (word >> (8 * (reg & 3))) & ((1 << (8 * size)) - 1)
        return int.from_bytes(self.cfg[reg:reg + size], "little")

    def cfg_write(self, off, size, value):
        reg = (self.cf8 & 0xFC) + off
        if (self.cf8 >> 11) & 0x1F != SLOT:
            return
        if 0x10 <= reg < 0x28 and size == 4:
            self._bar_write((reg - 0x10) // 4, value)
        elif reg == COMMAND:
            self.cfg[reg:reg + size] = value.to_bytes(size, "little")

    def bar_base(self, idx):
        base = self.bars[idx] & ~0xF
        if BARS[idx][1]:
            base |= self.bars[idx + 1] << 32
        return base

    def mmio(self, addr, size, value=None):
        off = addr - self.bar_base(4)
        if not self.cfg[COMMAND] & 2 or not 0 <= off < 0x38:
            return 0
        c = self.c
        if value is None:
            return {DF: (F_OFFERED >> (32 * c["dfselect"])) & 0xFFFFFFFF, NUM_QUEUES: 2,
                    STATUS: c["status"], Q_SIZE: 128}.get(off, 0)
        if off == STATUS:
            log(status=value)
            c["status"] = value
            if value == 0:
                c["queues"].clear()
        elif off in (DFSELECT, GFSELECT, Q_SELECT):
            c[{DFSELECT: "dfselect", GFSELECT: "gfselect", Q_SELECT: "qsel"}[off]] = value
        elif off == GF:
            c["gf"][c["gfselect"]] = value
        else:
            q = c["queues"].setdefault(c["qsel"], {})
            q[off] = value
            if off == Q_ENABLE:
                log(queue=c["qsel"], desc=q.get(Q_DESC), enable=value)
        return 0

    def answer(self, w):
        cmd = w[0]
        if cmd == "endianness":
            return "OK little"
        if cmd == "memset":
            return "OK"
        size = {"b": 1, "w": 2, "l": 4, "q": 8}.get(cmd[-1])
        if size is None or len(w) < 2:
            return "FAIL unknown command"
        addr = int(w[1], 16)
        if cmd.startswith("out"):
            if addr == CF8:
                self.cf8 = int(w[2], 16)
            else:
                self.cfg_write(addr - CFC, size, int(w[2], 16))
            return "OK"
        if cmd.startswith("in"):
            return f"OK 0x{self.cfg_read(addr - CFC, size):x}"
        if cmd.startswith("write"):
            self.mmio(addr, size, int(w[2], 16))
            return "OK"
        return f"OK 0x{self.mmio(addr, size):016x}"


def chardevs(state, qtest_path):
    connected = int(os.environ.get("FAKE_QEMU_CHARDEV_CONNECTED", "0"))
    state["queries"] += 1
    vu = "unix:/x/vu.sock" if state["queries"] <= connected else "disconnected:unix:/x/vu.sock"
    return [{"label": "qtest", "filename": "unix:" + qtest_path, "frontend-open": True},
            {"label": "vu", "filename": vu, "frontend-open": True}]


def qmp_answer(line, state, qtest_path):
    """(reply dict, quit?)"""
    cmd = json.loads(line).get("execute")
    log(qmp=cmd)
    if cmd == "query-chardev":
        return {"return": chardevs(state, qtest_path)}, False
    if cmd in ("qmp_capabilities", "stop", "cont", "quit"):
        return {"return": {}}, cmd == "quit"
    return {"error": {"class": "CommandNotFound", "desc": f"The command {cmd} has not "
                      "been found"}}, False


def serve(qt, qmp_listener, qtest_path, dev):
    """Until QMP `quit` (QEMU outlives its qtest connection)."""
    buf, qbuf, qmp, state = b"", b"", None, {"queries": 0}
    lines = batches = 0
    end = time.monotonic() + LIFETIME_S
    while time.monotonic() < end:
        socks = ([qt] if qt else []) + ([qmp_listener] if qmp_listener.getsockname() else []) + \
            ([qmp] if qmp else [])
        r, _, _ = select.select(socks, [], [], 1.0)
        if qmp_listener in r:
            qmp, _ = qmp_listener.accept()
            qmp.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\n')
        if qmp is not None and qmp in r:
            chunk = qmp.recv(65536)
            if not chunk:
                qmp = None
            qbuf += chunk
            while b"\n" in qbuf:
                line, _, qbuf = qbuf.partition(b"\n")
                reply, quit_ = qmp_answer(line, state, qtest_path)
                qmp.sendall(json.dumps(reply).encode() + b"\n")
                if quit_:
                    return "quit", lines, batches
        if qt is not None and qt in r:
            chunk = qt.recv(65536)
            if not chunk:
                log(qtest="closed")
                qt = None
                continue
            batches += 1
            buf += chunk
            out = []
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                lines += 1
                out.append(dev.answer(line.decode().split()) + "\n")
            qt.sendall("".join(out).encode())
    return "lifetime over", lines, batches


def main(argv):
    qtest_path = argv[argv.index("-qtest") + 1].split(":", 1)[1]
    qmp_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if "-qmp" in argv:
        qmp_listener.bind(argv[argv.index("-qmp") + 1].split(":", 1)[1].split(",")[0])
        qmp_listener.listen(1)
    if os.environ.get("FAKE_QEMU_NO_CONNECT"):
        time.sleep(LIFETIME_S)
        return 0
    qt = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qt.connect(qtest_path)
    dev = Device()
    why, lines, batches = serve(qt, qmp_listener, qtest_path, dev)
    for idx in BARS:
        log(bar=idx, base=dev.bar_base(idx))
    log(lines=lines, batches=batches)
    log(exit=why)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
