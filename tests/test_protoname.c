/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/core/protoname: request and feature names, both
 * ways. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "protoname.h"
#include "vhutest.h"

TEST_CASE("names");

START_TEST(fe_names_both_ways)
{
	char buf[64];

	for (uint32_t id = 1; id <= PROTO_FE_REQ_MAX; id++) {
		const char *n = proto_req_name(PROTO_CHAN_MAIN, id);

		ck_assert_msg(n != NULL, "main request %u has no name", id);
		ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, n), (int)id);
		snprintf(buf, sizeof(buf), "VHOST_USER_%s", n);
		ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, buf),
				 (int)id);
		for (char *p = buf; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, buf),
				 (int)id);
	}
	ck_assert_str_eq(proto_req_name(PROTO_CHAN_MAIN, 44),
			 "GET_SHMEM_CONFIG");
	ck_assert_str_eq(proto_req_name(PROTO_CHAN_MAIN, 21),
			 "SET_BACKEND_REQ_FD");
}
END_TEST

START_TEST(be_names_both_ways)
{
	static const char *const forms[] = { "%s", "VHOST_USER_BACKEND_%s",
		"vhost_user_backend_%s", "VHOST_USER_SLAVE_%s" };
	char buf[80];

	for (uint32_t id = 1; id <= PROTO_BE_REQ_MAX; id++) {
		const char *n = proto_req_name(PROTO_CHAN_BACKEND, id);

		ck_assert_ptr_nonnull(n);
		for (size_t f = 0; f < 4; f++) {
			snprintf(buf, sizeof(buf), forms[f], n);
			ck_assert_msg(proto_req_by_name(PROTO_CHAN_BACKEND,
							buf) == (int)id,
				      "%s", buf);
		}
	}
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_BACKEND, "shmem_map"), 9);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_BACKEND, "SHMEM_UNMAP"),
			 10);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_BACKEND,
					   "VHOST_USER_BACKEND_SHMEM_MAP"), 9);
}
END_TEST

START_TEST(names_unknown_and_channels_apart)
{
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_MAIN, 0));
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_MAIN, 45));
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_BACKEND, 0));
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_BACKEND, 11));
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_BACKEND, 1000));
	ck_assert_ptr_null(proto_req_name(PROTO_CHAN_MAIN, 0xffffffffu));
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, "SHMEM_MAP"), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_BACKEND,
					   "GET_SHMEM_CONFIG"), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, "BOGUS"), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, ""), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, NULL), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, "VHOST_USER_"), -1);
	ck_assert_int_eq(proto_req_by_name(PROTO_CHAN_MAIN, "GET_FEATURESX"),
			 -1);
	/* Same id, different requests per channel. */
	ck_assert_str_eq(proto_req_name(PROTO_CHAN_MAIN, 9), "SET_VRING_ADDR");
	ck_assert_str_eq(proto_req_name(PROTO_CHAN_BACKEND, 9), "SHMEM_MAP");
}
END_TEST

START_TEST(pfeat_names_both_ways)
{
	static const unsigned bits[] = { 20, 21, 22 };
	char buf[80];

	for (size_t k = 0; k < 3; k++) {
		unsigned sb = bits[k];

		for (unsigned b = 0; b < 20; b++) {
			const char *n = proto_pfeat_name(b, sb);

			ck_assert_ptr_nonnull(n);
			ck_assert_int_eq(proto_pfeat_by_name(n, sb), (int)b);
			snprintf(buf, sizeof(buf), "VHOST_USER_PROTOCOL_F_%s", n);
			ck_assert_int_eq(proto_pfeat_by_name(buf, sb), (int)b);
		}
		ck_assert_str_eq(proto_pfeat_name(sb, sb), "SHMEM");
		ck_assert_int_eq(proto_pfeat_by_name("SHMEM", sb), (int)sb);
		ck_assert_int_eq(proto_pfeat_by_name("shmem", sb), (int)sb);
		ck_assert_int_eq(proto_pfeat_by_name(
					 "VHOST_USER_PROTOCOL_F_SHMEM", sb),
				 (int)sb);
		for (unsigned b = 20; b < 64; b++)
			if (b != sb)
				ck_assert_ptr_null(proto_pfeat_name(b, sb));
	}
	ck_assert_str_eq(proto_pfeat_name(3, 22), "REPLY_ACK");
	ck_assert_str_eq(proto_pfeat_name(5, 22), "BACKEND_REQ");
	ck_assert_str_eq(proto_pfeat_name(10, 22), "BACKEND_SEND_FD");
	ck_assert_int_eq(proto_pfeat_by_name("reply_ack", 22), 3);
	ck_assert_int_eq(proto_pfeat_by_name("SLAVE_SEND_FD", 22), 10);
	ck_assert_int_eq(proto_pfeat_by_name("NOPE", 22), -1);
	ck_assert_int_eq(proto_pfeat_by_name(NULL, 22), -1);
}
END_TEST

START_TEST(virtio_feat_names)
{
	ck_assert_str_eq(proto_feat_name(PROTO_F_PROTOCOL_FEATURES),
			 "PROTOCOL_FEATURES");
	ck_assert_str_eq(proto_feat_name(32), "VERSION_1");
	ck_assert_ptr_null(proto_feat_name(0));
	ck_assert_ptr_null(proto_feat_name(63));
}
END_TEST
