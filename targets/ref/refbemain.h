/* SPDX-License-Identifier: MIT */
/*
 * refbemain: the reference back-end's main channel: each front-end
 * request handled and answered. The public functions keep refbe's names.
 */
#ifndef VHU_REFBEMAIN_H
#define VHU_REFBEMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "refbe.h"

/* What GET_SHMEM_CONFIG answers now (faults included); counts a call. */
void refbe_shmem_config(struct refbe *be, struct proto_shmem_config *out);
/* Handles one main-channel request and sends what it calls for. fds in m
 * are not taken (dup'ed when kept). 0, or -errno when a reply could not
 * be sent (the main channel is then closed). */
int refbe_handle_main_msg(struct refbe *be, const struct chan_msg *m);
/* Receives and handles one main-channel request. 0, 1 when the channel is
 * gone, -ETIMEDOUT. Not to be called while refbe_waiting(): a back-end
 * blocked on a reply answers nothing else. */
int refbe_service_main(struct refbe *be, int64_t deadline);

#endif
