/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/role_frontend: what the harness as
 * front-end remembers before and after a handshake. */
#include <check.h>

#include "role_frontend.h"

START_TEST(fresh_has_no_request_and_an_empty_ledger)
{
	struct role_fe f;
	struct proto_mmap m = { .shmid = 0, .shm_offset = 0, .len = 0x1000 };

	rfe_init(&f);
	ck_assert_int_eq(f.last_be_req, -1);
	/* no layout advertised yet: every MAP is a violation */
	ck_assert(!f.ledger.have_config);
	ledger_on_map(&f.ledger, &m);
	ck_assert_uint_eq(f.ledger.violations, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("role_frontend");
	TCase *tc = tcase_create("role_frontend");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, fresh_has_no_request_and_an_empty_ledger);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
