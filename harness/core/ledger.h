/* SPDX-License-Identifier: MIT */
/*
 * ledger: the SHMEM_MAP / SHMEM_UNMAP requests a back-end target sent,
 * judged against the region sizes it advertised (digest 6 and 7):
 * inside a region, no overlap with its own live mappings, UNMAPs of
 * exact live ranges. Pure bookkeeping, no I/O.
 */
#ifndef VHU_LEDGER_H
#define VHU_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define LEDGER_MAX_LIVE 512u

struct ledger_map {
	uint8_t shmid;
	uint64_t offset, len;
};

struct ledger {
	bool have_config;
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	unsigned nlive;
	struct ledger_map live[LEDGER_MAX_LIVE];
	unsigned requests;      /* MAP and UNMAP seen */
	unsigned violations;
	char first[256];        /* the first violation, for reports */
	/* The last request, so that a refusal can undo it. */
	enum { LEDGER_LAST_NONE, LEDGER_LAST_MAP, LEDGER_LAST_UNMAP } last;
	bool last_changed;      /* it changed the live set */
	struct ledger_map last_map;
};

/* cfg NULL: the target advertised no layout (SHMEM not negotiated), so
 * every MAP/UNMAP is a violation. */
void ledger_init(struct ledger *l, const struct proto_shmem_config *cfg);
void ledger_on_map(struct ledger *l, const struct proto_mmap *m);
void ledger_on_unmap(struct ledger *l, const struct proto_mmap *m);
/* The device was reset: the front-end dropped every mapping. */
void ledger_clear(struct ledger *l);
/* The front-end refused the last request (non-zero reply): undo it. */
void ledger_refuse_last(struct ledger *l);

#endif
