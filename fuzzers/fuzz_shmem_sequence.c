/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shmem_sequence: sequences of MAP, UNMAP, device reset, stop,
 * start, GET_SHMEM_CONFIG replies, renegotiation and other requests
 * against the reference front-end, checked against the shadow model
 * after every step (ferig.h): no two live mappings overlap, every live
 * mapping lies inside its region, the reply says what the model says,
 * the fds held equal the live mappings, nothing is left after a reset.
 * Every sequence ends with a device reset.
 *
 * Input: 32-byte records (seqop.h). Mutated structure-aware by seqmut
 * (LLVMFuzzerCustomMutator here; fuzz_shmem_sequence_mutator.so for
 * AFL++). The reference has a main channel too, so memory-table traffic
 * sent before a MAP reply is seen.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ferig.h"
#include "seqmut.h"
#include "seqop.h"

void *fuzz_init(char *err, size_t errcap)
{
	return ferig_new(true, err, errcap);
}

void fuzz_fini(void *state)
{
	ferig_delete(state);
}

static void step_msg(struct ferig *r, const struct seqop *op, uint32_t request)
{
	struct proto_mmap m;
	struct proto_hdr h;
	uint8_t payload[PROTO_MMAP_SIZE];

	seqop_message(op, request, r->model.page, &h, &m);
	proto_mmap_encode(&m, payload, sizeof(payload));
	ferig_backend_msg(r, &h, payload, h.size, op->fd);
}

static void step_config(struct ferig *r, const struct seqop *op)
{
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS] = { 0 };
	bool raw = (op->bits & SEQOP_B_RAW) != 0;
	uint32_t nregions = 0;

	sizes[0] = seqop_region_size(op->a, raw, r->model.page);
	sizes[1] = seqop_region_size(op->b, raw, r->model.page);
	sizes[op->shmid] = seqop_region_size(op->c, raw, r->model.page);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		nregions += sizes[i] != 0;
	ferig_shmem_config(r, sizes, raw ? op->aux : nregions,
			   (op->bits & SEQOP_B_HDR) ? PROTO_VERSION
						    : PROTO_VERSION | PROTO_F_REPLY,
			   (op->bits & SEQOP_B_SHORT) ? PROTO_SHMEM_CONFIG_SIZE - 8
						      : PROTO_SHMEM_CONFIG_SIZE);
}

static void step(struct ferig *r, const struct seqop *op)
{
	switch (seqop_kind(op)) {
	case SEQOP_MAP: step_msg(r, op, PROTO_BE_SHMEM_MAP); break;
	case SEQOP_UNMAP: step_msg(r, op, PROTO_BE_SHMEM_UNMAP); break;
	case SEQOP_RESET: ferig_device_reset(r); break;
	case SEQOP_STOP: ferig_stop(r); break;
	case SEQOP_START: ferig_start(r); break;
	case SEQOP_CONFIG: step_config(r, op); break;
	case SEQOP_NEGOTIATE:
		ferig_negotiate(r, !(op->aux & 1), !(op->aux & 2));
		break;
	default: step_msg(r, op, op->aux); break;
	}
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	struct ferig *r = state;
	unsigned steps = 0;

	if (size > SEQOP_SIZE * SEQOP_MAX_STEPS)
		return FUZZ_REJECT;
	for (; size >= SEQOP_SIZE; data += SEQOP_SIZE, size -= SEQOP_SIZE) {
		struct seqop op;

		seqop_decode(data, &op);
		step(r, &op);
		steps++;
	}
	if (steps == 0)
		return FUZZ_REJECT;
	ferig_device_reset(r);
	/* Restored here, not at the start of the next input: the cost and
	 * the coverage of undoing an input belong to that input (AFL++
	 * stability). */
	ferig_reset_input(r);
	return FUZZ_KEEP;
}

#if defined(FUZZ_ENGINE_LIBFUZZER)
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1,
				 const uint8_t *data2, size_t size2,
				 uint8_t *out, size_t max_out_size,
				 unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	uint64_t rng = seed;

	/* Some byte-level havoc still finds what records cannot say. */
	if (seqmut_rand(&rng) % 10 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	return seqmut_mutate(data, size, max_size, &rng);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1,
				 const uint8_t *data2, size_t size2,
				 uint8_t *out, size_t max_out_size,
				 unsigned int seed)
{
	uint64_t rng = seed;

	return seqmut_crossover(data1, size1, data2, size2, out, max_out_size,
				&rng);
}
#endif
