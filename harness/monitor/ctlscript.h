/* SPDX-License-Identifier: MIT */
/*
 * ctlscript: what vhucheck-monitor says on the targets' control channels
 * while it relays (--control-script FILE), one step a line:
 *
 *   frontend LINE...      send LINE to the front-end's control channel
 *   backend LINE...       send LINE to the back-end's, and wait for the
 *                         answer (`ok ...` / `err ...`) before going on
 *   sleep MS              let MS ms of traffic pass
 *   wait backend-channel  until the back-end channel is relayed
 *   wait quiet MS         until MS ms passed with no message and no
 *                         reply owed
 *
 * `#` starts a comment line; blank lines are skipped. Every wait is
 * bounded by the monitor's --control-timeout.
 */
#ifndef VHU_CTLSCRIPT_H
#define VHU_CTLSCRIPT_H

#include <stddef.h>

enum ctlscript_kind {
	CTLSCRIPT_SEND = 0,
	CTLSCRIPT_SLEEP,
	CTLSCRIPT_WAIT_BACKEND_CHANNEL,
	CTLSCRIPT_WAIT_QUIET,
};

#define CTLSCRIPT_MAX_STEPS 256u
#define CTLSCRIPT_LINE_MAX 256u

struct ctlscript_step {
	enum ctlscript_kind kind;
	int side;               /* SEND: 0 front-end, 1 back-end */
	unsigned ms;
	unsigned lineno;
	char line[CTLSCRIPT_LINE_MAX];
};

struct ctlscript {
	unsigned n;
	struct ctlscript_step steps[CTLSCRIPT_MAX_STEPS];
};

/* Parses a whole script. 0, or -EINVAL with "NAME:LINE: message". */
int ctlscript_parse(const char *text, const char *name, struct ctlscript *s,
		    char *err, size_t errcap);
/* Reads and parses a file. 0 or -errno / -EINVAL with a message. */
int ctlscript_load(const char *path, struct ctlscript *s, char *err,
		   size_t errcap);

#endif
