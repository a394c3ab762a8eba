/* SPDX-License-Identifier: MIT */
/*
 * etext: the text of a case being emitted (emitcase), line by line, and
 * its step table: which line checks which rule, graded how.
 */
#ifndef VHU_FUZZ_ETEXT_H
#define VHU_FUZZ_ETEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "emitcasedata.h"

struct etext {
	char *buf;
	size_t len, cap;
	unsigned lines;
	struct emitcase_step *steps;
	unsigned nsteps;
	bool oom;               /* an append failed: the text is incomplete */
};

void etext_init(struct etext *t);
void etext_free(struct etext *t);

/* What the header of an emitted case needs from its body. */
struct emit_header {
	bool refusal;           /* the handshake is one the spec lets a
				   target refuse: refusal NON-STRICT */
	char requires[192];
};

/* Appends one line (fmt, then a newline). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void etext_line(struct etext *t, const char *fmt, ...);

/* Appends an expectation line, " grade=should" added unless must, and
 * records it in the step table under kind and rule. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void etext_graded(struct etext *t, const char *kind, bool must,
		  const char *rule, const char *fmt, ...);

/* Appends a line that fails the case at its level when it fails (a
 * control command), recorded in the step table like a graded one. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void etext_step(struct etext *t, const char *kind, const char *rule,
		const char *fmt, ...);

/* Appends every line and step of src, its step lines moved by t's
 * line count. */
void etext_append(struct etext *t, const struct etext *src);

/* Hex of n bytes into out (2n+1 bytes). */
void etext_hex(const unsigned char *p, size_t n, char *out);

#endif
