/* SPDX-License-Identifier: MIT */
/*
 * chan: vhost-user messages over a unix stream socket, with deadlines.
 *
 * Every socket call is non-blocking (MSG_DONTWAIT, O_NONBLOCK listener)
 * and every wait is a poll() bounded by the caller's deadline, so a
 * silent or hostile peer can delay us but never hang us.
 */
#include "chan.h"
#include "protoname.h"
#include "protofmt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The kernel's SCM_MAX_FD: room for everything a peer can send in one
 * cmsg, so we can count (and close) them rather than have them cut. */
#define CHAN_RX_FDS_MAX 253

/* ---- time ---- */

int64_t chan_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t chan_deadline(int64_t ms)
{
	int64_t now = chan_now_ms();

	if (ms < 0)
		return now - 1;
	return ms > INT64_MAX - now ? INT64_MAX : now + ms;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - chan_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* 1 ready (or HUP/ERR: the next call says which), 0 deadline, -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int left = remaining_ms(deadline);
		int n = poll(&p, 1, left);

		if (n > 0)
			return (p.revents & POLLNVAL) ? -EBADF : 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int chan_wait_readable(int fd, int64_t deadline)
{
	return wait_fd(fd, POLLIN, deadline);
}

const char *chan_status_name(enum chan_status s)
{
	switch (s) {
	case CHAN_OK: return "OK";
	case CHAN_EOF: return "EOF";
	case CHAN_RESET: return "RESET";
	case CHAN_TIMEOUT: return "TIMEOUT";
	case CHAN_TRUNC_HEADER: return "TRUNC_HEADER";
	case CHAN_TRUNC_PAYLOAD: return "TRUNC_PAYLOAD";
	case CHAN_TOOBIG: return "TOOBIG";
	case CHAN_TOO_MANY_FDS: return "TOO_MANY_FDS";
	case CHAN_ERROR: return "ERROR";
	}
	return "UNKNOWN";
}

/* ---- messages ---- */

void chan_msg_init(struct chan_msg *m)
{
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < PROTO_MAX_FDS; i++)
		m->fds[i] = -1;
}

int chan_msg_take_fd(struct chan_msg *m, unsigned i)
{
	int fd;

	if (i >= m->nfds || i >= PROTO_MAX_FDS || m->fds[i] < 0)
		return -EBADF;
	fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

void chan_msg_release(struct chan_msg *m)
{
	for (unsigned i = 0; i < PROTO_MAX_FDS; i++) {
		if (i < m->nfds && m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
}

/* ---- channel and sockets ---- */

void chan_init(struct chan *c, int fd, const char *name, enum proto_chan kind)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->name = name;
	c->kind = kind;
}

void chan_close(struct chan *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int chan_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	return 0;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	return 0;
}

int chan_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = fill_addr(&sa, path);

	if (rc < 0)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int chan_accept(int lfd, int64_t deadline)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		int rc;

		if (fd >= 0)
			return fd;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = wait_fd(lfd, POLLIN, deadline);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0)
			return rc;
	}
}

