/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/reffe: the reference front-end's state (its
 * mappings dropped, kept, dumped), its faults across its modules, and the
 * vhu-ref-frontend program. The rig is reffefx.h; the main channel, the
 * announcements and the back-end channel have their own files
 * (test_reffemain, test_refannounce, test_refshmem).
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "fdpool.h"
#include "proto.h"
#include "refbe.h"
#include "reffe.h"
#include "reffemain.h"
#include "refannounce.h"
#include "refbemain.h"
#include "refshmem.h"
#include "reffefx.h"
#include "vhutest.h"

/* ------------------------------------------------------------------ */
/* MAP: accepted, and really mapped */

/* ------------------------------------------------------------------ */
/* MAP: overlap (half-open ranges) */

/* ------------------------------------------------------------------ */
/* MAP: bounds, len, shmid */

/* ------------------------------------------------------------------ */
/* MAP: the fd */

/* ------------------------------------------------------------------ */
/* framing and replies */

/* ------------------------------------------------------------------ */
/* UNMAP */

/* ------------------------------------------------------------------ */
/* lifecycle */

TEST_CASE("lifecycle");

START_TEST(test_reset_removes_all_and_closes_fds)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	char err[128], names[3][64];

	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(map(f, i == 2 ? 3 : 0, 0x1000 * (i + 1), 0x1000,
				     i & 1), 0);
		snprintf(names[i], sizeof(names[i]), "%s", f->last_name);
	}
	ck_assert_int_eq(fdpool_count_open_fds(), before + 3);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(maps_of(names[i], NULL, NULL), 0);
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 0);
	ck_assert(!f->fe->started);
	fx_free(f);
}
END_TEST

/* Maps shmid 0 pages 1..3 (the middle one read-only) and returns the
 * front-end's record of page 2, the memfd names in names. */
static struct reffe_mapping map_three(struct fx *f, char names[3][64])
{
	struct reffe_mapping keep = { .fd = -1 };

	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(map(f, 0, 0x1000 * (i + 1), 0x1000, i != 1), 0);
		snprintf(names[i], sizeof(names[i]), "%s", f->last_name);
	}
	for (unsigned i = 0; i < f->fe->nmaps; i++)
		if (f->fe->maps[i].shm_offset == 0x2000)
			keep = f->fe->maps[i];
	ck_assert_int_ge(keep.fd, 0);
	return keep;
}

