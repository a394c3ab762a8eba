/* SPDX-License-Identifier: MIT */
/*
 * seqmut: the structure-aware mutator of fuzz_shmem_sequence (format in
 * seqop.h). The same C backs LLVMFuzzerCustomMutator /
 * LLVMFuzzerCustomCrossOver and the AFL++ custom mutator library
 * (afl_mutator.c).
 *
 * Byte-level mutation of such inputs mostly breaks what makes a
 * sequence interesting: an UNMAP that names a live mapping exactly, a
 * MAP that touches or straddles another one, a reset between them. The
 * mutator works on whole records and on their meaning: it inserts,
 * deletes, duplicates and swaps steps, makes an UNMAP match an earlier
 * MAP (or miss it by a page), moves a range onto a neighbour's edge, and
 * sets fields to the boundary values of the regions.
 */
#ifndef VHU_FUZZ_SEQMUT_H
#define VHU_FUZZ_SEQMUT_H

#include <stddef.h>
#include <stdint.h>

/* A small PRNG (splitmix64); the state is the caller's. */
uint64_t seqmut_rand(uint64_t *state);

/* Mutates the records in data (size bytes, room for max_size) in place.
 * Returns the new size: a whole number of records, at least one, at
 * most max_size and SEQOP_MAX_STEPS records. */
size_t seqmut_mutate(uint8_t *data, size_t size, size_t max_size,
		     uint64_t *rng);
/* Splices records of a and b into out (max_size bytes). Returns the
 * size written. */
size_t seqmut_crossover(const uint8_t *a, size_t asize, const uint8_t *b,
			size_t bsize, uint8_t *out, size_t max_size,
			uint64_t *rng);

#endif
