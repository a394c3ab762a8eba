/* SPDX-License-Identifier: MIT */
/*
 * seqmut: see seqmut.h. Field values are page units unless a record is
 * raw (SEQOP_B_RAW); raw boundary values use 4 KiB pages, the common
 * case, since the mutator runs where the target's page size is unknown
 * (inside afl-fuzz).
 */
#include "seqmut.h"

#include <string.h>

#include "fuzzpool.h"
#include "seqop.h"

#define RAW_PAGE UINT64_C(4096)

struct seqlist {
	struct seqop ops[SEQOP_MAX_STEPS];
	unsigned n;
};

uint64_t seqmut_rand(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned below(uint64_t *rng, unsigned n)
{
	return n ? (unsigned)(seqmut_rand(rng) % n) : 0;
}

static bool chance(uint64_t *rng, unsigned percent)
{
	return below(rng, 100) < percent;
}

static void list_load(struct seqlist *l, const uint8_t *data, size_t size)
{
	l->n = 0;
	while (size >= SEQOP_SIZE && l->n < SEQOP_MAX_STEPS) {
		seqop_decode(data, &l->ops[l->n++]);
		data += SEQOP_SIZE;
		size -= SEQOP_SIZE;
	}
}

static size_t list_store(const struct seqlist *l, uint8_t *out, size_t max)
{
	size_t len = 0;

	for (unsigned i = 0; i < l->n && len + SEQOP_SIZE <= max; i++) {
		seqop_encode(&l->ops[i], out + len);
		len += SEQOP_SIZE;
	}
	return len;
}

/* A MAP among the records, for UNMAPs and neighbours to aim at; -1 if
 * there is none. */
static int pick_map(const struct seqlist *l, uint64_t *rng)
{
	unsigned start = below(rng, l->n ? l->n : 1);

	for (unsigned k = 0; k < l->n; k++) {
		unsigned i = (start + k) % l->n;

		if (seqop_kind(&l->ops[i]) == SEQOP_MAP)
			return (int)i;
	}
	return -1;
}

static uint8_t pick_shmid(uint64_t *rng)
{
	static const uint8_t common[] = { 0, 0, 0, 1, 3, 2 };

	return chance(rng, 90) ? common[below(rng, sizeof(common))]
			       : (uint8_t)below(rng, 256);
}

static uint8_t pick_fd(uint64_t *rng)
{
	static const uint8_t common[] = {
		FUZZPOOL_MEMFD_64K, FUZZPOOL_MEMFD_64K, FUZZPOOL_MEMFD_1M,
		FUZZPOOL_MEMFD_4K,
	};

	return chance(rng, 75) ? common[below(rng, sizeof(common))]
			       : (uint8_t)below(rng, FUZZPOOL_CHOICE_MAX);
}

static void gen_map(struct seqop *op, uint64_t *rng)
{
	op->op = SEQOP_MAP;
	op->fd = pick_fd(rng);
	op->shmid = pick_shmid(rng);
	op->bits = (chance(rng, 50) ? SEQOP_B_RW : 0) |
		   (chance(rng, 85) ? SEQOP_B_NEED_REPLY : 0);
	op->a = chance(rng, 70) ? below(rng, 48) : below(rng, SEQOP_OFF_PAGES);
	op->b = 1 + below(rng, 16);
	op->c = chance(rng, 80) ? 0 : below(rng, SEQOP_FDOFF_PAGES);
}

static void gen_unmap(struct seqop *op, uint64_t *rng, const struct seqlist *l)
{
	int m = pick_map(l, rng);

	gen_map(op, rng);
	op->op = SEQOP_UNMAP;
	op->fd = FUZZPOOL_NONE;
	op->bits &= SEQOP_B_NEED_REPLY;
	op->c = 0;
	if (m >= 0 && chance(rng, 75)) {
		op->shmid = l->ops[m].shmid;
		op->a = l->ops[m].a;
		op->b = l->ops[m].b;
		op->bits |= l->ops[m].bits & SEQOP_B_RAW;
	}
}

/* Region sizes in pages: the defaults most of the time. */
static void gen_config(struct seqop *op, uint64_t *rng)
{
	op->op = SEQOP_CONFIG;
	op->shmid = 3;
	op->a = chance(rng, 60) ? 256 : below(rng, SEQOP_SIZE_PAGES);
	op->b = chance(rng, 60) ? 16 : below(rng, SEQOP_SIZE_PAGES);
	op->c = chance(rng, 60) ? 512 : below(rng, SEQOP_SIZE_PAGES);
	op->aux = 3;
}

static void gen_op(struct seqop *op, uint64_t *rng, const struct seqlist *l)
{
	unsigned r = below(rng, 100);

	memset(op, 0, sizeof(*op));
	if (r < 40) {
		gen_map(op, rng);
	} else if (r < 65) {
		gen_unmap(op, rng, l);
	} else if (r < 73) {
		op->op = SEQOP_RESET;
	} else if (r < 78) {
		op->op = SEQOP_STOP;
	} else if (r < 83) {
		op->op = SEQOP_START;
	} else if (r < 90) {
		gen_config(op, rng);
	} else if (r < 95) {
		op->op = SEQOP_NEGOTIATE;
		op->aux = below(rng, 4);
	} else {
		op->op = SEQOP_OTHER;
		op->aux = below(rng, 12);
		op->bits = SEQOP_B_NEED_REPLY;
	}
}

static uint64_t raw_boundary(uint64_t *rng)
{
	static const uint64_t v[] = {
		0, RAW_PAGE, 2 * RAW_PAGE, UINT64_C(1) << 16, UINT64_C(1) << 20,
		(UINT64_C(1) << 20) - RAW_PAGE, UINT64_C(2) << 20,
		UINT64_MAX - RAW_PAGE + 1, UINT64_MAX, UINT64_C(1) << 63,
		(UINT64_C(1) << 63) - RAW_PAGE, 1, RAW_PAGE - 1, RAW_PAGE + 1,
		UINT64_C(0x7ffff000),
	};

	return v[below(rng, sizeof(v) / sizeof(v[0]))];
}

/* Puts op's range against a MAP's edge: touching either side, or
 * straddling either end by one page. Page units only. */
static void aim_at_neighbour(struct seqop *op, const struct seqop *m,
			     uint64_t *rng)
{
	op->shmid = m->shmid;
	op->bits &= (uint8_t)~SEQOP_B_RAW;
	switch (below(rng, 5)) {
	case 0: op->a = m->a + m->b; break;                 /* touch after */
	case 1: op->a = m->a >= op->b ? m->a - op->b : 0; break; /* before */
	case 2: op->a = m->a + (m->b > 1 ? m->b - 1 : 0); break; /* end */
	case 3: op->a = m->a ? m->a - 1 : 0; op->b += 1; break; /* start */
	default: op->a = m->a; op->b = m->b; break;         /* equal */
	}
}

/* An UNMAP of a MAP's range, exact or off by one page somewhere. */
static void unmap_of(struct seqop *op, const struct seqop *m, uint64_t *rng)
{
	*op = *m;
	op->op = SEQOP_UNMAP;
	op->fd = FUZZPOOL_NONE;
	op->bits &= SEQOP_B_NEED_REPLY | SEQOP_B_RAW;
	op->c = 0;
	switch (below(rng, 6)) {
	case 0: op->b += 1; break;                      /* super-set */
	case 1: op->b = op->b > 1 ? op->b - 1 : 2; break; /* partial */
	case 2: op->a += 1; break;                      /* shifted */
	default: break;                                 /* exact */
	}
}

/* Switches a record to raw bytes keeping what its page units meant, so
 * that one field can then take a boundary value while the others still
 * make sense (a wrapping shm_offset needs a page-sized len). */
static void make_raw(struct seqop *op)
{
	if (op->bits & SEQOP_B_RAW)
		return;
	op->bits |= SEQOP_B_RAW;
	op->a = (op->a % SEQOP_OFF_PAGES) * RAW_PAGE;
	op->b = (op->b % SEQOP_LEN_PAGES) * RAW_PAGE;
	op->c = (op->c % SEQOP_FDOFF_PAGES) * RAW_PAGE;
}

/* shm_offset k pages below 2^64 and len k+1 pages: the end wraps to one
 * page into the region (digest 6: MUST fail). */
static void make_wrap(struct seqop *op, uint64_t *rng)
{
	uint64_t k = 1 + below(rng, 4);

	make_raw(op);
	op->a = (uint64_t)0 - k * RAW_PAGE;
	op->b = (k + 1) * RAW_PAGE;
}

static void mutate_range(struct seqop *op, uint64_t *rng,
			 const struct seqlist *l)
{
	int m = pick_map(l, rng);
	uint64_t *f = below(rng, 3) == 0 ? &op->a : below(rng, 2) ? &op->b
								 : &op->c;

	switch (below(rng, 6)) {
	case 0: *f += 1; break;
	case 1: *f = *f ? *f - 1 : 0; break;
	case 2:
		if (m >= 0 && &l->ops[m] != op)
			aim_at_neighbour(op, &l->ops[m], rng);
		break;
	case 3:
		make_raw(op);
		*f = raw_boundary(rng);
		break;
	case 4: make_wrap(op, rng); break;
	default:
		if (m >= 0 && &l->ops[m] != op)
			unmap_of(op, &l->ops[m], rng);
		break;
	}
}

static void mutate_field(struct seqop *op, uint64_t *rng,
			 const struct seqlist *l)
{
	switch (below(rng, 8)) {
	case 0: op->op = (uint8_t)below(rng, SEQOP_KIND_MAX); break;
	case 1: op->fd = (uint8_t)below(rng, FUZZPOOL_CHOICE_MAX); break;
	case 2: op->shmid = pick_shmid(rng); break;
	case 3: op->bits ^= (uint8_t)(1u << below(rng, 7)); break;
	case 4:
		op->aux = chance(rng, 50) ? below(rng, 300)
					  : (uint32_t)seqmut_rand(rng);
		break;
	default: mutate_range(op, rng, l); break;
	}
}

static void list_insert(struct seqlist *l, unsigned at, const struct seqop *op)
{
	memmove(&l->ops[at + 1], &l->ops[at], (l->n - at) * sizeof(*op));
	l->ops[at] = *op;
	l->n++;
}

static void list_delete(struct seqlist *l, unsigned at)
{
	memmove(&l->ops[at], &l->ops[at + 1], (l->n - at - 1) * sizeof(l->ops[0]));
	l->n--;
}

static void mutate_once(struct seqlist *l, unsigned cap, uint64_t *rng)
{
	unsigned r = below(rng, 10), i = below(rng, l->n), j = below(rng, l->n);
	struct seqop op;

	if (r < 3 && l->n < cap) {
		gen_op(&op, rng, l);
		list_insert(l, below(rng, l->n + 1), &op);
	} else if (r < 4 && l->n > 1) {
		list_delete(l, i);
	} else if (r < 5 && l->n < cap) {
		op = l->ops[i];
		list_insert(l, below(rng, l->n + 1), &op);
	} else if (r < 6) {
		op = l->ops[i];
		l->ops[i] = l->ops[j];
		l->ops[j] = op;
	} else {
		mutate_field(&l->ops[i], rng, l);
	}
}

size_t seqmut_mutate(uint8_t *data, size_t size, size_t max_size,
		     uint64_t *rng)
{
	struct seqlist l;
	size_t room = max_size / SEQOP_SIZE;
	unsigned cap = room < SEQOP_MAX_STEPS ? (unsigned)room : SEQOP_MAX_STEPS;
	unsigned rounds = 1 + below(rng, 3);

	if (cap == 0)
		return size < max_size ? size : max_size;
	list_load(&l, data, size);
	if (l.n > cap)
		l.n = cap;
	for (unsigned k = 0; k < rounds || l.n == 0; k++) {
		if (l.n == 0) {
			struct seqop op;

			gen_op(&op, rng, &l);
			list_insert(&l, 0, &op);
			continue;
		}
		mutate_once(&l, cap, rng);
	}
	return list_store(&l, data, max_size);
}

size_t seqmut_crossover(const uint8_t *a, size_t asize, const uint8_t *b,
			size_t bsize, uint8_t *out, size_t max_size,
			uint64_t *rng)
{
	struct seqlist la, lb, lo;
	unsigned na, nb;

	list_load(&la, a, asize);
	list_load(&lb, b, bsize);
	na = below(rng, la.n + 1);
	nb = below(rng, lb.n + 1);
	lo.n = 0;
	for (unsigned i = 0; i < na && lo.n < SEQOP_MAX_STEPS; i++)
		lo.ops[lo.n++] = la.ops[i];
	for (unsigned i = nb; i < lb.n && lo.n < SEQOP_MAX_STEPS; i++)
		lo.ops[lo.n++] = lb.ops[i];
	if (lo.n == 0 && la.n)
		lo.ops[lo.n++] = la.ops[0];
	return list_store(&lo, out, max_size);
}
