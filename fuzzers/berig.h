/* SPDX-License-Identifier: MIT */
/*
 * berig: the reference back-end (targets/ref/refbe) rigged in process
 * for fuzzing, the fuzzer playing the front-end.
 *
 * The back-end gets a real main channel and a real back-end channel
 * (socketpairs), negotiated through its own main-channel handlers. The
 * rig asks it for MAP/UNMAP as its control channel would, checks every
 * message it sends (validator, fds, regions, its own overlaps, the
 * NEED_REPLY it set and whether it then waits), answers with what the
 * input says (a good reply, an error, nothing, a malformed one, fds,
 * EOF...) and compares the outcome and the ledger with a small model.
 */
#ifndef VHU_FUZZ_BERIG_H
#define VHU_FUZZ_BERIG_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "fuzzpool.h"
#include "refbe.h"

/* How the rig answers a request of the back-end. */
enum berig_reply {
	BERIG_OK = 0,       /* 0x5, size 8, value 0 */
	BERIG_ERR,          /* value non-zero */
	BERIG_NONE,         /* no reply at all */
	BERIG_WRONG_ID,     /* another request id */
	BERIG_WRONG_FLAGS,  /* REPLY missing, NEED_REPLY set, version 2, ... */
	BERIG_SHORT,        /* size 4, 4 bytes */
	BERIG_LONG,         /* size 16, 16 bytes */
	BERIG_TRUNC,        /* size 8, 3 bytes, then nothing */
	BERIG_FDS,          /* a good reply carrying fds */
	BERIG_EOF,          /* the channel closed instead */
	BERIG_DOUBLE,       /* two good replies */
	BERIG_REPLY_MAX,
};

struct berig_range {
	uint8_t shmid;
	uint64_t shm_offset, len;
};

struct berig {
	struct refbe be;
	struct fuzzpool pool;
	struct chan peer;        /* our end of the back-end channel */
	struct chan main_peer;   /* our end of the main channel */
	uint64_t pf_all;
	bool shmem, reply_ack;   /* as negotiated */
	/* The front-end's view: region sizes from GET_SHMEM_CONFIG, and
	 * the first answer of the connection (it must never change). */
	struct proto_shmem_config config, first_config;
	/* The model of the back-end's ledger: live mappings only. */
	struct berig_range live[REFBE_MAX_MAPPINGS];
	unsigned nlive;
	char err[256];
};

/* Faults from VHU_FAULTS (role backend). 0 or -errno with b->err. */
int berig_init(struct berig *b);
void berig_free(struct berig *b);
/* Between inputs: empty ledger, everything negotiated, a working
 * back-end channel. */
void berig_reset_input(struct berig *b);

/* A MAP the back-end is asked to send (skipped when its own checks
 * refuse it), answered as told. value: the ERR reply's value and the
 * WRONG_FLAGS variant. */
void berig_map(struct berig *b, const struct refbe_map_req *req,
	       enum berig_reply reply, uint8_t value, unsigned fd_choice);
/* UNMAP of live mapping number idx (mod the count), answered as told. */
void berig_unmap(struct berig *b, unsigned idx, int need_reply,
		 enum berig_reply reply, uint8_t value, unsigned fd_choice);
/* GET_SHMEM_CONFIG on the main channel; the answer is checked. */
void berig_get_config(struct berig *b);
/* SET_STATUS 0: a device reset as the back-end hears of it. */
void berig_device_reset(struct berig *b);
void berig_negotiate(struct berig *b, bool shmem, bool reply_ack);
/* A new back-end channel (SET_BACKEND_REQ_FD). */
void berig_reconnect(struct berig *b);
/* A message nobody waits for on the back-end channel: a reply (value
 * even) or a request (odd), with fds. */
void berig_stray(struct berig *b, uint8_t value, unsigned fd_choice);

#endif
