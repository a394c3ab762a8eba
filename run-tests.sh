#!/bin/sh
# run-tests.sh: every test suite of the project, then one closing line
# "N passed, M failed, K skipped". Exit non-zero on any failure.
#
# Stages: unit tests (gcc), the same under ASan+UBSan (clang), a
# warning-free build with clang, the runner's unittests, the conformance
# suite against both reference targets, the fault self-test, the fuzz
# smoke, the report check in a real browser.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"

vhu_ensure_pkgs $VHU_PKGS_BUILD || exit 2
vhu_ensure_pkgs $VHU_PKGS_EXTRA || echo "run-tests: fuzzing stages will be skipped" >&2

PASSED=0 FAILED=0 SKIPPED=0
LOGDIR=$(mktemp -d /tmp/vhu-tests.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

stage() { printf '\n== %s\n' "$*"; }
count() { PASSED=$((PASSED + $1)); FAILED=$((FAILED + $2)); SKIPPED=$((SKIPPED + ${3:-0})); }

# Sums Check's "NN%: Checks: C, Failures: F, Errors: E" lines of a log.
count_check_log() {
	set -- $(awk '/Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
		gsub(/,/, ""); c += $3; f += $5 + $7 } END { print c + 0, f + 0 }' "$1")
	count $(($1 - $2)) "$2"
}

# unit_stage NAME DIR [meson options]: builds DIR and runs the Check tests.
unit_stage() {
	name=$1 dir=$2; shift 2
	stage "unit tests ($name)"
	if ! vhu_build "$dir" "$@"; then
		echo "run-tests: build $dir failed"; count 0 1; return
	fi
	log="$LOGDIR/unit-$name.log"
	meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2 >"$log" 2>&1
	rc=$?
	cat "$dir"/meson-logs/testlog.txt >>"$log" 2>/dev/null
	grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed 's/^/  /'
	before=$FAILED
	count_check_log "$log"
	if [ $rc -ne 0 ] && [ $FAILED -eq "$before" ]; then
		echo "run-tests: meson test failed without a failing check"; count 0 1
	fi
	[ $rc -ne 0 ] && grep -E ':[0-9]+:[EF]:' "$log" | head -20
}

unit_stage gcc build
CC=clang; export CC
unit_stage "clang, ASan+UBSan" build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dc_args=-fno-sanitize-recover=all \
	-Dc_link_args=-fno-sanitize-recover=all
unset CC

for s in "$top"/tests/stages/*.sh; do
	[ -f "$s" ] || continue
	stage "$(sed -n 's/^# stage: //p' "$s")"
	log="$LOGDIR/$(basename "$s").log"
	sh "$s" "$top" 2>&1 | tee "$log"
	# Each stage ends with "stage: P passed, F failed, S skipped".
	set -- $(sed -n 's/^stage: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log" | tail -1)
	if [ $# -eq 3 ]; then count "$1" "$2" "$3"; else
		echo "run-tests: stage $(basename "$s") printed no result"; count 0 1; fi
done

echo
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
