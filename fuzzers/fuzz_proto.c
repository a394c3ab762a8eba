/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proto: the wire codec (harness/proto) against arbitrary bytes.
 *
 * Input: one selector byte, then what the selected check reads:
 *   0 header      12+ bytes: decode, re-encode, compare
 *   1 codec       codec byte, then a payload: decode; on success encode
 *                 into exact and into too-small buffers, compare bytes
 *   2 validator   chan/reply/nfds/page/prefill bytes, 12-byte header,
 *                 payload: proto_validate() and its findings' shape
 *   3 format      chan byte, cap byte, header, payload:
 *                 proto_format_payload() into an exact-size buffer
 *   4 names       chan byte, u32 id, then a name: the name tables
 * Besides ASan/UBSan, every check is a property the header promises; a
 * broken promise is a finding.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "driver.h"
#include "proto.h"
#include "protoname.h"
#include "protofmt.h"
#include "protoval.h"

struct proto_fuzz {
	int unused; /* proto is pure: nothing to set up */
};

void *fuzz_init(char *err, size_t errcap)
{
	struct proto_fuzz *st = calloc(1, sizeof(*st));

	if (!st)
		strncpy(err, "out of memory", errcap - 1);
	return st;
}

void fuzz_fini(void *state)
{
	free(state);
}

/* An exact-size heap copy of the bytes, so ASan catches any read past
 * len; never NULL for len 0. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	if (!d)
		fuzz_finding("fuzz_proto: out of memory (%zu bytes)", len);
	if (len)
		memcpy(d, p, len);
	return d;
}

/* ---- 0: header ---- */

static void check_header(struct cursor *c)
{
	size_t len;
	const uint8_t *rest = cursor_rest(c, &len);
	uint8_t *in = dup_exact(rest, len);
	uint8_t out[PROTO_HDR_SIZE];
	struct proto_hdr h;
	int rc = proto_hdr_decode(in, len, &h);

	if (len < PROTO_HDR_SIZE && rc != PROTO_E_SHORT)
		fuzz_finding("hdr_decode(%zu bytes) = %d, want PROTO_E_SHORT",
			     len, rc);
	if (len >= PROTO_HDR_SIZE) {
		/* The header is filled either way; TOOBIG only for a size
		 * above the limit. */
		if (rc != (h.size > PROTO_MAX_PAYLOAD ? PROTO_E_TOOBIG : PROTO_OK))
			fuzz_finding("hdr_decode(size %u) = %d", h.size, rc);
		if (proto_hdr_encode(&h, out, sizeof(out)) != (int)PROTO_HDR_SIZE)
			fuzz_finding("hdr_encode did not write 12 bytes");
		if (memcmp(out, in, PROTO_HDR_SIZE) != 0)
			fuzz_finding("header does not round-trip");
		if (proto_hdr_encode(&h, out, PROTO_HDR_SIZE - 1) >= 0)
			fuzz_finding("hdr_encode into 11 bytes succeeded");
	}
	free(in);
}

/* ---- 1: payload codecs ---- */

/* One codec seen through a common shape; the struct is big enough for
 * every payload type. */
union any_payload {
	uint64_t u64;
	struct proto_mmap mmap;
	struct proto_shmem_config shmem;
	struct proto_mem_table table;
	struct proto_mem_reg_msg reg;
	struct proto_vring_state state;
	struct proto_vring_addr addr;
	struct proto_config_space config;
};

enum codec {
	CODEC_U64, CODEC_MMAP, CODEC_SHMEM, CODEC_TABLE, CODEC_REG,
	CODEC_STATE, CODEC_ADDR, CODEC_CONFIG, CODEC_MAX
};

static int codec_decode(enum codec k, const uint8_t *in, size_t len,
			union any_payload *p)
{
	switch (k) {
	case CODEC_U64: return proto_u64_decode(in, len, &p->u64);
	case CODEC_MMAP: return proto_mmap_decode(in, len, &p->mmap);
	case CODEC_SHMEM: return proto_shmem_config_decode(in, len, &p->shmem);
	case CODEC_TABLE: return proto_mem_table_decode(in, len, &p->table);
	case CODEC_REG: return proto_mem_reg_decode(in, len, &p->reg);
	case CODEC_STATE: return proto_vring_state_decode(in, len, &p->state);
	case CODEC_ADDR: return proto_vring_addr_decode(in, len, &p->addr);
	case CODEC_CONFIG: return proto_config_decode(in, len, &p->config);
	default: return PROTO_E_RANGE;
	}
}

