/* SPDX-License-Identifier: MIT */
/*
 * control: the harness's side of the control protocol, versions 1 and 2
 * (docs/control.md). Part of the engine (struct run), not for use
 * outside it.
 *
 * Before the first command of a case it asks `version 2`. With a version
 * 2 target a `map`/`unmap` answer may come after the request went out on
 * the back-end channel: it is then pending, kept for `expect result`, and
 * any later control command first waits for it.
 */
#ifndef VHU_CONTROL_H
#define VHU_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlanswer.h"
#include "script.h"
#include "session.h"

#define CONTROL_VERSION_MAX 2

struct run;

/* Before control command line: asks the version once, then waits for
 * pending answers, except for a version 2 `map`/`unmap` wanting ok, which
 * the target queues behind them. false when the case stops or the step
 * failed (recorded). */
bool control_prepare(struct run *x, const char *line, bool want_ok,
		     int64_t deadline);
/* Sends line and waits for its answer; a version 2 `map`/`unmap` also
 * ends when something arrives on the back-end channel first, or at once
 * when queued behind a pending one (its answer then stays pending). */
enum sess_wait control_exchange(struct run *x, const char *line,
				int64_t deadline);
/* After control_exchange() without an answer: true when it is pending. */
bool control_is_pending(const struct run *x);
/* After an `ok` to a version 2 `map`/`unmap`: keeps it for `expect result`. */
void control_keep_result(struct run *x, const char *line);

/* One control command of a step (prepare, exchange, judge the answer
 * against want); false when it did not get the answer wanted (a failure
 * or an UNSUPPORTED abort is recorded). */
bool control_command(struct run *x, const char *line,
		     enum script_ctl_expect want, int64_t deadline);

/* The `expect result ok|fail|sent|any` step. */
void control_expect_result(struct run *x);

#endif
