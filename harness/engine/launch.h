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
 * (x is aborted with the reason). t0: the case's start (chan_now_ms). */
bool launch_setup(struct run *x, int64_t t0);

#endif
