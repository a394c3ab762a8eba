/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/core/proto: the codecs and the request tables
 * (expected sizes, fds, reply bodies). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "protosample.h"
#include "vhutest.h"

/* ---- helpers ---- */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ---- header ---- */

TEST_CASE("codec");

START_TEST(hdr_roundtrip)
{
	struct proto_hdr h = { 44, 0x5, 2056 }, d;
	uint8_t b[12];

	ck_assert_int_eq(proto_hdr_encode(&h, b, sizeof(b)), 12);
	ck_assert_uint_eq(rd32(b), 44);
	ck_assert_uint_eq(rd32(b + 4), 0x5);
	ck_assert_uint_eq(rd32(b + 8), 2056);
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &d), PROTO_OK);
	ck_assert(d.request == 44 && d.flags == 5 && d.size == 2056);
}
END_TEST

START_TEST(hdr_short_each_length)
{
	uint8_t b[12] = { 1 };
	struct proto_hdr h;

	for (size_t n = 0; n < 12; n++)
		ck_assert_int_eq(proto_hdr_decode(b, n, &h), PROTO_E_SHORT);
	ck_assert_int_eq(proto_hdr_encode(&h, b, 11), PROTO_E_BUFFER);
}
END_TEST

START_TEST(hdr_toobig_still_filled)
{
	struct proto_hdr h = { 9, 1, PROTO_MAX_PAYLOAD + 1 }, d = { 0 };
	uint8_t b[12];

	proto_hdr_encode(&h, b, sizeof(b));
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &d), PROTO_E_TOOBIG);
	ck_assert_uint_eq(d.size, PROTO_MAX_PAYLOAD + 1);
	ck_assert_uint_eq(d.request, 9);
	h.size = 0xffffffffu;
	proto_hdr_encode(&h, b, sizeof(b));
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &d), PROTO_E_TOOBIG);
	h.size = PROTO_MAX_PAYLOAD;
	proto_hdr_encode(&h, b, sizeof(b));
	ck_assert_int_eq(proto_hdr_decode(b, sizeof(b), &d), PROTO_OK);
}
END_TEST

/* ---- fixed payloads ---- */

START_TEST(u64_roundtrip_and_lengths)
{
	uint8_t b[9] = { 0 };
	uint64_t v = 0;

	ck_assert_int_eq(proto_u64_encode(0x0123456789abcdefull, b, 8), 8);
	ck_assert_int_eq(proto_u64_decode(b, 8, &v), PROTO_OK);
	ck_assert(v == 0x0123456789abcdefull);
	for (size_t n = 0; n < 8; n++)
		ck_assert_int_eq(proto_u64_decode(b, n, &v), PROTO_E_SHORT);
	ck_assert_int_eq(proto_u64_decode(b, 9, &v), PROTO_E_SIZE);
	ck_assert_int_eq(proto_u64_encode(1, b, 7), PROTO_E_BUFFER);
}
END_TEST

START_TEST(mmap_wire_layout)
{
	struct proto_mmap m = sample_mmap();
	uint8_t b[40];

	m.shmid = 7;
	m.padding[6] = 0xee;
	m.fd_offset = 0x1111;
	m.shm_offset = 0x2222;
	m.len = 0x3333;
	m.flags = 0x4444;
	mmap_bytes(&m, b);
	ck_assert_uint_eq(b[0], 7);
	ck_assert_uint_eq(b[7], 0xee);
	ck_assert(rd64(b + 8) == 0x1111 && rd64(b + 16) == 0x2222);
	ck_assert(rd64(b + 24) == 0x3333 && rd64(b + 32) == 0x4444);
}
END_TEST

START_TEST(mmap_roundtrip)
{
	struct proto_mmap m = sample_mmap(), d;
	uint8_t b[40];

	m.shmid = 255;
	m.fd_offset = UINT64_MAX;
	m.padding[0] = 3;
	mmap_bytes(&m, b);
	ck_assert_int_eq(proto_mmap_decode(b, 40, &d), PROTO_OK);
	ck_assert_mem_eq(&m, &d, sizeof(m));
}
END_TEST

