/* SPDX-License-Identifier: MIT */
/*
 * livepeer: the back-end side of one live front-end under fuzz
 * (vhu-fuzzlive). It launches the target once, accepts its connection,
 * answers its main channel like a compliant back-end (features, protocol
 * features with SHMEM, REPLY_ACK, BACKEND_REQ, BACKEND_SEND_FD, STATUS,
 * RESET_DEVICE, CONFIGURE_MEM_SLOTS; GET_SHMEM_CONFIG with the campaign's
 * regions; every NEED_REPLY acked), keeps the back-end channel the
 * target hands over, and speaks the control channel (docs/control.md):
 * start, stop, reset, each followed by `dump`, which a front-end answers
 * once what the command caused is done.
 *
 * Every wait has a deadline and serves the main channel meanwhile, so a
 * front-end that updates its memory table while a back-end request is
 * pending is never starved. The engine's harness does the same for
 * cases (harness/engine); this is the small subset a live stream needs,
 * on core only (fuzzers/ link core).
 */
#ifndef VHU_FUZZ_LIVEPEER_H
#define VHU_FUZZ_LIVEPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "proto.h"
#include "target.h"

struct livepeer_opts {
	const char *cmd;        /* template: {socket} {control} {shmem_bit} {fd} */
	unsigned shmem_bit;
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	unsigned nsizes;
	const char *log_path;   /* the target's stdout+stderr, or NULL */
	unsigned timeout_ms;    /* a reply or control answer's window */
};

struct livepeer {
	struct target t;
	char dir[128], sock[192];
	int lfd;                /* listening socket, -1 */
	int ctl;                /* our end of the control socketpair, -1 */
	bool have_main, have_be;
	struct chan main, be;
	uint64_t pfeatures, negotiated;
	unsigned shmem_bit;
	bool pf_set;
	uint64_t status;
	unsigned main_msgs;     /* main-channel messages served */
	unsigned mt_msgs;       /* of them: memory-table updates */
	struct proto_shmem_config cfg;
	uint32_t cfg_flags, cfg_size;   /* its GET_SHMEM_CONFIG answer's header */
	unsigned timeout_ms;
	unsigned reply_ms;      /* the next reply's window, 0: timeout_ms */
	char line[1024];
	size_t linelen;
};

enum livepeer_rc {
	LIVEPEER_OK = 0,
	LIVEPEER_NONE = 1,      /* no reply / answer within the window */
	LIVEPEER_GONE = 2,      /* a channel closed or the target ended */
};

/* Launches and handshakes: started (control start answered and dumped)
 * or an error (-1, err). */
int livepeer_start(struct livepeer *p, const struct livepeer_opts *o,
		   char *err, size_t errcap);
/* A control line ("reset"); waits for its answer into ans, then (start,
 * stop, reset) for a `dump`. */
int livepeer_control(struct livepeer *p, const char *cmd, char *ans,
		     size_t anscap);
/* `control reconnect` with another GET_SHMEM_CONFIG answer for the new
 * connection (flags, size: its header, bent or not), then the new
 * connection's handshake and `dump` (not `start`). LIVEPEER_OK; with
 * *refused set when the target answered `err` (ans) and nothing changed
 * (the old answer is kept); LIVEPEER_NONE when the new connection did
 * not handshake in time; LIVEPEER_GONE. */
int livepeer_reconnect(struct livepeer *p, const struct proto_shmem_config *cfg,
		       uint32_t flags, uint32_t size, bool *refused, char *ans,
		       size_t anscap);
/* The protocol features offered from the next connection on: all of
 * livepeer_start's, less SHMEM and/or REPLY_ACK. */
void livepeer_offer(struct livepeer *p, bool shmem, bool reply_ack);
/* Sends one back-end channel message (payload len bytes; h->size may
 * say otherwise) with fds; when want_reply, waits for a message on the
 * back-end channel into reply (the caller releases it). */
int livepeer_request(struct livepeer *p, const struct proto_hdr *h,
		     const uint8_t *payload, size_t len, const int *fds,
		     unsigned nfds, bool want_reply, struct chan_msg *reply);
/* Waits for the next back-end channel message into reply. */
int livepeer_await(struct livepeer *p, struct chan_msg *reply);
/* Serves what is waiting without blocking; drops stray back-end
 * messages (an unasked reply), counting them in *stray. */
int livepeer_drain(struct livepeer *p, unsigned *stray);
/* Serves the main channel for ms: LIVEPEER_NONE when it passed,
 * LIVEPEER_GONE when the target went. */
int livepeer_serve_for(struct livepeer *p, unsigned ms);
/* Whether the target still runs. */
bool livepeer_alive(struct livepeer *p);
void livepeer_stop(struct livepeer *p);

#endif
