/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/run: what the engine's parts share about
 * the case being run (tests/lib/vhurun.h): failures graded by the step,
 * aborts and their precedence, `require`, the waits' outcomes, the
 * replies a target may send unasked, the control exchange (answered by
 * the test on a real socketpair), fd names.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "proto.h"
#include "vhurun.h"
#include "vhutest.h"

#define HDR "id t\ntitle t\ntarget backend\nrule r\nlevel SHOULD\nreason why\n"

TEST_CASE("verdicts");

START_TEST(failures_take_the_steps_grade_and_line)
{
	struct vt_run *t = vt_run_case(HDR "expect reply grade=info\n"
				       "assert msg SHMEM_MAP on=backend\n");

	run_fail(&t->x, "a reply", "nothing %d", 1);
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_uint_eq(t->r.failures[0].line, 7);
	ck_assert_str_eq(t->r.failures[0].grade, "INFO");
	ck_assert_str_eq(t->r.failures[0].expected, "a reply");
	ck_assert_str_eq(t->r.failures[0].observed, "nothing 1");
	ck_assert(!t->x.stop);
	vt_run_at(t, 1);
	run_fail(&t->x, "a map", "none");
	ck_assert(t->x.stop);                   /* assert: the case stops */
	/* Before any step (at launch): the case's level, and it stops. */
	t->x.stop = false;
	t->x.st = NULL;
	run_fail(&t->x, "a connection", "none");
	ck_assert_str_eq(t->r.failures[2].grade, "SHOULD");
	ck_assert_uint_eq(t->r.failures[2].line, 0);
	ck_assert(t->x.stop);
	vt_run_free(t);
}
END_TEST

START_TEST(failures_beyond_the_limit_are_counted)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);

	for (unsigned i = 0; i < RESULT_MAX_FAILURES + 3; i++)
		run_fail(&t->x, "e", "o%u", i);
	ck_assert_uint_eq(t->r.nfailures, RESULT_MAX_FAILURES);
	ck_assert_uint_eq(t->r.failures_dropped, 3);
	vt_run_free(t);
}
END_TEST

/* The worse verdict wins; its reason is the one kept. */
START_TEST(abort_keeps_the_worst_verdict)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);

	run_abort(&t->x, RESULT_UNSUPPORTED, "no SHMEM");
	ck_assert(t->x.stop && t->x.aborted);
	run_abort(&t->x, RESULT_CRASH, "killed by SIGSEGV");
	ck_assert_int_eq(t->x.abort_verdict, RESULT_CRASH);
	ck_assert_str_eq(t->r.reason, "killed by SIGSEGV");
	run_abort(&t->x, RESULT_UNSUPPORTED, "later");
	ck_assert_int_eq(t->x.abort_verdict, RESULT_CRASH);
	ck_assert_str_eq(t->r.reason, "killed by SIGSEGV");
	vt_run_free(t);
}
END_TEST

/* `require`: a rule not exercised is UNSUPPORTED, unless something
 * failed already; either way the case stops. */
START_TEST(require_unmet_is_not_exercised)
{
	struct vt_run *t = vt_run_case(HDR "require msg SHMEM_MAP on=backend\n");

	run_fail(&t->x, "SHMEM_MAP", "nothing");
	ck_assert(t->x.stop);
	ck_assert_uint_eq(t->r.nfailures, 0);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_UNSUPPORTED);
	ck_assert_str_eq(t->r.reason, "not exercised: line 7: SHMEM_MAP did not "
			 "happen (nothing)");
	vt_run_free(t);
	t = vt_run_case(HDR "require msg SHMEM_MAP on=backend\n");
	t->r.nfailures = 1;
	run_fail(&t->x, "SHMEM_MAP", "nothing");
	ck_assert(t->x.stop);
	ck_assert(!t->x.aborted);
	vt_run_free(t);
}
END_TEST

