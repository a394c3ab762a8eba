#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build of the vhucheck fuzz targets.
#
# Uses what the infrastructure sets: $CC $CFLAGS (sanitizer and coverage
# flags), $LIB_FUZZING_ENGINE (the engine's main), $SRC (the checkout's
# parent), $OUT (where fuzzers, seed corpora, dictionaries and .options
# go), $WORK (scratch; a temporary directory when unset). Needs meson
# (>= 0.63) and ninja besides the compiler: see the Dockerfile.
#
# Local test (tests/stages/20-fuzz.sh does this):
#   CC=clang CFLAGS=-fsanitize=fuzzer-no-link,address \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC=.. OUT=/tmp/x \
#   fuzzers/oss-fuzz/build.sh

: "${SRC:?}" "${OUT:?}" "${CC:?}" "${LIB_FUZZING_ENGINE:?}"
CFLAGS=${CFLAGS:-}
TOP=${VHU_TOP:-$SRC/vhucheck}
[ -f "$TOP/fuzzers/driver.c" ] || TOP=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d)}
OBJ=$WORK/vhucheck-obj
mkdir -p "$OBJ" "$OUT"

# The libraries go through the project's own build, which knows their
# sources; only the fuzz targets are compiled here. The engine's main
# comes from $LIB_FUZZING_ENGINE: the driver builds as the libFuzzer
# interface, which every OSS-Fuzz engine speaks.
BUILD=$WORK/vhucheck-build
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$TOP" -Dfuzzers=none -Dtests=disabled \
		-Dwerror=false -Dbuildtype=plain -Db_lundef=false "-Dc_args=$CFLAGS"
fi
ninja -C "$BUILD" harness/core/libvhucore.a targets/libvhuref.a
LIBS="$BUILD/targets/libvhuref.a $BUILD/harness/core/libvhucore.a"

FLAGS="$CFLAGS -std=c11 -D_GNU_SOURCE -DFUZZ_ENGINE_LIBFUZZER -I$TOP/harness/core -I$TOP/harness/engine -I$TOP/targets/ref -I$TOP/fuzzers"

cc_obj() { # SOURCE -> object path (compiled once)
	o="$OBJ/$(echo "$1" | tr / _).o"
	[ -f "$o" ] || $CC $FLAGS -c "$TOP/$1" -o "$o"
	echo "$o"
}

zip_dir() { # DIR ZIP: zip when installed, else python3's zipfile
	rm -f "$2"
	if command -v zip >/dev/null 2>&1; then
		(cd "$1" && zip -q -r "$2" .)
	else
		(cd "$1" && python3 -m zipfile -c "$2" ./*)
	fi
}

# Each target's own sources in fuzzers/ (fuzzers/meson.build says the same).
RIG="fuzzers/ferig.c fuzzers/shadow.c fuzzers/fuzzpool.c fuzzers/fuzzfaults.c"
sources() {
	echo "fuzzers/$1.c fuzzers/driver.c fuzzers/cursor.c"
	case $1 in
	fuzz_script) echo "harness/engine/script.c harness/engine/scriptcase.c harness/engine/scriptctx.c harness/engine/scriptstep.c harness/engine/scriptgrade.c" ;; # the parser, not all the harness
	fuzz_shmem_map) echo "$RIG fuzzers/emitaim.c" ;;
	fuzz_shmem_sequence) echo "$RIG fuzzers/seqop.c fuzzers/seqmut.c" ;;
	fuzz_backend_replies) echo "fuzzers/berig.c fuzzers/fuzzpool.c fuzzers/fuzzfaults.c" ;;
	esac
}

for f in fuzz_proto fuzz_script fuzz_shmem_map fuzz_shmem_sequence fuzz_backend_replies; do
	objs=""
	for s in $(sources $f); do objs="$objs $(cc_obj "$s")"; done
	# shellcheck disable=SC2086
	$CC $CFLAGS $objs $LIBS $LIB_FUZZING_ENGINE -o "$OUT/$f"
	# Seed corpus, dictionary and options, named as the infrastructure
	# expects them next to the fuzzer.
	zip_dir "$TOP/corpus/$f" "$OUT/${f}_seed_corpus.zip"
	cp "$TOP/corpus/$f.dict" "$OUT/$f.dict"
	cp "$TOP/corpus/$f.options" "$OUT/$f.options"
done
