/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for targets/ref/refbemap: the reference back-end's map and
 * unmap control commands, parsed and checked before anything is sent.
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

TEST_CASE("control");

START_TEST(test_parse_map_cmd)
{
	struct refbe_map_req r;
	struct ctl_cmd c;
	char err[160];

	ck_assert_int_eq(ctl_parse("map shmid=1 shm_offset=0x2000 len=4k "
				   "fd_offset=0x1000 flags=rw need_reply=0",
				   &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.shmid, 1);
	ck_assert_uint_eq(r.shm_offset, 0x2000);
	ck_assert_uint_eq(r.len, 0x1000);
	ck_assert_uint_eq(r.fd_offset, 0x1000);
	ck_assert(r.rw);
	ck_assert_int_eq(r.need_reply, 0);
	ck_assert_int_eq(ctl_parse("map len=4k flags=1", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert(r.rw);
	ck_assert_int_eq(r.need_reply, -1);
	ck_assert_int_eq(ctl_parse("map len=4k flags=ro", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(refbe_parse_map_cmd(&c, &r, err, sizeof(err)), 0);
	ck_assert(!r.rw);
}
END_TEST

START_TEST(test_parse_map_cmd_errors)
{
	static const char *const bad[] = {
		"map shmid=0", "map len=4k color=red", "map len=4k flags=2",
		"map len=4k shmid=256", "map len=zz", "map len=4k need_reply=maybe",
		"unmap len=4k fd_offset=0",
	};
	struct refbe_map_req r;
	struct ctl_cmd c;
	char err[160];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(ctl_parse(bad[i], &c, err, sizeof(err)), 0);
		err[0] = '\0';
		ck_assert_msg((c.name[0] == 'm'
				       ? refbe_parse_map_cmd(&c, &r, err, sizeof(err))
				       : refbe_parse_unmap_cmd(&c, &r, err,
							       sizeof(err))) == -EINVAL,
			      "'%s' accepted", bad[i]);
		ck_assert_uint_gt(strlen(err), 0);
	}
}
END_TEST

START_TEST(test_check_map_refusals)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r;
	char err[160];

	r = mreq(1, 0xf000, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(2, 0, 0x1000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(0, UINT64_MAX - 0xfff, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ERANGE);
	r = mreq(0, 0, 0, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EINVAL);
	r = mreq(0, 0x2000, 0x2000, true);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	r = mreq(0, 0x3000, 0x2000, true);
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EEXIST);
	r = mreq(0, 0x1000, 0x1000, true);   /* touching: fine */
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), 0);
	bx_free(x);
}
END_TEST

START_TEST(test_check_map_needs_channel_and_shmem)
{
	struct bx *x = bx_setup(NULL, all_pfeatures() &
				~(UINT64_C(1) << SHMEM_BIT));
	struct refbe_map_req r = mreq(0, 0, 0x1000, true);
	char err[160];

	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "SHMEM"));
	bx_free(x);
	x = bx_setup(NULL, all_pfeatures() &
		     ~(UINT64_C(1) << PROTO_PF_BACKEND_REQ));
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -ENOTCONN);
	bx_free(x);
	x = bx_setup(NULL, all_pfeatures() &
		     ~(UINT64_C(1) << PROTO_PF_BACKEND_SEND_FD));
	ck_assert_int_eq(refbe_check_map(x->be, &r, err, sizeof(err)), -EPERM);
	bx_free(x);
}
END_TEST

START_TEST(test_check_unmap_only_live)
{
	struct bx *x = bx_new(NULL);
	struct refbe_map_req r = mreq(0, 0x2000, 0x2000, true), u;
	char err[160];

	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(map_answered(x, &r, 0), REFBE_DONE);
	ck_assert_int_eq(refbe_check_unmap(x->be, &r, err, sizeof(err)), 0);
	u = mreq(0, 0x2000, 0x1000, false);
	ck_assert_int_eq(refbe_check_unmap(x->be, &u, err, sizeof(err)), -ENOENT);
	u = mreq(0, 0x1000, 0x3000, false);
	ck_assert_int_eq(refbe_check_unmap(x->be, &u, err, sizeof(err)), -ENOENT);
	bx_free(x);
}
END_TEST
