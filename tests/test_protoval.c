/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/core/protoval: the validator, one finding code
 * at a time, then several at once. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "protosample.h"
#include "protoval.h"
#include "vhutest.h"

/* Validates and returns the findings (fresh list each time). */
static struct proto_findings run_validate(enum proto_chan chan, bool is_reply,
					  uint32_t req, uint32_t flags,
					  uint32_t size, const uint8_t *payload,
					  size_t payload_len, unsigned nfds)
{
	struct proto_vctx ctx = { .chan = chan, .is_reply = is_reply,
		.nfds = nfds, .payload_len = payload_len };
	struct proto_hdr h = { .request = req, .flags = flags, .size = size };
	struct proto_findings f;
	unsigned n;

	memset(&f, 0, sizeof(f));
	n = proto_validate(&ctx, &h, payload, &f);
	ck_assert_uint_eq(n, f.count);
	return f;
}

/* Asserts exactly one finding, with this code and severity. */
static void assert_one(const struct proto_findings *f,
		       enum proto_finding_code code, enum proto_severity sev)
{
	ck_assert_msg(f->count == 1, "want 1 finding (%s), got %u: %s",
		      proto_finding_name(code), f->count,
		      f->count ? f->items[0].text : "");
	ck_assert_str_eq(proto_finding_name(f->items[0].code),
			 proto_finding_name(code));
	ck_assert_int_eq(f->items[0].severity, sev);
	ck_assert(strlen(f->items[0].text) > 10);
}

static struct proto_findings validate_map(const struct proto_mmap *m,
					  uint32_t req, unsigned nfds)
{
	uint8_t b[40];

	mmap_bytes(m, b);
	return run_validate(PROTO_CHAN_BACKEND, false, req, 0x1, 40, b, 40,
			    nfds);
}

static struct proto_findings validate_config(const struct proto_shmem_config *c,
					     unsigned page)
{
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];
	struct proto_vctx ctx = { .chan = PROTO_CHAN_MAIN, .is_reply = true,
		.payload_len = sizeof(b), .page_size = page };
	struct proto_hdr h = { PROTO_GET_SHMEM_CONFIG, 0x5, sizeof(b) };
	struct proto_findings f;

	ck_assert_int_eq(proto_shmem_config_encode(c, b, sizeof(b)),
			 PROTO_SHMEM_CONFIG_SIZE);
	memset(&f, 0, sizeof(f));
	proto_validate(&ctx, &h, b, &f);
	return f;
}

TEST_CASE("validator");

START_TEST(validate_clean_messages)
{
	struct proto_mmap m = sample_mmap();
	struct proto_shmem_config *c = sample_config();
	struct proto_findings f;
	uint8_t u[8] = { 0 };
	uint8_t mt[8 + 32] = { 1 };
	uint8_t kick[8] = { 0 };

	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	ck_assert_uint_eq(f.count, 0);
	m.fd_offset = 0;
	m.flags = 0;
	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 0);
	ck_assert_uint_eq(f.count, 0);
	f = validate_config(c, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_BACKEND, true, 9, 0x5, 8, u, 8, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, false, 44, 0x1, 0, NULL, 0, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, false, 44, 0x9, 0, NULL, 0, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, sizeof(mt), mt,
			 sizeof(mt), 1);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, false, 12, 0x1, 8, kick, 8, 1);
	ck_assert_uint_eq(f.count, 0);
	kick[1] = 1; /* bit 8: no fd */
	f = run_validate(PROTO_CHAN_MAIN, false, 12, 0x1, 8, kick, 8, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, true, 1, 0x5, 8, u, 8, 0);
	ck_assert_uint_eq(f.count, 0);
	f = run_validate(PROTO_CHAN_MAIN, false, 21, 0x1, 0, NULL, 0, 1);
	ck_assert_uint_eq(f.count, 0);
	free(c);
}
END_TEST

START_TEST(find_version)
{
	static const uint32_t bad[] = { 0x0, 0x2, 0x3 };

	for (size_t i = 0; i < 3; i++) {
		struct proto_findings f = run_validate(
			PROTO_CHAN_MAIN, false, 44, bad[i], 0, NULL, 0, 0);

		assert_one(&f, PROTO_FIND_VERSION, PROTO_SEV_ERROR);
	}
}
END_TEST

