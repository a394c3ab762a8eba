/* SPDX-License-Identifier: MIT */
/*
 * chaos_act: the misbehaviours that concern the process rather than a
 * message: crashing, hanging, stopping, exiting, forking children that
 * outlive us or leave our process group.
 *
 * Safety nets: every process these acts leave behind (a hung target, a
 * child) ends by itself after CHAOS_ACT_SAFETY_S at the latest (SIGALRM,
 * which nothing here ignores), so a harness that fails to kill them is
 * caught by the orphan check of tests/stages/50-chaos.sh, yet a CI
 * machine is not left with them forever.
 */
#ifndef VHU_CHAOS_ACT_H
#define VHU_CHAOS_ACT_H

#include "chaos_mode.h"

#define CHAOS_ACT_SAFETY_S 60u
/* The child of fork-escape ends by itself after this. */
#define CHAOS_ACT_ESCAPE_S 2u
#define CHAOS_ACT_SPEW_BYTES (16u << 20)

/* Carries out the plan's process-class act, once: call it for every
 * event for which chaos_plan_tick() returned true. Returns only for
 * acts the process survives (stop, the forks) and for other modes. */
void chaos_act_run(struct chaos_plan *p, const struct chaos_log *log);
/* The main channel ended (EOF, reset): the act of an EOF-class mode,
 * whatever the trigger. */
void chaos_act_on_eof(struct chaos_plan *p, const struct chaos_log *log);
/* Sleeps ms milliseconds without polling anything (EINTR resumed). */
void chaos_act_sleep_ms(unsigned ms);

#endif
