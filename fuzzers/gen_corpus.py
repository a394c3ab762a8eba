#!/usr/bin/env python3
"""gen_corpus: the seed corpora of the fuzz targets, from the suite's .vhu
cases plus hand-made seeds.

    fuzzers/gen_corpus.py [--suites DIR] [--out DIR] [--check]

Writes corpus/<fuzzer>/<sha1-16> for every fuzzer (the directories are
owned by this script: stale files are removed). With --check nothing is
written; the exit status says whether the tree is up to date (1) or not.

Each fuzz target's input format is documented at the top of its C file;
this script encodes the same formats:

  fuzz_shmem_map        every `send map|unmap|NAME|raw` a back-end case
                        sends on the back-end channel, as one message;
                        plus aimed ranges (padding bytes 1, 2)
  fuzz_shmem_sequence   every back-end case as a list of 32-byte steps
  fuzz_backend_replies  every front-end case's `control map|unmap`,
                        `reply`, `close backend`, GET_SHMEM_CONFIG, reset
  fuzz_proto            the wire bytes of all those messages, fed to the
                        header, codec, validator, format and name checks
  fuzz_script           every case file (id rewritten to fuzz_case)

The cases are read through the harness, which owns the .vhu language:
`vhucheck-harness --list-json` for each case's header (its target's
role), `--outline` for the words of its steps. The harness is
$VHUCHECK_HARNESS, else $VHUCHECK_BUILD_DIR/harness/vhucheck-harness,
else build/harness/vhucheck-harness (`./vhucheck list` builds it).

Python stdlib only.
"""

import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 4096
FUZZERS = ("fuzz_proto", "fuzz_script", "fuzz_shmem_map",
           "fuzz_shmem_sequence", "fuzz_backend_replies")

# fuzzers/fuzzpool.h, enum fuzzpool_choice
FD_NONE, FD_4K, FD_64K, FD_1M, FD_SEALED, FD_EMPTY, FD_RDONLY, FD_PIPE, \
    FD_SOCKET, FD_CLOSED, FD_TWO = range(11)

# Back-end channel request ids (digest 3).
BE_REQ = {"IOTLB_MSG": 1, "CONFIG_CHANGE_MSG": 2, "VRING_HOST_NOTIFIER_MSG": 3,
          "VRING_CALL": 4, "VRING_ERR": 5, "SHARED_OBJECT_ADD": 6,
          "SHARED_OBJECT_REMOVE": 7, "SHARED_OBJECT_LOOKUP": 8,
          "SHMEM_MAP": 9, "SHMEM_UNMAP": 10}
FE_REQ = {"GET_FEATURES": 1, "SET_FEATURES": 2, "SET_OWNER": 3,
          "RESET_OWNER": 4, "SET_MEM_TABLE": 5, "SET_VRING_NUM": 8,
          "SET_VRING_ADDR": 9, "SET_VRING_BASE": 10, "GET_VRING_BASE": 11,
          "SET_VRING_KICK": 12, "SET_VRING_CALL": 13, "SET_VRING_ERR": 14,
          "GET_PROTOCOL_FEATURES": 15, "SET_PROTOCOL_FEATURES": 16,
          "GET_QUEUE_NUM": 17, "SET_VRING_ENABLE": 18,
          "SET_BACKEND_REQ_FD": 21, "GET_CONFIG": 24, "SET_CONFIG": 25,
          "RESET_DEVICE": 34, "GET_MAX_MEM_SLOTS": 36, "ADD_MEM_REG": 37,
          "REM_MEM_REG": 38, "SET_STATUS": 39, "GET_STATUS": 40,
          "GET_SHMEM_CONFIG": 44}
DEFAULT_REGIONS = [1 << 20, 1 << 16, 0, 2 << 20]   # ferig.c / berig.c


# ---------------------------------------------------------------- parsing

