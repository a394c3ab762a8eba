/* SPDX-License-Identifier: MIT */
/*
 * emitfe: the body of a case for an input of the front-end fuzzers
 * (fuzz_shmem_map, fuzz_shmem_sequence), judged by the shadow model
 * (emitcase.h says how).
 */
#ifndef VHU_FUZZ_EMITFE_H
#define VHU_FUZZ_EMITFE_H

#include "emitcasedata.h"
#include "etext.h"

/* 1: body and eh written; 0: no case (why in err). */
int emitfe_body(const struct emitcase_opts *opts, const uint8_t *data,
		size_t size, struct etext *t, struct emit_header *eh,
		char *err, size_t errcap);

#endif