/* One non-blocking connect attempt: fd, or -errno. */
static int connect_once(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* The peer (or a child we hand it to) expects an ordinary socket. */
	rc = fcntl(fd, F_GETFL);
	if (rc < 0 || fcntl(fd, F_SETFL, rc & ~O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

#define CONNECT_RETRY_MS 1

/* Refused, absent, or a full backlog (EAGAIN on AF_UNIX) may all clear up
 * while the target starts: retry those until the deadline. */
int chan_connect(const char *path, int64_t deadline)
{
	struct sockaddr_un sa;
	int rc = fill_addr(&sa, path);

	if (rc < 0)
		return rc;
	for (;;) {
		int left;

		rc = connect_once(&sa);
		if (rc >= 0 || (rc != -ENOENT && rc != -ECONNREFUSED &&
				rc != -EAGAIN && rc != -EINTR))
			return rc;
		left = remaining_ms(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		/* 1 ms: a target that listens is ready within a few ms of its
		 * start (virtiofsd: 4 ms), and every case waits for it */
		poll(NULL, 0, left < CONNECT_RETRY_MS ? left : CONNECT_RETRY_MS);
	}
}

/* ---- sending ---- */

static int status_of_errno(int e)
{
	return (e == EPIPE || e == ECONNRESET) ? CHAN_RESET : -e;
}

union chan_ctl {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
};

static void put_rights(struct msghdr *mh, union chan_ctl *ctl,
		       const int *fds, unsigned nfds)
{
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

/* Writes all of iov, with fds on the first sendmsg() only. */
static int send_all(int fd, struct iovec *iov, int iovcnt, const int *fds,
		    unsigned nfds, int64_t deadline)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	union chan_ctl ctl;

	if (nfds)
		put_rights(&mh, &ctl, fds, nfds);
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return status_of_errno(errno);
		if (n < 0) {
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc <= 0)
				return rc == 0 ? CHAN_TIMEOUT : rc;
			continue;
		}
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	return CHAN_OK;
}

static enum chan_status trace_status(int rc)
{
	return rc < 0 ? CHAN_ERROR : (enum chan_status)rc;
}

/* Builds the message the trace hook sees for raw bytes we sent. */
static void trace_tx(struct chan *c, const uint8_t *hdr, size_t hlen,
		     const void *payload, size_t plen, const int *fds,
		     unsigned nfds, int rc)
{
	struct chan_msg m;
	size_t keep = plen < PROTO_MAX_PAYLOAD ? plen : PROTO_MAX_PAYLOAD;

	if (!c->trace)
		return;
	chan_msg_init(&m);
	if (hlen >= PROTO_HDR_SIZE) {
		proto_hdr_decode(hdr, hlen, &m.hdr);
		m.hdr_valid = true;
	}
	if (keep)
		memcpy(m.payload, payload, keep);
	m.payload_len = keep;
	m.nfds = nfds <= PROTO_MAX_FDS ? nfds : 0;
	if (m.nfds)
		memcpy(m.fds, fds, sizeof(int) * m.nfds);
	m.t_ms = chan_now_ms();
	m.errno_value = rc < 0 ? -rc : 0;
	c->trace(c->trace_opaque, c->name, CHAN_DIR_TX, &m, trace_status(rc));
}

static int send_iov(struct chan *c, struct iovec *iov, int iovcnt,
		    const int *fds, unsigned nfds, int64_t deadline)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (nfds > PROTO_MAX_FDS)
		return CHAN_TOO_MANY_FDS;
	if (nfds && (!fds || total == 0))
		return -EINVAL; /* fds need a byte to ride on */
	return send_all(c->fd, iov, iovcnt, fds, nfds, deadline);
}

int chan_send(struct chan *c, const struct proto_hdr *h, const void *payload,
	      size_t payload_len, const int *fds, unsigned nfds,
	      int64_t deadline)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = payload ? payload_len : 0 },
	};
	int rc;

	proto_hdr_encode(h, hdr, sizeof(hdr));
	rc = send_iov(c, iov, iov[1].iov_len ? 2 : 1, fds, nfds, deadline);
	trace_tx(c, hdr, sizeof(hdr), payload, iov[1].iov_len ? payload_len : 0,
		 fds, nfds, rc);
	return rc;
}

int chan_send_raw(struct chan *c, const void *buf, size_t len, const int *fds,
		  unsigned nfds, int64_t deadline)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = buf ? len : 0 };
	size_t hlen;
	int rc;

	len = iov.iov_len;
	hlen = len < PROTO_HDR_SIZE ? len : PROTO_HDR_SIZE;

	if (iov.iov_len == 0 && nfds == 0)
		rc = CHAN_OK;
	else
		rc = send_iov(c, &iov, 1, fds, nfds, deadline);
	if (hlen == PROTO_HDR_SIZE)
		trace_tx(c, buf, hlen, (const uint8_t *)buf + hlen, len - hlen,
			 fds, nfds, rc);
	else
		trace_tx(c, NULL, 0, buf, hlen, fds, nfds, rc);
	return rc;
}

/* ---- receiving ---- */

