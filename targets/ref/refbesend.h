/* SPDX-License-Identifier: MIT */
/*
 * refbesend: the reference back-end's MAP and UNMAP requests: queued,
 * sent on the back-end channel one at a time, their replies judged. The
 * public functions keep refbe's names.
 */
#ifndef VHU_REFBESEND_H
#define VHU_REFBESEND_H

#include <stdbool.h>
#include <stdint.h>

#include "refbe.h"

/* The back-end channel is readable: takes the awaited reply (and sends
 * the next queued request), or drains a message nobody waits for. 0, or
 * 1 when the channel is gone. */
int refbe_service_backend(struct refbe *be, int64_t deadline);
enum refbe_outcome {
	REFBE_DONE = 0,        /* reply 0, or no reply asked for */
	REFBE_REFUSED,         /* reply non-zero */
	REFBE_NO_REPLY,        /* deadline passed */
	REFBE_BAD_REPLY,       /* malformed reply (size, flags, id) */
	REFBE_EOF,             /* the back-end channel closed */
	REFBE_SEND_FAILED,     /* the request could not be sent */
};
const char *refbe_outcome_name(enum refbe_outcome o);

/* Queues a checked request (the ledger takes it at once) and sends what
 * can be sent: everything up to the first request that waits for a
 * reply. 0 or -errno. */
int refbe_submit(struct refbe *be, const struct refbe_map_req *req, bool map);
/* How long a half-arrived message on the back-end channel is left to
 * complete before it is read: limit_ms, or 0 under the faults that read
 * whatever arrived (be_split_header_lost, be_partial_reply_as_success). */
int refbe_partial_patience(const struct refbe *be, int limit_ms);
/* True while a reply is awaited; *deadline (may be NULL) when it is due. */
bool refbe_waiting(const struct refbe *be, int64_t *deadline);
/* Gives up on an awaited reply once its deadline has passed
 * (REFBE_NO_REPLY) and sends what was queued behind it. */
void refbe_check_timeout(struct refbe *be);
/* Serves the back-end channel until nothing is awaited or the deadline.
 * Returns be->last_outcome, -ETIMEDOUT or -ECANCELED. */
int refbe_wait_idle(struct refbe *be, int64_t deadline);
/* submit + wait_idle: the outcome of one request (tests, fuzzers). */
int refbe_send_map(struct refbe *be, const struct refbe_map_req *req);
int refbe_send_unmap(struct refbe *be, const struct refbe_map_req *req);


/* Ends the request whose reply is awaited with this outcome (a new
 * back-end channel came, or the old one is gone). */
void refbesend_finish_inflight(struct refbe *be, int outcome);

#endif
