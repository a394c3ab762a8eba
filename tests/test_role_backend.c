/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/role_backend: the harness as back-end,
 * on its own, without a session or a target. The back-end model (when a
 * main-channel request is answered), what requests change, and the
 * answers it builds.
 */
#include <check.h>
#include <string.h>

#include "role_backend.h"
#include "vhutest.h"

static struct role_be b;

static void setup(void)
{
	rbe_init(&b);
}

static struct proto_hdr req(uint32_t request, uint32_t flags, uint32_t size)
{
	struct proto_hdr h = { request, PROTO_VERSION | flags, size };

	return h;
}

TEST_CASE("role_backend");
TEST_FIXTURE(setup, NULL);

START_TEST(threaded_answers_while_blocked)
{
	rbe_block(&b);
	ck_assert(!rbe_must_wait(&b, PROTO_SET_MEM_TABLE));
	b.single_thread = true;
	ck_assert(rbe_must_wait(&b, PROTO_SET_MEM_TABLE));
	rbe_unblock(&b);
	ck_assert(!rbe_must_wait(&b, PROTO_SET_MEM_TABLE));
}
END_TEST

START_TEST(single_thread_queue_flushes_in_order)
{
	unsigned out[RBE_MAX_QUEUE];

	b.single_thread = true;
	rbe_block(&b);
	ck_assert(rbe_enqueue(&b, 7, PROTO_SET_MEM_TABLE));
	ck_assert(rbe_enqueue(&b, 9, PROTO_GET_FEATURES));
	ck_assert_uint_eq(rbe_take_ready(&b, out), 0);      /* still blocked */
	ck_assert_uint_eq(b.nqueue, 2);
	rbe_unblock(&b);
	ck_assert_uint_eq(rbe_take_ready(&b, out), 2);
	ck_assert_uint_eq(out[0], 7);
	ck_assert_uint_eq(out[1], 9);
	ck_assert_uint_eq(b.nqueue, 0);
}
END_TEST

START_TEST(hold_keeps_only_the_named_requests)
{
	unsigned out[RBE_MAX_QUEUE];
	uint32_t names[] = { PROTO_SET_MEM_TABLE, PROTO_ADD_MEM_REG };

	rbe_hold(&b, names, 2);
	ck_assert(rbe_held(&b, PROTO_ADD_MEM_REG));
	ck_assert(rbe_must_wait(&b, PROTO_SET_MEM_TABLE));
	ck_assert(!rbe_must_wait(&b, PROTO_GET_FEATURES));
	ck_assert(rbe_enqueue(&b, 3, PROTO_SET_MEM_TABLE));
	ck_assert_uint_eq(rbe_take_ready(&b, out), 0);
	rbe_release(&b);
	ck_assert_uint_eq(rbe_take_ready(&b, out), 1);
	ck_assert_uint_eq(out[0], 3);
}
END_TEST

START_TEST(unblock_leaves_what_a_hold_keeps)
{
	unsigned out[RBE_MAX_QUEUE];
	uint32_t names[] = { PROTO_SET_MEM_TABLE };

	b.single_thread = true;
	rbe_block(&b);
	rbe_hold(&b, names, 1);
	rbe_enqueue(&b, 1, PROTO_SET_MEM_TABLE);
	rbe_enqueue(&b, 2, PROTO_GET_FEATURES);
	rbe_enqueue(&b, 4, PROTO_SET_MEM_TABLE);
	rbe_unblock(&b);
	ck_assert_uint_eq(rbe_take_ready(&b, out), 1);
	ck_assert_uint_eq(out[0], 2);
	ck_assert_uint_eq(b.nqueue, 2);
	ck_assert_uint_eq(b.queue[0], 1);
	ck_assert_uint_eq(b.queue[1], 4);
}
END_TEST

START_TEST(queue_full_is_refused)
{
	for (unsigned i = 0; i < RBE_MAX_QUEUE; i++)
		ck_assert(rbe_enqueue(&b, i, PROTO_GET_FEATURES));
	ck_assert(!rbe_enqueue(&b, 99, PROTO_GET_FEATURES));
}
END_TEST

START_TEST(requests_change_the_state)
{
	uint8_t p[8];
	uint64_t v = 1ull << PROTO_PF_STATUS;
	uint32_t n = 3;
	struct proto_hdr h;

	memcpy(p, &v, 8);
	h = req(PROTO_SET_PROTOCOL_FEATURES, 0, 8);
	rbe_apply(&b, &h, p, 8);
	ck_assert(b.pf_set);
	ck_assert_uint_eq(b.negotiated, v);
	v = PROTO_STATUS_DRIVER_OK;
	memcpy(p, &v, 8);
	h = req(PROTO_SET_STATUS, 0, 8);
	rbe_apply(&b, &h, p, 8);
	ck_assert(b.driver_ok);
	h = req(PROTO_RESET_DEVICE, 0, 0);
	rbe_apply(&b, &h, NULL, 0);
	ck_assert_uint_eq(b.status, 0);
	memcpy(p, &n, 4);
	h = req(PROTO_SET_MEM_TABLE, 0, 8);
	rbe_apply(&b, &h, p, 8);
	h = req(PROTO_ADD_MEM_REG, 0, 0);
	rbe_apply(&b, &h, NULL, 0);
	rbe_apply(&b, &h, NULL, 0);
	h = req(PROTO_REM_MEM_REG, 0, 0);
	rbe_apply(&b, &h, NULL, 0);
	ck_assert_int_eq(b.memtable_regions, 4);
	ck_assert_uint_eq(b.memtable_msgs, 4);
}
END_TEST

START_TEST(answers_built_from_the_offer)
{
	uint8_t out[PROTO_SHMEM_CONFIG_SIZE];
	struct proto_hdr h = req(PROTO_GET_FEATURES, 0, 0), a;
	uint64_t v;

	b.offer.features = 0x1234;
	ck_assert(rbe_needs_answer(&h));
	ck_assert_uint_eq(rbe_answer(&b, &h, NULL, 0, &a, out, sizeof(out)), 8);
	memcpy(&v, out, 8);
	ck_assert_uint_eq(v, 0x1234);
	ck_assert_uint_eq(a.request, PROTO_GET_FEATURES);
	ck_assert_uint_eq(a.flags, PROTO_VERSION | PROTO_F_REPLY);
	ck_assert_uint_eq(a.size, 8);
	/* a GET_SHMEM_CONFIG answer bent by the case */
	b.offer.cfg.nregions = 1;
	b.offer.cfg_request = 44;
	b.offer.cfg_flags = 0x1;
	b.offer.cfg_size = 16;
	h = req(PROTO_GET_SHMEM_CONFIG, 0, 0);
	ck_assert_uint_eq(rbe_answer(&b, &h, NULL, 0, &a, out, sizeof(out)), 16);
	ck_assert_uint_eq(a.flags, 0x1);
	ck_assert_uint_eq(a.size, 16);
	/* a reply, or a request without body and without NEED_REPLY */
	h = req(PROTO_SET_MEM_TABLE, PROTO_F_REPLY, 0);
	ck_assert(!rbe_needs_answer(&h));
	h = req(PROTO_SET_MEM_TABLE, 0, 0);
	ck_assert(!rbe_needs_answer(&h));
	h = req(PROTO_SET_MEM_TABLE, PROTO_F_NEED_REPLY, 0);
	ck_assert(rbe_needs_answer(&h));
}
END_TEST
