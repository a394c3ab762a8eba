/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/faultrule: parsing --fault-rule and matching. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "faultrule.h"
#include "vhutest.h"

static struct faultrule r;
static char err[256];

TEST_CASE("parse");

START_TEST(drop_by_name)
{
	ck_assert_int_eq(faultrule_parse("drop:SHMEM_MAP", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.kind, FAULTRULE_DROP);
	ck_assert_int_eq(r.req[PROTO_CHAN_BACKEND], PROTO_BE_SHMEM_MAP);
	ck_assert_int_eq(r.req[PROTO_CHAN_MAIN], -1);
	ck_assert(faultrule_match(&r, PROTO_CHAN_BACKEND, PROTO_BE_SHMEM_MAP, false));
	ck_assert(!faultrule_match(&r, PROTO_CHAN_BACKEND, PROTO_BE_SHMEM_MAP, true));
	ck_assert(!faultrule_match(&r, PROTO_CHAN_MAIN, PROTO_BE_SHMEM_MAP, false));
	ck_assert_str_eq(r.spec, "drop:SHMEM_MAP");
}
END_TEST

START_TEST(channel_reply_and_nth)
{
	ck_assert_int_eq(faultrule_parse("delay:main/VHOST_USER_GET_FEATURES.reply@2:150",
					 &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.kind, FAULTRULE_DELAY);
	ck_assert_uint_eq(r.delay_ms, 150);
	ck_assert(r.reply);
	ck_assert_uint_eq(r.nth, 2);
	ck_assert_int_eq(r.req[PROTO_CHAN_MAIN], PROTO_GET_FEATURES);
	ck_assert_int_eq(r.req[PROTO_CHAN_BACKEND], -1);
	ck_assert(!faultrule_match(&r, PROTO_CHAN_MAIN, PROTO_GET_FEATURES, true));
	ck_assert(faultrule_match(&r, PROTO_CHAN_MAIN, PROTO_GET_FEATURES, true));
	ck_assert(!faultrule_match(&r, PROTO_CHAN_MAIN, PROTO_GET_FEATURES, true));
}
END_TEST

START_TEST(numbers_on_both_channels)
{
	ck_assert_int_eq(faultrule_parse("duplicate:9", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.req[PROTO_CHAN_MAIN], 9);
	ck_assert_int_eq(r.req[PROTO_CHAN_BACKEND], 9);
}
END_TEST

START_TEST(corrupt_bytes)
{
	uint8_t msg[20] = { 0 };

	ck_assert_int_eq(faultrule_parse("corrupt:SHMEM_MAP", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(faultrule_corrupt(&r, msg, 20), 12); /* first payload byte */
	ck_assert_uint_eq(msg[12], 0xff);
	ck_assert_int_eq(faultrule_corrupt(&r, msg, 12), 4);  /* no payload: flags */
	ck_assert_int_eq(faultrule_parse("corrupt:SHMEM_MAP:37:0x10", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(faultrule_corrupt(&r, msg, 20), -1); /* beyond the message */
	ck_assert_uint_eq(r.offset, 37);
	ck_assert_uint_eq(r.xor_mask, 0x10);
}
END_TEST

START_TEST(inject_map)
{
	ck_assert_int_eq(faultrule_parse("inject-map:shmid=1,shm_offset=0x2000,len=8k,"
					 "flags=ro,need_reply=0,after=50", &r, err,
					 sizeof(err)), 0);
	ck_assert_int_eq(r.kind, FAULTRULE_INJECT_MAP);
	ck_assert_uint_eq(r.mm.shmid, 1);
	ck_assert_uint_eq(r.mm.shm_offset, 0x2000);
	ck_assert_uint_eq(r.mm.len, 0x2000);
	ck_assert_uint_eq(r.mm.flags, 0);
	ck_assert_int_eq(r.need_reply, 0);
	ck_assert_uint_eq(r.after_ms, 50);
	ck_assert(!faultrule_match(&r, PROTO_CHAN_BACKEND, PROTO_BE_SHMEM_MAP, false));
	ck_assert_int_eq(faultrule_parse("inject-map:len=0x1000", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.need_reply, -1);
	ck_assert_uint_eq(r.mm.flags, PROTO_MMAP_F_RW);
}
END_TEST

START_TEST(bad_rules)
{
	static const char *const bad[] = {
		"", "drop", "drop:", "explode:SHMEM_MAP", "drop:NO_SUCH_REQUEST",
		"delay:SHMEM_MAP", "delay:SHMEM_MAP:x", "drop:SHMEM_MAP:1",
		"corrupt:SHMEM_MAP:99999", "corrupt:SHMEM_MAP:1:0", "drop:SHMEM_MAP@0",
		"inject-map:shmid=300", "inject-map:bogus=1", "inject-map:len",
		"backend/GET_FEATURES",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(faultrule_parse(bad[i], &r, err, sizeof(err)) < 0, "%s", bad[i]);
		ck_assert_msg(err[0], "no message for %s", bad[i]);
	}
	ck_assert_int_lt(faultrule_parse("drop:backend/GET_FEATURES", &r, err, sizeof(err)), 0);
}
END_TEST