def num(text):
    """A .vhu number: decimal or 0x hex, optional binary k/m/g suffix."""
    m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|[0-9]+)([kKmMgG]?)", text)
    if not m:
        raise ValueError(text)
    shift = {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]
    return (int(m.group(1), 0) << shift) & 0xFFFFFFFFFFFFFFFF


class Step:
    def __init__(self, words):
        self.words = words
        self.kw = {}
        self.flags = set()
        for w in words[1:]:
            if "=" in w:
                k, v = w.split("=", 1)
                self.kw[k] = v
            else:
                self.flags.add(w)

    def get(self, key, default=None):
        v = self.kw.get(key)
        if v is None:
            return default
        try:
            return num(v)
        except ValueError:
            return v


def harness_path():
    env = os.environ.get("VHUCHECK_HARNESS")
    if env:
        return env
    build = os.environ.get("VHUCHECK_BUILD_DIR") or os.path.join(TOP, "build")
    return os.path.join(build, "harness", "vhucheck-harness")


def fail(msg):
    """One line and exit 2 (1 is --check's "stale")."""
    print(f"gen_corpus: {msg}", file=sys.stderr)
    sys.exit(2)


def ask_harness(harness, option, files):
    """One JSON object per case file, from `vhucheck-harness OPTION`."""
    if not os.access(harness, os.X_OK):
        fail(f"{harness}: no harness to read the cases with "
             "(build it: ./vhucheck list, or set VHUCHECK_HARNESS)")
    p = subprocess.run([harness, option, *files], capture_output=True, text=True,
                       timeout=600)
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
    if p.returncode != 0 or len(lines) != len(files):
        first = (p.stderr.strip().splitlines() or ["(no message)"])[0]
        fail(f"{harness} {option}: exit {p.returncode}: {first[:300]}")
    return lines


def read_cases(files, harness):
    """(role the harness plays, steps) of each case, as the harness parses
    it, with repeat blocks unrolled (bounded)."""
    cases = []
    heads = ask_harness(harness, "--list-json", files)
    for head, outline in zip(heads, ask_harness(harness, "--outline", files)):
        role = "backend" if head["role"] == "frontend" else "frontend"
        steps, _ = unroll([[w["w"] for w in st["words"]] for st in outline["steps"]], 0, 0)
        cases.append((role, [Step(w) for w in steps]))
    return cases


def unroll(lines, i, depth, limit=128):
    out = []
    while i < len(lines):
        w = lines[i]
        if w[0] == "end":
            return out, i + 1
        if w[0] == "repeat" and len(w) > 1:
            body, i = unroll(lines, i + 1, depth + 1)
            for _ in range(min(num(w[1]), 8)):
                out.extend(body)
                if len(out) > limit:
                    break
            continue
        out.append(w)
        i += 1
    return out, i


def fd_choice(fds, names):
    """The fd menu choice for `fd=a[,b]` of a case."""
    if not names:
        return FD_NONE
    names = names.split(",")
    if len(names) > 1:
        return FD_TWO
    kind, size = fds.get(names[0], ("memfd", 1 << 16))
    if kind == "memfd":
        if size == 0:
            return FD_EMPTY
        return FD_4K if size <= 4096 else FD_64K if size <= 65536 else FD_1M
    return {"memfd-sealed": FD_SEALED, "memfd-empty": FD_EMPTY,
            "rdonly-file": FD_RDONLY, "pipe": FD_PIPE, "socket": FD_SOCKET,
            "closed": FD_CLOSED}.get(kind, FD_64K)


def mmap_payload(st, is_map):
    pad = bytes.fromhex(st.kw.get("padding", "00" * 7))[:7].ljust(7, b"\0")
    flags = st.kw.get("flags", "rw" if is_map else "0")
    flags = {"rw": 1, "ro": 0}.get(flags, None)
    if flags is None:
        flags = st.get("flags", 0)
    return struct.pack("<B7sQQQQ", st.get("shmid", 0) & 0xFF, pad,
                       st.get("fd_offset", 0), st.get("shm_offset", 0),
                       st.get("len", 0), flags)


