/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/scriptctx: what the parser's parts share,
 * on a parser context of its own (tests/lib/vhuparse.h): error lines,
 * key=value arguments, numbers with limits, hex, sizes, request names,
 * windows and channels.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "scriptctx.h"
#include "vhuparse.h"
#include "vhutest.h"

TEST_CASE("errors");

START_TEST(errors_name_file_and_line_and_are_capped)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "");
	sctx_perr(&q.p, "bad %s", "thing");
	ck_assert_str_eq(q.err, "t.vhu:7: bad thing\n");
	ck_assert_uint_eq(q.p.nerr, 1);
	ck_assert_uint_eq(q.c.header_errors, 0);
	q.p.line = 0;
	q.p.in_steps = false;
	sctx_perr(&q.p, "no id");
	ck_assert_str_eq(q.err, "t.vhu:7: bad thing\nt.vhu: no id\n");
	ck_assert_uint_eq(q.c.header_errors, 1);
	for (unsigned i = 0; i < SCTX_MAX_ERRORS + 5; i++)
		sctx_perr(&q.p, "more");
	ck_assert_uint_eq(q.p.nerr, SCTX_MAX_ERRORS + 7);
	{
		unsigned lines = 0;

		for (const char *s = q.err; *s; s++)
			lines += *s == '\n';
		ck_assert_uint_eq(lines, SCTX_MAX_ERRORS);
	}
}
END_TEST

START_TEST(names)
{
	ck_assert(sctx_valid_name("a-b_9", 16));
	ck_assert(!sctx_valid_name("", 16));
	ck_assert(!sctx_valid_name("a b", 16));
	ck_assert(!sctx_valid_name("a.b", 16));
	ck_assert(!sctx_valid_name("0123456789abcdef", 16));
}
END_TEST

TEST_CASE("arguments");

START_TEST(split_args_keys_values_and_words)
{
	struct vt_parse q;
	struct args a;
	bool bad = false;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "fd=a need_reply size=8");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert_uint_eq(a.n, 3);
	ck_assert_str_eq(sctx_arg_val(&q.p, &a, "fd", &bad), "a");
	ck_assert(sctx_arg_flag(&q.p, &a, "need_reply", &bad));
	ck_assert(!sctx_arg_flag(&q.p, &a, "reply_ack", &bad));
	ck_assert(!bad);
	ck_assert(!sctx_args_all_used(&q.p, &a, "send"));
	ck_assert_ptr_nonnull(strstr(q.err, "unknown argument 'size' for send"));
}
END_TEST

START_TEST(split_args_refuses_twice_and_nameless)
{
	struct vt_parse q;
	struct args a;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "size=1 size=2");
	ck_assert(!sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert_ptr_nonnull(strstr(q.err, "'size' given twice"));
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "=5");
	ck_assert(!sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert_ptr_nonnull(strstr(q.err, "an argument without a name"));
}
END_TEST

START_TEST(numbers_with_suffixes_and_limits)
{
	struct vt_parse q;
	struct args a;
	uint64_t v = 0;
	uint32_t u = 0;
	bool bad = false;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND,
		      "size=64k len=0x10 big=5000000000 word=ten");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert(sctx_arg_num(&q.p, &a, "size", true, 1ull << 40, &v, &bad));
	ck_assert_uint_eq(v, 0x10000);
	ck_assert(sctx_arg_num(&q.p, &a, "len", false, 0x10, &v, &bad));
	ck_assert_uint_eq(v, 0x10);
	ck_assert(!bad);
	ck_assert(!sctx_arg_u32(&q.p, &a, "big", false, &u, &bad));
	ck_assert(bad);
	ck_assert_ptr_nonnull(strstr(q.err, "big=5000000000: out of range"));
	bad = false;
	ck_assert(!sctx_arg_num(&q.p, &a, "word", false, 100, &v, &bad));
	ck_assert(bad);
	ck_assert_ptr_nonnull(strstr(q.err, "word=ten: not a number"));
	bad = false;
	ck_assert(!sctx_arg_num(&q.p, &a, "absent", false, 100, &v, &bad));
	ck_assert(!bad);
}
END_TEST

START_TEST(choices)
{
	static const char *const kinds[] = { "ok", "fail", NULL };
	struct vt_parse q;
	struct args a;
	bool bad = false;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "want=fail other=maybe");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert_int_eq(sctx_arg_choice(&q.p, &a, "want", kinds, &bad), 1);
	ck_assert(!bad);
	ck_assert_int_lt(sctx_arg_choice(&q.p, &a, "other", kinds, &bad), 0);
	ck_assert(bad);
	ck_assert_ptr_nonnull(strstr(q.err, "maybe"));
}
END_TEST

TEST_CASE("values");

