"""vhucheck trace / replay / pcap: what to do with a vhucheck-monitor trace.

    trace FILE                     print it readably (or as JSON lines)
    replay FILE --as ROLE          turn one side of it into a .vhu case
    pcap FILE OUT.pcapng           export it for Wireshark (docs/wireshark.md)

The binary trace format is documented in harness/monitor/tracefile.h and
docs/monitor.md; the records are read through `vhucheck-monitor
--trace-json`, so the C decoder is the only one.
"""

import json
import os
import re
import struct
import subprocess
import sys
import types

from vhucheck.errors import ConfigError, HarnessError
from vhucheck.monitor import require_binary

# ---- reading ----


def load(path):
    """(header, [records]) of a trace file, decoded by vhucheck-monitor."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such trace file")
    proc = subprocess.run([require_binary(), "--trace-json", path], capture_output=True,
                          text=True, check=False)
    if proc.returncode == 2:
        raise ConfigError(proc.stderr.strip() or f"{path}: not a trace file")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if not lines or lines[0].get("type") != "header":
        raise HarnessError(f"{path}: vhucheck-monitor gave no header "
                           f"({proc.stderr.strip()})")
    if proc.returncode != 0:
        print(f"vhucheck: {proc.stderr.strip()}", file=sys.stderr)
    return lines[0], lines[1:]


def payload(rec):
    """The payload's bytes, to send again as they were (never decoded here:
    vhucheck-monitor --trace-json gives the fields, u64 / mmap /
    shmem_config / mem_table)."""
    return bytes.fromhex(rec.get("hex", ""))[12:]


def u64(rec):
    return rec.get("u64")


# ---- trace ----

def trace_add_arguments(p):
    p.add_argument("file", metavar="FILE", help="a trace written by --record")
    p.add_argument("--json", action="store_true", help="one JSON object per record")


def trace_main(args):
    binary = require_binary()
    if not os.path.isfile(args.file):
        raise ConfigError(f"{args.file}: no such trace file")
    opt = "--trace-json" if args.json else "--print-trace"
    sys.stdout.flush()
    return subprocess.run([binary, opt, args.file], check=False).returncode


trace = types.SimpleNamespace(
    HELP="print a vhucheck-monitor trace file readably",
    DESCRIPTION="Prints a trace written by `vhucheck monitor --record`: one line per "
                "message (time, channel, direction, request, flags, size, decoded "
                "payload, the fds described) and the monitor's notes (findings, "
                "control lines, fault rules).",
    add_arguments=trace_add_arguments, main=trace_main)


# ---- replay ----

PF = {"REPLY_ACK": 3, "BACKEND_REQ": 5, "BACKEND_SEND_FD": 10, "RESET_DEVICE": 13,
      "CONFIGURE_MEM_SLOTS": 15, "STATUS": 16}
DRIVER_OK = 0x4
CONTROL_NOTE = re.compile(r"^control (frontend|backend): (.*) -> (.*)$")
F_DROPPED, F_INJECTED, F_SWALLOWED = 0x01, 0x02, 0x20
FD_KINDS = {"memfd": "memfd", "file": "rdonly-file", "pipe": "pipe", "socket": "socket",
            "anon": "pipe", "chardev": "pipe"}


class Session:
    """What the recording negotiated, and where its handshake ends."""

    def __init__(self, header, recs):
        self.shmem_bit = header.get("shmem_bit", 22)
        self.offered = self.acked = None
        self.regions = []
        self.mem = 0x100000
        self.started = False
        self.end = None
        for i, r in enumerate(recs):
            self._learn(i, r)
        if self.end is None:
            self.end = self._fallback_end(recs)

    @staticmethod
    def _fallback_end(recs):
        """Without DRIVER_OK: the handshake ends at the first back-end-channel
        message or control line once the back-end channel exists."""
        chan_up = False
        for i, r in enumerate(recs):
            if r["type"] == "msg" and r.get("name") == "SET_BACKEND_REQ_FD":
                chan_up = True
            elif r["type"] == "msg" and r["chan"] == "backend":
                return i
            elif chan_up and r["type"] == "note" and CONTROL_NOTE.match(r["note"]):
                return i
        return len(recs)

    def _learn(self, i, r):
        if r["type"] != "msg" or r["chan"] != "main":
            return
        name, value = r.get("name"), u64(r)
        if r["from"] == "frontend" and name == "SET_PROTOCOL_FEATURES":
            self.acked = value
        elif r["from"] == "backend" and name == "GET_PROTOCOL_FEATURES":
            self.offered = value
        elif r["from"] == "backend" and name == "GET_SHMEM_CONFIG" and "shmem_config" in r:
            self.regions = list(r["shmem_config"]["sizes"])
        elif r["from"] == "frontend" and name == "SET_MEM_TABLE" and r.get("mem_table"):
            self.mem = r["mem_table"][0]["size"]
        elif (r["from"] == "frontend" and name == "SET_STATUS" and value is not None
              and value & DRIVER_OK and self.end is None):
            self.started = True
            self.end = i + 1

    def has(self, bit):
        if self.acked is None:
            return False
        ok = self.acked & (1 << bit)
        return bool(ok and (self.offered is None or self.offered & (1 << bit)))

    def onoff(self, bit):
        return "on" if self.has(bit) else "off"


def size_word(n):
    for shift, suffix in ((30, "g"), (20, "m"), (10, "k")):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return hex(n)


class Writer:
    """The case text: pool fds declared as they first appear."""

    def __init__(self):
        self.steps, self.pool, self.uses_control = [], [], False

    def fds(self, rec):
        names = []
        for f in rec.get("fds", []):
            name = f"f{len(self.pool)}"
            kind = FD_KINDS.get(f["kind"], "pipe")
            if kind == "memfd" and f.get("size", 0) == 0:
                kind = "memfd-empty"
            size = f" size={hex(f['size'])}" if kind in ("memfd", "rdonly-file") else ""
            self.pool.append(f"fd {name} {kind}{size}")
            names.append(name)
        return f" fd={','.join(names)}" if names else ""

    def control(self, line, answer):
        self.uses_control = True
        err = "" if answer.startswith("ok") else " expect=err"
        self.steps.append(f"control {line}{err}")


def mmap_send(rec, w):
    """`send map|unmap ...` for a recorded back-end MAP/UNMAP."""
    kind = "map" if rec["name"] == "SHMEM_MAP" else "unmap"
    need = " need_reply" if rec["hdr_flags"] & 0x8 else ""
    m = rec.get("mmap")
    if m is None or rec["size"] != 40:
        return (f"send {rec['name']} payload={payload(rec).hex()} size={rec['size']}"
                f"{w.fds(rec)}{need} on=backend")
    fl = {1: "rw", 0: "ro"}.get(m["flags"], hex(m["flags"]))
    text = f"send {kind} shmid={m['shmid']} shm_offset={hex(m['shm_offset'])} len={hex(m['len'])}"
    if kind == "map" or m["fd_offset"] or m["flags"]:
        text += f" fd_offset={hex(m['fd_offset'])} flags={fl}"
    if int(m["padding"], 16):
        text += f" padding={m['padding']}"
    return text + w.fds(rec) + need


def reply_value(rec):
    v = u64(rec)
    if v is None:
        return f" size={rec['size']}"
    return " value=0" if v == 0 else " value=nonzero"


def steps_as_backend(recs, s, w):
    """Harness as back-end: re-send the back-end's requests, expect the
    front-end's replies and main-channel requests."""
    for r in recs[s.end:]:
        if r["type"] == "note":
            m = CONTROL_NOTE.match(r["note"])
            if m and m.group(1) == "frontend" and m.group(2).split()[0] != "quit":
                w.control(m.group(2), m.group(3))
            continue
        if r["flags"] & F_DROPPED:
            continue
        if r["chan"] == "backend" and r["from"] in ("backend", "monitor") and not r["is_reply"]:
            if r["name"] in ("SHMEM_MAP", "SHMEM_UNMAP"):
                w.steps.append(mmap_send(r, w))
            else:
                need = " need_reply" if r["hdr_flags"] & 0x8 else ""
                name = r["name"] or str(r["request"])
                pl = f" payload={payload(r).hex()}" if payload(r) else ""
                w.steps.append(f"send {name}{pl}{w.fds(r)}{need} on=backend")
        elif r["chan"] == "backend" and r["from"] == "frontend":
            w.steps.append(f"expect reply{reply_value(r)}")
        elif r["chan"] == "main" and r["from"] == "frontend" and not r["is_reply"]:
            w.steps.append(f"expect msg {r['name'] or r['request']} on=main")


