/* SPDX-License-Identifier: MIT */
/* Unit tests for targets/ref/ctl: the control-channel line protocol. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "ctl.h"
#include "vhutest.h"

TEST_CASE("core");

START_TEST(test_parse_command_and_args)
{
	struct ctl_cmd c;
	char err[128];

	ck_assert_int_eq(ctl_parse("map shmid=0 shm_offset=0x1000 len=4k need_reply\r\n",
				   &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.name, "map");
	ck_assert_uint_eq(c.nargs, 4);
	ck_assert_str_eq(c.args[1].key, "shm_offset");
	ck_assert_str_eq(c.args[1].val, "0x1000");
	ck_assert(c.args[1].has_val);
	ck_assert_str_eq(c.args[3].key, "need_reply");
	ck_assert(!c.args[3].has_val);
	ck_assert_ptr_eq(ctl_find(&c, "len"), &c.args[2]);
	ck_assert_ptr_null(ctl_find(&c, "flags"));
}
END_TEST

START_TEST(test_parse_blank_and_errors)
{
	struct ctl_cmd c;
	char err[128], big[400];

	ck_assert_int_eq(ctl_parse("   \t ", &c, err, sizeof(err)), -ENODATA);
	ck_assert_int_eq(ctl_parse("", &c, err, sizeof(err)), -ENODATA);
	ck_assert_int_eq(ctl_parse("map =5", &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ctl_parse("m a b c d e f g h i j k l m n o p q", &c,
				   err, sizeof(err)), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(ctl_parse(big, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ctl_parse("  dump  ", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.name, "dump");
	ck_assert_uint_eq(c.nargs, 0);
}
END_TEST

START_TEST(test_parse_u64_forms)
{
	uint64_t v;

	ck_assert_int_eq(ctl_parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(ctl_parse_u64("4096", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(ctl_parse_u64("0x1F000", &v), 0);
	ck_assert_uint_eq(v, 0x1f000);
	ck_assert_int_eq(ctl_parse_u64("64k", &v), 0);
	ck_assert_uint_eq(v, 0x10000);
	ck_assert_int_eq(ctl_parse_u64("1M", &v), 0);
	ck_assert_uint_eq(v, 0x100000);
	ck_assert_int_eq(ctl_parse_u64("2g", &v), 0);
	ck_assert_uint_eq(v, UINT64_C(0x80000000));
	ck_assert_int_eq(ctl_parse_u64("0xffffffffffffffff", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(test_parse_u64_rejects)
{
	uint64_t v;

	ck_assert_int_eq(ctl_parse_u64("", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("0x", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("-1", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("12q", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("1kk", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("abc", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("0x10000000000000000", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("18446744073709551616", &v), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64("0xffffffffffffffffk", &v), -EINVAL);
}
END_TEST

START_TEST(test_parse_u64_list)
{
	uint64_t v[4];
	unsigned n;

	ck_assert_int_eq(ctl_parse_u64_list("1M,64k,0", v, 4, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v[0], 0x100000);
	ck_assert_uint_eq(v[1], 0x10000);
	ck_assert_uint_eq(v[2], 0);
	ck_assert_int_eq(ctl_parse_u64_list("1,2,3,4,5", v, 4, &n), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64_list("1,,2", v, 4, &n), -EINVAL);
	ck_assert_int_eq(ctl_parse_u64_list("", v, 4, &n), -EINVAL);
}
END_TEST

START_TEST(test_arg_helpers)
{
	struct ctl_cmd c;
	char err[128];
	uint64_t v;
	bool b;

	ck_assert_int_eq(ctl_parse("map len=0x2000 need_reply=0 rw bad=zz",
				   &c, err, sizeof(err)), 0);
	ck_assert_int_eq(ctl_arg_u64(&c, "len", 1, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 0x2000);
	ck_assert_int_eq(ctl_arg_u64(&c, "shmid", 7, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(ctl_arg_u64(&c, "bad", 0, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad"));
	ck_assert_int_eq(ctl_arg_u64(&c, "rw", 0, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ctl_arg_bool(&c, "need_reply", true, &b, err,
				      sizeof(err)), 0);
	ck_assert(!b);
	ck_assert_int_eq(ctl_arg_bool(&c, "rw", false, &b, err, sizeof(err)), 0);
	ck_assert(b);
	ck_assert_int_eq(ctl_arg_bool(&c, "bad", false, &b, err, sizeof(err)),
			 -EINVAL);
}
END_TEST

START_TEST(test_check_keys)
{
	static const char *const keys[] = { "shmid", "len", NULL };
	struct ctl_cmd c;
	char err[128];

	ck_assert_int_eq(ctl_parse("unmap shmid=1 len=4k", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(ctl_check_keys(&c, keys, err, sizeof(err)), 0);
	ck_assert_int_eq(ctl_parse("unmap shmid=1 lenn=4k", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(ctl_check_keys(&c, keys, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'lenn'"));
}
END_TEST

START_TEST(test_reader_lines_in_pieces)
{
	struct ctl_reader r;
	char line[CTL_LINE_MAX];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctl_reader_init(&r, sv[0]);
	ck_assert_int_eq(ctl_reader_fill(&r), -EAGAIN);
	ck_assert_int_eq(write(sv[1], "sta", 3), 3);
	ck_assert_int_eq(ctl_reader_fill(&r), 3);
	ck_assert_int_eq(ctl_reader_next(&r, line, sizeof(line)), 0);
	ck_assert_int_eq(write(sv[1], "rt\ndump\nqu", 10), 10);
	ck_assert_int_gt(ctl_reader_fill(&r), 0);
	ck_assert_int_eq(ctl_reader_next(&r, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "start");
	ck_assert_int_eq(ctl_reader_next(&r, line, sizeof(line)), 1);
	ck_assert_str_eq(line, "dump");
	ck_assert_int_eq(ctl_reader_next(&r, line, sizeof(line)), 0);
	close(sv[1]);
	ck_assert_int_eq(ctl_reader_fill(&r), 0);
	ck_assert(r.eof);
	close(sv[0]);
}
END_TEST

START_TEST(test_reader_overlong_line_dropped)
{
	struct ctl_reader r;
	char line[CTL_LINE_MAX], junk[CTL_LINE_MAX + 100];
	int sv[2], got = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ctl_reader_init(&r, sv[0]);
	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(write(sv[1], junk, sizeof(junk)), (int)sizeof(junk));
	ck_assert_int_eq(write(sv[1], "\nquit\n", 6), 6);
	for (int i = 0; i < 10 && got != 1; i++) {
		int n;

		ctl_reader_fill(&r);
		while ((n = ctl_reader_next(&r, line, sizeof(line))) != 0) {
			if (n == -E2BIG) {
				ck_assert_int_eq(got, 0);
				got = -1;
			} else {
				ck_assert_int_eq(got, -1);
				ck_assert_str_eq(line, "quit");
				got = 1;
				break;
			}
		}
	}
	ck_assert_int_eq(got, 1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static void read_answer(int fd, char *buf, size_t cap)
{
	ssize_t n;

	ck_assert_int_eq(chan_wait_readable(fd, chan_deadline(1000)), 1);
	n = read(fd, buf, cap - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

START_TEST(test_answers)
{
	char buf[256];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(ctl_send_ok(sv[0], NULL, chan_deadline(100)), 0);
	read_answer(sv[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "ok\n");
	ck_assert_int_eq(ctl_send_ok(sv[0], "{\"a\":1}", chan_deadline(100)), 0);
	read_answer(sv[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "ok {\"a\":1}\n");
	ck_assert_int_eq(ctl_send_err(sv[0], "unknown command 'x'",
				      chan_deadline(100)), 0);
	read_answer(sv[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "err unknown command 'x'\n");
	ck_assert_int_eq(ctl_send_err(sv[0], "", chan_deadline(100)), 0);
	read_answer(sv[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "err failed\n");
	close(sv[1]);
	ck_assert_int_lt(ctl_send_ok(sv[0], NULL, chan_deadline(100)), 0);
	close(sv[0]);
}
END_TEST
