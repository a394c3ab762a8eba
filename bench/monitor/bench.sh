#!/bin/sh
# bench/monitor/bench.sh [BUILD_DIR] [N]: what vhucheck-monitor costs per
# message: N request/reply round trips over a direct socketpair, through a
# plain byte-copying relay process, and through the monitor (without and
# with --record). Prints messages/s and the direct/monitor ratio.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
n=${2:-20000}
bench=$build/harness/vhu-bench-monitor
monitor=$build/harness/vhucheck-monitor
[ -x "$bench" ] && [ -x "$monitor" ] || {
	echo "bench.sh: build first (ninja -C $build)" >&2; exit 2; }
"$bench" --monitor "$monitor" -n "$n"
"$bench" --monitor "$monitor" -n "$n" --record
