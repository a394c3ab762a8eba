/* SPDX-License-Identifier: MIT */
/*
 * bepeer: the front-end side of one live back-end under fuzz
 * (vhu-fuzzlive-be). It launches the target once with its main channel
 * ({fd}) and control channel ({control}), negotiates as a front-end
 * (features, protocol features with SHMEM, REPLY_ACK, BACKEND_REQ,
 * BACKEND_SEND_FD, SET_OWNER, a back-end channel, GET_SHMEM_CONFIG),
 * and speaks control protocol 2 (docs/control.md), whose `map`/`unmap`
 * answer with what the back-end concluded. Every wait has a deadline.
 */
#ifndef VHU_FUZZ_BEPEER_H
#define VHU_FUZZ_BEPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "proto.h"
#include "target.h"

struct bepeer_opts {
	const char *cmd;        /* template: {fd} {control} {shmem_bit} */
	unsigned shmem_bit;
	const char *log_path;
	unsigned timeout_ms;
};

struct bepeer {
	struct target t;
	int ctl;                /* our end of the control socketpair, -1 */
	bool have_be;
	struct chan main, be;
	uint64_t offered, negotiated;
	unsigned shmem_bit, timeout_ms;
	struct proto_shmem_config cfg, first_cfg;
	char line[1024];
	size_t linelen;
};

enum bepeer_rc {
	BEPEER_OK = 0,
	BEPEER_NONE = 1,        /* nothing within the window */
	BEPEER_GONE = 2,        /* a channel closed or the target ended */
};

/* Launches, negotiates, `version 2`. 0, or -1 with err. */
int bepeer_start(struct bepeer *p, const struct bepeer_opts *o, char *err,
		 size_t errcap);
/* SET_PROTOCOL_FEATURES again: everything offered, less SHMEM and/or
 * REPLY_ACK. */
int bepeer_negotiate(struct bepeer *p, bool shmem, bool reply_ack);
/* A new back-end channel (SET_BACKEND_REQ_FD). */
int bepeer_new_backend(struct bepeer *p);
/* A main-channel request (payload len bytes); when want, its reply's
 * u64 or body into reply (released by the caller). */
int bepeer_call(struct bepeer *p, uint32_t req, const void *payload,
		size_t len, bool want, struct chan_msg *reply);
/* Writes a control line. */
int bepeer_control_send(struct bepeer *p, const char *cmd);
/* The next control answer within ms into ans ("" on NONE). */
int bepeer_control_read(struct bepeer *p, char *ans, size_t cap, unsigned ms);
/* Waits for the back-end channel or the control channel, ms at most:
 * 1 back-end message in m, 2 a control answer in ans, BEPEER_NONE /
 * BEPEER_GONE as negative values (-1, -2). */
int bepeer_await(struct bepeer *p, struct chan_msg *m, char *ans, size_t cap,
		 unsigned ms);
/* Sends raw bytes (and fds) on the back-end channel. */
int bepeer_be_send(struct bepeer *p, const void *buf, size_t len,
		   const int *fds, unsigned nfds);
bool bepeer_alive(struct bepeer *p);
void bepeer_stop(struct bepeer *p);

#endif