START_TEST(waits_end_as_verdicts)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);

	ck_assert(run_wait_ok(&t->x, SESS_MET));
	ck_assert(run_wait_ok(&t->x, SESS_DEADLINE));
	ck_assert(run_wait_ok(&t->x, SESS_GONE));
	ck_assert(!t->x.aborted);
	ck_assert(!run_wait_ok(&t->x, SESS_CASE_DEADLINE));
	ck_assert_int_eq(t->x.abort_verdict, RESULT_TIMEOUT);
	ck_assert_str_eq(t->r.reason, "the case deadline (5000 ms) passed at line 1");
	snprintf(t->x.s.fault, sizeof(t->x.s.fault), "out of memory");
	ck_assert(!run_wait_ok(&t->x, SESS_FAULT));
	ck_assert_int_eq(t->x.abort_verdict, RESULT_ERROR);
	ck_assert(!run_wait_ok(&t->x, SESS_CANCEL));
	ck_assert(t->x.interrupted);
	vt_run_free(t);
}
END_TEST

START_TEST(scaled_windows_and_names)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	char buf[32], text[200];

	t->env.timeout_mult = 2.5;
	ck_assert_int_eq(run_scaled(&t->x, 1000), 2500);
	ck_assert_int_eq(run_scaled(&t->x, (int64_t)4e9), (int64_t)3.6e9);
	ck_assert_str_eq(run_req_name(SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP, buf,
				      sizeof(buf)), "SHMEM_MAP");
	ck_assert_str_eq(run_req_name(SCRIPT_MAIN, 4242, buf, sizeof(buf)),
			 "request 4242");
	run_nothing_seen(&t->x, SESS_DEADLINE, text, sizeof(text));
	ck_assert_str_eq(text, "nothing within 2500 ms");
	run_nothing_seen(&t->x, SESS_GONE, text, sizeof(text));
	ck_assert_str_eq(text, "nothing: the channels are closed");
	run_copy_cut(buf, 8, "a long text");
	ck_assert_uint_lt(strlen(buf), 8);
	vt_run_free(t);
}
END_TEST

TEST_CASE("replies");

/* A request sent without NEED_REPLY may be answered anyway (digest 7):
 * that reply, coming while the harness waits for another, is noted and
 * skipped, once. */
START_TEST(unasked_reply_is_skipped_once)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	struct sess_rec rec = { .chan = SCRIPT_MAIN, .hdr_valid = true,
				.hdr = { PROTO_SET_FEATURES, PROTO_VERSION |
					 PROTO_F_REPLY, 8 } };

	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_SET_FEATURES, PROTO_VERSION);
	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_GET_FEATURES, PROTO_VERSION);
	ck_assert_uint_eq(t->x.last_req[SCRIPT_MAIN], PROTO_GET_FEATURES);
	ck_assert_uint_eq(t->x.noptional[SCRIPT_MAIN], 1);
	ck_assert(run_skip_unsolicited(&t->x, SCRIPT_MAIN, &rec, PROTO_GET_FEATURES));
	ck_assert_uint_eq(t->x.s.nfindings, 1);
	ck_assert(!run_skip_unsolicited(&t->x, SCRIPT_MAIN, &rec, PROTO_GET_FEATURES));
	/* The reply awaited is never skipped. */
	rec.hdr.request = PROTO_GET_FEATURES;
	ck_assert(!run_skip_unsolicited(&t->x, SCRIPT_MAIN, &rec, PROTO_GET_FEATURES));
	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_SET_FEATURES, PROTO_VERSION);
	run_replied(&t->x, SCRIPT_MAIN);
	ck_assert_uint_eq(t->x.noptional[SCRIPT_MAIN], 0);
	vt_run_free(t);
}
END_TEST

/* A request flagged as a reply (a bent header) may be answered all the
 * same (QEMU does; the rst is silent): skipped while another request's
 * reply is awaited. One that asked for a reply is the case's to expect. */
START_TEST(reply_to_a_request_flagged_as_reply_is_skipped)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_BACKEND);
	struct sess_rec rec = { .chan = SCRIPT_BACKEND, .hdr_valid = true,
				.hdr = { PROTO_BE_SHMEM_UNMAP, PROTO_VERSION |
					 PROTO_F_REPLY, 8 } };

	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_UNMAP,
		      PROTO_VERSION | PROTO_F_REPLY);
	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP,
		      PROTO_VERSION | PROTO_F_NEED_REPLY);
	ck_assert(run_skip_unsolicited(&t->x, SCRIPT_BACKEND, &rec,
				       PROTO_BE_SHMEM_MAP));
	run_replied(&t->x, SCRIPT_BACKEND);
	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_UNMAP,
		      PROTO_VERSION | PROTO_F_REPLY | PROTO_F_NEED_REPLY);
	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP,
		      PROTO_VERSION | PROTO_F_NEED_REPLY);
	ck_assert(!run_skip_unsolicited(&t->x, SCRIPT_BACKEND, &rec,
					PROTO_BE_SHMEM_MAP));
	vt_run_free(t);
}
END_TEST

