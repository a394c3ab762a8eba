#!/bin/sh
# stage: fuzzing
#
# sh tests/stages/20-fuzz.sh TOPDIR
#
# The fuzz targets of fuzzers/ (docs/fuzzing.md): the libFuzzer and the
# AFL++ builds, every seed corpus replayed (regression), a short
# fault-free campaign per target that must find nothing, one cheap
# fault of the reference that must be found in bounded time, a
# ./vhucheck fuzz campaign down to its reproducer case, AFL++
# persistent mode with the custom mutator (stability), an AFL++
# campaign's edges over time checked against afl-showmap, the
# references fuzzed as outside programs (fuzz --against, bench against),
# live mode (fuzz --against --live: one process, a stream of operations;
# a front-end, and a back-end with the harness as its front-end),
# and the OSS-Fuzz build.sh run locally for the address, undefined and coverage
# builds (the ClusterFuzzLite matrix). Missing engines are skipped with the
# reason. Ends with "stage: P passed, F failed, S skipped".
set -u
top=${1:?usage: sh tests/stages/20-fuzz.sh TOPDIR}
cd "$top" || exit 2
top=$(pwd)

P=0 F=0 S=0
pass() { P=$((P + 1)); echo "  PASS $*"; }
fail() { F=$((F + 1)); echo "  FAIL $*"; }
skip() { S=$((S + 1)); echo "  SKIP $*"; }

