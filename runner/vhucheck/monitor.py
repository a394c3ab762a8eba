"""vhucheck monitor: run vhucheck-monitor between a front-end and a back-end,
then render its findings as a report (the usual results.json and friends).

Each of the monitor's checks becomes one case of the report: PASS with no
finding, FAIL with an error, NON-STRICT with a warning, INFO with a note.
"""

import argparse
import datetime
import json
import os
import subprocess

from vhucheck import __version__, expectations as X, options, paths, results
from vhucheck.errors import ConfigError, EXIT_FAIL, EXIT_HARNESS, EXIT_USAGE, HarnessError
from vhucheck.render import write_target

HELP = "relay a live front-end/back-end session, check it, record it"
DESCRIPTION = """\
Runs vhucheck-monitor between a real front-end and a real back-end: it
listens for the front-end, connects to the back-end (or launches either
with {socket} in the command), relays both channels, checks every message
and the session's state (replies, ordering, negotiation, the ledger of
live mappings, resets) and writes a report dir: results.json, index.html,
junit.xml, results.tap, summary.md, plus monitor.json (the monitor's own
report) and, with --record, the trace in binary and as text."""
EPILOG = """\
exit status: 0 no error finding, 1 error findings, 2 usage, 3 the session
could not be set up (launch, connect, accept).

examples:
  ./vhucheck monitor --backend-cmd 'virtiofsd --socket-path={socket} ...' \\
      --listen /tmp/mon.sock             then point QEMU at /tmp/mon.sock
  ./vhucheck monitor --frontend-cmd '... {socket}' --connect /run/be.sock \\
      --record session.vhutrace --fault-rule 'delay:SHMEM_MAP.reply:50'
See docs/monitor.md."""

CHECKS = (
    ("framing", "every message is well-formed (the validator)",
     "1, 4, 6-8: framing, flags, sizes, payload fields"),
    ("replies", "replies are matched to their requests",
     "9: NEED_REPLY with REPLY_ACK and GET_* are answered, once, in order, in time"),
    ("ordering", "no deadlock ordering between the two channels",
     "9: the MAP/UNMAP reply comes before main-channel memory-table updates"),
    ("gating", "what is used was negotiated",
     "2, 5-8: SHMEM, BACKEND_REQ, BACKEND_SEND_FD, REPLY_ACK, PROTOCOL_FEATURES"),
    ("ledger", "the back-end's MAP/UNMAP ledger",
     "6, 7, 12H: inside the advertised regions, no overlap, exact unmaps"),
    ("verdicts", "the front-end accepts and refuses as it MUST",
     "6, 7: overlapping, out-of-region and inexact requests fail"),
    ("config", "GET_SHMEM_CONFIG is stable", "8: the answer never changes"),
    ("lifecycle", "reset removes every mapping", "10: reset MUST remove every mapping"),
    ("session", "the session itself: whole messages, no crash",
     "1, 11: messages sent whole, programs end by exiting"),
)
SEVERITY_VERDICT = {"error": "FAIL", "warn": "NON-STRICT", "info": "INFO"}
MAX_FAILURES = 16


def milliseconds(text):
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms") from None
    if not 1 <= value <= 3600000:
        raise argparse.ArgumentTypeError(f"{value}: 1..3600000 ms")
    return value


def monitor_binary():
    env = os.environ.get("VHUCHECK_MONITOR")
    if env:
        return os.path.abspath(env)
    return os.path.join(paths.build_dir(), "harness", "vhucheck-monitor")


def require_binary():
    b = monitor_binary()
    if not os.access(b, os.X_OK):
        raise HarnessError(f"{b}: not built (ninja -C build), or set VHUCHECK_MONITOR")
    return b


def add_arguments(p):
    g = p.add_argument_group("the two sides (a command, or a socket path)")
    g.add_argument("--frontend-cmd", metavar="CMD",
                   help="launch the front-end; {socket} is where it must connect")
    g.add_argument("--listen", metavar="PATH", help="socket the front-end connects to")
    g.add_argument("--backend-cmd", metavar="CMD",
                   help="launch the back-end; {socket} is where it must listen")
    g.add_argument("--connect", metavar="PATH", help="the back-end's listening socket")
    p.add_argument("--shmem-bit", type=options.shmem_bit, default=22, metavar="N",
                   help="protocol feature bit of SHMEM (default: 22)")
    for name, what in (("reply-timeout", "a required reply later than this is a finding"),
                       ("msg-timeout", "to finish or hand over one message"),
                       ("connect-timeout", "to reach the back-end and be reached"),
                       ("duration", "end the session after this long"),
                       ("control-timeout", "bound of each control-script wait")):
        p.add_argument(f"--{name}", type=milliseconds, metavar="MS", help=what)
    p.add_argument("--control-script", metavar="FILE",
                   help="lines for the targets' control channels ({control} in a command)")
    p.add_argument("--fault-rule", action="append", default=[], metavar="RULE",
                   help="drop:MSG, delay:MSG:MS, corrupt:MSG[:OFF[:XOR]], duplicate:MSG, "
                        "inject-map:K=V,... (repeatable)")
    p.add_argument("--record", metavar="FILE", help="write the trace file here too")
    p.add_argument("--out", "-o", metavar="DIR",
                   help=f"report dir (default: {paths.out_label()}/monitor-<YYYYmmdd-HHMMSS>)")
    p.add_argument("--quiet", "-q", action="store_true", help="no live finding lines")


