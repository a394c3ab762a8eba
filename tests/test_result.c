/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/result: JSON escaping and the one-line writer. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "result.h"
#include "vhutest.h"

static const char *escape_into(char *buf, size_t cap, const char *s, size_t n)
{
	result_json_escape(s, n, buf, cap);
	return buf;
}

/* Each test has its own `char b[512]`. */
#define esc(s, n) escape_into(b, sizeof(b), (s), (n))

TEST_CASE("core");

START_TEST(escape_plain_and_specials)
{
	char b[512];

	ck_assert_str_eq(esc("abc", 3), "abc");
	ck_assert_str_eq(esc("a\"b\\c", 5), "a\\\"b\\\\c");
	ck_assert_str_eq(esc("\n\t\r", 3), "\\n\\t\\r");
	ck_assert_str_eq(esc("/", 1), "/");
}
END_TEST

START_TEST(escape_control_chars)
{
	char b[512];

	ck_assert_str_eq(esc("\x01\x1f\x7f", 3), "\\u0001\\u001f\\u007f");
	ck_assert_str_eq(esc("a\0b", 3), "a\\u0000b");
}
END_TEST

START_TEST(escape_utf8_kept_invalid_bytes_escaped)
{
	char b[512];

	/* é, €, U+1F600 pass through. */
	ck_assert_str_eq(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
			 "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	ck_assert_str_eq(esc("\xff", 1), "\\u00ff");
	ck_assert_str_eq(esc("\xc3", 1), "\\u00c3");            /* truncated */
	ck_assert_str_eq(esc("\xc0\xaf", 2), "\\u00c0\\u00af");  /* overlong */
	ck_assert_str_eq(esc("\xed\xa0\x80", 3), "\\u00ed\\u00a0\\u0080"); /* surrogate */
	ck_assert_str_eq(esc("\xf4\x90\x80\x80", 4),
			 "\\u00f4\\u0090\\u0080\\u0080");        /* > U+10FFFF */
	ck_assert_str_eq(esc("a\x80z", 3), "a\\u0080z");
}
END_TEST

START_TEST(escape_reports_length_and_truncates)
{
	char small[5];
	size_t n = result_json_escape("\"\"\"\"", 4, small, sizeof(small));

	ck_assert_uint_eq(n, 8);
	ck_assert_str_eq(small, "\\\"\\\"");
	ck_assert_uint_eq(result_json_escape("ab\n", 3, NULL, 0), 4);
}
END_TEST

START_TEST(verdict_precedence)
{
	ck_assert_int_eq(result_verdict_max(RESULT_FAIL, RESULT_NON_STRICT), RESULT_FAIL);
	ck_assert_int_eq(result_verdict_max(RESULT_TIMEOUT, RESULT_DEADLOCK), RESULT_DEADLOCK);
	ck_assert_int_eq(result_verdict_max(RESULT_CRASH, RESULT_ERROR), RESULT_ERROR);
	ck_assert_int_eq(result_verdict_max(RESULT_FAIL, RESULT_UNSUPPORTED), RESULT_UNSUPPORTED);
	ck_assert_int_eq(result_verdict_max(RESULT_UNSUPPORTED, RESULT_CRASH), RESULT_CRASH);
	ck_assert_int_eq(result_verdict_max(RESULT_UNSUPPORTED, RESULT_INFO), RESULT_UNSUPPORTED);
	ck_assert_str_eq(result_verdict_name(RESULT_NON_STRICT), "NON-STRICT");
	ck_assert_str_eq(result_verdict_name(RESULT_UNSUPPORTED), "UNSUPPORTED");
}
END_TEST

static void sample(struct result *r)
{
	result_init(r);
	result_set(r->id, sizeof(r->id), "case_one");
	result_set(r->file, sizeof(r->file), "suites/C-map/case_one.vhu");
	result_set(r->title, sizeof(r->title), "a \"quoted\" title\nwith a newline");
	result_set(r->area, sizeof(r->area), "C-map");
	result_set(r->role, sizeof(r->role), "backend");
	result_set(r->level, sizeof(r->level), "MUST");
	result_set(r->rule, sizeof(r->rule), "6: MUST fail");
	r->verdict = RESULT_FAIL;
	r->duration_ms = 2.4149;
	result_set(r->observed, sizeof(r->observed), "line1\nline2\xff");
	r->nfailures = 1;
	r->failures[0].line = 12;
	result_set(r->failures[0].grade, 8, "MUST");
	result_set(r->failures[0].expected, 256, "reply value non-zero");
	result_set(r->failures[0].observed, 512, "reply value 0");
	r->nfindings = 1;
	result_set(r->findings[0].code, 40, "MMAP_PADDING");
	result_set(r->findings[0].severity, 8, "warn");
	result_set(r->findings[0].msg, 48, "SHMEM_MAP");
	result_set(r->findings[0].text, 160, "padding 01");
	r->pid = 1234;
}

START_TEST(json_is_one_line_with_the_schema)
{
	struct result *r = malloc(sizeof(*r));
	char *j;

	sample(r);
	j = result_to_json(r);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_eq(strchr(j, '\n'), j + strlen(j) - 1);
	ck_assert_ptr_nonnull(strstr(j, "{\"id\": \"case_one\", \"file\": "));
	ck_assert_ptr_nonnull(strstr(j, "\"title\": \"a \\\"quoted\\\" title\\nwith a newline\""));
	ck_assert_ptr_nonnull(strstr(j, "\"verdict\": \"FAIL\", \"duration_ms\": 2.41,"));
	ck_assert_ptr_nonnull(strstr(j, "\"observed\": \"line1\\nline2\\u00ff\""));
	ck_assert_ptr_nonnull(strstr(j, "\"failures\": [{\"line\": 12, \"grade\": \"MUST\", "
				     "\"expected\": \"reply value non-zero\", "
				     "\"observed\": \"reply value 0\"}]"));
	ck_assert_ptr_nonnull(strstr(j, "\"findings\": [{\"code\": \"MMAP_PADDING\", "
				     "\"severity\": \"warn\", \"msg\": \"SHMEM_MAP\", "
				     "\"text\": \"padding 01\"}]"));
	ck_assert_ptr_nonnull(strstr(j, "\"failures_dropped\": 0, \"findings\": ["));
	ck_assert_ptr_nonnull(strstr(j, "\"findings_dropped\": 0, \"trace\": null"));
	ck_assert_ptr_nonnull(strstr(j, "\"trace\": null, \"target\": {\"pid\": 1234, "
				     "\"exit\": null, \"signal\": null, \"stderr\": null}}\n"));
	free(j);
	r->exited = true;
	r->exit_code = 3;
	result_set(r->signal, sizeof(r->signal), "SIGSEGV");
	j = result_to_json(r);
	ck_assert_ptr_nonnull(strstr(j, "\"exit\": 3, \"signal\": \"SIGSEGV\""));
	free(j);
	free(r);
}
END_TEST

START_TEST(write_is_a_single_line_in_the_file)
{
	char path[] = "/tmp/vhu-test-result-XXXXXX", buf[8192];
	struct result *r = malloc(sizeof(*r));
	int fd = mkstemp(path);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	sample(r);
	ck_assert_int_eq(result_write(fd, r), 0);
	ck_assert_int_eq(result_write(fd, r), 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	/* Two lines, each a whole object. */
	ck_assert_ptr_nonnull(strchr(buf, '\n'));
	ck_assert_int_eq(buf[0], '{');
	ck_assert_int_eq(strchr(buf, '\n')[1], '{');
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_int_eq(result_write(-1, r), -EBADF);
	close(fd);
	unlink(path);
	free(r);
}
END_TEST
