/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/control: the control protocol's versions as the
 * engine runs them (docs/control.md). Version 1 and an unknown version
 * are fake targets (this program re-run with --peer=MODE, control channel
 * only); version 2 is the reference back-end built next to this test.
 */
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "control.h"
#include "ctl.h"
#include "engine.h"
#include "script.h"
#include "vhutest.h"

#define SHMEM_BIT 22

/* ---- the fake targets: control channel only ---- */

/* v1: `version` is an unknown command, map/unmap answered `ok` at once.
 * v3: answers `ok version=3`. */
static int ctl_peer(const char *mode, int ctl_fd)
{
	struct ctl_reader r;
	char line[CTL_LINE_MAX];

	ctl_reader_init(&r, ctl_fd);
	while (!r.eof) {
		int got;

		if (ctl_reader_fill(&r) == -EAGAIN)
			usleep(1000);
		while ((got = ctl_reader_next(&r, line, sizeof(line))) > 0) {
			const char *a = "ok";

			if (strncmp(line, "version", 7) == 0)
				a = strcmp(mode, "v3") == 0 ? "ok version=3"
					: "err unknown command 'version'";
			else if (strncmp(line, "dump", 4) == 0)
				a = "ok {}";
			if (a[0] == 'o')
				ctl_send_ok(ctl_fd, a[2] ? a + 3 : NULL,
					    chan_deadline(1000));
			else
				ctl_send_err(ctl_fd, a + 4, chan_deadline(1000));
		}
	}
	return 0;
}

/* ---- running cases ---- */

static void build_path(const char *rel, char *out, size_t cap)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(out, cap, "%s/%s", dirname(exe), rel);
}

static void run_case(const char *cmd, const char *text, struct result *r)
{
	struct runenv e = { .role = SCRIPT_ROLE_FRONTEND, .target_cmd = cmd,
				.shmem_bit = SHMEM_BIT, .timeout_mult = 1.0,
				.cancel_fd = -1 };
	struct script_case c;
	char err[4096] = "";

	ck_assert_msg(script_parse_text("/x/t.vhu", text, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), 0);
	memset(r, 0, sizeof(*r));
	engine_run(&e, &c, r);
	runenv_close(&e);
	script_free(&c);
}

static void run_fake(const char *mode, const char *text, struct result *r)
{
	char exe[600], cmd[800];

	build_path("test_control", exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --peer=%s --fd={fd} --control-fd={control}",
		 exe, mode);
	run_case(cmd, text, r);
}

static void run_ref(const char *text, struct result *r)
{
	char exe[600], cmd[800];

	build_path("../targets/vhu-ref-backend", exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --fd={fd} --control-fd={control} "
		 "--shmem-bit={shmem_bit}", exe);
	run_case(cmd, text, r);
}

#define HDR "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\n" \
	    "requires control\n"
#define REF_HDR "id t\ntitle t\ntarget backend\nrule r\nlevel MUST\n" \
	    "requires SHMEM REPLY_ACK BACKEND_REQ BACKEND_SEND_FD control\n"
#define MAP "control map shmid=0 shm_offset=0 len=0x1000 fd_offset=0 " \
	    "flags=rw need_reply=1\n"

static void assert_verdict(const struct result *r, enum result_verdict v)
{
	ck_assert_msg(r->verdict == v, "verdict %s, wanted %s: %s / %s / %s",
		      result_verdict_name(r->verdict), result_verdict_name(v),
		      r->reason, r->expected, r->observed);
}

/* ---- the answer parsers ---- */

/* ---- versions as the engine runs them ---- */

TEST_CASE("control", 30);

START_TEST(test_v1_target_unchanged)
{
	struct result r;

	run_fake("v1", HDR MAP "control dump\n", &r);
	assert_verdict(&r, RESULT_PASS);
}
END_TEST

START_TEST(test_v1_expect_result_unsupported)
{
	struct result r;

	run_fake("v1", HDR MAP "expect result ok\n", &r);
	assert_verdict(&r, RESULT_UNSUPPORTED);
	ck_assert_msg(strstr(r.reason, "control protocol 1") != NULL, "%s",
		      r.reason);
}
END_TEST

