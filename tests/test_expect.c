/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/expect: the `expect` steps run on their
 * own against a target the test plays on real socketpairs (no process):
 * what passes, what is recorded as a failure (with its grade and line),
 * and the DEADLOCK rule of the harness as back-end.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expect.h"
#include "proto.h"
#include "vhurun.h"
#include "vhutest.h"

/* No `requires`: the steps run without a handshake. */
#define FE_HDR "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\n"
#define BE_HDR "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n"
#define WAIT_MS 3000

static void send_u64(struct chan *c, uint32_t req, uint32_t flags, uint64_t v)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, 8 };
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	ck_assert_int_eq(chan_send(c, &h, b, sizeof(b), NULL, 0,
				   chan_deadline(WAIT_MS)), CHAN_OK);
}

/* The target (a back-end) asks the harness to map: SHMEM_MAP with a fd. */
static void send_map(struct chan *c, uint32_t flags)
{
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0, .len = 0x1000 };
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | flags,
			       PROTO_MMAP_SIZE };
	uint8_t body[PROTO_MMAP_SIZE];
	int fd = vt_memfd("vhu-test-expect", 0x1000, 0);

	ck_assert_int_eq(proto_mmap_encode(&mm, body, sizeof(body)), PROTO_MMAP_SIZE);
	ck_assert_int_eq(chan_send(c, &h, body, sizeof(body), &fd, 1,
				   chan_deadline(WAIT_MS)), CHAN_OK);
	close(fd);
}

static void assert_passed(const struct vt_run *t)
{
	ck_assert_msg(t->r.nfailures == 0 && !t->x.aborted,
		      "failed: expected '%s', observed '%s' (%s)",
		      t->r.failures[0].expected, t->r.failures[0].observed,
		      t->r.reason);
}

static void assert_failed_at(const struct vt_run *t, unsigned line,
			     const char *observed_part)
{
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_uint_eq(t->r.failures[0].line, line);
	ck_assert_str_eq(t->r.failures[0].grade, "MUST");
	ck_assert_msg(strstr(t->r.failures[0].observed, observed_part) != NULL,
		      "observed '%s' lacks '%s'", t->r.failures[0].observed,
		      observed_part);
}

TEST_CASE("msg");

START_TEST(msg_that_came_passes_and_is_consumed)
{
	struct vt_run *t = vt_run_case(FE_HDR
		"expect msg SHMEM_MAP on=backend fds=1 size=40\n");

	vt_run_backend(t);
	send_map(&t->peer_backend, PROTO_F_NEED_REPLY);
	expect_run(&t->x);
	assert_passed(t);
	ck_assert_ptr_null(sess_peek(&t->x.s, SCRIPT_BACKEND));
	/* `reply` answers the request `expect msg` matched. */
	ck_assert_int_eq(t->x.reply_to, 0);
	vt_run_free(t);
}
END_TEST

START_TEST(msg_with_other_fd_count_fails)
{
	struct vt_run *t = vt_run_case(FE_HDR "\n"
		"expect msg SHMEM_MAP on=backend fds=2\n");

	vt_run_backend(t);
	send_map(&t->peer_backend, 0);
	expect_run(&t->x);
	assert_failed_at(t, 7, "fds=1");
	vt_run_free(t);
}
END_TEST

START_TEST(msg_that_never_came_fails_at_its_window)
{
	struct vt_run *t = vt_run_case(FE_HDR
		"expect msg SHMEM_MAP on=backend within=30\n");

	vt_run_backend(t);
	expect_run(&t->x);
	assert_failed_at(t, 6, "");
	ck_assert_ptr_nonnull(strstr(t->r.failures[0].expected, "SHMEM_MAP"));
	vt_run_free(t);
}
END_TEST

START_TEST(no_msg_holds_when_quiet_and_fails_when_not)
{
	struct vt_run *t = vt_run_case(FE_HDR
		"expect no-msg on=backend within=30\n"
		"expect no-msg on=backend within=1000\n");

	vt_run_backend(t);
	expect_run(&t->x);
	assert_passed(t);
	send_map(&t->peer_backend, 0);
	vt_run_at(t, 1);
	expect_run(&t->x);
	assert_failed_at(t, 7, "SHMEM_MAP");
	vt_run_free(t);
}
END_TEST