/* The harness as back-end sending a request that needs a reply blocks
 * its answers on the main channel (the back-end model). */
START_TEST(backend_request_blocks_the_backend)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_BACKEND);

	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP, PROTO_VERSION);
	ck_assert(!t->x.s.be.blocked);
	ck_assert(t->x.memtable_based);
	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP,
		      PROTO_VERSION | PROTO_F_NEED_REPLY);
	ck_assert(t->x.s.be.blocked);
	vt_run_free(t);
}
END_TEST

START_TEST(missing_backend_channel_is_the_cases_error)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);

	ck_assert(run_chan_present(&t->x, SCRIPT_MAIN));
	ck_assert(!run_chan_present(&t->x, SCRIPT_BACKEND));
	ck_assert_int_eq(t->x.abort_verdict, RESULT_ERROR);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "requires BACKEND_REQ"));
	vt_run_free(t);
}
END_TEST

TEST_CASE("control");

/* The control line answered by the test: ok, err, and `err unsupported`
 * (the target's limit: UNSUPPORTED, not a failure). */
START_TEST(control_answers_judged)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_FRONTEND);
	char got[64];

	vt_run_control(t);
	t->x.speaks_control = true;
	t->x.ctl.version = 1;       /* negotiated: test_control's business */
	ck_assert_int_eq(write(t->peer_ctl, "ok\n", 3), 3);
	ck_assert(control_command(&t->x, "dump", SCRIPT_CTL_OK, chan_deadline(3000)));
	vt_read_some(t->peer_ctl, got, sizeof(got));
	ck_assert_str_eq(got, "dump\n");
	ck_assert_int_eq(write(t->peer_ctl, "err no such region\n", 19), 19);
	ck_assert(control_command(&t->x, "unmap shmid=9 shm_offset=0 len=4096",
			      SCRIPT_CTL_ERR, chan_deadline(3000)));
	ck_assert_uint_eq(t->r.nfailures, 0);
	ck_assert_int_eq(write(t->peer_ctl, "err busy\n", 9), 9);
	ck_assert(!control_command(&t->x, "dump", SCRIPT_CTL_OK, chan_deadline(3000)));
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_str_eq(t->r.failures[0].observed, "err busy");
	ck_assert_int_eq(write(t->peer_ctl, "err unsupported: no reset here\n", 31), 31);
	ck_assert(!control_command(&t->x, "reset", SCRIPT_CTL_OK, chan_deadline(3000)));
	ck_assert_int_eq(t->x.abort_verdict, RESULT_UNSUPPORTED);
	ck_assert_str_eq(t->r.reason, "control reset: unsupported by the target: "
			 "no reset here");
	vt_run_free(t);
}
END_TEST

TEST_CASE("fds");

START_TEST(fd_names_resolve_and_closed_ones_stay_home)
{
	struct vt_run *t = vt_run_new(SCRIPT_ROLE_BACKEND);
	const char names[3][FDPOOL_NAME_MAX] = { "a", "gone", "b" };
	const char ghost[1][FDPOOL_NAME_MAX] = { "ghost" };
	int fds[3];

	fdpool_init(&t->x.pool, "run");
	ck_assert_int_ge(fdpool_add(&t->x.pool, "a", FDPOOL_MEMFD, 4096), 0);
	ck_assert_int_ge(fdpool_add(&t->x.pool, "gone", FDPOOL_CLOSED, 0), 0);
	ck_assert_int_ge(fdpool_add(&t->x.pool, "b", FDPOOL_PIPE, 0), 0);
	ck_assert_uint_eq(run_resolve_fds(&t->x, names, 3, fds), 2);
	ck_assert_int_eq(fds[0], fdpool_get(&t->x.pool, "a")->fd);
	ck_assert_int_eq(fds[1], fdpool_get(&t->x.pool, "b")->fd);
	ck_assert_uint_eq(run_resolve_fds(&t->x, ghost, 1, fds), 0);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_ERROR);
	fdpool_free(&t->x.pool);
	vt_run_free(t);
}
END_TEST
