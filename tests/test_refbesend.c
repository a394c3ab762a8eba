/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refbesend: the reference back-end's MAP and
 * UNMAP requests. The test plays the front-end on the back-end channel:
 * it reads what refbe sends and answers it (well or badly).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "refberig.h"
#include "reffe.h"
#include "reffemain.h"
#include "refshmem.h"
#include "vhutest.h"

TEST_CASE("backend");

START_TEST(test_map_message_shape)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(1, 0x2000, 0x3000, true);
	struct proto_mmap mm;
	struct chan_msg m;
	struct stat st;
	char path[64], target[128];
	ssize_t n;

	r.fd_offset = 0x1000;
	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_MAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.hdr.size, PROTO_MMAP_SIZE);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.shmid, 1);
	ck_assert_uint_eq(mm.fd_offset, 0x1000);
	ck_assert_uint_eq(mm.shm_offset, 0x2000);
	ck_assert_uint_eq(mm.len, 0x3000);
	ck_assert_uint_eq(mm.flags, PROTO_MMAP_F_RW);
	for (unsigned i = 0; i < sizeof(mm.padding); i++)
		ck_assert_uint_eq(mm.padding[i], 0);
	ck_assert_int_eq(fstat(m.fds[0], &st), 0);
	ck_assert_int_eq(st.st_size, 0x4000);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", m.fds[0]);
	n = readlink(path, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_ptr_nonnull(strstr(target, "memfd:vhu-refbe-"));
	chan_msg_release(&m);
	ck_assert(refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_map_reply_zero_goes_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, false);

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 1);
	ck_assert_int_ge(x->be->maps[0].fd, 0);
	ck_assert(!refbe_waiting(x->be, NULL));
	bx_free(x);
}
END_TEST

START_TEST(test_map_refused_forgotten_fd_closed)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, false);
	int before = fdpool_count_open_fds();

	ck_assert_int_eq(map_answered(x, &r, 22), REFBE_REFUSED);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	bx_free(x);
}
END_TEST

START_TEST(test_waits_for_reply_before_next)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;
	struct proto_mmap mm;

	submit(x, &a, true);
	submit(x, &b, true);   /* queued behind a's reply */
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert_int_eq(be_msg(x, &m, 100), CHAN_TIMEOUT);
	ck_assert_uint_eq(x->be->nqueue, 1);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(200)), 0);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.shm_offset, 0x1000);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(live_count(x->be), 2);
	bx_free(x);
}
END_TEST

START_TEST(test_no_reply_times_out_then_next_sent)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;
	int64_t t0 = chan_now_ms();

	submit(x, &a, true);
	submit(x, &b, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	/* No answer: after reply_timeout_ms (200) a is given up. */
	while (refbe_waiting(x->be, NULL) && x->be->nqueue)
		refbe_wait_idle(x->be, chan_deadline(10));
	ck_assert_int_ge(chan_now_ms() - t0, 190);
	ck_assert_int_eq(x->be->last_outcome, REFBE_NO_REPLY);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	ck_assert_uint_eq(x->be->nmaps, 1); /* only b, pending */
	bx_free(x);
}
END_TEST

static int bad_reply_outcome(uint32_t req, uint32_t flags, size_t size)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	int out;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, req, flags, 0, size, NULL, 0);
	out = settle(x);
	/* The channel survives: another MAP goes out and is answered. */
	r = mreq(0, 0x8000, 0x1000, true);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	bx_free(x);
	return out;
}

START_TEST(test_bad_replies_not_success)
{
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_UNMAP, REPLY, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, PROTO_VERSION, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY | 0x8, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, 0x6, 8),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 16),
			 REFBE_BAD_REPLY);
}
END_TEST

START_TEST(test_short_replies_survived)
{
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 4),
			 REFBE_BAD_REPLY);
	ck_assert_int_eq(bad_reply_outcome(PROTO_BE_SHMEM_MAP, REPLY, 0),
			 REFBE_BAD_REPLY);
}
END_TEST

START_TEST(test_reply_with_fd_closed)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	int fd = guest_memfd(0x1000), before;
	struct chan_msg m;

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	before = fdpool_count_open_fds();
	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, &fd, 1);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_eof_is_not_success)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	struct chan_msg m;
	char err[160];

	submit(x, &r, true);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	chan_close(&x->bch);
	ck_assert_int_eq(settle(x), REFBE_EOF);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_lt(x->be->backend.fd, 0);
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), -ENOTCONN);
	bx_free(x);
}
END_TEST