def backend_message(st, fds):
    """(fd choice, header+payload bytes) of a `send` step, or None."""
    what = st.words[1] if len(st.words) > 1 else ""
    if st.kw.get("on") == "main":
        return None
    if what == "raw":
        return fd_choice(fds, st.kw.get("fd")), bytes.fromhex(st.words[2])
    if what in ("map", "unmap"):
        req = 9 if what == "map" else 10
        payload = mmap_payload(st, what == "map")
    else:
        req = BE_REQ.get(what.upper().replace("VHOST_USER_BACKEND_", ""))
        if req is None:
            try:
                req = num(what)
            except ValueError:
                return None
        payload = b""
        if "u64" in st.kw:
            payload = struct.pack("<Q", st.get("u64"))
    if "payload" in st.kw:
        payload = bytes.fromhex(st.kw["payload"])
    req = st.get("request", req)
    flags = st.get("hdr_flags", 1 | (8 if "need_reply" in st.flags else 0))
    size = st.get("size", len(payload))
    if "truncate" in st.kw:
        payload = payload[:st.get("truncate")]
    hdr = struct.pack("<III", req & 0xFFFFFFFF, flags & 0xFFFFFFFF,
                      size & 0xFFFFFFFF)
    return fd_choice(fds, st.kw.get("fd")), hdr + payload


# ------------------------------------------------------------ per fuzzer

def seeds_map(cases):
    """fuzz_shmem_map: fd choice, state, header, payload."""
    out = []
    for role, steps in cases:
        if role != "backend":
            continue
        fds, state, mapped, raw, raw_fd = {}, 0, False, b"", FD_NONE
        for st in steps + [Step(["done"])]:
            op = st.words[0]
            if op == "send" and len(st.words) > 2 and st.words[1] == "raw":
                if not raw:
                    raw_fd = fd_choice(fds, st.kw.get("fd"))
                raw += bytes.fromhex(st.words[2])
                continue
            if op == "sleep":
                continue
            if raw:
                out.append(bytes([raw_fd, state]) + raw)
                raw = b""
            if op == "fd":
                fds[st.words[1]] = (st.words[2], st.get("size", 1 << 16))
            elif op == "handshake":
                state = ((0x01 if st.kw.get("start") == "no" else 0) |
                         (0x04 if st.kw.get("reply-ack") == "off" else 0) |
                         (0x08 if st.kw.get("shmem") == "off" else 0))
            elif op == "send":
                msg = backend_message(st, fds)
                if msg:
                    out.append(bytes([msg[0], state | (0x02 if mapped else 0)])
                               + msg[1])
                    mapped = mapped or st.words[1] == "map"
    return raw_padding(out) + hand_map()


def hand_map():
    """Hand-made: every fd kind, the pre-mapping's edges, lies."""
    def msg(fd, state, req, flags, size, payload):
        return bytes([fd, state]) + struct.pack("<III", req, flags, size) + payload

    def mm(shmid=0, fdo=0, off=0, ln=PAGE, fl=1):
        return struct.pack("<B7sQQQQ", shmid, b"\0" * 7, fdo, off, ln, fl)
    out = [msg(fd, 0, 9, 9, 40, mm(fl=fl)) for fd in range(11) for fl in (0, 1)]
    # the pre-mapping lives at 0x10000+0x10000 of shmid 0
    for off, ln in ((0x10000, 0x10000), (0x8000, 0x8000), (0x20000, PAGE),
                    (0xf000, 0x2000), (0x1f000, 0x2000), (0x11000, PAGE)):
        out.append(msg(FD_64K, 0x02, 9, 9, 40, mm(off=off, ln=ln)))
        out.append(msg(FD_NONE, 0x02, 10, 9, 40, mm(off=off, ln=ln, fl=0)))
    out += [msg(FD_64K, 0, 9, 9, 40, mm(shmid=s, off=o, ln=n))
            for s, o, n in ((1, 0xf000, PAGE), (1, 0x10000, PAGE), (2, 0, PAGE),
                            (3, 0x1ff000, PAGE), (0, (1 << 64) - PAGE, 0x2000),
                            (0, 0, 0), (0, 0x100000, PAGE), (7, 0, PAGE))]
    out += [msg(FD_64K, st, 9, 9, 40, mm()) for st in (1, 4, 8, 0x0f)]
    out += [msg(FD_64K, 0, 9, 9, n, mm()[:n]) for n in (0, 8, 30, 39)]
    out += [msg(FD_64K, 0, 9, 9, 41, mm() + b"\1"), msg(FD_64K, 0, 9, 9, 4097, mm()),
            msg(FD_64K, 0, 9, 9, 60, mm()), msg(FD_64K, 0, 9, 0xd, 40, mm()),
            msg(FD_64K, 0, 9, 0x19, 40, mm()), msg(FD_64K, 0, 9, 2, 40, mm()),
            msg(FD_64K, 0, 4, 9, 8, b"\0" * 8), msg(FD_NONE, 0, 99, 9, 0, b"")]
    return raw_padding(out) + aimed_map()


