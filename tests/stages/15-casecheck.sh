#!/bin/sh
# stage: cases checked by the model (MAP/UNMAP expectations against the
# spec) and their requires against their steps
#
# vhucheck-harness --check-cases recomputes, from each case's own
# handshake and earlier steps, whether the spec makes every expected
# MAP/UNMAP reply succeed or fail (docs/writing-cases.md, "Checking
# cases"), and reports each expectation that says otherwise as
# file:line: message; likewise a `requires` no step needs (control, pid,
# socket) or a handshake cannot meet. No target runs. One test per case file: passed
# when it parses and the checker finds nothing in it.
#
# usage: sh tests/stages/15-casecheck.sh TOPDIR
# env:   VHUCHECK_BUILD_DIR (build dir, default TOPDIR/build)
top=$(cd "${1:-.}" && pwd) || exit 2
build=${VHUCHECK_BUILD_DIR:-$top/build}
cd "$top" || exit 2

. "$top/tests/lib/stage.sh"
stage_build_or_skip "casecheck" "$build" harness/vhucheck-harness

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
t0=$(date +%s%N)
"$build/harness/vhucheck-harness" --check-cases suites/*/*.vhu >"$out" 2>"$err"
rc=$?
t1=$(date +%s%N)
total=$(ls suites/*/*.vhu | wc -l)
# Findings and parse errors both start with the case's path.
bad=$(sed -n 's/^\(suites\/[^:]*\.vhu\):.*/\1/p' "$err" | sort -u | wc -l)
sed 's/^/  /' "$err"
cat "$out"
echo "casecheck: $total case files in $(( (t1 - t0) / 1000000 )) ms"
failed=$bad
# Exit 0 is no finding, 2 findings or script errors; anything else, or
# 2 without a line naming a case, is the checker itself failing.
if [ $rc -ne 0 ] && { [ $rc -ne 2 ] || [ "$bad" -eq 0 ]; }; then
	echo "  vhucheck-harness --check-cases exited $rc"
	failed=$((failed + 1))
fi
echo "stage: $((total - bad)) passed, $failed failed, 0 skipped"
