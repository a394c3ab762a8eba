#!/bin/sh
# stage: malformed inputs
#
# Every malformed input to vhucheck itself -- case scripts, target
# profiles, expectations files, case trees, command lines of ./vhucheck
# and of vhucheck-harness -- must be refused with the right exit status
# and one clear line naming the file and line, key or option, and must
# leave nothing half-written behind. The inputs and what each must give
# are in tests/malformed/ (expected.tsv). One test per input.
#
# usage: sh tests/stages/60-malformed.sh TOPDIR
# env:   VHU_CHAOS_BUILD (build dir, default TOPDIR/build)
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHU_CHAOS_BUILD:-$top/build}
cd "$top" || exit 2

. "$top/tests/lib/stage.sh"
stage_build_or_skip "malformed" "$build" harness/vhucheck-harness targets/vhu-chaos

exec python3 - "$top" "$build" <<'PY'
import json, os, re, shlex, shutil, subprocess, sys, tempfile

TOP, BUILD = sys.argv[1], sys.argv[2]
DIR = "tests/malformed"
HARNESS = os.path.join(BUILD, "harness", "vhucheck-harness")
CHAOS = os.path.join(BUILD, "targets", "vhu-chaos")
CASE = "suites/C-map/shmem_map_overlap_equal.vhu"   # valid, target frontend
ENV = dict(os.environ, VHUCHECK_BUILD_DIR=BUILD)
TIMEOUT_S = 60
passed = failed = 0


def chaos_cmd(trole):
    return "%s --role=%s --fd={fd} --mode=polite" % (CHAOS, trole)


def run(argv, env=ENV):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return None, "", "(hung for %d s)" % TIMEOUT_S
    return p.returncode, p.stdout, p.stderr


def lines(text):
    return [l for l in text.splitlines() if l.strip()]


def leftovers(path):
    """What a refused run left in its output dir or file."""
    if not os.path.exists(path):
        return []
    if os.path.isfile(path):
        return [path] if os.path.getsize(path) else []
    return sorted(os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs)


def case_target(path):
    """The role of the target a case is for (its `target` line)."""
    try:
        m = re.search(r"^\s*target\s+(backend|frontend)\b", open(path, errors="replace").read(), re.M)
    except OSError:
        m = None
    return m.group(1) if m else "frontend"


# ---- one runner per kind: returns (argv, env, where output would go) ----

def plan_vhu(name, work, args):
    f = os.path.join(DIR, name + ".vhu")
    trole = case_target(f)
    os.makedirs(os.path.join(work, "trace"))
    argv = [HARNESS, "--target-role", trole, "--target-cmd", chaos_cmd(trole),
            "--json", os.path.join(work, "results.jsonl"),
            "--trace-dir", os.path.join(work, "trace"), f]
    return argv, ENV, [os.path.join(work, "results.jsonl"), os.path.join(work, "trace")], f


def plan_profile(name, work, args):
    f = os.path.join(DIR, name + ".toml")
    out = os.path.join(work, "out")
    return ["./vhucheck", "run", "--target", f, "--out", out], ENV, [out], f


def plan_expect(name, work, args):
    f = os.path.join(DIR, name + ".toml")
    out = os.path.join(work, "out")
    return (["./vhucheck", "run", "--target", "ref-backend", "--expect", f,
             "--cases", "config_fe_page_multiple", "--out", out], ENV, [out], f)


def plan_suite(name, work, args):
    tree = os.path.join(work, "suites")
    for item in args.split():
        area, fname = item.split("/")
        os.makedirs(os.path.join(tree, area), exist_ok=True)
        shutil.copy(os.path.join(DIR, fname), os.path.join(tree, area, fname))
    out = os.path.join(work, "out")
    return ["./vhucheck", "run", "--out", out], dict(ENV, VHUCHECK_SUITES=tree), [out], name


def subst_words(args, work):
    a_file = os.path.join(work, "a-file")
    open(a_file, "w").close()
    out = os.path.join(work, "out")
    rep = {"{out}": out, "{file}": a_file, "{case}": CASE,
           "{chaos}": chaos_cmd("frontend")}
    words = []
    for w in shlex.split(args):
        for k, v in rep.items():
            w = w.replace(k, v)
        words.append(w)
    return words, out


