"""vhucheck bench against: the references' faults found by fuzzing them
as outside programs, judged by the model (docs/fuzzing.md, "Fuzzing a
real implementation through cases").

For every fault of a role: RUNS campaigns, seeds 1..RUNS, of

    vhucheck fuzz FUZZER --against REF --fault F --seconds BUDGET --stop-at-first

(front-end: fuzz_shmem_sequence against ref-frontend; back-end:
fuzz_backend_replies against ref-backend), each ended after the batch of
its first finding. Per fault: how many runs found something, the median
seconds to the first finding over those runs (batch granularity: a batch
is --batch cases), and the first finding's signature. One campaign per
role without a fault, for the whole budget, counts the false findings
(they must be none: a finding there is the model's error or the
reference's).

The goal faults are the 21 front-end faults fuzz_shmem_sequence was
written for and the 12 back-end faults fuzz_backend_replies was
(--all-faults: every fault of the role). Writes bench.md and bench.json
under reports/out/bench-against-TIME/ and prints the markdown.
"""

import json
import os
import statistics
import subprocess
import sys
import time

from vhucheck import catalogue, paths
from vhucheck.errors import EXIT_FAIL, EXIT_OK, ConfigError

HELP = "faults of the references found by fuzzing them as outside programs"
DESCRIPTION = __doc__

ROLES = {"frontend": ("fuzz_shmem_sequence", "ref-frontend"),
         "backend": ("fuzz_backend_replies", "ref-backend")}
# Faults added after the fuzzers were written, outside the goal: the
# memory-table ones need a back-end that holds its answers; the belief
# ones (what a back-end concludes from a bent reply) and the main-channel
# one came with the back-end issue.
LATER = {"fe_memtable_blocks_backend", "fe_memtable_overcommit",
         "be_short_reply_as_success", "be_partial_reply_as_success",
         "be_split_header_lost", "be_reply_flags_unchecked", "be_reply_id_unchecked",
         "be_keeps_reply_fds", "be_no_reply_as_success", "be_blocks_main_while_waiting"}


def goal_faults(role, all_faults):
    names = [f.name for f in catalogue.load().values() if f.role == role]
    return sorted(n for n in names if all_faults or n not in LATER)


