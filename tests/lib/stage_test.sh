#!/bin/sh
# stage_test.sh STAGE TOP: one tests/stages/*.sh stage as a meson test.
# The stage's output passes through; its closing line
# "stage: P passed, F failed, S skipped" (which tests/lib/testlog.py
# counts) becomes the exit status meson reads: 1 when a check failed or
# the line is missing, 77 (skipped) when nothing passed and something
# was skipped (a tool is missing: the stage said why), else 0.
stage=$1 top=$2
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
sh "$stage" "$top" 2>&1 | tee "$out"
set -- $(sed -n 's/^stage: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out" | tail -1)
if [ $# -ne 3 ]; then
	echo "stage_test: $(basename "$stage") printed no stage line"
	exit 1
fi
[ "$2" -gt 0 ] && exit 1
[ "$1" -eq 0 ] && [ "$3" -gt 0 ] && exit 77
exit 0
