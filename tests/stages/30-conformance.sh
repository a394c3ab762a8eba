#!/bin/sh
# stage: conformance suite against both reference targets
# Every case must pass on the clean references: one test per case run.
top=$1
cd "$top" || exit 2
out=$(mktemp -d /tmp/vhu-conf.XXXXXX)
VHUCHECK_BUILD_DIR="$top/build" ./vhucheck run -j 2 --out "$out"
rc=$?
python3 tests/stages/tally.py "$out" "$rc"
rm -rf "$out"
