/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/target: command templates, launching,
 * supervision and the end of the whole process group. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "target.h"
#include "vhutest.h"

static const struct target_subst subst = { "7", "/tmp/s.sock", "9", "22" };

static struct target_argv *split_ok(const char *tmpl, struct target_argv *a)
{
	char err[128];

	ck_assert_msg(target_split(tmpl, &subst, a, err, sizeof(err)) == 0,
		      "%s: %s", tmpl, err);
	return a;
}

TEST_CASE("split");

START_TEST(split_words_and_placeholders)
{
	struct target_argv buf;
	struct target_argv *a = split_ok("  prog --fd={fd} --socket-path={socket}\t"
					 "--control-fd={control} --shmem-bit={shmem_bit} ",
					 &buf);

	ck_assert_uint_eq(a->argc, 5);
	ck_assert_str_eq(a->argv[0], "prog");
	ck_assert_str_eq(a->argv[1], "--fd=7");
	ck_assert_str_eq(a->argv[2], "--socket-path=/tmp/s.sock");
	ck_assert_str_eq(a->argv[3], "--control-fd=9");
	ck_assert_str_eq(a->argv[4], "--shmem-bit=22");
	ck_assert_ptr_null(a->argv[5]);
}
END_TEST

START_TEST(split_quotes_and_escapes)
{
	struct target_argv buf;
	struct target_argv *a = split_ok("sh -c 'kill -SEGV $$' \"a b\"c '' x\\ y "
					 "\"q\\\"d\" '{fd}' {other}", &buf);

	ck_assert_uint_eq(a->argc, 9);
	ck_assert_str_eq(a->argv[2], "kill -SEGV $$");
	ck_assert_str_eq(a->argv[3], "a bc");
	ck_assert_str_eq(a->argv[4], "");
	ck_assert_str_eq(a->argv[5], "x y");
	ck_assert_str_eq(a->argv[6], "q\"d");
	/* Single quotes keep a placeholder literally; unknown ones stay. */
	ck_assert_str_eq(a->argv[7], "{fd}");
	ck_assert_str_eq(a->argv[8], "{other}");
}
END_TEST