MAP_RAW_PAD = 0x10  # fuzz_shmem_map.c: else padding bytes 1, 2 aim the range


def map_aims(seed):
    """Whether fuzz_shmem_map rewrites this input's range (aim bytes)."""
    if len(seed) < 14 + 32 or seed[1] & MAP_RAW_PAD:
        return False
    return struct.unpack_from("<I", seed, 2)[0] in (9, 10) and (seed[15] or seed[16])


def raw_padding(seeds):
    """Seeds written as wire bytes keep their padding as it is."""
    return [bytes([s[0], s[1] | MAP_RAW_PAD]) + s[2:] if map_aims(s) else s
            for s in seeds]


def aim(anchor, pages=0):
    return anchor | ((pages + 16) << 3)


def aimed_map():
    """Aimed ranges against the pre-mapping (0x10000+0x10000 of shmid 0)
    and the region ends: equal, touching, straddling, inside, wrapping."""
    def msg(fd, state, req, off_aim, len_aim, shmid=0, off=0, ln=0, fl=1):
        payload = struct.pack("<BBB5sQQQQ", shmid, off_aim, len_aim, b"\0" * 5,
                              0, off, ln, fl)
        return bytes([fd, state]) + struct.pack("<III", req, 9, 40) + payload
    out = []
    for oa, la in ((aim(1), aim(7)), (aim(2), aim(5, 1)), (aim(5, 15), aim(2)),
                   (aim(1, -1), aim(5, 2)), (aim(2, -1), aim(5, 2)),
                   (aim(1, 1), aim(5, 1)), (aim(7), aim(1)), (aim(1), aim(1, -1))):
        out.append(msg(FD_64K, 0, 9, oa, la))
        out.append(msg(FD_NONE, 0, 10, oa, la, fl=0))
    out += [msg(FD_64K, 0, 9, aim(3, -1), aim(5, 1), shmid=s) for s in (0, 1, 3)]
    out += [msg(FD_64K, 0, 9, aim(3), aim(5, 1)), msg(FD_64K, 0, 9, aim(4, -1), aim(5, 2)),
            msg(FD_64K, 0, 9, aim(5, 1), aim(4, 1)), msg(FD_64K, 0, 9, aim(6, 1), 0,
                                                          off=PAGE, ln=PAGE)]
    return out


SEQ_MAP, SEQ_UNMAP, SEQ_RESET, SEQ_STOP, SEQ_START, SEQ_CONFIG, SEQ_NEG, \
    SEQ_OTHER = range(8)
B_RW, B_NEED, B_RAW, B_PAD, B_FLAGS, B_HDR, B_SHORT = 1, 2, 4, 8, 16, 32, 64


