"""Monitor mode in the runner, without a build: the .vhu a replay writes,
the pcapng export read back field by field, the report a monitor session
becomes (and that the runner's own reader accepts), the subcommands."""

import io
import json
import os
import struct
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import helpers  # noqa: F401  (puts runner/ on sys.path)

from vhucheck import cli, monitor, tracecmd
from vhucheck.render import write_target
from vhucheck.resultfile import load_dir

PF = (1 << 3) | (1 << 5) | (1 << 10) | (1 << 15) | (1 << 16) | (1 << 22)


def decoded(chan, name, flags, payload):
    """The fields vhucheck-monitor --trace-json adds (tracefile.c decodes
    them with proto.c; test_monitor_e2e reads the real ones)."""
    reply, n = bool(flags & 4), len(payload)
    if n == 8:
        return {"u64": struct.unpack("<Q", payload)[0]}
    if chan == "backend" and name in ("SHMEM_MAP", "SHMEM_UNMAP") and not reply and n == 40:
        fd_off, shm_off, length, fl = struct.unpack_from("<4Q", payload, 8)
        return {"mmap": {"shmid": payload[0], "padding": payload[1:8].hex(),
                         "fd_offset": fd_off, "shm_offset": shm_off, "len": length,
                         "flags": fl}}
    if chan == "main" and name == "GET_SHMEM_CONFIG" and reply and n == 2056:
        sizes = list(struct.unpack_from("<256Q", payload, 8))
        while sizes and not sizes[-1]:
            sizes.pop()
        return {"shmem_config": {"nregions": struct.unpack_from("<I", payload)[0],
                                 "sizes": sizes}}
    if chan == "main" and name == "SET_MEM_TABLE" and not reply and n >= 8 and (n - 8) % 32 == 0:
        return {"mem_table": [dict(zip(("gpa", "size", "uaddr", "mmap_offset"),
                                       struct.unpack_from("<4Q", payload, 8 + 32 * i)))
                              for i in range((n - 8) // 32)]}
    return {}


def msg(chan, frm, name, request, flags=1, payload=b"", fds=(), tflags=0, t=0):
    hdr = struct.pack("<III", request, flags, len(payload))
    return {"type": "msg", "chan": chan, "from": frm, "flags": tflags, "status": 0,
            "t_ns": t, "request": request, "name": name, "hdr_flags": flags,
            "size": len(payload), "payload_len": len(payload), "is_reply": bool(flags & 4),
            "text": "", "hex": (hdr + payload).hex(), "fds": list(fds),
            **decoded(chan, name, flags, payload)}


def note(text, t=0):
    return {"type": "note", "chan": "main", "from": "monitor", "flags": 0, "status": 0,
            "t_ns": t, "note": text, "fds": []}


def u64(v):
    return struct.pack("<Q", v)


def mmap(shm_offset, length, flags=1, fd_offset=0, shmid=0, padding=b"\0" * 7):
    return bytes([shmid]) + padding + struct.pack("<4Q", fd_offset, shm_offset, length, flags)


MEMFD = {"kind": "memfd", "accmode": 2, "seals": 1, "size": 0x2000, "name": "/memfd:x (deleted)"}


def recording():
    """A session as vhucheck-monitor --trace-json gives it."""
    cfg = struct.pack("<II", 1, 0) + struct.pack("<256Q", *([0x100000] + [0] * 255))
    table = struct.pack("<II", 1, 0) + struct.pack("<4Q", 0, 0x200000, 0x7f0000000000, 0)
    return [
        msg("main", "frontend", "GET_PROTOCOL_FEATURES", 15),
        msg("main", "backend", "GET_PROTOCOL_FEATURES", 15, 5, u64(PF)),
        msg("main", "frontend", "SET_PROTOCOL_FEATURES", 16, 1, u64(PF)),
        msg("main", "frontend", "SET_BACKEND_REQ_FD", 21, 9, fds=[dict(MEMFD, kind="socket")]),
        msg("main", "backend", "SET_BACKEND_REQ_FD", 21, 5, u64(0)),
        msg("main", "frontend", "GET_SHMEM_CONFIG", 44),
        msg("main", "backend", "GET_SHMEM_CONFIG", 44, 5, cfg),
        msg("main", "frontend", "SET_MEM_TABLE", 5, 9, table, fds=[MEMFD]),
        msg("main", "backend", "SET_MEM_TABLE", 5, 5, u64(0)),
        msg("main", "frontend", "SET_STATUS", 39, 9, u64(15)),
        msg("main", "backend", "SET_STATUS", 39, 5, u64(0)),
        note("control backend: map shmid=0 shm_offset=0x1000 len=0x2000 need_reply=1 -> ok"),
        msg("backend", "backend", "SHMEM_MAP", 9, 9, mmap(0x1000, 0x2000), fds=[MEMFD]),
        msg("backend", "frontend", "SHMEM_MAP", 9, 5, u64(0)),
        msg("backend", "monitor", "SHMEM_MAP", 9, 9, mmap(0x80000, 0x1000, 0),
            fds=[MEMFD], tflags=0x02),
        msg("backend", "frontend", "SHMEM_MAP", 9, 5, u64(1), tflags=0x20),
        note("control frontend: reset -> ok"),
        msg("main", "frontend", "RESET_DEVICE", 34, 9),
        msg("main", "backend", "RESET_DEVICE", 34, 5, u64(0)),
        note("control backend: unmap shmid=0 shm_offset=0x1000 len=0x2000 need_reply=1 -> err no"),
        msg("main", "frontend", "GET_FEATURES", 1, 1, b"", tflags=0x01),  # dropped
        note("control frontend: quit -> ok"),
    ]


HEADER = {"type": "header", "version": 1, "shmem_bit": 22, "start_realtime_ns": 10**18}


class Replay(unittest.TestCase):
    def text(self, role):
        return tracecmd.case_text(HEADER, recording(), role, "replay_t", "/x/t.vhutrace", "INFO")

    def test_header_follows_the_negotiation(self):
        t = self.text("backend")
        self.assertIn("id        replay_t\n", t)
        self.assertIn("target    frontend\n", t)
        self.assertIn("level     INFO\n", t)
        self.assertIn("reason    ", t)
        self.assertIn("requires  SHMEM REPLY_ACK BACKEND_REQ BACKEND_SEND_FD control\n", t)
        self.assertIn("handshake shmem=on shmem-bit=22 reply-ack=on backend-send-fd=on "
                      "slots=on status=on reset-device=off regions=1m start=yes\n", t)

    def test_as_backend_replays_the_backends_requests(self):
        lines = self.text("backend").splitlines()
        body = lines[lines.index(next(l for l in lines if l.startswith("handshake"))) + 1:]
        self.assertEqual(body, [
            "fd f0 memfd size=0x2000",
            "fd f1 memfd size=0x2000",
            "send map shmid=0 shm_offset=0x1000 len=0x2000 fd_offset=0x0 flags=rw fd=f0 need_reply",
            "expect reply value=0",
            "send map shmid=0 shm_offset=0x80000 len=0x1000 fd_offset=0x0 flags=ro fd=f1 need_reply",
            "expect reply value=nonzero",
            "control reset",
            "expect msg RESET_DEVICE on=main",
            "check findings none",
        ])

    def test_as_frontend_replays_the_frontends_side(self):
        lines = self.text("frontend").splitlines()
        self.assertIn("handshake shmem=on shmem-bit=22 reply-ack=on backend-send-fd=on "
                      "backend-req=on mem=2m start=yes", lines)
        body = lines[lines.index(next(l for l in lines if l.startswith("handshake"))) + 1:]
        self.assertEqual(body, [
            "control map shmid=0 shm_offset=0x1000 len=0x2000 need_reply=1",
            "expect msg SHMEM_MAP on=backend fds=1 size=40",
            "reply value=0 on=backend",
            "send RESET_DEVICE need_reply",
            "expect reply value=0",
            "control unmap shmid=0 shm_offset=0x1000 len=0x2000 need_reply=1 expect=err",
            "check findings none",
        ])

    def test_padding_and_odd_sizes_are_kept(self):
        r = msg("backend", "backend", "SHMEM_MAP", 9, 9, mmap(0, 0x1000, padding=b"\x01" * 7),
                fds=[MEMFD])
        w = tracecmd.Writer()
        self.assertIn("padding=01010101010101", tracecmd.mmap_send(r, w))
        r = msg("backend", "backend", "SHMEM_MAP", 9, 9, mmap(0, 0x1000)[:32], fds=[MEMFD])
        self.assertTrue(tracecmd.mmap_send(r, w).startswith("send SHMEM_MAP payload="))

    def test_case_id(self):
        args = SimpleNamespace(id=None, out=None, file="/tmp/My Session.vhutrace")
        self.assertEqual(tracecmd.case_id_for(args), "replay_my_session")
        args.out = "dir/replay_x.vhu"
        self.assertEqual(tracecmd.case_id_for(args), "replay_x")
        args.id = "Bad-Id"
        with self.assertRaises(Exception):
            tracecmd.case_id_for(args)

    def test_without_driver_ok_the_handshake_ends_at_the_backend_channel(self):
        recs = [r for r in recording() if r.get("name") not in ("SET_STATUS",)]
        s = tracecmd.Session(HEADER, recs)
        self.assertFalse(s.started)
        self.assertEqual(recs[s.end]["type"], "note")


def read_blocks(data):
    blocks, pos = [], 0
    while pos < len(data):
        btype, n = struct.unpack_from("<II", data, pos)
        assert struct.unpack_from("<I", data, pos + n - 4)[0] == n
        blocks.append((btype, data[pos + 8:pos + n - 4]))
        pos += n
    return blocks


class Pcap(unittest.TestCase):
    def test_header_blocks(self):
        blocks = read_blocks(tracecmd.pcap_header())
        self.assertEqual([b[0] for b in blocks], [0x0A0D0D0A, 1])
        self.assertEqual(struct.unpack_from("<I", blocks[0][1])[0], 0x1A2B3C4D)
        self.assertEqual(struct.unpack_from("<H", blocks[1][1])[0], 147)
        self.assertIn(b"vhost-user", blocks[1][1])

    def test_packet_layout(self):
        r = recording()[12]   # the SHMEM_MAP with its memfd
        r["t_ns"] = 5
        (btype, body), = read_blocks(tracecmd.packet(r, 10**18))
        self.assertEqual(btype, 6)
        iface, hi, lo, cap, orig = struct.unpack_from("<5I", body)
        self.assertEqual((hi << 32) | lo, 10**18 + 5)
        self.assertEqual(cap, orig)
        self.assertEqual(cap, 8 + 12 + 40)
        frame = body[20:20 + cap]
        self.assertEqual(struct.unpack_from("<BBBBBBH", frame), (1, 1, 1, 1, 1, 0, 0))
        self.assertEqual(struct.unpack_from("<III", frame, 8), (9, 9, 40))
        self.assertIn(b"fd0: memfd size=8192", body[20 + cap:])

    def test_notes_are_packets_too(self):
        (btype, body), = read_blocks(tracecmd.packet(note("finding x"), 0))
        frame = body[20:20 + struct.unpack_from("<I", body, 12)[0]]
        self.assertEqual(frame[1], 2)
        self.assertEqual(frame[8:], b"finding x")

    def test_dissector_ships_beside_the_module(self):
        with open(tracecmd.lua_path(), encoding="utf-8") as f:
            lua = f.read()
        for needle in ("wtap_encap", "USER0", "SHMEM_MAP", "GET_SHMEM_CONFIG",
                       "vhostuser.mmap.shm_offset", "vhostuser.shmem_config.nregions"):
            self.assertIn(needle, lua)


def report(findings, **extra):
    rep = {"tool": "vhucheck-monitor", "schema": 1, "shmem_bit": 22, "end": "x",
           "frontend": {"cmd": "fe {socket}", "socket": "/s/fe"}, "backend": {"socket": "/s/be"},
           "messages": {"total": 3}, "negotiated": {}, "counts": {}, "fault_rules": [],
           "findings": findings}
    rep.update(extra)
    return rep


def finding(check, severity, code="X"):
    return {"code": code, "severity": severity, "side": "frontend", "check": check,
            "chan": "backend", "msg": "SHMEM_MAP reply", "index": 4, "t_ms": 1,
            "rule": "6: MUST fail", "text": "accepted"}


class Report(unittest.TestCase):
    def test_checks_become_cases(self):
        doc = monitor.document(report([finding("verdicts", "error"), finding("framing", "warn"),
                                       finding("framing", "info"), finding("ledger", "info")]),
                               "/tmp", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00",
                               1000.0, None)
        v = {c["id"]: c["verdict"] for c in doc["cases"]}
        self.assertEqual(len(v), 9)
        self.assertEqual(v["monitor_verdicts"], "FAIL")
        self.assertEqual(v["monitor_framing"], "NON-STRICT")
        self.assertEqual(v["monitor_ledger"], "INFO")
        self.assertEqual(v["monitor_replies"], "PASS")
        self.assertEqual(doc["summary"]["exit_code"], 1)
        case = next(c for c in doc["cases"] if c["id"] == "monitor_verdicts")
        self.assertIn("[error] frontend X #4 backend SHMEM_MAP reply: accepted", case["observed"])
        self.assertEqual(case["failures"][0]["grade"], "MUST")

    def test_written_reports_read_back(self):
        with tempfile.TemporaryDirectory() as d:
            doc = monitor.document(report([]), d, "2026-01-01T00:00:00+00:00",
                                   "2026-01-01T00:00:01+00:00", 1000.0, None)
            write_target(d, doc)
            (sub, back), = load_dir(d)
            self.assertEqual(back["summary"]["passed"], 9)
            for name in ("index.html", "junit.xml", "results.tap", "summary.md"):
                self.assertTrue(os.path.getsize(os.path.join(d, name)) > 0, name)

    def test_command_line(self):
        args = SimpleNamespace(frontend_cmd="fe {socket}", listen=None, backend_cmd=None,
                               connect="/run/be.sock", control_script=None, reply_timeout=50,
                               msg_timeout=None, connect_timeout=None, duration=None,
                               control_timeout=None, fault_rule=["drop:SHMEM_MAP"],
                               quiet=True, record=None, shmem_bit=21)
        old = os.environ.get("VHUCHECK_MONITOR")
        os.environ["VHUCHECK_MONITOR"] = "/bin/true"
        try:
            cmd = monitor.monitor_args(args, "/out")
        finally:
            if old is None:
                del os.environ["VHUCHECK_MONITOR"]
            else:
                os.environ["VHUCHECK_MONITOR"] = old
        self.assertEqual(cmd[0], "/bin/true")
        for pair in (["--shmem-bit", "21"], ["--connect", "/run/be.sock"],
                     ["--reply-timeout", "50"], ["--fault-rule", "drop:SHMEM_MAP"],
                     ["--json", "/out/monitor.json"], ["--record", "/out/session.vhutrace"]):
            i = cmd.index(pair[0])
            self.assertEqual(cmd[i:i + 2], pair)
        self.assertIn("--quiet", cmd)
        self.assertNotIn("--duration", cmd)


class Cli(unittest.TestCase):
    def test_subcommands_are_registered(self):
        parser = cli.build_parser()
        for argv in (["monitor", "--listen", "a", "--connect", "b"], ["trace", "f"],
                     ["replay", "f", "--as", "backend"], ["pcap", "f", "o"]):
            args = parser.parse_args(argv)
            self.assertTrue(callable(args._main), argv)

    def test_replay_needs_a_role(self):
        with self.assertRaises(SystemExit), redirect_stdout(io.StringIO()), \
                redirect_stderr(io.StringIO()):
            cli.build_parser().parse_args(["replay", "f"])

    def test_monitor_needs_both_sides(self):
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cli.main(["monitor", "--listen", "/x"]), 2)
        self.assertIn("each side needs a command or a socket", err.getvalue())


if __name__ == "__main__":
    unittest.main()
