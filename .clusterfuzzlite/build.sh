#!/bin/bash -eu
# ClusterFuzzLite: the same build as OSS-Fuzz (fuzzers/oss-fuzz/build.sh).
exec "$SRC/vhucheck/fuzzers/oss-fuzz/build.sh"
