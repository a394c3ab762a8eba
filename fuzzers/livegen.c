/* SPDX-License-Identifier: MIT */
/* livegen: see livegen.h. */
#include "livegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzpool.h"
#include "seqmut.h"

#define STATE_CAP 65536u        /* a power of two; states beyond half are
				   no longer told apart */

static unsigned below(struct livegen *g, unsigned n)
{
	return n ? (unsigned)(seqmut_rand(&g->rng) % n) : 0;
}

static bool chance(struct livegen *g, unsigned percent)
{
	return below(g, 100) < percent;
}

int livegen_init(struct livegen *g, uint64_t seed, const uint64_t *sizes,
		 uint64_t page)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed ^ UINT64_C(0x9e3779b97f4a7c15);
	g->page = page;
	livegen_set_sizes(g, sizes);
	g->state_cap = STATE_CAP;
	g->states = calloc(g->state_cap, sizeof(*g->states));
	g->corpus = calloc(LIVEGEN_CORPUS, sizeof(*g->corpus));
	g->seg_len = 8;
	return g->states && g->corpus ? 0 : -1;
}

void livegen_set_sizes(struct livegen *g, const uint64_t *sizes)
{
	memcpy(g->sizes, sizes, sizeof(g->sizes));
	g->nusable = 0;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (sizes[i])
			g->usable[g->nusable++] = i;
}

void livegen_free(struct livegen *g)
{
	free(g->states);
	free(g->corpus);
	g->states = NULL;
	g->corpus = NULL;
}

/* ---- aiming ---- */

static uint64_t pages(struct livegen *g, unsigned max)
{
	return (uint64_t)(1 + below(g, max)) * g->page;
}

/* A length: mostly whole pages, now and then 0, a byte over, or huge. */
static uint64_t pick_len(struct livegen *g)
{
	unsigned r = below(g, 100);

	if (r < 3)
		return 0;
	if (r < 6)
		return pages(g, 8) + 1;
	if (r < 9)
		return UINT64_C(1) << (20 + below(g, 44));
	return pages(g, 16);
}

static unsigned pick_shmid(struct livegen *g)
{
	unsigned r = below(g, 100);

	if (g->nusable && r < 88)
		return g->usable[below(g, g->nusable)];
	if (r < 96)
		return below(g, 4);     /* possibly a region of size 0 */
	return below(g, 256);
}

/* A live mapping of shmid (its index), or -1. */
static int pick_live(struct livegen *g, const struct shadow *m, int shmid)
{
	unsigned idx[SHADOW_MAX_MAPPINGS], n = 0;

	for (unsigned i = 0; i < m->nmaps; i++)
		if (shmid < 0 || m->maps[i].shmid == (unsigned)shmid)
			idx[n++] = i;
	return n ? (int)idx[below(g, n)] : -1;
}

/* A range aimed at a live mapping x. */
static void aim_live(struct livegen *g, const struct shadow_map *x,
		     uint64_t *off, uint64_t *len)
{
	uint64_t p = g->page;

	switch (below(g, 7)) {
	case 0: *off = x->shm_offset; *len = x->len; break;          /* equal */
	case 1: *off = x->shm_offset - *len; break;                   /* touch before */
	case 2: *off = x->shm_offset + x->len; break;                 /* touch after */
	case 3: *off = x->shm_offset - p; *len = 2 * p; break;        /* straddle start */
	case 4: *off = x->shm_offset + x->len - p; *len = 2 * p; break; /* straddle end */
	case 5: *off = x->shm_offset - p; *len = x->len + 2 * p; break; /* super-set */
	default:                                                      /* inside */
		*off = x->shm_offset + (x->len > p ? p : 0);
		*len = x->len > 2 * p ? x->len - 2 * p : x->len;
		break;
	}
}

/* A range on the region, not aimed at a mapping. */
static void aim_region(struct livegen *g, uint64_t size, uint64_t *off,
		       uint64_t *len)
{
	uint64_t npages = size / g->page;
	unsigned r = below(g, 100);

	if (r < 70 || npages == 0) {
		*off = npages ? (uint64_t)below(g, (unsigned)(npages > 1u << 30
							? 1u << 30 : npages)) * g->page
			      : 0;
		return;
	}
	if (r < 85)
		*off = size > *len ? size - *len : 0;          /* at the end */
	else if (r < 95)
		*off = size - g->page, *len = 2 * g->page;     /* past it */
	else
		*off = (uint64_t)0 - g->page;                  /* wrapping */
}