START_TEST(test_drop_except_keeps_one_mapping_and_its_fd)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	struct reffe_mapping keep;
	char names[3][64], perms[5];

	keep = map_three(f, names);
	ck_assert(reffe_drop_mappings_except(f->fe, &keep));
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_uint_eq(f->fe->maps[0].shm_offset, 0x2000);
	ck_assert_int_eq(f->fe->maps[0].fd, keep.fd);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 1);
	ck_assert_int_eq(maps_of(names[0], NULL, NULL), 0);
	ck_assert_int_eq(maps_of(names[1], perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	ck_assert_int_eq(maps_of(names[2], NULL, NULL), 0);
	/* Its neighbours' pages are free for new mappings again. */
	ck_assert_int_eq(map(f, 0, 0x1000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_drop_except_drops_all_when_keep_is_gone)
{
	struct fx *f = fx_new("fe_reset_keeps_mappings");
	int before = fdpool_count_open_fds();
	struct reffe_mapping keep;
	char names[3][64];

	keep = map_three(f, names);
	keep.len = 0x2000; /* no longer what the front-end holds */
	ck_assert(!reffe_drop_mappings_except(f->fe, &keep));
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(maps_of(names[i], NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_many_cycles_no_leak)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();

	for (unsigned i = 0; i < 200; i++) {
		ck_assert_int_eq(map(f, 0, 0x10000, 0x3000, i & 1), 0);
		ck_assert_int_gt(map(f, 0, 0x11000, 0x1000, 1), 0);
		ck_assert_int_eq(unmap(f, 0, 0x10000, 0x3000), 0);
	}
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_dump_json)
{
	struct fx *f = fx_new(NULL);
	char buf[2048];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	ck_assert_int_gt(reffe_dump(f->fe, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"started\":true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"shm_offset\":8192,\"len\":4096"));
	ck_assert_ptr_nonnull(strstr(buf, "\"rw\":true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"fds\":1}"));
	ck_assert_ptr_nonnull(strstr(buf, "\"negotiated\":\"0x"));
	ck_assert_int_eq(reffe_dump(f->fe, buf, 20), -ENOSPC);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* GET_SHMEM_CONFIG replies */

/* ------------------------------------------------------------------ */
/* announcements on the main channel */

TEST_CASE("faults");

START_TEST(test_fault_memtable_overcommit)
{
	struct fx *f = fx_announcing("fe_memtable_overcommit");

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x7000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the handshake, against the reference back-end in a child */

/* ------------------------------------------------------------------ */
/* each front-end fault changes behaviour */

START_TEST(test_fault_no_overlap_check)
{
	struct fx *f = fx_with_live("fe_no_overlap_check");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x4000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_overlap_touching_rejected)
{
	struct fx *f = fx_with_live("fe_overlap_touching_rejected");

	ck_assert_int_gt(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_gt(map(f, 0, 0x8000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0xa000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_overlap_straddle_missed)
{
	struct fx *f = fx_with_live("fe_overlap_straddle_missed");

	ck_assert_int_gt(map(f, 0, 0x4000, 0x4000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x3000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_no_bounds_check)
{
	struct fx *f = fx_new("fe_no_bounds_check");

	ck_assert_int_eq(map(f, 1, 0xf000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_bounds_wrap)
{
	struct fx *f = fx_new("fe_bounds_wrap");

	ck_assert_int_gt(map(f, 1, 0xf000, 0x2000, 1), 0);
	ck_assert_int_eq(map(f, 0, UINT64_MAX - 0xfff, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_len_zero_accepted)
{
	struct fx *f = fx_new("fe_len_zero_accepted");

	ck_assert_int_eq(map(f, 0, 0x2000, 0, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_unknown_shmid_null)
{
	struct fx *f = fx_new("fe_unknown_shmid_null");
	struct proto_mmap mm = { .shmid = 200, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(child_crashes(f));
	close(fd);
	fx_free(f);
	/* And without the fault the same message is survived. */
	f = fx_new(NULL);
	fd = fx_memfd(f, 0x1000);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(!child_crashes(f));
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_no_reply_on_error)
{
	struct fx *f = fx_with_live("fe_no_reply_on_error");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 1), NO_REPLY);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_error_reply_zero)
{
	struct fx *f = fx_with_live("fe_error_reply_zero");

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reply_wrong_flags)
{
	struct fx *f = fx_new("fe_reply_wrong_flags");
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	struct chan_msg m;

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reply_wrong_size)
{
	struct fx *f = fx_new("fe_reply_wrong_size");
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	struct chan_msg m;

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_OK);
	ck_assert_uint_eq(m.hdr.size, 4);
	ck_assert_uint_eq(m.payload_len, 4);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_memtable_before_reply)
{
	ck_assert(!reply_before_main_traffic("fe_memtable_before_reply"));
}
END_TEST

START_TEST(test_fault_unmap_ignores_len)
{
	struct fx *f = fx_new("fe_unmap_ignores_len");

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_unmap_partial)
{
	struct fx *f = fx_new("fe_unmap_partial");

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x3000, 0x1000), 0);
	/* A hole punched in the middle: two pieces left. */
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 2);
	ck_assert_int_gt(unmap(f, 0, 0x1000, 0x8000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_reset_keeps_mappings)
{
	struct fx *f = fx_new("fe_reset_keeps_mappings");
	char err[128];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_fd_leak_on_error)
{
	struct fx *f = fx_with_live("fe_fd_leak_on_error");
	int before = fdpool_count_open_fds();

	ck_assert_int_gt(map(f, 0, 0x4000, 0x1000, 1), 0);
	ck_assert_int_gt(map(f, 0, 0x200000, 0x1000, 1), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 2);
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 3);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_ro_mapped_rw)
{
	struct fx *f = fx_new("fe_ro_mapped_rw");
	char perms[5];

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s");
	fx_free(f);
}
END_TEST

START_TEST(test_fault_map_without_shmem)
{
	struct fx *f = fx_setup("fe_map_without_shmem", all_pfeatures() &
				~(UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT), true);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_short_payload_stale)
{
	struct fx *f = fx_new("fe_short_payload_stale");
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0x8000,
				 .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);
	char perms[5];

	/* A first, whole MAP leaves flags=rw in the stale buffer. */
	ck_assert_int_eq(map(f, 0, 0x2000, 0x1000, 1), 0);
	mm.flags = 0;
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 32, &fd, 1);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s"); /* the stale flags were used */
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_abort_before_start)
{
	struct fx *f = fx_setup("fe_abort_before_start", all_pfeatures(), false);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert(child_crashes(f));
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_fault_abort_nregions)
{
	struct fx *f = fx_new("fe_abort_nregions");
	static const uint64_t sizes[] = { 0x20000 };
	struct rlimit no_core = { 0, 0 };
	struct chan_msg m;
	char err[128];
	pid_t pid;
	int st;

	make_config_reply(&m, 257, sizes, 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		reffe_apply_shmem_config(f->fe, &m, err, sizeof(err));
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	fx_free(f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the program: SIGTERM ends it promptly wherever it waits */

/* Generous: the old front-end took ~4.8 s (its handshake deadline). */
#define PROMPT_EXIT_MS 2000

/* The built program next to this test: <build>/tests/test_reffe ->
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

/* The program waits in its handshake for a back-end that never answers
 * (0), that sent 6 bytes of its reply (1), or for a socket path nobody
 * listens on (2). */
TEST_CASE("lifecycle");

START_LOOP_TEST(test_program_sigterm_while_waiting, 0, 3)
{
	char path[4200], arg[96];
	char *argv[] = { path, arg, "--connect-timeout=30000", NULL };
	struct chan peer;
	struct chan_msg m;
	int sv[2], st;
	int64_t ms;
	pid_t pid;

	program_path("vhu-ref-frontend", path, sizeof(path));
	if (_i == 2) {
		snprintf(arg, sizeof(arg),
			 "--socket-path=/tmp/vhu-reffe-nobody-%d.sock",
			 (int)getpid());
		pid = spawn_program(argv, NULL, 0);
		poll(NULL, 0, 200);
	} else {
		ck_assert_int_eq(chan_socketpair(sv), 0);
		snprintf(arg, sizeof(arg), "--fd=%d", sv[1]);
		pid = spawn_program(argv, &sv[1], 1);
		close(sv[1]);
		chan_init(&peer, sv[0], "main", PROTO_CHAN_MAIN);
		ck_assert_int_eq(chan_recv(&peer, &m, chan_deadline(2000)),
				 CHAN_OK);
		ck_assert_uint_eq(m.hdr.request, PROTO_GET_FEATURES);
		chan_msg_release(&m);
		if (_i == 1)
			ck_assert_int_eq(chan_send_raw(&peer, "\x01\0\0\0\x05\0",
						       6, NULL, 0,
						       chan_deadline(100)),
					 CHAN_OK);
		poll(NULL, 0, 100);
	}
	ms = term_and_time(pid, &st);
	ck_assert_msg(ms >= 0, "still running %d ms after SIGTERM",
		      PROMPT_EXIT_MS);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "status 0x%x after SIGTERM", st);
	if (_i != 2)
		chan_close(&peer);
}
END_TEST

/* Answers the program's handshake with the reference back-end in
 * process, until the last vring fd (SET_VRING_CALL) arrived. */
static void serve_program_handshake(struct refbe *be, int fd)
{
	struct refbe_config cfg;
	int64_t end = chan_deadline(2000);

	refbe_config_default(&cfg);
	refbe_init(be, &cfg);
	refbe_attach_main(be, fd);
	while (be->vring_fds[1] < 0 && chan_now_ms() < end)
		ck_assert_int_ne(refbe_service_main(be, end), 1);
	ck_assert_int_ge(be->vring_fds[1], 0);
	ck_assert_int_ge(be->backend.fd, 0);
}

/* Six bytes of a back-end request, then nothing: the program's loop
 * still answers its control channel at once (it used to sit in the read
 * for --reply-timeout). */
START_TEST(test_program_loop_not_blocked_by_half_message)
{
	char path[4200], a1[32], a2[32], ans[512];
	char *argv[] = { path, a1, a2, "--reply-timeout=30000", NULL };
	struct refbe *be = calloc(1, sizeof(*be));
	int sv[2], cv[2], st;
	ssize_t n;
	pid_t pid;

	program_path("vhu-ref-frontend", path, sizeof(path));
	ck_assert_int_eq(chan_socketpair(sv), 0);
	ck_assert_int_eq(chan_socketpair(cv), 0);
	snprintf(a1, sizeof(a1), "--fd=%d", sv[1]);
	snprintf(a2, sizeof(a2), "--control-fd=%d", cv[1]);
	pid = spawn_program(argv, (int[]){ sv[1], cv[1] }, 2);
	close(sv[1]);
	close(cv[1]);
	serve_program_handshake(be, sv[0]);
	ck_assert_int_eq(chan_send_raw(&be->backend, "\x09\0\0\0\x09\0", 6,
				       NULL, 0, chan_deadline(100)), CHAN_OK);
	poll(NULL, 0, 20);
	ck_assert_int_eq(write(cv[0], "dump\n", 5), 5);
	ck_assert_msg(chan_wait_readable(cv[0], chan_deadline(500)) == 1,
		      "no answer to dump within 500 ms");
	n = read(cv[0], ans, sizeof(ans) - 1);
	ck_assert_int_gt(n, 0);
	ans[n] = '\0';
	ck_assert_ptr_nonnull(strstr(ans, "ok {\"started\""));
	ck_assert_int_ge(term_and_time(pid, &st), 0);
	refbe_free(be);
	free(be);
	close(cv[0]);
}
END_TEST
