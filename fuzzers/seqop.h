/* SPDX-License-Identifier: MIT */
/*
 * seqop: the input format of fuzz_shmem_sequence, shared by the fuzzer,
 * its structure-aware mutator (seqmut) and fuzzers/gen_corpus.py.
 *
 * An input is a list of 32-byte records, little-endian; a trailing
 * partial record is ignored. One record is one step:
 *
 *   off size field
 *   0   1    op      enum seqop_kind (mod SEQOP_KIND_MAX)
 *   1   1    fd      fd menu choice (fuzzpool.h)
 *   2   1    shmid
 *   3   1    bits    SEQOP_B_*
 *   4   4    aux     CONFIG: nregions; OTHER: request id; NEGOTIATE:
 *                    bit 0 SHMEM off, bit 1 REPLY_ACK off; with
 *                    SEQOP_B_SHORT: payload bytes kept (mod 40)
 *   8   8    a       shm_offset  | CONFIG: size of shmid 0
 *   16  8    b       len         | CONFIG: size of shmid 1
 *   24  8    c       fd_offset   | CONFIG: size of the record's shmid
 *
 * Without SEQOP_B_RAW, a, b and c count pages in small ranges (so that
 * mappings meet, touch and overlap); with it they are bytes, as is.
 */
#ifndef VHU_FUZZ_SEQOP_H
#define VHU_FUZZ_SEQOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define SEQOP_SIZE 32u
#define SEQOP_MAX_STEPS 64u

enum seqop_kind {
	SEQOP_MAP = 0,
	SEQOP_UNMAP,
	SEQOP_RESET,      /* device reset */
	SEQOP_STOP,
	SEQOP_START,
	SEQOP_CONFIG,     /* a GET_SHMEM_CONFIG reply with these sizes */
	SEQOP_NEGOTIATE,  /* features as renegotiated */
	SEQOP_OTHER,      /* another back-end request id */
	SEQOP_KIND_MAX,
};

#define SEQOP_B_RW 0x01u        /* MAP_RW */
#define SEQOP_B_NEED_REPLY 0x02u
#define SEQOP_B_RAW 0x04u       /* a, b, c in bytes, unreduced */
#define SEQOP_B_PADDING 0x08u   /* non-zero MMap padding */
#define SEQOP_B_FLAGS 0x10u     /* an undefined MMap flag bit */
#define SEQOP_B_HDR 0x20u       /* a bad header flag (CONFIG: no REPLY) */
#define SEQOP_B_SHORT 0x40u     /* short payload (CONFIG: short reply) */

/* Page-unit ranges without SEQOP_B_RAW. */
#define SEQOP_OFF_PAGES 640u    /* shm_offset: 0 .. 2.5 MiB */
#define SEQOP_LEN_PAGES 33u     /* len: 0 .. 32 pages */
#define SEQOP_FDOFF_PAGES 20u   /* fd_offset: 0 .. 19 pages */
#define SEQOP_SIZE_PAGES 1024u  /* region size: 0 .. 4 MiB */

struct seqop {
	uint8_t op, fd, shmid, bits;
	uint32_t aux;
	uint64_t a, b, c;
};

void seqop_decode(const uint8_t in[SEQOP_SIZE], struct seqop *op);
void seqop_encode(const struct seqop *op, uint8_t out[SEQOP_SIZE]);
/* The op's kind, reduced. */
enum seqop_kind seqop_kind(const struct seqop *op);
/* a, b, c as bytes: page units scaled, or raw. */
uint64_t seqop_offset(const struct seqop *op, uint64_t page);
uint64_t seqop_len(const struct seqop *op, uint64_t page);
uint64_t seqop_fd_offset(const struct seqop *op, uint64_t page);
uint64_t seqop_region_size(uint64_t v, bool raw, uint64_t page);
const char *seqop_kind_name(enum seqop_kind k);
/* The MAP/UNMAP (or other request) a record sends, header and fields, as
 * fuzz_shmem_sequence's step_msg() builds it: the one construction the
 * case emitter (emitfe) and the live driver (fuzzlive) share, so that a
 * live run's operations and the case written from them send the same
 * bytes. h->size may be short of 40 (SEQOP_B_SHORT). */
void seqop_message(const struct seqop *op, uint32_t request, uint64_t page,
		   struct proto_hdr *h, struct proto_mmap *m);

#endif
