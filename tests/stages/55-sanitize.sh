#!/bin/sh
# stage: sanitizers and leaks
#
# The suite against both reference targets, and every vhu-chaos mode in
# both roles, with the harness and the targets built with ASan+UBSan
# (build-asan, as run-tests.sh configures it): not one sanitizer report,
# in the harness's stderr or any target's. Then the plain harness under
# valgrind --track-fds=yes on hostile chaos cases: no memory error, no
# definite leak, no fd left open at exit. docs/chaos.md.
#
# usage: sh tests/stages/55-sanitize.sh TOPDIR
# env:   VHU_ASAN_BUILD (default TOPDIR/build-asan), VHU_CHAOS_BUILD
#        (the plain build for valgrind, default TOPDIR/build)
top=$(cd "${1:-.}" && pwd) || exit 2
asan=${VHU_ASAN_BUILD:-$top/build-asan}
plain=${VHU_CHAOS_BUILD:-$top/build}
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"

if [ ! -f "$asan/build.ninja" ]; then
	CC=clang vhu_build "$asan" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all \
		-Dc_link_args=-fno-sanitize-recover=all >/dev/null 2>&1
fi
[ -f "$plain/build.ninja" ] || vhu_build "$plain" >/dev/null 2>&1
ninja -C "$asan" >/dev/null 2>&1
ninja -C "$plain" >/dev/null 2>&1
for f in harness/vhucheck-harness targets/vhu-chaos targets/vhu-ref-frontend \
	 targets/vhu-ref-backend; do
	if [ ! -x "$asan/$f" ]; then
		echo "sanitize: $asan/$f missing; skipped"
		echo "stage: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done
command -v valgrind >/dev/null 2>&1 || echo "sanitize: no valgrind; its tests are skipped"

exec python3 - "$top" "$asan" "$plain" <<'PY'
import json, os, re, shutil, subprocess, sys, tempfile, time

TOP, ASAN, PLAIN = sys.argv[1:4]
REPORT = re.compile(r"ERROR: (Address|Leak|Memory)Sanitizer|runtime error:|"
                    r"WARNING: ThreadSanitizer")
# Hostile chaos modes for valgrind, fds flying around (chaos --mode=cycle
# order: --seed-seq starts at 4 = close-mid).
VG_CYCLE_START = 4
VG_CASES = {
    "frontend": ["H-backend/backend_map_message_shape", "H-backend/backend_waits_for_reply",
                 "H-backend/backend_reply_with_two_fds", "E-shmem-config/config_fe_stable_many",
                 "A-framing/framing_fe_eight_fds", "G-lifecycle/lifecycle_fe_map_unmap_1000"],
    "backend": ["C-map/shmem_map_overlap_equal", "C-map/shmem_map_eight_fds",
                "F-reply-ack/reply_be_before_mem_table", "G-lifecycle/lifecycle_be_reconnect_works",
                "A-framing/framing_be_truncated_header", "D-unmap/shmem_unmap_exact"],
}
passed = failed = skipped = 0


def test(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("  ok   " + name)
    else:
        failed += 1
        print("  FAIL %s: %s" % (name, detail))
    sys.stdout.flush()


OTHER = {"backend": "frontend", "frontend": "backend"}


def cases_for(hrole):
    out = []
    for area in sorted(os.listdir("suites")):
        d = os.path.join("suites", area)
        for c in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if c.endswith(".vhu") and re.search(r"^\s*target\s+%s\b" % OTHER[hrole],
                                                open(os.path.join(d, c)).read(), re.M):
                out.append(os.path.join(d, c))
    return out


def harness(build, hrole, tcmd, cases, work, mult, wrap=()):
    """Runs one harness process; returns (rc, results, stderr text)."""
    os.makedirs(os.path.join(work, "trace"), exist_ok=True)
    argv = list(wrap) + [os.path.join(build, "harness", "vhucheck-harness"),
                         "--target-role", OTHER[hrole],
                         "--timeout-multiplier", str(mult), "--trace-dir",
                         os.path.join(work, "trace"), "--target-cmd", tcmd] + cases
    budget = len(cases) * 5.0 * mult + 60
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=budget, errors="replace")
    except subprocess.TimeoutExpired as e:
        return "killed after %.0f s" % budget, [], (e.stderr or b"").decode(errors="replace")
    res = []
    for line in p.stdout.splitlines():
        try:
            res.append(json.loads(line))
        except ValueError:
            res.append({"id": "?", "verdict": "not JSON: " + line[:60]})
    return p.returncode, res, p.stderr


def sanitizer_reports(work, harness_err):
    hits = [("harness", m.group(0)) for m in REPORT.finditer(harness_err)]
    tdir = os.path.join(work, "trace")
    for f in sorted(os.listdir(tdir)) if os.path.isdir(tdir) else []:
        if f.endswith(".stderr"):
            with open(os.path.join(tdir, f), "rb") as fh:
                head = fh.read(65536)
                fh.seek(max(fh.seek(0, 2) - 65536, len(head)))
                text = (head + fh.read()).decode(errors="replace")
            hits += [(f, m.group(0)) for m in REPORT.finditer(text)]
    return hits


