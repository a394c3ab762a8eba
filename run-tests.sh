#!/bin/sh
# run-tests.sh: every test suite of the project, then one closing line
# "N passed, M failed, K skipped". Exit non-zero on any failure.
#
# One `meson test` in build/ runs them all, in this order: the Check unit
# tests (gcc, suite 'unit'), the same under clang with ASan+UBSan in
# build-asan/ (suite 'sanitizers'), then each tests/stages/*.sh one at a
# time (suite 'stages', and one suite per stage: the runner's unittests
# are 'runner'). Meson writes build/meson-logs/testlog.{txt,json,junit.xml};
# tests/lib/testlog.py shows each stage's output and counts the checks
# from testlog.json: the unit tests' TAP lines, each stage's own closing
# line.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"

vhu_ensure_pkgs $VHU_PKGS_BUILD || exit 2
vhu_ensure_pkgs $VHU_PKGS_EXTRA || echo "run-tests: fuzzing stages will be skipped" >&2

if ! vhu_build build; then
	echo "run-tests: build failed"
	echo
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# A stage or a unit test file added since build/ was configured is not
# a meson test yet (meson lists them when it configures).
. "$top/tests/lib/fresh.sh"
vhu_fresh_tests build stages

rm -f build/meson-logs/testlog.json
meson test -C build --no-rebuild --suite unit --suite sanitizers --suite stages \
	--num-processes 2
python3 tests/lib/testlog.py count build/meson-logs/testlog.json tests/stages