/* fds arriving with the first recvmsg() of a message. */
struct rx_fds {
	int fds[CHAN_RX_FDS_MAX];
	unsigned n;
	bool ctrunc;
};

static void rx_collect(struct msghdr *mh, struct rx_fds *rx)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (rx->n < CHAN_RX_FDS_MAX)
				rx->fds[rx->n++] = fd;
			else
				close(fd);
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		rx->ctrunc = true;
}

/* One recvmsg() that waits: bytes read (> 0), or a chan_status for EOF
 * (CHAN_EOF), RESET, TIMEOUT, or -errno. Takes fds only when rx is set;
 * without a control buffer the kernel drops any that come later. */
static int recv_some(int fd, void *buf, size_t len, struct rx_fds *rx,
		     int64_t deadline, size_t *got)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CHAN_RX_FDS_MAX)];
	} ctl;

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;
		int rc;

		if (rx) {
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
		}
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n > 0) {
			if (rx)
				rx_collect(&mh, rx);
			*got = (size_t)n;
			return CHAN_OK;
		}
		if (n == 0)
			return CHAN_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return status_of_errno(errno);
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc <= 0)
			return rc == 0 ? CHAN_TIMEOUT : rc;
	}
}

/* Reads exactly len bytes into buf; *done says how many came. fds are
 * taken on the first read when rx is set. */
static int recv_exact(int fd, uint8_t *buf, size_t len, struct rx_fds *rx,
		      int64_t deadline, size_t *done)
{
	*done = 0;
	while (*done < len) {
		size_t got = 0;
		int rc = recv_some(fd, buf + *done, len - *done,
				   *done == 0 ? rx : NULL, deadline, &got);

		if (rc != CHAN_OK)
			return rc;
		*done += got;
	}
	return CHAN_OK;
}

/* Moves the fds into the message, or closes them all when there are
 * more than a message may carry or some were cut. */
static bool rx_adopt(struct chan_msg *m, struct rx_fds *rx)
{
	if (rx->n > PROTO_MAX_FDS || rx->ctrunc) {
		for (unsigned i = 0; i < rx->n; i++)
			close(rx->fds[i]);
		return false;
	}
	memcpy(m->fds, rx->fds, sizeof(int) * rx->n);
	m->nfds = rx->n;
	return true;
}

static int recv_header(int fd, struct chan_msg *m, struct rx_fds *rx,
		       int64_t deadline)
{
	uint8_t hdr[PROTO_HDR_SIZE];
	size_t done;
	int rc = recv_exact(fd, hdr, sizeof(hdr), rx, deadline, &done);

	if (rc == CHAN_OK) {
		proto_hdr_decode(hdr, sizeof(hdr), &m->hdr);
		m->hdr_valid = true;
		return m->hdr.size > PROTO_MAX_PAYLOAD ? CHAN_TOOBIG : CHAN_OK;
	}
	memcpy(m->payload, hdr, done);
	m->payload_len = done;
	if (rc == CHAN_EOF && done > 0)
		return CHAN_TRUNC_HEADER;
	return rc;
}

static int recv_body(int fd, struct chan_msg *m, int64_t deadline)
{
	int rc = recv_exact(fd, m->payload, m->hdr.size, NULL, deadline,
			    &m->payload_len);

	return rc == CHAN_EOF ? CHAN_TRUNC_PAYLOAD : rc;
}

static void recv_finish(struct chan *c, struct chan_msg *m, int rc)
{
	m->t_ms = chan_now_ms();
	m->errno_value = rc < 0 ? -rc : 0;
	if (c->trace)
		c->trace(c->trace_opaque, c->name, CHAN_DIR_RX, m,
			 trace_status(rc));
	if (rc != CHAN_OK)
		chan_msg_release(m);
}

int chan_recv(struct chan *c, struct chan_msg *m, int64_t deadline)
{
	struct rx_fds rx = { .n = 0 };
	bool fds_ok;
	int rc;

	chan_msg_init(m);
	rc = recv_header(c->fd, m, &rx, deadline);
	fds_ok = rx_adopt(m, &rx);
	if (rc == CHAN_OK)
		rc = recv_body(c->fd, m, deadline);
	if (rc == CHAN_OK && !fds_ok)
		rc = CHAN_TOO_MANY_FDS;
	recv_finish(c, m, rc);
	return rc;
}

