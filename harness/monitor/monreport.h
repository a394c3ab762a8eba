/* SPDX-License-Identifier: MIT */
/*
 * monreport: vhucheck-monitor's JSON report of one session (the schema
 * is in docs/monitor.md): who ran, what was negotiated, message counts,
 * findings per check and severity, every finding kept.
 */
#ifndef VHU_MONREPORT_H
#define VHU_MONREPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "faultrule.h"
#include "monitor.h"

#define MONREPORT_SCHEMA 1

struct monreport_side {
	const char *cmd;        /* NULL when not launched by the monitor */
	const char *socket;
	pid_t pid;              /* 0 when not launched */
	bool ended, exited;
	int exit_code, signal;
	const char *log;        /* NULL when not kept */
};

struct monreport_info {
	const char *version;
	unsigned shmem_bit;
	int64_t started_unix_ms;
	double duration_ms;
	const char *end_reason;
	const char *trace_path; /* NULL: no recording */
	struct monreport_side side[2];
	unsigned relayed, dropped, injected, script_errors;
	const struct faultrule *rules;
	unsigned nrules;
};

/* Writes the report as one JSON document to f. 0 or -EIO. */
int monreport_write(FILE *f, const struct monreport_info *in,
		    const struct monitor *m);

#endif