def seqrec(op, fd=0, shmid=0, bits=0, aux=0, a=0, b=0, c=0):
    return struct.pack("<BBBBIQQQ", op, fd, shmid, bits, aux & 0xFFFFFFFF,
                       a & (2**64 - 1), b & (2**64 - 1), c & (2**64 - 1))


def seq_send(st, fds):
    what = st.words[1] if len(st.words) > 1 else ""
    if what not in ("map", "unmap"):
        msg = backend_message(st, fds)
        if not msg or len(msg[1]) < 4 or st.words[1] == "raw":
            return None
        return seqrec(SEQ_OTHER, msg[0], 0, B_NEED, struct.unpack("<I", msg[1][:4])[0])
    is_map = what == "map"
    flags = st.kw.get("flags", "rw" if is_map else "0")
    fl = {"rw": 1, "ro": 0}.get(flags, None)
    fl = st.get("flags", 0) if fl is None else fl
    bits = B_RAW | (B_RW if fl & 1 else 0) | (B_FLAGS if fl & ~1 else 0)
    bits |= B_NEED if "need_reply" in st.flags else 0
    bits |= B_PAD if int(st.kw.get("padding", "0") or "0", 16) else 0
    bits |= B_HDR if "hdr_flags" in st.kw else 0
    aux = 0
    if "truncate" in st.kw or "size" in st.kw:
        bits |= B_SHORT
        aux = st.get("truncate", st.get("size", 40))
    return seqrec(SEQ_MAP if is_map else SEQ_UNMAP, fd_choice(fds, st.kw.get("fd")),
                  st.get("shmid", 0) & 0xFF, bits, aux, st.get("shm_offset", 0),
                  st.get("len", 0), st.get("fd_offset", 0))


def seq_handshake(st):
    out = []
    regions = st.kw.get("regions")
    if regions:
        sizes = [num(s) for s in regions.split(",")][:3] + [0, 0, 0]
        nreg = st.get("nregions", sum(1 for s in sizes if s))
        out.append(seqrec(SEQ_CONFIG, shmid=2, bits=B_RAW, aux=nreg,
                          a=sizes[0], b=sizes[1], c=sizes[2]))
    neg = (1 if st.kw.get("shmem") == "off" else 0) | \
        (2 if st.kw.get("reply-ack") == "off" else 0)
    if neg:
        out.append(seqrec(SEQ_NEG, aux=neg))
    if st.kw.get("start") == "no":
        out.append(seqrec(SEQ_STOP))
    return out


def seeds_sequence(cases):
    out = []
    for role, steps in cases:
        if role != "backend":
            continue
        fds, recs = {}, []
        for st in steps:
            op = st.words[0]
            if op == "fd":
                fds[st.words[1]] = (st.words[2], st.get("size", 1 << 16))
            elif op == "handshake":
                recs += seq_handshake(st)
            elif op == "send":
                r = seq_send(st, fds)
                if r:
                    recs.append(r)
            elif op == "control" and len(st.words) > 1:
                r = {"reset": SEQ_RESET, "stop": SEQ_STOP,
                     "start": SEQ_START}.get(st.words[1])
                if r is not None:
                    recs.append(seqrec(r))
        if any(r[0] in (SEQ_MAP, SEQ_UNMAP) for r in recs):
            out.append(b"".join(recs[:64]))
    return out + hand_sequence()