static unsigned pick_fd(struct livegen *g)
{
	static const unsigned odd[] = {
		FUZZPOOL_SEALED, FUZZPOOL_EMPTY, FUZZPOOL_RDONLY, FUZZPOOL_PIPE,
		FUZZPOOL_SOCKET, FUZZPOOL_TWO, FUZZPOOL_NONE,
	};
	unsigned r = below(g, 100);

	if (r < 62)
		return FUZZPOOL_MEMFD_1M;
	if (r < 78)
		return FUZZPOOL_MEMFD_64K;
	if (r < 84)
		return FUZZPOOL_MEMFD_4K;
	return odd[below(g, sizeof(odd) / sizeof(odd[0]))];
}

/* Now and then one bent part of the message. */
static void bend(struct livegen *g, struct seqop *op)
{
	static const uint8_t bent[] = { SEQOP_B_PADDING, SEQOP_B_FLAGS,
					SEQOP_B_HDR, SEQOP_B_SHORT };

	if (chance(g, 9))
		op->bits |= bent[below(g, 4)];
	op->aux = (uint32_t)seqmut_rand(&g->rng);
	if ((op->bits & SEQOP_B_SHORT) && op->aux % PROTO_MMAP_SIZE == 0)
		op->aux++;
}

static void gen_map(struct livegen *g, const struct shadow *m, struct seqop *op)
{
	unsigned shmid = pick_shmid(g);
	int live = chance(g, 60) ? pick_live(g, m, (int)shmid) : -1;
	uint64_t off = 0, len = pick_len(g);

	if (live >= 0) {
		aim_live(g, &m->maps[live], &off, &len);
	} else if (g->nrecent && chance(g, 25)) {
		/* Where an earlier MAP went, taken or refused (a len-0 one, a
		 * cut payload): what the front-end should not remember. */
		const struct seqop *r = &g->recent[below(g, g->nrecent < 8 ? g->nrecent : 8)];

		shmid = r->shmid;
		off = seqop_offset(r, g->page);
		if (!len)
			len = pages(g, 8);
	} else {
		aim_region(g, g->sizes[shmid], &off, &len);
	}
	op->op = SEQOP_MAP;
	op->shmid = (uint8_t)shmid;
	op->fd = (uint8_t)pick_fd(g);
	op->bits = SEQOP_B_RAW | (chance(g, 93) ? SEQOP_B_NEED_REPLY : 0) |
		   (chance(g, 75) ? SEQOP_B_RW : 0);
	op->a = off;
	op->b = len;
	op->c = chance(g, 75) ? 0 : (uint64_t)below(g, 8) * g->page;
	bend(g, op);
}

static void gen_unmap(struct livegen *g, const struct shadow *m,
		      struct seqop *op)
{
	int live = chance(g, 85) ? pick_live(g, m, -1) : -1;
	unsigned shmid = live >= 0 ? m->maps[live].shmid : pick_shmid(g);
	uint64_t off = 0, len = pick_len(g), p = g->page;

	if (live >= 0) {
		const struct shadow_map *x = &m->maps[live];
		unsigned r = below(g, 100);

		off = x->shm_offset;
		len = x->len;
		if (r >= 70 && r < 80)
			len = len > p ? len - p : 2 * p;        /* in part */
		else if (r >= 80 && r < 90)
			off -= p, len += 2 * p;                 /* super-set */
		else if (r >= 90)
			off += p;                               /* shifted */
	} else {
		aim_region(g, g->sizes[shmid], &off, &len);
	}
	op->op = SEQOP_UNMAP;
	op->shmid = (uint8_t)shmid;
	op->fd = chance(g, 96) ? FUZZPOOL_NONE : FUZZPOOL_MEMFD_64K;
	op->bits = SEQOP_B_RAW | (chance(g, 93) ? SEQOP_B_NEED_REPLY : 0);
	op->a = off;
	op->b = len;
	op->c = 0;
	bend(g, op);
}

/* Another GET_SHMEM_CONFIG answer for a reconnect: sizes in pages, now
 * and then raw bytes with any nregions, a bent header or a short reply. */
