/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refbemain: the reference back-end's main
 * channel. The test plays the front-end over a real socketpair: each
 * request sent, the answer read back.
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
#include "vhutest.h"

TEST_CASE("main");

START_TEST(test_get_features)
{
	struct bx *x = bx_new(NULL);
	uint64_t f = get_u64(x, PROTO_GET_FEATURES);

	ck_assert(f & (UINT64_C(1) << PROTO_F_PROTOCOL_FEATURES));
	bx_free(x);
}
END_TEST

START_TEST(test_get_protocol_features)
{
	struct bx *x = bx_new(NULL);
	uint64_t f = get_u64(x, PROTO_GET_PROTOCOL_FEATURES);
	static const unsigned want[] = {
		PROTO_PF_REPLY_ACK, PROTO_PF_BACKEND_REQ,
		PROTO_PF_BACKEND_SEND_FD, PROTO_PF_CONFIGURE_MEM_SLOTS,
		PROTO_PF_STATUS, PROTO_PF_RESET_DEVICE, SHMEM_BIT,
	};

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(f & (UINT64_C(1) << want[i]), "bit %u", want[i]);
	bx_free(x);
}
END_TEST

START_TEST(test_shmem_bit_setting)
{
	uint64_t f = refbe_supported_pfeatures(20);

	ck_assert(f & (UINT64_C(1) << 20));
	ck_assert(!(f & (UINT64_C(1) << 22)));
}
END_TEST

START_TEST(test_set_protocol_features_acked)
{
	struct bx *x = bx_new(NULL);

	main_u64(x, PROTO_SET_PROTOCOL_FEATURES, NEED,
		 all_pfeatures() | (UINT64_C(1) << 40));
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_PROTOCOL_FEATURES), 0);
	ck_assert_uint_eq(x->be->pfeatures, all_pfeatures());
	bx_free(x);
}
END_TEST

START_TEST(test_no_ack_without_need_reply)
{
	struct bx *x = bx_new(NULL);
	struct chan_msg m;

	main_req(x, PROTO_SET_OWNER, PROTO_VERSION, NULL, 0, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_TIMEOUT);
	ck_assert(x->be->owner);
	bx_free(x);
}
END_TEST

START_TEST(test_get_shmem_config_layout_and_stable)
{
	struct bx *x = bx_new(NULL);
	struct proto_shmem_config a, b;

	get_config(x, &a);
	ck_assert_uint_eq(a.nregions, 2);
	ck_assert_uint_eq(a.memory_sizes[0], 0x100000);
	ck_assert_uint_eq(a.memory_sizes[1], 0x10000);
	for (unsigned i = 2; i < PROTO_SHMEM_MAX_REGIONS; i++)
		ck_assert_uint_eq(a.memory_sizes[i], 0);
	for (unsigned i = 0; i < 3; i++) {
		get_config(x, &b);
		ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	}
	bx_free(x);
}
END_TEST

START_TEST(test_get_shmem_config_without_shmem_empty)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct proto_shmem_config c;

	get_config(x, &c);
	ck_assert_uint_eq(c.nregions, 0);
	ck_assert_uint_eq(c.memory_sizes[0], 0);
	bx_free(x);
}
END_TEST

START_TEST(test_set_mem_table_maps_shared)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t buf[8 + PROTO_MEM_REGION_SIZE], got = 0;
	int fd = guest_memfd(0x10000);

	t.regions[0] = (struct proto_mem_region){ 0, 0x10000, 0x7000000, 0 };
	proto_mem_table_encode(&t, buf, sizeof(buf));
	main_req(x, PROTO_SET_MEM_TABLE, NEED, buf, sizeof(buf), &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_MEM_TABLE), 0);
	ck_assert_uint_eq(x->be->nmem, 1);
	((volatile uint8_t *)x->be->mem[0].addr)[0x123] = 0x42;
	ck_assert_int_eq(pread(fd, &got, 1, 0x123), 1);
	ck_assert_uint_eq(got, 0x42);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_set_mem_table_fd_count_mismatch_rejected)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_table t = { .nregions = 1 };
	uint8_t buf[8 + PROTO_MEM_REGION_SIZE];

	t.regions[0] = (struct proto_mem_region){ 0, 0x10000, 0x7000000, 0 };
	proto_mem_table_encode(&t, buf, sizeof(buf));
	main_req(x, PROTO_SET_MEM_TABLE, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_MEM_TABLE), 0);
	ck_assert_uint_eq(x->be->nmem, 0);
	bx_free(x);
}
END_TEST

