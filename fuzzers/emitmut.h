/* SPDX-License-Identifier: MIT */
/*
 * emitmut: blind but structure-aware mutation of the inputs of the
 * fuzzers whose inputs become cases (emitcase.h), for fuzzing a real
 * implementation that is not built with coverage (vhu-fuzzcase
 * --mutate). fuzz_shmem_sequence's inputs go through seqmut (the
 * engines' own custom mutator); fuzz_shmem_map's fields (fd choice,
 * state bits, aim bytes, shmid, request, header flags and size, the u64
 * fields set to edge values) and fuzz_backend_replies' records (the
 * reply kind, op, bits, ranges; records duplicated, dropped, swapped)
 * are changed here.
 */
#ifndef VHU_FUZZ_EMITMUT_H
#define VHU_FUZZ_EMITMUT_H

#include <stddef.h>
#include <stdint.h>

#include "emitcasedata.h"

/* Mutates data (size bytes, room for max) in place, 1 to 3 changes.
 * Returns the new size (at least 1). */
size_t emitmut_mutate(enum emitcase_fuzzer f, uint8_t *data, size_t size,
		      size_t max, uint64_t *rng);

#endif
