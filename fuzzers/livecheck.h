/* SPDX-License-Identifier: MIT */
/*
 * livecheck: the fds a live stream sends and what /proc says the target
 * did with them (vhu-fuzzlive).
 *
 * Every message gets fds of its own (core's fdpool, one pool per
 * segment, 32 at most), of the fuzzpool kind the operation names, so
 * that /proc/PID/maps and /proc/PID/fd tell each mapping apart, as the
 * emitted cases' `fd fN KIND` do. A check re-reads /proc for a short
 * window while the main channel is served, like a case's check step.
 */
#ifndef VHU_FUZZ_LIVECHECK_H
#define VHU_FUZZ_LIVECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdpool.h"
#include "livepeer.h"
#include "oracle.h"

#define LIVECHECK_WINDOW_MS 100

struct livecheck_fd {
	int fd;
	char link[ORACLE_PATH_MAX];  /* what /proc shows for it */
	bool synced;                 /* its message was answered */
};

struct livecheck {
	struct fdpool pool;
	unsigned gen;
	struct livecheck_fd fds[FDPOOL_MAX];
};

enum livecheck_what {
	LIVECHECK_MAPPED_RW,    /* exactly one rw-s mapping at offset, len */
	LIVECHECK_MAPPED_RO,    /* the same, r--s */
	LIVECHECK_UNMAPPED,     /* no mapping of it */
	LIVECHECK_NO_FDS,       /* the target holds no fd of it */
};

void livecheck_init(struct livecheck *c);
/* Drops every fd (a new segment). */
void livecheck_reset(struct livecheck *c);
void livecheck_free(struct livecheck *c);
/* Fresh fds for a fuzzpool choice into idx[] (indexes of fds[]).
 * Returns how many, -1 when the pool is full. */
int livecheck_fds(struct livecheck *c, unsigned choice, int idx[2]);
/* Whether `what` holds for fds[fdi] in the target, re-read for up to
 * window_ms (obs says what was seen). A target gone reads as holding:
 * the crash check says so. */
bool livecheck_holds(struct livecheck *c, struct livepeer *p,
		     enum livecheck_what what, int fdi, uint64_t offset,
		     uint64_t len, unsigned window_ms, char *obs, size_t cap);

/* Whether no answered (synced) fd is mapped or held by the target any
 * more, re-read for up to window_ms; else *fds_left says whether an fd
 * (not a mapping) was left, obs names the first. */
bool livecheck_all_gone(struct livecheck *c, struct livepeer *p,
			unsigned window_ms, bool *fds_left, char *obs, size_t cap);

#endif
