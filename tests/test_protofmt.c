/* SPDX-License-Identifier: MIT */
/* Unit tests for harness/core/protofmt: payloads as text, the appending
 * printf, and random inputs through the decoders, validator and
 * formatter. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "protofmt.h"
#include "protosample.h"
#include "protoval.h"
#include "vhutest.h"

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
