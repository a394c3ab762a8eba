/* SPDX-License-Identifier: MIT */
#include "chaos_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chaos_act.h"
#include "protoname.h"

/* Own fds plus the extra ones of many-fds / fds-every. */
#define SEND_FDS_MAX (PROTO_MAX_FDS + CHAOS_WIRE_MAX_FDS)
#define FRAME_MAX (PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD)
/* trickle slices only the head of a message: a 2 KB reply in 3-byte
 * slices would be a hang, and hang is another mode. */
#define TRICKLE_HEAD 24u
#define CTL_GARBAGE_LONG 8192u
#define CTL_BLAST_BYTES (1u << 20)

__attribute__((format(printf, 2, 3)))
static void say(const struct chaos_wire *w, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!w->log || !w->log->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->log->fn(w->log->opaque, msg);
}

/* A memfd, a pipe's read end, a socket, an O_PATH fd of a directory,
 * an eventfd and /dev/null: what a receiver may be handed. */
static void open_spares(int *spare)
{
	int p[2];

	spare[0] = memfd_create("vhu-chaos-spare", MFD_CLOEXEC);
	if (spare[0] >= 0 && ftruncate(spare[0], 4096) < 0) {
		close(spare[0]);
		spare[0] = -1;
	}
	spare[1] = spare[2] = -1;
	if (pipe2(p, O_CLOEXEC) == 0) {
		spare[1] = p[0];
		close(p[1]);
	}
	if (chan_socketpair(p) == 0) {
		spare[2] = p[0];
		close(p[1]);
	}
	spare[3] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	spare[4] = eventfd(0, EFD_CLOEXEC);
	spare[5] = open("/dev/null", O_RDWR | O_CLOEXEC);
}

void chaos_wire_init(struct chaos_wire *w, struct chaos_plan *plan,
		     const struct chaos_log *log, struct chan *main,
		     struct chan *backend, int *ctl_fd)
{
	memset(w, 0, sizeof(*w));
	w->plan = plan;
	w->log = log;
	w->main = main;
	w->backend = backend;
	w->ctl_fd = ctl_fd;
	open_spares(w->spare);
}

void chaos_wire_free(struct chaos_wire *w)
{
	for (unsigned i = 0; i < CHAOS_WIRE_SPARES; i++) {
		if (w->spare[i] >= 0)
			close(w->spare[i]);
		w->spare[i] = -1;
	}
}

void chaos_wire_event(struct chaos_wire *w)
{
	if (chaos_plan_tick(w->plan))
		chaos_act_run(w->plan, w->log);
}

/* ---- bytes out ---- */

static int wait_out(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - chan_now_ms();
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		int r;

		if (left <= 0)
			return CHAN_TIMEOUT;
		r = poll(&pf, 1, (int)(left > 1000 ? 1000 : left));
		if (r > 0)
			return (pf.revents & POLLOUT) ? CHAN_OK : CHAN_RESET;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Like chan's sender, but takes more than PROTO_MAX_FDS fds: the
 * kernel allows them, a receiver must cope. */
static int send_bytes(int fd, const uint8_t *buf, size_t n, const int *fds,
		      unsigned nfds, int64_t deadline)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * SEND_FDS_MAX)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > SEND_FDS_MAX)
		return CHAN_TOO_MANY_FDS;
	if (nfds && n) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&ctl.h), fds, sizeof(int) * nfds);
	}
	while (iov.iov_len > 0) {
		ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return (errno == EPIPE || errno == ECONNRESET) ? CHAN_RESET
								     : -errno;
		if (k < 0) {
			if ((r = wait_out(fd, deadline)) != CHAN_OK)
				return r;
			continue;
		}
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		iov.iov_base = (char *)iov.iov_base + k;
		iov.iov_len -= (size_t)k;
	}
	return CHAN_OK;
}

static size_t frame(uint8_t *out, const struct proto_hdr *h,
		    const void *payload, size_t len)
{
	proto_hdr_encode(h, out, PROTO_HDR_SIZE);
	if (len)
		memcpy(out + PROTO_HDR_SIZE, payload, len);
	return PROTO_HDR_SIZE + len;
}

