/* SPDX-License-Identifier: MIT */
/*
 * afl_mutator: fuzz_shmem_sequence's mutator (seqmut) as an AFL++ custom
 * mutator library, fuzz_shmem_sequence_mutator.so:
 *
 *   AFL_CUSTOM_MUTATOR_LIBRARY=build-afl/fuzzers/fuzz_shmem_sequence_mutator.so
 *
 * AFL++ still runs its own havoc beside it unless
 * AFL_CUSTOM_MUTATOR_ONLY=1. The afl_state_t argument is opaque here, so
 * no AFL++ header is needed to build it.
 */
#ifndef VHU_FUZZ_AFL_MUTATOR_H
#define VHU_FUZZ_AFL_MUTATOR_H

#include <stddef.h>
#include <stdint.h>

void *afl_custom_init(void *afl, unsigned int seed);
size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size,
		       uint8_t **out_buf, uint8_t *add_buf, size_t add_buf_size,
		       size_t max_size);
const char *afl_custom_describe(void *data, size_t max_description_len);
void afl_custom_deinit(void *data);

#endif
