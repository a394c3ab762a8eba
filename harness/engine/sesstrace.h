/* SPDX-License-Identifier: MIT */
/*
 * sesstrace: the trace of a running case: one line per message both ways
 * on both channels and the harness's notes ("# ..."), written to the
 * trace file when there is one, the last lines kept for reports (the
 * tail, and the last line per channel). Times are since t0, the case's
 * start, which the caller passes (it may be set after the trace).
 */
#ifndef VHU_SESSTRACE_H
#define VHU_SESSTRACE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chan.h"

#define SESS_TAIL 8u

struct sesstrace {
	FILE *file;             /* NULL: no trace file */
	char tail[SESS_TAIL][256];
	unsigned ntail;
	char last_line[2][256]; /* the last trace line per channel */
};

/* Takes the file (may be NULL); sesstrace_close() closes it. */
void sesstrace_init(struct sesstrace *t, FILE *file);
void sesstrace_close(struct sesstrace *t);
/* A message on a channel ("main" or "backend"), as chan traces it. */
void sesstrace_msg(struct sesstrace *t, int64_t t0, const char *chan_name,
		   enum chan_dir dir, const struct chan_msg *m,
		   enum chan_status st);
/* A note of the harness's own: "+0.0012s # text". */
void sesstrace_vnote(struct sesstrace *t, int64_t t0, const char *fmt,
		     va_list ap) __attribute__((format(printf, 3, 0)));
/* A message sent with more fds than chan's 8 (sendwide.h): its line
 * with the first 8, then a note of the rest. rc is what the send gave. */
void sesstrace_wide(struct sesstrace *t, int64_t t0, const char *chan_name,
		    const uint8_t *buf, size_t len, const int *fds,
		    unsigned nfds, int rc);
/* The last n lines joined by newlines. */
void sesstrace_tail(const struct sesstrace *t, unsigned n, char *out,
		    size_t cap);

#endif
