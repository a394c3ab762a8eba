"""vhu-qtest: run QEMU as a vhost-user front-end under the qtest
accelerator and play the guest driver that starts its device.

    vhu-qtest [options] -- QEMU [QEMU-ARGS...]

The process execs QEMU (so the pid the harness launched IS QEMU, and the
/proc oracles look at the right process); a forked child plays the guest
through QEMU's qtest protocol: it sizes and assigns the BARs of the
virtio function, enables it, and runs the virtio 1.x initialisation up
to DRIVER_OK, which makes QEMU start its vhost-user back-end (SET_MEM_TABLE,
vrings, SET_STATUS). With --control-fd it waits for `start` on vhucheck's
control channel; without, it starts the device at once.

Appended to QEMU's arguments: -qtest unix:SOCK -accel qtest and, for
stop/cont, -qmp unix:SOCK,server=on,wait=off. Exit: 0 when QEMU or the
controller goes away, 1 when the device cannot be started without a
control channel, 2 on a usage error.
"""

import argparse
import ctypes
import os
import select
import shutil
import signal
import sys
import tempfile
import time

from vhuqtest import control, pci, qmp as qmpmod, qtest as qtestmod, virtio

PR_SET_PDEATHSIG = 1


def log(msg):
    print(f"vhu-qtest[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def int0(text):
    return int(text, 0)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="vhu-qtest", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--control-fd", type=int, help="vhucheck control channel (inherited fd)")
    p.add_argument("--start", choices=("auto", "control", "never"),
                   help="when to bring the device to DRIVER_OK (default: 'control' with "
                        "--control-fd, else 'auto')")
    p.add_argument("--device-id", type=int0, help="PCI device id of the function to drive "
                   "(default: the first virtio function)")
    p.add_argument("--slot", type=int0, help="PCI slot of the function to drive")
    p.add_argument("--features", type=int0, default=0,
                   help="virtio feature bits to accept besides VERSION_1 (default none)")
    p.add_argument("--ring-base", type=int0, default=0x200000,
                   help="guest-physical address of the first queue (default 0x200000)")
    p.add_argument("--op-timeout", type=float, default=5.0,
                   help="seconds to wait for one qtest/QMP answer (default 5)")
    p.add_argument("--connect-timeout", type=float, default=20.0,
                   help="seconds for QEMU to start and connect (default 20)")
    p.add_argument("--no-qmp", action="store_true", help="no QMP socket (no stop/cont)")
    p.add_argument("--shm-bar", choices=("map", "unmapped"),
                   default=os.environ.get("VHU_QTEST_SHM_BAR", "map"),
                   help="'map' (default, as a guest kernel does): the BAR of the shared "
                        "memory regions gets an address, so mappings enter the guest's "
                        "memory map (and QEMU's vhost memory listener sees them); "
                        "'unmapped': that BAR stays at 0. Default from $VHU_QTEST_SHM_BAR")
    p.add_argument("--qemu-env", metavar="VAR",
                   help="take the QEMU binary from this environment variable (it must "
                        "be set); it replaces the first word after --")
    p.add_argument("--accel", default="qtest",
                   help="QEMU accelerator (default qtest; 'tcg' for builds without the "
                        "qtest accelerator, e.g. Debian's: the vCPU then runs a one-"
                        "instruction firmware that halts it, so no guest code runs)")
    p.add_argument("qemu", nargs=argparse.REMAINDER, help="-- QEMU and its arguments")
    a = p.parse_args(argv)
    if a.qemu and a.qemu[0] == "--":
        a.qemu = a.qemu[1:]
    if not a.qemu:
        p.error("no QEMU command after --")
    if a.qemu_env:
        binary = os.environ.get(a.qemu_env, "")
        if not binary:
            p.error(f"--qemu-env {a.qemu_env}: set {a.qemu_env} to the QEMU binary to test")
        a.qemu[0] = binary
    if a.start is None:
        a.start = "control" if a.control_fd is not None else "auto"
    if a.start == "control" and a.control_fd is None:
        p.error("--start=control needs --control-fd")
    return a


class Driver:
    """The guest side: one virtio device, its lifecycle, the control channel."""

    def __init__(self, opts, qt, qmp):
        self.opts, self.qt, self.qmp = opts, qt, qmp
        self.dev = None
        self.paused = False
        self.started = False
        self.error = ""

    def probe(self):
        cfg, dev_id = virtio.find(self.qt, self.opts.device_id, self.opts.slot)
        leave = virtio.shm_bars(cfg) if self.opts.shm_bar == "unmapped" else ()
        bars = pci.assign_bars(cfg, pci.size_bars(cfg), pci.Windows(), leave)
        self.dev = virtio.Device(cfg, bars)
        where = ", ".join(f"BAR{b.index} {b.size:#x}@{b.address:#x}" if b.address is not None
                          else f"BAR{b.index} {b.size:#x} unassigned" for b in bars.values())
        shm = ", ".join(f"shmid {s.shmid}: BAR{s.bar}+{s.offset:#x} len {s.length:#x}"
                        for s in self.dev.shm) or "none"
        log(f"{cfg.name} {virtio.VENDOR:04x}:{dev_id:04x} (virtio type "
            f"{virtio.device_type(dev_id)}): {where}; shared memory regions: {shm}")

    def start(self):
        if self.paused:
            self._qmp("cont")
            self.paused = False
        if self.dev.status() & virtio.DRIVER_OK:
            self.started = True
            return
        n = self.dev.initialise(self.opts.features, self.opts.ring_base)
        self.started = True
        log(f"DRIVER_OK: features {self.dev.negotiated:#x} of {self.dev.offered:#x}, "
            f"{n} queue(s)")

    def stop(self):
        self._qmp("stop")
        self.paused = True

    def reset(self):
        self.dev.reset()
        self.started = False
        log("device reset (status 0)")

    def _qmp(self, command):
        if self.qmp is None:
            raise virtio.VirtioError(f"'{command}' needs QMP (started with --no-qmp)")
        self.qmp.execute(command)
        log(f"QMP {command}")

    def dump(self):
        state = {"started": self.started and not self.paused, "paused": self.paused,
                 "device": self.dev.cfg.name if self.dev else None,
                 "negotiated": f"{self.dev.negotiated:#x}" if self.dev else "0x0",
                 "shm": [vars(s) for s in self.dev.shm] if self.dev else [],
                 "mappings": [], "error": self.error}
        try:
            state["status"] = f"{self.dev.status():#x}"
        except (qtestmod.QtestError, AttributeError) as e:
            state["status"] = None
            state["error"] = state["error"] or str(e)
        return control.dump_json(state)

    def act(self, name):
        """Runs a lifecycle command after its answer went out."""
        try:
            {"start": self.start, "stop": self.stop, "reset": self.reset}[name]()
        except (virtio.VirtioError, qtestmod.QtestError, qmpmod.QmpError) as e:
            self.error = f"{name}: {e}"
            log(self.error)

    def cannot(self, name):
        """Why a front-end command cannot be carried out here, or None."""
        if name == "reconnect":
            return ("QEMU offers no way to drop and re-open a vhost-user "
                    "connection on request")
        if name == "stop" and self.qmp is None:
            return "stop needs QMP (vhu-qtest was started with --no-qmp)"
        return None

    def command(self, fd, line):
        """One control line. Returns False to end (quit)."""
        words = line.split()
        if not words:
            return True
        name = words[0]
        why = self.cannot(name)
        if why:
            control.unsupported(fd, why)
        elif name in ("start", "stop", "reset"):
            control.answer(fd, True)
            self.act(name)
        elif name == "version":
            control.answer_version(fd, words[1:])
        elif name == "dump":
            control.answer(fd, True, self.dump())
        elif name == "quit":
            control.answer(fd, True)
            os.kill(os.getppid(), signal.SIGTERM)      # QEMU: we are its guest
            return False
        else:
            control.answer(fd, False, f"unknown command '{name}' (a front-end takes: "
                                      f"{', '.join(control.FRONTEND_COMMANDS)})")
        return True

    def serve(self, fd):
        """The control loop; ends when QEMU or the controller goes away."""
        reader = control.LineReader(fd)
        os.set_blocking(fd, False)
        while True:
            r, _, _ = select.select([fd, self.qt], [], [], 1.0)
            if self.qt in r and self.qt.closed():
                log("QEMU closed the qtest connection")
                return 0
            if fd not in r:
                continue
            reader.fill()
            for line in reader.lines():
                if not self.command(fd, line):
                    return 0
            if reader.eof:
                return 0

    def idle(self):
        """No control channel: wait until QEMU ends."""
        while not self.qt.closed():
            select.select([self.qt], [], [], 1.0)
        return 0


def set_pdeathsig(parent):
    """Die with QEMU (our parent after its exec)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(0)


def drive(opts, listener, qmp_path, tmp):
    qt = qtestmod.Qtest.accept(listener, opts.connect_timeout, opts.op_timeout)
    listener.close()
    # The first answer comes once QEMU's machine is up (devices realized,
    # main loop running): its vhost-user handshake is behind us then.
    qt.cmd("endianness", timeout=opts.connect_timeout)
    qmp = None if opts.no_qmp else qmpmod.Qmp(qmp_path, opts.op_timeout)
    shutil.rmtree(tmp, ignore_errors=True)
    d = Driver(opts, qt, qmp)
    d.probe()
    if opts.start == "auto":
        d.start()
    if opts.control_fd is not None:
        return d.serve(opts.control_fd)
    return d.idle()


def child(opts, listener, qmp_path, tmp, parent):
    set_pdeathsig(parent)
    try:
        rc = drive(opts, listener, qmp_path, tmp)
    except (virtio.VirtioError, qtestmod.QtestError, qmpmod.QmpError, OSError) as e:
        log(str(e))
        rc = 1
        if opts.control_fd is not None:
            # Stay reachable so the harness reads the reason, not silence.
            rc = _serve_error(opts.control_fd, str(e))
    shutil.rmtree(tmp, ignore_errors=True)
    os._exit(rc)


def _serve_error(fd, why):
    """The device could not be driven: answer every command with the reason."""
    reader = control.LineReader(fd)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not reader.eof:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            continue
        reader.fill()
        for line in reader.lines():
            if line:
                control.answer(fd, False, f"vhu-qtest: {why}")
    return 1


def halt_firmware(tmp):
    """A 64 KiB BIOS image whose reset vector is `cli; hlt; jmp .-1`: with
    a real accelerator the vCPU stops at once, and no firmware touches the
    PCI devices the driver owns."""
    image = bytearray(0x10000)
    image[0xFFF0:0xFFF4] = b"\xfa\xf4\xeb\xfd"
    path = os.path.join(tmp, "halt.bin")
    with open(path, "wb") as f:
        f.write(image)
    return path


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    tmp = tempfile.mkdtemp(prefix="vhu-qtest-")
    qtest_path, qmp_path = os.path.join(tmp, "qtest.sock"), os.path.join(tmp, "qmp.sock")
    listener = qtestmod.listen(qtest_path)
    qemu = opts.qemu + ["-qtest", f"unix:{qtest_path}", "-qtest-log", "/dev/null",
                        "-accel", opts.accel]
    if opts.accel != "qtest":
        qemu += ["-bios", halt_firmware(tmp)]
    if not opts.no_qmp:
        qemu += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:
        child(opts, listener, qmp_path, tmp, parent)
    listener.close()
    if opts.control_fd is not None:
        os.close(opts.control_fd)
    try:
        os.execvp(qemu[0], qemu)
    except OSError as e:
        log(f"{qemu[0]}: {e.strerror}")
        return 127
