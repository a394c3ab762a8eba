/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refbe: the reference back-end's state
 * (regions, dump), its faults across its modules, and the vhu-ref-backend
 * program. The rig is refberig.h; the main channel, the map commands and
 * the MAP/UNMAP requests have their own files (test_refbemain,
 * test_refbemap, test_refbesend).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "fdpool.h"
#include "proto.h"
#include "refbe.h"
#include "reffe.h"
#include "reffemain.h"
#include "refbemain.h"
#include "refbemap.h"
#include "refbesend.h"
#include "refshmem.h"
#include "refberig.h"
#include "vhutest.h"

/* ------------------------------------------------------------------ */
/* main channel */

/* ------------------------------------------------------------------ */
/* control commands: parsing and refusals */

TEST_CASE("control");

START_TEST(test_parse_regions)
{
	struct refbe_config cfg;

	refbe_config_default(&cfg);
	ck_assert_uint_eq(cfg.sizes[0], 0x100000);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "64k,0,2g"), 0);
	ck_assert_uint_eq(cfg.sizes[0], 0x10000);
	ck_assert_uint_eq(cfg.sizes[1], 0);
	ck_assert_uint_eq(cfg.sizes[2], UINT64_C(0x80000000));
	ck_assert_uint_eq(cfg.sizes[3], 0);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "1M,,1M"), -EINVAL);
	ck_assert_int_eq(refbe_parse_regions(&cfg, "lots"), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* MAP / UNMAP messages and replies */

TEST_CASE("programs");

START_TEST(test_dump_json)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x1000, 0x1000, true);
	char buf[2048];

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_int_gt(refbe_dump(x->be, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"shm_offset\":4096,\"len\":4096"));
	ck_assert_ptr_nonnull(strstr(buf, "\"state\":\"live\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"fds\":1}"));
	ck_assert_int_gt(refbe_dump_config(x->be, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "{\"regions\":[{\"shmid\":0,\"size\":1048576},"
			      "{\"shmid\":1,\"size\":65536}],\"calls\":0}");
	bx_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* each back-end fault changes behaviour */

TEST_CASE("faults");

START_TEST(test_fault_map_without_shmem)
{
	struct bx *x = bx_setup("be_map_without_shmem", all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	chan_msg_release(&m);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_no_wait_for_reply)
{
	struct bx *x = bx_new("be_no_wait_for_reply");
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;

	submit(x, &a, true);
	submit(x, &b, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	chan_msg_release(&m);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert(!refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_fault_fd_on_unmap)
{
	struct bx *x = bx_new("be_fd_on_unmap");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_UNMAP);
	ck_assert_uint_eq(m.nfds, 1);
	chan_msg_release(&m);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_no_fd_on_map)
{
	struct bx *x = bx_new("be_no_fd_on_map");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.nfds, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_nonzero_padding_and_unknown_flags)
{
	static const char *const faults[] = { "be_nonzero_padding",
					      "be_unknown_flags" };

	for (unsigned i = 0; i < 2; i++) {
		struct bx *x = bx_new(faults[i]);
		struct refbe_map_req r = mreq(0, 0, 0x1000, false);
		struct proto_mmap mm;
		struct chan_msg m;

		submit(x, &r, true);
		ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
		ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len,
						   &mm), 0);
		if (i == 0)
			ck_assert_uint_ne(mm.padding[0], 0);
		else
			ck_assert_uint_ne(mm.flags & ~(uint64_t)PROTO_MMAP_F_KNOWN,
					  0);
		chan_msg_release(&m);
		bx_free(x);
	}
}
END_TEST

START_TEST(test_fault_map_outside_region)
{
	struct bx *x = bx_new("be_map_outside_region");
	struct refbe_map_req r = mreq(1, 0xf000, 0x2000, true);
	char err[160];

	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_map_overlap_own)
{
	struct bx *x = bx_new("be_map_overlap_own");
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	char err[160];

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	r = mreq(0, 0x3000, 0x1000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_eof_as_success)
{
	struct bx *x = bx_new("be_eof_as_success");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	char err[160];

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	chan_close(&x->bch);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 1);
	/* It believes it holds the mapping and the channel still works. */
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_abort_short_reply)
{
	struct bx *x = bx_new("be_abort_short_reply");
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 4, NULL, 0);
	ck_assert(child_crashes(x));
	bx_free(x);
}
END_TEST