def hand_sequence():
    """Touching, straddling, equal, partial UNMAP, reset with mappings."""
    m = lambda a, b, **k: seqrec(SEQ_MAP, FD_64K, k.get("shmid", 0),
                                 k.get("bits", B_RW | B_NEED), 0, a, b, k.get("c", 0))
    u = lambda a, b: seqrec(SEQ_UNMAP, FD_NONE, 0, B_NEED, 0, a, b, 0)
    out = [m(2, 2) + m(4, 2) + m(0, 2) + u(2, 2) + seqrec(SEQ_RESET),
           m(2, 4) + m(3, 1) + m(1, 2) + m(5, 2) + m(2, 4),
           m(2, 2) + u(2, 1) + u(3, 1) + u(2, 3) + u(1, 2) + u(2, 2),
           m(2, 2, bits=B_NEED) + m(6, 2) + seqrec(SEQ_RESET) + m(2, 2),
           seqrec(SEQ_STOP) + m(0, 1) + seqrec(SEQ_START) + m(0, 1),
           seqrec(SEQ_NEG, aux=1) + m(0, 1) + seqrec(SEQ_NEG) + m(0, 1),
           m(2, 2) + seqrec(SEQ_MAP, FD_64K, 0, B_RW | B_NEED | B_SHORT, 30, 8, 1, 0),
           seqrec(SEQ_CONFIG, 0, 3, 0, 3, 256, 16, 512) + m(15, 1, shmid=1),
           seqrec(SEQ_CONFIG, 0, 3, B_RAW, 300, 1 << 20, 1 << 16, 2 << 20) + m(0, 1),
           m(0, 1, bits=B_NEED) + m(0, 1, bits=B_NEED | B_RAW, c=0),
           m(255, 2) + m(2, 0) + seqrec(SEQ_OTHER, 0, 0, B_NEED, 4)]
    return out


BR_MAP, BR_UNMAP, BR_CONFIG, BR_RESET, BR_NEG, BR_RECONNECT, BR_STRAY = range(7)
R_OK, R_ERR, R_NONE, R_WID, R_WFL, R_SHORT, R_LONG, R_TRUNC, R_FDS, R_EOF, \
    R_DOUBLE = range(11)


def brrec(op, reply=R_OK, fd=0, shmid=0, bits=0, value=0, fdp=0, off=0, ln=0):
    return struct.pack("<BBBBBBHII", op, reply, fd, shmid, bits, value & 0xFF,
                       fdp & 0xFFFF, off & 0xFFFFFFFF, ln & 0xFFFFFFFF)


def br_reply(st, fds):
    """The berig_reply of a `reply` step."""
    if "fd" in st.kw:
        return R_FDS, fd_choice(fds, st.kw["fd"]), 0
    if "flags" in st.kw and st.get("flags") != 5:
        return R_WFL, 0, 0
    size = st.get("size", 8)
    if size != 8:
        return (R_SHORT if size < 8 else R_LONG), 0, 0
    value = st.get("value", 0)
    if "payload" in st.kw:
        value = int.from_bytes(bytes.fromhex(st.kw["payload"])[:8], "little")
    return (R_OK, 0, 0) if value == 0 else (R_ERR, 0, value & 0xFF)


