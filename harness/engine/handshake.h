/* SPDX-License-Identifier: MIT */
/*
 * handshake: the `handshake` step in both roles. As back-end the harness
 * serves the front-end's negotiation (offers, GET_SHMEM_CONFIG answer)
 * and starts the device; as front-end it drives the negotiation, the
 * back-end channel, the memory table and one vring. Requirements are
 * checked here (UNSUPPORTED).
 */
#ifndef VHU_HANDSHAKE_H
#define VHU_HANDSHAKE_H

#include "run.h"

void handshake_backend(struct run *x);
void handshake_frontend(struct run *x);
/* The offer in force before any handshake step ran: the first one's,
 * or the defaults (the front-end negotiates as soon as it runs). */
void handshake_first_offer(struct run *x);
/* Before `control reconnect`: the offer of the next handshake step, if
 * there is one, serves the new connection's negotiation, which the
 * front-end starts at once. */
void handshake_next_offer(struct run *x);
/* The case's SHMEM bit: its first handshake's, or --shmem-bit. */
unsigned handshake_case_bit(const struct run *x);

#endif