START_TEST(test_add_and_rem_mem_reg)
{
	struct bx *x = bx_new(NULL);
	struct proto_mem_reg_msg r = { 0, { 0x100000000, 0x1000, 0x7000000, 0 } };
	uint8_t buf[PROTO_MEM_REG_MSG_SIZE];
	int fd = guest_memfd(0x1000);

	proto_mem_reg_encode(&r, buf, sizeof(buf));
	main_req(x, PROTO_ADD_MEM_REG, NEED, buf, sizeof(buf), &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_ADD_MEM_REG), 0);
	ck_assert_uint_eq(x->be->nmem, 1);
	main_req(x, PROTO_REM_MEM_REG, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_REM_MEM_REG), 0);
	ck_assert_uint_eq(x->be->nmem, 0);
	main_req(x, PROTO_REM_MEM_REG, NEED, buf, sizeof(buf), NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_REM_MEM_REG), 0);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_simple_gets)
{
	struct bx *x = bx_new(NULL);

	ck_assert_uint_eq(get_u64(x, PROTO_GET_MAX_MEM_SLOTS), REFBE_MAX_MEM_SLOTS);
	ck_assert_uint_eq(get_u64(x, PROTO_GET_QUEUE_NUM), 1);
	main_u64(x, PROTO_SET_STATUS, PROTO_VERSION, 0xf);
	ck_assert_uint_eq(get_u64(x, PROTO_GET_STATUS), 0xf);
	ck_assert(refbe_started(x->be));
	bx_free(x);
}
END_TEST

START_TEST(test_vring_messages)
{
	struct bx *x = bx_new(NULL);
	struct proto_vring_state s = { 0, 256 };
	struct proto_vring_addr a = { .index = 0, .desc_user_addr = 0x1000 };
	uint8_t buf[PROTO_VRING_ADDR_SIZE];
	int fd = guest_memfd(0);
	struct chan_msg m;
	struct proto_vring_state got;

	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_NUM, NEED, buf, PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_NUM), 0);
	s.num = 7;
	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_BASE, NEED, buf, PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_BASE), 0);
	proto_vring_addr_encode(&a, buf, sizeof(buf));
	main_req(x, PROTO_SET_VRING_ADDR, NEED, buf, PROTO_VRING_ADDR_SIZE, NULL, 0);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_ADDR), 0);
	main_u64(x, PROTO_SET_VRING_KICK, NEED, 0);   /* index 0, no fd: bad */
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_VRING_KICK), 0);
	proto_u64_encode(0, buf, 8);
	main_req(x, PROTO_SET_VRING_KICK, NEED, buf, 8, &fd, 1);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_KICK), 0);
	main_u64(x, PROTO_SET_VRING_CALL, NEED, UINT64_C(1) << 8);
	ck_assert_uint_eq(answer_u64(x, PROTO_SET_VRING_CALL), 0);
	s.num = 0;
	proto_vring_state_encode(&s, buf, sizeof(buf));
	main_req(x, PROTO_GET_VRING_BASE, PROTO_VERSION, buf,
		 PROTO_VRING_STATE_SIZE, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_OK);
	ck_assert_int_eq(proto_vring_state_decode(m.payload, m.payload_len, &got), 0);
	ck_assert_uint_eq(got.num, 7);
	close(fd);
	bx_free(x);
}
END_TEST

START_TEST(test_unknown_and_malformed_requests)
{
	struct bx *x = bx_new(NULL);
	struct chan_msg m;

	main_req(x, 99, NEED, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, 99), 0);
	main_req(x, PROTO_SET_STATUS, NEED, "abc", 3, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_STATUS), 0);
	main_req(x, PROTO_SET_OWNER, PROTO_F_NEED_REPLY | 0x2, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_OWNER), 0);
	/* A reply sent to the back-end as if it were a request: dropped. */
	main_req(x, PROTO_GET_FEATURES, REPLY, NULL, 0, NULL, 0);
	ck_assert_int_eq(main_answer(x, &m), CHAN_TIMEOUT);
	bx_free(x);
}
END_TEST

START_TEST(test_set_backend_req_fd_needs_fd)
{
	struct bx *x = bx_new(NULL);

	main_req(x, PROTO_SET_BACKEND_REQ_FD, NEED, NULL, 0, NULL, 0);
	ck_assert_uint_ne(answer_u64(x, PROTO_SET_BACKEND_REQ_FD), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_main_eof_disconnects)
{
	struct bx *x = bx_new(NULL);

	chan_close(&x->mainc);
	ck_assert_int_eq(refbe_service_main(x->be, chan_deadline(200)), 1);
	ck_assert_int_lt(x->be->main.fd, 0);
	ck_assert_int_lt(x->be->backend.fd, 0);
	bx_free(x);
}
END_TEST
