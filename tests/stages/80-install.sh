#!/bin/sh
# stage: the installed tool (meson install with DESTDIR, run from elsewhere)
#
# Configures build-install/ with a prefix nobody has (/opt/vhucheck-stage),
# installs it with DESTDIR into a temp dir, and runs the staged vhucheck
# from another directory with no VHUCHECK_* in its environment: the whole
# suite against both references (it must pass and take its programs,
# cases and profiles from the staged prefix), a short run without --out
# (reports under ./vhucheck-out), the man page (rendered with man -l when
# man is there, else its roff checked), and that neither the source tree
# nor the staged prefix was written to. Tests:
#   install      meson install succeeds and every installed piece is there
#   run          the whole suite against both references, exit 0, from the prefix
#   default-out  without --out, reports go to ./vhucheck-out of the cwd
#   checkout     bench is refused (exit 2): the installed tool builds nothing
#   man          vhucheck(1): a section per command, renders
#   untouched    nothing written into the source tree or the prefix
#
# usage: sh tests/stages/80-install.sh TOPDIR
# env:   VHU_INSTALL_BUILD (default TOPDIR/build-install)
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHU_INSTALL_BUILD:-$top/build-install}
prefix=/opt/vhucheck-stage
cd "$top" || exit 2

for tool in meson ninja python3 cc; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "install: no $tool on PATH; skipped"
		echo "stage: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done