def asan_run(name, hrole, tcmd, cases, work, mult):
    t0 = time.monotonic()
    rc, res, err = harness(ASAN, hrole, tcmd, cases, work, mult)
    name += " (%.0f s)" % (time.monotonic() - t0)
    ids = [r.get("id") for r in res]
    want = [os.path.basename(c)[:-4] for c in cases]
    test("%s: harness (ASan) exit 0, %d/%d results" % (name, len(res), len(cases)),
         rc == 0 and ids == want, "exit %s; %s" % (rc, err.strip()[-300:]))
    hits = sanitizer_reports(work, err)
    crash = [r["id"] for r in res if r.get("verdict") == "CRASH" and name.startswith("ref")]
    test("%s: no sanitizer report (harness and %d target stderr files)%s"
         % (name, len(cases), ", no CRASH" if name.startswith("ref") else ""),
         not hits and not crash, "%s %s" % (hits[:5], crash[:5]))


def valgrind_run(hrole, work):
    trole = "frontend" if hrole == "backend" else "backend"
    with open(os.path.join(work, "seq"), "w") as f:
        f.write("%d\n" % (VG_CYCLE_START - 1))
    tcmd = ("'%s/targets/vhu-chaos' --role=%s --fd={fd} --control-fd={control} "
            "--mode=cycle --seed=77 --seed-seq='%s/seq'" % (PLAIN, trole, work))
    cases = [os.path.join("suites", c + ".vhu") for c in VG_CASES[hrole]]
    log = os.path.join(work, "valgrind.log")
    wrap = ["valgrind", "--track-fds=yes", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--error-exitcode=9",
            "--log-file=" + log]
    t0 = time.monotonic()
    rc, res, err = harness(PLAIN, hrole, tcmd, cases, work, 1.0, wrap)
    hrole += " (%.0f s)" % (time.monotonic() - t0)
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    errs = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    test("valgrind, harness as %s, %d hostile chaos cases: no error, no definite leak"
         % (hrole, len(cases)),
         rc == 0 and errs is not None and errs.group(1) == "0" and len(res) == len(cases),
         "exit %s, %s, %d results" % (rc, errs.group(0) if errs else "no summary", len(res)))
    # Beside 0-2, valgrind lists every fd open at exit; its own log file
    # is one of them.
    summary = re.search(r"FILE DESCRIPTORS: \d+ open \(\d+ std\) at exit", text)
    extra = [m.group(0) for m in re.finditer(r"Open file descriptor (\d+): ?(.*)", text)
             if int(m.group(1)) > 2 and m.group(2).strip() != log]
    test("valgrind --track-fds, harness as %s: only stdin/stdout/stderr open at exit"
         % hrole, summary is not None and not extra,
         "; ".join(extra[:4]) if summary else "no fd summary in %s" % log)


def main():
    global skipped
    work = tempfile.mkdtemp(prefix="vhu-sanitize.")
    try:
        ref = {"backend": "vhu-ref-frontend", "frontend": "vhu-ref-backend"}
        for hrole in ("backend", "frontend"):
            tcmd = ("'%s/targets/%s' --fd={fd} --control-fd={control} "
                    "--shmem-bit={shmem_bit}" % (ASAN, ref[hrole]))
            asan_run("ref, harness as %s" % hrole, hrole, tcmd, cases_for(hrole),
                     os.path.join(work, "ref-" + hrole), 1.0)
        for hrole in ("backend", "frontend"):
            trole = "frontend" if hrole == "backend" else "backend"
            d = os.path.join(work, "chaos-" + hrole)
            os.makedirs(d)
            modes = subprocess.run([os.path.join(ASAN, "targets", "vhu-chaos"), "--list-modes"],
                                   capture_output=True, text=True).stdout.splitlines()
            n = len(modes) - 1            # every mode but polite, once
            tcmd = ("'%s/targets/vhu-chaos' --role=%s --fd={fd} --control-fd={control} "
                    "--mode=cycle --seed=55 --seed-seq='%s/seq'" % (ASAN, trole, d))
            all_cases = cases_for(hrole)
            asan_run("chaos (every mode), harness as %s" % hrole, hrole, tcmd,
                     all_cases[::max(1, len(all_cases) // n)][:n], d, 0.3)
        if shutil.which("valgrind"):
            for hrole in ("frontend", "backend"):
                d = os.path.join(work, "vg-" + hrole)
                os.makedirs(d)
                valgrind_run(hrole, d)
        else:
            skipped += 4
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("stage: %d passed, %d failed, %d skipped" % (passed, failed, skipped))


main()
PY
