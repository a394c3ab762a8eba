"""vhucheck bench live: live mode against the batches of cases and the
target's own ceiling (docs/fuzzing.md, "Live mode").

Rates, per target (ref-frontend, ref-backend; qemu-shmem too when
$VHUCHECK_QEMU names a binary), each run for --seconds, side by side:

  ceiling   vhu-fuzzlive --pingpong (vhu-fuzzlive-be --pingpong for a
            back-end): one MAP and its UNMAP, over and over,
            with a reply each and nothing judged: the target answering as
            fast as it can
  live      fuzz --against T --live without a fault: operations (messages
            and control commands) per second over the whole campaign
            (restarts, confirmations included), and inside the streams
  cases     fuzz --against T --jobs 2 (batches of cases, a fresh target
            per case): cases per second times the operations per case
            (the `send`, `control` and `handshake` steps of the last
            batch's cases)

Faults (--runs seeds, --budget seconds, unless --no-faults): every goal
fault of the reference front-end and back-end (bench_against.goal_faults;
--role one of them), found by `fuzz --against ref-frontend|ref-backend
--live --stop-at-first`, and per role one campaign without a fault,
whose findings must be none. Writes bench.md and
bench.json under reports/out/bench-live-TIME/ and prints the markdown.
"""

import glob
import json
import os
import re
import statistics
import subprocess
import sys
import time

from vhucheck import paths
from vhucheck.bench import against as BA
from vhucheck.fuzz import live as fuzzlive
from vhucheck.errors import EXIT_FAIL, EXIT_OK, ConfigError

HELP = "live mode: operations per second, faults found"
DESCRIPTION = __doc__
QEMU_REGIONS = "1m,1m,0,2m"     # QEMU v11 aborts unless the sizes add up to a power of two


class _Args:
    def __init__(self, target, regions):
        self.against, self.regions, self.command, self.fault = target, regions, None, []


def ceiling(target, regions, seconds, out):
    """vhu-fuzzlive --pingpong: the target's MAP/UNMAP ops/s."""
    cmd, env, bit = fuzzlive.target_command(_Args(target, regions))
    os.makedirs(out, exist_ok=True)
    argv = [fuzzlive.binary(fuzzlive.is_backend(target)), "--target-cmd", cmd, "--out", out, "--shmem-bit", str(bit),
            "--seconds", str(seconds), "--pingpong", "--log", os.path.join(out, "pingpong.log")]
    argv += ["--regions", regions] if regions else []
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=seconds + 120)
    ends = [json.loads(ln) for ln in p.stdout.splitlines() if '"end"' in ln]
    if not ends:
        return {"error": (p.stderr.strip().splitlines() or [f"status {p.returncode}"])[-1]}
    return {"ops_per_sec": ends[-1]["ops_per_sec"], "ops": ends[-1]["ops"]}


def fuzz(target, regions, seconds, out, live):
    args = [sys.executable, "-m", "vhucheck", "fuzz", fuzzlive.fuzzer_of(target),
            "--against", target,
            "--seconds", str(seconds), "--seed", "1", "--out", out, "--reduce-seconds", "0"]
    # batches at --jobs 2, as `bench against` measured them: today's best
    args += ["--live"] if live else ["--jobs", "2"]
    args += ["--regions", regions] if regions else []
    env = dict(os.environ, PYTHONPATH=os.path.join(paths.top(), "runner"))
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=seconds + 900)
    try:
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ops_per_case(out):
    """The send, control and handshake steps per case of the last batch
    (a handshake counted as one operation)."""
    counts = []
    for path in glob.glob(os.path.join(out, "batches", "cases", "*", "*.vhu")):
        with open(path) as f:
            counts.append(sum(1 for ln in f
                              if re.match(r"\s*(send|control|handshake)( |$)", ln)))
    return statistics.mean(counts) if counts else 0.0


def rates(target, regions, seconds, out):
    row = {"target": target, "ceiling": ceiling(target, regions, seconds,
                                                 os.path.join(out, "ceiling"))}
    doc = fuzz(target, regions, seconds, os.path.join(out, "live"), True)
    lv = (doc or {}).get("live", {})
    row["live"] = {"ops_per_sec": lv.get("ops_per_sec_wall"), "in_stream": lv.get("ops_per_sec"),
                   "restarts": lv.get("restarts"), "states": lv.get("states"),
                   "findings": len((doc or {}).get("findings", []))}
    doc = fuzz(target, regions, seconds, os.path.join(out, "cases"), False)
    per = ops_per_case(os.path.join(out, "cases"))
    cps = (doc or {}).get("cases_per_sec") or 0.0
    row["cases"] = {"cases_per_sec": cps, "ops_per_case": round(per, 1),
                    "ops_per_sec": round(cps * per, 1)}
    base, ceil = row["cases"]["ops_per_sec"], row["ceiling"].get("ops_per_sec")
    if row["live"]["ops_per_sec"]:
        row["vs_cases"] = round(row["live"]["ops_per_sec"] / base, 1) if base else None
        row["vs_ceiling"] = round(row["live"]["ops_per_sec"] / ceil, 2) if ceil else None
    return row


