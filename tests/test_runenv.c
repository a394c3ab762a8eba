/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/runenv: a run's settings, checked once
 * before any case; the private temp dir and the --listen socket. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runenv.h"
#include "vhutest.h"

static struct runenv env_with(const char *cmd)
{
	struct runenv e = { .role = SCRIPT_ROLE_BACKEND, .timeout_mult = 1.0,
			    .target_cmd = cmd, .cancel_fd = -1 };
	return e;
}

TEST_CASE("settings");

START_TEST(bad_command_is_refused_before_any_case)
{
	struct runenv e = { .role = SCRIPT_ROLE_BACKEND, .timeout_mult = 1.0,
				.target_cmd = "x '{fd}", .cancel_fd = -1 };
	char err[256] = "";

	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--target-cmd"));
	ck_assert_ptr_nonnull(strstr(err, "unterminated ' quote"));
	ck_assert_ptr_null(strchr(err, '\n'));
	e.target_cmd = "x --fd={fd} \"a";
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unterminated \" quote"));
}
END_TEST

/* Exactly one way to reach the target, and it must say where the
 * connection goes. */
START_TEST(one_way_to_the_target)
{
	struct runenv e = env_with(NULL);
	char err[256] = "";

	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "exactly one of"));
	e = env_with("prog --no-connection");
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "{fd} or {socket}"));
	e = env_with("prog --fd={fd}");
	e.connect_path = "/tmp/x.sock";
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(multiplier_and_bit_ranges)
{
	struct runenv e = env_with("prog --fd={fd}");
	char err[256] = "";

	e.timeout_mult = 0;
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--timeout-multiplier"));
	e.timeout_mult = 1001;
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	e.timeout_mult = 1.0;
	e.shmem_bit = 64;
	ck_assert_int_eq(runenv_open(&e, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--shmem-bit"));
}
END_TEST

TEST_CASE("resources");

/* open makes a private temp dir (and the trace dir); close removes the
 * temp dir. */
START_TEST(temp_dir_made_and_removed)
{
	struct runenv e = env_with("prog --fd={fd}");
	char err[256] = "", traces[300];
	struct stat st;

	vt_tmp_path(traces, sizeof(traces), "runenv-traces");
	e.trace_dir = traces;
	ck_assert_msg(runenv_open(&e, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(e.tmpdir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(stat(traces, &st), 0);
	ck_assert_int_eq(e.listen_fd, -1);
	{
		char dir[256];

		strcpy(dir, e.tmpdir);
		runenv_close(&e);
		ck_assert_int_ne(stat(dir, &st), 0);
	}
	ck_assert_int_eq(rmdir(traces), 0);
}
END_TEST

/* --listen: a socket that accepts, removed at close. */
START_TEST(listen_socket_accepts_and_is_removed)
{
	struct runenv e = env_with(NULL);
	char err[256] = "", path[100];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int c;

	vt_tmp_path(path, sizeof(path), "runenv.sock");
	e.listen_path = path;
	ck_assert_msg(runenv_open(&e, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_ge(e.listen_fd, 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(c, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	close(c);
	runenv_close(&e);
	ck_assert_int_eq(e.listen_fd, -1);
	ck_assert_int_ne(stat(path, &st), 0);
}
END_TEST

/* The hook counts its calls in the int that stands for the run. */
static void count_drop(struct runenv *e)
{
	(*(int *)(void *)e->ahead)++;
	e->ahead = NULL;
}

/* close stops a target launched ahead through the hook launch set. */
START_TEST(close_drops_what_was_launched_ahead)
{
	struct runenv e = env_with("prog --fd={fd}");
	char err[256] = "";
	int dropped = 0;

	ck_assert_msg(runenv_open(&e, err, sizeof(err)) == 0, "%s", err);
	e.ahead = (struct run *)(void *)&dropped; /* only the hook looks at it */
	e.drop_ahead = count_drop;
	runenv_close(&e);
	ck_assert_int_eq(dropped, 1);
	ck_assert_ptr_null(e.ahead);
}
END_TEST
