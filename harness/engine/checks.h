/* SPDX-License-Identifier: MIT */
/*
 * checks: the `check` steps and `mark`: the target's liveness, what it
 * really mapped and holds (/proc, through oracle), the validator's
 * findings and the back-end ledger.
 */
#ifndef VHU_CHECKS_H
#define VHU_CHECKS_H

#include "run.h"

/* Runs x->st, one of the SCRIPT_CHECK_* steps. */
void checks_run(struct run *x);
/* `mark`: the target's open fds and shared mappings, for check baseline. */
void checks_mark(struct run *x);

#endif