def markdown(rows, faults, clean, meta):
    lines = ["# Live mode", "", f"{meta['started']}, {meta['wall_s']} s in all"
             + (f"; rates over {meta['seconds']} s each, side by side." if rows else "."), ""]
    if rows:
        lines += ["| target | ceiling (pingpong) ops/s | live ops/s (in the streams) | "
                  "cases ops/s (cases/s x ops) | live / cases | live / ceiling |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        c, lv, cs = r["ceiling"], r["live"], r["cases"]
        lines.append(f"| {r['target']} | {c.get('ops_per_sec', c.get('error'))} | "
                     f"{lv['ops_per_sec']} ({lv['in_stream']}) | {cs['ops_per_sec']} "
                     f"({cs['cases_per_sec']} x {cs['ops_per_case']}) | "
                     f"{r.get('vs_cases')}x | {r.get('vs_ceiling')} |")
    for role in BA.ROLES:
        rr = [r for r in faults if r.get("role", "frontend") == role]
        if not rr:
            continue
        found = sum(1 for r in rr if r["found"] == r["runs"])
        lines += ["", f"## {BA.ROLES[role][1]}, live: {found} of {len(rr)} faults found by "
                  f"every run ({meta['runs']} seeds, {meta['budget']} s each)", "",
                  "| fault | found | median s | first finding |", "| --- | ---: | ---: | --- |"]
        lines += [f"| `{r['fault']}` | {r['found']}/{r['runs']} | "
                  f"{r['median_s'] if r['median_s'] is not None else '-'} | "
                  f"{(r['signature'] or ' '.join(r['errors']) or '-')[:140]} |" for r in rr]
    for role, doc in (clean or {}).items():
        lv = doc.get("live", {})
        lines += ["", f"Without a fault ({BA.ROLES[role][1]}): {lv.get('ops', 0)} operations "
                  f"in {doc.get('seconds', '?')} s, {len(doc.get('findings', []))} findings, "
                  f"{lv.get('states', 0)} states"]
    return "\n".join(lines) + "\n"


def add_arguments(p):
    p.add_argument("--seconds", type=int, default=20, help="each rate's run (default 20)")
    p.add_argument("--runs", type=int, default=5, help="seeds per fault (default 5)")
    p.add_argument("--budget", type=int, default=60, help="seconds per fault run (default 60)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="only these faults (default: the goal faults, 21 of the front-end "
                        "and 12 of the back-end)")
    p.add_argument("--role", choices=("frontend", "backend", "both"), default="both",
                   help="the faults and rates of this reference only (default both)")
    p.add_argument("--no-faults", action="store_true", help="rates only")
    p.add_argument("--no-rates", action="store_true", help="faults only")
    p.add_argument("--out", help="directory (default reports/out/bench-live-TIME)")


def main(args):
    if args.runs < 1 or args.budget < 1 or args.seconds < 1:
        raise ConfigError("--runs, --budget and --seconds must be at least 1")
    out = os.path.abspath(args.out or os.path.join(
        paths.default_out_root(), "bench-live-" + time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.monotonic()
    rows, faults, clean = [], [], {}
    roles = list(BA.ROLES) if args.role == "both" else [args.role]
    targets = [(BA.ROLES[r][1], None) for r in roles]
    if "frontend" in roles and os.path.isfile(os.environ.get("VHUCHECK_QEMU", "")):
        targets.append(("qemu-shmem", QEMU_REGIONS))
    for target, regions in ([] if args.no_rates else targets):
        rows.append(rates(target, regions, args.seconds, os.path.join(out, "rates", target)))
        print(f"bench live: {target}: {rows[-1]}", file=sys.stderr)
    for role in ([] if args.no_faults else roles):
        clean[role] = BA.campaign(role, None, 1, args.budget, 20, 1,
                                  os.path.join(out, "faults", f"no-fault-{role}"), live=True)
        names = [f for f in BA.goal_faults(role, False) if not args.fault or f in args.fault]
        for fault in names:
            docs = [BA.campaign(role, fault, seed, args.budget, 20, 1,
                                os.path.join(out, "faults", fault, f"seed{seed}"), live=True)
                    for seed in range(1, args.runs + 1)]
            faults.append(dict(BA.fault_row(fault, docs, set()), role=role))
            print(f"bench live: {fault}: {faults[-1]['found']}/{faults[-1]['runs']}, median "
                  f"{faults[-1]['median_s']} s", file=sys.stderr)
    meta = {"seconds": args.seconds, "runs": args.runs, "budget": args.budget,
            "started": started, "wall_s": round(time.monotonic() - t0)}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"meta": meta, "rates": rows, "faults": faults, "clean": clean}, f, indent=1)
    md = markdown(rows, faults, clean, meta)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    missed = any(r["found"] < r["runs"] for r in faults)
    dirty = any(doc.get("findings") for doc in clean.values())
    return EXIT_FAIL if missed or dirty else EXIT_OK
