/* SPDX-License-Identifier: MIT */
/*
 * launch: the start of a case: its trace file, the target launched from
 * the command template (socketpairs for {fd} and {control}, a socket
 * for {socket}) or attached to (--connect, --listen), and the main
 * channel connected, within the case's deadline. Failures abort the
 * case through run.h (ERROR, or UNSUPPORTED for what the command
 * cannot offer).
 */
#ifndef VHU_LAUNCH_H
#define VHU_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>

#include "run.h"

/* The session of x set up and connected; false when the case cannot run
 * (x is aborted with the reason). t0: the case's start (chan_now_ms).
 * A target launched ahead for x's case is used as launched. */
bool launch_setup(struct run *x, int64_t t0);

/* --launch-ahead. launch_ahead_start(): the target of case c launched
 * now, for the case after the current one (best effort: a launch that
 * fails is dropped, and the case launches its own as usual). Only for
 * a case that precheck would let launch. launch_ahead_take(): the run
 * prepared for c, or NULL (one for another case, one older than
 * LAUNCH_AHEAD_MAX_MS scaled, so that no target waits for its case
 * longer than a target's own deadlines allow, is stopped and dropped).
 * launch_ahead_drop(): stops whatever was launched ahead. */
#define LAUNCH_AHEAD_MAX_MS 1000
void launch_ahead_start(struct runenv *e, const struct script_case *c);
struct run *launch_ahead_take(struct runenv *e, const struct script_case *c);
void launch_ahead_drop(struct runenv *e);

#endif
