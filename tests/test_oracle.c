/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/oracle: /proc/PID/maps and /proc/PID/fd. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oracle.h"
#include "vhutest.h"

static const char sample[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234567                    /usr/bin/cat\n"
	"7f1234560000-7f1234570000 rw-s 00001000 00:01 2048                       /memfd:vhu-1-a (deleted)\n"
	"7f1234580000-7f1234581000 r--s 00000000 00:01 2049                       /memfd:vhu-1-b (deleted)\n"
	"7f1234590000-7f1234592000 r--s 00004000 00:01 2048                       /memfd:vhu-1-a (deleted)\n"
	"7f12345a0000-7f12345a1000 rw-s 00000000 103:02 77                        /tmp/my file (deleted)\n"
	"7ffd12345000-7ffd12366000 rw-p 00000000 00:00 0                          [stack]\n"
	"7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

TEST_CASE("parse");

START_TEST(parse_a_file_mapping)
{
	struct oracle_map m;
	const char *l = "7f1234560000-7f1234570000 rw-s 00001000 00:01 2048    /memfd:vhu-1-a (deleted)\n";

	ck_assert_int_eq(oracle_parse_maps_line(l, strlen(l), &m), 0);
	ck_assert_uint_eq(m.start, 0x7f1234560000ull);
	ck_assert_uint_eq(m.end, 0x7f1234570000ull);
	ck_assert_str_eq(m.perms, "rw-s");
	ck_assert_uint_eq(m.offset, 0x1000);
	ck_assert_uint_eq(m.dev_major, 0);
	ck_assert_uint_eq(m.dev_minor, 1);
	ck_assert_uint_eq(m.inode, 2048);
	ck_assert_str_eq(m.path, "/memfd:vhu-1-a (deleted)");
}
END_TEST

START_TEST(parse_anonymous_and_odd_lines)
{
	struct oracle_map m;
	const char *anon = "7f0000000000-7f0000001000 ---p 00000000 00:00 0 ";
	const char *bare = "7f0000000000-7f0000001000 ---p 00000000 00:00 0";
	const char *dev = "7f12345a0000-7f12345a1000 rw-s 00000000 103:02 77  /tmp/my file (deleted)";
	const char *top = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]";

	ck_assert_int_eq(oracle_parse_maps_line(anon, strlen(anon), &m), 0);
	ck_assert_str_eq(m.path, "");
	ck_assert_str_eq(m.perms, "---p");
	ck_assert_int_eq(oracle_parse_maps_line(bare, strlen(bare), &m), 0);
	ck_assert_str_eq(m.path, "");
	ck_assert_int_eq(oracle_parse_maps_line(dev, strlen(dev), &m), 0);
	ck_assert_uint_eq(m.dev_major, 0x103);
	ck_assert_uint_eq(m.dev_minor, 2);
	ck_assert_str_eq(m.path, "/tmp/my file (deleted)");
	ck_assert_int_eq(oracle_parse_maps_line(top, strlen(top), &m), 0);
	ck_assert_uint_eq(m.end, 0xffffffffff601000ull);
	ck_assert_str_eq(m.path, "[vsyscall]");
}
END_TEST