static int codec_encode(enum codec k, const union any_payload *p,
			uint8_t *out, size_t cap)
{
	switch (k) {
	case CODEC_U64: return proto_u64_encode(p->u64, out, cap);
	case CODEC_MMAP: return proto_mmap_encode(&p->mmap, out, cap);
	case CODEC_SHMEM: return proto_shmem_config_encode(&p->shmem, out, cap);
	case CODEC_TABLE: return proto_mem_table_encode(&p->table, out, cap);
	case CODEC_REG: return proto_mem_reg_encode(&p->reg, out, cap);
	case CODEC_STATE: return proto_vring_state_encode(&p->state, out, cap);
	case CODEC_ADDR: return proto_vring_addr_encode(&p->addr, out, cap);
	case CODEC_CONFIG: return proto_config_encode(&p->config, out, cap);
	default: return PROTO_E_RANGE;
	}
}

/* Encodes into a buffer of exactly cap bytes (ASan guards its end). */
static int encode_exact(enum codec k, const union any_payload *p, size_t cap,
			uint8_t **out)
{
	*out = malloc(cap ? cap : 1);
	if (!*out)
		fuzz_finding("fuzz_proto: out of memory");
	return codec_encode(k, p, *out, cap);
}

static void check_codec(struct cursor *c)
{
	enum codec k = (enum codec)cursor_pick(c, CODEC_MAX);
	size_t len;
	const uint8_t *rest = cursor_rest(c, &len);
	uint8_t *in = dup_exact(rest, len);
	uint8_t *out;
	union any_payload p;
	int rc, n;

	memset(&p, 0, sizeof(p));
	rc = codec_decode(k, in, len, &p);
	if (rc > 0 || rc < PROTO_E_BUFFER)
		fuzz_finding("codec %d decode returned %d", k, rc);
	if (rc == PROTO_OK) {
		/* A decoded payload encodes back to the very same bytes. */
		n = encode_exact(k, &p, len, &out);
		if (n != (int)len || memcmp(out, in, len) != 0)
			fuzz_finding("codec %d: %zu bytes decode but encode to %d",
				     k, len, n);
		free(out);
		if (len > 0) {
			n = encode_exact(k, &p, len - 1, &out);
			if (n != PROTO_E_BUFFER)
				fuzz_finding("codec %d: encode into %zu of %zu "
					     "bytes returned %d", k, len - 1, len, n);
			free(out);
		}
	}
	free(in);
}

/* ---- 2: validator ---- */

static void check_finding_shape(const struct proto_finding *f)
{
	if (f->code < PROTO_FIND_VERSION || f->code >= PROTO_FIND_CODE_MAX)
		fuzz_finding("validator: finding code %d out of range", f->code);
	if (f->severity > PROTO_SEV_INFO)
		fuzz_finding("validator: severity %d", f->severity);
	if (!memchr(f->text, '\0', sizeof(f->text)))
		fuzz_finding("validator: finding text not terminated");
	if (!proto_finding_name(f->code))
		fuzz_finding("validator: code %d has no name", f->code);
}

static void check_validator(struct cursor *c)
{
	static const unsigned pages[4] = { 0, 4096, 16384, 65536 };
	struct proto_vctx ctx = { .chan = PROTO_CHAN_MAIN };
	struct proto_findings f;
	uint8_t hb[PROTO_HDR_SIZE];
	struct proto_hdr h;
	uint8_t bits = cursor_u8(c);
	unsigned prefill, before, dropped_before, n;
	const uint8_t *rest;
	uint8_t *payload;

	ctx.chan = (bits & 1) ? PROTO_CHAN_BACKEND : PROTO_CHAN_MAIN;
	ctx.is_reply = (bits & 2) != 0;
	ctx.nfds = (bits >> 2) % (PROTO_MAX_FDS + 2);
	ctx.page_size = pages[bits >> 6];
	/* Findings are appended: start from a partly filled list. */
	prefill = cursor_pick(c, PROTO_MAX_FINDINGS + 1);
	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < prefill; i++)
		f.items[i].code = PROTO_FIND_VERSION;
	f.count = prefill;
	cursor_bytes(c, hb, sizeof(hb));
	proto_hdr_decode(hb, sizeof(hb), &h);
	rest = cursor_rest(c, &ctx.payload_len);
	payload = dup_exact(rest, ctx.payload_len);
	before = f.count;
	dropped_before = f.dropped;
	n = proto_validate(&ctx, &h, payload, &f);
	if (f.count > PROTO_MAX_FINDINGS || f.count < before)
		fuzz_finding("validator: count %u (was %u)", f.count, before);
	/* "Returns the number appended": what did not fit is counted in
	 * dropped, not in the result. */
	if (n != f.count - before || f.dropped < dropped_before)
		fuzz_finding("validator: returned %u, appended %u, dropped %u", n,
			     f.count - before, f.dropped - dropped_before);
	for (unsigned i = before; i < f.count; i++)
		check_finding_shape(&f.items[i]);
	free(payload);
}

