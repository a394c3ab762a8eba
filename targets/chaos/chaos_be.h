/* SPDX-License-Identifier: MIT */
/*
 * chaos_be: vhu-chaos as a back-end (the harness plays the front-end).
 * Answers the handshake, keeps the back-end channel, sends SHMEM_MAP /
 * SHMEM_UNMAP when the control channel says `map` / `unmap`, and floods
 * the back-end channel with MAPs in flood mode.
 */
#ifndef VHU_CHAOS_BE_H
#define VHU_CHAOS_BE_H

#include "chaos_peer.h"

/* One message that arrived on the main / back-end channel. */
void chaos_be_on_main(struct chaos_peer *p, struct chan_msg *m);
void chaos_be_on_backend(struct chaos_peer *p, struct chan_msg *m);
void chaos_be_on_control(struct chaos_peer *p, const struct ctl_cmd *cmd);
/* Sends for up to ms milliseconds without reading anything. */
void chaos_be_flood(struct chaos_peer *p, unsigned ms);

#endif
