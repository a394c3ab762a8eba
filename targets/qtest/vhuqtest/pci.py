"""PCI configuration space through the PC's 0xcf8/0xcfc ports, BAR sizing
and assignment, capability lists: what a guest's firmware and kernel do
before a driver touches the device."""

import dataclasses

CONFIG_ADDR, CONFIG_DATA = 0xCF8, 0xCFC
VENDOR_ID, DEVICE_ID, COMMAND, STATUS = 0x00, 0x02, 0x04, 0x06
HEADER_TYPE, BAR0, CAP_PTR = 0x0E, 0x10, 0x34
STATUS_CAP_LIST = 0x10
CMD_IO, CMD_MEMORY, CMD_MASTER = 0x1, 0x2, 0x4
BAR_IO, BAR_MEM64 = 0x1, 0x4


@dataclasses.dataclass
class Bar:
    index: int
    size: int
    io: bool
    is64: bool
    address: int = None        # None: not assigned (did not fit)


class Windows:
    """Where BARs go: a 32-bit MMIO window (the pc machine's PCI hole,
    below the IOAPIC), a 64-bit window for what does not fit below 4 GiB,
    and an I/O port window."""

    def __init__(self, mmio32=(0xE0000000, 0xFEC00000),
                 mmio64=(0x100000000, 0x100000000 + (1 << 40)), io=(0xC000, 0x10000)):
        self.next = {"mmio32": mmio32[0], "mmio64": mmio64[0], "io": io[0]}
        self.end = {"mmio32": mmio32[1], "mmio64": mmio64[1], "io": io[1]}

    def take(self, kind, size):
        base = (self.next[kind] + size - 1) & ~(size - 1)
        if base + size > self.end[kind]:
            return None
        self.next[kind] = base + size
        return base


class Config:
    """Config space of one function (bus 0)."""

    def __init__(self, qt, slot, func=0):
        self.qt, self.slot, self.func = qt, slot, func

    @property
    def name(self):
        return f"00:{self.slot:02x}.{self.func}"

    def _select(self, off):
        self.qt.out(4, CONFIG_ADDR,
                    0x80000000 | (self.slot << 11) | (self.func << 8) | (off & 0xFC))

    def read(self, size, off):
        self._select(off)
        return self.qt.inp(size, CONFIG_DATA + (off & 3))

    def write(self, size, off, value):
        self._select(off)
        self.qt.out(size, CONFIG_DATA + (off & 3), value)

    def capabilities(self):
        """[(offset, cap id)] along the capability list (loops cut)."""
        if not self.read(2, STATUS) & STATUS_CAP_LIST:
            return []
        caps, off, seen = [], self.read(1, CAP_PTR) & 0xFC, set()
        while off and off not in seen and len(caps) < 48:
            seen.add(off)
            caps.append((off, self.read(1, off)))
            off = self.read(1, off + 1) & 0xFC
        return caps


def functions(qt):
    """Every present function on bus 0: [Config]."""
    found = []
    for slot in range(32):
        for func in range(8):
            c = Config(qt, slot, func)
            if c.read(2, VENDOR_ID) == 0xFFFF:
                if func == 0:
                    break
                continue
            found.append(c)
            if func == 0 and not c.read(1, HEADER_TYPE) & 0x80:
                break
    return found


def size_bars(cfg):
    """Sizes the six BARs the standard way (write all ones, read back)."""
    bars, i = [], 0
    while i < 6:
        off = BAR0 + 4 * i
        orig = cfg.read(4, off)
        cfg.write(4, off, 0xFFFFFFFF)
        low = cfg.read(4, off)
        cfg.write(4, off, orig)
        if low == 0:
            i += 1
            continue
        if low & BAR_IO:
            bars.append(Bar(i, (~(low & ~0x3) & 0xFFFF) + 1, True, False))
            i += 1
            continue
        is64 = (low & 0x6) == BAR_MEM64
        mask = low & ~0xF
        if is64:
            orig_hi = cfg.read(4, off + 4)
            cfg.write(4, off + 4, 0xFFFFFFFF)
            mask |= cfg.read(4, off + 4) << 32
            cfg.write(4, off + 4, orig_hi)
        width = 64 if is64 else 32
        bars.append(Bar(i, ((~mask) & ((1 << width) - 1)) + 1, False, is64))
        i += 2 if is64 else 1
    return bars


def assign_bars(cfg, bars, windows, leave=()):
    """Places each BAR (largest first, so alignment wastes little), then
    enables I/O, memory decoding and bus mastering. BARs in `leave` stay at
    address 0, which QEMU treats as not mapped."""
    for bar in sorted(bars, key=lambda b: -b.size):
        if bar.index in leave:
            continue
        kind = "io" if bar.io else "mmio32"
        bar.address = windows.take(kind, bar.size)
        if bar.address is None and bar.is64:
            bar.address = windows.take("mmio64", bar.size)
        if bar.address is None:
            continue
        off = BAR0 + 4 * bar.index
        cfg.write(4, off, bar.address & 0xFFFFFFFF)
        if bar.is64:
            cfg.write(4, off + 4, bar.address >> 32)
    cmd = cfg.read(2, COMMAND) | CMD_MEMORY | CMD_MASTER
    if any(b.io for b in bars):
        cmd |= CMD_IO
    cfg.write(2, COMMAND, cmd)
    return {b.index: b for b in bars}
