/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/launch: the start of a case with real
 * processes. The target is /bin/sh, or this program re-run with
 * --connect PATH (a target that connects to the harness's {socket}); the
 * harness attaches to a socket the test listens on for --connect.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch.h"
#include "vhurun.h"
#include "vhutest.h"

#define HDR_BE "id t\ntitle t\ntarget frontend\nrule r\nlevel MUST\n"

/* A case ready for launch_setup: its own temp dir; the session vt_run
 * made is dropped, since launch_setup makes the case's own. */
static struct vt_run *prepared(const char *cmd)
{
	struct vt_run *t = vt_run_case(HDR_BE "handshake regions=64k\n");

	sess_free(&t->x.s);
	sess_init(&t->x.s, t->c.role, -1, -1, -1, -1, NULL, NULL);
	vt_tmp_dir(t->env.tmpdir, sizeof(t->env.tmpdir));
	t->env.target_cmd = cmd;
	return t;
}

static void finish(struct vt_run *t)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", t->env.tmpdir);
	if (t->x.pool_ready)
		fdpool_free(&t->x.pool);
	if (t->x.sock_listen_fd >= 0)
		close(t->x.sock_listen_fd);
	vt_run_free(t);
	vt_rm_tree(dir);
}

TEST_CASE("launch", 20);

/* {fd}: the target gets its end of a socketpair; what it writes there
 * arrives on the session's main channel. */
START_TEST(fd_target_writes_on_the_main_channel)
{
	struct vt_run *t = prepared("/bin/sh -c 'printf hello >&$0; exec sleep 10' {fd}");
	char got[16];

	ck_assert(launch_setup(&t->x, chan_now_ms()));
	ck_assert_int_gt(t->x.pid, 0);
	ck_assert_int_eq(t->x.pid, t->x.tgt.pid);
	ck_assert_ptr_eq(t->x.s.tgt, &t->x.tgt);
	ck_assert_uint_eq(vt_read_some(t->x.s.ch[SCRIPT_MAIN].fd, got, sizeof(got)), 5);
	ck_assert_str_eq(got, "hello");
	/* The back-end's first offer is the case's first handshake's. */
	ck_assert_uint_eq(t->x.s.be.offer.cfg.memory_sizes[0], 0x10000);
	ck_assert_int_eq(t->x.s.case_deadline, t->x.s.t0 + 5000);
	finish(t);
}
END_TEST

/* {socket}: as back-end the harness listens; the target connects. */
START_TEST(socket_target_connects_to_the_harness)
{
	char exe[512], cmd[700], got[16];
	struct vt_run *t;

	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --connect {socket}", exe);
	t = prepared(cmd);
	ck_assert(launch_setup(&t->x, chan_now_ms()));
	ck_assert_int_ge(t->x.sock_listen_fd, 0);
	ck_assert_ptr_nonnull(strstr(t->x.sock_path, t->env.tmpdir));
	ck_assert_uint_eq(vt_read_some(t->x.s.ch[SCRIPT_MAIN].fd, got, sizeof(got)), 5);
	ck_assert_str_eq(got, "hello");
	unlink(t->x.sock_path);
	finish(t);
}
END_TEST

/* A target that exits before it connects fails the case at its level. */
START_TEST(exit_before_connecting_fails)
{
	struct vt_run *t = prepared("/bin/sh -c 'exit 3' {socket}");

	ck_assert(!launch_setup(&t->x, chan_now_ms()));
	ck_assert(t->x.stop);
	ck_assert_uint_eq(t->r.nfailures, 1);
	ck_assert_str_eq(t->r.failures[0].observed, "the target exited with code 3 first");
	ck_assert_str_eq(t->r.failures[0].grade, "MUST");
	unlink(t->x.sock_path);
	finish(t);
}
END_TEST

START_TEST(missing_program_is_an_error)
{
	struct vt_run *t = prepared("/nonexistent/vhu-target {fd}");

	ck_assert(!launch_setup(&t->x, chan_now_ms()));
	ck_assert(t->x.aborted);
	ck_assert_int_eq(t->x.abort_verdict, RESULT_ERROR);
	ck_assert_ptr_nonnull(strstr(t->r.reason, "/nonexistent/vhu-target"));
	finish(t);
}
END_TEST

/* With a trace dir: the case's trace file and its target's stderr. */
START_TEST(trace_dir_gets_trace_and_stderr)
{
	struct vt_run *t = prepared("/bin/sh -c 'echo oops >&2; exec sleep 10' {fd}");
	char dir[256], stderr_path[300], trace_path[300];

	vt_tmp_dir(dir, sizeof(dir));
	t->env.trace_dir = dir;
	ck_assert(launch_setup(&t->x, chan_now_ms()));
	snprintf(trace_path, sizeof(trace_path), "%s/t.trace", dir);
	snprintf(stderr_path, sizeof(stderr_path), "%s/t.stderr", dir);
	ck_assert_str_eq(t->r.trace, trace_path);
	ck_assert_str_eq(t->x.stderr_path, stderr_path);
	ck_assert(t->x.keep_stderr);
	ck_assert_int_eq(access(trace_path, F_OK), 0);
	target_stop(&t->x.tgt);
	finish(t);
	vt_rm_tree(dir);
}
END_TEST

/* --connect: no process of ours; the harness connects to the target. */
START_TEST(attach_connects_to_a_running_target)
{
	struct vt_run *t = prepared(NULL);
	char path[300];
	int lfd, fd;

	snprintf(path, sizeof(path), "%s/target.sock", t->env.tmpdir);
	lfd = chan_listen(path);
	ck_assert_int_ge(lfd, 0);
	t->env.connect_path = path;
	t->env.target_pid = 4242;
	ck_assert(launch_setup(&t->x, chan_now_ms()));
	ck_assert_int_eq(t->x.pid, 4242);
	ck_assert_ptr_null(t->x.s.tgt);
	fd = chan_accept(lfd, chan_deadline(3000));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "hi", 2), 2);
	{
		char got[8];

		ck_assert_uint_eq(vt_read_some(t->x.s.ch[SCRIPT_MAIN].fd, got,
					       sizeof(got)), 2);
	}
	close(fd);
	close(lfd);
	unlink(path);
	finish(t);
}
END_TEST

/* Re-run as a target: --connect PATH sends "hello" and waits for the
 * harness to hang up. */
static int as_target(int argc, char **argv)
{
	struct pollfd p;
	char b;
	int fd;

	if (argc != 3 || strcmp(argv[1], "--connect") != 0)
		return -1;
	fd = chan_connect(argv[2], chan_deadline(5000));
	if (fd < 0 || write(fd, "hello", 5) != 5)
		return 1;
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, 10000) == 1 && read(fd, &b, 1) > 0)
		;
	return 0;
}
TEST_PRE_MAIN(as_target);
