/* SPDX-License-Identifier: MIT */
/*
 * role_frontend: the harness as a vhost-user front-end (a .vhu case with
 * `target backend`: against a back-end target): what it remembers of the
 * back-end's requests: the ledger of its MAP/UNMAP against the regions
 * the harness advertised (ledger.h), and which back-end request the next
 * `reply` answers.
 */
#ifndef VHU_ROLE_FRONTEND_H
#define VHU_ROLE_FRONTEND_H

#include "ledger.h"

struct role_fe {
	struct ledger ledger;
	int last_be_req;        /* log index of the last back-end request, -1 */
};

/* No request yet; the ledger without regions until the handshake. */
void rfe_init(struct role_fe *f);

#endif