START_TEST(mmap_bad_lengths)
{
	uint8_t b[41] = { 0 };
	struct proto_mmap d;

	for (size_t n = 0; n < 40; n++)
		ck_assert_int_eq(proto_mmap_decode(b, n, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_mmap_decode(b, 41, &d), PROTO_E_SIZE);
	ck_assert_int_eq(proto_mmap_encode(&d, b, 39), PROTO_E_BUFFER);
}
END_TEST

START_TEST(shmem_config_roundtrip)
{
	struct proto_shmem_config *c = sample_config(), *d = calloc(1, sizeof(*d));
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];

	c->nregions = 300; /* reported as sent: the validator's business */
	c->padding = 0xabcd;
	c->memory_sizes[255] = 0xfffffffffffff000ull;
	ck_assert_int_eq(proto_shmem_config_encode(c, b, sizeof(b)), 2056);
	ck_assert_uint_eq(rd32(b), 300);
	ck_assert(rd64(b + 8) == 0x100000);
	ck_assert(rd64(b + 8 + 8 * 255) == 0xfffffffffffff000ull);
	ck_assert_int_eq(proto_shmem_config_decode(b, sizeof(b), d), PROTO_OK);
	ck_assert_mem_eq(c, d, sizeof(*c));
	free(c);
	free(d);
}
END_TEST

START_TEST(shmem_config_bad_lengths)
{
	static const size_t lens[] = { 0, 1, 4, 8, 16, 2048, 2055 };
	uint8_t *b = calloc(1, 4096);
	struct proto_shmem_config *c = calloc(1, sizeof(*c));

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		ck_assert_int_eq(proto_shmem_config_decode(b, lens[i], c),
				 PROTO_E_SHORT);
	ck_assert_int_eq(proto_shmem_config_decode(b, 2057, c), PROTO_E_SIZE);
	ck_assert_int_eq(proto_shmem_config_decode(b, 4096, c), PROTO_E_SIZE);
	ck_assert_int_eq(proto_shmem_config_encode(c, b, 2055), PROTO_E_BUFFER);
	free(b);
	free(c);
}
END_TEST

START_LOOP_TEST(mem_table_roundtrip_each_count, 0, 9)
{
	struct proto_mem_table t, d;
	uint8_t b[8 + 32 * 8];
	unsigned n = (unsigned)_i;

	memset(&t, 0, sizeof(t));
	t.nregions = n;
	for (unsigned i = 0; i < n; i++) {
		t.regions[i].guest_phys_addr = 0x100000ull * i;
		t.regions[i].memory_size = 0x1000 + i;
		t.regions[i].userspace_addr = 0x7f0000000000ull + i;
		t.regions[i].mmap_offset = i;
	}
	ck_assert_int_eq(proto_mem_table_encode(&t, b, sizeof(b)),
			 (int)(8 + 32 * n));
	ck_assert_int_eq(proto_mem_table_decode(b, 8 + 32 * n, &d), PROTO_OK);
	ck_assert_mem_eq(&t, &d, sizeof(t));
}
END_TEST

START_TEST(mem_table_nregions_out_of_range)
{
	struct proto_mem_table t, d;
	uint8_t b[1024] = { 0 };
	uint32_t bad[] = { 9, 256, 0xffffffffu };

	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < 3; i++) {
		memcpy(b, &bad[i], 4);
		ck_assert_int_eq(proto_mem_table_decode(b, sizeof(b), &d),
				 PROTO_E_RANGE);
		t.nregions = bad[i];
		ck_assert_int_eq(proto_mem_table_encode(&t, b, sizeof(b)),
				 PROTO_E_RANGE);
	}
}
END_TEST