START_TEST(hex_bytes)
{
	struct vt_parse q;
	uint8_t *out = NULL;
	size_t len = 0;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "");
	ck_assert(sctx_parse_hex(&q.p, "raw", "00ffA5", 8, &out, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(out[0], 0x00);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert_uint_eq(out[2], 0xa5);
	free(out);
	ck_assert(!sctx_parse_hex(&q.p, "raw", "abc", 8, &out, &len));
	ck_assert_ptr_nonnull(strstr(q.err, "odd number of hex digits"));
	ck_assert(!sctx_parse_hex(&q.p, "raw", "0011", 1, &out, &len));
	ck_assert_ptr_nonnull(strstr(q.err, "more than 1 bytes"));
	ck_assert(!sctx_parse_hex(&q.p, "raw", "zz", 8, &out, &len));
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(q.err, "'zz' is not a hex byte"));
}
END_TEST

START_TEST(size_lists)
{
	struct vt_parse q;
	unsigned n = 0;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE, "");
	ck_assert(sctx_parse_sizes(&q.p, "regions", "1m,4k,0", &n));
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(q.st.list[0], 0x100000);
	ck_assert_uint_eq(q.st.list[1], 0x1000);
	ck_assert_uint_eq(q.st.list[2], 0);
	vt_parse_free(&q);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE, "");
	ck_assert(!sctx_parse_sizes(&q.p, "regions", "1m,,4k", &n));
	ck_assert_ptr_nonnull(strstr(q.err, "expected sizes separated by commas"));
	vt_parse_free(&q);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_HANDSHAKE, "");
	ck_assert(!sctx_parse_sizes(&q.p, "regions", "1m,big", &n));
	ck_assert_ptr_nonnull(strstr(q.err, "'big' is not a size"));
	vt_parse_free(&q);
}
END_TEST

/* Request names per channel, numbers as they are, lists with '|'. */
START_TEST(requests_by_name_and_number)
{
	struct vt_parse q;
	uint32_t req[SCRIPT_ORDER_MAX_NAMES], r = 0;
	unsigned n = 0;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_SEND, "");
	q.st.on = SCRIPT_BACKEND;
	ck_assert(sctx_resolve_request(&q.p, "SHMEM_MAP", &r));
	ck_assert_uint_eq(r, PROTO_BE_SHMEM_MAP);
	ck_assert(sctx_resolve_request(&q.p, "99", &r));
	ck_assert_uint_eq(r, 99);
	ck_assert(!sctx_resolve_request(&q.p, "SET_MEM_TABLE", &r));
	ck_assert_ptr_nonnull(strstr(q.err, "unknown backend-channel request"));
	q.st.on = SCRIPT_MAIN;
	ck_assert(sctx_parse_names(&q.p, "SET_MEM_TABLE|ADD_MEM_REG", req, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(req[0], PROTO_SET_MEM_TABLE);
	ck_assert_uint_eq(req[1], PROTO_ADD_MEM_REG);
	ck_assert(!sctx_parse_names(&q.p, "|", req, &n));
	ck_assert_ptr_nonnull(strstr(q.err, "names no request"));
	ck_assert(!sctx_resolve_request(&q.p, "4294967296", &r));
}
END_TEST

START_TEST(windows_and_channels_with_defaults)
{
	struct vt_parse q;
	struct args a;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_EXPECT_NO_MSG,
		      "within=250 on=backend");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert(sctx_take_within(&q.p, &a, 1000));
	ck_assert_int_eq(q.st.within_ms, 250);
	ck_assert(sctx_take_on(&q.p, &a, SCRIPT_MAIN));
	ck_assert_int_eq(q.st.on, SCRIPT_BACKEND);
	ck_assert(sctx_args_all_used(&q.p, &a, "expect no-msg"));
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_EXPECT_NO_MSG, "within=600001");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert(!sctx_take_within(&q.p, &a, 1000));
	ck_assert_int_eq(q.st.within_ms, 1000);
	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_EXPECT_NO_MSG, "");
	ck_assert(sctx_split_args(&q.p, q.w, q.n, &a));
	ck_assert(sctx_take_on(&q.p, &a, SCRIPT_MAIN));
	ck_assert_int_eq(q.st.on, SCRIPT_MAIN);
}
END_TEST

/* The channel a reply or a message is on by default follows the role:
 * the harness as back-end sends its requests on the back-end channel. */
START_TEST(default_channels_follow_the_role)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_EXPECT_REPLY, "");
	ck_assert_int_eq(sctx_default_reply_chan(&q.p), SCRIPT_BACKEND);
	ck_assert_int_eq(sctx_default_msg_chan(&q.p), SCRIPT_MAIN);
	vt_parse_init(&q, SCRIPT_ROLE_FRONTEND, SCRIPT_EXPECT_REPLY, "");
	ck_assert_int_eq(sctx_default_reply_chan(&q.p), SCRIPT_MAIN);
	ck_assert_int_eq(sctx_default_msg_chan(&q.p), SCRIPT_BACKEND);
	ck_assert(sctx_need_role(&q.p, SCRIPT_ROLE_FRONTEND, "reply"));
	ck_assert(!sctx_need_role(&q.p, SCRIPT_ROLE_BACKEND, "hold"));
	ck_assert_ptr_nonnull(strstr(q.err, "hold"));
}
END_TEST
