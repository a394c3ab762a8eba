"""QEMU's qtest protocol: one text line per command, one per answer.

QEMU connects to a unix socket we listen on (``-qtest unix:PATH``) and
then executes commands such as ``outl 0xcf8 0x80001000`` (``OK``) or
``readl 0xe0000014`` (``OK 0x...``). Lines starting with ``IRQ`` are
asynchronous notifications and are skipped. Every read has a deadline: a
QEMU blocked on its vhost-user peer must not block the driver forever.
"""

import os
import select
import socket
import time


class QtestError(Exception):
    """The session is unusable (timeout, EOF, FAIL answer)."""


def now():
    return time.monotonic()


class Qtest:
    def __init__(self, sock, op_timeout=5.0):
        self.sock = sock
        self.sock.setblocking(False)
        self.op_timeout = op_timeout
        self.buf = b""
        self.broken = None      # why the session died, once it did

    @classmethod
    def accept(cls, listener, timeout, op_timeout=5.0):
        ready, _, _ = select.select([listener], [], [], timeout)
        if not ready:
            raise QtestError(f"QEMU did not connect to the qtest socket within {timeout:.1f} s")
        conn, _ = listener.accept()
        return cls(conn, op_timeout)

    def fileno(self):
        return self.sock.fileno()

    def _fail(self, why):
        self.broken = why
        raise QtestError(why)

    def _send(self, line, deadline):
        data = (line + "\n").encode()
        while data:
            left = deadline - now()
            if left <= 0:
                self._fail(f"'{line}': QEMU did not take the command in time")
            _, w, _ = select.select([], [self.sock], [], left)
            if w:
                try:
                    data = data[self.sock.send(data):]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    self._fail(f"'{line}': QEMU closed the qtest connection")
                except OSError as e:
                    self._fail(f"'{line}': {e.strerror}")

    def _line(self, what, deadline):
        """The next line that is not an IRQ notification."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl].decode(errors="replace"), self.buf[nl + 1:]
                if line.startswith("IRQ"):
                    continue
                return line
            left = deadline - now()
            if left <= 0:
                self._fail(f"'{what}': no answer from QEMU within {self.op_timeout:.1f} s "
                           "(QEMU busy or blocked on its vhost-user peer)")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                chunk = self.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                self._fail(f"'{what}': {e.strerror}")
            if not chunk:
                self._fail(f"'{what}': QEMU closed the qtest connection")
            self.buf += chunk

    def cmd(self, line, timeout=None):
        """Run one command; returns the words after OK."""
        if self.broken:
            raise QtestError(self.broken)
        deadline = now() + (timeout if timeout is not None else self.op_timeout)
        self._send(line, deadline)
        answer = self._line(line, deadline)
        words = answer.split()
        if not words or words[0] != "OK":
            self._fail(f"'{line}': QEMU answered '{answer}'")
        return words[1:]

    def closed(self):
        """Non-blocking: whether QEMU has closed the connection."""
        r, _, _ = select.select([self.sock], [], [], 0)
        if not r:
            return False
        try:
            chunk = self.sock.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if not chunk:
            return True
        self.buf += chunk
        return False

    # ---- typed accessors ----

    def _value(self, line):
        words = self.cmd(line)
        if not words:
            self._fail(f"'{line}': no value in the answer")
        return int(words[0], 16)

    def out(self, size, port, value):
        self.cmd(f"out{'bwl'[size // 2]} 0x{port:x} 0x{value:x}")

    def inp(self, size, port):
        return self._value(f"in{'bwl'[size // 2]} 0x{port:x}")

    def write(self, size, addr, value):
        self.cmd(f"write{_SUFFIX[size]} 0x{addr:x} 0x{value:x}")

    def read(self, size, addr):
        return self._value(f"read{_SUFFIX[size]} 0x{addr:x}")

    def memset(self, addr, size, byte=0):
        self.cmd(f"memset 0x{addr:x} 0x{size:x} 0x{byte:02x}")


_SUFFIX = {1: "b", 2: "w", 4: "l", 8: "q"}


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s.bind(path)
    s.listen(1)
    return s
