/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/monitor/monledger: the back-end's MAP/UNMAP
 * judged against the regions and its live mappings, refusals undone,
 * resets, fed message by message as the proxy would feed them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monfx.h"
#include "vhutest.h"

TEST_CASE("checks");

START_TEST(overlap_accepted_is_flagged)
{
	struct fx *x = fx_new();
	const struct monitor_finding *f;

	handshake(x, true, true);
	mmap_req(x, true, 0x2000, 0x2000, 0);
	mmap_req(x, true, 0x1000, 0x2000, 0); /* straddles the start */
	f = find(x, "MAP_ACCEPTED_INVALID");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_FRONTEND);
	ck_assert_int_eq(f->severity, PROTO_SEV_ERROR);
	ck_assert_int_eq(f->check, MONITOR_CHECK_VERDICTS);
	ck_assert_ptr_nonnull(strstr(f->text, "overlaps"));
	f = find(x, "BACKEND_LEDGER");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->side, MONITOR_BACKEND);
	ck_assert_uint_eq(x->sink.n, 2);
	free(x);
}
END_TEST

START_TEST(refused_map_is_not_live)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	mmap_req(x, true, 0x1000, 0x1000, 1); /* valid, refused: MAY fail */
	ck_assert_uint_eq(count(x, "MAP_REFUSED_VALID"), 1);
	ck_assert_int_eq(find(x, "MAP_REFUSED_VALID")->severity, PROTO_SEV_INFO);
	mmap_req(x, true, 0x1000, 0x1000, 0); /* so this one is no overlap */
	ck_assert_uint_eq(x->m.nfindings, 1);
	ck_assert_uint_eq(x->m.ledger.nlive, 2);
	free(x);
}
END_TEST

START_TEST(overlap_refused_is_fine_for_the_frontend)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x2000, 0);
	mmap_req(x, true, 0, 0x2000, 1);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 0);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 1); /* the back-end's doing */
	ck_assert_uint_eq(x->m.ledger.nlive, 1);
	free(x);
}
END_TEST

START_TEST(bounds_and_wrap)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0xff000, 0x2000, 0); /* past the 1M region */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	mmap_req(x, true, UINT64_MAX - 0xfff, 0x2000, 0); /* wraps */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 2);
	ck_assert_uint_eq(count(x, "MMAP_WRAP"), 1);
	free(x);
}
END_TEST

START_TEST(len_zero_is_soft)
{
	struct fx *x = fx_new();
	const struct monitor_finding *f;

	handshake(x, true, true);
	mmap_req(x, true, 0, 0, 0);
	f = find(x, "MAP_ACCEPTED_LEN_ZERO");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->severity, PROTO_SEV_WARN);
	ck_assert_uint_eq(count(x, "MMAP_LEN_ZERO"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 0);
	ck_assert_uint_eq(x->m.by_severity[PROTO_SEV_ERROR], 0);
	free(x);
}
END_TEST

START_TEST(unmap_must_be_exact)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x2000, 0);
	mmap_req(x, false, 0, 0x1000, 0); /* partial, accepted */
	ck_assert_uint_eq(count(x, "UNMAP_ACCEPTED_INVALID"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER"), 1);
	mmap_req(x, false, 0, 0x2000, 1); /* exact, refused */
	ck_assert_uint_eq(count(x, "UNMAP_REFUSED_VALID"), 1);
	ck_assert_uint_eq(x->m.ledger.nlive, 1); /* still live */
	mmap_req(x, false, 0, 0x2000, 0);
	ck_assert_uint_eq(x->m.ledger.nlive, 0);
	ck_assert_uint_eq(x->m.nfindings, 3);
	free(x);
}
END_TEST

START_TEST(reset_clears_the_ledger)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0, 0x1000, 0);
	fe(x, PROTO_RESET_DEVICE, 0, NULL, 0, 0);
	ck_assert_uint_eq(x->m.ledger.nlive, 0);
	mmap_req(x, true, 0, 0x1000, 0); /* the same range again: fine */
	no_findings(x);
	fe_u64(x, PROTO_SET_STATUS, 0, 0); /* SET_STATUS 0 resets too */
	ck_assert_uint_eq(x->m.resets, 2);
	mmap_req(x, true, 0, 0x1000, 1); /* refused before the restart: allowed */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 0);
	ck_assert_ptr_nonnull(strstr(find(x, "MAP_REFUSED_VALID")->text, "not started"));
	fe_u64(x, PROTO_SET_STATUS, 0, 0xf);
	mmap_req(x, true, 0, 0x1000, 1); /* refused when started: it kept it */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 1);
	ck_assert_int_eq(find(x, "RESET_KEPT_MAPPING")->check, MONITOR_CHECK_LIFECYCLE);
	free(x);
}
END_TEST

START_TEST(reset_kept_caught_by_unmap)
{
	struct fx *x = fx_new();

	handshake(x, true, true);
	mmap_req(x, true, 0x4000, 0x1000, 0);
	fe(x, PROTO_RESET_OWNER, 0, NULL, 0, 0);
	mmap_req(x, false, 0x4000, 0x1000, 0); /* accepted: it was still there */
	ck_assert_uint_eq(count(x, "RESET_KEPT_MAPPING"), 1);
	ck_assert_uint_eq(count(x, "BACKEND_LEDGER_RESET"), 1);
	ck_assert_int_eq(find(x, "BACKEND_LEDGER_RESET")->severity, PROTO_SEV_WARN);
	free(x);
}
END_TEST

START_TEST(bounds_unknown_without_config)
{
	struct fx *x = fx_new();

	handshake(x, true, false);
	mmap_req(x, true, 0x7fff0000, 0x1000, 0);
	ck_assert_uint_eq(count(x, "BOUNDS_UNKNOWN"), 1);
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 0);
	mmap_req(x, true, 0x7fff0000, 0x1000, 0); /* overlaps still checked */
	ck_assert_uint_eq(count(x, "MAP_ACCEPTED_INVALID"), 1);
	ck_assert_uint_eq(count(x, "BOUNDS_UNKNOWN"), 1);
	free(x);
}
END_TEST
