"""Live mode: one target process, operations streamed into it.

    ./vhucheck fuzz --against ref-frontend --live --fault fe_no_overlap_check --seconds 60
    ./vhucheck fuzz --against qemu-shmem --live --regions 1m,1m,0,2m --seconds 300
    ./vhucheck fuzz --against ref-backend --live --fault be_reply_id_unchecked --seconds 60

A back-end is driven by build/fuzzers/vhu-fuzzlive-be (fuzzers/belive.c)
in the same way, the harness as its front-end: its violations are
fuzz_backend_replies inputs, and everything below holds for both.

The C driver (build/fuzzers/vhu-fuzzlive, fuzzers/fuzzlive.c) launches
the target once, plays the back-end, and streams MAP/UNMAP, bent
messages and control stop/start/reset into it, judging each answer and
/proc observation with the shadow model as it goes. This module only
launches it and keeps what it finds: the driver stops at the first
violation and writes the operations since the last reset (the last state
known good) as a fuzz_shmem_sequence input; that input becomes a case
through vhu-fuzzcase (the one emitter), the case is run against a fresh
target (`vhucheck run`) and its verdict signs the finding exactly as
`fuzz --against` signs one (fuzzreal.signature), then reduction. A
violation the case does not reproduce is counted as unconfirmed, not
kept. Then the driver is started again, with the protocol states seen so
far (--states) and, for every signature already found or known, the
operation kind and model verdict that led to it (--avoid), so that the
campaign does not pay for the same finding twice.
"""

import json
import os
import subprocess
import sys
import time

from vhucheck import paths, profile as P, run as R
from vhucheck.fuzz import against as fuzzreal, cases as fuzzcases, emit as fuzzemit
from vhucheck.errors import ConfigError, HarnessError

FUZZER = "fuzz_shmem_sequence"    # a front-end driver's operations are its records
BACKEND_FUZZER = "fuzz_backend_replies"   # a back-end driver's
DRIVER_GRACE_S = 60               # past --seconds: a start, a last reply


def is_backend(against):
    """Whether the target is a back-end (the harness plays the front-end)."""
    return P.resolve(against).harness_role == "frontend"


def fuzzer_of(against):
    """The fuzzer whose records the live driver for this target writes."""
    return BACKEND_FUZZER if is_backend(against) else FUZZER


def binary(backend=False):
    return os.path.join(paths.build_dir(), "fuzzers",
                        "vhu-fuzzlive-be" if backend else "vhu-fuzzlive")


def target_command(args):
    """The profile's command with {build}, the SHMEM bit and the faults
    filled in (as `run` does), its environment, and the bit."""
    prof = P.resolve(args.against)
    if prof.connect or not prof.command:
        raise ConfigError(f"--live: {prof.name} is not launched by the harness")
    if args.command is not None:
        prof = R.check_exec_command([R.exec_channels(prof, args.command)], args.command)[0]
    if args.fault and not prof.faults:
        raise ConfigError(f"--fault: {prof.name} takes no faults")
    build = paths.build_dir()
    bit = P.effective_shmem_bit(prof, getattr(args, "shmem_bit", None))
    cmd = P.expand(prof.command, build, bit) + "".join(f" --fault={f}" for f in args.fault)
    env = dict(os.environ, VHUCHECK_BUILD_DIR=build)
    for key, value in prof.env:
        env[key] = P.expand(value, build, bit, quote=False)
    return cmd, env, bit


def avoid_of(event):
    """The --avoid KIND:RULE that keeps the driver off a violation's
    operation: a message's kind and the model's verdict on it; for a
    control command, the reset or stop that led to it (a start is what
    every segment needs: never avoided). A back-end's: the request and
    the reply kind it got (map:short), the refusal's rule, a config; a
    violation of the request itself (its shape) is never avoided."""
    kind, verdict = event.get("kind"), event.get("verdict") or ""
    if event.get("role") == "backend":
        if kind in ("reset", "config"):
            return f"{kind}:"
        return f"{kind}:{verdict}" if verdict and kind in ("map", "unmap", "refusal") \
            else None
    if kind in ("reset", "stop"):
        return f"{kind}:"
    if kind == "start":
        return f"{event['after']}:" if event.get("after") in ("reset", "stop") else None
    # An accepted UNMAP or rw MAP: every good one; too wide to avoid.
    if verdict in ("", "accepted", "accepted rw") or kind not in ("map", "unmap", "other"):
        return None
    return f"{kind}:{verdict}"


