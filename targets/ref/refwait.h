/* SPDX-License-Identifier: MIT */
/*
 * refwait: the waits of the reference targets, each of which a cancel fd
 * can end.
 *
 * The programs pass their signalfd as the cancel fd: once it is readable
 * (SIGTERM, SIGINT or SIGHUP pending) every wait ends at once with
 * -ECANCELED, so a program blocked in its handshake, on a reply or inside
 * a half-received message still ends promptly (the rst's "Backend
 * program conventions"; the front-end keeps the same promise). The cancel
 * fd is only polled, never read: the program's own loop consumes the
 * signal. With cancel_fd -1 each call is the plain chan call.
 */
#ifndef VHU_REFWAIT_H
#define VHU_REFWAIT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"

#define REFWAIT_MAX_FDS 4u

/* True when cancel_fd is readable now. */
bool refwait_cancelled(int cancel_fd);

/* poll() of p[0..n) (n <= REFWAIT_MAX_FDS; fd -1 entries are ignored)
 * until one is ready or the deadline passes, retrying EINTR. Returns how
 * many are ready (revents filled in), 0 at the deadline, -ECANCELED, or
 * -errno. */
int refwait_poll(struct pollfd *p, unsigned n, int cancel_fd,
		 int64_t deadline);

/* chan_recv() that first waits, watching cancel_fd, until the whole
 * message is queued on the socket (or the peer closed, or the size field
 * is beyond what chan reads), so chan_recv itself never waits for the
 * rest of a message. Returns what chan_recv returns, or -ECANCELED with
 * nothing read (m initialised). */
int refwait_recv(struct chan *c, struct chan_msg *m, int cancel_fd,
		 int64_t deadline);

/* chan_send() that waits for room in the socket, watching cancel_fd,
 * before it sends. Returns what chan_send returns, or -ECANCELED with
 * nothing sent. */
int refwait_send(struct chan *c, const struct proto_hdr *h,
		 const void *payload, size_t len, const int *fds,
		 unsigned nfds, int cancel_fd, int64_t deadline);

/* chan_connect() in short rounds, checking cancel_fd between them.
 * Returns the fd, -ETIMEDOUT, -ECANCELED, or -errno. */
int refwait_connect(const char *path, int cancel_fd, int64_t deadline);

/* True when a read of fd would not wait for more bytes: a whole message
 * is queued, the size field is one chan refuses at once, the peer closed,
 * or it cannot tell (not a socket). */
bool refwait_whole_message(int fd);

/* An event loop reads a channel only once a whole message is there, so
 * a half-sent message never stops it from serving the others. */
struct refwait_gate {
	int fd;                    /* the channel it is about */
	int64_t since;             /* first seen part of a message; 0: none */
};

enum refwait_read {
	REFWAIT_LATER = 0,         /* part of a message: poll again */
	REFWAIT_READ,              /* read it now */
	REFWAIT_READ_OVERDUE,      /* the rest is limit_ms late: read what is
				      there with an expired deadline (the
				      channel then ends) */
};

/* poll() events for fd: POLLIN, or only the peer's close while part of
 * a message waits. */
short refwait_gate_events(const struct refwait_gate *g, int fd);
/* How long poll may sleep: timeout_ms, or a few ms while part of a
 * message waits (new bytes do not wake poll then). */
int refwait_gate_timeout(const struct refwait_gate *g, int fd,
			 int timeout_ms);
/* fd is readable (or was waiting): whether to read it now. */
enum refwait_read refwait_gate_check(struct refwait_gate *g, int fd,
				     int limit_ms);

#endif