START_TEST(find_reply_on_request)
{
	struct proto_findings f = run_validate(PROTO_CHAN_MAIN, false, 44, 0x5,
					       0, NULL, 0, 0);

	assert_one(&f, PROTO_FIND_REPLY_ON_REQUEST, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_no_reply_flag)
{
	uint8_t u[8] = { 0 };
	struct proto_findings f = run_validate(PROTO_CHAN_BACKEND, true, 9, 0x1,
					       8, u, 8, 0);

	assert_one(&f, PROTO_FIND_NO_REPLY_FLAG, PROTO_SEV_ERROR);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "0x1"));
}
END_TEST

START_TEST(find_need_reply_on_reply)
{
	uint8_t u[8] = { 0 };
	struct proto_findings f = run_validate(PROTO_CHAN_BACKEND, true, 9, 0xd,
					       8, u, 8, 0);

	assert_one(&f, PROTO_FIND_NEED_REPLY_ON_REPLY, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_unknown_flags)
{
	struct proto_findings f = run_validate(PROTO_CHAN_MAIN, false, 44,
					       0x101, 0, NULL, 0, 0);

	assert_one(&f, PROTO_FIND_UNKNOWN_FLAGS, PROTO_SEV_WARN);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "0x100"));
}
END_TEST

START_TEST(find_unknown_request)
{
	struct proto_findings f = run_validate(PROTO_CHAN_BACKEND, false, 1000,
					       0x1, 0, NULL, 0, 0);

	assert_one(&f, PROTO_FIND_UNKNOWN_REQUEST, PROTO_SEV_WARN);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "1000"));
	f = run_validate(PROTO_CHAN_MAIN, false, 45, 0x1, 0, NULL, 0, 0);
	assert_one(&f, PROTO_FIND_UNKNOWN_REQUEST, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_size_mismatch_map_is_warn)
{
	uint8_t b[48] = { 0 };
	struct proto_findings f;

	/* 32 bytes: the old crosvm layout. Not decodable, so no field checks. */
	f = run_validate(PROTO_CHAN_BACKEND, false, 9, 0x1, 32, b, 32, 1);
	assert_one(&f, PROTO_FIND_SIZE_MISMATCH, PROTO_SEV_WARN);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "32"));
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "40"));
}
END_TEST

START_TEST(find_size_mismatch_config_reply)
{
	uint8_t *b = calloc(1, 4096);
	struct proto_findings f;

	f = run_validate(PROTO_CHAN_MAIN, true, 44, 0x5, 2048, b, 2048, 0);
	assert_one(&f, PROTO_FIND_SIZE_MISMATCH, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, true, 44, 0x5, 8, b, 8, 0);
	assert_one(&f, PROTO_FIND_SIZE_MISMATCH, PROTO_SEV_ERROR);
	/* GET_SHMEM_CONFIG request with a payload */
	f = run_validate(PROTO_CHAN_MAIN, false, 44, 0x1, 8, b, 8, 0);
	assert_one(&f, PROTO_FIND_SIZE_MISMATCH, PROTO_SEV_ERROR);
	free(b);
}
END_TEST

START_TEST(find_size_mismatch_mem_table)
{
	uint8_t mt[8 + 64] = { 2 };
	struct proto_findings f;

	/* nregions 2 but only one region's worth of size */
	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, 40, mt, 40, 2);
	assert_one(&f, PROTO_FIND_SIZE_MISMATCH, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_size_too_big)
{
	struct proto_findings f = run_validate(PROTO_CHAN_BACKEND, false, 9,
					       0x1, PROTO_MAX_PAYLOAD + 1, NULL,
					       0, 1);

	assert_one(&f, PROTO_FIND_SIZE_TOO_BIG, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, false, 24, 0x1, 0xffffffffu, NULL, 0,
			 0);
	assert_one(&f, PROTO_FIND_SIZE_TOO_BIG, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_truncated)
{
	uint8_t b[40] = { 0 };
	struct proto_findings f = run_validate(PROTO_CHAN_BACKEND, false, 9,
					       0x1, 40, b, 20, 1);

	assert_one(&f, PROTO_FIND_TRUNCATED, PROTO_SEV_ERROR);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "20"));
}
END_TEST