FUZZERS="fuzz_proto fuzz_script fuzz_shmem_map fuzz_shmem_sequence fuzz_backend_replies"
# fuzzers/exitcodes.h: a finding is 76 under libFuzzer and the sanitizers.
FINDING=76
TMP=$(mktemp -d /tmp/vhu-fuzz-stage.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

# Runs a command with a time limit (coreutils timeout), its output in a log.
# bounded SECONDS LOG CMD...: returns the command's status.
bounded() {
	secs=$1 log=$2
	shift 2
	timeout -k 5 "$secs" "$@" >"$log" 2>&1
}

# Shows what a failed step printed, enough to act on.
show() { sed -n '/finding:\|ERROR\|SUMMARY\|error:\|FAILED/p' "$1" | head -8 | sed 's/^/    /'; }

# ---- engines -------------------------------------------------------

libfuzzer_missing() {
	command -v clang >/dev/null 2>&1 || { echo "clang not found"; return; }
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$TMP/probe.c"
	clang -fsanitize=fuzzer "$TMP/probe.c" -o "$TMP/probe" >/dev/null 2>&1 ||
		echo "clang's libFuzzer runtime is missing (Debian: libclang-rt-dev)"
}

afl_missing() {
	for t in afl-clang-fast afl-fuzz; do
		command -v $t >/dev/null 2>&1 || { echo "$t not found (Debian: afl++)"; return; }
	done
}

# build_engine NAME DIR ENV-ASSIGNMENTS -- MESON-OPTIONS: configures once,
# builds the fuzzers. The same directories ./vhucheck fuzz uses.
build_engine() {
	name=$1 dir=$2 cc=$3
	shift 3
	log="$TMP/build-$name.log"
	if [ ! -f "$dir/build.ninja" ]; then
		env CC="$cc" AFL_QUIET=1 meson setup "$dir" "$@" >"$log" 2>&1 || return 1
	fi
	targets=""
	for f in $FUZZERS; do targets="$targets fuzzers/$f"; done
	[ "$name" = afl ] && targets="$targets fuzzers/fuzz_shmem_sequence_mutator.so"
	# shellcheck disable=SC2086
	env CC="$cc" AFL_QUIET=1 ninja -C "$dir" -j2 $targets >>"$log" 2>&1
}

LF_WHY=$(libfuzzer_missing)
AFL_WHY=$(afl_missing)
LF=build-libfuzzer AFL=build-afl
HAVE_LF=no HAVE_AFL=no

echo "  building the fuzzers (libFuzzer: $LF, AFL++: $AFL)"
if [ -n "$LF_WHY" ]; then
	skip "libFuzzer build: $LF_WHY"
elif build_engine libfuzzer $LF clang -Dfuzzers=libfuzzer \
	-Db_sanitize=address,undefined -Db_lundef=false \
	"-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" \
	-Dc_link_args=-fno-sanitize-recover=all; then
	pass "libFuzzer build (ASan+UBSan)"
	HAVE_LF=yes
else
	fail "libFuzzer build"; tail -15 "$TMP/build-libfuzzer.log" | sed 's/^/    /'
fi
if [ -n "$AFL_WHY" ]; then
	skip "AFL++ build: $AFL_WHY"
elif build_engine afl $AFL afl-clang-fast -Dfuzzers=afl; then
	pass "AFL++ build (persistent mode, custom mutator)"
	HAVE_AFL=yes
else
	fail "AFL++ build"; tail -15 "$TMP/build-afl.log" | sed 's/^/    /'
	AFL_WHY="the AFL++ build failed"
fi

# ---- regression: every corpus replayed -----------------------------

for f in $FUZZERS; do
	log="$TMP/replay-$f.log"
	if [ $HAVE_LF = yes ]; then
		bounded 120 "$log" "$LF/fuzzers/$f" -runs=0 "-error_exitcode=$FINDING" \
			-timeout_exitcode=70 "corpus/$f"
	elif [ $HAVE_AFL = yes ]; then
		bounded 120 "$log" "$AFL/fuzzers/$f" "corpus/$f"
	else
		skip "replay corpus/$f: no fuzzer build"; continue
	fi
	rc=$?
	n=$(ls "corpus/$f" | wc -l)
	if [ $rc -eq 0 ]; then pass "replay corpus/$f ($n inputs)"
	else fail "replay corpus/$f: status $rc"; show "$log"; fi
done

# ---- fault-free campaigns: nothing may be found --------------------

# SECS per target (the issue's "about 20 s"), two targets at a time on
# the two cores of a CI machine: about a minute for the five.
SECS=${VHU_FUZZ_STAGE_SECONDS:-20}

campaign() {
	f=$1 log="$TMP/fuzz-$1.log"
	mkdir -p "$TMP/corpus-$f"
	bounded $((SECS + 60)) "$log" "$LF/fuzzers/$f" -max_total_time="$SECS" \
		-seed=1 "-error_exitcode=$FINDING" -timeout_exitcode=70 -timeout=10 \
		"-dict=corpus/$f.dict" "-artifact_prefix=$TMP/" \
		-print_final_stats=1 "$TMP/corpus-$f" "corpus/$f"
	echo $? >"$TMP/rc-$f"
}

if [ $HAVE_LF = yes ]; then
	set -- $FUZZERS
	while [ $# -gt 0 ]; do
		campaign "$1" &
		[ $# -gt 1 ] && campaign "$2" &
		wait
		shift
		[ $# -gt 0 ] && shift
	done
	for f in $FUZZERS; do
		rc=$(cat "$TMP/rc-$f" 2>/dev/null || echo lost)
		log="$TMP/fuzz-$f.log"
		eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		if [ "$rc" = 0 ]; then pass "fuzz $f $SECS s, fault-free: no finding (${eps:-?} exec/s)"
		else fail "fuzz $f, fault-free: status $rc"; show "$log"; fi
	done
else
	skip "fault-free campaigns: no libFuzzer build"
fi

# ---- a cheap fault must be found from a benign seed ----------------

if [ $HAVE_LF = yes ]; then
	mkdir -p "$TMP/seed" "$TMP/fault-corpus"
	# One valid MAP (fuzz_shmem_map's format): memfd 64k, shmid 0,
	# 0x2000+0x1000, rw, NEED_REPLY. Every step to len 0 is the fuzzer's.
	python3 -c 'import struct,sys; sys.stdout.buffer.write(bytes([2,0]) +
		struct.pack("<III", 9, 9, 40) +
		struct.pack("<B7sQQQQ", 0, bytes(7), 0, 0x2000, 0x1000, 1))' \
		>"$TMP/seed/benign"
	log="$TMP/fault.log"
	bounded 90 "$log" env VHU_FAULTS=fe_len_zero_accepted "$LF/fuzzers/fuzz_shmem_map" \
		-seed=1 -max_total_time=60 -runs=500000 "-error_exitcode=$FINDING" \
		-timeout_exitcode=70 -print_final_stats=1 "-artifact_prefix=$TMP/" \
		"$TMP/fault-corpus" "$TMP/seed"
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ $rc -eq $FINDING ] && grep -q 'finding: .*len 0' "$log"; then
		pass "fault fe_len_zero_accepted found after ${execs:-?} executions"
	else
		fail "fault fe_len_zero_accepted not found (status $rc, ${execs:-?} executions)"
		show "$log"
	fi
else
	skip "fault finding: no libFuzzer build"
fi

# ---- ./vhucheck fuzz: a campaign's finding, triaged, replayable -----

if [ $HAVE_LF = yes ]; then
	log="$TMP/campaign.log"
	camp="$TMP/campaign"
	# VHUCHECK_BUILD_DIR: the campaign needs no harness build of its own.
	bounded 150 "$log" env VHUCHECK_BUILD_DIR="$top/$LF" ./vhucheck fuzz shmem_map --seconds 5 \
		--fault fe_len_zero_accepted --out "$camp"
	rc=$?
	vhu=$(ls "$camp"/findings/*/fuzzcase_map_*.vhu 2>/dev/null | head -1)
	harness=build/harness/vhucheck-harness
	if [ $rc -ne 1 ] || [ ! -f "$camp/report.md" ] || [ -z "$vhu" ]; then
		fail "vhucheck fuzz: status $rc, no finding with a reproducer"
		tail -8 "$log" | sed 's/^/    /'
	elif [ -x $harness ] && ! $harness --validate "$vhu" >"$TMP/validate.log" 2>&1; then
		fail "vhucheck fuzz: reproducer $vhu does not parse"
		sed 's/^/    /' "$TMP/validate.log"
	else
		pass "vhucheck fuzz: finding triaged, minimized, reproducer case written" \
			"$([ -x $harness ] && echo '(valid)')"
	fi
else
	skip "vhucheck fuzz campaign: no libFuzzer build"
fi

# ---- an interrupted campaign still triages and reports --------------
# SIGTERM after a few seconds of a 120 s campaign on a fault found in
# well under a second: exit 143, the engine stopped, the finding triaged,
# the report written.

if [ $HAVE_LF = yes ]; then
	log="$TMP/interrupt.log"
	camp="$TMP/interrupted"
	env VHUCHECK_BUILD_DIR="$top/$LF" ./vhucheck fuzz shmem_map --seconds 120 \
		--fault fe_len_zero_accepted --out "$camp" >"$log" 2>&1 &
	pid=$!
	sleep 8
	kill -TERM $pid
	t0=$(date +%s)
	( sleep 60; kill -KILL $pid 2>/dev/null ) &
	guard=$!
	wait $pid
	rc=$?
	kill $guard 2>/dev/null
	took=$(($(date +%s) - t0))
	left=$(pgrep -f "$camp/" | wc -l)
	if [ $rc -eq 143 ] && grep -q '"interrupted_after_s"' "$camp/report.json" 2>/dev/null &&
		ls "$camp"/findings/*/fuzzcase_map_*.vhu >/dev/null 2>&1 && [ "$left" -eq 0 ]; then
		pass "vhucheck fuzz, SIGTERM mid-campaign: exit 143 after ${took} s, finding triaged, report written"
	else
		fail "vhucheck fuzz, SIGTERM: status $rc, $left engine process(es) left, report: $(ls "$camp" 2>/dev/null | tr '\n' ' ')"
		tail -5 "$log" | sed 's/^/    /'
	fi
else
	skip "interrupted campaign: no libFuzzer build"
fi

# ---- AFL++: persistent mode, custom mutator, stability -------------

if [ $HAVE_AFL = yes ]; then
	log="$TMP/afl.log"
	bounded 90 "$log" env AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_TRY_AFFINITY=1 \
		AFL_QUIET=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		AFL_CUSTOM_MUTATOR_LIBRARY="$top/$AFL/fuzzers/fuzz_shmem_sequence_mutator.so" \
		afl-fuzz -i corpus/fuzz_shmem_sequence -o "$TMP/afl" \
		-V 6 -t 2000 -m none -- "$AFL/fuzzers/fuzz_shmem_sequence"
	rc=$?
	stats="$TMP/afl/default/fuzzer_stats"
	stab=$(sed -n 's/^stability *: *\([0-9]*\).*/\1/p' "$stats" 2>/dev/null)
	crashes=$(sed -n 's/^saved_crashes *: *//p' "$stats" 2>/dev/null)
	eps=$(sed -n 's/^execs_per_sec *: *//p' "$stats" 2>/dev/null)
	if [ $rc -eq 0 ] && [ "${crashes:-x}" = 0 ] && [ "${stab:-0}" -ge 95 ]; then
		pass "AFL++ fuzz_shmem_sequence 6 s: stability ${stab}%, ${eps} exec/s, no crash"
	else
		fail "AFL++ fuzz_shmem_sequence: status $rc, stability ${stab:-?}%, crashes ${crashes:-?}"
		tail -5 "$log" | sed 's/^/    /'
	fi
else
	skip "AFL++ campaign: $AFL_WHY"
fi

# ---- ./vhucheck fuzz --engine afl: two instances, edges over time ---
# The campaign's edges.csv must end on the count afl-showmap -C gives for
# every queue entry of both instances, and the main instance must stay
# stable (fuzz_shmem_map keeps a live mapping between inputs).

if [ $HAVE_AFL = yes ]; then
	log="$TMP/afl-campaign.log"
	camp="$TMP/afl-campaign"
	bounded 150 "$log" env VHUCHECK_BUILD_DIR="$top/build" ./vhucheck fuzz shmem_map \
		--engine afl --jobs 2 --seconds 8 --out "$camp"
	rc=$?
	mkdir -p "$TMP/queues"
	n=0
	for q in "$camp"/sync/*/queue/id:*; do
		[ -f "$q" ] || continue
		n=$((n + 1))
		cp "$q" "$TMP/queues/$n"
	done
	afl-showmap -q -C -e -i "$TMP/queues" -o "$TMP/queues.map" -t 2000 -m none \
		-- "$AFL/fuzzers/fuzz_shmem_map" >/dev/null 2>&1
	want=$(grep -c : "$TMP/queues.map" 2>/dev/null)
	got=$(tail -1 "$camp/edges.csv" 2>/dev/null | cut -d, -f2)
	rows=$(($(wc -l <"$camp/edges.csv" 2>/dev/null || echo 1) - 1))
	stab=$(sed -n 's/^stability *: *\([0-9]*\).*/\1/p' "$camp/sync/main/fuzzer_stats" 2>/dev/null)
	if [ $rc -eq 0 ] && [ -n "$got" ] && [ "$got" = "${want:-x}" ] && [ "${stab:-0}" -ge 95 ]; then
		pass "vhucheck fuzz --engine afl --jobs 2: $n queue entries, $rows points," \
			"$got edges = afl-showmap -C; stability ${stab}%"
	else
		fail "vhucheck fuzz --engine afl: status $rc, edges ${got:-none} vs afl-showmap ${want:-?}, stability ${stab:-?}%"
		tail -5 "$log" | sed 's/^/    /'
	fi
else
	skip "vhucheck fuzz --engine afl: $AFL_WHY"
fi

# ---- OSS-Fuzz build.sh, run locally ---------------------------------
# The three builds the ClusterFuzzLite example (docs/ci/clusterfuzzlite.yml)
# asks for, with the compiler flags OSS-Fuzz's base-builder sets for each
# sanitizer; every seed corpus zip replayed by the fuzzer it belongs to,
# under the runtime options OSS-Fuzz's base-runner sets (unsigned
# wrap-around is silenced there: the targets' range arithmetic wraps on
# purpose, and C defines it).

UB_CHECKS=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound
oss_flags() {
	case $1 in
	address) echo "-fsanitize=address -fsanitize-address-use-after-scope" ;;
	undefined) echo "-fsanitize=$UB_CHECKS,unsigned-integer-overflow -fno-sanitize-recover=$UB_CHECKS" ;;
	coverage) echo "-fprofile-instr-generate -fcoverage-mapping -pthread" ;;
	esac
}

