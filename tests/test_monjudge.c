/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/monitor/monjudge: the stateful checks of
 * vhucheck-monitor (replies, ordering, gating, config, ends), fed message
 * by message as the proxy would feed them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monfx.h"
#include "vhutest.h"

TEST_CASE("checks");

START_TEST(clean_session)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	ck_assert(monitor_shmem(&x->m));
	ck_assert(monitor_pfeat(&x->m, PROTO_PF_REPLY_ACK));
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0x1000, 0x1000, 0); /* touching: fine */
	mmap_req(x, false, 0, 0x1000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	monjudge_finish(&x->m, x->now);
	no_findings(x);
	ck_assert_uint_eq(x->m.ledger.nlive, 2);
	ck_assert_uint_eq(x->m.count[PROTO_CHAN_BACKEND][MONITOR_BACKEND], 4);
	ck_assert_uint_eq(x->sink.n, 0);
	free(x);
}
END_TEST

START_TEST(shmem_gating)
{
	struct fx *x = fx_new();

	handshake(x, false, false);
	ck_assert(!monitor_shmem(&x->m));
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	ck_assert_uint_eq(count(x, "SHMEM_NOT_NEGOTIATED"), 1);
	ck_assert_int_eq(find(x, "SHMEM_NOT_NEGOTIATED")->side, MONITOR_FRONTEND);
	config_reply(x, 0x100000, 0);
	mmap_req(x, true, 0, 0x1000, 0);
	ck_assert_uint_eq(count(x, "SHMEM_NOT_NEGOTIATED"), 2);
	ck_assert_int_eq(x->m.findings[1].side, MONITOR_BACKEND);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	free(x);
}
END_TEST

START_TEST(shmem_bit_is_a_setting)
{
	struct fx *x = fx_new();
	uint64_t pf = PF_ALL | (1ull << 20); /* QEMU v11's bit, not ours */

	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, pf);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0, pf);
	ck_assert(!monitor_shmem(&x->m));
	ck_assert_uint_eq(count(x, "PROTOCOL_FEATURES_NOT_OFFERED"), 0);
	free(x);
}
END_TEST

START_TEST(ack_of_unoffered_features)
{
	struct fx *x = fx_new();

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* no PROTOCOL_FEATURES */
	fe(x, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, 0);
	ck_assert_uint_eq(count(x, "PROTOCOL_FEATURES_NOT_OFFERED"), 1);
	be_reply_u64(x, PROTO_GET_PROTOCOL_FEATURES, 1ull << PROTO_PF_REPLY_ACK);
	fe_u64(x, PROTO_SET_PROTOCOL_FEATURES, 0,
	       (1ull << PROTO_PF_REPLY_ACK) | (1ull << BIT));
	ck_assert_uint_eq(count(x, "PFEAT_NOT_OFFERED"), 1);
	ck_assert(!monitor_shmem(&x->m)); /* acked, never offered */
	free(x);
}
END_TEST

START_TEST(memtable_before_reply)
{
	struct fx *x = fx_new();
	uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1); /* MAP waits for its reply */
	ck_assert(monitor_backend_busy(&x->m));
	fe(x, PROTO_ADD_MEM_REG, PROTO_F_NEED_REPLY, reg, sizeof(reg), 1);
	ck_assert_uint_eq(count(x, "MEMTABLE_BEFORE_REPLY"), 1);
	ck_assert_int_eq(find(x, "MEMTABLE_BEFORE_REPLY")->check, MONITOR_CHECK_ORDERING);
	free(x);
}
END_TEST

START_TEST(memtable_after_reply_is_fine)
{
	struct fx *x = fx_new();
	uint8_t reg[PROTO_MEM_REG_MSG_SIZE] = { 0 };

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	ck_assert(!monitor_backend_busy(&x->m));
	fe(x, PROTO_ADD_MEM_REG, PROTO_F_NEED_REPLY, reg, sizeof(reg), 1);
	be_reply_u64(x, PROTO_ADD_MEM_REG, 0);
	no_findings(x);
	free(x);
}
END_TEST

START_TEST(reply_deadline)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	ck_assert_int_eq(monjudge_next_deadline(&x->m), x->now + 500);
	monjudge_tick(&x->m, x->now + 499);
	no_findings(x);
	monjudge_tick(&x->m, x->now + 500);
	ck_assert_uint_eq(count(x, "NO_REPLY"), 1);
	ck_assert_int_eq(find(x, "NO_REPLY")->side, MONITOR_FRONTEND);
	monjudge_tick(&x->m, x->now + 5000); /* once only */
	ck_assert_uint_eq(count(x, "NO_REPLY"), 1);
	ck_assert_int_eq(monjudge_next_deadline(&x->m), INT64_MAX);
	free(x);
}
END_TEST