START_TEST(find_mmap_padding)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	m.padding[3] = 1;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_PADDING, PROTO_SEV_WARN);
	ck_assert_str_eq(f.items[0].text,
			 "SHMEM_MAP padding byte 3 is 0x01, expected 0.");
	m.flags = 0;
	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 0);
	assert_one(&f, PROTO_FIND_MMAP_PADDING, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_mmap_flags)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	m.flags = 0x3;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_FLAGS, PROTO_SEV_WARN);
	m.flags = 1ull << 63;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_FLAGS, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_mmap_len_zero)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	m.len = 0;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_LEN_ZERO, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_mmap_wrap_shm)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	m.shm_offset = UINT64_MAX - 0x1fff; /* ends at 2^64 - 0x1000 */
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	ck_assert_uint_eq(f.count, 0);
	/* An end of exactly 2^64 is not representable: it wraps to 0. */
	m.shm_offset = UINT64_MAX - 0xfff;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_WRAP, PROTO_SEV_ERROR);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "shm_offset"));
	m.flags = 0;
	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 0);
	assert_one(&f, PROTO_FIND_MMAP_WRAP, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_mmap_wrap_fd)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	m.fd_offset = UINT64_MAX;
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 1);
	assert_one(&f, PROTO_FIND_MMAP_WRAP, PROTO_SEV_WARN);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "fd_offset"));
}
END_TEST

START_TEST(find_unmap_fields)
{
	struct proto_mmap m = sample_mmap(); /* flags RW */
	struct proto_findings f;

	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 0);
	assert_one(&f, PROTO_FIND_UNMAP_FIELDS, PROTO_SEV_WARN);
	m.flags = 0;
	m.fd_offset = 0x1000;
	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 0);
	assert_one(&f, PROTO_FIND_UNMAP_FIELDS, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_fd_count_map)
{
	struct proto_mmap m = sample_mmap();
	struct proto_findings f;

	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 0);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	f = validate_map(&m, PROTO_BE_SHMEM_MAP, 2);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	ck_assert_str_eq(f.items[0].text,
			 "SHMEM_MAP request carries 2 fds, expected 1.");
	m.flags = 0;
	f = validate_map(&m, PROTO_BE_SHMEM_UNMAP, 1);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_fd_count_other)
{
	uint8_t mt[8 + 64] = { 2 };
	uint8_t kick[8] = { 0 };
	uint8_t u[8] = { 0 };
	struct proto_findings f;

	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, sizeof(mt), mt,
			 sizeof(mt), 1);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, false, 12, 0x1, 8, kick, 8, 0);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	kick[1] = 1;
	f = run_validate(PROTO_CHAN_MAIN, false, 13, 0x1, 8, kick, 8, 1);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, false, 21, 0x1, 0, NULL, 0, 0);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, false, 44, 0x1, 0, NULL, 0, 9);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_ERROR);
	/* A reply that carries an fd it should not: only a warning. */
	f = run_validate(PROTO_CHAN_BACKEND, true, 9, 0x5, 8, u, 8, 1);
	assert_one(&f, PROTO_FIND_FD_COUNT, PROTO_SEV_WARN);
}
END_TEST

START_TEST(find_shmem_nregions)
{
	struct proto_shmem_config *c = sample_config();
	struct proto_findings f;

	c->nregions = 257;
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_NREGIONS, PROTO_SEV_ERROR);
	c->nregions = 0xffffffffu;
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_NREGIONS, PROTO_SEV_ERROR);
	free(c);
}
END_TEST

START_TEST(find_shmem_nregions_mismatch)
{
	struct proto_shmem_config *c = sample_config();
	struct proto_findings f;

	c->nregions = 256; /* the "array length" reading */
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_NREGIONS_MISMATCH, PROTO_SEV_WARN);
	c->nregions = 1;
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_NREGIONS_MISMATCH, PROTO_SEV_WARN);
	free(c);
}
END_TEST

START_TEST(find_shmem_page)
{
	struct proto_shmem_config *c = sample_config();
	struct proto_findings f;

	c->memory_sizes[1] = 0x10800;
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_PAGE, PROTO_SEV_ERROR);
	ck_assert_ptr_nonnull(strstr(f.items[0].text, "memory_sizes[1]"));
	/* 0x10000 is a 4k multiple but not a 2M one. */
	c->memory_sizes[1] = 0x10000;
	f = validate_config(c, 0x200000);
	assert_one(&f, PROTO_FIND_SHMEM_PAGE, PROTO_SEV_ERROR);
	free(c);
}
END_TEST

