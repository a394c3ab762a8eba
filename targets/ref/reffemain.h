/* SPDX-License-Identifier: MIT */
/*
 * reffemain: the reference front-end's main channel: its requests and
 * their replies (REPLY_ACK), the handshake, and the device lifecycle
 * (start, stop, reset). The public functions keep reffe's names.
 */
#ifndef VHU_REFFEMAIN_H
#define VHU_REFFEMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reffe.h"

/* The whole handshake on the main channel, each reply awaited until the
 * deadline. 0, or -errno with a message (the connection is dropped). */
int reffe_handshake(struct reffe *fe, int64_t deadline, char *err,
		    size_t errcap);
/* Takes a GET_SHMEM_CONFIG reply and reserves the regions. A reply that is
 * not a well-formed GET_SHMEM_CONFIG reply (request id, REPLY flag,
 * version, 2056 bytes) is refused (-EPROTO, the old regions stay);
 * nregions above 256 or disagreeing with the sizes is tolerated: all 256
 * sizes are read and the non-zero ones are the regions; padding is
 * ignored. The handshake keeps the connection after a refused reply and
 * runs without regions. */
int reffe_apply_shmem_config(struct reffe *fe, const struct chan_msg *reply,
			     char *err, size_t errcap);

/* Device lifecycle. start: SET_STATUS with DRIVER_OK when STATUS is
 * negotiated (a bare mark otherwise). stop: GET_VRING_BASE of queue 0;
 * mappings stay. reset: every mapping and kept fd goes, then
 * RESET_DEVICE (or SET_STATUS 0, or RESET_OWNER) is sent. Each returns 0
 * or -errno with a message. Without a main channel they only change the
 * local state. */
int reffe_start(struct reffe *fe, int64_t deadline, char *err, size_t errcap);
int reffe_stop(struct reffe *fe, int64_t deadline, char *err, size_t errcap);
int reffe_reset(struct reffe *fe, int64_t deadline, char *err, size_t errcap);

/* For refannounce: a request acked per REPLY_ACK (NEED_REPLY when
 * negotiated or forced); a non-zero answer is -EREMOTEIO. serve
 * (may be NULL) serves the back-end channel while the reply is awaited. */
int reffemain_request_acked(struct reffe *fe, uint32_t req,
			    const void *payload, size_t len, const int *fds,
			    unsigned nfds, bool force_need_reply,
			    int64_t deadline, reffe_serve_fn serve);
/* SET_MEM_TABLE with the guest RAM, and the live mappings when
 * with_shmem; acked as reffemain_request_acked. 0 or -errno. */
int reffemain_send_mem_table(struct reffe *fe, bool with_shmem,
			     bool force_need_reply, int64_t deadline,
			     reffe_serve_fn serve);

#endif
