/* SPDX-License-Identifier: MIT */
/*
 * splitsend: one message in two writes with a pause between, for
 * `reply ... split=N pause=MS` (a header that arrives in pieces, as any
 * stream socket may deliver it). Part of the engine, not for use outside.
 */
#ifndef VHU_SPLITSEND_H
#define VHU_SPLITSEND_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "script.h"

struct run;

/* Sends the header h and len payload bytes: the first `split` bytes with
 * the fds (they travel with the first byte, digest 1), then pause_ms of
 * serving the channels as `sleep` does, then the rest. The pause is not
 * scaled by --timeout-multiplier: it is part of the message's shape, and
 * a back-end's own time limits do not scale either. A split at or past
 * the end sends the message whole. 0, a positive chan status, or -errno
 * (-ECANCELED: the case stopped during the pause). */
int splitsend_msg(struct run *x, enum script_chan c, const struct proto_hdr *h,
		  const uint8_t *payload, size_t len, const int *fds,
		  unsigned nfds, uint32_t split, uint32_t pause_ms);

#endif
