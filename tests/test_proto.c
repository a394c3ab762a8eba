/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/proto: codecs, names, expectations, validator,
 * formatting. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "vhutest.h"

/* ---- helpers ---- */

static struct proto_mmap sample_mmap(void)
{
	struct proto_mmap m;

	memset(&m, 0, sizeof(m));
	m.shmid = 0;
	m.fd_offset = 0;
	m.shm_offset = 0x1000;
	m.len = 0x1000;
	m.flags = PROTO_MMAP_F_RW;
	return m;
}

static void mmap_bytes(const struct proto_mmap *m, uint8_t out[40])
{
	ck_assert_int_eq(proto_mmap_encode(m, out, 40), 40);
}

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

static struct proto_shmem_config *sample_config(void)
{
	struct proto_shmem_config *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->nregions = 2;
	c->memory_sizes[0] = 0x100000;
	c->memory_sizes[1] = 0x10000;
	return c;
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

/* ---- names ---- */

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

/* ---- expectations ---- */

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

/* ---- validator: clean messages ---- */

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

/* ---- validator: each finding on its own ---- */

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

/* ---- formatting ---- */

#define FMT_CAP 1024
static const char *fmt(char *out, enum proto_chan chan, uint32_t req,
		       uint32_t flags, const void *p, size_t len)
{
	struct proto_hdr h = { req, flags, (uint32_t)len };
	int n = proto_format_payload(chan, &h, p, len, out, FMT_CAP);

	ck_assert_int_eq(n, (int)strlen(out));
	return out;
}

TEST_CASE("format");

START_TEST(format_mmap)
{
	char o[FMT_CAP];
	struct proto_mmap m = sample_mmap();
	uint8_t b[40];

	mmap_bytes(&m, b);
	ck_assert_str_eq(fmt(o, PROTO_CHAN_BACKEND, 9, 1, b, 40),
			 "shmid=0 fd_offset=0x0 shm_offset=0x1000 len=0x1000 "
			 "flags=0x1(RW)");
	m.flags = 0;
	mmap_bytes(&m, b);
	ck_assert_ptr_nonnull(strstr(fmt(o, PROTO_CHAN_BACKEND, 10, 1, b, 40),
				     "flags=0x0(RO)"));
	m.flags = 3;
	m.padding[1] = 0xff;
	mmap_bytes(&m, b);
	ck_assert_ptr_nonnull(strstr(fmt(o, PROTO_CHAN_BACKEND, 9, 1, b, 40),
				     "flags=0x3(RW|0x2) padding=00ff"));
}
END_TEST

START_TEST(format_shmem_config)
{
	char o[FMT_CAP];
	struct proto_shmem_config *c = sample_config();
	uint8_t b[PROTO_SHMEM_CONFIG_SIZE];

	proto_shmem_config_encode(c, b, sizeof(b));
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 44, 5, b, sizeof(b)),
			 "nregions=2 sizes=[0]=0x100000,[1]=0x10000");
	/* a reply that lost its REPLY flag is still shown decoded */
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 44, 1, b, sizeof(b)),
			 "nregions=2 sizes=[0]=0x100000,[1]=0x10000");
	memset(c, 0, sizeof(*c));
	proto_shmem_config_encode(c, b, sizeof(b));
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 44, 5, b, sizeof(b)),
			 "nregions=0 sizes=none");
	free(c);
}
END_TEST

START_TEST(format_u64_and_others)
{
	char o[FMT_CAP];
	uint8_t u[8] = { 0 };
	struct proto_vring_state s = { 1, 256 };
	struct proto_vring_addr a = { 0, 0, 0x1000, 0x2000, 0x3000, 0 };
	struct proto_mem_table t = { .nregions = 1 };
	struct proto_mem_reg_msg r = { 0 };
	uint8_t b[300];

	ck_assert_str_eq(fmt(o, PROTO_CHAN_BACKEND, 9, 5, u, 8), "u64=0");
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 1, 5, u, 8), "u64=0");
	u[1] = 1;
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 12, 1, u, 8),
			 "u64=0x100 index=0 nofd");
	proto_vring_state_encode(&s, b, sizeof(b));
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 8, 1, b, 8), "index=1 num=256");
	proto_vring_addr_encode(&a, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(fmt(o, PROTO_CHAN_MAIN, 9, 1, b, 40),
				     "desc=0x1000 used=0x2000 avail=0x3000"));
	t.regions[0].memory_size = 0x40000;
	proto_mem_table_encode(&t, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(fmt(o, PROTO_CHAN_MAIN, 5, 1, b, 40),
				     "nregions=1 [0]gpa=0x0 size=0x40000"));
	r.region.userspace_addr = 0xabc;
	proto_mem_reg_encode(&r, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(fmt(o, PROTO_CHAN_MAIN, 37, 1, b, 40),
				     "uva=0xabc"));
}
END_TEST

