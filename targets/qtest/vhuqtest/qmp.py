"""A minimal QMP client (JSON lines over a unix socket) for the run-state
commands a guest cannot issue: ``stop`` and ``cont`` pause and resume the
VM, which stops and restarts the vhost-user device."""

import json
import select
import socket
import time


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= deadline:
                    raise QmpError(f"{path}: QEMU's QMP socket did not appear") from None
                time.sleep(0.01)
        self.sock.setblocking(False)
        self.buf = b""
        self.timeout = timeout
        self._message(time.monotonic() + timeout)          # the greeting
        self.execute("qmp_capabilities")

    def _message(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpError("no answer on QMP in time (QEMU blocked on its vhost-user peer?)")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise QmpError("QEMU closed the QMP connection")
                self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def execute(self, command, **arguments):
        """Runs a command; returns its "return" value, skipping events."""
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
