/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/core/ledger: a back-end's MAP/UNMAP judged
 * against the regions it advertised (digest 6 and 7), on its own.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "vhutest.h"

static void init_one(struct ledger *l, uint64_t size)
{
	struct proto_shmem_config cfg = { .nregions = 1 };

	cfg.memory_sizes[0] = size;
	ledger_init(l, &cfg);
}

static struct proto_mmap mm(uint8_t shmid, uint64_t off, uint64_t len)
{
	struct proto_mmap m = { .shmid = shmid, .shm_offset = off, .len = len };

	return m;
}

TEST_CASE("ledger");

START_TEST(ledger_rules)
{
	struct proto_shmem_config cfg = { .nregions = 1 };
	struct proto_mmap m = { .shm_offset = 0x1000, .len = 0x1000 };
	struct ledger l;

	cfg.memory_sizes[0] = 0x10000;
	ledger_init(&l, &cfg);
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 0);
	m.shm_offset = 0x2000;                  /* touching: fine */
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 0);
	m.shm_offset = 0x1800;                  /* overlap */
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 1);
	ck_assert_ptr_nonnull(strstr(l.first, "overlaps"));
	m.shm_offset = 0x2000;
	m.len = 0x800;                          /* partial UNMAP */
	ledger_on_unmap(&l, &m);
	ck_assert_uint_eq(l.violations, 2);
	m.len = 0x1000;
	ledger_on_unmap(&l, &m);
	ck_assert_uint_eq(l.violations, 2);
	ck_assert_uint_eq(l.nlive, 1);
	ledger_refuse_last(&l);                 /* the UNMAP was refused */
	ck_assert_uint_eq(l.nlive, 2);
	m.shm_offset = 0xf000;
	m.len = 0x2000;                         /* past the end */
	ledger_on_map(&l, &m);
	m.shm_offset = UINT64_MAX - 0xfff;      /* wraps */
	ledger_on_map(&l, &m);
	m.shmid = 3;                            /* no such region */
	m.shm_offset = 0;
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 5);
	ledger_clear(&l);
	ck_assert_uint_eq(l.nlive, 0);
	ledger_init(&l, NULL);
	ledger_on_unmap(&l, &m);
	ck_assert_ptr_nonnull(strstr(l.first, "without SHMEM"));
}
END_TEST

START_TEST(init_copies_the_layout_or_none)
{
	struct ledger l;

	init_one(&l, 0x4000);
	ck_assert(l.have_config);
	ck_assert_uint_eq(l.sizes[0], 0x4000);
	ck_assert_uint_eq(l.sizes[1], 0);
	ck_assert_uint_eq(l.nlive + l.requests + l.violations, 0);
	ledger_init(&l, NULL);
	ck_assert(!l.have_config);
	ck_assert_uint_eq(l.sizes[0], 0);
}
END_TEST

START_TEST(whole_region_and_last_byte_are_inside)
{
	struct ledger l;
	struct proto_mmap a = mm(0, 0, 0x10000), b = mm(0, 0xffff, 1);

	init_one(&l, 0x10000);
	ledger_on_map(&l, &a);
	ck_assert_uint_eq(l.violations, 0);
	ck_assert(l.last_changed);
	ledger_on_unmap(&l, &a);
	ck_assert_uint_eq(l.nlive, 0);
	ledger_on_map(&l, &b);
	ck_assert_uint_eq(l.violations, 0);
	ck_assert_uint_eq(l.nlive, 1);
	ck_assert_uint_eq(l.requests, 3);
}
END_TEST

START_TEST(len_zero_is_not_inside)
{
	struct ledger l;
	struct proto_mmap m = mm(0, 0x1000, 0);

	init_one(&l, 0x10000);
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 1);
	ck_assert_uint_eq(l.nlive, 0);
	ck_assert(!l.last_changed);
	ck_assert_ptr_nonnull(strstr(l.first, "is not inside shmid 0"));
}
END_TEST