def state_avoid_of(event):
    """What a front-end's violation says of the state that led to it: a
    request while the device was stopped (the model refuses it by choice)
    that the target did not survive keeps the stream off stops."""
    if event.get("role") == "backend" or event.get("class") == "FAIL":
        return None
    return "stop:" if (event.get("verdict") or "").startswith("10: device not started") \
        else None


def known_rule_of(event):
    """The --known-rule KIND:RULE of a FAIL the driver may go past."""
    if event.get("class") != "FAIL" or event.get("role") == "backend":
        return None
    return f"{event['kind']}:{event['rule']}"


UNCONFIRMED_ENOUGH = 2      # a violation no case shows, this often: gone past


class Live:
    """What a live campaign adds to fuzzreal.Campaign: the driver's
    counts, restarts, unconfirmed violations, the cost of known ones."""

    def __init__(self):
        self.ops = self.messages = self.controls = self.restarts = self.recycles = 0
        self.states = self.open_choices = self.avoided = self.adopted = 0
        self.driver_s = 0.0          # time inside the driver's streams
        self.spent_known_s = 0.0     # segments and restarts that ended on known signatures
        self.unconfirmed = {}        # driver signature -> count
        self.avoid = []
        self.known_rules = []        # FAILs signed already (or never shown by a case)
        self.should = 0              # SHOULD rules missed (NON-STRICT, not findings)
        self.absorbed = 0
        self.edges = None            # --edges: the target's edges seen (None: no map)
        self.edge_buckets = 0
        self.asked_edges = False

    def add_end(self, end):
        self.ops += end.get("ops", 0)
        self.messages += end.get("messages", 0)
        self.controls += end.get("controls", 0)
        self.states = max(self.states, end.get("states", 0))
        self.open_choices += end.get("open_choices", 0)
        self.avoided += end.get("avoided", 0)
        self.adopted += end.get("adopted", 0)
        self.absorbed += end.get("absorbed", 0)
        self.should += end.get("should", 0)
        self.driver_s += end.get("seconds", 0.0)
        if end.get("edges") is not None:    # cumulative: the map is kept beside --states
            self.edges = max(self.edges or 0, end["edges"])
            self.edge_buckets += end.get("new_edge_buckets", 0)

    def summary(self, wall_s):
        return {"ops": self.ops, "messages": self.messages, "controls": self.controls,
                "ops_per_sec": round(self.ops / self.driver_s, 1) if self.driver_s else 0.0,
                "ops_per_sec_wall": round(self.ops / wall_s, 1) if wall_s else 0.0,
                "states": self.states, "restarts": self.restarts,
                "recycles": self.recycles,
                "open_choices": self.open_choices, "avoided": self.avoided,
                "adopted": self.adopted, "absorbed": self.absorbed,
                "should_missed": self.should,
                "known_rules": self.known_rules,
                "avoid": self.avoid, "unconfirmed": self.unconfirmed,
                "edges": self.edges, "new_edge_buckets": self.edge_buckets,
                "share_on_known": round(self.spent_known_s / wall_s, 3) if wall_s else 0.0}


def run_driver(args, cmd, env, bit, out, seconds, seed, live):
    """One stream: the driver's events (violation or None, end)."""
    logs = os.path.join(out, "logs")
    argv = [binary(is_backend(args.against)), "--target-cmd", cmd, "--out", os.path.join(out, "slices"),
            "--shmem-bit", str(bit), "--seconds", str(max(1, int(seconds))),
            "--seed", str(seed), "--states", os.path.join(out, "states.bin"),
            "--log", os.path.join(logs, f"target-{live.restarts}.log")]
    argv += ["--regions", args.regions] if args.regions else []
    argv += ["--edges"] if getattr(args, "edges", False) else []
    for a in live.avoid:
        argv += ["--avoid", a]
    for k in live.known_rules:
        argv += ["--known-rule", k]
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        so, se = p.communicate(timeout=seconds + DRIVER_GRACE_S)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise HarnessError(f"{os.path.basename(argv[0])} overran "
                           f"{seconds + DRIVER_GRACE_S:.0f} s") from None
    except KeyboardInterrupt:
        p.terminate()
        p.communicate()
        raise
    if p.returncode not in (0, 1):
        raise HarnessError(f"{os.path.basename(argv[0])} (status {p.returncode}): "
                           + (se.strip().splitlines() or ["no message"])[-1])
    events = [json.loads(ln) for ln in so.splitlines() if ln.startswith("{")]
    with open(os.path.join(out, "stream.jsonl"), "a") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    viol = next((e for e in events if e.get("event") == "violation"), None)
    end = next((e for e in events if e.get("event") == "end"), {})
    return viol, end