def campaign(role, fault, seed, budget, batch, jobs, out, live=False, target=None):
    """One campaign; its report.json (the document), or a dict with an
    error when it did not write one. live: fuzz --against --live."""
    fuzzer, ref = ROLES[role]
    args = [sys.executable, "-m", "vhucheck", "fuzz", fuzzer, "--against", target or ref,
            "--seconds", str(budget), "--seed", str(seed), "--jobs", str(jobs),
            "--batch", str(batch), "--out", out, "--reduce-seconds", "0"]
    args += ["--live"] if live else []
    args += ["--fault", fault, "--stop-at-first"] if fault else []
    env = dict(os.environ, PYTHONPATH=os.path.join(paths.top(), "runner"))
    t0 = time.monotonic()
    p = subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=budget + 600)
    try:
        with open(os.path.join(out, "report.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return {"error": (p.stderr.strip().splitlines() or [f"status {p.returncode}"])[-1]}
    doc["wall_s"] = round(time.monotonic() - t0, 1)
    return doc


def first_finding(doc):
    found = [f for f in doc.get("findings", []) if f.get("found_after_s") is not None]
    return min(found, key=lambda f: f["found_after_s"]) if found else None


def first_nonstrict(doc, clean_sigs):
    """The first NON-STRICT signature the fault-free run did not show."""
    new = [e for e in doc.get("non_strict", []) if e["signature"] not in clean_sigs]
    return min(new, key=lambda e: e["found_after_s"]) if new else None


def fault_row(fault, docs, clean_sigs):
    hits = [first_finding(d) for d in docs]
    times = [h["found_after_s"] for h in hits if h]
    first = next((h for h in hits if h), None)
    ns = [first_nonstrict(d, clean_sigs) for d in docs]
    ns_first = next((e for e in ns if e), None)
    return {"fault": fault, "runs": len(docs), "found": len(times),
            "median_s": round(statistics.median(times), 1) if times else None,
            "times_s": times, "cases": sum(d.get("cases", 0) for d in docs),
            "signature": first["signature"] if first else None,
            "non_strict": sum(1 for e in ns if e),
            "non_strict_signature": ns_first["signature"] if ns_first else None,
            "errors": [d["error"] for d in docs if "error" in d]}


def markdown(rows, clean, meta):
    lines = ["# Faults found by fuzzing the references as outside programs", "",
             f"{meta['runs']} seed(s) per fault, budget {meta['budget']} s each, "
             f"batches of {meta['batch']}, --jobs {meta['jobs']}; "
             f"{meta['started']}, {meta['wall_s']} s in all.", ""]
    for role in ROLES:
        rr = [r for r in rows if r["role"] == role]
        if not rr:
            continue
        fuzzer, target = ROLES[role]
        found = sum(1 for r in rr if r["found"] == r["runs"])
        lines += [f"## {target} ({fuzzer}): {found} of {len(rr)} faults found by every run", "",
                  "| fault | found | median s | first finding |", "| --- | ---: | ---: | --- |"]
        for r in rr:
            what = r["signature"] or " ".join(r["errors"])
            if not what and r["non_strict"]:
                what = (f"only NON-STRICT ({r['non_strict']}/{r['runs']}): "
                        f"{r['non_strict_signature']}")
            lines.append(f"| `{r['fault']}` | {r['found']}/{r['runs']} | "
                         f"{r['median_s'] if r['median_s'] is not None else '-'} | "
                         f"{(what or '-')[:140]} |")
        c = clean.get(role)
        if c:
            lines += ["", f"Without a fault: {c.get('cases', 0)} cases in "
                      f"{c.get('seconds', '?')} s, {len(c.get('findings', []))} findings"
                      + "".join(f"; `{f['signature'][:100]}`" for f in c.get("findings", []))]
        lines.append("")
    return "\n".join(lines) + "\n"


def add_arguments(p):
    p.add_argument("--role", choices=sorted(ROLES), action="append", default=[],
                   help="frontend, backend (default both)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="only these faults (default: the goal's)")
    p.add_argument("--all-faults", action="store_true",
                   help="every fault of the role, not only the goal's")
    p.add_argument("--runs", type=int, default=5, help="seeds per fault (default 5)")
    p.add_argument("--budget", type=int, default=60,
                   help="seconds per campaign (default 60)")
    p.add_argument("--batch", type=int, default=20, help="cases per batch (default 20)")
    p.add_argument("--jobs", type=int, default=2, help="cases in parallel (default 2)")
    p.add_argument("--no-clean", action="store_true",
                   help="skip the campaign without a fault")
    p.add_argument("--out", help="directory (default reports/out/bench-against-TIME)")


def main(args):
    if args.runs < 1 or args.budget < 1 or args.batch < 1 or args.jobs < 1:
        raise ConfigError("--runs, --budget, --batch and --jobs must be at least 1")
    roles = args.role or sorted(ROLES, reverse=True)
    out = os.path.abspath(args.out or os.path.join(
        paths.default_out_root(), "bench-against-" + time.strftime("%Y%m%d-%H%M%S")))
    os.makedirs(out, exist_ok=True)
    started, t0 = time.strftime("%Y-%m-%d %H:%M"), time.monotonic()
    rows, clean = [], {}
    for role in roles:
        faults = goal_faults(role, args.all_faults)
        if args.fault:
            every = goal_faults(role, True)
            faults = [f for f in every if f in args.fault]
        if faults and not args.no_clean:
            clean[role] = campaign(role, None, 1, args.budget, args.batch, args.jobs,
                                   os.path.join(out, role, "no-fault"))
        clean_sigs = {e["signature"] for e in clean.get(role, {}).get("non_strict", [])}
        for fault in faults:
            docs = [campaign(role, fault, seed, args.budget, args.batch, args.jobs,
                             os.path.join(out, role, fault, f"seed{seed}"))
                    for seed in range(1, args.runs + 1)]
            row = dict(fault_row(fault, docs, clean_sigs), role=role)
            rows.append(row)
            print(f"bench against: {fault}: {row['found']}/{row['runs']}, median "
                  f"{row['median_s']} s", file=sys.stderr)
    meta = {"runs": args.runs, "budget": args.budget, "batch": args.batch,
            "jobs": args.jobs, "started": started, "wall_s": round(time.monotonic() - t0)}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"meta": meta, "faults": rows, "clean": clean}, f, indent=1)
    md = markdown(rows, clean, meta)
    with open(os.path.join(out, "bench.md"), "w") as f:
        f.write(md)
    print(md)
    missed = any(r["found"] < r["runs"] for r in rows)
    false = any(c.get("findings") or "error" in c for c in clean.values())
    return EXIT_FAIL if missed or false else EXIT_OK
