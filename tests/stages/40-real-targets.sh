#!/bin/sh
# stage: real targets
#
# Real vhost-user implementations as targets (docs/targets.md): Debian's
# QEMU 7.2 as a front-end (its device started by the vhu-qtest guest
# driver), Debian's dpdk-testpmd and virtiofsd as back-ends, the generic
# exec-backend / exec-frontend profiles, and, when given, a QEMU with the
# SHMEM series ($VHUCHECK_QEMU) and libvhost-user ($VHU_LIBVHOST_USER, a
# libvhost-user source tree with vu_shmem_map). Each target's run is
# gated on its shipped expectations file (targets/profiles/expect/) with
# --strict-expect: a verdict the file does not list is a regression, and
# a case it lists that now passes (or an entry that matches no case) is a
# stale file; both fail. The README's verdict-table rows of the targets
# run here (qemu-debian, dpdk-testpmd, virtiofsd-debian) are compared with
# the runs (`vhucheck report DIR --check-table README.md`). An honest
# verdict table per target ends the stage.
#
# Installs the Debian packages when root (apt-get, no recommends); without
# root, or when a package cannot be had, the targets that need it are
# skipped with the reason. Bounded: every run has the runner's deadlines,
# every probe its own; the whole stage takes ~2 min on 2 cores plus the
# installs.
#
# usage: sh tests/stages/40-real-targets.sh TOPDIR
# env:   VHU_REAL_BUILD (build dir, default $VHUCHECK_BUILD_DIR, then TOPDIR/build)
#        VHUCHECK_QEMU (a qemu-system-x86_64 with the SHMEM series)
#        VHU_LIBVHOST_USER (a libvhost-user tree with vu_shmem_map)
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHU_REAL_BUILD:-${VHUCHECK_BUILD_DIR:-$top/build}}
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"

. "$top/tests/lib/stage.sh"
stage_build_or_skip "real targets" "$build" harness/vhucheck-harness targets/vhu-ref-backend

# qemu-system-x86 brings qemu-system-common (/usr/lib/qemu/virtiofsd);
# dpdk-testpmd is in dpdk-dev; the vhost PMD and the ring mempool are only
# recommended, so they are named.
missing=""
vhu_ensure_pkgs qemu-system-x86 || missing="$missing qemu-system-x86"
vhu_ensure_pkgs dpdk-dev librte-net-vhost23 librte-mempool-ring23 ||
	missing="$missing dpdk-dev"

lvu_build=""
if [ -n "${VHU_LIBVHOST_USER:-}" ]; then
	lvu_build="$build-lvu"
	[ -f "$lvu_build/build.ninja" ] ||
		meson setup "$lvu_build" "-Dlibvhost_user=$VHU_LIBVHOST_USER" >/dev/null 2>&1
	ninja -C "$lvu_build" >/dev/null 2>&1 || lvu_build="failed"
fi

exec python3 - "$top" "$build" "$missing" "$lvu_build" <<'PY'
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, unittest

TOP, BUILD, MISSING, LVU_BUILD = sys.argv[1:5]
RUNNER = os.path.join(TOP, "vhucheck")
QTEST = os.path.join(BUILD, "targets", "qtest", "vhu-qtest")
REF_BE = os.path.join(BUILD, "targets", "vhu-ref-backend")
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
RUN_BUDGET_S = 150           # one ./vhucheck run (the runner bounds each case)
SLOW_BUDGET_S = 420          # qemu-shmem while the handshake waits for DRIVER_OK
OUT = os.path.join(TOP, "reports", "out", "real-targets")    # replaced each run
QEMU_FS = ["qemu-system-x86_64", "-M", "pc", "-nodefaults", "-display", "none", "-m", "64",
           "-object", "memory-backend-memfd,id=mem,size=64M,share=on",
           "-numa", "node,memdev=mem"]
