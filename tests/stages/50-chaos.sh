#!/bin/sh
# stage: chaos stress
#
# The whole suite, both roles, against vhu-chaos (targets/chaos), a target
# that misbehaves on purpose: every mode in turn, then modes picked from
# the seed, a new seed per case, over socketpairs and unix sockets. The
# harness must not hang, crash, leak an fd, leave a process behind, lose
# a result or overrun a deadline, whatever the target does. Each property
# is one test; the numbers go to reports/out/chaos/last-run.md
# (bench/chaos/last-run.md with VHU_RECORD_BENCH=1). docs/chaos.md.
#
# usage: sh tests/stages/50-chaos.sh TOPDIR
# env:   VHU_CHAOS_BUILD (build dir, default TOPDIR/build)
#        VHU_CHAOS_MULT (timeout multiplier, default 0.2)
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHU_CHAOS_BUILD:-$top/build}
cd "$top" || exit 2

. "$top/tests/lib/stage.sh"
stage_build_or_skip "chaos" "$build" harness/vhucheck-harness targets/vhu-chaos

exec python3 - "$top" "$build" "${VHU_CHAOS_MULT:-0.2}" <<'PY'
import collections, json, os, re, signal, subprocess, sys, tempfile, time

TOP, BUILD, MULT = sys.argv[1], sys.argv[2], float(sys.argv[3])
HARNESS = os.path.join(BUILD, "harness", "vhucheck-harness")
CHAOS = os.path.join(BUILD, "targets", "vhu-chaos")
PARALLEL = 4                 # harness processes at once (they mostly wait)
STOP_GRACE_MS = 200          # TARGET_STOP_GRACE_MS, harness/core/target.h
OVERSHOOT_MAX_MS = STOP_GRACE_MS + 300
ESCAPE_S = 2                 # CHAOS_ACT_ESCAPE_S, targets/chaos/chaos_act.h
STAGE_BUDGET_S = 170
VERDICTS = {"PASS", "FAIL", "NON-STRICT", "INFO", "UNSUPPORTED", "TIMEOUT",
            "DEADLOCK", "CRASH", "ERROR"}
REQUIRED = ("id", "file", "verdict", "duration_ms", "reason", "failures",
            "findings", "target")
CRASH_ACTS = {"segv": "SIGSEGV", "abort": "SIGABRT", "eof-segv": "SIGSEGV"}
TAG = "vhuchaos-%d" % os.getpid()


