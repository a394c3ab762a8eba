/* SPDX-License-Identifier: MIT */
/*
 * exitcodes: the one exit-code table of the fuzz targets, whatever the
 * engine. docs/fuzzing.md carries the same table;
 * runner/vhucheck/fuzz/engines.py and tests/stages/20-fuzz.sh read exit
 * statuses through it.
 *
 * Why a table at all: meson (and automake) read 77 as SKIP, and
 * libFuzzer's default -error_exitcode is 77, so a crash found by a
 * fuzz run under `meson test` would be counted as a skipped test. Every
 * code below is passed explicitly to libFuzzer and to the sanitizers so
 * that no finding can ever come out as 77.
 */
#ifndef VHU_FUZZ_EXITCODES_H
#define VHU_FUZZ_EXITCODES_H

/* Ran every input, nothing found. */
#define FUZZ_EXIT_OK 0
/* Bad command line, unreadable input file, unknown VHU_FAULTS name. */
#define FUZZ_EXIT_USAGE 2
/* The environment failed the set-up (socketpair, memfd, ...): not a
 * finding; the same code as vhucheck-harness's "harness fault". */
#define FUZZ_EXIT_SETUP 3
/* libFuzzer -timeout_exitcode: one input ran longer than -timeout. */
#define FUZZ_EXIT_TIMEOUT 70
/* libFuzzer's out-of-memory exit (-rss_limit_mb / -malloc_limit_mb).
 * libFuzzer 14 has this code built in (no -oom_exitcode flag); newer
 * releases take -oom_exitcode, which the runner passes when present. */
#define FUZZ_EXIT_OOM 71
/* libFuzzer's exit on SIGINT / SIGTERM (built in). Not a finding. */
#define FUZZ_EXIT_INTERRUPTED 72
/* A finding: a crash, a sanitizer report (ASan, UBSan, LSan), or a
 * shadow-model mismatch (fuzz_finding()). libFuzzer -error_exitcode and
 * the sanitizers' exitcode= are set to it. Under AFL++ and in plain
 * replay a finding is a death by SIGABRT/SIGSEGV instead (AFL++ only
 * sees signals), so callers treat "killed by a signal" as a finding too. */
#define FUZZ_EXIT_FINDING 76
/* Never used: 77 is SKIP to meson. */
#define FUZZ_EXIT_RESERVED_SKIP 77

/* The same values as strings, for the sanitizer default options. */
#define FUZZ_EXIT_FINDING_STR "76"

#endif