ORDER = ("PASS", "NON-STRICT", "INFO", "UNSUPPORTED", "FAIL", "CRASH", "TIMEOUT",
         "DEADLOCK", "ERROR")


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.tables = []

    def test(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("  ok   %s" % name)
        else:
            self.failed += 1
            print("  FAIL %s: %s" % (name, detail))
        return ok

    def skip(self, name, why):
        self.skipped += 1
        print("  skip %s: %s" % (name, why))


T = Tally()


def have_qemu():
    if "qemu-system-x86" in MISSING or not shutil.which("qemu-system-x86_64"):
        return "Debian's qemu-system-x86 is not installed and could not be (root and apt are needed)"
    return None


def have_dpdk():
    if "dpdk-dev" in MISSING or not shutil.which("dpdk-testpmd"):
        return "Debian's dpdk-dev (dpdk-testpmd) is not installed and could not be (root and apt are needed)"
    return None


# ---- the qtest driver ----

def driver_unit_tests():
    os.environ["VHU_QTEST"] = QTEST
    sys.path.insert(0, os.path.join(TOP, "targets", "qtest"))
    suite = unittest.defaultTestLoader.discover(os.path.join(TOP, "targets", "qtest"))
    with open(os.devnull, "w") as null:
        r = unittest.TextTestRunner(stream=null, verbosity=0).run(suite)
    bad = {t.id() for t, _ in r.failures + r.errors}
    T.test("vhu-qtest unit tests (%d, fake QEMU)" % r.testsRun, not bad and r.testsRun > 0,
           ", ".join(sorted(bad)))


class Control:
    """Our end of vhu-qtest's control channel, with deadlines."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""
        sock.settimeout(15)

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return "EOF"
            self.buf += chunk
        answer, _, self.buf = self.buf.partition(b"\n")
        return answer.decode()

    def dump(self):
        a = self.ask("dump")
        return json.loads(a[3:]) if a.startswith("ok {") else {"answer": a}


def count(path, word, at_least=0):
    """Occurrences of word in the back-end's log; waits (up to 3 s) for
    at_least of them, since QEMU answers qtest before the back-end has
    logged what it was sent."""
    deadline = time.monotonic() + 3
    while True:
        with open(path, errors="replace") as f:
            n = f.read().count(word)
        if n >= at_least or time.monotonic() >= deadline:
            return n
        time.sleep(0.05)


def driver_against_qemu(tmp):
    """vhu-qtest drives QEMU 7.2's vhost-user-fs-pci against the reference
    back-end: start reaches DRIVER_OK (vrings set up), stop/start go
    through QMP, reset writes status 0, quit ends QEMU."""
    sock, log = os.path.join(tmp, "fs.sock"), os.path.join(tmp, "ref-backend.log")
    be = subprocess.Popen([REF_BE, "--socket-path=" + sock, "--verbose",
                           "--accept-timeout=20000"], stdout=open(log, "w"),
                          stderr=subprocess.STDOUT, start_new_session=True)
    ours, theirs = socket.socketpair()
    cmd = [QTEST, "--control-fd=%d" % theirs.fileno(), "--accel=tcg", "--"] + QEMU_FS + [
        "-chardev", "socket,id=vu,path=" + sock, "-device",
        "vhost-user-fs-pci,chardev=vu,tag=vhucheck"]
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    qemu = subprocess.Popen(cmd, pass_fds=[theirs.fileno()], start_new_session=True,
                            stdout=open(os.path.join(tmp, "qemu.log"), "w"),
                            stderr=subprocess.STDOUT)
    theirs.close()
    c = Control(ours)
    try:
        steps(c, log, qemu)
    except (OSError, ValueError) as e:
        T.test("vhu-qtest control session", False, str(e))
    finally:
        for p in (qemu, be):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        ours.close()


def steps(c, log, qemu):
    ok = c.ask("start") == "ok"
    d = c.dump()
    T.test("vhu-qtest: 'start' brings QEMU 7.2's vhost-user-fs-pci to DRIVER_OK",
           ok and d.get("started") and d.get("status") == "0xf"
           and count(log, "<- SET_VRING_KICK", 2) == 2 and count(log, "<- SET_VRING_ENABLE", 2) >= 2,
           "dump %s, %d SET_VRING_KICK in the back-end's log" % (d, count(log, "<- SET_VRING_KICK")))
    before = count(log, "<- GET_VRING_BASE")
    ok = c.ask("stop") == "ok"
    d = c.dump()
    T.test("vhu-qtest: 'stop' pauses the VM (QMP) and QEMU stops the vrings",
           ok and d.get("paused") and count(log, "<- GET_VRING_BASE", before + 1) > before,
           "dump %s" % d)
    kicks = count(log, "<- SET_VRING_KICK")
    ok = c.ask("start") == "ok"
    d = c.dump()
    T.test("vhu-qtest: 'start' after 'stop' resumes and QEMU restarts the vrings",
           ok and d.get("started") and count(log, "<- SET_VRING_KICK", kicks + 1) > kicks,
           "dump %s" % d)
    ok = c.ask("reset") == "ok"
    d = c.dump()
    quit_ok = c.ask("quit") == "ok"
    try:
        qemu.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    T.test("vhu-qtest: 'reset' writes status 0; 'quit' ends QEMU",
           ok and d.get("status") == "0x0" and not d.get("started") and quit_ok
           and qemu.poll() is not None, "dump %s, QEMU %s" % (d, qemu.poll()))


def qemu_maps(pid, name):
    with open("/proc/%d/maps" % pid) as f:
        return [l.split()[1] for l in f if name in l]


def interop(tmp, qemu_bin, lvu):
    """Two real implementations, no harness: vhu-lvu-backend (libvhost-user)
    maps into the SHMEM QEMU; QEMU's /proc/PID/maps must show it, an
    overlap must be refused, UNMAP and reset must remove it."""
    sock = os.path.join(tmp, "lvu.sock")
    bc, bt = socket.socketpair()
    qc, qt = socket.socketpair()
    be = subprocess.Popen([lvu, "--socket-path=" + sock, "--control-fd=%d" % bt.fileno(),
                           "--regions=1m"], pass_fds=[bt.fileno()], start_new_session=True,
                          stderr=open(os.path.join(tmp, "lvu.log"), "w"))
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    q = subprocess.Popen([QTEST, "--control-fd=%d" % qt.fileno(), "--shm-bar=unmapped", "--",
                          qemu_bin] + QEMU_FS[1:] + [
                          "-chardev", "socket,id=vu,path=" + sock, "-device",
                          "vhost-user-test-device-pci,chardev=vu,virtio-id=26,num_vqs=1"],
                         pass_fds=[qt.fileno()], start_new_session=True,
                         stderr=open(os.path.join(tmp, "qemu-shmem.log"), "w"))
    bt.close()
    qt.close()
    be_c, q_c = Control(bc), Control(qc)
    try:
        ok = q_c.ask("start") == "ok" and q_c.dump().get("started")
        ok = ok and be_c.ask("map shmid=0 shm_offset=0x2000 len=0x2000 flags=rw") == "ok"
        ok = ok and be_c.ask("map shmid=0 shm_offset=0x3000 len=0x1000 flags=rw") == "ok"
        live = be_c.dump().get("mappings", [])
        mapped = qemu_maps(q.pid, "vhu-lvu-0")
        ok = ok and len(live) == 1 and len(mapped) == 1
        ok = ok and be_c.ask("unmap shmid=0 shm_offset=0x2000 len=0x2000") == "ok"
        be_c.dump()
        # QEMU frees the memory region through RCU: the munmap may follow
        # the reply by a few ms.
        deadline = time.monotonic() + 2
        while qemu_maps(q.pid, "vhu-lvu-0") and time.monotonic() < deadline:
            time.sleep(0.02)
        gone = not qemu_maps(q.pid, "vhu-lvu-0")
        T.test("interop: libvhost-user maps into the SHMEM QEMU, overlap refused, "
               "UNMAP removes it", ok and gone,
               "live %s, QEMU maps %s, gone after UNMAP %s" % (live, mapped, gone))
    except (OSError, ValueError) as e:
        T.test("interop: libvhost-user and the SHMEM QEMU", False, str(e))
    finally:
        for p in (q, be):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        bc.close()
        qc.close()


# ---- runs of the suite ----

def suite_run(label, target, env=None, cases=None, budget=RUN_BUDGET_S):
    out = os.path.join(OUT, label)
    # --strict-expect: the shipped expectations file must be current.
    cmd = [RUNNER, "run", "--target", target, "--out", out, "-j", "2", "--strict-expect"]
    if cases:
        cmd += ["--cases"] + cases
    e = dict(os.environ, VHUCHECK_BUILD_DIR=env.pop("build", BUILD) if env else BUILD)
    e.update(env or {})
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=e, cwd=TOP, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=budget)
        rc, text = p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        rc, text = None, "the run overran %d s" % budget
    try:
        with open(os.path.join(out, "results.json")) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = None
    return rc, res, text, time.monotonic() - t0


def judge_run(label, target, env=None, cases=None, all_unsupported=False,
              budget=RUN_BUDGET_S):
    rc, res, text, secs = suite_run(label, target, env, cases, budget)
    if res is None:
        T.test("%s: the run produced results" % label, False,
               text.strip().splitlines()[-1] if text.strip() else "rc %s" % rc)
        return
    s = res["summary"]
    regs, xpass, stale = (s["gate"][k] for k in ("regressions", "unexpected_passes", "stale"))
    # exit 1 with no regression is the strict gate: the next line says why.
    T.test("%s: no regression against its expectations (exit %s)" % (label, rc),
           not regs and (rc == 0 or (rc == 1 and bool(xpass))),
           "%d regression(s): %s" % (len(regs), ", ".join(map(str, regs[:6]))) if regs
           else "exit %s" % rc)
    T.test("%s: its shipped expectations file is current (no unexpected pass, no stale "
           "entry)" % label, not xpass and not stale,
           "update targets/profiles/expect/%s.toml: %s" % (label, "; ".join(filter(None, (
               xpass and "%d listed but passing: %s" % (len(xpass), ", ".join(xpass[:6])),
               stale and "%d matching no case: %s" % (len(stale), ", ".join(stale[:6])))))))
    T.test("%s: every selected case ran (%d), no ERROR" % (label, s["total"]),
           s["total"] > 0 and s["verdicts"].get("ERROR", 0) == 0 and not res.get("not_run"),
           "errors %d, not run %s" % (s["verdicts"].get("ERROR", 0), res.get("not_run")))
    if all_unsupported:
        # No SHMEM there: every case is UNSUPPORTED, and those decided after
        # the handshake name the features it really negotiated.
        odd = [c["id"] for c in res["cases"] if c["verdict"] != "UNSUPPORTED"]
        seen = [c for c in res["cases"] if "protocol features 0x" in c["reason"]]
        T.test("%s: all UNSUPPORTED, %d after a real negotiation" % (label, len(seen)),
               not odd and seen, "not UNSUPPORTED: %s" % ", ".join(odd[:6]) if odd
               else "no case got as far as the handshake")
    T.tables.append((label, res, secs))


# The README rows CI can check: the targets this stage runs without a
# user-built program.
README_ROWS = ("qemu-debian", "dpdk-testpmd", "virtiofsd-debian")


def readme_rows():
    """Each README verdict-table row of a target run here must give that
    run's counts (`vhucheck report DIR --check-table README.md`)."""
    ran = {label for label, _, _ in T.tables}
    for label in README_ROWS:
        if label not in ran:
            T.skip("README row of %s" % label, "not run here")
            continue
        p = subprocess.run([RUNNER, "report", os.path.join(OUT, label), "--check-table",
                            os.path.join(TOP, "README.md")], cwd=TOP, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60,
                           env=dict(os.environ, VHUCHECK_BUILD_DIR=BUILD))
        text = p.stdout.decode(errors="replace").strip()
        T.test("README.md's verdict-table row of %s matches the run" % label,
               p.returncode == 0, text.splitlines()[-1] if text else "exit %s" % p.returncode)


def table():
    print("\nverdicts per target (targets/profiles/expect/ lists the known ones):")
    print("  %-18s %s  %s" % ("target", " ".join("%5s" % v[:5] for v in ORDER), "gate"))
    for label, res, secs in T.tables:
        s = res["summary"]
        v = " ".join("%5d" % s["verdicts"].get(k, 0) for k in ORDER)
        g = s["gate"]
        print("  %-18s %s  %d expected, %d regressions, %d unexpected passes (%.0fs)"
              % (label, v, g["expected"], len(g["regressions"]),
                 len(g["unexpected_passes"]), secs))
    for label, res, _ in T.tables:
        bad = [c for c in res["cases"] if c["verdict"] not in ("PASS", "UNSUPPORTED")]
        reasons = {}
        for c in res["cases"]:
            if c["verdict"] == "UNSUPPORTED":
                key = c["reason"].split(" (")[0]
                reasons[key] = reasons.get(key, 0) + 1
        print("\n  %s:" % label)
        if len(bad) > 40:
            print("    (%d cases not PASS/UNSUPPORTED; the first 40)" % len(bad))
        for c in bad[:40]:
            why = (c.get("expectation") or {}).get("reason") or c.get("observed") or c["reason"]
            print("    %-11s %-48s %s" % (c["verdict"], c["id"], " ".join(str(why).split())[:110]))
        for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
            print("    %3d UNSUPPORTED: %s" % (n, why[:100]))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tmp = tempfile.mkdtemp(prefix="vhu-real-probe-")
    driver_unit_tests()
    why = have_qemu()
    if why:
        for n in ("vhu-qtest against QEMU 7.2", "qemu-debian", "virtiofsd-debian",
                  "exec-backend", "exec-frontend"):
            T.skip(n, why)
    else:
        driver_against_qemu(tmp)
        judge_run("qemu-debian", "qemu-debian")
        if os.path.exists(VIRTIOFSD):
            judge_run("virtiofsd-debian", "virtiofsd-debian", all_unsupported=True)
            judge_run("exec-backend", "exec-backend", all_unsupported=True, env={
                "VHUCHECK_EXEC_COMMAND": VIRTIOFSD + " -o source=/usr/lib/qemu -o sandbox=chroot"})
        else:
            T.skip("virtiofsd-debian", VIRTIOFSD + " is not there")
        judge_run("exec-frontend", "exec-frontend", cases=["shmem_map_*"],
                  all_unsupported=True, env={"VHUCHECK_EXEC_COMMAND": " ".join(
                      QEMU_FS + ["-accel", "tcg", "-S", "-chardev", "socket,id=vu,path={socket}",
                                 "-device", "vhost-user-fs-pci,chardev=vu,tag=t"])})
    why = have_dpdk()
    if why:
        T.skip("dpdk-testpmd", why)
    else:
        judge_run("dpdk-testpmd", "dpdk-testpmd", all_unsupported=True)
    if os.environ.get("VHUCHECK_QEMU"):
        judge_run("qemu-shmem", "qemu-shmem", budget=SLOW_BUDGET_S)
        judge_run("qemu-shmem-unmapped", "qemu-shmem-unmapped", budget=SLOW_BUDGET_S)
    else:
        T.skip("qemu-shmem", "VHUCHECK_QEMU is not set (a qemu-system-x86_64 with the SHMEM "
               "series; docs/targets.md)")
    if LVU_BUILD in ("", "failed"):
        T.skip("libvhost-user", "VHU_LIBVHOST_USER is not set (a libvhost-user tree with "
               "vu_shmem_map)" if not LVU_BUILD else "the -Dlibvhost_user build failed")
    else:
        # One profile per adapter mode (docs/targets.md, "libvhost-user").
        for prof in ("libvhost-user", "libvhost-user-sigpipe-ignore", "libvhost-user-worker"):
            judge_run(prof, prof, env={"build": LVU_BUILD})
    lvu = os.path.join(LVU_BUILD, "targets", "vhu-lvu-backend")
    if os.environ.get("VHUCHECK_QEMU") and os.path.exists(lvu):
        interop(tmp, os.environ["VHUCHECK_QEMU"], lvu)
    else:
        T.skip("interop libvhost-user / SHMEM QEMU", "needs both VHUCHECK_QEMU and "
               "VHU_LIBVHOST_USER")
    readme_rows()
    if T.tables:
        table()
    shutil.rmtree(tmp, ignore_errors=True)
    print("\nreports: %s" % OUT)
    print("stage: %d passed, %d failed, %d skipped" % (T.passed, T.failed, T.skipped))


main()
PY