START_TEST(test_v1_earlier_failure_stands)
{
	struct result r;

	run_fake("v1", HDR MAP "control dump expect=err\nexpect result ok\n", &r);
	assert_verdict(&r, RESULT_FAIL);
}
END_TEST

START_TEST(test_version_3_is_error)
{
	struct result r;

	run_fake("v3", HDR "control dump\n", &r);
	assert_verdict(&r, RESULT_ERROR);
	ck_assert_msg(strstr(r.reason, "control protocol version 3") != NULL,
		      "%s", r.reason);
}
END_TEST

START_TEST(test_v2_result_after_reply)
{
	struct result r;

	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"reply value=0\nexpect result ok\n", &r);
	assert_verdict(&r, RESULT_PASS);
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"reply value=1\nexpect result fail\n", &r);
	assert_verdict(&r, RESULT_PASS);
}
END_TEST

START_TEST(test_v2_result_judged)
{
	struct result r;

	/* The front-end refused: the back-end reports failure, not ok. */
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"reply value=1\nexpect result ok\n", &r);
	assert_verdict(&r, RESULT_FAIL);
	ck_assert_msg(strstr(r.observed, "result=fail") != NULL, "%s", r.observed);
	run_ref(REF_HDR "handshake\ncontrol map shmid=0 shm_offset=0 len=0x1000 "
		"need_reply=0\nexpect result sent\nexpect result any\n", &r);
	assert_verdict(&r, RESULT_ERROR); /* the second has nothing to judge */
}
END_TEST

START_TEST(test_v2_not_ok)
{
	struct result r;

	/* A refusal is not success; neither is no outcome yet: the back-end
	 * still waits for its reply. Its late answer does not shift the
	 * next one: the second map's result is its own. */
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"reply value=1\nexpect result not-ok\n", &r);
	assert_verdict(&r, RESULT_PASS);
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"expect result not-ok within=50\nreply value=1\n"
		"control map shmid=0 shm_offset=0x1000 len=0x1000 need_reply=1\n"
		"expect msg SHMEM_MAP on=backend\nreply value=0\n"
		"expect result ok\n", &r);
	assert_verdict(&r, RESULT_PASS);
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"reply value=0\nexpect result not-ok\n", &r);
	assert_verdict(&r, RESULT_FAIL);
}
END_TEST

START_TEST(test_v2_queued_behind_pending)
{
	struct result r;

	/* The second map goes out behind the first; answers keep order. */
	run_ref(REF_HDR "handshake\n" MAP "expect msg SHMEM_MAP on=backend\n"
		"control map shmid=0 shm_offset=0x1000 len=0x1000 need_reply=1\n"
		"expect no-msg on=backend within=20\nreply value=1\n"
		"expect msg SHMEM_MAP on=backend\nreply value=0\n"
		"expect result fail\nexpect result ok\ncontrol dump\n", &r);
	assert_verdict(&r, RESULT_PASS);
}
END_TEST

START_TEST(test_expect_result_needs_control)
{
	struct script_case c;
	char err[512] = "";

	ck_assert_int_ne(script_parse_text("/x/t.vhu", "id t\ntitle t\nrole "
		"frontend\nrule r\nlevel MUST\nexpect result ok\n", &c, err,
		sizeof(err)), 0);
	ck_assert_msg(strstr(err, "requires control") != NULL, "%s", err);
	ck_assert_int_ne(script_parse_text("/x/t.vhu", HDR "expect result maybe\n",
		&c, err, sizeof(err)), 0);
}
END_TEST

/* Re-run as a fake target: --peer=MODE --fd=N --control-fd=M. */
static int as_peer(int argc, char **argv)
{
	if (argc == 4 && strncmp(argv[1], "--peer=", 7) == 0) {
		signal(SIGPIPE, SIG_IGN);
		return ctl_peer(argv[1] + 7, atoi(argv[3] + 13));
	}
	return -1;
}
TEST_PRE_MAIN(as_peer);
