/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refshmem: the reference front-end's back-end
 * channel. The test plays the back-end: it sends SHMEM_MAP / SHMEM_UNMAP
 * on its end of the back-end channel, lets reffe serve them, and reads
 * the replies; the mappings are checked in /proc/self/maps.
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

TEST_CASE("map");

START_TEST(test_map_rw_is_mapped_rw)
{
	struct fx *f = fx_new(NULL);
	char perms[5];
	uintptr_t start;

	ck_assert_int_eq(map(f, 0, 0x1000, 0x2000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, &start), 1);
	ck_assert_str_eq(perms, "rw-s");
	ck_assert_uint_eq(start, region_base(f, 0) + 0x1000);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	/* The memory really is the memfd's. */
	*(volatile uint8_t *)(start + 5) = 0x5a;
	ck_assert_uint_eq(reffe_kept_fds(f->fe), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_map_ro_is_read_only)
{
	struct fx *f = fx_new(NULL);
	char perms[5];

	ck_assert_int_eq(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	fx_free(f);
}
END_TEST

START_TEST(test_map_fd_offset_honoured)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .fd_offset = 0x2000,
				 .shm_offset = 0, .len = 0x1000,
				 .flags = PROTO_MMAP_F_RW };
	int fd = fx_memfd(f, 0x3000);
	uint8_t mark = 0x77;

	ck_assert_int_eq(pwrite(fd, &mark, 1, 0x2000), 1);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(*(volatile uint8_t *)region_base(f, 0), 0x77);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_map_whole_region_and_last_page)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 1, 0, 0x10000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(unmap(f, 1, 0, 0x10000), 0);
	ck_assert_int_eq(map(f, 1, 0xf000, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_equal_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_inside_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x5000, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_straddle_start_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x3000, 0x2000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_straddle_end_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x7000, 0x2000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_superset_rejected)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_gt(map(f, 0, 0x2000, 0x8000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_overlap_keeps_original_mapping)
{
	struct fx *f = fx_with_live(NULL);
	char first[64], perms[5];

	snprintf(first, sizeof(first), "%s", f->last_name);
	ck_assert_int_gt(map(f, 0, 0x4000, 0x1000, 0), 0);
	ck_assert_int_eq(maps_of(first, perms, NULL), 1);
	ck_assert_str_eq(perms, "rw-s");
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_touching_accepted)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_eq(map(f, 0, 0x8000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 3);
	fx_free(f);
}
END_TEST

START_TEST(test_same_range_other_shmid_accepted)
{
	struct fx *f = fx_with_live(NULL);

	ck_assert_int_eq(map(f, 3, 0x4000, 0x4000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_bounds_past_end_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 1, 0xf000, 0x2000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 1, 0x10000, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 1, 0, 0x11000, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_bounds_wrap_rejected)
{
	struct fx *f = fx_new(NULL);

	int fd = fx_memfd(f, 0x2000);

	ck_assert_int_gt(map_fd(f, 0, UINT64_MAX - 0xfff, 0x2000,
				PROTO_MMAP_F_RW, fd), 0);
	ck_assert_int_gt(map_fd(f, 0, 0x2000, UINT64_MAX - 0xfff,
				PROTO_MMAP_F_RW, fd), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_len_zero_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0x2000, 0, PROTO_MMAP_F_RW), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_shmid_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 200, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 255, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_zero_sized_region_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 2, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unaligned_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0x1800, 0x1000, PROTO_MMAP_F_RW), 0);
	ck_assert_int_gt(map(f, 0, 0x1000, 0x800, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_flag_bits_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 0x2), 0);
	ck_assert_int_gt(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW | (UINT64_C(1) << 63)), 0);
	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_no_fd_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, -1), 0);
	/* Framing survives: the next MAP works. */
	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_two_fds_rejected_and_closed)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000 };
	int fds[2] = { fx_memfd(f, 0x1000), fx_memfd(f, 0x1000) };
	int before = fdpool_count_open_fds();

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, PROTO_MMAP_SIZE, fds, 2);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(fds[0]);
	close(fds[1]);
	fx_free(f);
}
END_TEST

START_TEST(test_pipe_fd_rejected)
{
	struct fx *f = fx_new(NULL);
	int p[2], before;

	ck_assert_int_eq(pipe(p), 0);
	before = fdpool_count_open_fds();
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, p[0]), 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, 0, p[0]), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	close(p[0]);
	close(p[1]);
	fx_free(f);
}
END_TEST

