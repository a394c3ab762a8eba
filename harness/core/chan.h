/* SPDX-License-Identifier: MIT */
/*
 * chan: a vhost-user channel over a unix stream socket.
 *
 * Every call that can wait takes an absolute deadline (chan_deadline()),
 * and nothing waits past it. fds are close-on-exec everywhere. A received
 * message owns its fds: chan_msg_release() closes those not taken with
 * chan_msg_take_fd().
 */
#ifndef VHU_CHAN_H
#define VHU_CHAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Monotonic milliseconds. */
int64_t chan_now_ms(void);
/* now + ms; ms < 0 means "no wait at all" (deadline already passed). */
int64_t chan_deadline(int64_t ms);

/* Results of send and receive, beside a negative errno. */
enum chan_status {
	CHAN_OK = 0,
	CHAN_EOF = 1,             /* orderly close before any byte of a message */
	CHAN_RESET = 2,           /* ECONNRESET / EPIPE */
	CHAN_TIMEOUT = 3,         /* deadline passed before a whole message */
	CHAN_TRUNC_HEADER = 4,    /* EOF inside the 12-byte header */
	CHAN_TRUNC_PAYLOAD = 5,   /* EOF inside the payload */
	CHAN_TOOBIG = 6,          /* size field above PROTO_MAX_PAYLOAD; the
				     header is returned, the stream is lost */
	CHAN_TOO_MANY_FDS = 7,    /* more than PROTO_MAX_FDS fds (ours or
				     theirs; theirs are closed) */
	CHAN_ERROR = 8,           /* another error; see errno_value */
};
const char *chan_status_name(enum chan_status s);

struct chan_msg {
	struct proto_hdr hdr;
	uint8_t payload[PROTO_MAX_PAYLOAD];
	size_t payload_len;       /* bytes actually received */
	int fds[PROTO_MAX_FDS];
	unsigned nfds;
	int64_t t_ms;             /* chan_now_ms() when it was complete */
	/* Added (compatible): whether all 12 header bytes are in hdr. When
	 * not, the bytes of a partial header are in payload/payload_len. */
	bool hdr_valid;
	int errno_value;          /* on CHAN_ERROR: the errno */
};

void chan_msg_init(struct chan_msg *m);
/* Takes ownership of fd i from the message: the caller must close it. */
int chan_msg_take_fd(struct chan_msg *m, unsigned i);
/* Closes every fd still owned by the message. Idempotent. */
void chan_msg_release(struct chan_msg *m);

enum chan_dir { CHAN_DIR_RX = 0, CHAN_DIR_TX = 1 };

/* Trace hook: called once per message sent or received. */
typedef void (*chan_trace_fn)(void *opaque, const char *chan_name,
			      enum chan_dir dir, const struct chan_msg *m,
			      enum chan_status st);

struct chan {
	int fd;
	const char *name;          /* "main" or "backend", for traces */
	enum proto_chan kind;      /* which request table names requests */
	chan_trace_fn trace;
	void *trace_opaque;
};

void chan_init(struct chan *c, int fd, const char *name, enum proto_chan kind);
void chan_close(struct chan *c);

/* Socket set-up. All return an fd (CLOEXEC) or -errno. */
int chan_socketpair(int sv[2]);
int chan_listen(const char *path); /* unlinks a stale path first; the
				      listening fd is O_NONBLOCK */
int chan_accept(int lfd, int64_t deadline);
int chan_connect(const char *path, int64_t deadline); /* retries ENOENT /
							 ECONNREFUSED until
							 the deadline */
/* chan_accept and chan_connect return -ETIMEDOUT when the deadline
 * passes; the connected fd is blocking (chan uses MSG_DONTWAIT itself). */

/* Sends header + payload (payload_len bytes, which may differ from
 * hdr.size on purpose: tests send lies) with fds on the first byte.
 * Returns CHAN_OK, another enum chan_status, or -errno. */
int chan_send(struct chan *c, const struct proto_hdr *h, const void *payload,
	      size_t payload_len, const int *fds, unsigned nfds,
	      int64_t deadline);
/* Sends raw bytes (may be a partial or garbage message) with fds. */
int chan_send_raw(struct chan *c, const void *buf, size_t len, const int *fds,
		  unsigned nfds, int64_t deadline);
/* Receives one whole message. On CHAN_TRUNC_* the bytes read so far are
 * in m (hdr zeroed if the header was incomplete). m is overwritten
 * (chan_msg_init), so release a previous message in it first. fds come
 * only with the first recvmsg() of a message; on any status but CHAN_OK
 * they are closed before returning (nfds still says how many came, the
 * fds[] are -1). More than PROTO_MAX_FDS, or MSG_CTRUNC: all closed,
 * nfds 0, the rest of the message is still read (framing kept) and
 * CHAN_TOO_MANY_FDS returned. The trace hook sees m before the close. */
int chan_recv(struct chan *c, struct chan_msg *m, int64_t deadline);
/* Waits until fd is readable (or HUP/ERR). 1 ready, 0 timeout, -errno. */
int chan_wait_readable(int fd, int64_t deadline);

/* One readable line for a message (time, channel, direction, request
 * name, flags, size, fds, decoded payload or hex). Request names come
 * from the back-end table when chan_name is "backend", else the main
 * one. */
int chan_format_trace(char *out, size_t cap, int64_t t0_ms,
		      const char *chan_name, enum chan_dir dir,
		      const struct chan_msg *m, enum chan_status st);

#endif