START_TEST(format_hex_fallback)
{
	char o[FMT_CAP];
	uint8_t b[100];
	const char *s;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	s = fmt(o, PROTO_CHAN_BACKEND, 9, 1, b, 32);
	ck_assert_str_eq(s, "hex=000102030405060708090a0b0c0d0e0f"
			    "101112131415161718191a1b1c1d1e1f");
	s = fmt(o, PROTO_CHAN_BACKEND, 9, 1, b, 100);
	ck_assert_uint_eq(strlen(s), 4 + 128 + 3);
	ck_assert_ptr_nonnull(strstr(s, "3f..."));
	s = fmt(o, PROTO_CHAN_MAIN, 999, 1, b, 2);
	ck_assert_str_eq(s, "hex=0001");
	ck_assert_str_eq(fmt(o, PROTO_CHAN_MAIN, 44, 1, b, 0), "");
}
END_TEST

START_TEST(format_truncates_snprintf_style)
{
	struct proto_mmap m = sample_mmap();
	struct proto_hdr h = { 9, 1, 40 };
	uint8_t b[40];
	char out[16];
	int n;

	mmap_bytes(&m, b);
	memset(out, 'x', sizeof(out));
	n = proto_format_payload(PROTO_CHAN_BACKEND, &h, b, 40, out,
				 sizeof(out));
	ck_assert_int_eq(n, (int)strlen("shmid=0 fd_offset=0x0 shm_offset="
					"0x1000 len=0x1000 flags=0x1(RW)"));
	ck_assert_uint_eq(strlen(out), sizeof(out) - 1);
	ck_assert_int_eq(proto_format_payload(PROTO_CHAN_BACKEND, &h, b, 40,
					      NULL, 0), n);
}
END_TEST

/* Random headers and payloads through every decoder, the validator and
 * the formatter: nothing may read out of bounds (ASan) or crash. */
START_TEST(random_inputs_are_survived)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t *buf = malloc(PROTO_MAX_PAYLOAD);
	char out[512];

	for (int round = 0; round < 20000; round++) {
		struct proto_findings f = { 0 };
		struct proto_vctx ctx;
		struct proto_hdr h;
		size_t len;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (size_t)(x % 2100);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)((x >> (i % 56)) ^ (uint8_t)i);
		h.request = (uint32_t)(x >> 40) % 50;
		h.flags = (uint32_t)(x >> 20) & 0x1f;
		h.size = (round & 1) ? (uint32_t)len : (uint32_t)(x >> 8) % 5000;
		ctx = (struct proto_vctx){ .chan = (enum proto_chan)(round & 2 ? 1 : 0),
			.is_reply = (x >> 3) & 1, .nfds = (unsigned)(x % 11),
			.payload_len = len, .page_size = 4096 };
		proto_validate(&ctx, &h, buf, &f);
		ck_assert_uint_le(f.count, PROTO_MAX_FINDINGS);
		proto_format_payload(ctx.chan, &h, buf, len, out, sizeof(out));
		ck_assert_uint_lt(strlen(out), sizeof(out));
	}
	free(buf);
}
END_TEST

START_TEST(appendf_tracks_truncation)
{
	char buf[8];
	size_t len = 0;

	proto_appendf(buf, sizeof(buf), &len, "abc");
	ck_assert_uint_eq(len, 3);
	proto_appendf(buf, sizeof(buf), &len, "%d", 12345);
	ck_assert_uint_eq(len, 8);
	ck_assert_str_eq(buf, "abc1234");
	proto_appendf(buf, sizeof(buf), &len, "more");
	ck_assert_uint_eq(len, 12);
	ck_assert_str_eq(buf, "abc1234");
}
END_TEST
