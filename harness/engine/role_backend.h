/* SPDX-License-Identifier: MIT */
/*
 * role_backend: the harness as a vhost-user back-end (a .vhu case with
 * `target frontend`: against a front-end target). What it offers, what the
 * front-end told it, and the back-end model of the verdict-trust work:
 * whether a main-channel request is answered now or waits.
 *
 *   threaded (default)  a back-end with one thread per channel: the main
 *                       channel is answered even while the harness's own
 *                       back-end request waits for its reply;
 *   single-thread       `model single-thread`: main-channel answers wait
 *                       while that request is pending (blocked);
 *   hold                `hold main NAMES`: the answers to those requests
 *                       wait until `release main`.
 *
 * Pure: it decides and builds the answers; the session (session.h) owns
 * the channels, sends them and keeps the message log the queue indexes.
 */
#ifndef VHU_ROLE_BACKEND_H
#define VHU_ROLE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "script.h"

#define RBE_MAX_QUEUE 64u

/* What the harness offers and answers when it is the back-end. */
struct rbe_offer {
	uint64_t features;
	uint64_t pfeatures;
	uint64_t max_mem_slots;
	struct proto_shmem_config cfg;
	/* The GET_SHMEM_CONFIG reply as sent: normally request 44, flags
	 * 0x5 and 2056 bytes; cases bend them to test robustness. */
	uint32_t cfg_request, cfg_flags, cfg_size;
};

struct role_be {
	struct rbe_offer offer;
	bool pf_set;
	uint64_t negotiated;
	uint64_t status;
	bool driver_ok;
	/* A back-end request awaits its reply (the engine says so). */
	bool blocked;
	bool single_thread;     /* `model single-thread` */
	unsigned nhold;         /* `hold main NAMES` */
	uint32_t hold_req[SCRIPT_ORDER_MAX_NAMES];
	/* Unanswered requests, in arrival order: the caller's indices (the
	 * session's log) with their request ids. */
	unsigned nqueue;
	unsigned queue[RBE_MAX_QUEUE];
	uint32_t queue_req[RBE_MAX_QUEUE];
	/* The back-end's memory table as the front-end told it: regions of
	 * the last SET_MEM_TABLE, plus ADD_MEM_REG, less REM_MEM_REG. */
	int64_t memtable_regions;
	unsigned memtable_msgs;
};

void rbe_init(struct role_be *b);

/* What main-channel request h (payload p, len bytes) changes in the
 * state: features, status, the memory table. */
void rbe_apply(struct role_be *b, const struct proto_hdr *h, const uint8_t *p,
	       size_t len);
/* Whether request h gets an answer (a reply body, or NEED_REPLY). */
bool rbe_needs_answer(const struct proto_hdr *h);
/* The answer to request h: its header in *out_h, its body in out (cap
 * bytes, at least PROTO_SHMEM_CONFIG_SIZE); returns the body's length. */
size_t rbe_answer(const struct role_be *b, const struct proto_hdr *h,
		  const uint8_t *p, size_t len, struct proto_hdr *out_h,
		  uint8_t *out, size_t cap);

/* Whether a `hold` names request. */
bool rbe_held(const struct role_be *b, uint32_t request);
/* Whether the answer to request waits now (held, or single-thread and
 * blocked). */
bool rbe_must_wait(const struct role_be *b, uint32_t request);
/* Queues index idx (request) for later; false when the queue is full. */
bool rbe_enqueue(struct role_be *b, unsigned idx, uint32_t request);
/* Takes from the queue, in arrival order, every index that need not wait
 * any more, into out (RBE_MAX_QUEUE entries); returns how many. */
unsigned rbe_take_ready(struct role_be *b, unsigned *out);

/* The back-end request's wait began / ended. */
void rbe_block(struct role_be *b);
void rbe_unblock(struct role_be *b);
/* `hold main NAMES` (n of them) and `release main`. */
void rbe_hold(struct role_be *b, const uint32_t *req, unsigned n);
void rbe_release(struct role_be *b);

#endif