/* ---- 3: format ---- */

static void check_format(struct cursor *c)
{
	enum proto_chan chan = (cursor_u8(c) & 1) ? PROTO_CHAN_BACKEND
						  : PROTO_CHAN_MAIN;
	size_t cap = cursor_u8(c);
	uint8_t hb[PROTO_HDR_SIZE];
	struct proto_hdr h;
	size_t len;
	const uint8_t *rest;
	uint8_t *payload;
	char *out = malloc(cap ? cap : 1);
	int n;

	if (!out)
		fuzz_finding("fuzz_proto: out of memory");
	cursor_bytes(c, hb, sizeof(hb));
	proto_hdr_decode(hb, sizeof(hb), &h);
	rest = cursor_rest(c, &len);
	payload = dup_exact(rest, len);
	/* chan.c passes NULL with cap 0 (snprintf style): so do we. */
	n = proto_format_payload(chan, &h, payload, len, cap ? out : NULL, cap);
	if (n < 0)
		fuzz_finding("format_payload returned %d", n);
	if (cap > 0) {
		size_t want = (size_t)n < cap - 1 ? (size_t)n : cap - 1;

		if (strnlen(out, cap) != want)
			fuzz_finding("format_payload: %zu chars in a %zu buffer, "
				     "returned %d", strnlen(out, cap), cap, n);
	}
	free(payload);
	free(out);
}

/* ---- 4: names and tables ---- */

static void check_request_tables(enum proto_chan chan, uint32_t id)
{
	const char *name = proto_req_name(chan, id);
	unsigned lo = 0, hi = 0;
	int size;

	if (name && proto_req_by_name(chan, name) != (int)id)
		fuzz_finding("req %u is named %s, which names %d", id, name,
			     proto_req_by_name(chan, name));
	if (proto_expected_fds(chan, id, &lo, &hi) == 0 &&
	    (lo > hi || hi > PROTO_MAX_FDS))
		fuzz_finding("req %u takes %u..%u fds", id, lo, hi);
	for (int reply = 0; reply < 2; reply++) {
		size = proto_expected_size(chan, id, reply);
		if (size < -1 || size > (int)PROTO_MAX_PAYLOAD)
			fuzz_finding("req %u expected size %d", id, size);
	}
	(void)proto_has_reply_body(chan, id);
}

static void check_names(struct cursor *c)
{
	uint8_t sel = cursor_u8(c);
	enum proto_chan chan = (sel & 1) ? PROTO_CHAN_BACKEND : PROTO_CHAN_MAIN;
	uint32_t id = cursor_u32(c);
	unsigned shmem_bit = 20 + (sel >> 1) % 3;
	char name[64];
	size_t len;
	const uint8_t *rest = cursor_rest(c, &len);
	int back;

	check_request_tables(chan, id);
	check_request_tables(chan, id & 0x3f);
	if (!proto_strerror((int)(int8_t)id))
		fuzz_finding("proto_strerror(%d) is NULL", (int)(int8_t)id);
	(void)proto_feat_name(id & 0x3f);
	if (proto_pfeat_name(id & 0x3f, shmem_bit) &&
	    proto_pfeat_by_name(proto_pfeat_name(id & 0x3f, shmem_bit),
				shmem_bit) != (int)(id & 0x3f))
		fuzz_finding("pfeat %u does not round-trip", id & 0x3f);
	len = len < sizeof(name) - 1 ? len : sizeof(name) - 1;
	if (len)
		memcpy(name, rest, len);
	name[len] = '\0';
	back = proto_req_by_name(chan, name);
	if (back >= 0 && !proto_req_name(chan, (uint32_t)back))
		fuzz_finding("'%s' names req %d, which has no name", name, back);
	(void)proto_pfeat_by_name(name, shmem_bit);
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	struct cursor c;

	(void)state;
	cursor_init(&c, data, size);
	switch (cursor_pick(&c, 5)) {
	case 0: check_header(&c); break;
	case 1: check_codec(&c); break;
	case 2: check_validator(&c); break;
	case 3: check_format(&c); break;
	default: check_names(&c); break;
	}
	return FUZZ_KEEP;
}
