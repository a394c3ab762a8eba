#!/bin/sh
# sanitizers.sh TOP: the unit tests built with clang under ASan+UBSan
# (-fno-sanitize-recover=all) in TOP/build-asan, as one TAP stream (each
# check named after its module) for the meson test 'sanitizers'.
top=$1
cd "$top" || exit 2
. "$top/runner/bootstrap.sh"
CC=clang; export CC
if ! vhu_build "$top/build-asan" -Db_sanitize=address,undefined \
	-Db_lundef=false -Dc_args=-fno-sanitize-recover=all \
	-Dc_link_args=-fno-sanitize-recover=all >&2; then
	echo "Bail out! build-asan does not build"
	exit 1
fi
. "$top/tests/lib/fresh.sh"
vhu_fresh_tests "$top/build-asan"
meson test -C "$top/build-asan" --suite unit --num-processes 2 \
	--logbase sanitizers >&2
python3 "$top/tests/lib/testlog.py" tap "$top/build-asan/meson-logs/sanitizers.json"
