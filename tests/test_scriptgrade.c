/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/scriptgrade: the parsers of the graded
 * steps (`expect ...`, `check ...`, with assert / require and grade=),
 * each on one line's words in a parser context of its own
 * (tests/lib/vhuparse.h).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "scriptgrade.h"
#include "vhuparse.h"
#include "vhutest.h"

static bool parse(struct vt_parse *q, enum script_role role, const char *kw,
		  const char *line)
{
	vt_parse_init(q, role, SCRIPT_EXPECT_REPLY, line);
	return sgrade_parse(&q->p, kw, q->w, q->n);
}

static void has_error(const struct vt_parse *q, const char *part)
{
	ck_assert_msg(strstr(q->err, part) != NULL, "errors '%s' lack '%s'",
		      q->err, part);
}

TEST_CASE("expect");

START_TEST(expect_reply_value_grade_and_window)
{
	struct vt_parse q;

	ck_assert_msg(parse(&q, SCRIPT_ROLE_BACKEND, "expect",
			    "reply value=0 flags=0x5 size=8 grade=should within=250"),
		      "%s", q.err);
	ck_assert_int_eq(q.st.op, SCRIPT_EXPECT_REPLY);
	ck_assert_int_eq(q.st.u.er.value_kind, SCRIPT_VALUE_EQ);
	ck_assert_uint_eq(q.st.u.er.value, 0);
	ck_assert(q.st.u.er.has_flags && q.st.u.er.flags == 0x5);
	ck_assert(q.st.u.er.has_size && q.st.u.er.size == 8);
	ck_assert_int_eq(q.st.grade, SCRIPT_SHOULD);
	ck_assert_int_eq(q.st.within_ms, 250);
	ck_assert_int_eq(q.st.on, SCRIPT_BACKEND);
	ck_assert(!q.st.is_assert && !q.st.is_require);
	ck_assert(parse(&q, SCRIPT_ROLE_FRONTEND, "expect", "reply value=nonzero"));
	ck_assert_int_eq(q.st.u.er.value_kind, SCRIPT_VALUE_NONZERO);
	ck_assert_int_eq(q.st.on, SCRIPT_MAIN);
	ck_assert_int_eq(q.st.within_ms, 500);      /* the default reply window */
	ck_assert(parse(&q, SCRIPT_ROLE_FRONTEND, "expect", "no-reply"));
	ck_assert_int_eq(q.st.within_ms, 200);      /* the default quiet window */
}
END_TEST

START_TEST(expect_msg_names_and_counts)
{
	struct vt_parse q;

	ck_assert_msg(parse(&q, SCRIPT_ROLE_FRONTEND, "expect",
			    "msg SHMEM_MAP|SHMEM_UNMAP on=backend fds=1 size=40"),
		      "%s", q.err);
	ck_assert_int_eq(q.st.op, SCRIPT_EXPECT_MSG);
	ck_assert_uint_eq(q.st.u.em.nreq, 2);
	ck_assert_uint_eq(q.st.u.em.req[0], PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(q.st.u.em.req[1], PROTO_BE_SHMEM_UNMAP);
	ck_assert(q.st.u.em.has_fds && q.st.u.em.fds == 1);
	ck_assert(q.st.u.em.has_size && q.st.u.em.size == 40);
	ck_assert(parse(&q, SCRIPT_ROLE_FRONTEND, "expect", "no-msg on=backend within=50"));
	ck_assert_int_eq(q.st.op, SCRIPT_EXPECT_NO_MSG);
	ck_assert(!q.st.u.em.has_request);
	ck_assert_int_eq(q.st.within_ms, 50);
}
END_TEST

START_TEST(assert_and_require_are_kept)
{
	struct vt_parse q;

	ck_assert(parse(&q, SCRIPT_ROLE_FRONTEND, "assert", "msg SHMEM_MAP on=backend"));
	ck_assert(q.st.is_assert);
	ck_assert(!q.st.is_require);
	ck_assert(parse(&q, SCRIPT_ROLE_FRONTEND, "require", "msg SHMEM_MAP on=backend"));
	ck_assert(q.st.is_require);
}
END_TEST

TEST_CASE("check");

START_TEST(check_mapped_fields)
{
	struct vt_parse q;

	vt_parse_init(&q, SCRIPT_ROLE_BACKEND, SCRIPT_EXPECT_REPLY,
		      "mapped a count=1 offset=0x4000 len=0x2000");
	snprintf(q.p.fds[q.p.nfds++], FDPOOL_NAME_MAX, "a");
	q.c.requires_pid = true;
	ck_assert_msg(sgrade_parse(&q.p, "check", q.w, q.n), "%s", q.err);
	ck_assert_int_eq(q.st.op, SCRIPT_CHECK_MAPPED);
	ck_assert_str_eq(q.st.u.chk.fd, "a");
	ck_assert(q.st.u.chk.has_count && q.st.u.chk.count == 1);
	ck_assert(q.st.u.chk.has_offset && q.st.u.chk.offset == 0x4000);
	ck_assert(q.st.u.chk.has_len && q.st.u.chk.len == 0x2000);
}
END_TEST

START_TEST(check_findings_and_finding_codes)
{
	struct vt_parse q;
	char line[96];

	ck_assert(parse(&q, SCRIPT_ROLE_BACKEND, "check", "findings none severity=warn"));
	ck_assert_int_eq(q.st.op, SCRIPT_CHECK_FINDINGS_NONE);
	ck_assert_int_eq(q.st.u.chk.severity, PROTO_SEV_WARN);
	snprintf(line, sizeof(line), "finding %s", proto_finding_name(PROTO_FIND_VERSION));
	ck_assert_msg(parse(&q, SCRIPT_ROLE_BACKEND, "check", line), "%s", q.err);
	ck_assert_int_eq(q.st.op, SCRIPT_CHECK_FINDING);
	ck_assert_int_eq(q.st.u.chk.code, PROTO_FIND_VERSION);
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "check", "finding NO_SUCH_CODE"));
	has_error(&q, "unknown finding code 'NO_SUCH_CODE'");
}
END_TEST

TEST_CASE("errors");

START_TEST(expect_and_check_kinds_are_not_mixed)
{
	struct vt_parse q;

	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "expect", "alive"));
	has_error(&q, "'expect alive': use 'check alive'");
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "check", "reply"));
	has_error(&q, "'check reply': use 'expect reply'");
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "expect", "miracle"));
	has_error(&q, "t.vhu:7: unknown expect kind 'miracle'");
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "expect", ""));
	has_error(&q, "unknown expect kind ''");
}
END_TEST

START_TEST(unknown_arguments_and_grades)
{
	struct vt_parse q;

	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "expect", "reply colour=blue"));
	has_error(&q, "unknown argument 'colour' for expect reply");
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "expect", "reply grade=sometimes"));
	has_error(&q, "sometimes");
	ck_assert(!parse(&q, SCRIPT_ROLE_BACKEND, "check", "alive within=0x"));
	ck_assert_uint_eq(q.p.nerr, 1);
}
END_TEST
