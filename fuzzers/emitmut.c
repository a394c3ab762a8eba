/* SPDX-License-Identifier: MIT */
#include "emitmut.h"

#include <string.h>

#include "seqmut.h"

#define PAGE UINT64_C(0x1000)
#define MAP_HDR 2u
#define MAP_PAYLOAD 14u
#define BE_RECORD 16u
#define BE_MAX_RECORDS 64u

static const uint64_t edge_u64[] = {
	0, 1, PAGE - 1, PAGE, PAGE + 1, 0x10000, 0xFFFF000, 0x100000, 0x200000,
	UINT64_C(1) << 31, UINT64_C(1) << 32, UINT64_C(1) << 63,
	UINT64_MAX - PAGE + 1, UINT64_MAX,
};

static unsigned pick(uint64_t *rng, unsigned n)
{
	return (unsigned)(seqmut_rand(rng) % n);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A bit flipped, a byte set, the tail cut or bytes added. */
static size_t mutate_bytes(uint8_t *d, size_t size, size_t max, uint64_t *rng)
{
	unsigned k = pick(rng, 4);

	if (size == 0) {
		d[0] = 0;
		size = 1;
	}
	if (k == 0) {
		unsigned i = pick(rng, (unsigned)size * 8);

		d[i / 8] ^= (uint8_t)(1u << (i % 8));
	} else if (k == 1) {
		unsigned i = pick(rng, (unsigned)size);

		d[i] = (uint8_t)seqmut_rand(rng);
	} else if (k == 2 && size > 1) {
		size = pick(rng, (unsigned)size - 1) + 1;
	} else {
		unsigned n = pick(rng, 8) + 1;

		for (unsigned i = 0; i < n && size < max; i++)
			d[size++] = (uint8_t)seqmut_rand(rng);
	}
	return size;
}

static size_t mutate_map(uint8_t *d, size_t size, size_t max, uint64_t *rng)
{
	static const uint32_t requests[] = { 9, 10, 9, 10, 0, 11, 255 };
	static const uint32_t hdr[] = { 0, 1, 5, 8, 9, 39, 40, 41, 4096 };
	static const uint8_t shmids[] = { 0, 1, 2, 3, 4, 255 };
	static const unsigned fields[] = { 8, 16, 24, 32 };
	size_t need = MAP_PAYLOAD + 40;

	if (max < need)
		return mutate_bytes(d, size, max, rng);
	if (size < need) {
		memset(d + size, 0, need - size);
		size = need;
	}
	/* One draw per statement: the order of calls within an expression
	 * is the compiler's, and --seed must mean the same mutants with
	 * gcc and clang. */
	unsigned k = pick(rng, 8), at, v;
	uint64_t u;

	switch (k) {
	case 0: d[0] = (uint8_t)pick(rng, 11); break;             /* fd choice */
	case 1: d[1] = (uint8_t)pick(rng, 32); break;             /* state */
	case 2:                                                   /* aim */
		at = MAP_PAYLOAD + 1 + pick(rng, 2);
		d[at] = (uint8_t)seqmut_rand(rng);
		break;
	case 3: {
		static const int64_t nudge[] = { 0, 0, (int64_t)PAGE,
						 -(int64_t)PAGE };

		u = edge_u64[pick(rng, sizeof(edge_u64) / 8)];
		at = MAP_PAYLOAD + fields[pick(rng, 4)];
		u += (uint64_t)nudge[pick(rng, 4)];
		put_le(d + at, u, 8);
		break;
	}
	case 4: d[MAP_PAYLOAD] = shmids[pick(rng, sizeof(shmids))]; break;
	case 5: put_le(d + MAP_HDR, requests[pick(rng, 7)], 4); break;
	case 6:
		at = MAP_HDR + 4 + 4 * pick(rng, 2);
		v = hdr[pick(rng, sizeof(hdr) / 4)];
		put_le(d + at, v, 4);
		break;
	default: return mutate_bytes(d, size, max, rng);
	}
	return size;
}

/* One field of a 16-byte record (fuzz_backend_replies.c's format). */
static void mutate_record(uint8_t *r, uint64_t *rng)
{
	switch (pick(rng, 8)) {
	case 0: r[0] = (uint8_t)pick(rng, 7); break;      /* op */
	case 1: r[1] = (uint8_t)pick(rng, 11); break;     /* reply kind */
	case 2: r[4] ^= (uint8_t)(1u << pick(rng, 5)); break; /* bits */
	case 3: r[5] = (uint8_t)seqmut_rand(rng); break;  /* value */
	case 4: r[3] = (uint8_t)pick(rng, 4); break;      /* shmid */
	case 5: put_le(r + 8, pick(rng, 300), 4); break;  /* offset pages */
	case 6: put_le(r + 12, pick(rng, 40), 4); break;  /* len pages */
	default: put_le(r + 6, pick(rng, 20), 2); break;  /* fd_offset pages */
	}
}

static size_t mutate_backend(uint8_t *d, size_t size, size_t max,
			     uint64_t *rng)
{
	size_t n = size / BE_RECORD, cap = max / BE_RECORD;
	unsigned i;

	cap = cap < BE_MAX_RECORDS ? cap : BE_MAX_RECORDS;
	if (n == 0) {
		memset(d, 0, BE_RECORD);
		n = 1;
	}
	i = pick(rng, (unsigned)n);
	switch (pick(rng, 5)) {
	case 0:
		if (n < cap) {   /* duplicate record i after itself */
			memmove(d + (i + 1) * BE_RECORD, d + i * BE_RECORD,
				(n - i) * BE_RECORD);
			n++;
		}
		break;
	case 1:
		if (n > 1) {
			memmove(d + i * BE_RECORD, d + (i + 1) * BE_RECORD,
				(n - i - 1) * BE_RECORD);
			n--;
		}
		break;
	case 2: {
		unsigned j = pick(rng, (unsigned)n);
		uint8_t tmp[BE_RECORD];

		memcpy(tmp, d + i * BE_RECORD, BE_RECORD);
		memcpy(d + i * BE_RECORD, d + j * BE_RECORD, BE_RECORD);
		memcpy(d + j * BE_RECORD, tmp, BE_RECORD);
		break;
	}
	default: mutate_record(d + i * BE_RECORD, rng); break;
	}
	return n * BE_RECORD;
}

size_t emitmut_mutate(enum emitcase_fuzzer f, uint8_t *data, size_t size,
		      size_t max, uint64_t *rng)
{
	unsigned rounds = pick(rng, 3) + 1;

	for (unsigned k = 0; k < rounds; k++) {
		if (f == EMITCASE_SEQUENCE)
			size = seqmut_mutate(data, size, max, rng);
		else if (f == EMITCASE_MAP)
			size = mutate_map(data, size, max, rng);
		else
			size = mutate_backend(data, size, max, rng);
	}
	return size;
}
