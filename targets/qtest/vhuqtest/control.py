"""The front-end side of vhucheck's control channel (docs/control.md),
played on behalf of a QEMU that has no such channel: ``start`` brings the
virtio device to DRIVER_OK through qtest, ``stop``/``start`` pause and
resume the VM through QMP, ``reset`` writes device status 0, ``dump``
answers once everything asked before is done. What QEMU offers no way to do (``reconnect``, ``stop`` without QMP) is
answered ``err unsupported: WHY``.

Every answer is sent before the command acts, as the protocol requires."""

import json
import os


class LineReader:
    def __init__(self, fd):
        self.fd, self.buf, self.eof = fd, b"", False

    def fill(self):
        try:
            chunk = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def lines(self):
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            yield line.decode(errors="replace").strip()


def answer(fd, ok, text=""):
    line = ("ok" if ok else "err") + (" " + text if text else "") + "\n"
    data = line.encode()
    while data:
        data = data[os.write(fd, data):]


def unsupported(fd, why):
    """`err unsupported: WHY`: the command is understood but cannot be
    carried out with QEMU; the harness judges the case UNSUPPORTED, not
    FAIL (a limit of the driver is no fault of QEMU's)."""
    answer(fd, False, "unsupported: " + why)


FRONTEND_COMMANDS = ("version", "start", "stop", "reset", "reconnect", "dump",
                     "quit")

# The control protocol version spoken (docs/control.md); version 2 changed
# only back-end commands.
VERSION = 2


def answer_version(fd, args):
    """`version N`: `ok version=V`, V the lower of N and VERSION."""
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) < 1:
        answer(fd, False, "version: usage: version N (N >= 1)")
        return
    answer(fd, True, f"version={min(int(args[0]), VERSION)}")


def dump_json(state):
    return json.dumps(state, separators=(",", ":"), sort_keys=True)
