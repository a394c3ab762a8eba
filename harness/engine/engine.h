/* SPDX-License-Identifier: MIT */
/*
 * engine: runs one parsed case against a fresh target and judges it
 * (docs/architecture.md, docs/writing-cases.md).
 *
 * Per case: launch the target (or connect to a running one), run the
 * steps with the case deadline over everything, grade each expectation,
 * stop the target, and fill a struct result with the verdict.
 */
#ifndef VHU_ENGINE_H
#define VHU_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "result.h"
#include "runenv.h"
#include "script.h"

enum engine_rc {
	ENGINE_DONE = 0,        /* r holds the case's result */
	ENGINE_INTERRUPTED = 1, /* cancel_fd fired: r is an ERROR "interrupted" */
};

/* Runs case c. Returns an enum engine_rc; r is always filled. */
int engine_run(struct runenv *e, const struct script_case *c,
	       struct result *r);

struct run;
/* Called with the live case after its steps, when they did not stop it. */
typedef void (*engine_then_fn)(struct run *x, void *arg);
/* engine_run(), and then(x, arg) before the target is stopped: a check
 * that launches and handshakes as a case does (ctlcheck.h). */
int engine_run_then(struct runenv *e, const struct script_case *c,
		    struct result *r, engine_then_fn then, void *arg);

#endif