class Tally:
    def __init__(self):
        self.passed = self.failed = 0
        self.failures = []

    def test(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("  ok   %s" % name)
        else:
            self.failed += 1
            self.failures.append("%s: %s" % (name, detail))
            print("  FAIL %s: %s" % (name, detail))
        sys.stdout.flush()


OTHER = {"backend": "frontend", "frontend": "backend"}


def header(path, key, default=None):
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*%s\s+(\S+)" % key, line)
            if m:
                return m.group(1)
    return default


def case_timeout_ms(path):
    return int(header(path, "timeout", "5000")) * MULT


# ---- processes carrying a tag ----

def proc_stat(pid):
    """(state, ppid, pgrp, session) or None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return f[0], int(f[1]), int(f[2]), int(f[3])


def tagged(tag):
    """Live processes whose argv has --tag=TAG (or, for a bytes tag, that
    argument): pid -> (state, ppid, pgrp, sid)."""
    want = tag if isinstance(tag, bytes) else b"--tag=" + tag.encode() + b"\0"
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if want not in f.read():
                    continue
        except OSError:
            continue
        st = proc_stat(d)
        if st and st[0] != "Z":
            out[int(d)] = st
    return out


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---- shards: one harness process each ----

class Shard:
    def __init__(self, name, hrole, transport, mode, seed, cases, work):
        self.name, self.hrole, self.transport = name, hrole, transport
        self.mode, self.seed, self.cases = mode, seed, cases
        self.tag = "%s-%s" % (TAG, name)
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "trace"))
        self.proc = None
        self.killed = False
        self.max_groups = 0      # target process groups alive at once
        self.over = 0            # consecutive samples above one
        self.budget = sum(case_timeout_ms(c) / 1000 + 2.5 for c in cases) + 10

    def target_cmd(self):
        trole = "frontend" if self.hrole == "backend" else "backend"
        conn = "--fd={fd}" if self.transport == "fd" else "--socket-path={socket}"
        return ("'%s' --role=%s %s --control-fd={control} --shmem-bit={shmem_bit} "
                "--mode=%s --seed=%d --seed-seq='%s/seq' --note-parent-fds='%s/pfds' "
                "--tag=%s" % (CHAOS, trole, conn, self.mode, self.seed, self.dir,
                              self.dir, self.tag))

    def start(self):
        argv = [HARNESS, "--target-role", OTHER[self.hrole], "--timeout-multiplier", str(MULT),
                "--trace-dir", os.path.join(self.dir, "trace"),
                "--json", os.path.join(self.dir, "results.jsonl"),
                "--target-cmd", self.target_cmd()] + self.cases
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "harness.stdout"), "w"),
            stderr=open(os.path.join(self.dir, "harness.stderr"), "w"),
            start_new_session=True)

    def sample(self):
        """Counts the target process groups alive now. A target that left
        its group for the harness's counts as one group of its own."""
        hp = self.proc.pid
        groups = set()
        for pid, (state, ppid, pgrp, sid) in tagged(self.tag).items():
            if pid == sid:
                continue          # fork-escape: outside, by design
            groups.add(pid if pgrp == hp else pgrp)
        n = len(groups)
        self.over = self.over + 1 if n > 1 else 0
        if self.over >= 2:        # not a spawn racing a reap
            self.max_groups = max(self.max_groups, n)

    def overdue(self):
        return time.monotonic() - self.t0 > self.budget


def make_shards(work):
    cases = sorted(os.path.join("suites", a, c)
                   for a in os.listdir("suites") if os.path.isdir(os.path.join("suites", a))
                   for c in os.listdir(os.path.join("suites", a)) if c.endswith(".vhu"))
    by_role = {"backend": [], "frontend": []}
    for c in cases:
        by_role[OTHER[header(c, "target")]].append(c)   # by the harness's side
    shards, seed = [], 1000
    for pas, mode in ((0, "cycle"), (1, "random")):
        for hrole in ("backend", "frontend"):
            lst = by_role[hrole]
            parts = [lst[0::2], lst[1::2]] if len(lst) > 120 else [lst]
            for i, part in enumerate(parts):
                transport = ("fd", "socket")[(i + pas) % 2]
                name = "%s-h%s-%d" % (mode, hrole[0], i)
                shards.append(Shard(name, hrole, transport, mode, seed, part, work))
                seed += 1000
    return shards


def run_all(shards, tally, on_end):
    pending, running = list(shards), []
    t_end = time.monotonic() + STAGE_BUDGET_S
    while pending or running:
        while pending and len(running) < PARALLEL:
            s = pending.pop(0)
            s.start()
            running.append(s)
        time.sleep(0.1)
        for s in list(running):
            if s.proc.poll() is None:
                s.sample()
                if s.overdue() or time.monotonic() > t_end:
                    os.killpg(s.proc.pid, signal.SIGKILL)
                    s.killed = True
                    s.proc.wait()
                else:
                    continue
            s.elapsed = time.monotonic() - s.t0
            running.remove(s)
            on_end(s, tally)


class RunnerJob:
    """./vhucheck run against the chaos profiles: the runner must come
    back with every case judged, exit 0 or 1 (never 2 or 3), and nothing
    left running. The shipped profiles are run with a --tag added."""
    def __init__(self, work):
        self.dir = os.path.join(work, "runner")
        self.tag = "%s-runner" % TAG
        self.globs = ["H-backend/*", "G-lifecycle/*"]
        self.rc, self.ncases, self.elapsed = "-", 0, 0

    def profiles(self):
        out = []
        for t in ("chaos-backend", "chaos-frontend"):
            text = open(os.path.join("targets", "profiles", t + ".toml")).read()
            text = re.sub(r'(?m)^(command = ".*)"$', r'\1 --tag=%s"' % self.tag, text)
            path = os.path.join(self.dir, t + ".toml")
            open(path, "w").write(text)
            out.append(path)
        return out

    def start(self):
        os.makedirs(self.dir)
        argv = ["./vhucheck", "run", "--target"] + self.profiles() + [
                "-j", "2", "--timeout-multiplier", str(MULT),
                "--out", os.path.join(self.dir, "out"), "--cases"] + self.globs
        env = dict(os.environ, VHUCHECK_BUILD_DIR=BUILD)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env,
                                     stdout=open(os.path.join(self.dir, "stdout"), "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def finish(self, tally, budget_s):
        try:
            rc = self.proc.wait(timeout=max(1, budget_s - (time.monotonic() - self.t0)))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = "killed"
        self.elapsed = time.monotonic() - self.t0
        self.rc = rc
        tail = open(os.path.join(self.dir, "stdout"), errors="replace").read()[-300:]
        tally.test("runner: ./vhucheck run -t chaos-backend chaos-frontend exits 0 or 1 "
                   "(%.1f s)" % self.elapsed, rc in (0, 1), "exit %s: %s" % (rc, tail.strip()))
        bad, self.ncases = [], 0
        for t in ("chaos-backend", "chaos-frontend"):
            try:
                doc = json.load(open(os.path.join(self.dir, "out", t, "results.json")))
            except (OSError, ValueError) as e:
                bad.append("%s: %s" % (t, e))
                continue
            self.ncases += len(doc["cases"])
            if len(doc["cases"]) != doc["settings"]["selected"] or doc["not_run"] \
                    or doc["interrupted"]:
                bad.append("%s: %d of %d cases, not_run %s" % (
                    t, len(doc["cases"]), doc["settings"]["selected"], doc["not_run"][:3]))
        tally.test("runner: every selected case judged in results.json (%d)" % self.ncases,
                   not bad, "; ".join(bad))
        left = leftovers(self.tag, 1.0)
        tally.test("runner: no target process left after the run", not left,
                   "%d alive: %s" % (len(left), sorted(left)[:8]))
        kill_all(left)


# ---- what one shard must show ----

def read_results(s):
    errs, res = [], []
    path = os.path.join(s.dir, "results.jsonl")
    lines = open(path).read().splitlines() if os.path.exists(path) else []
    for i, line in enumerate(lines, 1):
        try:
            d = json.loads(line)
        except ValueError:
            errs.append("line %d is not JSON" % i)
            continue
        miss = [k for k in REQUIRED if k not in d]
        if miss or d.get("verdict") not in VERDICTS:
            errs.append("line %d: missing %s or bad verdict %r" % (i, miss, d.get("verdict")))
            continue
        res.append(d)
    want = [os.path.basename(c)[:-4] for c in s.cases]
    got = [d["id"] for d in res]
    if got != want:
        lost = [w for w in want if w not in got]
        errs.append("%d results for %d cases; missing %s" % (len(got), len(want), lost[:5]))
    return res, errs


def leftovers(tag, wait_s):
    """Processes still in a target's group (not session leaders) after
    wait_s: the harness should have killed them with their group."""
    end = time.monotonic() + wait_s
    while True:
        left = {p: st for p, st in tagged(tag).items() if p != st[3]}
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def fd_drift(s):
    """The harness's open fds as each target started (vhu-chaos
    --note-parent-fds). A leak shows as a baseline that creeps up."""
    path = os.path.join(s.dir, "pfds")
    counts = [int(x) for x in open(path).read().split()] if os.path.exists(path) else []
    if len(counts) < 4:
        return counts, None
    k = min(10, len(counts) // 2)
    return counts, min(counts[-k:]) - min(counts[:k])


def stderr_of(d):
    """The head and tail of the target's stderr (spew writes 16 MiB)."""
    if "_stderr" not in d:
        p = d["target"].get("stderr") if isinstance(d.get("target"), dict) else None
        try:
            with open(p, "rb") as f:
                head = f.read(4096)
                f.seek(max(f.seek(0, 2) - 4096, len(head)))
                d["_stderr"] = (head + f.read()).decode(errors="replace")
        except (OSError, TypeError):
            d["_stderr"] = ""
    return d["_stderr"]


def check_shard(s, tally):
    rc = s.proc.returncode
    what = "killed after %.0f s (budget %.0f s)" % (s.elapsed, s.budget) if s.killed \
        else "exit %s" % rc
    errtail = open(os.path.join(s.dir, "harness.stderr"), errors="replace").read()[-300:]
    tally.test("%s: harness ran every case and exited 0 (%d cases, %.1f s)"
               % (s.name, len(s.cases), s.elapsed),
               rc == 0 and not s.killed, "%s; stderr: %s" % (what, errtail.strip()))
    s.results, errs = read_results(s)
    tally.test("%s: one valid JSON result per case, in order" % s.name,
               not errs, "; ".join(errs))
    left = leftovers(s.tag, 1.0)
    tally.test("%s: no process left in a target's group after the harness" % s.name,
               not left, "%d alive: %s" % (len(left), sorted(left)[:8]))
    kill_all(left)
    tally.test("%s: at most one case's target alive at a time" % s.name,
               s.max_groups <= 1,
               "%d target groups alive together (targets of ended cases "
               "still running)" % s.max_groups)
    counts, drift = fd_drift(s)
    s.fd_counts = counts
    tally.test("%s: the harness's fd count does not creep (%s launches, %s..%s)"
               % (s.name, len(counts), min(counts or [0]), max(counts or [0])),
               drift is not None and drift <= 0,
               "baseline grew by %s over the run: %s" % (drift, counts))


# ---- the whole run ----

def mode_of(d):
    m = re.search(r"mode=(\S+)", stderr_of(d))
    return m.group(1) if m else "?"


def global_checks(shards, tally):
    results = [(s, d) for s in shards for d in getattr(s, "results", [])]
    end = time.monotonic() + ESCAPE_S + 1.5
    while time.monotonic() < end and any(tagged(s.tag) for s in shards):
        time.sleep(0.1)
    left = {p: st for s in shards for p, st in tagged(s.tag).items()}
    tally.test("escaped children (fork-escape) ended by themselves within %d s"
               % (ESCAPE_S + 1), not left, "%d alive: %s" % (len(left), sorted(left)[:8]))
    kill_all(left)

    modes = collections.defaultdict(set)
    for s, d in results:
        modes[s.hrole].add(mode_of(d))
    all_modes = set(subprocess.run([CHAOS, "--list-modes"], capture_output=True,
                                   text=True).stdout.split("\n"))
    all_modes = {l.split()[0] for l in all_modes if l.strip()} - {"polite"}
    for hrole in ("backend", "frontend"):
        miss = sorted(all_modes - modes[hrole])
        tally.test("every chaos mode ran with the harness as %s" % hrole, not miss,
                   "never ran: %s" % miss)

    for act, sig in sorted(CRASH_ACTS.items()):
        hit = [d for s, d in results if "act %s " % act in stderr_of(d)]
        bad = ["%s (%s, signal %s)" % (d["id"], d["verdict"], d["target"].get("signal"))
               for d in hit if d["verdict"] != "CRASH" or d["target"].get("signal") != sig]
        tally.test("every '%s' crash of the target is a CRASH with %s (%d)"
                   % (act, sig, len(hit)), hit and not bad,
                   "not reported: %s" % (bad[:6] if hit else "none happened"))

    over = sorted(((d["duration_ms"] - case_timeout_ms(d["file"]), d["id"], mode_of(d))
                   for s, d in results), reverse=True)
    top = over[0] if over else (0, "-", "-")
    tally.test("no case overran its deadline by more than %d ms (worst %.0f ms: %s, %s)"
               % (OVERSHOOT_MAX_MS, top[0], top[1], top[2]), top[0] <= OVERSHOOT_MAX_MS,
               "; ".join("%s %.0f ms (%s)" % (i, o, m) for o, i, m in over[:5]))
    return results, over


def write_report(shards, runner, results, over, tally, seconds):
    verd = collections.Counter(d["verdict"] for s, d in results)
    cols = [v for v in ("PASS", "FAIL", "NON-STRICT", "INFO", "UNSUPPORTED", "TIMEOUT",
                        "DEADLOCK", "CRASH", "ERROR")]
    per_mode = collections.defaultdict(collections.Counter)
    for s, d in results:
        per_mode[mode_of(d)][d["verdict"]] += 1
    L = ["# vhu-chaos stress: last run", "",
         "Written by `tests/stages/50-chaos.sh` (see docs/chaos.md). "
         "Timeout multiplier %.2f, %d harness processes at once, %.0f s." % (MULT, PARALLEL, seconds),
         "", "| | |", "| --- | --- |",
         "| cases run | %d (of %d asked) |" % (len(results), sum(len(s.cases) for s in shards)),
         "| tests | %d passed, %d failed |" % (tally.passed, tally.failed),
         "| harness failures (exit != 0, killed) | %d |" % sum(
             1 for s in shards if s.killed or s.proc.returncode != 0),
         "| worst deadline overshoot | %.0f ms (%s) |" % (over[0][0], over[0][1]) if over else "| worst overshoot | - |",
         "| runner (`./vhucheck run -t chaos-backend chaos-frontend -c %s`) | exit %s, %d cases, %.1f s |"
         % (" ".join(runner.globs), runner.rc, runner.ncases, runner.elapsed),
         "", "## Shards (one harness process each)", "",
         "| shard | harness role | transport | mode | seeds | cases | seconds | harness exit | fds at launch |",
         "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in shards:
        n = len(getattr(s, "fd_counts", []))
        L.append("| %s | %s | %s | %s | %d..%d | %d | %.1f | %s | %s |" % (
            s.name, s.hrole, s.transport, s.mode, s.seed, s.seed + max(n - 1, 0),
            len(s.cases), getattr(s, "elapsed", 0),
            "killed" if s.killed else s.proc.returncode,
            "%d..%d" % (min(s.fd_counts), max(s.fd_counts)) if n else "-"))
    L += ["", "## Verdicts by mode", "",
          "| mode | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    for m in sorted(per_mode):
        L.append("| %s | " % m + " | ".join(str(per_mode[m][c] or "") for c in cols) + " |")
    L.append("| **all** | " + " | ".join(str(verd[c] or "") for c in cols) + " |")
    L += ["", "## Largest deadline overshoots (duration - case timeout)", ""]
    L += ["- %s (%s): %.0f ms" % (i, m, o) for o, i, m in over[:5]]
    if tally.failures:
        L += ["", "## Failed tests", ""] + ["- " + f for f in tally.failures]
    path = report_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    return verd


def report_path():
    """reports/out/ (never in git) unless VHU_RECORD_BENCH=1 asks to
    refresh the recorded figures in bench/chaos/."""
    if os.environ.get("VHU_RECORD_BENCH") == "1":
        return os.path.join(TOP, "bench", "chaos", "last-run.md")
    return os.path.join(TOP, "reports", "out", "chaos", "last-run.md")


def main():
    tally = Tally()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vhu-chaos.") as work:
        shards = make_shards(work)
        print("chaos: %d cases in %d harness processes, multiplier %.2f"
              % (sum(len(s.cases) for s in shards), len(shards), MULT))
        runner = RunnerJob(work)
        runner.start()
        run_all(shards, tally, check_shard)
        runner.finish(tally, STAGE_BUDGET_S - (time.monotonic() - t0))
        results, over = global_checks(shards + [runner], tally)
        verd = write_report(shards, runner, results, over, tally, time.monotonic() - t0)
    print("chaos: %d results in %.0f s: %s" % (len(results), time.monotonic() - t0,
          ", ".join("%s %d" % kv for kv in sorted(verd.items()))))
    print("chaos: details in %s" % os.path.relpath(report_path(), TOP))
    print("stage: %d passed, %d failed, 0 skipped" % (tally.passed, tally.failed))


main()
PY
