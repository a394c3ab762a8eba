/* SPDX-License-Identifier: MIT */
/*
 * livespare: what a live stream spends less on. An operation after which
 * the model no longer knows what the target holds (the target took an
 * open choice the model cannot follow: a len-0 MAP acked, a short
 * payload read as a whole one, a MAP without its fd acked) costs the
 * stream its target: only a reset clears that, and where the reset is a
 * known finding (--avoid reset:) a new process must be started. Such an
 * operation is keyed by what made it so (request, model verdict, fd
 * choice, bent bits); each time its kind costs a target, it is played
 * less often: with k costs, 1 time in k+1 (at least 1 in 16), never not
 * at all. Kept beside --states, so that a campaign learns across the
 * restarts it pays for.
 */
#ifndef VHU_FUZZ_LIVESPARE_H
#define VHU_FUZZ_LIVESPARE_H

#include <stdbool.h>
#include <stdint.h>

#define LIVESPARE_MAX 64u
#define LIVESPARE_CAP 15u        /* played at least 1 time in 16 */

struct livespare_key {
	uint32_t request;
	uint8_t fd, bits;        /* fuzzpool choice; SEQOP_B_* that bend it */
	const char *why;         /* the model's verdict */
};

struct livespare {
	struct {
		uint32_t request;
		uint8_t fd, bits;
		char why[96];
		unsigned costs;
	} e[LIVESPARE_MAX];
	unsigned n;
	uint64_t rng;            /* its own draws, fixed by the seed */
};

void livespare_init(struct livespare *s, uint64_t seed);
/* Whether to leave this operation out this time. */
bool livespare_skip(struct livespare *s, const struct livespare_key *k);
/* The operation cost the stream its target's known state. */
void livespare_cost(struct livespare *s, const struct livespare_key *k);
/* STATES.spare beside a driver's --states FILE (nothing without one);
 * a missing file is none learned yet. 0, or -1. */
int livespare_beside(struct livespare *s, const char *states, bool save);

#endif
