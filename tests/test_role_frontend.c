/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/role_frontend: what the harness as
 * front-end remembers before and after a handshake. */
#include <check.h>

#include "role_frontend.h"
#include "vhutest.h"

TEST_CASE("role_frontend");

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
