#!/bin/sh
# stage: fault self-test (each catalogued fault caught by a case it names)
top=$1
cd "$top" || exit 2
VHUCHECK_BUILD_DIR="$top/build" python3 tests/stages/fault_table.py
