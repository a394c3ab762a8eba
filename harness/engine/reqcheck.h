/* SPDX-License-Identifier: MIT */
/*
 * reqcheck: are a case's `requires` true to its steps? A requirement a
 * case does not use makes it UNSUPPORTED, for nothing, against every
 * target that lacks it (a back-end without a control channel, a target
 * that is no local process); one the case's own handshake cannot meet
 * makes it UNSUPPORTED against every target. Part of `vhucheck-harness
 * --check-cases`; pure, nothing runs. docs/writing-cases.md, "Checking
 * cases".
 *
 * The other direction (a step that needs what the header does not
 * require: `control` without `requires control`, `check mapped` without
 * `requires pid`) is a parse error already (script.c).
 */
#ifndef VHU_REQCHECK_H
#define VHU_REQCHECK_H

#include "script.h"

#define REQCHECK_MAX_FINDINGS 8u
#define REQCHECK_MSG_MAX 256u

/* Target capabilities a step can need (a bit set). */
enum {
	REQCHECK_NEED_CONTROL = 1, /* talks on the control channel */
	REQCHECK_NEED_PID = 2,     /* reads /proc/PID of the target */
	REQCHECK_NEED_SOCKET = 4,  /* the target must connect again */
};

struct reqcheck_finding {
	unsigned line;          /* the `requires` or the step's line */
	char msg[REQCHECK_MSG_MAX];
};

struct reqcheck_report {
	unsigned nfindings;     /* at most REQCHECK_MAX_FINDINGS kept */
	unsigned dropped;
	struct reqcheck_finding f[REQCHECK_MAX_FINDINGS];
};

/* The capabilities step st needs (REQCHECK_NEED_*). */
unsigned reqcheck_step_needs(const struct script_step *st);

/* Fills r with the findings of case c (both roles). */
void reqcheck_case(const struct script_case *c, struct reqcheck_report *r);

#endif
