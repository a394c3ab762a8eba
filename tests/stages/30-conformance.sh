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
# The reference front-end taking the other choice where the digest
# leaves it open (--lenient, as QEMU v11 does): judged NON-STRICT, never
# FAIL, and some such case must have seen it.
len=$(mktemp -d /tmp/vhu-lenient.XXXXXX)
VHUCHECK_BUILD_DIR="$top/build" ./vhucheck run --target exec-frontend -j 2 --out "$len" \
	--command "$top/build/targets/vhu-ref-frontend --socket-path={socket} --control-fd={control} --shmem-bit={shmem_bit} --announce=on --lenient" >"$log" 2>&1
if python3 -c '
import json, sys
cases = json.load(open(sys.argv[1] + "/results.json"))["cases"]
bad = [c["id"] + ": " + c["verdict"] for c in cases if c["verdict"] not in ("PASS", "NON-STRICT", "UNSUPPORTED")]
ns = [c for c in cases if c["verdict"] == "NON-STRICT"]
print("\n".join(bad) or "no non-strict case" if bad or not ns else "", end="")
sys.exit(1 if bad or not ns else 0)' "$len" >>"$log"; then
	cpass=$((cpass + 1))
else
	cfail=$((cfail + 1))
	echo "  --lenient reference front-end:"; sed 's/^/    /' "$log"
fi
rm -rf "$len"
rm -f "$log"
VHUCHECK_BUILD_DIR="$top/build" ./vhucheck run -j 2 --out "$out"
rc=$?
python3 tests/stages/tally.py "$out" "$rc" |
	awk -v p=$cpass -v f=$cfail '/^stage: / { printf "stage: %d passed, %d failed, %d skipped\n", $2 + p, $4 + f, $6; next } { print }'
rm -rf "$out"
