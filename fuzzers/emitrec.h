/* SPDX-License-Identifier: MIT */
/*
 * emitrec: the records of a fuzz input, the units a finding is reduced
 * by (vhucheck fuzz, fuzz/inreduce.py through vhu-fuzzcase --records and
 * --keep). Reducing the input and emitting the case again makes the
 * model compute the expectations for exactly the operations kept; a case
 * cut down step by step would keep expectations computed for operations
 * it no longer sends. The runner never splits the bytes itself: the
 * formats are the fuzzers' (seqop.h, emitbe.c, fuzz_shmem_map.c).
 *
 * fuzz_shmem_sequence: 32-byte records (seqop.h); fuzz_backend_replies:
 * 16-byte records (emitbe.h); a trailing partial record is no record
 * (the fuzzers ignore it) and is dropped from a subset. fuzz_shmem_map
 * is one message: its input is one record, whole.
 */
#ifndef VHU_FUZZ_EMITREC_H
#define VHU_FUZZ_EMITREC_H

#include <stddef.h>
#include <stdint.h>

#include "emitcasedata.h"

#define EMITREC_MAX 4096u     /* records in an input (FUZZ_MAX_INPUT / 16) */

/* Bytes of one record; 0 when the whole input is one record. */
size_t emitrec_size(enum emitcase_fuzzer f);
/* Records in an input of size bytes. */
unsigned emitrec_count(enum emitcase_fuzzer f, size_t size);
/* Parses LIST ("0,2,5"; "" or "-": none) into keep, indices strictly
 * ascending and below count. 0, or -1 with err. */
int emitrec_parse_keep(const char *list, unsigned count, unsigned *keep,
		       unsigned *nkeep, char *err, size_t errcap);
/* The input made of the kept records of data, in their order, into out
 * (room for size bytes). Its length. */
size_t emitrec_subset(enum emitcase_fuzzer f, const uint8_t *data,
		      size_t size, const unsigned *keep, unsigned nkeep,
		      uint8_t *out);

#endif