START_TEST(split_unset_placeholder_stays)
{
	struct target_subst none = { 0 };
	struct target_argv a;
	char err[64];

	ck_assert_int_eq(target_split("p {fd}", &none, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.argv[1], "{fd}");
	ck_assert(target_cmd_has("p --fd={fd}", "{fd}"));
	ck_assert(!target_cmd_has("p --fd={fd}", "{control}"));
}
END_TEST

START_TEST(split_errors)
{
	struct target_argv a;
	char err[128], big[10000];

	ck_assert_int_eq(target_split("p 'open", &subst, &a, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unterminated"));
	ck_assert_int_eq(target_split("   ", &subst, &a, err, sizeof(err)), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(target_split(big, &subst, &a, err, sizeof(err)), -E2BIG);
	for (size_t i = 0; i < 200; i += 2) {
		big[i] = 'w';
		big[i + 1] = ' ';
	}
	big[200] = '\0';
	ck_assert_int_eq(target_split(big, &subst, &a, err, sizeof(err)), -E2BIG);
}
END_TEST

static void spawn_ok(struct target *t, const char *cmd, const int *keep,
		     unsigned nkeep, const char *log)
{
	struct target_argv a;
	char err[256];

	ck_assert_int_eq(target_split(cmd, &subst, &a, err, sizeof(err)), 0);
	ck_assert_msg(target_spawn(t, a.argv, keep, nkeep, log, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_gt(t->pid, 0);
}

TEST_CASE("process");

START_TEST(stop_ends_the_group_fast)
{
	struct target t;
	int64_t t0;

	ck_assert_int_eq(target_setup(), 0);
	spawn_ok(&t, "sleep 10", NULL, 0, NULL);
	ck_assert_int_eq(target_poll(&t), 0);
	ck_assert_int_eq(getpgid(t.pid), t.pid);
	t0 = chan_now_ms();
	target_stop(&t);
	ck_assert_int_lt(chan_now_ms() - t0, 150);
	ck_assert(t.ended && t.stopped);
	ck_assert_int_eq(t.signal, SIGTERM);
	ck_assert(target_killed_by_us(&t));
	ck_assert_int_eq(kill(-t.pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	target_stop(&t); /* idempotent */
}
END_TEST

START_TEST(stop_kills_what_ignores_sigterm)
{
	struct target t;
	int64_t t0;

	ck_assert_int_eq(target_setup(), 0);
	spawn_ok(&t, "sh -c 'trap \"\" TERM; echo ready; while :; do sleep 1; done'",
		 NULL, 0, NULL);
	/* Let the shell install its trap. */
	usleep(50 * 1000);
	t0 = chan_now_ms();
	target_stop(&t);
	ck_assert_int_ge(chan_now_ms() - t0, TARGET_STOP_GRACE_MS - 5);
	ck_assert_int_eq(t.signal, SIGKILL);
	ck_assert(target_killed_by_us(&t));
	ck_assert_int_eq(kill(-t.pid, 0), -1);
}
END_TEST

/* A target that joins our process group and ignores SIGTERM: a signal to
 * its own group no longer reaches it, one to its pid does. */
START_TEST(stop_reaches_a_target_that_left_its_group)
{
	char exe[512], cmd[600];
	struct target t;
	int64_t t0, deadline = chan_deadline(2000);

	ck_assert_int_eq(target_setup(), 0);
	vt_self_exe(exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "%s --child=pgid-escape", exe);
	spawn_ok(&t, cmd, NULL, 0, NULL);
	while (getpgid(t.pid) == t.pid && chan_now_ms() < deadline)
		usleep(1000);
	ck_assert_int_eq(getpgid(t.pid), getpgrp());
	t0 = chan_now_ms();
	target_stop(&t);
	ck_assert_int_lt(chan_now_ms() - t0, TARGET_STOP_GRACE_MS + 150);
	ck_assert(t.ended && t.stopped);
	ck_assert_int_eq(t.signal, SIGKILL);
	ck_assert(target_killed_by_us(&t));
	ck_assert_int_eq(kill(t.pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* A target that crashes on our SIGTERM died by its own signal. */
START_TEST(crash_during_the_stop_is_the_targets)
{
	struct target t;

	ck_assert_int_eq(target_setup(), 0);
	spawn_ok(&t, "sh -c 'trap \"kill -SEGV \\$\\$\" TERM; "
		 "while :; do sleep 0.01; done'", NULL, 0, NULL);
	usleep(50 * 1000);
	target_stop(&t);
	ck_assert(t.ended && t.sent_term);
	ck_assert_int_eq(t.signal, SIGSEGV);
	ck_assert(!target_killed_by_us(&t));
}
END_TEST

START_TEST(signal_is_recorded)
{
	struct target t;
	char buf[16];

	spawn_ok(&t, "sh -c 'kill -SEGV $$'", NULL, 0, NULL);
	ck_assert_int_eq(target_wait(&t, chan_deadline(5000)), 1);
	ck_assert(t.ended && !t.exited);
	ck_assert_int_eq(t.signal, SIGSEGV);
	ck_assert_str_eq(target_signal_name(t.signal, buf, sizeof(buf)), "SIGSEGV");
	ck_assert_str_eq(target_signal_name(63, buf, sizeof(buf)), "SIG63");
	target_stop(&t);
	ck_assert_int_eq(t.signal, SIGSEGV); /* the stop changes nothing */
	ck_assert(!t.sent_term && !target_killed_by_us(&t));
}
END_TEST

START_TEST(exit_code_is_recorded)
{
	struct target t;

	spawn_ok(&t, "sh -c 'exit 3'", NULL, 0, NULL);
	ck_assert_int_eq(target_wait(&t, chan_deadline(5000)), 1);
	ck_assert(t.exited);
	ck_assert_int_eq(t.exit_code, 3);
	ck_assert_int_eq(target_pollfd(&t), -1);
	target_stop(&t);
}
END_TEST

/* The grandchild holds the write end of our pipe: EOF on the read end
 * proves it died with the group. */
START_TEST(grandchild_dies_with_the_group)
{
	struct pollfd pfd;
	struct target t;
	char cmd[128];
	int p[2];

	ck_assert_int_eq(target_setup(), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(cmd, sizeof(cmd), "sh -c 'sleep 30 & exec sleep 31'");
	spawn_ok(&t, cmd, &p[1], 1, NULL);
	close(p[1]);
	usleep(50 * 1000);
	target_stop(&t);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
	ck_assert(pfd.revents & POLLHUP);
	ck_assert_int_eq(kill(-t.pid, 0), -1);
	close(p[0]);
}
END_TEST

START_TEST(only_kept_fds_are_inherited)
{
	char log[] = "/tmp/vhu-test-target-XXXXXX", buf[4096], cmd[160];
	int lfd = mkstemp(log), keep = dup(lfd), other = dup(lfd);
	struct target t;
	ssize_t n;

	ck_assert_int_ge(lfd, 0);
	fcntl(keep, F_SETFD, FD_CLOEXEC);
	/* Not close-on-exec, as if the harness had inherited it: still not
	 * the target's. */
	fcntl(other, F_SETFD, 0);
	snprintf(cmd, sizeof(cmd), "sh -c 'echo to-stderr >&2; echo to-stdout; "
		 "[ -e /proc/self/fd/%d ] && echo has-keep; "
		 "[ -e /proc/self/fd/%d ] && echo has-other; exit 0'", keep, other);
	spawn_ok(&t, cmd, &keep, 1, log);
	ck_assert_int_eq(target_wait(&t, chan_deadline(5000)), 1);
	target_stop(&t);
	n = pread(lfd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "to-stderr"));
	ck_assert_ptr_nonnull(strstr(buf, "to-stdout"));
	ck_assert_ptr_nonnull(strstr(buf, "has-keep"));
	ck_assert_ptr_null(strstr(buf, "has-other"));
	/* Still close-on-exec in the harness. */
	ck_assert_int_eq(fcntl(keep, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(keep);
	close(other);
	close(lfd);
	unlink(log);
}
END_TEST

START_TEST(missing_program_is_an_error)
{
	char *argv[] = { "/nonexistent/vhu-target", NULL };
	struct target t;
	char err[256];

	ck_assert_int_eq(target_spawn(&t, argv, NULL, 0, NULL, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/vhu-target"));
	ck_assert_int_eq(t.pid, 0);
	target_stop(&t);
	ck_assert_int_eq(target_poll(&t), 0);
}
END_TEST

/* The harness dies: PR_SET_PDEATHSIG takes the target with it. */
START_TEST(target_dies_with_its_parent)
{
	int p[2], status;
	pid_t mid, tpid = 0;
	int64_t deadline;

	ck_assert_int_eq(target_setup(), 0);
	ck_assert_int_eq(pipe(p), 0);
	mid = fork();
	if (mid == 0) {
		struct target t;
		char *argv[] = { "sleep", "30", NULL };
		char err[128];

		if (target_spawn(&t, argv, NULL, 0, NULL, err, sizeof(err)) < 0)
			_exit(1);
		if (write(p[1], &t.pid, sizeof(t.pid)) != sizeof(t.pid))
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &tpid, sizeof(tpid)), sizeof(tpid));
	ck_assert_int_eq(waitpid(mid, &status, 0), mid);
	/* We are the subreaper: the orphan is ours to reap. */
	deadline = chan_deadline(2000);
	while (waitpid(tpid, &status, WNOHANG) == 0 && chan_now_ms() < deadline)
		usleep(1000);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
}
END_TEST

/* Re-run as a hostile target: --child=pgid-escape joins its parent's
 * process group, ignores SIGTERM and waits. */
static int child_main(const char *mode)
{
	signal(SIGTERM, SIG_IGN);
	if (strcmp(mode, "pgid-escape") == 0 &&
	    setpgid(0, getpgid(getppid())) < 0)
		return 3;
	for (;;)
		pause();
}

/* Re-run as a child of the process tests: --child=WHAT. */
static int as_child(int argc, char **argv)
{
	if (argc == 2 && strncmp(argv[1], "--child=", 8) == 0)
		return child_main(argv[1] + 8);
	return -1;
}
TEST_PRE_MAIN(as_child);
