/* SPDX-License-Identifier: MIT */
/*
 * expect: the `expect` steps (reply, no-reply, msg, no-msg, eof, order,
 * shmem-config) and the DEADLOCK rule of the harness as back-end.
 */
#ifndef VHU_EXPECT_H
#define VHU_EXPECT_H

#include "run.h"

/* Runs x->st, one of the SCRIPT_EXPECT_* steps. */
void expect_run(struct run *x);

#endif
