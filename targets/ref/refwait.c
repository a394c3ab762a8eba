/* SPDX-License-Identifier: MIT */
#include "refwait.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "proto.h"

/* While part of a message is queued, how often we look for the rest. The
 * socket stays readable meanwhile, so poll cannot wait for it. */
#define PARTIAL_SLICE_MS 5
/* chan_connect rounds between two looks at the cancel fd. */
#define CONNECT_SLICE_MS 20
/* Longest single poll(): bounds the int conversion. */
#define POLL_MAX_MS 1000

bool refwait_cancelled(int cancel_fd)
{
	struct pollfd p = { .fd = cancel_fd, .events = POLLIN };

	return cancel_fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

static int ms_until(int64_t deadline)
{
	int64_t left = deadline - chan_now_ms();

	return left <= 0 ? 0 : left > POLL_MAX_MS ? POLL_MAX_MS : (int)left;
}

int refwait_poll(struct pollfd *p, unsigned n, int cancel_fd,
		 int64_t deadline)
{
	struct pollfd all[REFWAIT_MAX_FDS + 1];

	if (n > REFWAIT_MAX_FDS)
		return -EINVAL;
	for (;;) {
		int left = ms_until(deadline), r;

		memcpy(all, p, n * sizeof(*p));
		all[n] = (struct pollfd){ .fd = cancel_fd, .events = POLLIN };
		r = poll(all, n + 1, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && all[n].revents)
			return -ECANCELED;
		if (r > 0 || left == 0) {
			memcpy(p, all, n * sizeof(*p));
			return r < 0 ? 0 : r;
		}
	}
}

/* The peer closed (or the socket failed): chan_recv reads what is left
 * without waiting. */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

enum queued { Q_NONE = 0, Q_PART, Q_WHOLE };

/* What is queued on fd. Q_WHOLE also when a read would not wait for
 * more: the size field is one chan refuses at once, the peer closed, or
 * we cannot tell (not a socket). Peeking without a control buffer leaves
 * the fds of the message where they are. */
static enum queued queued(int fd)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	uint32_t size;
	int n_in;
	ssize_t n;

	if (ioctl(fd, FIONREAD, &n_in) < 0 || peer_gone(fd))
		return Q_WHOLE;
	n = recv(fd, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? Q_NONE
							       : Q_WHOLE;
	if (n == 0)
		return Q_WHOLE;
	if ((size_t)n < sizeof(hdr))
		/* A peek stops after bytes that carry fds: trust the
		 * count of queued bytes then. */
		return n_in >= (int)sizeof(hdr) ? Q_WHOLE : Q_PART;
	memcpy(&size, hdr + 8, sizeof(size));
	return size > PROTO_MAX_PAYLOAD ||
	       (uint64_t)n_in >= sizeof(hdr) + (uint64_t)size ? Q_WHOLE
							      : Q_PART;
}

bool refwait_whole_message(int fd)
{
	return queued(fd) == Q_WHOLE;
}

/* Part of a message is queued: wait one slice for the rest, or for the
 * peer to close, watching the cancel fd. */
static int wait_rest(int fd, int cancel_fd, int64_t deadline)
{
	int64_t slice = chan_deadline(PARTIAL_SLICE_MS);
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	int r = refwait_poll(&p, 1, cancel_fd,
			     slice < deadline ? slice : deadline);

	return r < 0 ? r : 0;
}

int refwait_recv(struct chan *c, struct chan_msg *m, int cancel_fd,
		 int64_t deadline)
{
	chan_msg_init(m);
	if (cancel_fd < 0)
		return chan_recv(c, m, deadline);
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = refwait_poll(&p, 1, cancel_fd, deadline);
		enum queued q;

		if (r < 0)
			return r;
		q = r ? queued(c->fd) : Q_WHOLE;
		if (q == Q_WHOLE || chan_now_ms() >= deadline)
			return chan_recv(c, m, deadline);
		r = q == Q_PART ? wait_rest(c->fd, cancel_fd, deadline) : 0;
		if (r < 0)
			return r;
	}
}

int refwait_send(struct chan *c, const struct proto_hdr *h,
		 const void *payload, size_t len, const int *fds,
		 unsigned nfds, int cancel_fd, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };

	if (cancel_fd >= 0 && c->fd >= 0 && poll(&p, 1, 0) == 0) {
		int r = refwait_poll(&p, 1, cancel_fd, deadline);

		if (r < 0)
			return r;
	}
	return chan_send(c, h, payload, len, fds, nfds, deadline);
}

int refwait_connect(const char *path, int cancel_fd, int64_t deadline)
{
	for (;;) {
		int64_t slice = chan_deadline(CONNECT_SLICE_MS);
		int fd = chan_connect(path, cancel_fd < 0 || deadline < slice
						    ? deadline : slice);

		if (fd != -ETIMEDOUT || chan_now_ms() >= deadline)
			return fd;
		if (refwait_cancelled(cancel_fd))
			return -ECANCELED;
	}
}

/* The gate is about one channel: a new fd (reconnect) starts afresh. */
static bool gate_pending(const struct refwait_gate *g, int fd)
{
	return fd >= 0 && g->fd == fd && g->since != 0;
}

short refwait_gate_events(const struct refwait_gate *g, int fd)
{
	return gate_pending(g, fd) ? POLLRDHUP : POLLIN;
}

int refwait_gate_timeout(const struct refwait_gate *g, int fd,
			 int timeout_ms)
{
	return gate_pending(g, fd) && timeout_ms > PARTIAL_SLICE_MS
		       ? PARTIAL_SLICE_MS : timeout_ms;
}

enum refwait_read refwait_gate_check(struct refwait_gate *g, int fd,
				     int limit_ms)
{
	int64_t now = chan_now_ms();

	if (g->fd != fd) {
		g->fd = fd;
		g->since = 0;
	}
	switch (queued(fd)) {
	case Q_WHOLE:
		g->since = 0;
		return REFWAIT_READ;
	case Q_NONE:
		g->since = 0;
		return REFWAIT_LATER;
	case Q_PART:
		break;
	}
	if (g->since == 0)
		g->since = now;
	if (now - g->since < limit_ms)
		return REFWAIT_LATER;
	g->since = 0;
	return REFWAIT_READ_OVERDUE;
}
