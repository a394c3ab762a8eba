#!/bin/sh
# stage: monitor
#
# vhucheck-monitor between real programs: the reference front-end and
# back-end clean (no finding at all), then with every catalogued fault
# that shows on the wire (each must be flagged with the expected code and
# side; MAP/UNMAP driven through the back-end's control channel), a
# recorded session replayed as cases against the references, the trace
# printed, exported to pcapng and dissected by tshark with our Lua
# dissector, `./vhucheck monitor` reports, and a real QEMU 7.2 handshake
# with virtiofsd relayed and validated. docs/monitor.md.
#
# usage: sh tests/stages/70-monitor.sh TOPDIR
# env:   VHU_MONITOR_BUILD (build dir, default TOPDIR/build)
#        VHU_MONITOR_NO_INSTALL=1: do not apt-get tshark / qemu-system-x86
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHU_MONITOR_BUILD:-$top/build}
cd "$top" || exit 2

if [ ! -f "$build/build.ninja" ]; then
	. "$top/runner/bootstrap.sh"
	vhu_build "$build" >/dev/null 2>&1
fi
ninja -C "$build" >/dev/null 2>&1
for b in harness/vhucheck-monitor harness/vhucheck-harness \
	targets/vhu-ref-frontend targets/vhu-ref-backend; do
	if [ ! -x "$build/$b" ]; then
		echo "monitor: $build/$b is not built; skipped"
		echo "stage: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done

# Optional tools, installed when we may (root, apt) and they are missing.
# Bounded (150 s, before the tests' own 115 s): a slow mirror skips their
# tests rather than stalling the stage.
want=""
command -v tshark >/dev/null 2>&1 || want="$want tshark"
command -v qemu-system-x86_64 >/dev/null 2>&1 || want="$want qemu-system-x86"
if [ -n "$want" ] && [ -z "${VHU_MONITOR_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null 2>&1; then
	echo "monitor: installing$want (VHU_MONITOR_NO_INSTALL=1 to skip)"
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		debconf-set-selections 2>/dev/null
	DEBIAN_FRONTEND=noninteractive timeout 150 sh -c "
		apt-get install -y --no-install-recommends $want >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 &&
		  apt-get install -y --no-install-recommends $want >/dev/null 2>&1; }" ||
		echo "monitor: could not install$want; their tests are skipped"
fi

exec timeout 115 python3 - "$top" "$build" <<'PY'
import concurrent.futures as cf, json, os, re, shutil, subprocess, sys, tempfile, time

TOP, BUILD = sys.argv[1], sys.argv[2]
MON = os.path.join(BUILD, "harness", "vhucheck-monitor")
HARNESS = os.path.join(BUILD, "harness", "vhucheck-harness")
FE = os.path.join(BUILD, "targets", "vhu-ref-frontend")
BE = os.path.join(BUILD, "targets", "vhu-ref-backend")
LUA = os.path.join(TOP, "runner", "vhucheck", "data", "vhost-user.lua")
# Sanitizer builds: a target's crash must stay a signal, not exit(1).
os.environ["ASAN_OPTIONS"] = "abort_on_error=1:" + os.environ.get("ASAN_OPTIONS", "")
ENV = dict(os.environ, PYTHONPATH=os.path.join(TOP, "runner"), VHUCHECK_BUILD_DIR=BUILD)
T0 = time.time()
TMP = tempfile.mkdtemp(prefix="vhu-stage-monitor.")
passed = failed = skipped = 0


