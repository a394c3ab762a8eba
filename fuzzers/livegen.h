/* SPDX-License-Identifier: MIT */
/*
 * livegen: what a live stream sends next (vhu-fuzzlive), chosen by what
 * is live, and the protocol states it has reached.
 *
 * Operations are seqop records (seqop.h), so that the operations since
 * the last reset become a fuzz_shmem_sequence input and, through the one
 * emitter (emitcase.h), a case. A fresh operation is aimed with the
 * shadow model's view of the live set, as syzkaller aims at resources:
 * a MAP equal to, inside, touching or straddling a live mapping, at a
 * region's end, past it, wrapping; an UNMAP of a live mapping exactly,
 * in part, a super-set, shifted; fd kinds from the fuzzpool menu; now and
 * then a bent header or payload, a stop, a reset, another request.
 *
 * State feedback, AFLNet-style: each message's (request and how it was
 * bent, the reply the target gave, the live-set shape around it) is a
 * state; a segment (the operations from one reset to the next) that
 * reached a state never seen before is kept, and later segments are
 * often mutants of kept ones (seqmut), so the stream spends its time
 * where the target's behaviour was new.
 */
#ifndef VHU_FUZZ_LIVEGEN_H
#define VHU_FUZZ_LIVEGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "seqop.h"
#include "shadow.h"

#define LIVEGEN_SEG_MAX 32u     /* operations between two resets */
#define LIVEGEN_CORPUS 256u

struct livegen_seg {
	struct seqop ops[LIVEGEN_SEG_MAX + 1];
	unsigned n;
};

/* How a message's range sits against the live set before it. */
enum livegen_rel {
	LIVEGEN_REL_NONE = 0,   /* no live mapping on its region */
	LIVEGEN_REL_DISJOINT,
	LIVEGEN_REL_TOUCH,
	LIVEGEN_REL_EQUAL,
	LIVEGEN_REL_OVERLAP,
	LIVEGEN_REL_OUTSIDE,    /* past the region, or wrapping */
};

/* The reply class of a state. */
enum livegen_reply {
	LIVEGEN_NO_REPLY = 0,
	LIVEGEN_ACCEPTED,
	LIVEGEN_REFUSED,
};

struct livegen {
	uint64_t rng;
	uint64_t page;
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	unsigned usable[PROTO_SHMEM_MAX_REGIONS], nusable;
	uint32_t *states;       /* open addressing, 0 = empty */
	unsigned state_cap, nstates;
	struct livegen_seg *corpus;
	unsigned ncorpus;
	struct livegen_seg cur;  /* played since the last reset */
	struct livegen_seg prev; /* the segment before: what a reset's checks
				    judge (cur is then the reset alone) */
	bool cur_new;            /* cur reached a new state, or (--edges) a
				    new edge bucket of the target's */
	struct livegen_seg plan; /* a kept segment's mutant, being played */
	unsigned plan_at;
	unsigned seg_len;        /* this segment's length before its reset */
	unsigned mutants;        /* segments played from the corpus */
	bool configs;            /* reconnects with other GET_SHMEM_CONFIG
				    answers are tried (CONFIG records) */
	struct seqop recent[8];  /* the last MAPs played, taken or not: a
				    range a front-end may still remember */
	unsigned nrecent;
	bool have_config;        /* the last CONFIG played: the regions in
				    force, which a slice must start with */
	struct seqop config;
	bool have_negotiate;     /* the same for the last NEGOTIATE: the
				    features offered */
	struct seqop negotiate;
};

/* 0, or -1 (out of memory). sizes: the regions the target was given. */
int livegen_init(struct livegen *g, uint64_t seed, const uint64_t *sizes,
		 uint64_t page);
void livegen_free(struct livegen *g);

/* The regions changed (a reconnect's GET_SHMEM_CONFIG answer). */
void livegen_set_sizes(struct livegen *g, const uint64_t *sizes);
/* The next operation for the model's state. */
void livegen_next(struct livegen *g, const struct shadow *m, struct seqop *op);
/* The operation was played: it joins the current segment. A reset
 * closes the segment (kept when it reached a new state) and opens the
 * next with itself. */
void livegen_played(struct livegen *g, const struct seqop *op);
/* A state as good as a fresh start (the model empty, the device
 * started, nothing open): the segment ends here without a reset, and
 * the next one starts from it. */
void livegen_clean(struct livegen *g);
/* How [off, off+len) of shmid sits against the live set of m. */
enum livegen_rel livegen_relation(const struct shadow *m, unsigned shmid,
				  uint64_t off, uint64_t len);
/* A message's state: true when never seen before. */
bool livegen_state(struct livegen *g, const struct seqop *op,
		   enum livegen_rel rel, enum livegen_reply reply,
		   const struct shadow *after);

/* The states seen, across restarts of the target: read (a missing file
 * is none yet) and written as the raw table. 0 or -1. */
int livegen_load_states(struct livegen *g, const char *path);
int livegen_save_states(const struct livegen *g, const char *path);

#endif
