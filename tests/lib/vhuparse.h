/* SPDX-License-Identifier: MIT */
/*
 * The parser's context (harness/engine/scriptctx.h) set up for one step
 * line, for the unit tests of the parser's parts (scriptctx, scriptstep,
 * scriptgrade): a case of a role, one step being parsed, the error text.
 */
#ifndef VHUPARSE_H
#define VHUPARSE_H

#include "scriptctx.h"

#define VT_PARSE_WORDS 48u

struct vt_parse {
	struct script_case c;
	struct script_step st;
	char err[4096];
	struct pctx p;
	char line[1024];            /* the words point into it */
	char *w[VT_PARSE_WORDS];
	unsigned n;
};

/* A parser in ROLE at line 7 of "t.vhu", among the steps, the current
 * step zeroed (op OP, graded MUST); LINE split into q->w / q->n (the
 * words after the keyword, as the parser hands them on). Free with
 * vt_parse_free (the step's allocations). */
void vt_parse_init(struct vt_parse *q, enum script_role role,
		   enum script_op op, const char *line);
void vt_parse_free(struct vt_parse *q);

#endif
