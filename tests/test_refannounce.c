/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refannounce: the reference front-end's
 * memory-table announcements, always after the reply that caused them.
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

TEST_CASE("lifecycle");

START_TEST(test_map_refused_when_memtable_full)
{
	struct fx *f = fx_announcing(NULL);

	/* The guest RAM takes one slot of four: three MAPs fit. */
	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x5000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x7000, 0x1000, 1), 0);
	ck_assert_int_eq(map(f, 0, 0x9000, 0x1000, 1), ENOSPC);
	fx_free(f);
}
END_TEST

START_TEST(test_announce_after_reply)
{
	struct fx *f = fx_announcing(NULL);
	struct proto_mem_reg_msg r;
	struct chan_msg m;

	ck_assert_int_eq(map(f, 0, 0x3000, 0x1000, 1), 0);
	/* Nothing on main yet: announcements follow the reply. */
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(50)), CHAN_TIMEOUT);
	reply_u64_main(f, PROTO_ADD_MEM_REG, 0);
	ck_assert_int_eq(reffe_flush_announce(f->fe, chan_deadline(500)), 0);
	ck_assert_int_eq(chan_recv(&f->mainc, &m, chan_deadline(100)), CHAN_OK);
	ck_assert_uint_eq(m.hdr.request, PROTO_ADD_MEM_REG);
	ck_assert_uint_eq(m.hdr.flags, NEED);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(proto_mem_reg_decode(m.payload, m.payload_len, &r), 0);
	ck_assert_uint_eq(r.region.memory_size, 0x1000);
	ck_assert_uint_eq(r.region.userspace_addr, region_base(f, 0) + 0x3000);
	chan_msg_release(&m);
	fx_free(f);
}
END_TEST

START_TEST(test_reply_before_memtable_update)
{
	ck_assert(reply_before_main_traffic(NULL));
}
END_TEST
