/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/ctlscript: the monitor's control scripts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctlscript.h"
#include "vhutest.h"

static struct ctlscript s;
static char err[256];

TEST_CASE("parse");

START_TEST(parses_every_step)
{
	const char *text = "# a comment\n\n"
			   "wait backend-channel\n"
			   "  wait quiet 100\n"
			   "backend map shmid=0 shm_offset=0 len=0x1000 need_reply=1\r\n"
			   "sleep 20\n"
			   "frontend quit";

	ck_assert_int_eq(ctlscript_parse(text, "t", &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_int_eq(s.steps[0].kind, CTLSCRIPT_WAIT_BACKEND_CHANNEL);
	ck_assert_int_eq(s.steps[1].kind, CTLSCRIPT_WAIT_QUIET);
	ck_assert_uint_eq(s.steps[1].ms, 100);
	ck_assert_int_eq(s.steps[2].kind, CTLSCRIPT_SEND);
	ck_assert_int_eq(s.steps[2].side, 1);
	ck_assert_str_eq(s.steps[2].line, "map shmid=0 shm_offset=0 len=0x1000 need_reply=1");
	ck_assert_uint_eq(s.steps[2].lineno, 5);
	ck_assert_int_eq(s.steps[3].kind, CTLSCRIPT_SLEEP);
	ck_assert_int_eq(s.steps[4].side, 0);
	ck_assert_str_eq(s.steps[4].line, "quit");
}
END_TEST

START_TEST(errors_name_the_line)
{
	ck_assert_int_eq(ctlscript_parse("sleep 1\nfly away\n", "f.ctl", &s, err, sizeof(err)),
			 -22);
	ck_assert_str_eq(err, "f.ctl:2: expected frontend, backend, sleep or wait");
	ck_assert_int_lt(ctlscript_parse("sleep -1", "f", &s, err, sizeof(err)), 0);
	ck_assert_int_lt(ctlscript_parse("sleep 999999999", "f", &s, err, sizeof(err)), 0);
	ck_assert_int_lt(ctlscript_parse("wait quiet", "f", &s, err, sizeof(err)), 0);
	ck_assert_int_lt(ctlscript_parse("wait forever", "f", &s, err, sizeof(err)), 0);
	ck_assert_int_lt(ctlscript_parse("backend", "f", &s, err, sizeof(err)), 0);
	ck_assert_int_lt(ctlscript_load("/nonexistent", &s, err, sizeof(err)), 0);
}
END_TEST