TEST_CASE("reply");

/* The harness (front-end) sent GET_FEATURES: the target's reply is
 * judged by value. */
START_TEST(reply_value_judged)
{
	struct vt_run *t = vt_run_case(FE_HDR
		"expect reply value=0x10\n"
		"expect reply value=0\n");

	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_GET_FEATURES, PROTO_VERSION);
	send_u64(&t->peer_main, PROTO_GET_FEATURES, PROTO_F_REPLY, 0x10);
	expect_run(&t->x);
	assert_passed(t);
	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_GET_FEATURES, PROTO_VERSION);
	send_u64(&t->peer_main, PROTO_GET_FEATURES, PROTO_F_REPLY, 0x10);
	vt_run_at(t, 1);
	expect_run(&t->x);
	assert_failed_at(t, 7, "GET_FEATURES");
	vt_run_free(t);
}
END_TEST

/* The channel closing instead of the reply is a failure naming it. */
START_TEST(reply_replaced_by_eof_fails)
{
	struct vt_run *t = vt_run_case(FE_HDR "expect reply\n");

	run_note_sent(&t->x, SCRIPT_MAIN, PROTO_GET_FEATURES, PROTO_VERSION);
	chan_close(&t->peer_main);
	expect_run(&t->x);
	assert_failed_at(t, 6, "closed");
	vt_run_free(t);
}
END_TEST

/* `assert expect ...` stops the case when it fails. */
START_TEST(assert_stops_the_case)
{
	struct vt_run *t = vt_run_case(FE_HDR
		"assert msg SHMEM_MAP on=backend within=20\n");

	vt_run_backend(t);
	expect_run(&t->x);
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert(t->x.stop);
	vt_run_free(t);
}
END_TEST

TEST_CASE("eof");

START_TEST(eof_expected_and_seen)
{
	struct vt_run *t = vt_run_case(FE_HDR "expect eof\n");

	chan_close(&t->peer_main);
	expect_run(&t->x);
	assert_passed(t);
	vt_run_free(t);
}
END_TEST

START_TEST(eof_expected_but_a_message_came)
{
	struct vt_run *t = vt_run_case(FE_HDR "expect eof within=1000\n");

	send_u64(&t->peer_main, PROTO_GET_FEATURES, PROTO_F_REPLY, 1);
	expect_run(&t->x);
	ck_assert_uint_eq(t->r.nfailures, 1);
	vt_run_free(t);
}
END_TEST

TEST_CASE("deadlock");

/* Harness as back-end with its SHMEM_MAP in flight; the front-end sent
 * a request needing an answer first and (single-threaded back-end
 * model) holds it: no reply is a DEADLOCK, not a plain failure. */
START_TEST(held_request_without_reply_is_a_deadlock)
{
	struct vt_run *t = vt_run_case(BE_HDR "model single-thread\n"
		"expect reply on=backend within=50\n");
	struct proto_hdr h = { PROTO_GET_FEATURES, PROTO_VERSION, 0 };
	enum script_chan main_chan = SCRIPT_MAIN;

	vt_run_backend(t);
	t->x.s.be.single_thread = true;
	run_note_sent(&t->x, SCRIPT_BACKEND, PROTO_BE_SHMEM_MAP,
		      PROTO_VERSION | PROTO_F_NEED_REPLY);
	ck_assert(t->x.s.be.blocked);
	ck_assert_int_eq(chan_send(&t->peer_main, &h, NULL, 0, NULL, 0,
				   chan_deadline(WAIT_MS)), CHAN_OK);
	ck_assert_int_eq(sess_pump(&t->x.s, chan_deadline(WAIT_MS), run_has_record,
				   &main_chan), SESS_MET);
	expect_run(&t->x);
	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_DEADLOCK);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "GET_FEATURES"));
	vt_run_free(t);
}
END_TEST