oss_build() {
	san=$1 log="$TMP/oss-$1.log" out="$TMP/oss-out-$1"
	# A coverage build's programs (meson runs a few) write profiles where
	# LLVM_PROFILE_FILE says: never into the source tree.
	bounded 300 "$log" env CC=clang CFLAGS="$(oss_flags "$san") -fsanitize=fuzzer-no-link" \
		LLVM_PROFILE_FILE="$TMP/oss-$san-build-%p.profraw" \
		LIB_FUZZING_ENGINE=-fsanitize=fuzzer SRC="$TMP/src-$san" OUT="$out" \
		WORK="$TMP/oss-work-$san" bash fuzzers/oss-fuzz/build.sh
	rc=$? missing="" bad=""
	for f in $FUZZERS; do
		for x in "" _seed_corpus.zip .dict .options; do
			[ -s "$out/$f$x" ] || missing="$missing $f$x"
		done
	done
	[ $rc -eq 0 ] && [ -z "$missing" ] || {
		fail "OSS-Fuzz build.sh ($san): status $rc${missing:+, missing:$missing}"
		tail -8 "$log" | sed 's/^/    /'
		return
	}
	for f in $FUZZERS; do
		seeds="$TMP/oss-seeds-$san-$f"
		mkdir -p "$seeds"
		python3 -m zipfile -e "$out/${f}_seed_corpus.zip" "$seeds" &&
		(cd "$TMP" && bounded 120 "$TMP/oss-run-$san-$f.log" env \
			UBSAN_OPTIONS=silence_unsigned_overflow=1:halt_on_error=1 \
			LLVM_PROFILE_FILE="$TMP/oss-$san-%p.profraw" \
			"$out/$f" -runs=0 "$seeds") || bad="$bad $f"
	done
	if [ -z "$bad" ]; then
		pass "OSS-Fuzz build.sh ($san): 5 fuzzers with seed corpora, dictionaries, options; every seed replays clean"
	else
		fail "OSS-Fuzz build.sh ($san): seeds of$bad do not replay clean"
		for f in $bad; do show "$TMP/oss-run-$san-$f.log"; done
	fi
}

