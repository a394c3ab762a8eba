/* SPDX-License-Identifier: MIT */
/*
 * ctlanswer: the control channel's answers as text (docs/control.md):
 * their first word, the version a target speaks, the outcome a version 2
 * `map`/`unmap` reports, `err unsupported: WHY`; and the answers a case
 * keeps for `expect result`. Pure: the engine's control module and
 * --check-control use it; run keeps a case's ctlanswer_state.
 */
#ifndef VHU_CTLANSWER_H
#define VHU_CTLANSWER_H

#include <stdbool.h>

/* The answer's outcome, as `ok result=...` says it. */
enum ctlanswer_outcome {
	CTLANSWER_OK = 0,  /* result=0 */
	CTLANSWER_FAIL,    /* result=fail reason=... */
	CTLANSWER_SENT,    /* result=sent */
	CTLANSWER_BAD,     /* anything else */
};

#define CTLANSWER_MAX 8u

/* A version 2 map/unmap whose answer is awaited or not judged yet. */
struct ctlanswer {
	char cmd[256];          /* the command, for reports */
	bool came;
	/* judged by `expect result not-ok` before it came: kept only to
	 * take its answer when it comes late */
	bool judged;
	char text[512];         /* its answer, once it came */
};

struct ctlanswer_state {
	int version;            /* 0 before `version 2` was asked, then 1 or 2 */
	unsigned n;             /* answers kept for `expect result`, oldest first */
	struct ctlanswer a[CTLANSWER_MAX];
};

/* Whether the answer's first word is word ("ok", "err"). */
bool ctlanswer_is(const char *answer, const char *word);
/* Parses `ok version=N`: N, 1 for an `err` or an `ok` without
 * version= (a version 1 target), -1 for anything else. */
int ctlanswer_version(const char *answer);
/* Parses `ok result=0|fail|sent`; *reason (may be NULL) points at the
 * text after `reason=`, or "" when there is none. */
enum ctlanswer_outcome ctlanswer_outcome(const char *answer,
					 const char **reason);

/* The WHY of `err unsupported: WHY` (docs/architecture.md, "The control
 * channel"): the target understands the command but cannot carry it out.
 * NULL for any other answer; a missing WHY is said so. */
const char *ctlanswer_unsupported(const char *answer);

#endif
