"""Monitor mode end to end: `vhucheck monitor` between the two reference
targets, clean and with a front-end fault; the trace it records printed,
exported to pcapng and turned into a case. Skipped, with the reason, when
no build holds vhucheck-monitor and both reference targets."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from helpers import build_dir, env_for

BUILD = build_dir()
MON = os.path.join(BUILD or "", "harness", "vhucheck-monitor")
SKIP = "no build with harness/vhucheck-monitor and targets/vhu-ref-* (set VHUCHECK_BUILD_DIR)"
SCRIPT = """wait backend-channel
wait quiet 30
backend map shmid=0 shm_offset=0 len=0x2000 need_reply=1
wait quiet 30
backend map shmid=0 shm_offset=0 len=0x2000 need_reply=1
wait quiet 30
frontend quit
"""


def vhucheck(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "vhucheck", *args], capture_output=True,
                          text=True, env=env_for(VHUCHECK_BUILD_DIR=BUILD), timeout=timeout)


@unittest.skipUnless(BUILD and os.access(MON, os.X_OK), SKIP)
class MonitorEndToEnd(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.script = os.path.join(self.dir, "s.ctl")
        with open(self.script, "w") as f:
            f.write(SCRIPT)

    def tearDown(self):
        self.tmp.cleanup()

    def session(self, out, fe_fault="", be_fault=""):
        fe = (f"{BUILD}/targets/vhu-ref-frontend --socket-path={{socket}} "
              f"--control-fd={{control}} --auto-start {fe_fault}")
        be = (f"{BUILD}/targets/vhu-ref-backend --socket-path={{socket}} "
              f"--control-fd={{control}} {be_fault}")
        return vhucheck("monitor", "--quiet", "--out", out, "--frontend-cmd", fe,
                        "--backend-cmd", be, "--control-script", self.script,
                        "--reply-timeout", "300")

    def verdicts(self, out):
        with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
            return {c["id"]: c["verdict"] for c in json.load(f)["cases"]}

    def test_faulty_frontend_fails_its_check(self):
        out = os.path.join(self.dir, "faulty")
        r = self.session(out, "--fault=fe_error_reply_zero", "--fault=be_map_overlap_own")
        self.assertEqual(r.returncode, 1, r.stderr)
        v = self.verdicts(out)
        self.assertEqual(v["monitor_verdicts"], "FAIL")
        self.assertEqual(v["monitor_ledger"], "FAIL")
        self.assertEqual(v["monitor_replies"], "PASS")
        with open(os.path.join(out, "monitor.json"), encoding="utf-8") as f:
            rep = json.load(f)
        codes = {(x["code"], x["side"]) for x in rep["findings"]}
        self.assertIn(("MAP_ACCEPTED_INVALID", "frontend"), codes)
        self.assertIn(("BACKEND_LEDGER", "backend"), codes)

    def test_clean_session_trace_pcap_and_replay(self):
        out = os.path.join(self.dir, "clean")
        r = self.session(out, be_fault="")
        # the reference back-end refuses to map over its own mapping:
        # the second control line answers err, and nothing else happens
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(all(x == "PASS" for x in self.verdicts(out).values()))
        trace = os.path.join(out, "session.vhutrace")
        with open(os.path.join(out, "session.trace.txt"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("SHMEM_MAP", text)
        self.assertIn("-> err", text)
        p = vhucheck("trace", "--json", trace)
        records = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual(records[0]["type"], "header")
        pcap = os.path.join(self.dir, "s.pcapng")
        p = vhucheck("pcap", trace, pcap)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"{len(records) - 1} packets", p.stdout)
        case = os.path.join(self.dir, "replay_clean.vhu")
        p = vhucheck("replay", trace, "--as", "backend", "-o", case)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(case, encoding="utf-8") as f:
            text = f.read()
        # the fields vhucheck-monitor decoded (tracecmd decodes no bytes)
        self.assertIn("\nsend map shmid=0 ", text)
        self.assertRegex(text, r"\nhandshake shmem=on .*regions=")
        h = subprocess.run([os.path.join(BUILD, "harness", "vhucheck-harness"), "--validate",
                            case], capture_output=True, text=True, timeout=30)
        self.assertEqual(h.returncode, 0, h.stdout + h.stderr)


if __name__ == "__main__":
    unittest.main()