def steps_as_frontend(recs, s, w):
    """Harness as front-end: re-send the front-end's requests, expect the
    back-end's replies and back-end-channel requests (driven by the
    recorded control lines)."""
    waiting = 0
    for r in recs[s.end:]:
        if r["type"] == "note":
            m = CONTROL_NOTE.match(r["note"])
            if m and m.group(1) == "backend" and m.group(2).split()[0] != "quit":
                w.control(m.group(2), m.group(3))
            continue
        if r["flags"] & (F_DROPPED | F_INJECTED | F_SWALLOWED):
            continue
        if r["chan"] == "backend" and r["from"] == "backend":
            w.steps.append(f"expect msg {r['name'] or r['request']} on=backend "
                           f"fds={len(r.get('fds', []))} size={r['size']}")
        elif r["chan"] == "backend" and r["from"] == "frontend":
            v = u64(r)
            w.steps.append(f"reply value={v if v is not None else 0} on=backend")
        elif r["chan"] == "main" and r["from"] == "frontend":
            need = " need_reply" if r["hdr_flags"] & 0x8 else ""
            pl = f" payload={payload(r).hex()}" if payload(r) else ""
            w.steps.append(f"send {r['name'] or r['request']}{pl}{w.fds(r)}{need}")
            waiting += 1 if need or (r["name"] or "").startswith("GET_") else 0
        elif r["chan"] == "main" and r["from"] == "backend" and waiting:
            waiting -= 1
            w.steps.append(f"expect reply{reply_value(r)}")