START_TEST(parse_rejects_malformed)
{
	static const char *const bad[] = {
		"",
		"7f00-7f10",
		"7f00-7f10 rw-s",
		"7f00 rw-s 0 00:00 0",
		"7f10-7f00 rw-s 00000000 00:00 0",        /* end before start */
		"7f00-7f10 rw 00000000 00:00 0",
		"7f00-7f10 rw-s zz 00:00 0",
		"7f00-7f10 rw-s 00000000 0000 0",
		"7f00-7f10 rw-s 00000000 00:00 x",
		"7f00-7f10 rw-s 00000000 00:00 12x /path",
		"g000-7f10 rw-s 00000000 00:00 0",
		"10000000000000000-10000000000000001 rw-s 0 00:00 0", /* 65 bits */
	};
	struct oracle_map m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(oracle_parse_maps_line(bad[i], strlen(bad[i]), &m) == -EINVAL,
			      "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(select_by_path_and_filters)
{
	struct oracle_filter f = { .path = "/memfd:vhu-1-a (deleted)" };
	struct oracle_map out[4];

	ck_assert_int_eq(oracle_maps_select(sample, &f, out, 4), 2);
	ck_assert_uint_eq(out[0].offset, 0x1000);
	ck_assert_uint_eq(out[1].offset, 0x4000);
	f.perms = "r--s";
	ck_assert_int_eq(oracle_maps_select(sample, &f, out, 4), 1);
	ck_assert_uint_eq(out[0].start, 0x7f1234590000ull);
	f.perms = NULL;
	f.has_len = true;
	f.len = 0x10000;
	ck_assert_int_eq(oracle_maps_select(sample, &f, NULL, 0), 1);
	f.has_offset = true;
	f.offset = 0x4000;
	ck_assert_int_eq(oracle_maps_select(sample, &f, NULL, 0), 0);
	f.path = "/memfd:vhu-1-z (deleted)";
	f.has_len = f.has_offset = false;
	ck_assert_int_eq(oracle_maps_select(sample, &f, NULL, 0), 0);
	/* A name that is a prefix of another does not match it. */
	f.path = "/memfd:vhu-1-a";
	ck_assert_int_eq(oracle_maps_select(sample, &f, NULL, 0), 0);
	f.path = "/tmp/my file (deleted)";
	ck_assert_int_eq(oracle_maps_select(sample, &f, NULL, 0), 1);
}
END_TEST

START_TEST(count_shared_and_bad_text)
{
	struct oracle_filter f = { .path = "x" };

	ck_assert_int_eq(oracle_maps_count_shared(sample), 4);
	ck_assert_int_eq(oracle_maps_count_shared(""), 0);
	ck_assert_int_eq(oracle_maps_count_shared("junk\n"), -EINVAL);
	ck_assert_int_eq(oracle_maps_select("7f00-7f10 rw-s 0 00:00 0 x\nbad\n", &f,
					    NULL, 0), -EINVAL);
	/* No newline at the end is fine. */
	ck_assert_int_eq(oracle_maps_count_shared("7f00-7f10 rw-s 0 00:00 0 x"), 1);
}
END_TEST

START_TEST(memfd_names)
{
	char buf[64];

	oracle_memfd_path("vhu-7-a", buf, sizeof(buf));
	ck_assert_str_eq(buf, "/memfd:vhu-7-a (deleted)");
	ck_assert(oracle_memfd_name("/memfd:vhu-7-a (deleted)", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "vhu-7-a");
	ck_assert(oracle_memfd_name("/memfd:x", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "x");
	ck_assert(!oracle_memfd_name("/tmp/f (deleted)", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "");
	ck_assert(!oracle_memfd_name("pipe:[123]", buf, sizeof(buf)));
}
END_TEST

TEST_CASE("proc");

/* This process, with a real memfd mapped read-only and read-write. */
START_TEST(real_memfd_mappings)
{
	int fd = memfd_create("vhu-oracle-test", MFD_CLOEXEC), err = 0;
	char link[256], *text;
	struct oracle_filter f = { .path = link };
	struct oracle_map m[4];
	void *ro, *rw;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 0x10000), 0);
	ck_assert_int_eq(oracle_self_link(fd, link, sizeof(link)), 0);
	ck_assert_str_eq(link, "/memfd:vhu-oracle-test (deleted)");
	ro = mmap(NULL, 0x4000, PROT_READ, MAP_SHARED, fd, 0);
	rw = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0x8000);
	ck_assert(ro != MAP_FAILED && rw != MAP_FAILED);

	text = oracle_read_maps(getpid(), &err);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(oracle_maps_select(text, &f, m, 4), 2);
	f.perms = "r--s";
	ck_assert_int_eq(oracle_maps_select(text, &f, m, 4), 1);
	ck_assert_uint_eq(m[0].start, (uint64_t)(uintptr_t)ro);
	ck_assert_uint_eq(m[0].end - m[0].start, 0x4000);
	ck_assert_uint_eq(m[0].offset, 0);
	f.perms = "rw-s";
	ck_assert_int_eq(oracle_maps_select(text, &f, m, 4), 1);
	ck_assert_uint_eq(m[0].start, (uint64_t)(uintptr_t)rw);
	ck_assert_uint_eq(m[0].offset, 0x8000);
	ck_assert_int_ge(oracle_maps_count_shared(text), 2);
	free(text);

	munmap(ro, 0x4000);
	munmap(rw, 0x2000);
	text = oracle_read_maps(getpid(), &err);
	f.perms = NULL;
	ck_assert_int_eq(oracle_maps_select(text, &f, NULL, 0), 0);
	free(text);
	close(fd);
}
END_TEST

START_TEST(real_fd_counts)
{
	int fd = memfd_create("vhu-oracle-fds", MFD_CLOEXEC), fd2;
	unsigned match, total, total0;
	char link[256];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(oracle_self_link(fd, link, sizeof(link)), 0);
	ck_assert_int_eq(oracle_scan_fds(getpid(), link, &match, &total0), 0);
	ck_assert_uint_eq(match, 1);
	fd2 = dup(fd);
	ck_assert_int_eq(oracle_scan_fds(getpid(), link, &match, &total), 0);
	ck_assert_uint_eq(match, 2);
	ck_assert_uint_eq(total, total0 + 1);
	close(fd2);
	close(fd);
	ck_assert_int_eq(oracle_scan_fds(getpid(), link, &match, &total), 0);
	ck_assert_uint_eq(match, 0);
	ck_assert_uint_eq(total, total0 - 1);
	ck_assert_int_eq(oracle_scan_fds(getpid(), NULL, &match, &total), 0);
	ck_assert_uint_eq(match, 0);
	ck_assert_int_lt(oracle_scan_fds(0x3fffffff, link, &match, &total), 0);
	ck_assert_int_eq(oracle_self_link(-1, link, sizeof(link)), -ENOENT);
}
END_TEST

START_TEST(read_maps_of_missing_process)
{
	int err = 0;

	ck_assert_ptr_null(oracle_read_maps(0x3fffffff, &err));
	ck_assert_int_eq(err, -ENOENT);
}
END_TEST