def br_control(st, nlive):
    cmd = st.words[1] if len(st.words) > 1 else ""
    if cmd in ("map", "unmap"):
        flags = st.kw.get("flags", "rw")
        need = st.get("need_reply", -1)
        bits = ({"rw": 1}.get(flags, 0) | (2 if need == 1 else 4 if need == 0 else 0))
        off, ln, fdo = st.get("shm_offset", 0), st.get("len", 0), st.get("fd_offset", 0)
        small = off // PAGE < 512 and ln // PAGE < 33 and fdo // PAGE < 16
        bits |= 0 if small else 8
        if cmd == "unmap":
            return [BR_UNMAP, shmid_of(st), bits, nlive - 1 if nlive else 0, 0, 0]
        return [BR_MAP, shmid_of(st), bits, off // PAGE, ln // PAGE, fdo // PAGE]
    return {"reset": [BR_RESET], "reconnect": [BR_RECONNECT]}.get(cmd)


def shmid_of(st):
    return st.get("shmid", 0) & 0xFF


def seeds_backend(cases):
    out = []
    for role, steps in cases:
        if role != "frontend":
            continue
        fds, recs, pending, nlive = {}, [], None, 0

        def flush(reply=R_NONE, fd=0, value=0):
            nonlocal pending, nlive
            if pending:
                op, shmid, bits, off, ln, fdp = pending
                recs.append(brrec(op, reply, fd, shmid, bits, value, fdp, off, ln))
                nlive += 1 if op == BR_MAP else -1 if nlive else 0
                pending = None
        for st in steps:
            op = st.words[0]
            if op == "fd":
                fds[st.words[1]] = (st.words[2], st.get("size", 1 << 16))
            elif op == "reply":
                flush(*br_reply(st, fds))
            elif op == "close" and st.words[1:2] == ["backend"]:
                flush(R_EOF) if pending else recs.append(brrec(BR_RECONNECT))
            elif op == "handshake":
                neg = (1 if st.kw.get("shmem") == "off" else 0) | \
                    (2 if st.kw.get("reply-ack") == "off" else 0)
                if neg:
                    recs.append(brrec(BR_NEG, value=neg))
            elif op == "control":
                r = br_control(st, nlive)
                if r:
                    flush()
                    if len(r) == 1:
                        recs.append(brrec(r[0]))
                    else:
                        pending = r
            elif op == "send" and "GET_SHMEM_CONFIG" in st.words[1:2]:
                flush()
                recs.append(brrec(BR_CONFIG))
            elif op == "send" and st.words[1:2] == ["SET_STATUS"] and st.get("u64", 0) == 0:
                flush()
                recs.append(brrec(BR_RESET))
        flush()
        if recs:
            out.append(b"".join(recs[:64]))
    return out + hand_backend()


def hand_backend():
    """Each reply kind to a MAP and to an UNMAP; config; strays."""
    out = [b"".join(brrec(BR_MAP, k, FD_64K, 0, 0, 3, 0, 4 * k, 2) for k in range(11))]
    out += [brrec(BR_MAP, R_OK, 0, 0, 0, 0, 0, 0, 2) + brrec(BR_UNMAP, k, FD_64K, value=5)
            for k in range(11)]
    out += [brrec(BR_MAP, k, FD_64K, 0, 4, 0, 0, 0, 2) for k in range(11)]
    out += [brrec(BR_CONFIG) + brrec(BR_CONFIG) + brrec(BR_NEG, value=1) + brrec(BR_CONFIG),
            brrec(BR_MAP, ln=2) + brrec(BR_MAP, off=1, ln=2) + brrec(BR_MAP, off=2, ln=2)
            + brrec(BR_RESET) + brrec(BR_MAP, ln=2),
            brrec(BR_MAP, off=250, ln=10) + brrec(BR_MAP, shmid=3, ln=4)
            + brrec(BR_MAP, shmid=1, off=15, ln=2) + brrec(BR_MAP, shmid=2, ln=1),
            brrec(BR_NEG, value=1) + brrec(BR_MAP, ln=1) + brrec(BR_NEG, value=2)
            + brrec(BR_MAP, ln=1) + brrec(BR_MAP, bits=2, off=4, ln=1),
            brrec(BR_STRAY, fd=FD_64K, value=1) + brrec(BR_STRAY, value=2)
            + brrec(BR_STRAY, fd=FD_TWO, value=9) + brrec(BR_RECONNECT) + brrec(BR_MAP, ln=1)]
    return out


def seeds_proto(map_seeds):
    """Wire bytes of every map seed, through each check of fuzz_proto."""
    out, seen = [], set()
    for s in map_seeds:
        if map_aims(s):   # their wire bytes are not the input's
            continue
        wire = s[2:]
        if wire in seen or len(wire) < 12:
            continue
        seen.add(wire)
        nfds = {FD_NONE: 0, FD_TWO: 2, FD_CLOSED: 1}.get(s[0], 1)
        out += [bytes([0]) + wire, bytes([2, 1 | (nfds << 2), 0]) + wire,
                bytes([3, 1, 200]) + wire, bytes([1, 1]) + wire[12:]]
    cfg = struct.pack("<II", 3, 0) + b"".join(
        struct.pack("<Q", s) for s in DEFAULT_REGIONS[:3]) + b"\0" * (2056 - 32)
    reply = struct.pack("<III", 44, 5, 2056)
    out += [bytes([1, 2]) + cfg, bytes([2, 2, 0]) + reply + cfg,
            bytes([2, 2, 0]) + reply + struct.pack("<II", 300, 1) + cfg[8:],
            bytes([2, 2, 0]) + reply + cfg[:8] + struct.pack("<Q", 0x1200) + cfg[16:],
            bytes([3, 0, 255]) + reply + cfg, bytes([1, 0]) + struct.pack("<Q", 1),
            bytes([2, 3, 0]) + struct.pack("<IIIQ", 9, 5, 8, 0),
            bytes([2, 3, 0]) + struct.pack("<IIII", 9, 5, 4, 0),
            bytes([1, 3]) + struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 1 << 20, 0x7f0000000000, 0),
            bytes([1, 4]) + struct.pack("<Q", 0) + struct.pack("<QQQQ", 0, 1 << 20, 0, 0),
            bytes([1, 5]) + struct.pack("<II", 0, 256), bytes([1, 6]) + b"\0" * 40,
            bytes([1, 7]) + struct.pack("<III", 0, 4, 0) + b"\1\2\3\4"]
    for name, rid in sorted(BE_REQ.items()):
        out.append(bytes([4, 1]) + struct.pack("<I", rid) + name.encode())
    for name, rid in sorted(FE_REQ.items()):
        out.append(bytes([4, 0]) + struct.pack("<I", rid) + ("VHOST_USER_" + name).encode())
    return out