# ---- the references fuzzed as outside programs, judged by the model ----
# vhu-fuzzcase turns mutants into cases with the shadow model's
# expectations; bench against runs fuzz --against per fault. A few faults
# no crash reveals (an overlap acked 0, mappings kept over a reset, a
# back-end taking EOF as success) must be found; a fault-free campaign
# per role must find nothing.

# Input reduction's C side: every subset vhu-fuzzcase --keep is asked
# for re-emits a case that parses (the largest seed of each fuzzer with
# records, its even records, its odd ones, its last half).
bad= n=0
for f in fuzz_shmem_sequence fuzz_backend_replies; do
	in=$(for x in corpus/$f/*; do build/fuzzers/vhu-fuzzcase $f --records "$x"; done |
		sort -k2,2n | tail -1 | cut -d' ' -f4-)
	r=$(build/fuzzers/vhu-fuzzcase $f --records "$in" | cut -d' ' -f2)
	even=$(seq 0 2 $((r - 1)) | paste -sd,) odd=$(seq 1 2 $((r - 1)) | paste -sd,)
	half=$(seq $((r / 2)) $((r - 1)) | paste -sd,)
	build/fuzzers/vhu-fuzzcase $f --out "$TMP/keep-$f" --keep "$even" --keep "$odd" \
		--keep "$half" "$in" >"$TMP/keep-$f.log" 2>&1 || bad="$bad $f"
	for v in "$TMP/keep-$f"/*.vhu; do
		n=$((n + 1))
		build/harness/vhucheck-harness --validate "$v" >/dev/null 2>&1 || bad="$bad $v"
	done
done
if [ -z "$bad" ] && [ $n -ge 4 ]; then
	pass "vhu-fuzzcase --keep: record subsets re-emitted as cases that parse ($n cases)"
else
	fail "vhu-fuzzcase --keep: ${bad:-only $n cases}"
fi

log="$TMP/against.log"
bounded 600 "$log" ./vhucheck bench against --fault fe_no_overlap_check \
	--fault fe_reset_keeps_mappings --fault be_eof_as_success --runs 1 --budget 40 \
	--no-clean --out "$TMP/against"
rc=$?
if [ $rc -eq 0 ] && grep -q '1/1' "$TMP/against/bench.md"; then
	pass "bench against: fe_no_overlap_check, fe_reset_keeps_mappings, be_eof_as_success found by the model" \
		"($(grep -o '`[a-z_]*` | 1/1 | [0-9.]*' "$TMP/against/bench.md" | tr -d '`|' | tr -s ' ' | paste -sd, -))"
else
	fail "bench against: status $rc"
	tail -12 "$log" | sed 's/^/    /'
fi
for x in "sequence ref-frontend" "backend_replies ref-backend"; do
	set -- $x
	bounded 300 "$TMP/against-clean-$1.log" ./vhucheck fuzz $1 --against $2 --seconds 10 \
		--seed 4 --jobs 2 --out "$TMP/against-clean-$1"
	rc=$?
	if [ $rc -eq 0 ]; then
		pass "fuzz $1 --against $2 without a fault: no finding" \
			"($(grep -o '^- [0-9]* cases' "$TMP/against-clean-$1/report.md" | cut -c3-))"
	else
		fail "fuzz $1 --against $2 without a fault: status $rc"
		grep '^## ' "$TMP/against-clean-$1/report.md" 2>/dev/null | head -4 | sed 's/^/    /'
	fi
done

# ---- live mode: one front-end process, operations streamed into it ----
# A fault no crash reveals found in the stream, its case confirmed,
# reduced and replaying; a crash: the target restarted, the stream goes
# on, the reproducer kept; a second campaign given the first's findings
# as known counts its hits and keeps off them; no fault: nothing found.
live() { # NAME SECONDS ARGS...
	_ln=$1 _ls=$2
	shift 2
	bounded $((_ls + 300)) "$TMP/live-$_ln.log" ./vhucheck fuzz --against ref-frontend \
		--live --seconds "$_ls" --seed 1 --out "$TMP/live-$_ln" "$@"
}
live overlap 30 --fault fe_no_overlap_check --stop-at-first --reduce-seconds 30
rc=$?
red=$(ls "$TMP"/live-overlap/findings/*/reduced/*/*.vhu 2>/dev/null | head -1)
# The reduced case keeps the failure with the fault; the case as found
# and the reduced one (the model's expectations for exactly the
# operations each sends) both pass without it.
if [ $rc -eq 1 ] && [ -n "$red" ] &&
	grep -q '^## 1\. FAIL: 6: MUST fail: overlaps a live mapping (map)' "$TMP/live-overlap/report.md" &&
	VHUCHECK_SUITES=$(dirname "$(dirname "$red")") bounded 120 "$TMP/live-red.log" \
		./vhucheck run --target ref-frontend --fault fe_no_overlap_check --out "$TMP/live-red"
	[ $? -eq 1 ] &&
	VHUCHECK_SUITES="$TMP/live-overlap/findings" bounded 120 "$TMP/live-found.log" \
		./vhucheck run --target ref-frontend --out "$TMP/live-found" &&
	VHUCHECK_SUITES=$(dirname "$(dirname "$red")") bounded 120 "$TMP/live-red-clean.log" \
		./vhucheck run --target ref-frontend --out "$TMP/live-red-clean"; then
	pass "fuzz --live: fe_no_overlap_check found in the stream, reduced by its records it still fails with it; found and reduced cases pass without it" \
		"($(grep -o '^- reduced: [0-9]* -> [0-9]* records' "$TMP/live-overlap/report.md" | cut -c3-))"
else
	fail "fuzz --live fe_no_overlap_check: status $rc"
	tail -12 "$TMP/live-overlap.log" | sed 's/^/    /'
fi
live known 8 --fault fe_no_overlap_check --known "$TMP/live-overlap/report.json" --reduce-seconds 0
rc=$?
if [ $rc -le 1 ] && python3 - "$TMP/live-known/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["known"]["signatures"] == 1, d["known"]
assert sum(d["known"]["hits"].values()) >= 1, d["known"]
assert any(a.startswith("map:6: MUST fail: overlaps") for a in d["live"]["avoid"]), d["live"]
assert d["live"]["avoided"] > 0 and d["live"]["share_on_known"] < 0.5, d["live"]
PY
then
	pass "fuzz --live --known: the known overlap counted, then kept off" \
		"($(grep -o 'time on known signatures: [0-9]*%' "$TMP/live-known/report.md"))"
else
	fail "fuzz --live --known: status $rc"
	tail -8 "$TMP/live-known/report.md" 2>/dev/null | sed 's/^/    /'
fi
live crash 6 --fault fe_unknown_shmid_null --reduce-seconds 0
rc=$?
if [ $rc -eq 1 ] && grep -q '^## [0-9]*\. CRASH SIGSEGV' "$TMP/live-crash/report.md" &&
	[ "$(grep -c '"end"' "$TMP/live-crash/stream.jsonl")" -ge 2 ] &&
	VHUCHECK_SUITES="$TMP/live-crash/findings" bounded 120 "$TMP/live-crash-run.log" \
		./vhucheck run --target ref-frontend --fault fe_unknown_shmid_null --out "$TMP/live-crash-run"
	grep -q '"verdict": "CRASH"' "$TMP/live-crash-run/results.json" 2>/dev/null; then
	pass "fuzz --live: a crash restarts the target, the stream goes on, the reproducer crashes again" \
		"($(grep -o 'target restarts: [0-9]*' "$TMP/live-crash/report.md"))"
else
	fail "fuzz --live fe_unknown_shmid_null: status $rc"
	tail -12 "$TMP/live-crash.log" | sed 's/^/    /'
fi
live clean 15
rc=$?
if [ $rc -eq 0 ] && grep -q '^- findings: 0 unique' "$TMP/live-clean/report.md"; then
	pass "fuzz --live without a fault: no finding" \
		"($(grep -o '^- [0-9]* operations.*/s in the stream' "$TMP/live-clean/report.md" | cut -c3-))"
else
	fail "fuzz --live without a fault: status $rc"
	grep '^## ' "$TMP/live-clean/report.md" 2>/dev/null | head -4 | sed 's/^/    /'
fi

# ---- live mode against a back-end: the harness its front-end ----
# vhu-fuzzlive-be; its violations are fuzz_backend_replies inputs whose
# cases (emitbe, judged by bejudge as the stream was) sign them.
belive() { # NAME SECONDS ARGS...
	_ln=$1 _ls=$2
	shift 2
	bounded $((_ls + 300)) "$TMP/belive-$_ln.log" ./vhucheck fuzz --against ref-backend \
		--live --seconds "$_ls" --seed 1 --out "$TMP/belive-$_ln" "$@"
}
for f in be_reply_id_unchecked be_map_overlap_own be_abort_short_reply be_no_fd_on_map; do
	belive "$f" 20 --fault "$f" --stop-at-first --reduce-seconds 0
	rc=$?
	if [ $rc -eq 1 ] && grep -q '^## 1\. ' "$TMP/belive-$f/report.md" &&
		VHUCHECK_SUITES="$TMP/belive-$f/findings" bounded 120 "$TMP/belive-$f-run.log" \
			./vhucheck run --target ref-backend --fault "$f" --out "$TMP/belive-$f-run" \
			>/dev/null 2>&1
		[ $? -eq 1 ]; then
		pass "fuzz --live against ref-backend: $f found in the stream, its case shows it" \
			"($(sed -n 's/^## 1\. //p' "$TMP/belive-$f/report.md" | head -1))"
	else
		fail "fuzz --live against ref-backend --fault $f: status $rc"
		tail -8 "$TMP/belive-$f.log" | sed 's/^/    /'
	fi
done
belive clean 10
rc=$?
if [ $rc -eq 0 ] && grep -q '^- findings: 0 unique' "$TMP/belive-clean/report.md"; then
	pass "fuzz --live against ref-backend without a fault: no finding" \
		"($(grep -o '^- [0-9]* operations.*/s in the stream' "$TMP/belive-clean/report.md" | cut -c3-))"
else
	fail "fuzz --live against ref-backend without a fault: status $rc"
	grep '^## ' "$TMP/belive-clean/report.md" 2>/dev/null | head -4 | sed 's/^/    /'
fi

# ---- live mode with the target's edge coverage (--edges) ------------
# The references built with afl-clang-fast in the AFL++ build: the
# stream reads their edge map (edgemap.h) and keeps it beside --states;
# the plain build's are reported as not instrumented, never as 0 edges.
edges_of() { # ROLE EXE-DIR: the "edges" of one short stream, or "null"
	if [ "$1" = frontend ]; then
		_ec="$2/targets/vhu-ref-frontend --socket-path={socket} --control-fd={control} --shmem-bit={shmem_bit}"
		_ed=build/fuzzers/vhu-fuzzlive
	else
		_ec="$2/targets/vhu-ref-backend --fd={fd} --control-fd={control} --shmem-bit={shmem_bit}"
		_ed=build/fuzzers/vhu-fuzzlive-be
	fi
	rm -rf "$TMP/edges-$1"; mkdir -p "$TMP/edges-$1"
	for _seed in 1 2; do
		VHUCHECK_BUILD_DIR="$top/build" timeout -k 5 120 "$_ed" --target-cmd "$_ec" \
			--out "$TMP/edges-$1" --max-ops 1500 --seconds 100 --seed $_seed --edges \
			--states "$TMP/edges-$1/states" 2>>"$TMP/edges.log" | tail -1
	done | python3 -c 'import json, sys
ends = [json.loads(l) for l in sys.stdin if l.strip()]
print(" ".join("null" if e["edges"] is None else "%d/%d" % (e["edges"], e["new_edge_buckets"]) for e in ends))'
}
if [ -n "$AFL_WHY" ]; then
	skip "live mode with edge coverage: $AFL_WHY"
elif ! env CC=afl-clang-fast AFL_QUIET=1 ninja -C $AFL targets/vhu-ref-frontend \
		targets/vhu-ref-backend >"$TMP/build-afl-refs.log" 2>&1; then
	fail "the references built with afl-clang-fast"; tail -8 "$TMP/build-afl-refs.log" | sed 's/^/    /'
else
	for role in frontend backend; do
		got=$(edges_of $role "$AFL") plain=$(edges_of $role build)
		# two streams: edges seen by both, the second starting from the
		# first's map (kept beside --states), so never fewer
		if echo "$got" | grep -Eq '^[1-9][0-9]*/[0-9]+ [1-9][0-9]*/[0-9]+$' &&
			[ "${got%%/*}" -le "$(echo "$got" | cut -d' ' -f2 | cut -d/ -f1)" ] &&
			[ "$plain" = "null null" ]; then
			pass "live mode --edges against the AFL++-built reference $role:" \
				"edges/new buckets $got (plain build: not instrumented)"
		else
			fail "live mode --edges, reference $role: instrumented '$got', plain '$plain'"
			tail -4 "$TMP/edges.log" | sed 's/^/    /'
		fi
	done
	if bounded 200 "$TMP/edges-run.log" ./vhucheck fuzz --against exec-frontend --live --edges \
		--command "$top/$AFL/targets/vhu-ref-frontend --socket-path={socket} --control-fd={control} --shmem-bit={shmem_bit}" \
		--seconds 4 --seed 1 --out "$TMP/edges-run" &&
		grep -q "^- the target's edge coverage (AFL++): [1-9]" "$TMP/edges-run/report.md"; then
		pass "fuzz --live --edges: $(grep -o "[0-9]* edges, [0-9]* new" "$TMP/edges-run/report.md")"
	else
		fail "fuzz --live --edges against the AFL++-built reference front-end"
		tail -6 "$TMP/edges-run.log" | sed 's/^/    /'
	fi
fi

if [ -n "$LF_WHY" ]; then
	skip "OSS-Fuzz build.sh: $LF_WHY"
else
	for san in address undefined coverage; do oss_build $san; done
fi

echo "stage: $P passed, $F failed, $S skipped"