tmp=$(mktemp -d /tmp/vhu-install.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { echo "  ok   $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "stage: $passed passed, $failed failed, 0 skipped"; exit 0; }

# --- install: its own build dir, so build/'s prefix stays as it is; unit
# tests are not built (the unit stages build them).
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --prefix="$prefix" -Dtests=disabled >"$tmp/setup.log" 2>&1 ||
		{ tail -20 "$tmp/setup.log"; bad install "meson setup $build failed"; finish; }
fi
meson configure "$build" --prefix="$prefix" >/dev/null 2>&1
dest=$tmp/dest
staged=$dest$prefix
if ! { ninja -C "$build" && DESTDIR=$dest meson install -C "$build" --no-rebuild; } \
		>"$tmp/install.log" 2>&1; then
	tail -20 "$tmp/install.log"
	bad install "ninja or meson install failed"; finish
fi
missing=""
for f in bin/vhucheck bin/vhucheck-harness bin/vhucheck-monitor share/man/man1/vhucheck.1 \
	libexec/vhucheck/harness/vhucheck-harness libexec/vhucheck/harness/vhucheck-monitor \
	libexec/vhucheck/targets/vhu-ref-frontend libexec/vhucheck/targets/vhu-ref-backend \
	libexec/vhucheck/targets/vhu-chaos libexec/vhucheck/targets/qtest/vhu-qtest \
	libexec/vhucheck/targets/libvhu-crashtrace.so libexec/vhucheck/fuzzers/vhu-fuzzcase libexec/vhucheck/fuzzers/vhu-fuzzlive libexec/vhucheck/fuzzers/vhu-fuzzlive-be \
	share/vhucheck/targets/faults/catalogue.ini share/vhucheck/targets/profiles/ref-frontend.toml \
	share/vhucheck/targets/profiles/expect/qemu-debian.toml \
	share/vhucheck/reports/templates/page.html share/vhucheck/corpus/fuzz_shmem_map.dict \
	share/vhucheck/runner/vhucheck/cli.py share/vhucheck/runner/vhucheck/render/html.py \
	share/vhucheck/runner/vhucheck/data/vhost-user.lua \
	share/vhucheck/runner/vhucheck/installed.json; do
	[ -e "$staged/$f" ] || missing="$missing $f"
done
n_src=$(ls suites/*/*.vhu | wc -l)
n_inst=$(ls "$staged"/share/vhucheck/suites/*/*.vhu 2>/dev/null | wc -l)
[ "$n_src" -eq "$n_inst" ] || missing="$missing suites($n_inst of $n_src cases)"
[ -x "$staged/bin/vhucheck" ] || missing="$missing (bin/vhucheck not executable)"
pyc=$(find "$staged" -name __pycache__ -o -name '*.pyc' | head -3)
if [ -n "$missing$pyc" ]; then
	bad install "missing under $prefix:$missing${pyc:+; bytecode installed: $pyc}"
else
	ok "install: $(find "$staged" -type f | wc -l) files under DESTDIR$prefix"
fi

# --- run: from another dir, with the checkout out of reach (no VHUCHECK_*
# variables, no PYTHONPATH); the staged tree is the prefix.
mkdir -p "$tmp/elsewhere"
touch "$tmp/marker"
sleep 1          # mtimes of what the runs write are later than the marker's
vhu() {
	(cd "$tmp/elsewhere" && env -u VHUCHECK_BUILD_DIR -u VHUCHECK_HARNESS \
		-u VHUCHECK_SUITES -u VHUCHECK_PROFILES -u VHUCHECK_FAULTS -u PYTHONPATH \
		XDG_STATE_HOME="$tmp/state" "$staged/bin/vhucheck" "$@")
}
vhu run --out "$tmp/out" >"$tmp/run.log" 2>&1
rc=$?
sed 's/^/  | /' "$tmp/run.log" | tail -4
why=$(python3 - "$tmp/out" "$staged" "$n_src" <<'EOF'
import json, os, sys
out, staged, n_src = sys.argv[1], sys.argv[2], int(sys.argv[3])
problems, total = [], 0
for target in ("ref-frontend", "ref-backend"):
    try:
        with open(os.path.join(out, target, "results.json")) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"{target}: no results.json ({e})")
        continue
    cases = doc.get("cases", [])
    total += len(cases)
    bad = [c.get("id") for c in cases if c.get("verdict") not in ("PASS", "NON-STRICT", "INFO")]
    if bad:
        problems.append(f"{target}: {len(bad)} not passing, e.g. {bad[0]}")
    settings = doc.get("settings") or doc.get("run") or {}
    text = json.dumps(doc.get("target", {})) + json.dumps(settings)
    for part in (("libexec", "vhucheck"), ("share", "vhucheck", "targets", "profiles")):
        if os.path.join(staged, *part) not in text:
            problems.append(f"{target}: results.json names no {'/'.join(part)} of the prefix")
# Each case file is run against the target of its role; a case that
# plays both roles counts twice, so at least every file ran once.
if total < n_src:
    problems.append(f"{total} cases run, fewer than the {n_src} case files")
print("; ".join(problems))
EOF
)
if [ $rc -ne 0 ]; then
	bad run "the installed vhucheck run exited $rc"
elif [ -n "$why" ]; then
	bad run "$why"
else
	ok "run: $(tail -3 "$tmp/run.log" | head -2 | tr '\n' ' ')"
fi

# --- default-out: reports without --out under the cwd's vhucheck-out.
vhu run --target ref-frontend --cases 'shmem_map_overlap_*' >"$tmp/short.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -f "$tmp/elsewhere/vhucheck-out/latest/results.json" ]; then
	ok "default-out: vhucheck-out/$(readlink "$tmp/elsewhere/vhucheck-out/latest")"
else
	sed 's/^/  | /' "$tmp/short.log" | tail -5
	bad default-out "exit $rc, no vhucheck-out/latest/results.json under the cwd"
fi

# --- checkout: commands that build refuse, with exit 2.
vhu bench suite >"$tmp/bench.log" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "source checkout" "$tmp/bench.log"; then
	ok "checkout: bench refused ($(head -1 "$tmp/bench.log" | cut -c1-60)...)"
else
	bad checkout "vhucheck bench suite exited $rc: $(head -2 "$tmp/bench.log")"
fi

# --- man: a section per command, and it renders.
page=$staged/share/man/man1/vhucheck.1
why=$(python3 - "$page" "$top/runner" <<'EOF'
import sys
page, runner = sys.argv[1], sys.argv[2]
sys.path.insert(0, runner)
sys.dont_write_bytecode = True
from vhucheck.cli import COMMANDS
try:
    text = open(page, encoding="utf-8").read()
except OSError as e:
    sys.exit(print(f"{page}: {e.strerror}"))
problems = []
if not text.startswith(".TH VHUCHECK 1 "):
    problems.append("no .TH VHUCHECK 1 header")
for sh in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES"):
    if f"\n.SH {sh}\n" not in text:
        problems.append(f"no .SH {sh}")
for name, _ in COMMANDS:
    if f'\n.SS "vhucheck {name}"\n' not in text:
        problems.append(f"no section for vhucheck {name}")
for n, line in enumerate(text.split("\n"), 1):
    if line.startswith(".") and not line[1:3].strip() and line not in (".",):
        problems.append(f"line {n}: bad request {line[:20]!r}")
print("; ".join(problems))
EOF
)
if [ -n "$why" ]; then
	bad man "$why"
elif command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$tmp/man.err" ] || ! grep -q "vhucheck run" "$tmp/man.txt"; then
		bad man "man -l exited $rc: $(head -3 "$tmp/man.err")"
	else
		ok "man: vhucheck(1), $(wc -l <"$tmp/man.txt") lines rendered by man -l"
	fi
elif command -v groff >/dev/null 2>&1; then
	if groff -man -Tutf8 -ww -z "$page" 2>"$tmp/man.err" && [ ! -s "$tmp/man.err" ]; then
		ok "man: vhucheck(1) (no man; groff -z finds nothing)"
	else
		bad man "groff: $(head -3 "$tmp/man.err")"
	fi
else
	ok "man: vhucheck(1) roff checked (neither man nor groff here to render it)"
fi

# --- untouched: the runs wrote only into $tmp (the out dirs, the cwd, the
# state dir): nothing newer than the marker in the checkout (outside its
# build dirs) or in the staged prefix.
changed=$( { find "$top" \( -path "$top/.git" -o -path "$top/build" -o -path "$top/build-*" \) \
	-prune -o -newer "$tmp/marker" -print; find "$staged" -newer "$tmp/marker" -print; } | head -5)
if [ -n "$changed" ]; then
	bad untouched "written by the installed tool: $(echo $changed)"
else
	ok "untouched: nothing written into the checkout or $prefix"
fi
finish
