/* SPDX-License-Identifier: MIT */
/* Unit tests for targets/ref/refsys: the reference programs' fd and log
 * helpers, on real fds. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdpool.h"
#include "refsys.h"
#include "vhutest.h"

TEST_CASE("refsys");

START_TEST(page_size_is_the_systems)
{
	ck_assert_uint_eq(refsys_page_size(), (uint64_t)sysconf(_SC_PAGESIZE));
}
END_TEST

START_TEST(close_fd_closes_once)
{
	int before = fdpool_count_open_fds();
	int fd = vt_memfd("vhu-test-refsys", 0, 0);

	refsys_close_fd(&fd);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	refsys_close_fd(&fd);
	ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(dup_is_cloexec_and_above_stdio)
{
	int fd = vt_memfd("vhu-test-refsys", 4096, 0), d = refsys_dup_cloexec(fd);

	ck_assert_int_ge(d, 3);
	ck_assert_int_ne(d, fd);
	ck_assert_int_eq(fcntl(d, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(d);
	close(fd);
	ck_assert_int_eq(refsys_dup_cloexec(fd), -EBADF);
}
END_TEST

static void keep(void *opaque, const char *msg)
{
	snprintf(opaque, 64, "%s", msg);
}

static void log_it(void (*log)(void *, const char *), void *opaque,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void log_it(void (*log)(void *, const char *), void *opaque,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(log, opaque, fmt, ap);
	va_end(ap);
}

START_TEST(vlog_formats_for_the_callback)
{
	char got[64] = "";

	log_it(keep, got, "map %u at 0x%x", 2u, 0x1000u);
	ck_assert_str_eq(got, "map 2 at 0x1000");
	log_it(NULL, got, "ignored %d", 1);
	ck_assert_str_eq(got, "map 2 at 0x1000");
}
END_TEST