static void gen_config(struct livegen *g, struct seqop *op)
{
	op->op = SEQOP_CONFIG;
	op->shmid = (uint8_t)below(g, 5);
	op->a = 1 + below(g, SEQOP_SIZE_PAGES - 1);
	op->b = chance(g, 30) ? 0 : below(g, SEQOP_SIZE_PAGES);
	op->c = chance(g, 50) ? 0 : 1 + below(g, SEQOP_SIZE_PAGES - 1);
	if (chance(g, 25)) {
		op->bits |= SEQOP_B_RAW;
		op->a *= g->page;
		op->b = op->b * g->page + (chance(g, 20) ? 1 : 0);
		op->c *= g->page;
		op->aux = below(g, 6);
	}
	if (chance(g, 8))
		op->bits |= chance(g, 50) ? SEQOP_B_HDR : SEQOP_B_SHORT;
}

static void gen_fresh(struct livegen *g, const struct shadow *m,
		      struct seqop *op)
{
	static const uint32_t others[] = { 1, 2, 3, 4, 5, 6, 7, 8, 11, 200 };
	unsigned r = below(g, 100);

	memset(op, 0, sizeof(*op));
	if (g->cur.n >= g->seg_len) {
		op->op = SEQOP_RESET;
		return;
	}
	if (!m->started && chance(g, 92)) {
		op->op = SEQOP_START;
		return;
	}
	/* Back to the full offer soon: without REPLY_ACK nothing is judged. */
	if (g->configs && (!m->shmem || !m->reply_ack) && chance(g, 10)) {
		op->op = SEQOP_NEGOTIATE;
		return;
	}
	if (g->configs && chance(g, 2)) {
		gen_config(g, op);
		if (chance(g, 30)) {    /* a reconnect offering less instead */
			op->op = SEQOP_NEGOTIATE;
			op->aux = below(g, 4);
		}
		return;
	}
	/* Control commands cost a round trip and a `dump` each: a few. */
	if (r < 52) {
		gen_map(g, m, op);
	} else if (r < 93) {
		gen_unmap(g, m, op);
	} else if (r < 95) {
		op->op = SEQOP_STOP;
	} else if (r < 97) {
		op->op = SEQOP_RESET;
	} else {
		gen_map(g, m, op);
		op->op = SEQOP_OTHER;
		op->aux = others[below(g, sizeof(others) / sizeof(others[0]))];
		op->bits &= (uint8_t)~(SEQOP_B_PADDING | SEQOP_B_FLAGS |
				       SEQOP_B_HDR | SEQOP_B_SHORT);
	}
}

/* ---- segments and the corpus ---- */

/* A kept segment, mutated (seqmut), becomes the plan. */
static void plan_mutant(struct livegen *g)
{
	uint8_t buf[SEQOP_MAX_STEPS * SEQOP_SIZE];
	const struct livegen_seg *s = &g->corpus[below(g, g->ncorpus)];
	size_t n = 0;

	for (unsigned i = 0; i < s->n; i++, n += SEQOP_SIZE)
		seqop_encode(&s->ops[i], buf + n);
	n = seqmut_mutate(buf, n, LIVEGEN_SEG_MAX * SEQOP_SIZE, &g->rng);
	g->plan.n = 0;
	for (size_t i = 0; i + SEQOP_SIZE <= n && g->plan.n < LIVEGEN_SEG_MAX;
	     i += SEQOP_SIZE) {
		struct seqop *op = &g->plan.ops[g->plan.n];

		seqop_decode(buf + i, op);
		/* What a case cannot say mid-case the stream does not do. */
		if (((seqop_kind(op) == SEQOP_CONFIG ||
		      seqop_kind(op) == SEQOP_NEGOTIATE) && !g->configs) ||
		    fuzzpool_traits(op->fd).sendable == false)
			continue;
		g->plan.n++;
	}
	g->plan_at = 0;
	g->mutants++;
}

void livegen_next(struct livegen *g, const struct shadow *m, struct seqop *op)
{
	if (g->plan_at < g->plan.n) {
		*op = g->plan.ops[g->plan_at++];
		return;
	}
	gen_fresh(g, m, op);
}