int chaos_wire_send_plain(struct chan *c, const struct proto_hdr *h,
			  const void *payload, size_t len, const int *fds,
			  unsigned nfds, int64_t deadline)
{
	uint8_t buf[FRAME_MAX];

	if (c->fd < 0)
		return -ENOTCONN;
	if (len > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	return send_bytes(c->fd, buf, frame(buf, h, payload, len), fds, nfds,
			  deadline);
}

/* ---- the wire modes ---- */

/* One message as it goes out: bytes, fds and channel, for the modes to
 * change. */
struct out {
	struct chan *c;
	uint8_t buf[FRAME_MAX];
	size_t n;
	int fds[SEND_FDS_MAX];
	unsigned nfds;
	const char *what;       /* request name, for the log */
};

static int put(const struct out *o)
{
	return send_bytes(o->c->fd, o->buf, o->n, o->fds, o->nfds,
			  chan_deadline(CHAOS_WIRE_SEND_MS));
}

static void add_spares(struct chaos_wire *w, struct out *o, unsigned k)
{
	unsigned first = chaos_range(w->plan, 0, CHAOS_WIRE_SPARES - 1);

	for (unsigned i = 0; i < k && o->nfds < SEND_FDS_MAX; i++) {
		int fd = w->spare[(first + i) % CHAOS_WIRE_SPARES];

		if (fd >= 0)
			o->fds[o->nfds++] = fd;
	}
}

static void close_everything(struct chaos_wire *w)
{
	chan_close(w->main);
	chan_close(w->backend);
	if (w->ctl_fd && *w->ctl_fd >= 0) {
		close(*w->ctl_fd);
		*w->ctl_fd = -1;
	}
	w->closed = true;
}

static int close_mid(struct chaos_wire *w, struct out *o)
{
	size_t cut = o->n > PROTO_HDR_SIZE
			     ? PROTO_HDR_SIZE + (o->n - PROTO_HDR_SIZE) / 2
			     : chaos_range(w->plan, 1, PROTO_HDR_SIZE - 1);

	say(w, "close-mid: %zu of %zu bytes of %s, then closing", cut, o->n,
	    o->what);
	o->n = cut;
	put(o);
	close_everything(w);
	return CHAN_OK;
}

static int truncate_once(struct chaos_wire *w, struct out *o)
{
	size_t keep = o->n > PROTO_HDR_SIZE
			      ? chaos_range(w->plan, PROTO_HDR_SIZE,
					    (unsigned)o->n - 1)
			      : chaos_range(w->plan, 1, PROTO_HDR_SIZE - 1);

	say(w, "truncate: %zu of %zu bytes of %s", keep, o->n, o->what);
	o->n = keep;
	return put(o);
}

static int garbage(struct chaos_wire *w, struct out *o)
{
	o->n = chaos_range(w->plan, 1, 256);
	for (size_t i = 0; i < o->n; i++)
		o->buf[i] = (uint8_t)chaos_rand(w->plan);
	say(w, "garbage: %zu random bytes in place of %s", o->n, o->what);
	return put(o);
}

static const uint32_t absurd_sizes[] = { 0xffffffffu, 0x80000000u,
					 PROTO_MAX_PAYLOAD + 1, 0x10000000u };

static int absurd_size(struct chaos_wire *w, struct out *o)
{
	uint32_t sz = absurd_sizes[chaos_rand(w->plan) % 4];

	memcpy(o->buf + 8, &sz, sizeof(sz));
	say(w, "absurd-size: %s with size 0x%x (%zu bytes follow)", o->what,
	    sz, o->n - PROTO_HDR_SIZE);
	return put(o);
}

static int trickle(struct chaos_wire *w, struct out *o)
{
	size_t pos = 0;
	int r = CHAN_OK;

	say(w, "trickle: %s in slices", o->what);
	while (pos < o->n && r == CHAN_OK) {
		size_t k = pos < TRICKLE_HEAD ? chaos_range(w->plan, 1, 5)
					      : o->n - pos;

		if (k > o->n - pos)
			k = o->n - pos;
		r = send_bytes(o->c->fd, o->buf + pos, k, pos ? NULL : o->fds,
			       pos ? 0 : o->nfds,
			       chan_deadline(CHAOS_WIRE_SEND_MS));
		pos += k;
		if (pos < o->n)
			chaos_act_sleep_ms(chaos_range(w->plan, 10, 60));
	}
	return r;
}

static struct chan *other_channel(struct chaos_wire *w, struct chan *c)
{
	struct chan *o = c == w->main ? w->backend : w->main;

	return o && o->fd >= 0 ? o : c;
}

/* The modes that change what goes out, not whether. */
static int mangle(struct chaos_wire *w, struct out *o)
{
	struct chaos_plan *p = w->plan;

	switch (p->mode) {
	case CHAOS_GARBAGE:
		return chaos_one_in(p, 2) ? garbage(w, o) : put(o);
	case CHAOS_ABSURD_SIZE:
		return chaos_one_in(p, 2) ? absurd_size(w, o) : put(o);
	case CHAOS_MANY_FDS:
		if (chaos_one_in(p, 2)) {
			unsigned k = chaos_one_in(p, 3) ? CHAOS_WIRE_MAX_FDS
							 : PROTO_MAX_FDS;

			add_spares(w, o, k);
			say(w, "many-fds: %u fds on %s", o->nfds, o->what);
		}
		return put(o);
	case CHAOS_FDS_EVERY:
		add_spares(w, o, 1);
		return put(o);
	case CHAOS_WRONG_CHANNEL:
		if (other_channel(w, o->c) != o->c)
			say(w, "wrong-channel: %s on %s", o->what,
			    other_channel(w, o->c)->name);
		o->c = other_channel(w, o->c);
		return put(o);
	case CHAOS_TRICKLE:
		return trickle(w, o);
	default:
		return put(o);
	}
}

static int misbehave(struct chaos_wire *w, struct out *o)
{
	struct chaos_plan *p = w->plan;
	int r;

	switch (p->mode) {
	case CHAOS_DROP:
		if (!chaos_one_in(p, 2))
			return put(o);
		say(w, "drop: %s", o->what);
		return CHAN_OK;
	case CHAOS_DELAY:
		if (chaos_one_in(p, 2)) {
			unsigned ms = chaos_range(p, 200, 3000);

			say(w, "delay: %s by %u ms", o->what, ms);
			chaos_act_sleep_ms(ms);
		}
		return put(o);
	case CHAOS_DUP:
		r = put(o);
		return r == CHAN_OK ? put(o) : r;
	case CHAOS_TRUNCATE:
		if (p->done)
			return put(o);
		p->done = true;
		return truncate_once(w, o);
	case CHAOS_CLOSE_MID:
		p->done = true;
		return close_mid(w, o);
	default:
		return mangle(w, o);
	}
}

int chaos_wire_send(struct chaos_wire *w, struct chan *c,
		    const struct proto_hdr *h, const void *payload, size_t len,
		    const int *fds, unsigned nfds)
{
	struct out o;
	const char *name;
	bool on;

	if (w->closed || c->fd < 0)
		return -ENOTCONN;
	if (len > PROTO_MAX_PAYLOAD || nfds > PROTO_MAX_FDS)
		return -EMSGSIZE;
	on = chaos_plan_tick(w->plan);
	if (on)
		chaos_act_run(w->plan, w->log);
	o.c = c;
	o.n = frame(o.buf, h, payload, len);
	o.nfds = nfds;
	if (nfds)
		memcpy(o.fds, fds, sizeof(int) * nfds);
	name = proto_req_name(c->kind, h->request);
	o.what = name ? name : "a message";
	if (!on || chaos_mode_class(w->plan->mode) != CHAOS_CLASS_WIRE)
		return put(&o);
	return misbehave(w, &o);
}

/* ---- control answers ---- */

static int ctl_put(int fd, const void *buf, size_t n)
{
	return send_bytes(fd, buf, n, NULL, 0, chan_deadline(CHAOS_WIRE_SEND_MS));
}

/* A megabyte without a newline, for a reader that buffers lines. */
static int ctl_blast(int fd)
{
	char chunk[CTL_GARBAGE_LONG];
	int r = CHAN_OK;

	memset(chunk, 'y', sizeof(chunk));
	for (unsigned i = 0; i < CTL_BLAST_BYTES / sizeof(chunk) && r == CHAN_OK; i++)
		r = ctl_put(fd, chunk, sizeof(chunk));
	return r;
}

static int ctl_garbage(struct chaos_wire *w, int fd)
{
	static const char nul_line[] = "\0\0ok\0\n";
	static const char *const lines[] = { "maybe\n", "OK\n", "ok", "\n",
					     "err\n" };
	char big[CTL_GARBAGE_LONG];
	unsigned pick = chaos_range(w->plan, 0, 7);

	say(w, "ctl-garbage: answer kind %u", pick);
	if (pick < 5)
		return ctl_put(fd, lines[pick], strlen(lines[pick]));
	if (pick == 5)
		return ctl_put(fd, nul_line, sizeof(nul_line) - 1);
	if (pick == 7)
		return ctl_blast(fd);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	return ctl_put(fd, big, sizeof(big));
}

int chaos_wire_ctl(struct chaos_wire *w, const char *line)
{
	char buf[1200];
	int fd = w->ctl_fd ? *w->ctl_fd : -1;
	int n;
	bool on;

	if (fd < 0)
		return -ENOTCONN;
	on = chaos_plan_tick(w->plan);
	if (on)
		chaos_act_run(w->plan, w->log);
	if (on && w->plan->mode == CHAOS_CTL_SILENT) {
		say(w, "ctl-silent: not answering '%.40s'", line);
		return 0;
	}
	if (on && w->plan->mode == CHAOS_CTL_GARBAGE)
		return ctl_garbage(w, fd) == CHAN_OK ? 0 : -EIO;
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return ctl_put(fd, buf, (size_t)n) == CHAN_OK ? 0 : -EIO;
}