def confirm(camp, live, args, env, viol, out, k):
    """The violation's slice as a case, run against a fresh target: its
    verdict signs it (kept, counted as known, or unconfirmed)."""
    suite_dir = os.path.join(out, "batches", f"live-{k}")
    area = os.path.join(suite_dir, fuzzreal.BATCH_AREA)
    final_reset = "reset:" not in live.avoid
    got = fuzzemit.emit(fuzzer_of(args.against), [viol["slice"]], area, args.regions,
                        final_reset=final_reset,
                        note=f"live stream, {viol['class']} at operation {viol['op']}: "
                             f"{viol['rule']} ({viol['observed'][:120]})")
    if not any(kind in ("case", "dup") for kind, _ in got):
        live.unconfirmed[f"{viol['class']}: {viol['rule']} (no case)"] = \
            live.unconfirmed.get(f"{viol['class']}: {viol['rule']} (no case)", 0) + 1
        return None
    run_dir = os.path.join(out, "batches", f"run-{k}")
    cases = fuzzreal.run_batch(args.against, suite_dir, run_dir, 1, args.fault, env,
                               command=args.command, limit_s=300,
                               backtrace=getattr(args, "backtrace", False))
    before = set(camp.findings) | set(camp.known_hits)
    camp.add(cases, suite_dir)
    hits = [c for c in cases if fuzzreal.is_finding(c)]
    if not hits:
        sig = f"{viol['class']}: {viol['rule']} ({viol['kind']})"
        live.unconfirmed[sig] = live.unconfirmed.get(sig, 0) + 1
        return None
    sig = fuzzreal.signature(hits[0])
    if final_reset and crashed_at_the_end(hits[0]):
        # The case's closing reset crashed the target: that crash is
        # signed (above); the violation the stream stopped for is shown
        # by the same case without it, and later cases leave it out.
        live.avoid.append("reset:")
        return confirm(camp, live, args, env, viol, out, f"{k}-no-reset")
    also = fail_under_close_crash(camp, hits[0], suite_dir)
    if also:        # what the model saw, which the crash at the close outranks
        sig = also
    entry = camp.findings.get(sig)
    if entry is not None:
        entry.setdefault("final_reset", final_reset)
        entry.setdefault("live", {"operation": viol["op"], "class": viol["class"],
                                  "rule": viol["rule"], "observed": viol["observed"]})
    return sig, sig in before or camp.is_known(sig)


def crashed_at_the_end(case):
    """Whether a case crashed in its closing reset or when the harness
    closed its channels after it."""
    return case.get("verdict") == "CRASH" and (
        "closed its channels" in (case.get("reason") or "")
        or (case.get("fuzz_step") or {}).get("kind") == "final-reset")


def fail_under_close_crash(camp, case, suite_dir):
    """A case that failed a MUST step and then crashed only when the
    harness closed its channels (the SHMEM QEMU's known abort) is CRASH,
    and its signature hides the failure the stream stopped for: the
    failure is kept too, under its own FAIL signature. Returns that
    signature, or None."""
    if case.get("verdict") != "CRASH" or "closed its channels" not in (case.get("reason") or ""):
        return None
    step = case.get("fuzz_step") or fuzzemit.failed_step(
        case, os.path.join(suite_dir, fuzzreal.BATCH_AREA))
    if not step or not any(f.get("grade") == "MUST" for f in case.get("failures") or []):
        return None
    fail = dict(case, verdict="FAIL", crash=None, fuzz_step=step,
                reason="")
    sig = fuzzreal.signature(fail)
    if camp.is_known(sig):
        camp.known_hits[sig] = camp.known_hits.get(sig, 0) + 1
    elif fuzzreal.keep_finding(camp.findings, fail, suite_dir, os.path.join(camp.out, "findings")):
        camp.findings[sig]["found_after_s"] = round(time.monotonic() - camp.started, 1)
        camp.findings[sig]["under"] = fuzzreal.signature(case)
        print(f"vhucheck fuzz: new: {sig} ({case['id']}, under a crash at the close)",
              file=sys.stderr)
    return sig


