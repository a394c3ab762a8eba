/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/ctlanswer: control answers as text (the
 * version a target speaks, a version 2 outcome). */
#include <check.h>
#include <stddef.h>

#include "ctlanswer.h"
#include "vhutest.h"

TEST_CASE("parse");

START_TEST(test_parse_version)
{
	ck_assert_int_eq(ctlanswer_version("ok version=2"), 2);
	ck_assert_int_eq(ctlanswer_version("ok version=3 extra"), 3);
	ck_assert_int_eq(ctlanswer_version("err unknown command 'version'"), 1);
	ck_assert_int_eq(ctlanswer_version("ok"), 1);
	ck_assert_int_eq(ctlanswer_version("ok version=x"), -1);
	ck_assert_int_eq(ctlanswer_version("garbage"), -1);
}
END_TEST

START_TEST(test_parse_outcome)
{
	const char *why;

	ck_assert_int_eq(ctlanswer_outcome("ok result=0", NULL),
			 CTLANSWER_OK);
	ck_assert_int_eq(ctlanswer_outcome("ok result=sent", NULL),
			 CTLANSWER_SENT);
	ck_assert_int_eq(ctlanswer_outcome("ok result=fail reason=no reply in 1 s",
					       &why), CTLANSWER_FAIL);
	ck_assert_str_eq(why, "no reply in 1 s");
	ck_assert_int_eq(ctlanswer_outcome("ok result=00", NULL),
			 CTLANSWER_BAD);
	ck_assert_int_eq(ctlanswer_outcome("ok", NULL), CTLANSWER_BAD);
	ck_assert_int_eq(ctlanswer_outcome("err result=0", NULL),
			 CTLANSWER_BAD);
}
END_TEST