def plan_cli(name, work, args):
    words, out = subst_words(args, work)
    return ["./vhucheck"] + words, ENV, [out], name


def plan_hcli(name, work, args):
    words, out = subst_words(args, work)
    return [HARNESS] + words, ENV, [out], name


PLANS = {"vhu": plan_vhu, "profile": plan_profile, "expect": plan_expect,
         "suite": plan_suite, "cli": plan_cli, "hcli": plan_hcli}


# ---- judging ----

def judge(kind, want_rc, regex, rc, out, err, outputs, shown):
    """A list of what is wrong; empty when the input was refused well."""
    bad = []
    if rc != want_rc:
        bad.append("exit %s, want %d" % (rc, want_rc))
    errl = lines(err)
    pat = re.compile(regex.replace("{file}", re.escape(shown)))
    if kind == "vhu":
        # Every line a file:line: message about this file, one the expected.
        form = re.compile("^%s(:\\d+)?: " % re.escape(shown))
        if not errl or not all(form.match(l) for l in errl):
            bad.append("not all stderr lines are '%s:LINE: message': %r" % (shown, errl[:3]))
        if not any(pat.search(l) for l in errl):
            bad.append("no stderr line matches /%s/: %r" % (pat.pattern, errl[:3]))
        if out.strip():
            bad.append("wrote to stdout: %r" % out[:80])
    elif want_rc == 3 and kind == "suite":
        # A script error found while running: reported, as a whole report.
        if not any(pat.search(l) for l in lines(out) + errl):
            bad.append("no output line matches /%s/" % pat.pattern)
    elif kind in ("profile", "expect", "suite"):
        if len(errl) != 1 or not pat.search(errl[0]):
            bad.append("want one stderr line matching /%s/, got %r" % (pat.pattern, errl[:3]))
    else:
        if not errl or not pat.search(errl[-1]):
            bad.append("last stderr line does not match /%s/: %r" % (pat.pattern, errl[-2:]))
        if kind == "hcli" and out.strip():
            bad.append("wrote results to stdout: %r" % out[:80])
    for o in outputs:
        left = leftovers(o)
        if want_rc == 3 and kind == "suite":
            bad += complete_report(o)
        elif left:
            bad.append("left %d file(s) behind: %s" % (len(left), left[:3]))
    return bad


def complete_report(out):
    """A run that ran wrote whole files, results.json valid, no temp files."""
    bad = []
    try:
        json.load(open(os.path.join(out, "results.json")))
    except (OSError, ValueError) as e:
        bad.append("results.json missing or invalid: %s" % e)
    temps = [p for p in leftovers(out) if re.search(r"\.tmp|~$|/\.[^/]+$", p)]
    if temps:
        bad.append("temporary files left: %s" % temps[:3])
    return bad


def read_table():
    rows = []
    with open(os.path.join(DIR, "expected.tsv")) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 4 or cols[1] not in PLANS:
                sys.exit("%s/expected.tsv:%d: want name, kind, exit, regex[, args]" % (DIR, n))
            rows.append((cols[0], cols[1], int(cols[2]), cols[3],
                         cols[4] if len(cols) > 4 else ""))
    return rows


def main():
    global passed, failed
    rows = read_table()
    files = {r[0] for r in rows if r[1] in ("vhu", "profile", "expect")}
    on_disk = {os.path.splitext(f)[0] for f in os.listdir(DIR) if f.endswith((".vhu", ".toml"))}
    unlisted = sorted(on_disk - files)
    if unlisted:
        print("malformed: inputs with no row in expected.tsv: %s" % unlisted)
    kinds = {}
    for name, kind, want_rc, regex, args in rows:
        work = tempfile.mkdtemp(prefix="vhu-malformed.")
        try:
            argv, env, outputs, shown = PLANS[kind](name, work, args)
            rc, out, err = run(argv, env)
            bad = judge(kind, want_rc, regex, rc, out, err, outputs, shown)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        kinds[kind] = kinds.get(kind, 0) + 1
        if bad:
            failed += 1
            print("  FAIL %-28s %s" % (name, "; ".join(bad)))
        else:
            passed += 1
            print("  ok   %-28s exit %d" % (name, want_rc))
        sys.stdout.flush()
    print("malformed: %d inputs (%s)" % (len(rows), ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))))
    print("stage: %d passed, %d failed, 0 skipped" % (passed, failed))


main()
PY
