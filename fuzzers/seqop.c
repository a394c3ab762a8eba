/* SPDX-License-Identifier: MIT */
#include "seqop.h"

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void seqop_decode(const uint8_t in[SEQOP_SIZE], struct seqop *op)
{
	op->op = in[0];
	op->fd = in[1];
	op->shmid = in[2];
	op->bits = in[3];
	op->aux = (uint32_t)get_le(in + 4, 4);
	op->a = get_le(in + 8, 8);
	op->b = get_le(in + 16, 8);
	op->c = get_le(in + 24, 8);
}

void seqop_encode(const struct seqop *op, uint8_t out[SEQOP_SIZE])
{
	out[0] = op->op;
	out[1] = op->fd;
	out[2] = op->shmid;
	out[3] = op->bits;
	put_le(out + 4, op->aux, 4);
	put_le(out + 8, op->a, 8);
	put_le(out + 16, op->b, 8);
	put_le(out + 24, op->c, 8);
}

enum seqop_kind seqop_kind(const struct seqop *op)
{
	return (enum seqop_kind)(op->op % SEQOP_KIND_MAX);
}

static uint64_t scaled(const struct seqop *op, uint64_t v, unsigned pages,
		       uint64_t page)
{
	return (op->bits & SEQOP_B_RAW) ? v : (v % pages) * page;
}

uint64_t seqop_offset(const struct seqop *op, uint64_t page)
{
	return scaled(op, op->a, SEQOP_OFF_PAGES, page);
}

uint64_t seqop_len(const struct seqop *op, uint64_t page)
{
	return scaled(op, op->b, SEQOP_LEN_PAGES, page);
}

uint64_t seqop_fd_offset(const struct seqop *op, uint64_t page)
{
	return scaled(op, op->c, SEQOP_FDOFF_PAGES, page);
}

uint64_t seqop_region_size(uint64_t v, bool raw, uint64_t page)
{
	return raw ? v : (v % SEQOP_SIZE_PAGES) * page;
}

const char *seqop_kind_name(enum seqop_kind k)
{
	static const char *const names[SEQOP_KIND_MAX] = {
		"map", "unmap", "reset", "stop", "start", "config",
		"negotiate", "other",
	};

	return (unsigned)k < SEQOP_KIND_MAX ? names[k] : "?";
}
