/* SPDX-License-Identifier: MIT */
/*
 * refshmem: the reference front-end's back-end channel: each message
 * received, SHMEM_MAP and SHMEM_UNMAP checked (digest 6-7) and mapped
 * into the reserved region (or the range given back to PROT_NONE), the
 * reply sent (digest 9), the memory-table announcements flushed after
 * it. The public functions keep reffe's names.
 */
#ifndef VHU_REFSHMEM_H
#define VHU_REFSHMEM_H

#include <stdint.h>

#include "reffe.h"

/* Handles one back-end channel message (SHMEM_MAP, SHMEM_UNMAP, anything
 * else) and sends the reply it calls for. The fd of an accepted MAP is
 * taken from m (chan_msg_take_fd); m still owns the others. Returns 0, -ECANCELED (reply not sent, the
 * program is ending), or -errno when the reply could not be sent (the
 * channel is then closed). */
int reffe_handle_backend_msg(struct reffe *fe, struct chan_msg *m);
/* Receives one message on the back-end channel and handles it.
 * 0 handled, 1 the channel is gone (EOF, framing lost), -ETIMEDOUT,
 * -ECANCELED. */
int reffe_service_backend(struct reffe *fe, int64_t deadline);
/* The main channel is readable while nothing was asked: reads and drops
 * one message. 0, or 1 when the back-end closed it (disconnected). */
int reffe_service_main(struct reffe *fe, int64_t deadline);
/* Sends the queued memory-table announcements (always after the replies
 * that caused them), serving the back-end channel while it waits for
 * their replies. 0 or -errno. */
int reffe_flush_announce(struct reffe *fe, int64_t deadline);

#endif
