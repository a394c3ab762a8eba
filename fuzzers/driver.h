/* SPDX-License-Identifier: MIT */
/*
 * driver: one fuzz target, three ways to run it.
 *
 * A fuzz target is one C file that defines fuzz_init(), fuzz_one() and
 * fuzz_fini(). driver.c, compiled once per engine, maps them onto
 *
 *   FUZZ_ENGINE_LIBFUZZER  LLVMFuzzerInitialize / LLVMFuzzerTestOneInput
 *                          (also what OSS-Fuzz's $LIB_FUZZING_ENGINE and
 *                          AFL++'s libAFLDriver drive);
 *   FUZZ_ENGINE_AFL        an AFL++ persistent-mode main(): deferred fork
 *                          server, shared-memory test cases,
 *                          __AFL_LOOP(10000), set-up done once per child
 *                          outside the loop;
 *   neither                a plain main() that replays files and
 *                          directories given on the command line (the
 *                          regression runner; also the AFL++ binary's
 *                          behaviour when given file arguments).
 *
 * The state pointer exists so that targets keep their set-up (fd pool,
 * socketpairs, handler state) in one struct made once, not in globals.
 */
#ifndef VHU_FUZZ_DRIVER_H
#define VHU_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "exitcodes.h"

/* Inputs longer than this are cut (AFL++) or rejected (libFuzzer):
 * nothing a target decodes needs more. */
#define FUZZ_MAX_INPUT (64u * 1024u)

/* fuzz_one()'s results. libFuzzer keeps REJECT inputs out of the corpus. */
#define FUZZ_KEEP 0
#define FUZZ_REJECT (-1)

/* ---- defined by each fuzz target ---- */

/* Once per process, before the first input. Returns the target's state,
 * or NULL with a one-line reason in err (exit FUZZ_EXIT_SETUP, or
 * FUZZ_EXIT_USAGE when the reason starts with "usage:"). */
void *fuzz_init(char *err, size_t errcap);
/* One input. Findings abort (fuzz_finding()); returns FUZZ_KEEP or
 * FUZZ_REJECT. Must leave the state as fuzz_init() made it. */
int fuzz_one(void *state, const uint8_t *data, size_t size);
/* Releases the state (plain replay and AFL++ children; libFuzzer never
 * returns to call it). */
void fuzz_fini(void *state);

/* ---- provided by driver.c ---- */

/* A finding: prints "vhu-fuzz: finding: <message>" to stderr and aborts,
 * which every engine records as a crash with this input. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
_Noreturn void fuzz_finding(const char *fmt, ...);

/* The engine this driver was built for: "libfuzzer", "afl" or "replay". */
const char *fuzz_engine_name(void);

#endif
