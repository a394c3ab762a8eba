/* SPDX-License-Identifier: MIT */
/*
 * monledger: the monitor's ledger of the back-end's live mappings. Each
 * SHMEM_MAP/UNMAP the back-end sends is judged against the region sizes
 * (GET_SHMEM_CONFIG) and what is live, and taken as live or removed at
 * once; a refusal by the front-end undoes it; a reset clears it, keeping
 * what was live for the "still used after reset" finding.
 */
#ifndef VHU_MONLEDGER_H
#define VHU_MONLEDGER_H

#include "monitor.h"

/* A SHMEM_MAP or SHMEM_UNMAP request: ledger findings, and what the
 * front-end's reply must be (p->must_fail, soft_fail, why). */
void monledger_request(struct monitor *m, const struct monitor_msg *msg,
		       const struct monitor_where *w, struct monitor_pending *p);
/* The front-end refused p: what the ledger took from it is undone. */
void monledger_undo(struct monitor *m, const struct monitor_pending *p);
/* A reset: every mapping goes (remembered as live before the reset). */
void monledger_reset(struct monitor *m);

#endif
