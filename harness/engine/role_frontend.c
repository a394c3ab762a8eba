/* SPDX-License-Identifier: MIT */
/* role_frontend: the harness as front-end (role_frontend.h). */
#include <string.h>

#include "role_frontend.h"

void rfe_init(struct role_fe *f)
{
	memset(f, 0, sizeof(*f));
	ledger_init(&f->ledger, NULL);
	f->last_be_req = -1;
}
