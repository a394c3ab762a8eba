/* SPDX-License-Identifier: MIT */
/*
 * refusal: a target that refuses the case's configuration, for cases
 * whose header says the spec lets it (`refusal PASS|NON-STRICT|INFO`,
 * docs/writing-cases.md). Part of the engine (internal).
 *
 * A clean refusal happens during the case's first handshake step, before
 * the device started: the target ends by a normal exit (any code, no
 * signal; a sanitizer report is still a CRASH at the end of the case) or
 * closes the main channel. The case then gets the header's verdict with
 * the reason "refused the configuration: ...", and the failures that the
 * refusal caused in that step (the handshake could not complete) are not
 * held against the target. Anything else stays as judged: a death by a
 * signal is a CRASH, a target that stays connected fails as usual.
 */
#ifndef VHU_REFUSAL_H
#define VHU_REFUSAL_H

#include "run.h"

/* After the case's first handshake step; nfail is the count of failures
 * recorded before it. */
void refusal_judge(struct run *x, unsigned nfail);

#endif
