"""A virtio-pci modern driver, just enough to bring a device to DRIVER_OK:
find the vendor capabilities, reset, ACKNOWLEDGE, DRIVER, features,
FEATURES_OK, queue set-up, DRIVER_OK (virtio 1.2, 4.1.4 and 3.1.1).

No interrupts, no kicks: the queues exist so that a vhost-user front-end
starts its back-end; nothing is ever put on them."""

import dataclasses

from vhuqtest import pci

VENDOR = 0x1AF4
CAP_VNDR = 0x09
CFG_COMMON, CFG_NOTIFY, CFG_ISR, CFG_DEVICE, CFG_PCI, CFG_SHM = 1, 2, 3, 4, 5, 8

ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, NEEDS_RESET, FAILED = 1, 2, 4, 8, 0x40, 0x80
F_VERSION_1 = 1 << 32
NO_VECTOR = 0xFFFF

# common configuration structure offsets
DFSELECT, DF, GFSELECT, GF = 0, 4, 8, 12
MSIX_CONFIG, NUM_QUEUES, STATUS, GENERATION = 16, 18, 20, 21
Q_SELECT, Q_SIZE, Q_MSIX, Q_ENABLE, Q_NOTIFY_OFF = 22, 24, 26, 28, 30
Q_DESC, Q_DRIVER, Q_DEVICE = 32, 40, 48

MAX_QUEUES = 64
QUEUE_STRIDE = 0x10000     # guest memory per queue: desc + avail + used


class VirtioError(Exception):
    pass


@dataclasses.dataclass
class Shm:
    shmid: int
    bar: int
    offset: int
    length: int


def device_type(device_id):
    """Virtio device type from the PCI device id (modern or transitional)."""
    if 0x1040 <= device_id <= 0x107F:
        return device_id - 0x1040
    if 0x1000 <= device_id <= 0x103F:
        return None                 # transitional: the type is the subsystem id
    return None


class Device:
    def __init__(self, cfg, bars):
        self.cfg, self.qt, self.bars = cfg, cfg.qt, bars
        self.common = None          # guest-physical address of the common cfg
        self.shm = []
        self.notify = None
        self.negotiated = 0
        self.offered = 0
        self.num_queues = 0
        self._parse_caps()

    def _cap_addr(self, off, what):
        bar, offset = self.cfg.read(1, off + 4), self.cfg.read(4, off + 8)
        b = self.bars.get(bar)
        if b is None or b.address is None or b.io:
            raise VirtioError(f"{what} capability in BAR {bar}, which is not a mapped "
                              "memory BAR")
        return b.address + offset

    def _parse_caps(self):
        for off, cap_id in self.cfg.capabilities():
            if cap_id != CAP_VNDR:
                continue
            cfg_type = self.cfg.read(1, off + 3)
            if cfg_type == CFG_COMMON and self.common is None:
                self.common = self._cap_addr(off, "common configuration")
            elif cfg_type == CFG_NOTIFY and self.notify is None:
                self.notify = self._cap_addr(off, "notification")
            elif cfg_type == CFG_SHM:
                self.shm.append(self._shm_cap(off))
        if self.common is None:
            raise VirtioError(f"{self.cfg.name}: no common configuration capability "
                              "(not a virtio 1.0 modern device?)")

    def _shm_cap(self, off):
        rd = self.cfg.read
        return Shm(shmid=rd(1, off + 5), bar=rd(1, off + 4),
                   offset=rd(4, off + 8) | rd(4, off + 16) << 32,
                   length=rd(4, off + 12) | rd(4, off + 20) << 32)

    # ---- common cfg access ----

    def _r(self, size, off):
        return self.qt.read(size, self.common + off)

    def _w(self, size, off, value):
        self.qt.write(size, self.common + off, value)

    def status(self):
        return self._r(1, STATUS)

    def _set_status(self, bits):
        self._w(1, STATUS, self.status() | bits)

    def reset(self):
        """Writes 0 and waits for the device to read back 0 (bounded)."""
        self._w(1, STATUS, 0)
        for _ in range(1000):
            if self.status() == 0:
                return
        raise VirtioError("the device did not complete reset (status never read 0)")

    def _features(self, wanted):
        offered = 0
        for sel in (0, 1):
            self._w(4, DFSELECT, sel)
            offered |= self._r(4, DF) << (32 * sel)
        self.offered = offered
        if not offered & F_VERSION_1:
            raise VirtioError(f"the device does not offer VERSION_1 (features 0x{offered:x})")
        accept = offered & (wanted | F_VERSION_1)
        for sel in (0, 1):
            self._w(4, GFSELECT, sel)
            self._w(4, GF, (accept >> (32 * sel)) & 0xFFFFFFFF)
        self.negotiated = accept

    def _queue(self, index, base):
        self._w(2, Q_SELECT, index)
        size = self._r(2, Q_SIZE)
        if size == 0:
            return False
        desc, avail = base, base + 16 * size
        used = (avail + 6 + 2 * size + 4095) & ~4095
        if used + 6 + 8 * size > base + QUEUE_STRIDE:
            raise VirtioError(f"queue {index}: size {size} does not fit {QUEUE_STRIDE:#x} bytes")
        self.qt.memset(base, QUEUE_STRIDE)
        self._w(2, Q_MSIX, NO_VECTOR)
        for off, addr in ((Q_DESC, desc), (Q_DRIVER, avail), (Q_DEVICE, used)):
            self._w(4, off, addr & 0xFFFFFFFF)
            self._w(4, off + 4, addr >> 32)
        self._w(2, Q_ENABLE, 1)
        return True

    def initialise(self, wanted_features, ring_base):
        """Reset to DRIVER_OK; returns the number of queues enabled."""
        self.reset()
        self._set_status(ACKNOWLEDGE)
        self._set_status(DRIVER)
        self._features(wanted_features)
        self._set_status(FEATURES_OK)
        if not self.status() & FEATURES_OK:
            raise VirtioError(f"the device refused features 0x{self.negotiated:x} "
                              "(FEATURES_OK did not stick)")
        self._w(2, MSIX_CONFIG, NO_VECTOR)
        self.num_queues = min(self._r(2, NUM_QUEUES), MAX_QUEUES)
        enabled = sum(self._queue(i, ring_base + i * QUEUE_STRIDE)
                      for i in range(self.num_queues))
        self._set_status(DRIVER_OK)
        st = self.status()
        if st & (NEEDS_RESET | FAILED) or not st & DRIVER_OK:
            raise VirtioError(f"status 0x{st:02x} after DRIVER_OK")
        return enabled


def shm_bars(cfg):
    """Indices of the BARs that hold shared memory regions."""
    return {cfg.read(1, off + 4) for off, cap_id in cfg.capabilities()
            if cap_id == CAP_VNDR and cfg.read(1, off + 3) == CFG_SHM}


def find(qt, device_id=None, slot=None):
    """The virtio function to drive: by PCI slot, by device id, or the
    first virtio function on bus 0."""
    candidates = []
    for c in pci.functions(qt):
        if slot is not None and c.slot != slot:
            continue
        vendor, dev = c.read(2, pci.VENDOR_ID), c.read(2, pci.DEVICE_ID)
        if vendor != VENDOR or not 0x1000 <= dev <= 0x107F:
            continue
        if device_id is not None and dev != device_id:
            continue
        candidates.append((c, dev))
    if not candidates:
        what = [f"slot {slot:#x}" if slot is not None else "",
                f"device id {device_id:#06x}" if device_id is not None else ""]
        raise VirtioError("no virtio PCI function on bus 0 " + " ".join(w for w in what if w))
    return candidates[0]