START_TEST(get_needs_a_reply)
{
	struct fx *x = fx_new();

	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	monjudge_finish(&x->m, x->now + 10);
	ck_assert_uint_eq(count(x, "UNANSWERED_AT_END"), 1);
	ck_assert_int_eq(find(x, "UNANSWERED_AT_END")->side, MONITOR_BACKEND);
	free(x);
}
END_TEST

START_TEST(reply_matching)
{
	struct fx *x = fx_new();

	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* nobody asked */
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 1);
	fe(x, PROTO_GET_FEATURES, 0, NULL, 0, 0);
	be_reply_u64(x, PROTO_GET_QUEUE_NUM, 1); /* wrong id */
	ck_assert_uint_eq(count(x, "REPLY_MISMATCH"), 1);
	be_reply_u64(x, PROTO_GET_FEATURES, 0); /* the queue is empty again */
	ck_assert_uint_eq(count(x, "UNSOLICITED_REPLY"), 2);
	free(x);
}
END_TEST

START_TEST(need_reply_without_reply_ack)
{
	struct fx *x = fx_new();

	fe_u64(x, PROTO_SET_FEATURES, PROTO_F_NEED_REPLY, 0);
	ck_assert_uint_eq(count(x, "NEED_REPLY_NO_ACK"), 1);
	be_reply_u64(x, PROTO_SET_FEATURES, 0); /* optional: tolerated */
	monjudge_finish(&x->m, x->now + 10000);
	ck_assert_uint_eq(x->m.nfindings, 1);
	free(x);
}
END_TEST

START_TEST(config_must_not_change)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	config_reply(x, 0x100000, 0);
	no_findings(x);
	fe(x, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, 0);
	config_reply(x, 0x200000, 0);
	ck_assert_uint_eq(count(x, "CONFIG_CHANGED"), 1);
	free(x);
}
END_TEST

START_TEST(backend_waits_for_its_reply)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	mmap_req(x, true, 0x1000, 0x1000, -1);
	ck_assert_uint_eq(count(x, "BACKEND_NO_WAIT"), 1);
	free(x);
}
END_TEST

START_TEST(short_reply_is_flagged)
{
	struct fx *x = fx_new();
	uint32_t v = 0;

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, -1);
	feed(x, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, PROTO_BE_SHMEM_MAP,
	     PROTO_VERSION | PROTO_F_REPLY, &v, 4, 0);
	ck_assert_uint_eq(count(x, "REPLY_VALUE"), 1);
	ck_assert_int_eq(find(x, "REPLY_VALUE")->check, MONITOR_CHECK_REPLIES);
	free(x);
}
END_TEST

START_TEST(channel_and_process_ends)
{
	struct fx *x = fx_new();

	monjudge_on_channel_status(&x->m, PROTO_CHAN_MAIN, MONITOR_BACKEND, 1 /* EOF */, T0);
	no_findings(x);
	monjudge_on_channel_status(&x->m, PROTO_CHAN_MAIN, MONITOR_BACKEND, 5, T0);
	ck_assert_uint_eq(count(x, "TRUNCATED"), 1);
	monjudge_on_channel_status(&x->m, PROTO_CHAN_BACKEND, MONITOR_BACKEND, 7, T0);
	ck_assert_uint_eq(count(x, "TOO_MANY_FDS"), 1);
	monjudge_on_process_end(&x->m, MONITOR_FRONTEND, 11, 0, T0);
	ck_assert_uint_eq(count(x, "PROCESS_CRASH"), 1);
	monjudge_on_process_end(&x->m, MONITOR_FRONTEND, 0, 0, T0); /* a clean exit */
	ck_assert_uint_eq(x->m.nfindings, 3);
	monjudge_on_process_end(&x->m, MONITOR_BACKEND, 0, 3, T0);
	ck_assert_uint_eq(count(x, "PROCESS_EXIT"), 1);
	ck_assert_int_eq(find(x, "PROCESS_EXIT")->severity, PROTO_SEV_WARN);
	ck_assert_uint_eq(x->m.by_check[MONITOR_CHECK_SESSION][PROTO_SEV_ERROR], 3);
	free(x);
}
END_TEST