def campaign(args, out, env0):
    """Streams until --seconds; returns (Campaign, interrupted signal or 0)."""
    fuzzcases.check_regions(args.regions)
    fuzzer = fuzzer_of(args.against)
    driver = binary(fuzzer == BACKEND_FUZZER)
    if not os.path.isfile(driver):
        raise HarnessError(f"{paths.relpath(driver)}: not built (ninja -C "
                           f"{paths.relpath(paths.build_dir())})")
    cmd, env, bit = target_command(args)
    env["PYTHONPATH"] = env0.get("PYTHONPATH", "")
    for d in ("slices", "logs", "batches"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    camp = fuzzreal.Campaign(fuzzer, args.against, out,
                             fuzzreal.load_known(getattr(args, "known", None), args.against))
    live = Live()
    live.asked_edges = getattr(args, "edges", False)
    meta = {"fuzzer": fuzzer, "target": args.against, "seed": seed, "regions": args.regions,
            "known": getattr(args, "known", None), "command": args.command,
            "faults": args.fault, "corpus": "(live: generated from the model's state)",
            "mode": "live"}
    deadline = time.monotonic() + args.seconds
    interrupted = 0
    try:
        while time.monotonic() < deadline - 0.5:
            started = time.monotonic()
            viol, end = run_driver(args, cmd, env, bit, out, deadline - started,
                                   seed + live.restarts + live.recycles, live)
            live.add_end(end)
            if end.get("recycled"):     # an avoided reset: a new process instead
                live.recycles += 1
                continue
            if not viol:
                break
            live.restarts += 1
            signed = confirm(camp, live, args, env, viol, out, live.restarts)
            cost = time.monotonic() - started - end.get("seconds", 0.0) \
                + viol.get("segment_ms", 0) / 1000.0
            if signed and signed[1]:
                live.spent_known_s += cost
            for avoid in (avoid_of(viol), state_avoid_of(viol)):
                if signed and avoid and avoid not in live.avoid:
                    live.avoid.append(avoid)
            # A FAIL signed already, or one its case keeps not showing:
            # the stream goes past it from now on, and counts it.
            rule = known_rule_of(viol)
            seen = live.unconfirmed.get(f"{viol['class']}: {viol['rule']} ({viol['kind']})", 0)
            if rule and rule not in live.known_rules and (
                    signed or seen >= UNCONFIRMED_ENOUGH):
                live.known_rules.append(rule)
            if args.stop_at_first and camp.findings:
                break
    except KeyboardInterrupt as e:
        interrupted = int(getattr(e, "signum", 2))
        meta["interrupted"] = True
    except HarnessError as e:      # the report still says what was found
        meta["error"] = str(e)
        print(f"vhucheck fuzz: {e}", file=sys.stderr)
    if not interrupted:
        # A failure under a crash at the close: its case reduces to the
        # crash (the verdict), which would say nothing of the failure.
        under = {k: f for k, f in camp.findings.items() if f.get("under")}
        for k, f in under.items():
            del camp.findings[k]
            f["reduce_error"] = f"its case's verdict is the crash it is under ({f['under']})"
        fuzzreal.reduce_findings(camp, args)
        camp.findings.update(under)
    meta["live"] = live.summary(time.monotonic() - camp.started)
    meta["live"]["edges_asked"] = live.asked_edges
    text = camp.report(meta)
    text += "\n" + markdown(meta["live"])
    with open(os.path.join(out, "report.md"), "a") as f:
        f.write(markdown(meta["live"]))
    print(text)
    return camp, interrupted


def markdown(s):
    lines = ["## Live stream", "",
             f"- {s['ops']} operations ({s['messages']} messages, {s['controls']} control "
             f"commands), {s['ops_per_sec']}/s in the stream, {s['ops_per_sec_wall']}/s "
             "over the campaign",
             f"- protocol states (request, reply, live-set shape): {s['states']}",
             f"- target restarts: {s['restarts']} after a violation, {s['recycles']} in "
             "place of an avoided reset",
             f"- time on known signatures: {100 * s['share_on_known']:.0f}%"
             + (f"; kept off afterwards: {', '.join(s['avoid'])}" if s["avoid"] else ""),
             f"- FAILs already signed (or never shown by their case) gone past: "
             f"{s.get('absorbed', 0)}"
             + (f" ({'; '.join(s['known_rules'])})" if s.get("known_rules") else ""),
             f"- steps the digest leaves open that went the other way: {s['open_choices']}"
             + (f" ({s['adopted']} taken as the target chose)" if s.get("adopted") else "")]
    if s.get("edges_asked"):
        lines.append(f"- the target's edge coverage (AFL++): {s['edges']} edges, "
                     f"{s['new_edge_buckets']} new hit-count buckets"
                     if s.get("edges") is not None else
                     "- the target's edge coverage: none (not built with AFL++ "
                     "instrumentation; the states alone guided the stream)")
    if s.get("should_missed"):
        lines.append(f"- SHOULD rules the target missed (NON-STRICT, no finding): "
                     f"{s['should_missed']} (12H: a reply's fds kept open)")
    lines += [f"- unconfirmed (the case did not reproduce it): {k}: {n}"
              for k, n in s["unconfirmed"].items()]
    return "\n".join(lines) + "\n"