static void segment_end(struct livegen *g)
{
	if (g->cur_new && g->cur.n > 1) {
		unsigned at = g->ncorpus < LIVEGEN_CORPUS ? g->ncorpus++
							  : below(g, LIVEGEN_CORPUS);

		g->corpus[at] = g->cur;
	}
	g->prev = g->cur;
	g->cur.n = 0;
	g->cur_new = false;
	g->seg_len = 8 + below(g, LIVEGEN_SEG_MAX - 8);
	g->plan.n = g->plan_at = 0;
	if (g->ncorpus && chance(g, 50))
		plan_mutant(g);
}

void livegen_clean(struct livegen *g)
{
	if (g->cur.n)
		segment_end(g);
}

void livegen_played(struct livegen *g, const struct seqop *op)
{
	if (seqop_kind(op) == SEQOP_RESET || seqop_kind(op) == SEQOP_CONFIG ||
	    seqop_kind(op) == SEQOP_NEGOTIATE)
		segment_end(g);
	if (seqop_kind(op) == SEQOP_CONFIG) {
		g->config = *op;
		g->have_config = true;
	}
	if (seqop_kind(op) == SEQOP_NEGOTIATE) {
		g->negotiate = *op;
		g->have_negotiate = true;
	}
	if (g->cur.n <= LIVEGEN_SEG_MAX)
		g->cur.ops[g->cur.n++] = *op;
	if (seqop_kind(op) == SEQOP_MAP)
		g->recent[g->nrecent++ % 8] = *op;
}

/* ---- states ---- */

enum livegen_rel livegen_relation(const struct shadow *m, unsigned shmid,
				  uint64_t off, uint64_t len)
{
	enum livegen_rel rel = LIVEGEN_REL_NONE;
	uint64_t size = shmid < PROTO_SHMEM_MAX_REGIONS ? m->sizes[shmid] : 0;

	if (off > size || len > size - off)
		return LIVEGEN_REL_OUTSIDE;
	for (unsigned i = 0; i < m->nmaps; i++) {
		const struct shadow_map *x = &m->maps[i];
		enum livegen_rel r = LIVEGEN_REL_DISJOINT;

		if (x->shmid != shmid)
			continue;
		if (x->shm_offset == off && x->len == len)
			r = LIVEGEN_REL_EQUAL;
		else if (shadow_overlap(off, len, x->shm_offset, x->len))
			r = LIVEGEN_REL_OVERLAP;
		else if (off + len == x->shm_offset || x->shm_offset + x->len == off)
			r = LIVEGEN_REL_TOUCH;
		if (r > rel)
			rel = r;
	}
	return rel;
}

static unsigned bucket(unsigned n)
{
	return n < 4 ? n : n < 8 ? 4 : 5;
}

bool livegen_state(struct livegen *g, const struct seqop *op,
		   enum livegen_rel rel, enum livegen_reply reply,
		   const struct shadow *after)
{
	uint32_t bent = op->bits & (SEQOP_B_PADDING | SEQOP_B_FLAGS |
				    SEQOP_B_HDR | SEQOP_B_SHORT);
	uint32_t key = (uint32_t)seqop_kind(op) | (uint32_t)(op->fd % 16) << 4 |
		       bent << 8 | (uint32_t)rel << 16 | (uint32_t)reply << 19 |
		       bucket(after->nmaps) << 21 | (uint32_t)after->started << 24 |
		       (uint32_t)((op->bits & SEQOP_B_NEED_REPLY) != 0) << 25;
	uint32_t h = (key * 2654435761u) | 1u;   /* never 0 */
	unsigned mask = g->state_cap - 1, i = h & mask;

	if (g->nstates >= g->state_cap / 2)
		return false;
	while (g->states[i]) {
		if (g->states[i] == h)
			return false;
		i = (i + 1) & mask;
	}
	g->states[i] = h;
	g->nstates++;
	g->cur_new = true;
	return true;
}

int livegen_load_states(struct livegen *g, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(g->states, sizeof(*g->states), g->state_cap, f);
	fclose(f);
	g->nstates = 0;
	for (size_t i = 0; i < n; i++)
		g->nstates += g->states[i] != 0;
	return n == g->state_cap || n == 0 ? 0 : -1;
}

int livegen_save_states(const struct livegen *g, const char *path)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return -1;
	ok = fwrite(g->states, sizeof(*g->states), g->state_cap, f) ==
	     g->state_cap;
	return fclose(f) == 0 && ok ? 0 : -1;
}