def test(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {name}")
    else:
        failed += 1
        print(f"  FAIL {name}: {detail}")


def skip(name, why):
    global skipped
    skipped += 1
    print(f"  skip {name}: {why}")


START = "wait backend-channel\nwait quiet 30\n"
END = "wait quiet 30\nfrontend quit\n"
RESTART = "frontend reset\nwait quiet 30\nfrontend start\nwait quiet 30\n"


def mapline(off, ln, shmid=0, need=1, extra=""):
    return f"backend map shmid={shmid} shm_offset={off} len={ln} need_reply={need} {extra}\nwait quiet 30\n"


def unmapline(off, ln):
    return f"backend unmap shmid=0 shm_offset={off} len={ln} need_reply=1\nwait quiet 30\n"


def session(name, body, fe=(), be=(), rules=(), fe_opts="--auto-start", be_opts="",
            record=False, timeout=15):
    """One monitored session of the two references; the monitor's report."""
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    script = os.path.join(d, "script.ctl")
    with open(script, "w") as f:
        f.write(START + body + END)
    fe_cmd = f"{FE} --socket-path={{socket}} --control-fd={{control}} {fe_opts}"
    be_cmd = f"{BE} --socket-path={{socket}} --control-fd={{control}} {be_opts}"
    fe_cmd += "".join(f" --fault={x}" for x in fe)
    be_cmd += "".join(f" --fault={x}" for x in be)
    cmd = [MON, "--quiet", "--frontend-cmd", fe_cmd, "--backend-cmd", be_cmd,
           "--control-script", script, "--reply-timeout", "300", "--control-timeout", "3000",
           "--json", os.path.join(d, "report.json"), "--log-dir", d, "--duration", "8000"]
    for r in rules:
        cmd += ["--fault-rule", r]
    if record:
        cmd += ["--record", os.path.join(d, "session.trace")]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return {"_rc": "timeout", "_err": "", "_s": time.time() - t, "findings": []}
    try:
        with open(os.path.join(d, "report.json")) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        rep = {"findings": [], "_load": str(e)}
    rep.update(_rc=rc, _err=err[-600:], _s=time.time() - t, _dir=d)
    return rep


def codes(rep):
    return sorted({(f["code"], f["side"]) for f in rep.get("findings", [])})


# ---- the scenarios: (fault, expected code, side, session kwargs) ----
OVER = mapline("0x2000", "0x2000") + mapline("0x1000", "0x2000")
SAME = mapline("0", "0x2000") + mapline("0", "0x2000")
SCENARIOS = [
    ("fe_no_overlap_check", "MAP_ACCEPTED_INVALID", "frontend",
     dict(body=SAME, fe=["fe_no_overlap_check"], be=["be_map_overlap_own"])),
    ("fe_overlap_touching_rejected", "MAP_REFUSED_VALID", "frontend",
     dict(body=mapline("0", "0x1000") + mapline("0x1000", "0x1000"),
          fe=["fe_overlap_touching_rejected"])),
    ("fe_overlap_straddle_missed", "MAP_ACCEPTED_INVALID", "frontend",
     dict(body=OVER, fe=["fe_overlap_straddle_missed"], be=["be_map_overlap_own"])),
    ("fe_no_bounds_check", "MAP_ACCEPTED_INVALID", "frontend",
     dict(body=mapline("0xff000", "0x2000"), fe=["fe_no_bounds_check"],
          be=["be_map_outside_region"])),
    ("fe_bounds_wrap", "MAP_ACCEPTED_INVALID", "frontend",
     dict(body=mapline("0xfffffffffffff000", "0x2000"), fe=["fe_bounds_wrap"],
          be=["be_map_outside_region"])),
    ("fe_len_zero_accepted", "MAP_ACCEPTED_LEN_ZERO", "frontend",
     dict(body=mapline("0", "0x1000"), fe=["fe_len_zero_accepted"],
          rules=["corrupt:SHMEM_MAP:37:0x10"])),
    ("fe_unknown_shmid_null", "PROCESS_CRASH", "frontend",
     dict(body=mapline("0", "0x1000", shmid=5), fe=["fe_unknown_shmid_null"],
          be=["be_map_outside_region"])),
    ("fe_no_reply_on_error", "NO_REPLY", "frontend",
     dict(body=SAME, fe=["fe_no_reply_on_error"], be=["be_map_overlap_own"])),
    ("fe_error_reply_zero", "MAP_ACCEPTED_INVALID", "frontend",
     dict(body=SAME, fe=["fe_error_reply_zero"], be=["be_map_overlap_own"])),
    ("fe_reply_wrong_flags", "NO_REPLY_FLAG", "frontend",
     dict(body=mapline("0", "0x1000"), fe=["fe_reply_wrong_flags"])),
    ("fe_reply_wrong_size", "REPLY_VALUE", "frontend",
     dict(body=mapline("0", "0x1000"), fe=["fe_reply_wrong_size"])),
    ("fe_memtable_before_reply", "MEMTABLE_BEFORE_REPLY", "frontend",
     dict(body=mapline("0", "0x1000"), fe=["fe_memtable_before_reply"],
          fe_opts="--auto-start --announce=on")),
    ("fe_unmap_ignores_len", "UNMAP_ACCEPTED_INVALID", "frontend",
     dict(body=mapline("0", "0x2000") + unmapline("0", "0x2000"),
          fe=["fe_unmap_ignores_len"], rules=["corrupt:SHMEM_UNMAP:37:0x30"])),
    ("fe_unmap_partial", "UNMAP_ACCEPTED_INVALID", "frontend",
     dict(body=mapline("0", "0x2000") + unmapline("0", "0x2000"),
          fe=["fe_unmap_partial"], rules=["corrupt:SHMEM_UNMAP:37:0x30"])),
    ("fe_reset_keeps_mappings", "RESET_KEPT_MAPPING", "frontend",
     dict(body=mapline("0", "0x2000") + RESTART + mapline("0", "0x2000"),
          fe=["fe_reset_keeps_mappings"],
          be=["be_map_overlap_own"])),
    ("fe_map_without_shmem", "SHMEM_NOT_NEGOTIATED", "frontend",
     dict(body="", fe=["fe_map_without_shmem"], be_opts="--no-shmem")),
    ("fe_abort_before_start", "PROCESS_CRASH", "frontend",
     dict(body=mapline("0", "0x1000"), fe=["fe_abort_before_start"], fe_opts="")),
    ("fe_abort_nregions", "PROCESS_CRASH", "frontend",
     dict(body="", fe=["fe_abort_nregions"],
          rules=["corrupt:GET_SHMEM_CONFIG.reply:13:0x10"])),
    ("be_map_without_shmem", "SHMEM_NOT_NEGOTIATED", "backend",
     dict(body=mapline("0", "0x1000"), be=["be_map_without_shmem"],
          fe_opts="--auto-start --no-shmem")),
    ("be_no_wait_for_reply", "BACKEND_NO_WAIT", "backend",
     dict(body="backend map shmid=0 shm_offset=0 len=0x1000 need_reply=1\n" +
          mapline("0x1000", "0x1000"), be=["be_no_wait_for_reply"],
          rules=["delay:SHMEM_MAP.reply:150"])),
    ("be_fd_on_unmap", "FD_COUNT", "backend",
     dict(body=mapline("0", "0x1000") + unmapline("0", "0x1000"), be=["be_fd_on_unmap"])),
    ("be_no_fd_on_map", "FD_COUNT", "backend",
     dict(body=mapline("0", "0x1000"), be=["be_no_fd_on_map"])),
    ("be_nonzero_padding", "MMAP_PADDING", "backend",
     dict(body=mapline("0", "0x1000"), be=["be_nonzero_padding"])),
    ("be_unknown_flags", "MMAP_FLAGS", "backend",
     dict(body=mapline("0", "0x1000"), be=["be_unknown_flags"])),
    ("be_map_outside_region", "BACKEND_LEDGER", "backend",
     dict(body=mapline("0xff000", "0x2000"), be=["be_map_outside_region"])),
    ("be_map_overlap_own", "BACKEND_LEDGER", "backend",
     dict(body=SAME, be=["be_map_overlap_own"])),
    ("be_abort_short_reply", "PROCESS_CRASH", "backend",
     dict(body=mapline("0", "0x1000"), be=["be_abort_short_reply"],
          fe=["fe_reply_wrong_size"])),
    ("be_config_not_page_multiple", "SHMEM_PAGE", "backend",
     dict(body="", be=["be_config_not_page_multiple"])),
    ("be_config_unstable", "CONFIG_CHANGED", "backend",
     dict(body="frontend reset\nwait quiet 30\n", be=["be_config_unstable"],
          rules=["duplicate:GET_SHMEM_CONFIG"])),
]
NOT_ON_THE_WIRE = {
    "fe_fd_leak_on_error": "an fd kept inside the front-end; only /proc shows it",
    "fe_ro_mapped_rw": "the mapping's protection is inside the front-end; only /proc shows it",
    "fe_short_payload_stale": "needs a MAP shorter than 40 bytes, which a real back-end never sends",
    "be_eof_as_success": "the back-end's belief after EOF is not on the wire",
    "be_short_reply_as_success": "the back-end's belief after a short reply is not on the wire",
    "be_partial_reply_as_success": "needs a reply that stops short with the channel open, which "
                                   "the reference front-end never sends; the belief is not on "
                                   "the wire",
    "be_split_header_lost": "needs a reply header in two writes, which the reference front-end "
                            "never sends",
    "be_reply_flags_unchecked": "the back-end's belief after a reply with bad flags is not on "
                                "the wire",
    "be_reply_id_unchecked": "the back-end's belief after a reply with another id is not on "
                             "the wire",
    "be_keeps_reply_fds": "an fd kept inside the back-end; only /proc shows it",
    "be_no_reply_as_success": "the back-end's belief after no reply is not on the wire",
    "fe_memtable_blocks_backend": "needs a back-end that holds the memory-table answer while its "
                                  "own request waits; a relay forwards whatever the back-end does",
    "fe_memtable_overcommit": "needs more mappings than the back-end's slots; the monitor's "
                              "scripted sessions stay within them",
    "be_blocks_main_while_waiting": "the reference front-end replies first (digest 9), so a main "
                                    "channel blocked while the reply is due never shows on the "
                                    "wire",
}


def catalogue():
    names, cur = [], None
    with open(os.path.join(TOP, "targets", "faults", "catalogue.ini")) as f:
        for line in f:
            m = re.match(r"^\[(\w+)\]", line)
            if m:
                names.append(m.group(1))
    return names


print("== monitor: the references, clean")
clean = session("clean", mapline("0", "0x1000", extra="flags=rw") + mapline("0x2000", "0x2000")
                + unmapline("0", "0x1000") + RESTART + mapline("0", "0x1000"), record=True)
test("clean session: exit 0", clean["_rc"] == 0, f"rc {clean['_rc']} {clean['_err']}")
test("clean session: no finding at all", not clean.get("findings"),
     "; ".join(f"{f['code']}: {f['text']}" for f in clean.get("findings", [])[:3]))
msgs = clean.get("messages", {})
test("clean session: both channels relayed both ways",
     all(msgs.get(c, {}).get(s, 0) > 0 for c in ("main", "backend")
         for s in ("frontend", "backend")), json.dumps(msgs))
neg = clean.get("negotiated", {})
test("clean session: SHMEM, REPLY_ACK, back-end channel negotiated",
     neg.get("shmem") and neg.get("reply_ack") and neg.get("backend_channel"), json.dumps(neg))
test("clean session: the reset was seen and the ledger follows it",
     neg.get("resets") == 1 and neg.get("live_mappings_at_end") == 1, json.dumps(neg))
test("clean session: the targets exited by themselves",
     clean.get("frontend", {}).get("exit") == 0, json.dumps(clean.get("frontend")))

print("== monitor: each catalogued fault that shows on the wire is flagged")
cat = catalogue()
covered = {s[0] for s in SCENARIOS} | set(NOT_ON_THE_WIRE)
test("every catalogued fault has a scenario or a reason",
     not (set(cat) - covered), f"missing: {sorted(set(cat) - covered)}")
with cf.ThreadPoolExecutor(max_workers=4) as pool:
    futs = {pool.submit(session, name, **kw): (name, code, side)
            for name, code, side, kw in SCENARIOS if name in cat}
    results = {}
    for fut in cf.as_completed(futs):
        results[futs[fut]] = fut.result()
for name, code, side, _ in SCENARIOS:
    if name not in cat:
        skip(name, "not in the catalogue")
        continue
    rep = results[(name, code, side)]
    got = codes(rep)
    test(f"{name}: {code} on the {side}", (code, side) in got,
         f"rc {rep['_rc']}, findings {got} {rep.get('_load', '')} {rep['_err'][-300:]}")
for name, why in NOT_ON_THE_WIRE.items():
    if name in cat:
        skip(name, why)
slow = max((r["_s"] for r in results.values()), default=0)
test("every fault session ended in time", slow < 12, f"slowest {slow:.1f}s")

print("== monitor: record, print, replay")
trace = os.path.join(clean.get("_dir", TMP), "session.trace")
text = subprocess.run([MON, "--print-trace", trace], capture_output=True, text=True).stdout
test("trace prints the MAP with its fd described",
     re.search(r"backend BE->FE SHMEM_MAP .*fd0=memfd:size=0x1000", text) is not None, text[:400])
vhu = subprocess.run([sys.executable, "-m", "vhucheck", "trace", trace], capture_output=True,
                     text=True, env=ENV)
test("./vhucheck trace prints it too", vhu.returncode == 0 and "SHMEM_UNMAP" in vhu.stdout,
     vhu.stderr[-300:])
ROLES = {"backend": f"{FE} --socket-path={{socket}} --control-fd={{control}} --shmem-bit={{shmem_bit}}",
         "frontend": f"{BE} --fd={{fd}} --control-fd={{control}} --shmem-bit={{shmem_bit}}"}
OTHER = {"backend": "frontend", "frontend": "backend"}   # replay --as names the harness's side
for role, target in ROLES.items():
    case = os.path.join(TMP, f"replay_{role}.vhu")
    g = subprocess.run([sys.executable, "-m", "vhucheck", "replay", trace, "--as", role,
                        "-o", case], capture_output=True, text=True, env=ENV)
    if g.returncode != 0:
        test(f"replay --as {role}: case written", False, g.stderr[-300:])
        continue
    steps = sum(1 for l in open(case) if l.startswith(("send", "expect", "control", "reply")))
    h = subprocess.run([HARNESS, "--target-role", OTHER[role], "--target-cmd", target, case],
                       capture_output=True, text=True, timeout=30)
    line = json.loads(h.stdout.splitlines()[0]) if h.stdout.strip() else {}
    test(f"replay --as {role}: {steps} steps pass against the reference",
         line.get("verdict") == "PASS" and steps >= 6,
         f"{line.get('verdict')} {line.get('observed', '')} {h.stderr[-200:]}")
case = os.path.join(TMP, "replay_backend.vhu")
if os.path.exists(case):
    h = subprocess.run([HARNESS, "--target-role", "frontend", "--target-cmd",
                        ROLES["backend"] + " --fault=fe_reply_wrong_flags", case],
                       capture_output=True, text=True, timeout=30)
    line = json.loads(h.stdout.splitlines()[0]) if h.stdout.strip() else {}
    test("replay --as backend: a faulty front-end does not pass it",
         line.get("verdict") not in (None, "PASS"), f"{line.get('verdict')}")

print("== monitor: pcapng and the Wireshark dissector")
pcap = os.path.join(TMP, "clean.pcapng")
g = subprocess.run([sys.executable, "-m", "vhucheck", "pcap", trace, pcap],
                   capture_output=True, text=True, env=ENV)
try:
    with open(pcap, "rb") as f:
        head = f.read(256)
    shb_len = int.from_bytes(head[4:8], "little")
    linktype = int.from_bytes(head[shb_len + 8:shb_len + 10], "little")
except (OSError, ValueError):
    head, linktype = b"", None
test("pcap: a pcapng (section header, interface of link type 147)",
     g.returncode == 0 and head[:4] == b"\x0a\x0d\x0d\x0a" and linktype == 147,
     f"{linktype} {g.stderr[-300:]}")
if shutil.which("tshark"):
    t = subprocess.run(["tshark", "-X", f"lua_script:{LUA}", "-r", pcap, "-V",
                        "-Y", "vhostuser.backend_request == 9 && vhostuser.flags.reply == 0"],
                       capture_output=True, text=True, timeout=60)
    out = t.stdout
    test("tshark dissects SHMEM_MAP with its MMap fields",
         "VhostUserMMap" in out and "shm_offset: 0x0000000000002000" in out
         and "MAP_RW: True" in out and "memfd" in out, (t.stderr + out)[-400:])
    t = subprocess.run(["tshark", "-X", f"lua_script:{LUA}", "-r", pcap, "-V",
                        "-Y", "vhostuser.request == 44 && vhostuser.flags.reply == 1"],
                       capture_output=True, text=True, timeout=60)
    test("tshark dissects the GET_SHMEM_CONFIG reply",
         "VhostUserShMemConfig" in t.stdout and "[0] memory_size: 0x0000000000100000" in t.stdout,
         (t.stderr + t.stdout)[-400:])
else:
    skip("tshark dissection", "tshark is not installed (apt-get install tshark)")

print("== monitor: ./vhucheck monitor writes the usual reports")
out = os.path.join(TMP, "report")
script = os.path.join(TMP, "r.ctl")
with open(script, "w") as f:
    f.write(START + mapline("0", "0x1000") + END)
r = subprocess.run([sys.executable, "-m", "vhucheck", "monitor", "--quiet", "--out", out,
                    "--frontend-cmd", f"{FE} --socket-path={{socket}} --control-fd={{control}} --auto-start",
                    "--backend-cmd", f"{BE} --socket-path={{socket}} --control-fd={{control}} --fault=be_nonzero_padding",
                    "--control-script", script], capture_output=True, text=True, env=ENV, timeout=30)
try:
    doc = json.load(open(os.path.join(out, "results.json")))
    verdicts = {c["id"]: c["verdict"] for c in doc["cases"]}
except (OSError, ValueError, KeyError) as e:
    doc, verdicts = {}, {"error": str(e)}
test("./vhucheck monitor: results.json, index.html, junit.xml",
     all(os.path.exists(os.path.join(out, x)) for x in ("index.html", "junit.xml", "results.tap"))
     and len(verdicts) == 9, f"{r.returncode} {r.stderr[-300:]}")
test("./vhucheck monitor: a warning makes its check NON-STRICT, the rest PASS",
     verdicts.get("monitor_framing") == "NON-STRICT"
     and all(v == "PASS" for k, v in verdicts.items() if k != "monitor_framing")
     and r.returncode == 0, json.dumps(verdicts))

print("== monitor: QEMU 7.2 and virtiofsd")
qemu = shutil.which("qemu-system-x86_64")
vfs = next((p for p in (shutil.which("virtiofsd") or "", "/usr/libexec/virtiofsd",
                        "/usr/lib/qemu/virtiofsd") if p and os.access(p, os.X_OK)), None)
if not qemu or not vfs:
    skip("QEMU + virtiofsd handshake", "qemu-system-x86_64 or virtiofsd not installed "
         "(Debian: apt-get install qemu-system-x86; bookworm ships virtiofsd in it)")
else:
    share = os.path.join(TMP, "share")
    os.makedirs(share, exist_ok=True)
    help_text = subprocess.run([vfs, "--help"], capture_output=True, text=True).stdout
    if "--shared-dir" in help_text:
        be_cmd = f"{vfs} --socket-path={{socket}} --shared-dir={share} --sandbox=none"
    else:
        be_cmd = f"{vfs} --socket-path={{socket}} -o source={share} -o sandbox=chroot -o cache=none"
    fe_cmd = (f"{qemu} -M pc,accel=tcg -S -nographic -nodefaults -m 64 -monitor none "
              "-serial none -object memory-backend-memfd,id=mem,size=64M,share=on "
              "-numa node,memdev=mem -chardev socket,id=c,path={socket} "
              "-device vhost-user-fs-pci,chardev=c,tag=t")
    d = os.path.join(TMP, "qemu")
    os.makedirs(d)
    qtrace = os.path.join(d, "qemu.trace")
    q = subprocess.run([MON, "--quiet", "--frontend-cmd", fe_cmd, "--backend-cmd", be_cmd,
                        "--duration", "2500", "--connect-timeout", "20000", "--record", qtrace,
                        "--json", os.path.join(d, "r.json"), "--log-dir", d],
                       capture_output=True, text=True, timeout=60)
    try:
        rep = json.load(open(os.path.join(d, "r.json")))
    except (OSError, ValueError):
        rep = {}
    m = rep.get("messages", {})
    qt = subprocess.run([MON, "--print-trace", qtrace], capture_output=True, text=True).stdout
    test("QEMU <-> virtiofsd: handshake relayed (features, back-end channel)",
         m.get("main", {}).get("frontend", 0) >= 5 and "GET_PROTOCOL_FEATURES" in qt
         and rep.get("negotiated", {}).get("backend_channel"),
         f"rc {q.returncode} {json.dumps(m)} {q.stderr[-400:]}")
    test("QEMU <-> virtiofsd: no error finding",
         rep.get("counts", {}).get("error", 1) == 0,
         "; ".join(f"{f['code']}: {f['text']}" for f in rep.get("findings", [])[:3]))

shutil.rmtree(TMP, ignore_errors=True)
print(f"monitor stage took {time.time() - T0:.1f}s")
print(f"stage: {passed} passed, {failed} failed, {skipped} skipped")
PY
