/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/scriptcase: the names a case's parts
 * print as, the number syntax of the case language, freeing a case. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "scriptcase.h"
#include "vhutest.h"


TEST_CASE("numbers");

START_TEST(numbers_decimal_hex_suffixes)
{
	uint64_t v;

	ck_assert_int_eq(script_parse_u64("0", false, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(script_parse_u64("4096", false, &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(script_parse_u64("0x1000", false, &v), 0);
	ck_assert_uint_eq(v, 0x1000);
	ck_assert_int_eq(script_parse_u64("0XaBc", false, &v), 0);
	ck_assert_uint_eq(v, 0xabc);
	ck_assert_int_eq(script_parse_u64("64k", true, &v), 0);
	ck_assert_uint_eq(v, 0x10000);
	ck_assert_int_eq(script_parse_u64("1M", true, &v), 0);
	ck_assert_uint_eq(v, 0x100000);
	ck_assert_int_eq(script_parse_u64("16g", true, &v), 0);
	ck_assert_uint_eq(v, 16ull << 30);
	ck_assert_int_eq(script_parse_u64("0x2k", true, &v), 0);
	ck_assert_uint_eq(v, 0x800);
}
END_TEST

START_TEST(numbers_64bit_edges)
{
	uint64_t v;

	ck_assert_int_eq(script_parse_u64("0xffffffffffffffff", false, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(script_parse_u64("18446744073709551615", false, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(script_parse_u64("18446744073709551616", false, &v), -ERANGE);
	ck_assert_int_eq(script_parse_u64("0x10000000000000000", false, &v), -ERANGE);
	ck_assert_int_eq(script_parse_u64("0x3fffffffffffffk", true, &v), 0);
	ck_assert_uint_eq(v, 0x3fffffffffffffull << 10);
	ck_assert_int_eq(script_parse_u64("0x40000000000000k", true, &v), -ERANGE);
	ck_assert_int_eq(script_parse_u64("17179869184g", true, &v), -ERANGE);
}
END_TEST

START_TEST(numbers_rejected)
{
	static const char *const bad[] = { "", "0x", "-1", "+1", "1kk", "k", "12q",
					   "0x1g0", " 1", "1 ", "0b101", "1.5" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(script_parse_u64(bad[i], true, &v) == -EINVAL,
			      "accepted '%s'", bad[i]);
	ck_assert_int_eq(script_parse_u64("64k", false, &v), -EINVAL);
}
END_TEST


START_TEST(digit_values)
{
	ck_assert_int_eq(script_digit_value('0'), 0);
	ck_assert_int_eq(script_digit_value('9'), 9);
	ck_assert_int_eq(script_digit_value('a'), 10);
	ck_assert_int_eq(script_digit_value('F'), 15);
	ck_assert_int_eq(script_digit_value('g'), -1);
	ck_assert_int_eq(script_digit_value(' '), -1);
}
END_TEST

TEST_CASE("names");

START_TEST(names_of_ops_grades_channels_refusals)
{
	ck_assert_str_eq(script_op_name(SCRIPT_EXPECT_REPLY), "expect reply");
	ck_assert_str_eq(script_op_name(SCRIPT_CHECK_MEMTABLE), "check memtable");
	ck_assert_str_eq(script_op_name((enum script_op)9999), "?");
	ck_assert(script_op_graded(SCRIPT_EXPECT_REPLY));
	ck_assert(!script_op_graded(SCRIPT_SEND));
	ck_assert_str_eq(script_grade_name(SCRIPT_SHOULD), "SHOULD");
	ck_assert_str_eq(script_chan_name(SCRIPT_BACKEND), "backend");
	ck_assert_str_eq(script_chan_name(SCRIPT_MAIN), "main");
	ck_assert_str_eq(script_refusal_name(SCRIPT_REFUSAL_NON_STRICT), "NON-STRICT");
	ck_assert_str_eq(script_refusal_name(SCRIPT_REFUSAL_NONE), "");
	ck_assert_str_eq(script_target_role_name(SCRIPT_ROLE_BACKEND), "frontend");
	ck_assert_str_eq(script_target_role_name(SCRIPT_ROLE_FRONTEND), "backend");
	ck_assert_str_eq(script_finding_name(SCRIPT_FIND_UNSOLICITED_REPLY),
			 "UNSOLICITED_REPLY");
}
END_TEST

/* A case's steps are freed and the case is left empty (safe to free twice). */
START_TEST(free_leaves_no_steps)
{
	struct script_case c = { 0 };

	c.steps = calloc(2, sizeof(*c.steps));
	ck_assert_ptr_nonnull(c.steps);
	c.nsteps = 2;
	c.steps[0].data = malloc(8);
	script_free(&c);
	ck_assert_ptr_null(c.steps);
	ck_assert_uint_eq(c.nsteps, 0);
	script_free(&c);
}
END_TEST
