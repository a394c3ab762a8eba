/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/reqcheck: a case's `requires` against its
 * steps (part of `vhucheck-harness --check-cases`).
 *
 * Each test parses a whole case and asserts the exact lines found (and
 * a word of each message), so a rule that finds too little or too much
 * fails; most hold the same case with the requirement made true.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "reqcheck.h"
#include "script.h"
#include "vhutest.h"

#define BE "id t\ntitle A title\ntarget frontend\nrule 6: a rule\nlevel MUST\n"
#define FE "id t\ntitle A title\ntarget backend\nrule 6: a rule\nlevel MUST\n"
#define ERRCAP 4096

static struct reqcheck_report rep;

/* Parses text (header lines 1-5, requires on line 6) and checks it. */
static void run_case(const char *text)
{
	struct script_case c;
	char err[ERRCAP] = "";

	ck_assert_msg(script_parse_text("suites/X/t.vhu", text, &c, err,
					sizeof(err)) == 0, "parse errors:\n%s", err);
	reqcheck_case(&c, &rep);
	script_free(&c);
}

/* The findings are exactly these lines (0-terminated), in order, and
 * the i-th message contains words[i]. */
static void expect(const char *text, const unsigned *lines,
		   const char *const *words)
{
	unsigned n = 0;

	run_case(text);
	while (lines[n])
		n++;
	ck_assert_msg(rep.nfindings == n, "%u findings, %u wanted; first: %s",
		      rep.nfindings, n, rep.nfindings ? rep.f[0].msg : "-");
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(rep.f[i].line, lines[i]);
		ck_assert_msg(strstr(rep.f[i].msg, words[i]), "'%s' lacks '%s'",
			      rep.f[i].msg, words[i]);
	}
}

static void expect_none(const char *text)
{
	static const unsigned none[] = { 0 };

	expect(text, none, NULL);
}

TEST_CASE("capabilities");

START_TEST(control_unused)
{
	static const unsigned l[] = { 6, 0 };
	static const char *const w[] = { "requires control but no step needs it" };

	expect(FE "requires SHMEM control\nhandshake\ncheck alive\n", l, w);
	expect_none(FE "requires SHMEM\nhandshake\ncheck alive\n");
	expect_none(FE "requires SHMEM control\nhandshake\n"
		    "control map shmid=0 expect=err\n");
}
END_TEST

/* The line reported is the `requires` line that named it. */
START_TEST(control_line_of_its_requires)
{
	static const unsigned l[] = { 7, 0 };
	static const char *const w[] = { "requires control" };

	expect(FE "requires SHMEM\nrequires pid control\nhandshake\nmark\n", l, w);
}
END_TEST

START_TEST(pid_unused)
{
	static const unsigned l[] = { 6, 0 };
	static const char *const w[] = { "requires pid but no step needs it" };
	const char *uses[] = { "mark\ncheck baseline", "check mapped a",
			       "require unmapped a", "assert fds a count=1" };

	expect(BE "requires SHMEM pid\nhandshake\nfd a memfd\n"
	       "send map fd=a need_reply\nexpect reply value=0\n", l, w);
	for (unsigned i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), BE "requires SHMEM pid\nhandshake\n"
			 "fd a memfd\n%s\n", uses[i]);
		expect_none(text);
	}
}
END_TEST

START_TEST(socket_unused_and_missing)
{
	static const unsigned l1[] = { 6, 0 };
	static const char *const w1[] = { "requires socket but no step needs it" };
	static const unsigned l2[] = { 9, 0 };
	static const char *const w2[] = {
		"'control reconnect' needs 'requires socket'"
	};

	expect(BE "requires control socket\nhandshake\ncontrol reset\n", l1, w1);
	expect(BE "requires control\nhandshake\ncontrol stop\ncontrol reconnect\n"
	       "handshake\n", l2, w2);
	expect_none(BE "requires control socket\nhandshake\ncontrol reconnect\n"
		    "handshake\n");
	/* A reconnect the target is expected to refuse needs no path. */
	expect_none(BE "requires control\nhandshake\n"
		    "control reconnect expect=err\n");
}
END_TEST

START_TEST(all_unused_reported)
{
	static const unsigned l[] = { 6, 6, 6, 0 };
	static const char *const w[] = { "control", "pid", "socket" };

	expect(BE "requires control pid socket\nhandshake\ncheck alive\n", l, w);
}
END_TEST

TEST_CASE("features");

/* As back-end, a handshake that does not offer a required feature can
 * only end UNSUPPORTED. */
START_TEST(feature_not_offered)
{
	static const unsigned l[] = { 7, 0 };
	static const char *const w[] = { "requires REPLY_ACK but this handshake" };
	static const unsigned l2[] = { 7, 9, 0 };
	static const char *const w2[] = { "shmem=off", "shmem=offer-only" };

	expect(BE "requires SHMEM REPLY_ACK\nhandshake reply-ack=off\n", l, w);
	expect_none(BE "requires SHMEM REPLY_ACK\nhandshake backend-req=off\n");
	expect(BE "requires SHMEM control socket\nhandshake shmem=off\n"
	       "control reconnect\nhandshake shmem=offer-only\n", l2, w2);
	expect_none(BE "requires REPLY_ACK\nhandshake shmem=off\n");
}
END_TEST

/* As front-end the requirement is on what the target offers, whatever
 * the harness then accepts: turning it off is a test, not a contradiction. */
START_TEST(frontend_may_decline)
{
	expect_none(FE "requires SHMEM REPLY_ACK\n"
		    "handshake reply-ack=off shmem=off\n");
}
END_TEST

TEST_CASE("capabilities");

START_TEST(step_needs)
{
	struct script_case c;
	char err[ERRCAP] = "";
	const char *text = FE "requires SHMEM control pid\nhandshake\n"
			   "control map shmid=0\ncontrol dump\nmark\ncheck alive\n";

	ck_assert_int_eq(script_parse_text("suites/X/t.vhu", text, &c, err,
					   sizeof(err)), 0);
	ck_assert_uint_eq(reqcheck_step_needs(&c.steps[0]), 0);
	ck_assert_uint_eq(reqcheck_step_needs(&c.steps[1]), REQCHECK_NEED_CONTROL);
	ck_assert_uint_eq(reqcheck_step_needs(&c.steps[2]), REQCHECK_NEED_CONTROL);
	ck_assert_uint_eq(reqcheck_step_needs(&c.steps[3]), REQCHECK_NEED_PID);
	ck_assert_uint_eq(reqcheck_step_needs(&c.steps[4]), 0);
	script_free(&c);
}
END_TEST
