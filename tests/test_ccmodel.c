/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/engine/ccmodel: the worlds casecheck follows a
 * case with; what the spec fixes about one MAP/UNMAP, and how an outcome
 * the spec leaves open splits every world in two. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ccmodel.h"
#include "vhutest.h"

#define NWORLDS (2 * CCM_MAX_WORLDS + 2)

/* A model of one 64 KiB region (shmid 0) in one empty world. */
static struct ccm *model_new(void)
{
	struct ccm *k = calloc(1, sizeof(*k));

	ck_assert_ptr_nonnull(k);
	k->w = calloc(NWORLDS, sizeof(*k->w));
	k->tmp = calloc(NWORLDS, sizeof(*k->tmp));
	ck_assert(k->w && k->tmp);
	k->nw = 1;
	k->size[0] = 0x10000;
	return k;
}

static void model_free(struct ccm *k)
{
	free(k->w);
	free(k->tmp);
	free(k);
}

static struct ccm_req req(bool map, uint64_t off, uint64_t len, unsigned line)
{
	struct ccm_req q = { .map = map, .shmid = 0, .off = off, .len = len,
			     .line = line };
	return q;
}

TEST_CASE("text");

START_TEST(range_text_plain_and_wrapping)
{
	char b[64];

	ccm_range_text(b, sizeof(b), 0x2000, 0x1001);
	ck_assert_str_eq(b, "[0x2000, 0x3001)");
	ccm_range_text(b, sizeof(b), 0xfffffffffffff000ull, 0x2000);
	ck_assert_str_eq(b, "[0xfffffffffffff000, +0x2000)");
	ccm_fmt(b, 4, "%s", "truncated");
	ck_assert_str_eq(b, "tru");
}
END_TEST

START_TEST(give_up_keeps_the_first_reason)
{
	struct ccm *k = model_new();
	struct script_step steps[2] = { { .line = 3 }, { .line = 9 } };
	struct script_case c = { .steps = steps, .nsteps = 2 };

	k->c = &c;
	k->idx = 1;
	ccm_give_up(k, "first");
	ccm_give_up(k, "second");
	ck_assert(k->stop);
	ck_assert_uint_eq(k->stop_line, 9);
	ck_assert_ptr_nonnull(strstr(k->stop_why, "first"));
	ck_assert_ptr_null(strstr(k->stop_why, "second"));
	model_free(k);
}
END_TEST

TEST_CASE("spec");

/* What holds in every world: the region exists, the range is inside it
 * and does not wrap. */
START_TEST(map_static_region_bounds_wrap)
{
	struct ccm *k = model_new();
	struct ccm_req q = req(true, 0, 0x1000, 1);
	char why[128];

	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_OK);
	q.off = 0xf000;
	q.len = 0x2000;
	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "outside the region"));
	q.off = 0xfffffffffffff000ull;
	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "wraps"));
	q = req(true, 0, 0x1000, 1);
	q.shmid = 1;
	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "no region"));
	/* what the model does not know, it does not judge */
	k->shm[0] = CCM_SHM_SIZE_UNKNOWN;
	q.shmid = 0;
	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_SKIP);
	k->shm[0] = CCM_SHM_LIVE_UNKNOWN;
	ck_assert_int_eq(ccm_map_static(k, &q, why, sizeof(why)), CCM_OUT_SKIP);
	model_free(k);
}
END_TEST

TEST_CASE("worlds");

/* A MAP the spec fixes is applied alike; a second MAP over it fails; an
 * UNMAP must be the exact range. */
START_TEST(map_overlap_and_exact_unmap)
{
	struct ccm *k = model_new();
	struct ccm_req a = req(true, 0x1000, 0x2000, 1);
	struct ccm_req b = req(true, 0x2000, 0x1000, 2);
	struct ccm_req partial = req(false, 0x1000, 0x1000, 3);
	struct ccm_req exact = req(false, 0x1000, 0x2000, 4);

	ccm_apply(k, &a, CCM_OUT_OK, "", true);
	ck_assert_uint_eq(k->nw, 1);
	ck_assert_uint_eq(k->w[0].nlive, 1);
	ck_assert_uint_eq(k->w[0].pend[0].flags, CCM_P_KNOWN | CCM_P_OK | CCM_P_FORCED);
	ccm_apply(k, &b, CCM_OUT_OK, "", true);
	ck_assert_uint_eq(k->w[0].nlive, 1);
	ck_assert_uint_eq(k->w[0].pend[1].flags, CCM_P_KNOWN | CCM_P_FORCED);
	ck_assert_ptr_nonnull(strstr(k->w[0].pend[1].why, "overlaps the live mapping"));
	ccm_apply(k, &partial, CCM_OUT_OK, "", true);
	ck_assert_uint_eq(k->w[0].nlive, 1);
	ck_assert_ptr_nonnull(strstr(k->w[0].pend[2].why, "not exactly"));
	ccm_apply(k, &exact, CCM_OUT_OK, "", true);
	ck_assert_uint_eq(k->w[0].nlive, 0);
	ck_assert(!k->stop);
	model_free(k);
}
END_TEST

/* An outcome the spec leaves open: two worlds, one with the mapping and
 * one without; the same request again makes no third. */
START_TEST(open_outcome_splits_and_dedupes)
{
	struct ccm *k = model_new();
	struct ccm_req q = req(true, 0, 0x1000, 1);
	struct ccm_req un = req(false, 0, 0x1000, 2);

	strcpy(q.open, "the digest leaves it open");
	ccm_apply(k, &q, CCM_OUT_OK, "", false);
	ck_assert_uint_eq(k->nw, 2);
	ck_assert_uint_eq(k->w[0].nlive + k->w[1].nlive, 1);
	/* the exact UNMAP of it: fixed in the world that has it, fails in
	 * the other; both end empty and become one world */
	ccm_apply(k, &un, CCM_OUT_OK, "", false);
	ck_assert_uint_eq(k->nw, 1);
	ck_assert_uint_eq(k->w[0].nlive, 0);
	model_free(k);
}
END_TEST

/* Live mappings nobody can know any more make their shmid unknown. */
START_TEST(forget_live_marks_the_shmid)
{
	struct ccm *k = model_new();
	struct ccm_req q = req(true, 0, 0x1000, 1);

	ccm_apply(k, &q, CCM_OUT_OK, "", false);
	ccm_forget_live(k);
	ck_assert(k->shm[0] & CCM_SHM_LIVE_UNKNOWN);
	ck_assert(!(k->shm[1] & CCM_SHM_LIVE_UNKNOWN));
	model_free(k);
}
END_TEST

START_TEST(world_copy_and_succeed)
{
	struct ccm_world *a = calloc(2, sizeof(*a));
	struct ccm_req q = req(true, 0x3000, 0x1000, 7);

	ck_assert_ptr_nonnull(a);
	ck_assert(ccm_succeed(&a[0], &q));
	ccm_pend_push(&a[0], CCM_P_KNOWN, "why");
	ccm_world_copy(&a[1], &a[0]);
	ck_assert_uint_eq(a[1].nlive, 1);
	ck_assert_uint_eq(a[1].live[0].line, 7);
	ck_assert_uint_eq(a[1].npend, 1);
	ck_assert_str_eq(a[1].pend[0].why, "why");
	q.map = false;
	ck_assert(ccm_succeed(&a[1], &q));
	ck_assert_uint_eq(a[1].nlive, 0);
	ck_assert_uint_eq(a[0].nlive, 1);
	free(a);
}
END_TEST