def handshake_line(s, role):
    shmem = "on" if s.has(s.shmem_bit) else "off"
    words = [f"shmem={shmem}", f"shmem-bit={s.shmem_bit}",
             f"reply-ack={s.onoff(PF['REPLY_ACK'])}",
             f"backend-send-fd={s.onoff(PF['BACKEND_SEND_FD'])}"]
    if role == "frontend":
        words += [f"backend-req={s.onoff(PF['BACKEND_REQ'])}", f"mem={size_word(s.mem)}"]
    else:
        words += [f"slots={s.onoff(PF['CONFIGURE_MEM_SLOTS'])}",
                  f"status={s.onoff(PF['STATUS'])}",
                  f"reset-device={s.onoff(PF['RESET_DEVICE'])}"]
        if s.regions:
            words.append("regions=" + ",".join(size_word(x) if x else "0" for x in s.regions))
    words.append(f"start={'yes' if s.started else 'no'}")
    return "handshake " + " ".join(words)


def case_text(header, recs, role, case_id, source, level):
    s = Session(header, recs)
    w = Writer()
    (steps_as_frontend if role == "frontend" else steps_as_backend)(recs, s, w)
    target = "back-end" if role == "frontend" else "front-end"
    req = [n for n in ("REPLY_ACK", "BACKEND_REQ", "BACKEND_SEND_FD") if s.has(PF[n])]
    if s.has(s.shmem_bit):
        req.insert(0, "SHMEM")
    if w.uses_control:
        req.append("control")
    head = [f"# Replayed from {os.path.basename(source)} by ./vhucheck replay --as {role}:",
            f"# the recorded {'front' if role == 'frontend' else 'back'}-end's side, "
            f"played against a {target}.",
            f"id        {case_id}",
            f"title     Replay of {os.path.basename(source)} against a {target}",
            f"target    {'backend' if role == 'frontend' else 'frontend'}",
            f"rule      replay: the {target} behaves as in the recorded session",
            f"level     {level}"]
    if level != "MUST":
        head.append("reason    a recorded session, not a rule of the spec: a difference "
                    "is worth a look, not a failure")
    if req:
        head.append("requires  " + " ".join(req))
    body = [handshake_line(s, role)] + w.pool + w.steps + ["check findings none"]
    return "\n".join(head) + "\n\n" + "\n".join(body) + "\n"


def case_id_for(args):
    if args.id:
        cid = args.id
    elif args.out and args.out.endswith(".vhu"):
        cid = os.path.basename(args.out)[:-4]
    else:
        base = os.path.basename(args.file).split(".")[0]
        cid = "replay_" + re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")
    if not re.fullmatch(r"[a-z0-9_]+", cid):
        raise ConfigError(f"case id {cid!r}: only [a-z0-9_] (it is the file's base name)")
    return cid