START_TEST(find_shmem_padding)
{
	struct proto_shmem_config *c = sample_config();
	struct proto_findings f;

	c->padding = 7;
	f = validate_config(c, 0);
	assert_one(&f, PROTO_FIND_SHMEM_PADDING, PROTO_SEV_WARN);
	free(c);
}
END_TEST

START_TEST(find_mem_nregions)
{
	uint8_t mt[8 + 32 * 9] = { 0 };
	uint32_t n = 0;
	struct proto_findings f;

	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, 8, mt, 8, 0);
	assert_one(&f, PROTO_FIND_MEM_NREGIONS, PROTO_SEV_ERROR);
	n = 9;
	memcpy(mt, &n, 4);
	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, sizeof(mt), mt,
			 sizeof(mt), 8);
	assert_one(&f, PROTO_FIND_MEM_NREGIONS, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_reply_value_size)
{
	uint8_t u[16] = { 0 };
	struct proto_findings f;

	f = run_validate(PROTO_CHAN_BACKEND, true, 9, 0x5, 4, u, 4, 0);
	assert_one(&f, PROTO_FIND_REPLY_VALUE, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_BACKEND, true, 10, 0x5, 0, NULL, 0, 0);
	assert_one(&f, PROTO_FIND_REPLY_VALUE, PROTO_SEV_ERROR);
	f = run_validate(PROTO_CHAN_MAIN, true, 2, 0x5, 16, u, 16, 0);
	assert_one(&f, PROTO_FIND_REPLY_VALUE, PROTO_SEV_ERROR);
}
END_TEST

START_TEST(find_other_padding)
{
	uint8_t mt[8 + 32] = { 1, 0, 0, 0, 9 };
	uint8_t mr[40] = { 1 };
	struct proto_findings f;

	f = run_validate(PROTO_CHAN_MAIN, false, 5, 0x1, sizeof(mt), mt,
			 sizeof(mt), 1);
	assert_one(&f, PROTO_FIND_PADDING, PROTO_SEV_WARN);
	f = run_validate(PROTO_CHAN_MAIN, false, 37, 0x1, 40, mr, 40, 1);
	assert_one(&f, PROTO_FIND_PADDING, PROTO_SEV_WARN);
}
END_TEST

START_TEST(validate_reports_everything)
{
	struct proto_mmap m = sample_mmap();
	uint8_t b[40];
	struct proto_findings f;

	m.padding[0] = 1;
	m.flags = 0x10;
	m.len = 0;
	mmap_bytes(&m, b);
	/* version 2, undefined header bit, no fd */
	f = run_validate(PROTO_CHAN_BACKEND, false, 9, 0x22, 40, b, 40, 0);
	ck_assert_uint_eq(f.count, 6);
	ck_assert_uint_eq(f.dropped, 0);
}
END_TEST

START_TEST(validate_appends_and_drops)
{
	struct proto_vctx ctx = { .chan = PROTO_CHAN_MAIN };
	struct proto_hdr h = { 44, 0x0, 0 };
	struct proto_findings f;

	memset(&f, 0, sizeof(f));
	ck_assert_uint_eq(proto_validate(&ctx, &h, NULL, &f), 1);
	ck_assert_uint_eq(proto_validate(&ctx, &h, NULL, &f), 1);
	ck_assert_uint_eq(f.count, 2);
	f.count = PROTO_MAX_FINDINGS;
	ck_assert_uint_eq(proto_validate(&ctx, &h, NULL, &f), 0);
	ck_assert_uint_eq(f.count, PROTO_MAX_FINDINGS);
	ck_assert_uint_eq(f.dropped, 1);
}
END_TEST

START_TEST(finding_names_distinct)
{
	for (int a = 1; a < PROTO_FIND_CODE_MAX; a++) {
		ck_assert_str_ne(proto_finding_name(a), "UNKNOWN");
		for (int b = a + 1; b < PROTO_FIND_CODE_MAX; b++)
			ck_assert_str_ne(proto_finding_name(a),
					 proto_finding_name(b));
	}
	ck_assert_str_eq(proto_finding_name(0), "UNKNOWN");
	ck_assert_str_eq(proto_finding_name(PROTO_FIND_CODE_MAX), "UNKNOWN");
	ck_assert_str_eq(proto_finding_name(PROTO_FIND_MMAP_PADDING),
			 "MMAP_PADDING");
}
END_TEST