/* ---- trace lines ---- */

static void fmt_flags(char *out, size_t cap, size_t *pos, uint32_t fl)
{
	uint32_t extra = fl & ~PROTO_F_KNOWN;

	proto_appendf(out, cap, pos, "flags=0x%" PRIx32 "(v%" PRIu32, fl,
		      fl & PROTO_VERSION_MASK);
	if (fl & PROTO_F_REPLY)
		proto_appendf(out, cap, pos, ",REPLY");
	if (fl & PROTO_F_NEED_REPLY)
		proto_appendf(out, cap, pos, ",NEED_REPLY");
	if (extra)
		proto_appendf(out, cap, pos, ",0x%" PRIx32, extra);
	proto_appendf(out, cap, pos, ")");
}

static void fmt_msg(char *out, size_t cap, size_t *pos, enum proto_chan kind,
		    const struct chan_msg *m)
{
	const char *name = proto_req_name(kind, m->hdr.request);
	size_t plen = m->payload_len;

	if (name)
		proto_appendf(out, cap, pos, "%s ", name);
	else
		proto_appendf(out, cap, pos, "request_%" PRIu32 " ", m->hdr.request);
	fmt_flags(out, cap, pos, m->hdr.flags);
	proto_appendf(out, cap, pos, " size=%" PRIu32 " fds=%u", m->hdr.size, m->nfds);
	if (plen > PROTO_MAX_PAYLOAD)
		plen = PROTO_MAX_PAYLOAD;
	if (plen) {
		proto_appendf(out, cap, pos, " ");
		*pos += (size_t)proto_format_payload(kind, &m->hdr, m->payload,
						     plen, *pos < cap ? out + *pos
								      : NULL,
						     *pos < cap ? cap - *pos : 0);
	}
}

/* Raw bytes sent without a whole header. */
static void fmt_raw(char *out, size_t cap, size_t *pos,
		    const struct chan_msg *m)
{
	proto_appendf(out, cap, pos, "raw %zu bytes fds=%u hex=", m->payload_len,
		      m->nfds);
	for (size_t i = 0; i < m->payload_len && i < PROTO_HDR_SIZE; i++)
		proto_appendf(out, cap, pos, "%02x", m->payload[i]);
}

int chan_format_trace(char *out, size_t cap, int64_t t0_ms,
		      const char *chan_name, enum chan_dir dir,
		      const struct chan_msg *m, enum chan_status st)
{
	enum proto_chan kind = chan_name && !strcmp(chan_name, "backend")
				       ? PROTO_CHAN_BACKEND
				       : PROTO_CHAN_MAIN;
	int64_t dt = m->t_ms > t0_ms ? m->t_ms - t0_ms : 0;
	size_t pos = 0;

	if (cap)
		out[0] = '\0';
	proto_appendf(out, cap, &pos, "+%" PRId64 ".%04" PRId64 "s %s %s ",
		      dt / 1000, dt % 1000 * 10,
		      chan_name ? chan_name : "?", dir == CHAN_DIR_TX ? "->" : "<-");
	if (m->hdr_valid) {
		fmt_msg(out, cap, &pos, kind, m);
		if (st != CHAN_OK)
			proto_appendf(out, cap, &pos, " [%s]", chan_status_name(st));
	} else if (dir == CHAN_DIR_TX) {
		fmt_raw(out, cap, &pos, m);
		if (st != CHAN_OK)
			proto_appendf(out, cap, &pos, " [%s]", chan_status_name(st));
	} else {
		proto_appendf(out, cap, &pos, "%s", chan_status_name(st));
		if (m->payload_len)
			proto_appendf(out, cap, &pos, " after %zu header bytes",
				      m->payload_len);
	}
	if (st == CHAN_ERROR && m->errno_value)
		proto_appendf(out, cap, &pos, " (%s)", strerror(m->errno_value));
	return pos > (size_t)INT_MAX ? INT_MAX : (int)pos;
}
