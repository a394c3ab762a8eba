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

void seqop_message(const struct seqop *op, uint32_t request, uint64_t page,
		   struct proto_hdr *h, struct proto_mmap *m)
{
	static const uint32_t flip[3] = { PROTO_F_REPLY, 0x3, 0x10 };

	*h = (struct proto_hdr){ request, PROTO_VERSION, PROTO_MMAP_SIZE };
	*m = (struct proto_mmap){
		.shmid = op->shmid, .fd_offset = seqop_fd_offset(op, page),
		.shm_offset = seqop_offset(op, page),
		.len = seqop_len(op, page),
		.flags = (op->bits & SEQOP_B_RW) ? PROTO_MMAP_F_RW : 0,
	};
	if (op->bits & SEQOP_B_FLAGS)
		m->flags |= UINT64_C(2) << (op->aux % 63);
	if (op->bits & SEQOP_B_PADDING)
		m->padding[op->aux % 7] = (uint8_t)((op->aux >> 8) | 1);
	if (op->bits & SEQOP_B_NEED_REPLY)
		h->flags |= PROTO_F_NEED_REPLY;
	if (op->bits & SEQOP_B_HDR)
		h->flags ^= flip[op->aux % 3];
	if (op->bits & SEQOP_B_SHORT)
		h->size = op->aux % PROTO_MMAP_SIZE;
}
