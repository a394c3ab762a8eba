/* SPDX-License-Identifier: MIT */
/*
 * casecheck: a static check of the cases themselves. For every
 * `send map` / `send unmap` of a `target frontend` case whose reply is
 * expected with a literal value (`expect reply value=0|nonzero|N`), the
 * outcome the spec fixes is recomputed from the case's own handshake
 * (region sizes by shmid, nregions, SHMEM on or off) and the steps
 * before it (digest 6, 7 and 10), and an expectation that contradicts
 * it is a finding. Pure: no I/O, nothing is sent.
 *
 * What the spec leaves open is never judged: where a MAP or UNMAP may
 * go either way (len 0, alignment, flags, padding, odd fds, the device
 * not started, ...) the model follows both outcomes, and only an
 * outcome that is fixed in one of them is compared with the case; where
 * it cannot follow a step precisely (raw bytes, payload overrides,
 * stop/reconnect, bent configs) it stops judging that shmid, or the
 * rest of the case. docs/writing-cases.md, "Checking cases".
 */
#ifndef VHU_CASECHECK_H
#define VHU_CASECHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "script.h"

#define CASECHECK_MAX_FINDINGS 32u
#define CASECHECK_MSG_MAX 448u

struct casecheck_finding {
	unsigned line;          /* the expectation's line in the case */
	char msg[CASECHECK_MSG_MAX];
};

struct casecheck_report {
	unsigned nfindings;
	unsigned dropped;       /* findings past CASECHECK_MAX_FINDINGS */
	struct casecheck_finding f[CASECHECK_MAX_FINDINGS];
	unsigned judged;        /* expectation lines compared with the model */
	unsigned open;          /* literal expectations whose outcome the spec
				   leaves open here (or the model lost) */
	unsigned stop_line;     /* 0, or the step after which nothing was
				   judged */
	char stop_why[160];     /* why the model stopped there */
};

/* Checks one parsed case (both kinds are accepted; a `target backend`
 * case has nothing to judge). Returns 0 with r filled, or -errno with a
 * message in err (out of memory). */
int casecheck_case(const struct script_case *c, struct casecheck_report *r,
		   char *err, size_t errcap);

#endif