def seeds_script(files):
    out = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"(?m)^id\s+\S+", "id        fuzz_case", f.read())
        out.append(b"\x07" + text.encode())
    if out:
        out += [b"\x00" + out[0][1:], b"\x02" + out[-1][1:]]
    out += [b"\x80" + n for n in (b"0", b"4096", b"18446744073709551615",
                                  b"18446744073709551616", b"007", b"12abc")]
    out += [b"\xc0" + n for n in (b"64k", b"1m", b"4G", b"0x1000", b"0xffffffffffffffff",
                                  b"16g", b"0x", b"k")]
    return out


# ------------------------------------------------------------------ main

def case_files(suites):
    files = []
    for root, _, names in os.walk(suites):
        files += [os.path.join(root, n) for n in names if n.endswith(".vhu")]
    return sorted(files)


def generate(suites, harness):
    files = case_files(suites)
    cases = read_cases(files, harness) if files else []
    map_seeds = seeds_map(cases)
    return {"fuzz_shmem_map": map_seeds,
            "fuzz_shmem_sequence": seeds_sequence(cases),
            "fuzz_backend_replies": seeds_backend(cases),
            "fuzz_proto": seeds_proto(map_seeds),
            "fuzz_script": seeds_script(files)}, len(files)


def sync_dir(path, seeds, check):
    """Makes path hold exactly these seeds. Returns the number changed."""
    want = {hashlib.sha1(s).hexdigest()[:16]: s for s in seeds}
    have = set(os.listdir(path)) if os.path.isdir(path) else set()
    changed = len(have ^ set(want))
    if check:
        return changed
    os.makedirs(path, exist_ok=True)
    for name in have - set(want):
        os.unlink(os.path.join(path, name))
    for name in set(want) - have:
        with open(os.path.join(path, name), "wb") as f:
            f.write(want[name])
    return changed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--suites", default=os.path.join(TOP, "suites"))
    ap.add_argument("--out", default=os.path.join(TOP, "corpus"))
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 when the corpus is stale")
    args = ap.parse_args(argv)
    seeds, ncases = generate(args.suites, harness_path())
    stale = 0
    for name in FUZZERS:
        n = sync_dir(os.path.join(args.out, name), seeds[name], args.check)
        stale += n
        print(f"{name}: {len(set(seeds[name]))} seeds"
              + (f" ({n} {'stale' if args.check else 'changed'})" if n else ""))
    print(f"from {ncases} cases in {os.path.relpath(args.suites)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