START_TEST(test_rdonly_fd_rw_rejected_ro_accepted)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000), ro;
	char path[64], perms[5];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, ro), 0);
	ck_assert_int_eq(map_fd(f, 0, 0, 0x1000, 0, ro), 0);
	ck_assert_int_eq(maps_of(f->last_name, perms, NULL), 1);
	ck_assert_str_eq(perms, "r--s");
	close(ro);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_sealed_memfd_rw_rejected)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000);

	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
			       F_SEAL_GROW | F_SEAL_SEAL), 0);
	ck_assert_int_gt(map_fd(f, 0, 0, 0x1000, PROTO_MMAP_F_RW, fd), 0);
	ck_assert_int_eq(map_fd(f, 0, 0, 0x1000, 0, fd), 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_file_shorter_than_range_rejected)
{
	struct fx *f = fx_new(NULL);
	int fd = fx_memfd(f, 0x1000);

	ck_assert_int_gt(map_fd(f, 0, 0, 0x2000, PROTO_MMAP_F_RW, fd), 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_payload_size_not_40_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 32, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED, &mm, 48, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_no_reply_without_need_reply)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	struct chan_msg m;
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_VERSION, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	/* Nor for a rejected one. */
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_VERSION, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_no_reply_without_reply_ack)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_REPLY_ACK), true);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, PROTO_MMAP_F_RW), NO_REPLY);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_bad_header_version_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .len = 0x1000, .flags = 1 };
	int fd = fx_memfd(f, 0x1000);

	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, PROTO_F_NEED_REPLY | 0x2, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_MAP, NEED | 0x100, &mm,
		      PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_MAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_unknown_request_answered_nonzero)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_BE_CONFIG_CHANGE_MSG, NEED, 0 };

	ck_assert_int_eq(chan_send(&f->be, &h, NULL, 0, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_gt(serve_value(f, PROTO_BE_CONFIG_CHANGE_MSG), 0);
	h.request = 77;
	ck_assert_int_eq(chan_send(&f->be, &h, NULL, 0, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_gt(serve_value(f, 77), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unsolicited_reply_dropped)
{
	struct fx *f = fx_new(NULL);
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION | PROTO_F_REPLY, 8 };
	uint8_t zero[8] = { 0 };
	struct chan_msg m;

	ck_assert_int_eq(chan_send(&f->be, &h, zero, 8, NULL, 0,
				   chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(serve(f, &m), CHAN_TIMEOUT);
	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_backend_eof_closes_channel)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	chan_close(&f->be);
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(200)), 1);
	ck_assert_int_lt(f->fe->backend.fd, 0);
	/* The device is still there: mappings stay until reset. */
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_truncated_message_closes_channel)
{
	struct fx *f = fx_new(NULL);
	uint8_t hdr[12] = { 9, 0, 0, 0, 9, 0, 0, 0, 40, 0, 0, 0 };

	ck_assert_int_eq(chan_send_raw(&f->be, hdr, sizeof(hdr), NULL, 0,
				       chan_deadline(100)), CHAN_OK);
	ck_assert_int_eq(reffe_service_backend(f->fe, chan_deadline(100)), 1);
	ck_assert_int_lt(f->fe->backend.fd, 0);
	fx_free(f);
}
END_TEST

TEST_CASE("unmap");

START_TEST(test_unmap_exact_removes_and_closes)
{
	struct fx *f = fx_new(NULL);
	int before = fdpool_count_open_fds();
	char name[64];

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	snprintf(name, sizeof(name), "%s", f->last_name);
	ck_assert_int_eq(fdpool_count_open_fds(), before + 1);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x2000), 0);
	ck_assert_int_eq(maps_of(name, NULL, NULL), 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	/* The range is free again. */
	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_partial_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x4000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0x2000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x3000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x5000, 0x1000), 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 1);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_superset_shifted_unknown_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0x1000, 0x4000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x3000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x8000, 0x1000), 0);
	ck_assert_int_gt(unmap(f, 3, 0x2000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 200, 0x2000, 0x2000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_twice_rejected)
{
	struct fx *f = fx_new(NULL);

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	ck_assert_int_eq(unmap(f, 0, 0x2000, 0x2000), 0);
	ck_assert_int_gt(unmap(f, 0, 0x2000, 0x2000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_with_fd_rejected)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .shm_offset = 0x2000, .len = 0x2000 };
	int fd;

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	fd = fx_memfd(f, 0x1000);
	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE, &fd, 1);
	ck_assert_int_gt(serve_value(f, PROTO_BE_SHMEM_UNMAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	close(fd);
	fx_free(f);
}
END_TEST

START_TEST(test_unmap_ignores_fd_offset_and_flags)
{
	struct fx *f = fx_new(NULL);
	struct proto_mmap mm = { .shmid = 0, .fd_offset = 0x5000,
				 .shm_offset = 0x2000, .len = 0x2000,
				 .flags = 1 };

	ck_assert_int_eq(map(f, 0, 0x2000, 0x2000, 1), 0);
	send_raw_mmap(f, PROTO_BE_SHMEM_UNMAP, NEED, &mm, PROTO_MMAP_SIZE, NULL, 0);
	ck_assert_int_eq(serve_value(f, PROTO_BE_SHMEM_UNMAP), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

TEST_CASE("lifecycle");

START_TEST(test_before_start_error_reply)
{
	struct fx *f = fx_setup(NULL, all_pfeatures(), false);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(maps_of(f->last_name, NULL, NULL), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_after_stop_error_reply)
{
	struct fx *f = fx_new(NULL);
	char err[128];

	ck_assert_int_eq(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_eq(reffe_stop(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_gt(map(f, 0, 0x1000, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 1);
	ck_assert_int_eq(reffe_start(f->fe, chan_deadline(100), err, sizeof(err)), 0);
	ck_assert_int_eq(unmap(f, 0, 0, 0x1000), 0);
	fx_free(f);
}
END_TEST

START_TEST(test_without_shmem_rejected)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_SHMEM_BIT_DEFAULT), true);

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	fx_free(f);
}
END_TEST

START_TEST(test_map_without_backend_send_fd_rejected)
{
	struct fx *f = fx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << PROTO_PF_BACKEND_SEND_FD), true);
	int before = fdpool_count_open_fds();

	ck_assert_int_gt(map(f, 0, 0, 0x1000, 1), 0);
	ck_assert_uint_eq(f->fe->nmaps, 0);
	ck_assert_int_eq(fdpool_count_open_fds(), before);
	/* UNMAP carries no fd: only the missing mapping makes it fail. */
	ck_assert_int_gt(unmap(f, 0, 0, 0x1000), 0);
	fx_free(f);
}
END_TEST
