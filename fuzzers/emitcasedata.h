/* SPDX-License-Identifier: MIT */
/*
 * emitcasedata: what emitting a case takes and gives (emitcase.h): the
 * fuzzer, the options, the step table, the case text; the option
 * parsers. Below emitcase and the parts it dispatches to (emitfe,
 * emitbe, etext), which share these types without including the
 * dispatcher that includes them.
 */
#ifndef VHU_FUZZ_EMITCASEDATA_H
#define VHU_FUZZ_EMITCASEDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum emitcase_fuzzer {
	EMITCASE_MAP,        /* fuzz_shmem_map */
	EMITCASE_SEQUENCE,   /* fuzz_shmem_sequence */
	EMITCASE_BACKEND,    /* fuzz_backend_replies */
};

struct emitcase_opts {
	enum emitcase_fuzzer fuzzer;
	/* Region sizes in place of the rigs' (front-end fuzzers: the
	 * handshake's GET_SHMEM_CONFIG answer; back-end fuzzer: what the
	 * back-end advertises). have_sizes false: the rig's. */
	bool have_sizes;
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	const char *note;    /* a comment line for the header, or NULL */
	/* No closing `control reset` and its checks: the target's reset is
	 * a finding already known (a live campaign's --avoid reset:), and a
	 * case ending in it would show that finding whatever came before. */
	bool no_final_reset;
};

/* One graded line of a case: what a failure there means. */
struct emitcase_step {
	unsigned line;       /* in the whole case file, 1-based */
	char kind[16];       /* map, unmap, reset, stop, start, other, ... */
	bool must;           /* graded at the case level (MUST) */
	char rule[112];      /* the digest rule the expectation checks */
};

#define EMITCASE_MAX_STEPS 1024u

struct emitcase_out {
	char *text;          /* the case, NUL-terminated (heap; emitcase_free) */
	size_t len;
	char id[64];
	struct emitcase_step *steps;  /* heap, nsteps entries */
	unsigned nsteps;
};

/* The fuzzer of a name ("fuzz_shmem_map", ...). -1 when none. */
int emitcase_fuzzer_of(const char *name);
/* Parses "1m,64k,0,2m" into opts->sizes. 0, or -1 with err. */
int emitcase_parse_sizes(struct emitcase_opts *opts, const char *list,
			 char *err, size_t errcap);
void emitcase_free(struct emitcase_out *out);

#endif
