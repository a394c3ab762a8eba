/* SPDX-License-Identifier: MIT */
/*
 * fault: the switchable faults of the reference targets.
 *
 * Each fault mirrors a class of bug seen in real implementations (digest
 * 13) and is switched on at run time with --fault NAME, never compiled in,
 * so the suite can prove that it catches every one of them. The list here
 * and targets/faults/catalogue.ini name the same faults (a unit test
 * checks it).
 */
#ifndef VHU_FAULT_H
#define VHU_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fault_role {
	FAULT_ROLE_FRONTEND = 0,
	FAULT_ROLE_BACKEND = 1,
};

enum fault_id {
	/* front-end: SHMEM_MAP / SHMEM_UNMAP validation */
	FAULT_FE_NO_OVERLAP_CHECK = 0,
	FAULT_FE_OVERLAP_TOUCHING_REJECTED,
	FAULT_FE_OVERLAP_STRADDLE_MISSED,
	FAULT_FE_NO_BOUNDS_CHECK,
	FAULT_FE_BOUNDS_WRAP,
	FAULT_FE_LEN_ZERO_ACCEPTED,
	FAULT_FE_UNKNOWN_SHMID_NULL,
	/* front-end: replies */
	FAULT_FE_NO_REPLY_ON_ERROR,
	FAULT_FE_ERROR_REPLY_ZERO,
	FAULT_FE_REPLY_WRONG_FLAGS,
	FAULT_FE_REPLY_WRONG_SIZE,
	FAULT_FE_MEMTABLE_BEFORE_REPLY,
	FAULT_FE_MEMTABLE_BLOCKS_BACKEND,
	FAULT_FE_MEMTABLE_OVERCOMMIT,
	/* front-end: UNMAP, lifecycle, fds, gating */
	FAULT_FE_UNMAP_IGNORES_LEN,
	FAULT_FE_UNMAP_PARTIAL,
	FAULT_FE_RESET_KEEPS_MAPPINGS,
	FAULT_FE_FD_LEAK_ON_ERROR,
	FAULT_FE_RO_MAPPED_RW,
	FAULT_FE_MAP_WITHOUT_SHMEM,
	FAULT_FE_SHORT_PAYLOAD_STALE,
	FAULT_FE_ABORT_BEFORE_START,
	FAULT_FE_ABORT_NREGIONS,
	/* back-end */
	FAULT_BE_MAP_WITHOUT_SHMEM,
	FAULT_BE_NO_WAIT_FOR_REPLY,
	FAULT_BE_FD_ON_UNMAP,
	FAULT_BE_NO_FD_ON_MAP,
	FAULT_BE_NONZERO_PADDING,
	FAULT_BE_UNKNOWN_FLAGS,
	FAULT_BE_MAP_OUTSIDE_REGION,
	FAULT_BE_MAP_OVERLAP_OWN,
	FAULT_BE_EOF_AS_SUCCESS,
	FAULT_BE_ABORT_SHORT_REPLY,
	FAULT_BE_CONFIG_NOT_PAGE_MULTIPLE,
	FAULT_BE_CONFIG_UNSTABLE,
	/* back-end: what it concludes from a malformed or missing reply */
	FAULT_BE_SHORT_REPLY_AS_SUCCESS,
	FAULT_BE_PARTIAL_REPLY_AS_SUCCESS,
	FAULT_BE_SPLIT_HEADER_LOST,
	FAULT_BE_REPLY_FLAGS_UNCHECKED,
	FAULT_BE_REPLY_ID_UNCHECKED,
	FAULT_BE_KEEPS_REPLY_FDS,
	FAULT_BE_NO_REPLY_AS_SUCCESS,
	/* back-end: serving the main channel while a reply is due */
	FAULT_BE_BLOCKS_MAIN_WHILE_WAITING,
	FAULT_COUNT,
};

struct fault_info {
	const char *name;     /* as on the command line and in catalogue.ini */
	enum fault_role role;
	const char *summary;  /* one line for --help and docs */
};

/* Passed explicitly to whoever must misbehave; no global state. */
struct fault_set {
	uint64_t bits[(FAULT_COUNT + 63) / 64];
};

void fault_set_clear(struct fault_set *s);
void fault_set_add(struct fault_set *s, enum fault_id f);
bool fault_on(const struct fault_set *s, enum fault_id f);
/* Number of faults switched on. */
unsigned fault_set_count(const struct fault_set *s);

/* NULL for an id out of range. */
const struct fault_info *fault_info(enum fault_id f);
const char *fault_name(enum fault_id f);
/* Exact, case-sensitive lookup. Returns the id or -1. */
int fault_by_name(const char *name);

/* Adds the faults named in arg (one name or a comma-separated list) to s.
 * Unknown names and faults of the other role are refused with a message
 * in err; s is unchanged then. Returns 0 or -EINVAL. */
int fault_parse(struct fault_set *s, const char *arg, enum fault_role role,
		char *err, size_t errcap);

/* Writes "name, name, ..." of the faults of one role (for --help). */
int fault_list_names(enum fault_role role, char *out, size_t cap);

#endif
