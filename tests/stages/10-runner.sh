#!/bin/sh
# stage: runner unittests (python3 -m unittest)
# Prints unittest's own summary, then the stage line run-tests.sh reads.
top=$1
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"
# The report check loads index.html in a real browser when it can.
vhu_ensure_pkgs chromium || echo "runner: no chromium: the browser check of the reports is skipped"
log=$(mktemp)
VHUCHECK_BUILD_DIR="$top/build" python3 -m unittest discover -s tests/runner >"$log" 2>&1
rc=$?
grep -E '^(FAIL|ERROR):' "$log" | head -20
tail -3 "$log"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in.*/\1/p' "$log")
bad=$(sed -n 's/^FAILED (\(.*\))$/\1/p' "$log" | tr ',' '\n' |
	sed -n 's/ *\(failures\|errors\)=\([0-9]*\)/\2/p' | awk '{s+=$1} END {print s+0}')
skip=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' "$log" | tail -1)
rm -f "$log"
ran=${ran:-0} bad=${bad:-0} skip=${skip:-0}
[ "$ran" -eq 0 ] && bad=1
[ $rc -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
ok=$((ran - bad - skip)); [ $ok -lt 0 ] && ok=0
echo "stage: $ok passed, $bad failed, $skip skipped"