START_TEST(mem_table_length_mismatch)
{
	uint8_t b[8 + 32 * 3] = { 2 };
	struct proto_mem_table d;
	struct proto_mem_table t = { .nregions = 2 };

	for (size_t n = 0; n < 8; n++)
		ck_assert_int_eq(proto_mem_table_decode(b, n, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_mem_table_decode(b, 8 + 32, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_mem_table_decode(b, 8 + 64 - 1, &d),
			 PROTO_E_SHORT);
	ck_assert_int_eq(proto_mem_table_decode(b, 8 + 96, &d), PROTO_E_SIZE);
	ck_assert_int_eq(proto_mem_table_decode(b, 8 + 64, &d), PROTO_OK);
	ck_assert_int_eq(proto_mem_table_encode(&t, b, 8 + 63), PROTO_E_BUFFER);
}
END_TEST

START_TEST(mem_reg_roundtrip)
{
	struct proto_mem_reg_msg r = { 0 }, d;
	uint8_t b[41];

	r.padding = 5;
	r.region.guest_phys_addr = 1;
	r.region.memory_size = 2;
	r.region.userspace_addr = 3;
	r.region.mmap_offset = 4;
	ck_assert_int_eq(proto_mem_reg_encode(&r, b, sizeof(b)), 40);
	ck_assert(rd64(b) == 5 && rd64(b + 8) == 1 && rd64(b + 32) == 4);
	ck_assert_int_eq(proto_mem_reg_decode(b, 40, &d), PROTO_OK);
	ck_assert_mem_eq(&r, &d, sizeof(r));
	ck_assert_int_eq(proto_mem_reg_decode(b, 39, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_mem_reg_decode(b, 41, &d), PROTO_E_SIZE);
	ck_assert_int_eq(proto_mem_reg_encode(&r, b, 39), PROTO_E_BUFFER);
}
END_TEST

START_TEST(vring_state_roundtrip)
{
	struct proto_vring_state s = { 3, 256 }, d;
	uint8_t b[9];

	ck_assert_int_eq(proto_vring_state_encode(&s, b, 8), 8);
	ck_assert(rd32(b) == 3 && rd32(b + 4) == 256);
	ck_assert_int_eq(proto_vring_state_decode(b, 8, &d), PROTO_OK);
	ck_assert(d.index == 3 && d.num == 256);
	for (size_t n = 0; n < 8; n++)
		ck_assert_int_eq(proto_vring_state_decode(b, n, &d),
				 PROTO_E_SHORT);
	ck_assert_int_eq(proto_vring_state_decode(b, 9, &d), PROTO_E_SIZE);
	ck_assert_int_eq(proto_vring_state_encode(&s, b, 7), PROTO_E_BUFFER);
}
END_TEST

START_TEST(vring_addr_roundtrip)
{
	struct proto_vring_addr a = { 1, 2, 3, 4, 5, 6 }, d;
	uint8_t b[41];

	ck_assert_int_eq(proto_vring_addr_encode(&a, b, 40), 40);
	ck_assert(rd32(b + 4) == 2 && rd64(b + 8) == 3 && rd64(b + 32) == 6);
	ck_assert_int_eq(proto_vring_addr_decode(b, 40, &d), PROTO_OK);
	ck_assert_mem_eq(&a, &d, sizeof(a));
	ck_assert_int_eq(proto_vring_addr_decode(b, 39, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_vring_addr_decode(b, 41, &d), PROTO_E_SIZE);
	ck_assert_int_eq(proto_vring_addr_encode(&a, b, 39), PROTO_E_BUFFER);
}
END_TEST

START_TEST(config_roundtrip_sizes)
{
	static const uint32_t sizes[] = { 0, 1, 4, 255, 256 };
	struct proto_config_space c, d;
	uint8_t b[12 + 256];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(&c, 0, sizeof(c));
		c.offset = 0x10;
		c.size = sizes[k];
		c.flags = 1;
		for (uint32_t i = 0; i < c.size; i++)
			c.region[i] = (uint8_t)(i * 7);
		ck_assert_int_eq(proto_config_encode(&c, b, sizeof(b)),
				 (int)(12 + c.size));
		ck_assert_int_eq(proto_config_decode(b, 12 + c.size, &d),
				 PROTO_OK);
		ck_assert_mem_eq(&c, &d, sizeof(c));
	}
}
END_TEST

START_TEST(config_bad_sizes)
{
	struct proto_config_space c = { .size = 257 }, d;
	uint8_t b[12 + 300] = { 0 };
	uint32_t sz = 257;

	ck_assert_int_eq(proto_config_encode(&c, b, sizeof(b)), PROTO_E_RANGE);
	memcpy(b + 4, &sz, 4);
	ck_assert_int_eq(proto_config_decode(b, 12 + 257, &d), PROTO_E_RANGE);
	sz = 0xffffffffu;
	memcpy(b + 4, &sz, 4);
	ck_assert_int_eq(proto_config_decode(b, sizeof(b), &d), PROTO_E_RANGE);
	sz = 8;
	memcpy(b + 4, &sz, 4);
	for (size_t n = 0; n < 20; n++)
		ck_assert_int_eq(proto_config_decode(b, n, &d), PROTO_E_SHORT);
	ck_assert_int_eq(proto_config_decode(b, 21, &d), PROTO_E_SIZE);
	c.size = 8;
	ck_assert_int_eq(proto_config_encode(&c, b, 19), PROTO_E_BUFFER);
}
END_TEST

START_TEST(strerror_distinct)
{
	const int errs[] = { PROTO_OK, PROTO_E_SHORT, PROTO_E_TOOBIG,
			     PROTO_E_SIZE, PROTO_E_RANGE, PROTO_E_BUFFER };

	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			ck_assert_str_ne(proto_strerror(errs[i]),
					 proto_strerror(errs[j]));
	ck_assert_str_eq(proto_strerror(-99), "unknown proto error");
}
END_TEST

/* ---- expectations ---- */

TEST_CASE("tables");

START_TEST(expected_sizes)
{
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_BACKEND, 9, false), 40);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_BACKEND, 10, false), 40);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_BACKEND, 9, true), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_BACKEND, 10, true), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 44, false), 0);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 44, true), 2056);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 1, true), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 2, false), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 2, true), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 5, false), -1);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 24, false), -1);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 37, false), 40);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 9, false), 40);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 11, true), 8);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 21, false), 0);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_MAIN, 99, false), -1);
	ck_assert_int_eq(proto_expected_size(PROTO_CHAN_BACKEND, 11, true), -1);
}
END_TEST

