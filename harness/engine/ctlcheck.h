/* SPDX-License-Identifier: MIT */
/*
 * ctlcheck: `vhucheck-harness --check-control`, behind `./vhucheck
 * targets --check PROFILE` (docs/control.md, "Checking a target").
 *
 * Launches the target as a case would (engine_run_then), runs a
 * `handshake` so the device is started, then sends raw control lines:
 * `version 2`, each command of the target's role with harmless valid
 * arguments, an unknown command, bad arguments, `quit`. Both vhost-user
 * channels are served meanwhile (a SHMEM_MAP/UNMAP gets reply 0, as a
 * compliant front-end's). Every wait has a deadline: a target that
 * crashes or hangs is reported, and the check ends.
 */
#ifndef VHU_CTLCHECK_H
#define VHU_CTLCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine.h"

enum ctlcheck_status {
	CTLCHECK_OK = 0,
	CTLCHECK_UNSUPPORTED,   /* `err unsupported: WHY`: allowed, shown */
	CTLCHECK_SKIPPED,       /* not checked: an earlier item decides */
	CTLCHECK_MISSING,       /* `err unknown command ...` */
	CTLCHECK_WRONG,
};

#define CTLCHECK_MAX_ITEMS 20u

struct ctlcheck_item {
	char name[24];          /* the command as sent, short */
	enum ctlcheck_status status;
	char detail[400];
};

struct ctlcheck_report {
	int version;            /* the control protocol version; 0 unknown */
	double duration_ms;
	unsigned n;
	struct ctlcheck_item it[CTLCHECK_MAX_ITEMS];
};

/* Runs the check against e's target (a --target-cmd with {control};
 * e opened with runenv_open()). 0, or -errno with a message in err
 * (nothing checked). */
int ctlcheck_run(struct runenv *e, struct ctlcheck_report *rep,
		 char *err, size_t errcap);
/* Every item fine: ok, unsupported or skipped. */
bool ctlcheck_passed(const struct ctlcheck_report *rep);
/* One line per item, then a summary line. */
void ctlcheck_print(const struct ctlcheck_report *rep, FILE *f);

#endif
