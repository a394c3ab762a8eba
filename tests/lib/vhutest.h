/* SPDX-License-Identifier: MIT */
/*
 * What every unit test file shares: the markers tests/lib/gen_suite.py
 * reads to register the tests (no hand-kept list), and the set-up that
 * recurs across modules (socketpairs, memfds, temp paths and dirs, the
 * test program itself re-run as a peer).
 *
 * The helpers fail the running test (ck_assert) instead of returning an
 * error: a test cannot go on without its set-up.
 */
#ifndef VHUTEST_H
#define VHUTEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

/* Registration markers: they compile to nothing (a file-scope static
 * assertion) and are read by gen_suite.py; see its docstring. */
#define TEST_CASE(...) _Static_assert(1, "test case")
#define TEST_FIXTURE(setup, teardown) _Static_assert(1, "fixture")
#define TEST_PRE_MAIN(fn) _Static_assert(1, "pre-main")
#define START_LOOP_TEST(name, lo, hi) START_TEST(name)

/* The path of the running test program, to re-run it as a peer. */
void vt_self_exe(char *out, size_t cap);

/* A unix stream socketpair, both ends close-on-exec. */
void vt_socketpair(int sv[2]);

/* A connected pair of channels: *a named "main" on the main channel,
 * *b named "backend" on the back-end channel (the same socketpair). */
void vt_chan_pair(struct chan *a, struct chan *b);

/* A memfd of SIZE bytes (sealable when SEALABLE), close-on-exec. */
int vt_memfd(const char *name, uint64_t size, int sealable);

/* A path under $TMPDIR (or /tmp) no one else uses: WHAT, the pid and a
 * clock reading. Nothing is created. */
void vt_tmp_path(char *out, size_t cap, const char *what);

/* A fresh directory under $TMPDIR (or /tmp); vt_rm_tree removes it and
 * what is in it (one level of files). */
void vt_tmp_dir(char *out, size_t cap);
void vt_rm_tree(const char *dir);

/* Writes TEXT to PATH (created or truncated). */
void vt_write_file(const char *path, const char *text);

/* Forks and execs ARGV[0] with stderr to /dev/null; the KEEP fds (NKEEP)
 * lose close-on-exec in the child. Returns the child's pid. */
pid_t vt_spawn(char *const argv[], const int *keep, unsigned nkeep);

/* Runs ARGV (looked up in PATH) to its end, within TIMEOUT_MS (killed
 * then); returns its exit code, 128+N for a signal, -1 on the timeout. */
int vt_run_program(char *const argv[], int timeout_ms);

/* Reads FD until EOF into a NUL-terminated buffer of CAP bytes at most;
 * returns the length. */
size_t vt_read_all(int fd, char *out, size_t cap);

/* What one read of FD returns within 3 s (it fails the test if nothing
 * comes), NUL-terminated; returns its length. */
size_t vt_read_some(int fd, char *out, size_t cap);

#endif
