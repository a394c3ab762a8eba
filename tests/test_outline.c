/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/outline: what `vhucheck reduce` is told about a
 * case. Each test parses a case, writes its outline to a memory stream
 * and looks for the exact JSON pieces the reducer relies on.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outline.h"
#include "script.h"
#include "vhutest.h"

#define PATH "suites/C-map/t.vhu"
#define HDR "# a comment line\nid t\ntitle A title\ntarget frontend\nrule 6: a rule\n" \
	    "level MUST\nrequires SHMEM REPLY_ACK BACKEND_REQ BACKEND_SEND_FD pid\n\n"
#define ERRCAP 8192

/* The outline of HDR + body, in a malloc'd string. */
static char *outline_of(const char *body)
{
	struct script_case c;
	char err[ERRCAP], text[8192], *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	snprintf(text, sizeof(text), "%s%s", HDR, body);
	err[0] = '\0';
	ck_assert_msg(script_parse_text(PATH, text, &c, err, sizeof(err)) == 0,
		      "parse errors:\n%s", err);
	ck_assert_int_eq(outline_write(f, &c, text), 0);
	script_free(&c);
	fclose(f);
	return out;
}

#define ASSERT_HAS(hay, needle) \
	ck_assert_msg(strstr((hay), (needle)) != NULL, "no <%s> in:\n%s", (needle), (hay))

TEST_CASE("outline");

START_TEST(header_lines_are_numbered_comments_and_blanks_not)
{
	char *o = outline_of("handshake regions=1m\ncheck alive\n");

	ASSERT_HAS(o, "{\"id\": \"t\", \"header\": [2, 3, 4, 5, 6, 7], \"steps\": [");
	ASSERT_HAS(o, "{\"line\": 9, \"op\": \"handshake\"");
	ASSERT_HAS(o, "{\"line\": 10, \"op\": \"check alive\"");
	free(o);
}
END_TEST

START_TEST(fd_names_defined_and_used)
{
	char *o = outline_of("handshake\nfd a memfd size=64k\n"
			     "send map shmid=0 shm_offset=0 len=0x1000 fd=a need_reply\n"
			     "expect reply value=0\ncheck mapped a\n");

	ASSERT_HAS(o, "\"op\": \"fd\", \"defines\": [\"a\"], \"uses\": []");
	ASSERT_HAS(o, "\"op\": \"send\", \"defines\": [], \"uses\": [\"a\"]");
	ASSERT_HAS(o, "\"op\": \"check mapped\", \"defines\": [], \"uses\": [\"a\"]");
	ASSERT_HAS(o, "\"op\": \"expect reply\", \"defines\": [], \"uses\": []");
	free(o);
}
END_TEST

START_TEST(words_with_numbers_marked_comment_cut)
{
	char *o = outline_of("handshake\nfd a memfd size=64k # why\n");

	ASSERT_HAS(o, "\"words\": [{\"w\": \"fd\"}, {\"w\": \"a\"}, {\"w\": \"memfd\"}, "
		      "{\"w\": \"size=64k\", \"num\": true}]}");
	ck_assert_ptr_null(strstr(o, "why"));
	free(o);
}
END_TEST

START_TEST(repeat_and_end_name_each_other)
{
	char *o = outline_of("handshake\nrepeat 3\ncheck alive\nend\n");

	ASSERT_HAS(o, "\"op\": \"repeat\", \"defines\": [], \"uses\": [], \"pair\": 3");
	ASSERT_HAS(o, "\"op\": \"end\", \"defines\": [], \"uses\": [], \"pair\": 1");
	ASSERT_HAS(o, "\"op\": \"check alive\", \"defines\": [], \"uses\": [], \"pair\": null");
	free(o);
}
END_TEST

START_TEST(outline_file_reports_script_errors)
{
	char err[ERRCAP] = "";
	FILE *f = fopen("/dev/null", "w");

	ck_assert_int_ne(outline_file(f, "/nonexistent/x.vhu", err, sizeof(err)), 0);
	ASSERT_HAS(err, "/nonexistent/x.vhu");
	fclose(f);
}
END_TEST