def replay_add_arguments(p):
    p.add_argument("file", metavar="FILE", help="a trace written by --record")
    p.add_argument("--as", dest="role", required=True, choices=("frontend", "backend"),
                   help="the side the harness plays in the case (its 'target' line names the other)")
    p.add_argument("--id", help="case id (default: replay_<trace name>, or the --out name)")
    p.add_argument("--out", "-o", metavar="FILE.vhu|DIR",
                   help="where to write the case (default: stdout)")
    p.add_argument("--level", choices=("MUST", "SHOULD", "INFO"), default="INFO",
                   help="the case's level (default: INFO)")


def replay_main(args):
    header, recs = load(args.file)
    cid = case_id_for(args)
    text = case_text(header, recs, args.role, cid, args.file, args.level)
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = os.path.join(args.out, cid + ".vhu") if os.path.isdir(args.out) else args.out
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"case: {out}")
    return 0


replay = types.SimpleNamespace(
    HELP="turn one side of a monitor trace into a .vhu case",
    DESCRIPTION="Writes a case (docs/writing-cases.md) that replays one side of a "
                "recorded session against a new target: --as backend plays the "
                "recorded back-end (its MAP/UNMAP, the front-end's control lines) "
                "against a front-end; --as frontend plays the recorded front-end "
                "(its requests after the handshake, the back-end's control lines) "
                "against a back-end. The handshake is the harness's own, with the "
                "recorded negotiation.",
    add_arguments=replay_add_arguments, main=replay_main)


# ---- pcap ----

LINKTYPE_USER0 = 147
PSEUDO_VERSION = 1
KIND = {"msg": 1, "note": 2}
CHAN = {"main": 0, "backend": 1}
FROM = {"frontend": 0, "backend": 1, "monitor": 2}


def _block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def _option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _end_options():
    return struct.pack("<HH", 0, 0)


def pcap_header():
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += _option(4, b"vhucheck pcap") + _end_options()
    idb = struct.pack("<HHI", LINKTYPE_USER0, 0, 0)
    idb += _option(2, b"vhost-user") + _option(9, bytes([9])) + _end_options()
    return _block(0x0A0D0D0A, shb) + _block(1, idb)


def fd_comment(rec):
    parts = []
    for i, f in enumerate(rec.get("fds", [])):
        parts.append(f"fd{i}: {f['kind']} size={f['size']} seals={f['seals']} {f['name']}")
    return "; ".join(parts)


def packet(rec, start_ns):
    """One Enhanced Packet Block: pseudo-header + the message or note."""
    data = (rec["note"].encode() if rec["type"] == "note" else bytes.fromhex(rec["hex"]))
    pseudo = struct.pack("<BBBBBBH", PSEUDO_VERSION, KIND[rec["type"]], CHAN[rec["chan"]],
                         FROM[rec["from"]], len(rec.get("fds", [])), rec["flags"] & 0xff, 0)
    frame = pseudo + data
    ts = start_ns + rec["t_ns"]
    body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(frame), len(frame))
    body += frame + b"\0" * (-len(frame) % 4)
    comment = fd_comment(rec)
    if comment:
        body += _option(1, comment.encode()) + _end_options()
    return _block(6, body)


def pcap_add_arguments(p):
    p.add_argument("file", metavar="FILE", help="a trace written by --record")
    p.add_argument("out", metavar="OUT.pcapng", help="the capture to write")
    p.add_argument("--no-notes", action="store_true",
                   help="leave out the monitor's notes (findings, control lines)")


def pcap_main(args):
    header, recs = load(args.file)
    start = header.get("start_realtime_ns", 0)
    n = 0
    with open(args.out, "wb") as f:
        f.write(pcap_header())
        for r in recs:
            if r["type"] == "note" and args.no_notes:
                continue
            f.write(packet(r, start))
            n += 1
    print(f"{args.out}: {n} packets (link type {LINKTYPE_USER0}, DLT_USER0); dissect with "
          f"tshark -X lua_script:{lua_path()} -r {args.out} -V")
    return 0


def lua_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "vhost-user.lua")


pcap = types.SimpleNamespace(
    HELP="export a monitor trace as pcapng for Wireshark",
    DESCRIPTION="Writes the trace as a pcapng capture with link type 147 (DLT_USER0): "
                "each packet is an 8-byte pseudo-header (version, kind, channel, "
                "sender, fd count, monitor flags) and the message bytes; fds are "
                "described in the packet comment. Dissect it with the Lua dissector "
                "runner/vhucheck/data/vhost-user.lua (docs/wireshark.md).",
    add_arguments=pcap_add_arguments, main=pcap_main)