/* Overlap is per region: the same range in another shmid is free. */
START_TEST(same_range_in_another_region_is_free)
{
	struct proto_shmem_config cfg = { .nregions = 2 };
	struct proto_mmap a = mm(0, 0, 0x1000), b = mm(1, 0, 0x1000);
	struct ledger l;

	cfg.memory_sizes[0] = cfg.memory_sizes[1] = 0x2000;
	ledger_init(&l, &cfg);
	ledger_on_map(&l, &a);
	ledger_on_map(&l, &b);
	ck_assert_uint_eq(l.violations, 0);
	ck_assert_uint_eq(l.nlive, 2);
	ledger_on_map(&l, &b);
	ck_assert_uint_eq(l.violations, 1);
	ck_assert_ptr_nonnull(strstr(l.first, "request 3"));
	ck_assert_ptr_nonnull(strstr(l.first, "shmid 1"));
}
END_TEST

/* Only the first violation is described; later ones are counted. */
START_TEST(first_violation_is_kept)
{
	struct ledger l;
	struct proto_mmap u = mm(0, 0, 0x1000), m = mm(0, 0x20000, 0x1000);

	init_one(&l, 0x10000);
	ledger_on_unmap(&l, &u);
	ledger_on_map(&l, &m);
	ck_assert_uint_eq(l.violations, 2);
	ck_assert_ptr_nonnull(strstr(l.first, "request 1: SHMEM_UNMAP"));
	ck_assert_ptr_null(strstr(l.first, "SHMEM_MAP "));
}
END_TEST

/* A refused MAP is forgotten; refusing an invalid one (nothing changed)
 * or refusing twice changes nothing. */
START_TEST(refused_map_is_undone_once)
{
	struct ledger l;
	struct proto_mmap a = mm(0, 0, 0x1000), b = mm(0, 0x1000, 0x1000);

	init_one(&l, 0x10000);
	ledger_on_map(&l, &a);
	ledger_on_map(&l, &b);
	ledger_refuse_last(&l);
	ck_assert_uint_eq(l.nlive, 1);
	ck_assert_uint_eq(l.live[0].offset, 0);
	ledger_refuse_last(&l);
	ck_assert_uint_eq(l.nlive, 1);
	ledger_on_map(&l, &a);                  /* overlap: not added */
	ledger_refuse_last(&l);
	ck_assert_uint_eq(l.nlive, 1);
	ck_assert_uint_eq(l.violations, 1);
}
END_TEST

/* After a reset nothing is live and nothing can be refused. */
START_TEST(clear_forgets_everything_live)
{
	struct ledger l;
	struct proto_mmap a = mm(0, 0, 0x1000);

	init_one(&l, 0x10000);
	ledger_on_map(&l, &a);
	ledger_clear(&l);
	ck_assert_uint_eq(l.nlive, 0);
	ledger_refuse_last(&l);
	ck_assert_uint_eq(l.nlive, 0);
	ledger_on_unmap(&l, &a);
	ck_assert_uint_eq(l.violations, 1);
	ledger_on_map(&l, &a);
	ck_assert_uint_eq(l.violations, 1);
	ck_assert_uint_eq(l.nlive, 1);
}
END_TEST

START_TEST(full_ledger_is_a_violation)
{
	struct ledger *l = malloc(sizeof(*l));
	struct proto_mmap m;

	ck_assert_ptr_nonnull(l);
	init_one(l, (uint64_t)LEDGER_MAX_LIVE * 2 * 0x1000);
	for (unsigned i = 0; i < LEDGER_MAX_LIVE; i++) {
		m = mm(0, (uint64_t)i * 0x1000, 0x1000);
		ledger_on_map(l, &m);
	}
	ck_assert_uint_eq(l->violations, 0);
	ck_assert_uint_eq(l->nlive, LEDGER_MAX_LIVE);
	m = mm(0, (uint64_t)LEDGER_MAX_LIVE * 0x1000, 0x1000);
	ledger_on_map(l, &m);
	ck_assert_uint_eq(l->violations, 1);
	ck_assert_ptr_nonnull(strstr(l->first, "ledger full"));
	ck_assert_uint_eq(l->nlive, LEDGER_MAX_LIVE);
	free(l);
}
END_TEST