START_TEST(test_fault_config_not_page_multiple)
{
	struct bx *x = bx_new("be_config_not_page_multiple");
	struct proto_shmem_config c;

	get_config(x, &c);
	ck_assert_uint_ne(c.memory_sizes[0] % 4096, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_fault_config_unstable)
{
	struct bx *x = bx_new("be_config_unstable");
	struct proto_shmem_config a, b;

	get_config(x, &a);
	get_config(x, &b);
	ck_assert_uint_ne(a.memory_sizes[0], b.memory_sizes[0]);
	ck_assert_uint_eq(a.memory_sizes[0] % 4096, 0);
	bx_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the program: SIGTERM ends it promptly wherever it waits */

/* Generous, and far below the --reply-timeout the tests give. */
#define PROMPT_EXIT_MS 2000

/* The built program next to this test: <build>/tests/test_refbe ->
 * <build>/targets/NAME. */
static void program_path(const char *name, char *out, size_t cap)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	for (int i = 0; i < 2; i++) {
		slash = strrchr(self, '/');
		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
	}
	snprintf(out, cap, "%s/targets/%s", self, name);
	ck_assert_msg(access(out, X_OK) == 0, "%s not built", out);
}

/* argv[0] is the path; the fds in keep (close-on-exec here) are
 * inherited by the program, no other. */
static pid_t spawn_program(char *const argv[], const int *keep,
			   unsigned nkeep)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Its log lines would only clutter the test output. */
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		for (unsigned i = 0; i < nkeep; i++)
			fcntl(keep[i], F_SETFD, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* SIGTERM, then ms until it exited (status in *st), or -1 if it still
 * runs after PROMPT_EXIT_MS (it is killed then). */
static int64_t term_and_time(pid_t pid, int *st)
{
	int64_t t0 = chan_now_ms();

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	while (chan_now_ms() - t0 < PROMPT_EXIT_MS) {
		if (waitpid(pid, st, WNOHANG) == pid)
			return chan_now_ms() - t0;
		poll(NULL, 0, 5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, st, 0);
	return -1;
}

/* Drives the program as a front-end (the reference one, in process) up
 * to a SHMEM_MAP whose reply the program now awaits. */
static void program_awaits_map_reply(struct reffe *fe, int main_fd, int ctl)
{
	struct reffe_config cfg;
	struct chan_msg m;
	char err[160], ans[64];
	static const char cmd[] = "map shmid=0 shm_offset=0 len=0x1000\n";
	ssize_t n;

	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, main_fd);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_int_eq(write(ctl, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	ck_assert_int_eq(chan_wait_readable(ctl, chan_deadline(2000)), 1);
	n = read(ctl, ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_str_eq(ans, "ok\n");
	ck_assert_int_eq(chan_recv(&fe->backend, &m, chan_deadline(2000)),
			 CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	chan_msg_release(&m);
}

/* The program awaits a MAP reply that never comes (0), has 6 bytes of
 * that reply (1), or listens for a front-end that never comes (2); the
 * reply and accept deadlines are 30 s. */
TEST_CASE("programs");

START_LOOP_TEST(test_program_sigterm_while_waiting, 0, 3)
{
	char path[4200], a1[96], a2[64];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000",
			 "--accept-timeout=30000", NULL };
	struct reffe *fe = calloc(1, sizeof(*fe));
	int sv[2], cv[2], st;
	int64_t ms;
	pid_t pid;

	program_path("vhu-ref-backend", path, sizeof(path));
	if (_i == 2) {
		snprintf(a1, sizeof(a1),
			 "--socket-path=/tmp/vhu-refbe-nobody-%d.sock",
			 (int)getpid());
		snprintf(a2, sizeof(a2), "--verbose");
		pid = spawn_program(argv, NULL, 0);
		poll(NULL, 0, 200);
	} else {
		ck_assert_int_eq(chan_socketpair(sv), 0);
		ck_assert_int_eq(chan_socketpair(cv), 0);
		snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
		snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
		pid = spawn_program(argv, (int[]){ sv[1], cv[1] }, 2);
		close(sv[1]);
		close(cv[1]);
		program_awaits_map_reply(fe, sv[0], cv[0]);
		if (_i == 1)
			ck_assert_int_eq(chan_send_raw(&fe->backend,
						       "\x09\0\0\0\x05\0", 6,
						       NULL, 0,
						       chan_deadline(100)),
					 CHAN_OK);
		poll(NULL, 0, 100);
	}
	ms = term_and_time(pid, &st);
	ck_assert_msg(ms >= 0, "still running %d ms after SIGTERM",
		      PROMPT_EXIT_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "status 0x%x after SIGTERM", st);
	if (_i != 2) {
		reffe_free(fe);
		close(cv[0]);
	}
	free(fe);
}
END_TEST

/* Six bytes of a main-channel request, then nothing: the program's loop
 * still answers its control channel at once (it used to sit in the read
 * for --reply-timeout). */
START_TEST(test_program_loop_not_blocked_by_half_message)
{
	char path[4200], a1[32], a2[32], ans[512];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000", NULL };
	struct reffe *fe = calloc(1, sizeof(*fe));
	struct reffe_config cfg;
	int sv[2], cv[2], st;
	char err[160];
	ssize_t n;
	pid_t pid;

	program_path("vhu-ref-backend", path, sizeof(path));
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_socketpair(cv), 0);
	snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
	snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
	pid = spawn_program(argv, (int[]){ sv[1], cv[1] }, 2);
	close(sv[1]);
	close(cv[1]);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_int_eq(chan_send_raw(&fe->main, "\x01\0\0\0\x01\0", 6,
				       NULL, 0, chan_deadline(100)), CHAN_OK);
	poll(NULL, 0, 20);
	ck_assert_int_eq(write(cv[0], "dump\n", 5), 5);
	ck_assert_msg(chan_wait_readable(cv[0], chan_deadline(500)) == 1,
		      "no answer to dump within 500 ms");
	n = read(cv[0], ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_ptr_nonnull(strstr(ans, "ok {"));
	ck_assert_int_ge(term_and_time(pid, &st), 0);
	reffe_free(fe);
	free(fe);
	close(cv[0]);
}
END_TEST