def monitor_args(args, out):
    """The vhucheck-monitor command line for these options."""
    cmd = [require_binary(), "--json", os.path.join(out, "monitor.json"),
           "--shmem-bit", str(args.shmem_bit), "--log-dir", os.path.join(out, "logs"),
           "--record", args.record or os.path.join(out, "session.vhutrace")]
    for opt in ("frontend_cmd", "listen", "backend_cmd", "connect", "control_script",
                "reply_timeout", "msg_timeout", "connect_timeout", "duration",
                "control_timeout"):
        value = getattr(args, opt)
        if value is not None:
            cmd += ["--" + opt.replace("_", "-"), str(value)]
    for rule in args.fault_rule:
        cmd += ["--fault-rule", rule]
    if args.quiet:
        cmd.append("--quiet")
    return cmd


def finding_line(f):
    idx = f" #{f['index']}" if f.get("index") else ""
    msg = f" {f['msg']}" if f.get("msg") else ""
    return (f"[{f['severity']}] {f['side']} {f['code']}{idx} {f['chan']}{msg}: "
            f"{f['text']} (digest {f['rule']})")


def check_case(name, title, rule, findings, trace):
    """One report case for one of the monitor's checks."""
    mine = [f for f in findings if f.get("check") == name]
    verdict = "PASS"
    for sev in ("info", "warn", "error"):
        if any(f["severity"] == sev for f in mine):
            verdict = SEVERITY_VERDICT[sev]
    first = next((f for f in mine if SEVERITY_VERDICT[f["severity"]] == verdict), None)
    failures = [{"line": f.get("index", 0), "grade": "MUST" if f["severity"] == "error"
                 else ("SHOULD" if f["severity"] == "warn" else "INFO"),
                 "expected": f"digest {f['rule']}", "observed": finding_line(f)}
                for f in mine][:MAX_FAILURES]
    return {
        "id": f"monitor_{name}", "title": f"{name}: {title}", "area": "monitor",
        "role": "monitor", "level": "MUST", "level_reason": "", "rule": rule,
        "requires": [], "file": "", "verdict": verdict,
        "reason": f"{len(mine)} finding(s)" if mine else "",
        "duration_ms": None, "expected": "no finding" if mine else "",
        "observed": finding_line(first) if first else "",
        "failures": failures, "failures_dropped": max(0, len(mine) - MAX_FAILURES),
        "findings": [{"code": f["code"], "severity": f["severity"], "msg": f.get("msg", ""),
                      "text": f["text"], "side": f["side"], "index": f.get("index", 0),
                      "rule": f["rule"]} for f in mine],
        "trace": trace, "target": {"pid": None, "exit": None, "signal": None},
        "stderr_tail": "", "expectation": None, "gate": X.judge(verdict, None),
        "reported_by": "monitor",
    }


def side_desc(rep, side):
    s = rep.get(side) or {}
    return s.get("cmd") or s.get("socket") or "?"


def document(rep, out, started, finished, duration_ms, trace_text):
    """A results.json document (docs/results-schema.md) for one session."""
    trace = results.read_trace(trace_text, out) if trace_text else None
    cases = [check_case(n, t, r, rep.get("findings", []), trace) for n, t, r in CHECKS]
    target = {"name": "monitor", "description": f"{side_desc(rep, 'frontend')} <-> "
              f"{side_desc(rep, 'backend')}", "role": "session", "harness_role": "monitor",
              "profile": None, "command": None, "connect": rep.get("backend", {}).get("socket"),
              "listen": rep.get("frontend", {}).get("socket"), "isolation": None,
              "faults": rep.get("fault_rules", [])}
    settings = {"shmem_bit": rep.get("shmem_bit"), "timeout_multiplier": 1.0, "jobs": 1,
                "cases": [], "exclude": [], "selected": len(cases), "expectations": None,
                "strict_expect": False, "harness": monitor_binary(),
                "build_dir": paths.build_dir(), "monitor": {
                    k: rep.get(k) for k in ("end", "messages", "negotiated", "counts",
                                            "frontend", "backend", "trace")}}
    return results.document(
        version=paths.project_version(__version__), target=target, settings=settings,
        cases=cases, not_run=[], harness={"path": monitor_binary(), "shares": []},
        faults=[], stale=[], strict=False, started=started, finished=finished,
        duration_ms=duration_ms, interrupted=False, signal=None)


def write_trace_text(trace_file, out):
    """The trace as text beside it (inlined into the report); None if absent."""
    if not os.path.isfile(trace_file):
        return None
    dest = os.path.join(out, "session.trace.txt")
    with open(dest, "w", encoding="utf-8") as f:
        subprocess.run([monitor_binary(), "--print-trace", trace_file], stdout=f,
                       stderr=subprocess.DEVNULL, check=False)
    return dest


def default_out():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(paths.default_out_root(), f"monitor-{stamp}")


def main(args):
    if not (args.frontend_cmd or args.listen) or not (args.backend_cmd or args.connect):
        raise ConfigError("each side needs a command or a socket: "
                          "--frontend-cmd or --listen, --backend-cmd or --connect")
    out = os.path.abspath(args.out or default_out())
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    cmd = monitor_args(args, out)
    started = datetime.datetime.now().astimezone()
    rc = subprocess.run(cmd, check=False).returncode
    finished = datetime.datetime.now().astimezone()
    if rc == EXIT_USAGE:
        return EXIT_USAGE
    try:
        with open(os.path.join(out, "monitor.json"), encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        raise HarnessError(f"vhucheck-monitor exited {rc} without a report: {e}") from None
    trace_text = write_trace_text(cmd[cmd.index("--record") + 1], out)
    doc = document(rep, out, started.isoformat(timespec="seconds"),
                   finished.isoformat(timespec="seconds"),
                   (finished - started).total_seconds() * 1000.0, trace_text)
    write_target(out, doc)
    print(results.one_line(doc))
    print(f"report: {paths.relpath(out)}")
    if rc == EXIT_HARNESS:
        return EXIT_HARNESS
    return EXIT_FAIL if rep.get("counts", {}).get("error") else 0
