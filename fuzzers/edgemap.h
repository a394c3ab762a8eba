/* SPDX-License-Identifier: MIT */
/*
 * edgemap: the edge coverage of a target built with AFL++ instrumentation
 * (afl-clang-fast, afl-clang-lto or afl-gcc-fast; SanitizerCoverage's
 * trace-pc-guard under AFL++'s runtime), read the way afl-fuzz reads it:
 * a System V shared memory map whose id the target finds in
 * $__AFL_SHM_ID, each byte an edge's hit count, bucketed (1, 2, 3, 4-7,
 * 8-15, 16-31, 32-127, 128+) and compared with the buckets seen so far.
 *
 * The live drivers use it as a second feedback beside the protocol
 * states: a segment that reaches a new edge bucket is kept for mutation.
 * A target without the instrumentation never writes the map: the drivers
 * report it as not instrumented and go on with the states alone.
 */
#ifndef VHU_FUZZ_EDGEMAP_H
#define VHU_FUZZ_EDGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDGEMAP_SIZE_DEFAULT (1u << 21)   /* QEMU-sized; $AFL_MAP_SIZE wins */

struct edgemap {
	uint8_t *trace;      /* shared with the target */
	uint8_t *virgin;     /* buckets not seen yet (bits set) */
	size_t size;
	int shmid;
	unsigned long edges;     /* edges seen at least once */
	unsigned long new_bits;  /* buckets first seen, in all */
};

/* Creates the map and exports $__AFL_SHM_ID and $AFL_MAP_SIZE, so that a
 * target launched after it writes there. The segment is marked for
 * removal at once: it goes with the last process attached to it. 0, or
 * -1 with err. */
int edgemap_open(struct edgemap *e, char *err, size_t errcap);

/* Folds what the target hit since the last call into the buckets seen,
 * clears the map for the next operation, and returns how many buckets
 * were new. */
unsigned long edgemap_take(struct edgemap *e);

/* After the target's start-up: what it hit is seen (edges), but is no
 * operation's, so no new bucket is counted for it. */
void edgemap_started(struct edgemap *e);

/* The count buckets of one hit count, as afl-fuzz classifies them. */
uint8_t edgemap_bucket(uint8_t count);

/* The buckets seen by earlier runs (a campaign restarts its target):
 * PATH as edgemap_save wrote it. A missing file is no error; one of
 * another size is (-1). */
int edgemap_load(struct edgemap *e, const char *path);
int edgemap_save(const struct edgemap *e, const char *path);
/* Beside a driver's --states FILE: FILE.edges loaded (save false) or
 * saved. Nothing without a map or a FILE. 0, or -1. */
int edgemap_beside(struct edgemap *e, const char *states, bool save);

void edgemap_close(struct edgemap *e);

#endif
