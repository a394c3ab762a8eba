/* SPDX-License-Identifier: MIT */
#include "emitaim.h"

#include "proto.h"

#define PAGE UINT64_C(0x1000)
#define PREMAP_END (EMITAIM_PREMAP_OFF + EMITAIM_PREMAP_LEN)

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t aim_delta(uint8_t aim)
{
	return (uint64_t)((int64_t)(aim >> 3) - 16) * PAGE;
}

/* A switch, not a table: each anchor is its own edge, so coverage-guided
 * engines keep an input for every new anchor it tries (fuzz_shmem_map
 * aims through this very code). */
static uint64_t aim_offset(uint8_t aim, uint64_t raw, uint64_t region_end)
{
	switch (aim & 7) {
	case 0: return raw;
	case 1: return EMITAIM_PREMAP_OFF + aim_delta(aim);
	case 2: return PREMAP_END + aim_delta(aim);
	case 3: return region_end + aim_delta(aim);
	case 4: /* fall through: 2^64 and zero are the same u64 */
	case 5: return aim_delta(aim);
	case 6: return raw + aim_delta(aim);
	default: return EMITAIM_PREMAP_OFF + EMITAIM_PREMAP_LEN / 2 + aim_delta(aim);
	}
}

/* Unsigned arithmetic wraps on purpose: "to 2^64" is 0 - off. */
static uint64_t aim_len(uint8_t aim, uint64_t raw, uint64_t off, uint64_t end)
{
	switch (aim & 7) {
	case 0: return raw;
	case 1: return PREMAP_END - off + aim_delta(aim);
	case 2: return EMITAIM_PREMAP_OFF - off + aim_delta(aim);
	case 3: return end - off + aim_delta(aim);
	case 4: return 0 - off + aim_delta(aim);
	case 5: return aim_delta(aim);
	case 6: return raw + aim_delta(aim);
	default: return EMITAIM_PREMAP_LEN + aim_delta(aim);
	}
}

bool emitaim_apply(uint8_t *b, size_t len, uint32_t request,
		   const uint64_t *sizes)
{
	uint8_t ao, al;
	uint64_t off;

	if (len < 32 || (request != PROTO_BE_SHMEM_MAP &&
			 request != PROTO_BE_SHMEM_UNMAP))
		return false;
	ao = b[1];
	al = b[2];
	b[1] = b[2] = 0;
	off = aim_offset(ao, get_u64(b + 16), sizes[b[0]]);
	put_u64(b + 16, off);
	put_u64(b + 24, aim_len(al, get_u64(b + 24), off, sizes[b[0]]));
	return (ao & 7) == 1 || (ao & 7) == 2 || (ao & 7) == 7 ||
	       (al & 7) == 1 || (al & 7) == 2 || (al & 7) == 7;
}

uint32_t emitaim_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
