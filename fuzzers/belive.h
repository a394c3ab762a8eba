/* SPDX-License-Identifier: MIT */
/*
 * belive: the state of one vhu-fuzzlive-be run (belive.c), shared with
 * the operations it plays (beplay.c). Internal to the program.
 */
#ifndef VHU_FUZZ_BELIVE_H
#define VHU_FUZZ_BELIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "bejudge.h"
#include "bepeer.h"
#include "edgemap.h"
#include "liveopts.h"

#define BELIVE_MAX_SEG 60u      /* records in a segment (emitbe: 64) */
#define BELIVE_MAX_STATES 4096u
#define BELIVE_CORPUS 64u        /* segments kept for reaching new states */

struct belive {
	struct bepeer peer;
	struct bejudge model;
	uint64_t rng;
	/* The segment: the records since the last state known good. */
	uint8_t seg[BELIVE_MAX_SEG][BEJUDGE_RECORD];
	unsigned nseg;
	bool reduced;           /* negotiated less: a NEGOTIATE record leads */
	struct bejudge_rec negotiate;
	int64_t seg_start_ms;
	unsigned memfds;        /* reply fds named so far */
	bool doubt;             /* a reply left its state unknown: cut */
	bool vary;              /* renegotiate at segment starts */
	const struct liveopts *opts;   /* --avoid KIND:VERDICT */
	uint32_t states[BELIVE_MAX_STATES];
	unsigned nstates;
	bool seg_new;           /* the segment reached a state never seen
				   (or, --edges, a new edge bucket) */
	struct edgemap edges;   /* trace NULL without --edges */
	uint8_t corpus[BELIVE_CORPUS][BELIVE_MAX_SEG][BEJUDGE_RECORD];
	unsigned corpus_len[BELIVE_CORPUS], ncorpus;
	/* A kept segment's mutant, played before anything new. */
	uint8_t queue[BELIVE_MAX_SEG][BEJUDGE_RECORD];
	unsigned nqueue, qpos;
	unsigned long mutants;
	/* counts */
	unsigned long ops, msgs, controls, open_choices, avoided, new_states,
		cuts, should_misses;  /* SHOULD rules missed (a reply's fd kept) */
	/* the violation */
	bool violated;
	char vclass[16], vkind[16], vverdict[64], vrule[160], vobs[512];
};

/* The next operation chosen, played and judged: L->ops and the counts,
 * L->violated. */
void belive_step(struct belive *L);
/* One MAP and its UNMAP, each answered 0, nothing judged: the ceiling. */
void belive_pingpong(struct belive *L, int64_t end, unsigned long max_ops);
uint64_t belive_rand(struct belive *L);
/* At a segment's end: kept when it reached a new state; then, half of
 * the time, a kept one's mutant queued for the next segment. */
void belive_segment_done(struct belive *L);
/* The next queued record, false when none. */
bool belive_next(struct belive *L, struct bejudge_rec *r);
/* A violation: the stream stops. */
void belive_violation(struct belive *L, const char *cls, const char *kind,
		      const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
