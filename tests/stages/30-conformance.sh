#!/bin/sh
# stage: conformance suite against both reference targets
# Every case must pass on the clean references: one test per case run,
# and one per reference whose control channel `targets --check` finds
# complete (docs/control.md).
top=$1
cd "$top" || exit 2
out=$(mktemp -d /tmp/vhu-conf.XXXXXX)
log=$(mktemp /tmp/vhu-ctlcheck.XXXXXX)
cpass=0 cfail=0
for t in ref-backend ref-frontend; do
	if VHUCHECK_BUILD_DIR="$top/build" ./vhucheck targets --check "$t" >"$log" 2>&1; then
		cpass=$((cpass + 1))
	else
		cfail=$((cfail + 1))
		echo "  targets --check $t:"; sed 's/^/    /' "$log"
	fi
done
rm -f "$log"
VHUCHECK_BUILD_DIR="$top/build" ./vhucheck run -j 2 --out "$out"
rc=$?
python3 tests/stages/tally.py "$out" "$rc" |
	awk -v p=$cpass -v f=$cfail '/^stage: / { printf "stage: %d passed, %d failed, %d skipped\n", $2 + p, $4 + f, $6; next } { print }'
rm -rf "$out"