START_TEST(test_without_reply_ack_no_wait)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_REPLY_ACK));
	struct refbe_map_req a = mreq(0, 0, 0x1000, true);
	struct refbe_map_req b = mreq(0, 0x1000, 0x1000, true);
	struct chan_msg m;

	submit(x, &a, true);
	submit(x, &b, true);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
		ck_assert_uint_eq(m.hdr.flags, PROTO_VERSION);
		chan_msg_release(&m);
	}
	ck_assert(!refbe_waiting(x->be, NULL));
	ck_assert_uint_eq(live_count(x->be), 2);
	bx_free(x);
}
END_TEST

START_TEST(test_unmap_message_and_ledger)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	struct proto_mmap mm;
	struct chan_msg m;
	int before;

	r.fd_offset = 0x1000;
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	before = fdpool_count_open_fds();
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_BE_SHMEM_UNMAP);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert_int_eq(proto_mmap_decode(m.payload, m.payload_len, &mm), 0);
	ck_assert_uint_eq(mm.fd_offset, 0);
	ck_assert_uint_eq(mm.flags, 0);
	ck_assert_uint_eq(mm.shm_offset, 0x2000);
	ck_assert_uint_eq(mm.len, 0x2000);
	be_reply(x, PROTO_BE_SHMEM_UNMAP, REPLY, 0, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_DONE);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before - 1);
	bx_free(x);
}
END_TEST

START_TEST(test_unmap_refused_stays_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	struct chan_msg m;

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	submit(x, &r, false);
	ck_assert_int_eq(be_msg(x, &m, 200), CHAN_OK);
	chan_msg_release(&m);
	be_reply(x, PROTO_BE_SHMEM_UNMAP, REPLY, 1, 8, NULL, 0);
	ck_assert_int_eq(settle(x), REFBE_REFUSED);
	ck_assert_uint_eq(live_count(x->be), 1);
	bx_free(x);
}
END_TEST

START_TEST(test_unsolicited_messages_dropped)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);

	be_reply(x, PROTO_BE_SHMEM_MAP, REPLY, 0, 8, NULL, 0);
	be_reply(x, PROTO_BE_SHMEM_MAP, PROTO_VERSION, 0, 8, NULL, 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(100)), 0);
	ck_assert_int_eq(refbe_service_backend(x->be, chan_deadline(100)), 0);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	bx_free(x);
}
END_TEST

START_TEST(test_reset_forgets_ledger)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	int before = fdpool_count_open_fds();

	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	main_req(x, PROTO_RESET_DEVICE, PROTO_VERSION, NULL, 0, NULL, 0);
	ck_assert_uint_eq(x->be->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	main_u64(x, PROTO_SET_STATUS, PROTO_VERSION, 0);
	ck_assert_uint_eq(x->be->nmaps, 0);
	bx_free(x);
}
END_TEST

/* The reference back-end against the reference front-end, which runs in
 * a child serving its back-end channel. */
START_TEST(test_map_against_reffe)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true);
	int sv[2], st;
	pid_t pid;

	/* Swap the test's end of the back-end channel for reffe's. */
	ck_assert_int_eq(chan_socketpair(sv), 0);
	chan_close(&x->be->backend);
	x->be->backend.fd = sv[0];
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct reffe_config cfg;
		struct reffe *fe = calloc(1, sizeof(*fe));
		struct proto_shmem_config c;
		struct chan_msg m;
		char err[128];

		close(sv[0]);
		reffe_config_default(&cfg);
		reffe_init(fe, &cfg);
		reffe_set_negotiated(fe, 0, reffe_supported_pfeatures(SHMEM_BIT));
		reffe_attach_backend(fe, sv[1]);
		refbe_shmem_config(x->be, &c);
		chan_msg_init(&m);
		m.hdr = (struct proto_hdr){ PROTO_GET_SHMEM_CONFIG, REPLY,
					    PROTO_SHMEM_CONFIG_SIZE };
		m.payload_len = PROTO_SHMEM_CONFIG_SIZE;
		proto_shmem_config_encode(&c, m.payload, sizeof(m.payload));
		reffe_apply_shmem_config(fe, &m, err, sizeof(err));
		reffe_start(fe, 0, err, sizeof(err));
		while (reffe_service_backend(fe, chan_deadline(2000)) == 0)
			;
		_exit(fe->nmaps == 0 ? 0 : 3);
	}
	close(sv[1]);
	ck_assert_int_eq(refbe_send_map(x->be, &r), REFBE_DONE);
	r = mreq(0, 0x3000, 0x1000, true);  /* reffe refuses the overlap */
	ck_assert_int_eq(refbe_send_map(x->be, &r), REFBE_REFUSED);
	r = mreq(0, 0x2000, 0x2000, true);
	ck_assert_int_eq(refbe_send_unmap(x->be, &r), REFBE_DONE);
	bx_free(x);   /* EOF ends the child, with no mapping left */
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST
