/* SPDX-License-Identifier: MIT */
/*
 * chaos_fe: vhu-chaos as a front-end (the harness plays the back-end).
 * Runs a plausible handshake (features, SET_BACKEND_REQ_FD, the shmem
 * config, a memory table), really mmaps what SHMEM_MAP asks for, and
 * answers the control channel's start / stop / reset / reconnect.
 */
#ifndef VHU_CHAOS_FE_H
#define VHU_CHAOS_FE_H

#include "chaos_peer.h"

/* Connects to p->socket_path (socket mode). 0 or -errno. */
int chaos_fe_connect(struct chaos_peer *p, int ms);
/* The handshake on the main channel. 0, or -errno when the channel is
 * lost (a missing reply is not an error: chaos goes on regardless). */
int chaos_fe_handshake(struct chaos_peer *p);
/* Starts the device (SET_STATUS DRIVER_OK when STATUS is negotiated). */
void chaos_fe_start(struct chaos_peer *p);

void chaos_fe_on_main(struct chaos_peer *p, struct chan_msg *m);
void chaos_fe_on_backend(struct chaos_peer *p, struct chan_msg *m);
void chaos_fe_on_control(struct chaos_peer *p, const struct ctl_cmd *cmd);
/* Sends requests for up to ms milliseconds without reading anything. */
void chaos_fe_flood(struct chaos_peer *p, unsigned ms);

#endif
