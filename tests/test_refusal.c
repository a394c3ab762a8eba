/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/refusal: a configuration refused as the
 * case's `refusal` header allows, judged after the first handshake. The
 * target is the test at the other end of a socketpair, or a real
 * process (sh) that says why on stderr and exits.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "refusal.h"
#include "vhurun.h"
#include "vhutest.h"

#define HDR "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n"

/* A failure the broken-off handshake recorded. */
static void fail_in_handshake(struct vt_run *t)
{
	run_fail(&t->x, "the front-end's GET_FEATURES", "the main channel closed");
	t->x.stop = true;
}

TEST_CASE("refusal", 10);

START_TEST(closed_connection_gets_the_header_verdict)
{
	struct vt_run *t = vt_run_case(HDR "refusal PASS\nhandshake\n");

	chan_close(&t->peer_main);
	fail_in_handshake(t);
	refusal_judge(&t->x, 0);
	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_PASS);
	ck_assert_str_eq(t->r.reason, "refused the configuration: closed the "
			 "connection before the device started");
	ck_assert_uint_eq(t->r.nfailures, 0);
	vt_run_free(t);
}
END_TEST

/* Failures before the handshake step stand; only its own are forgiven. */
START_TEST(earlier_failures_stand)
{
	struct vt_run *t = vt_run_case(HDR "refusal NON-STRICT\nhandshake\n");

	run_fail(&t->x, "something earlier", "it did not happen");
	chan_close(&t->peer_main);
	fail_in_handshake(t);
	refusal_judge(&t->x, 1);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_NON_STRICT);
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_str_eq(t->r.failures[0].expected, "something earlier");
	vt_run_free(t);
}
END_TEST

START_TEST(without_the_header_a_refusal_is_a_failure)
{
	struct vt_run *t = vt_run_case(HDR "handshake\n");

	chan_close(&t->peer_main);
	fail_in_handshake(t);
	refusal_judge(&t->x, 0);
	ck_assert(!t->x.aborted);
	ck_assert_uint_eq(t->r.nfailures, 1);
	vt_run_free(t);
}
END_TEST

/* Still connected after the handshake: it took the configuration, and
 * the case goes on. */
START_TEST(target_that_stays_took_the_configuration)
{
	struct vt_run *t = vt_run_case(HDR "refusal INFO\nhandshake\n");

	refusal_judge(&t->x, 0);
	ck_assert(!t->x.aborted);
	ck_assert(!t->x.stop);
	ck_assert_uint_eq(t->r.nfailures, 0);
	vt_run_free(t);
}
END_TEST

/* A real process that exits with a reason on stderr: the verdict's
 * reason quotes its exit code and its last line. */
START_TEST(exit_with_a_reason_on_stderr)
{
	struct vt_run *t = vt_run_case(HDR "refusal INFO\nhandshake\n");
	char *argv[] = { "/bin/sh", "-c",
			 "echo starting >&2; echo 'no SHMEM here' >&2; exit 3", NULL };
	char err[256];

	vt_tmp_path(t->x.stderr_path, sizeof(t->x.stderr_path), "refusal-stderr");
	ck_assert_int_eq(target_spawn(&t->x.tgt, argv, NULL, 0, t->x.stderr_path,
				      err, sizeof(err)), 0);
	t->x.s.tgt = &t->x.tgt;
	ck_assert_int_eq(target_wait(&t->x.tgt, chan_deadline(5000)), 1);
	chan_close(&t->peer_main);
	fail_in_handshake(t);
	refusal_judge(&t->x, 0);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_INFO);
	ck_assert_str_eq(t->r.reason, "refused the configuration: exit 3 before "
			 "the device started: no SHMEM here");
	unlink(t->x.stderr_path);
	vt_run_free(t);
}
END_TEST

/* A death by a signal is never a refusal: it is the CRASH it is. */
START_TEST(crash_stays_a_crash)
{
	struct vt_run *t = vt_run_case(HDR "refusal PASS\nhandshake\n");
	char *argv[] = { "/bin/sh", "-c", "kill -SEGV $$", NULL };
	char err[256];

	ck_assert_int_eq(target_spawn(&t->x.tgt, argv, NULL, 0, NULL, err,
				      sizeof(err)), 0);
	t->x.s.tgt = &t->x.tgt;
	ck_assert_int_eq(target_wait(&t->x.tgt, chan_deadline(5000)), 1);
	chan_close(&t->peer_main);
	fail_in_handshake(t);
	refusal_judge(&t->x, 0);
	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_CRASH);
	vt_run_free(t);
}
END_TEST
