/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/sesstrace: the trace file, the tail of
 * the last lines, the last line per channel. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "proto.h"
#include "sesstrace.h"
#include "vhutest.h"

__attribute__((format(printf, 2, 3)))
static void note(struct sesstrace *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sesstrace_vnote(t, chan_now_ms(), fmt, ap);
	va_end(ap);
}

/* A header-only message of request req, as chan receives it. */
static void msg_of(struct chan_msg *m, uint32_t req)
{
	chan_msg_init(m);
	m->hdr_valid = true;
	m->hdr = (struct proto_hdr){ req, PROTO_VERSION, 0 };
	m->t_ms = chan_now_ms();
}

TEST_CASE("trace");

START_TEST(tail_keeps_the_last_lines_in_order)
{
	struct sesstrace t;
	char out[2048];

	sesstrace_init(&t, NULL);
	for (unsigned i = 1; i <= SESS_TAIL + 2; i++)
		note(&t, "line %u", i);
	sesstrace_tail(&t, SESS_TAIL, out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "# line 2\n"));
	ck_assert_ptr_nonnull(strstr(out, "# line 3\n"));
	ck_assert_ptr_nonnull(strstr(out, "# line 10"));
	ck_assert(strstr(out, "# line 3") < strstr(out, "# line 10"));
	sesstrace_tail(&t, 2, out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "# line 8"));
	ck_assert_ptr_nonnull(strstr(out, "# line 9\n"));
	ck_assert_ptr_nonnull(strstr(out, "# line 10"));
	sesstrace_close(&t);
}
END_TEST

START_TEST(tail_asks_more_than_there_is_and_small_buffers)
{
	struct sesstrace t;
	char out[2048], small[8];

	sesstrace_init(&t, NULL);
	sesstrace_tail(&t, 3, out, sizeof(out));
	ck_assert_str_eq(out, "");
	note(&t, "only");
	sesstrace_tail(&t, 5, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "# only"));
	ck_assert_ptr_null(strchr(out, '\n'));
	sesstrace_tail(&t, 1, small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
	sesstrace_close(&t);
}
END_TEST

START_TEST(last_line_per_channel)
{
	struct sesstrace t;
	struct chan_msg m;
	int64_t t0 = chan_now_ms();

	sesstrace_init(&t, NULL);
	msg_of(&m, PROTO_BE_SHMEM_MAP);
	sesstrace_msg(&t, t0, "backend", CHAN_DIR_RX, &m, CHAN_OK);
	ck_assert_ptr_nonnull(strstr(t.last_line[1], "SHMEM_MAP"));
	ck_assert_str_eq(t.last_line[0], "");
	msg_of(&m, PROTO_GET_FEATURES);
	sesstrace_msg(&t, t0, "main", CHAN_DIR_TX, &m, CHAN_OK);
	ck_assert_ptr_nonnull(strstr(t.last_line[0], "GET_FEATURES"));
	ck_assert_ptr_nonnull(strstr(t.last_line[1], "SHMEM_MAP"));
	note(&t, "a note is no channel's");
	ck_assert_ptr_nonnull(strstr(t.last_line[0], "GET_FEATURES"));
	ck_assert_ptr_nonnull(strstr(t.last_line[1], "SHMEM_MAP"));
	sesstrace_close(&t);
}
END_TEST

START_TEST(file_gets_every_line)
{
	struct sesstrace t;
	struct chan_msg m;
	FILE *f = tmpfile(), *keep;
	char line[600];
	unsigned n = 0, notes = 0;

	ck_assert_ptr_nonnull(f);
	/* sesstrace_close() closes the file: read it through a second
	 * stream on the same file first. */
	keep = fdopen(dup(fileno(f)), "r");
	ck_assert_ptr_nonnull(keep);
	sesstrace_init(&t, f);
	note(&t, "first");
	msg_of(&m, PROTO_GET_FEATURES);
	sesstrace_msg(&t, chan_now_ms(), "main", CHAN_DIR_TX, &m, CHAN_OK);
	note(&t, "third %d", 3);
	fflush(f);
	rewind(keep);
	while (fgets(line, sizeof(line), keep)) {
		n++;
		if (line[0] == '+' && strstr(line, "s # "))
			notes++;
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(notes, 2);
	sesstrace_close(&t);
	ck_assert_ptr_null(t.file);
	fclose(keep);
}
END_TEST

START_TEST(wide_message_traced_with_the_rest_of_its_fds)
{
	struct sesstrace t;
	uint8_t buf[PROTO_HDR_SIZE + 40] = { 0 };
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION, 40 };
	int fds[12];
	char out[2048];

	for (int i = 0; i < 12; i++)
		fds[i] = 100 + i;
	ck_assert_int_eq(proto_hdr_encode(&h, buf, sizeof(buf)), PROTO_HDR_SIZE);
	sesstrace_init(&t, NULL);
	sesstrace_wide(&t, chan_now_ms(), "backend", buf, sizeof(buf), fds, 12,
		       CHAN_OK);
	ck_assert_ptr_nonnull(strstr(t.last_line[1], "SHMEM_MAP"));
	sesstrace_tail(&t, 1, out, sizeof(out));
	ck_assert_ptr_nonnull(strstr(out, "4 fds more on that message (12 in all)"));
	sesstrace_close(&t);
}
END_TEST
