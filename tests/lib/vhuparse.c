/* SPDX-License-Identifier: MIT */
/* The parser's context for one step line (vhuparse.h). */
#include "vhuparse.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vt_parse_init(struct vt_parse *q, enum script_role role,
		   enum script_op op, const char *line)
{
	char *save = NULL, *tok;

	memset(q, 0, sizeof(*q));
	q->c.role = role;
	q->c.level = SCRIPT_MUST;
	q->st.op = op;
	q->st.line = 7;
	q->st.grade = SCRIPT_MUST;
	q->p.path = "t.vhu";
	q->p.line = 7;
	q->p.err = q->err;
	q->p.errcap = sizeof(q->err);
	q->p.c = &q->c;
	q->p.in_steps = true;
	q->p.st = &q->st;
	ck_assert_uint_lt(strlen(line), sizeof(q->line));
	snprintf(q->line, sizeof(q->line), "%s", line);
	for (tok = strtok_r(q->line, " ", &save); tok && q->n < VT_PARSE_WORDS;
	     tok = strtok_r(NULL, " ", &save))
		q->w[q->n++] = tok;
}

void vt_parse_free(struct vt_parse *q)
{
	free(q->st.list);
	free(q->st.data);
	q->st.list = NULL;
	q->st.data = NULL;
}
