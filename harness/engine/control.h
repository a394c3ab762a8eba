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

#include "script.h"
#include "session.h"

#define CONTROL_VERSION_MAX 2

/* The answer's outcome, as `ok result=...` says it. */
enum control_outcome {
	CONTROL_OUTCOME_OK = 0,    /* result=0 */
	CONTROL_OUTCOME_FAIL,      /* result=fail reason=... */
	CONTROL_OUTCOME_SENT,      /* result=sent */
	CONTROL_OUTCOME_BAD,       /* anything else */
};

#define CONTROL_MAX_ANSWERS 8u

/* A version 2 map/unmap whose answer is awaited or not judged yet. */
struct control_answer {
	char cmd[256];          /* the command, for reports */
	bool came;
	/* judged by `expect result not-ok` before it came: kept only to
	 * take its answer when it comes late */
	bool judged;
	char text[512];         /* its answer, once it came */
};

struct control_state {
	int version;            /* 0 before `version 2` was asked, then 1 or 2 */
	unsigned n;             /* answers kept for `expect result`, oldest first */
	struct control_answer a[CONTROL_MAX_ANSWERS];
};

struct run;

/* Parses `ok version=N`: N, 1 for an `err` or an `ok` without
 * version= (a version 1 target), -1 for anything else. */
int control_parse_version(const char *answer);
/* Parses `ok result=0|fail|sent`; *reason (may be NULL) points at the
 * text after `reason=`, or "" when there is none. */
enum control_outcome control_parse_outcome(const char *answer,
					   const char **reason);

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

/* The `expect result ok|fail|sent|any` step. */
void control_expect_result(struct run *x);

#endif