static void want_fds(enum proto_chan c, uint32_t req, unsigned lo, unsigned hi)
{
	unsigned a = 99, b = 99;

	ck_assert_int_eq(proto_expected_fds(c, req, &a, &b), 0);
	ck_assert_msg(a == lo && b == hi, "request %u: fds %u..%u, want %u..%u",
		      req, a, b, lo, hi);
}

START_TEST(expected_fd_counts)
{
	unsigned a, b;

	want_fds(PROTO_CHAN_BACKEND, PROTO_BE_SHMEM_MAP, 1, 1);
	want_fds(PROTO_CHAN_BACKEND, PROTO_BE_SHMEM_UNMAP, 0, 0);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_MEM_TABLE, 1, 8);
	want_fds(PROTO_CHAN_MAIN, PROTO_ADD_MEM_REG, 1, 1);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_VRING_KICK, 0, 1);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_VRING_CALL, 0, 1);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_VRING_ERR, 0, 1);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_BACKEND_REQ_FD, 1, 1);
	want_fds(PROTO_CHAN_MAIN, PROTO_GET_SHMEM_CONFIG, 0, 0);
	want_fds(PROTO_CHAN_MAIN, PROTO_SET_FEATURES, 0, 0);
	ck_assert_int_eq(proto_expected_fds(PROTO_CHAN_MAIN, 0, &a, &b), -1);
	ck_assert_int_eq(proto_expected_fds(PROTO_CHAN_BACKEND, 11, &a, &b), -1);
}
END_TEST

START_TEST(reply_bodies)
{
	static const uint32_t gets[] = { 1, 11, 15, 17, 24, 36, 40, 44 };

	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
		ck_assert_msg(proto_has_reply_body(PROTO_CHAN_MAIN, gets[i]),
			      "%u", gets[i]);
	ck_assert(!proto_has_reply_body(PROTO_CHAN_MAIN, 2));
	ck_assert(!proto_has_reply_body(PROTO_CHAN_MAIN, 5));
	ck_assert(!proto_has_reply_body(PROTO_CHAN_MAIN, 21));
	ck_assert(!proto_has_reply_body(PROTO_CHAN_BACKEND, 9));
	ck_assert(!proto_has_reply_body(PROTO_CHAN_BACKEND, 10));
	ck_assert(!proto_has_reply_body(PROTO_CHAN_MAIN, 1000));
}
END_TEST
