/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/reffemain: the reference front-end's main
 * channel: the handshake (against vhu-ref-backend's handlers and bent
 * back-ends), the GET_SHMEM_CONFIG reply it takes, and reset.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reffefx.h"
#include "vhutest.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

TEST_CASE("lifecycle");

START_TEST(test_reset_sends_reset_device)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_RESET_DEVICE, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t zero[8] = { 0 };
	struct chan_msg m;
	char err[128];

	fx_attach_main(f);
	/* The answer is queued first: reffe reads it after sending. */
	ck_assert_int_eq(chan_send(&f->mainc, &h, zero, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(reffe_reset(f->fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(100)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_RESET_DEVICE);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	fx_free(f);
}
END_TEST

START_TEST(test_config_nregions_over_256_tolerated)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { 0x20000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 300, sizes, 1);
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(f->fe->regions[0].size, 0x20000);
	ck_assert_uint_eq(f->fe->regions[1].size, 0);
	ck_assert_int_eq(map(f, 0, 0x1f000, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_config_malformed_refused)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { 0x20000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 1, sizes, 1);
	m.hdr.request = PROTO_GET_FEATURES;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	make_config_reply(&m, 1, sizes, 1);
	m.hdr.flags = PROTO_VERSION;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	make_config_reply(&m, 1, sizes, 1);
	m.hdr.size = m.payload_len = 1024;
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)),
			 -EPROTO);
	/* The old regions stay. */
	ck_assert_uint_eq(f->fe->regions[0].size, fx_sizes[0]);
	fx_free(f);
}
END_TEST

START_TEST(test_config_huge_size_unusable_not_fatal)
{
	struct fx *f = fx_new(NULL);
	static const uint64_t sizes[] = { UINT64_MAX - 0xfff, 0x10000 };
	struct chan_msg m;
	char err[128];

	make_config_reply(&m, 2, sizes, 2);
	ck_assert_int_eq(reffe_apply_shmem_config(f->fe, &m, err, sizeof(err)), 0);
	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 1, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

/* refbe serves fd in a child until EOF; other_end is the parent's. */
static pid_t spawn_refbe(int fd, int other_end, const uint64_t *offer_mask_clear)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct refbe_config cfg;
		struct refbe *be = calloc(1, sizeof(*be));
		int64_t end = chan_deadline(3000);

		close(other_end);
		refbe_config_default(&cfg);
		cfg.sizes[1] = 0x10000;
		if (offer_mask_clear)
			cfg.pfeat_offer &= ~*offer_mask_clear;
		refbe_init(be, &cfg);
		refbe_attach_main(be, fd);
		while (chan_now_ms() < end && refbe_service_main(be, end) != 1)
			;
		refbe_free(be);
		free(be);
		_exit(0);
	}
	close(fd);
	return pid;
}

START_TEST(test_handshake_with_refbe)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_refbe(sv[1], sv[0], NULL);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_uint_eq(fe->pfeatures, all_pfeatures());
	ck_assert(fe->handshake_done);
	ck_assert_int_ge(fe->backend.fd, 0);
	ck_assert_uint_eq(fe->regions[0].size, 0x100000);
	ck_assert_uint_eq(fe->regions[1].size, 0x10000);
	ck_assert_uint_eq(fe->max_mem_slots, REFBE_MAX_MEM_SLOTS);
	ck_assert_int_eq(reffe_start(fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert(fe->started);
	ck_assert_int_eq(reffe_stop(fe, chan_deadline(500), err, sizeof(err)), 0);
	ck_assert_int_eq(reffe_reset(fe, chan_deadline(500), err, sizeof(err)), 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

START_TEST(test_handshake_without_shmem_offered)
{
	uint64_t clear = UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT;
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_refbe(sv[1], sv[0], &clear);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert_uint_eq(fe->pfeatures, all_pfeatures() & ~clear);
	ck_assert_uint_eq(fe->regions[0].size, 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

/* The reference back-end in a child, except that its GET_SHMEM_CONFIG
 * reply is bent: 0 8 bytes, 1 2048 bytes, 2 a wrong request id, 3 no
 * REPLY flag, 4 non-zero padding (the only one believed). */
static pid_t spawn_bent_config_backend(int fd, int other_end, int how)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct refbe_config cfg;
		struct refbe *be = calloc(1, sizeof(*be));
		int64_t end = chan_deadline(3000);
		struct chan_msg m, r;

		close(other_end);
		refbe_config_default(&cfg);
		refbe_init(be, &cfg);
		refbe_attach_main(be, fd);
		while (chan_recv(&be->main, &m, end) == CHAN_OK) {
			if (m.hdr.request != PROTO_GET_SHMEM_CONFIG) {
				refbe_handle_main_msg(be, &m);
				chan_msg_release(&m);
				continue;
			}
			make_config_reply(&r, 1, cfg.sizes, 1);
			r.payload_len = how == 0 ? 8 : how == 1 ? 2048
							: r.payload_len;
			r.hdr.size = (uint32_t)r.payload_len;
			r.hdr.request = how == 2 ? PROTO_GET_FEATURES
						 : r.hdr.request;
			r.hdr.flags = how == 3 ? PROTO_VERSION : r.hdr.flags;
			r.payload[4] = how == 4 ? 0x5a : 0;
			chan_send(&be->main, &r.hdr, r.payload, r.payload_len,
				  NULL, 0, end);
		}
		refbe_free(be);
		free(be);
		_exit(0);
	}
	close(fd);
	return pid;
}

/* Digest 8: a robust front-end survives a bent config reply. The
 * reference keeps the connection, believes nothing of a malformed reply
 * (no regions: every MAP refused) and ignores padding. */
START_LOOP_TEST(test_handshake_survives_bent_config_reply, 0, 5)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2], st;
	pid_t pid;

	ck_assert_int_eq(chan_socketpair(sv), 0);
	pid = spawn_bent_config_backend(sv[1], sv[0], _i);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(2000), err,
					 sizeof(err)), 0);
	ck_assert(fe->handshake_done && reffe_connected(fe));
	ck_assert_uint_eq(fe->regions[0].size, _i == 4 ? 0x100000 : 0);
	ck_assert_uint_eq(fe->shm_nregions, _i == 4 ? 1 : 0);
	reffe_free(fe);
	free(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

START_TEST(test_handshake_fails_on_silent_backend)
{
	struct reffe_config cfg;
	struct reffe *fe = calloc(1, sizeof(*fe));
	char err[160];
	int sv[2];
	int64_t t0 = chan_now_ms();

	ck_assert_int_eq(chan_socketpair(sv), 0);
	reffe_config_default(&cfg);
	reffe_init(fe, &cfg);
	reffe_attach_main(fe, sv[0]);
	ck_assert_int_eq(reffe_handshake(fe, chan_deadline(200), err,
					 sizeof(err)), -ETIMEDOUT);
	ck_assert_int_lt(chan_now_ms() - t0, 1000);
	ck_assert_ptr_nonnull(strstr(err, "GET_FEATURES"));
	ck_assert(!reffe_connected(fe));
	close(sv[1]);
	reffe_free(fe);
	free(fe);
}
END_TEST
