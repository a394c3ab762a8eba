/* SPDX-License-Identifier: MIT */
/*
 * proxy: the relay loop of vhucheck-monitor (see proxy.h).
 *
 * Messages are read whole (chan_recv, bounded by msg_timeout_ms once the
 * socket is readable), judged, recorded, then queued for the other side;
 * queues are flushed in order, so a delayed message holds back the ones
 * behind it exactly as a slow peer would.
 */
#include "proxy.h"
#include "monjudge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_TICK_MS 1000
#define INJECT_MIN_FD_SIZE 4096u

static enum monitor_side other(enum monitor_side s)
{
	return s == MONITOR_FRONTEND ? MONITOR_BACKEND : MONITOR_FRONTEND;
}

static const char *side_word(int s)
{
	return s == MONITOR_FRONTEND ? "frontend" : "backend";
}

static const char *chan_word(int c)
{
	return c == PROTO_CHAN_BACKEND ? "backend" : "main";
}

/* ---- notes and findings ---- */

__attribute__((format(printf, 3, 4)))
static void note(struct proxy *p, int chan, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!p->o.trace)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tracefile_note(p->o.trace, (unsigned)chan, text);
}

static void on_finding(void *opaque, const struct monitor_finding *f)
{
	struct proxy *p = opaque;
	char line[768];

	monitor_finding_line(f, line, sizeof(line));
	if (p->o.live)
		fprintf(p->o.live, "vhucheck-monitor: %s\n", line);
	note(p, f->chan, "finding %s", line);
}

/* ---- set-up ---- */

static int queue_init(struct proxy_queue *q)
{
	q->head = q->n = 0;
	q->items = calloc(PROXY_QUEUE_MAX, sizeof(*q->items));
	return q->items ? 0 : -ENOMEM;
}

int proxy_init(struct proxy *p, const struct proxy_opts *o, int fe_main,
	       int be_main, const int ctl_fd[2], struct target *tgt[2],
	       int sig_fd)
{
	struct monitor_cfg mc = { .shmem_bit = o->shmem_bit,
				  .reply_timeout_ms = o->reply_timeout_ms,
				  .emit = on_finding, .opaque = p };

	memset(p, 0, sizeof(*p));
	p->o = *o;
	p->t0_ms = p->last_msg_ms = chan_now_ms();
	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++) {
			chan_init(&p->ch[c][s], -1, chan_word(c), (enum proto_chan)c);
			if (queue_init(&p->q[c][s]) < 0)
				return -ENOMEM;
		}
	chan_init(&p->ch[PROTO_CHAN_MAIN][MONITOR_FRONTEND], fe_main, "main",
		  PROTO_CHAN_MAIN);
	chan_init(&p->ch[PROTO_CHAN_MAIN][MONITOR_BACKEND], be_main, "main",
		  PROTO_CHAN_MAIN);
	for (int s = 0; s < 2; s++) {
		p->ctl[s].fd = ctl_fd[s];
		p->tgt[s] = tgt[s];
	}
	p->sig_fd = sig_fd;
	p->script_over = !o->script || o->script->n == 0;
	monitor_init(&p->mon, &mc, p->t0_ms);
	return 0;
}

static void queue_clear(struct proxy_queue *q)
{
	for (; q->n; q->n--, q->head = (q->head + 1) % PROXY_QUEUE_MAX)
		chan_msg_release(&q->items[q->head].msg);
	q->head = 0;
}

void proxy_free(struct proxy *p)
{
	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++) {
			if (p->q[c][s].items)
				queue_clear(&p->q[c][s]);
			free(p->q[c][s].items);
			p->q[c][s].items = NULL;
			chan_close(&p->ch[c][s]);
		}
	for (int s = 0; s < 2; s++)
		if (p->ctl[s].fd >= 0) {
			close(p->ctl[s].fd);
			p->ctl[s].fd = -1;
		}
}

__attribute__((format(printf, 2, 3)))
static void finish(struct proxy *p, const char *fmt, ...)
{
	va_list ap;

	if (p->done)
		return;
	p->done = true;
	va_start(ap, fmt);
	vsnprintf(p->end_reason, sizeof(p->end_reason), fmt, ap);
	va_end(ap);
	note(p, PROTO_CHAN_MAIN, "end: %s", p->end_reason);
}

/* ---- trace records ---- */

static void rec_fill(struct proxy *p, int chan, int from, const struct chan_msg *m,
		     unsigned tflags)
{
	struct tracefile_rec *r = &p->rec;
	uint8_t hdr[PROTO_HDR_SIZE];

	r->type = TRACEFILE_MSG;
	r->chan = (uint8_t)chan;
	r->from = (uint8_t)from;
	r->flags = (uint8_t)tflags;
	r->status = 0;
	r->t_ns = (uint64_t)(tracefile_now_ns() - p->o.trace->t0_ns);
	r->nfds = m->nfds <= PROTO_MAX_FDS ? m->nfds : 0;
	for (unsigned i = 0; i < r->nfds; i++)
		if (m->fds[i] < 0 || tracefile_describe_fd(m->fds[i], &r->fds[i]) < 0)
			memset(&r->fds[i], 0, sizeof(r->fds[i]));
	proto_hdr_encode(&m->hdr, hdr, sizeof(hdr));
	memcpy(r->data, hdr, sizeof(hdr));
	memcpy(r->data + PROTO_HDR_SIZE, m->payload, m->payload_len);
	r->data_len = PROTO_HDR_SIZE + m->payload_len;
}

static void record(struct proxy *p, int chan, int from, const struct chan_msg *m,
		   unsigned tflags)
{
	if (!p->o.trace)
		return;
	rec_fill(p, chan, from, m, tflags);
	tracefile_write(p->o.trace, &p->rec);
}

/* ---- queues and sending ---- */

static void feed_monitor(struct proxy *p, int chan, int from,
			 const struct chan_msg *m)
{
	struct monitor_msg mm = {
		.chan = (enum proto_chan)chan, .from = (enum monitor_side)from,
		.hdr = m->hdr, .payload = m->payload,
		.payload_len = m->payload_len, .nfds = m->nfds, .t_ms = m->t_ms,
	};

	monjudge_on_msg(&p->mon, &mm);
}


static int send_item(struct proxy *p, int chan, int dest, struct chan_msg *m)
{
	struct chan *c = &p->ch[chan][dest];
	int rc = chan_send(c, &m->hdr, m->payload, m->payload_len, m->fds,
			   m->nfds, chan_deadline(p->o.msg_timeout_ms));

	chan_msg_release(m);
	if (rc == CHAN_OK)
		p->relayed++;
	return rc;
}

static void dest_broken(struct proxy *p, int chan, int dest, int rc)
{
	note(p, chan, "could not send to the %s: %s", side_word(dest),
	     rc < 0 ? strerror(-rc) : chan_status_name((enum chan_status)rc));
	if (chan == PROTO_CHAN_MAIN) {
		finish(p, "the %s's main channel broke on send", side_word(dest));
		return;
	}
	/* A back-end channel that broke one way is over both ways. */
	for (int s = 0; s < 2; s++) {
		queue_clear(&p->q[chan][s]);
		chan_close(&p->ch[chan][s]);
	}
}

/* Sends queued messages whose time has come (all of them when force). */
static void flush_queue(struct proxy *p, int chan, int dest, bool force)
{
	struct proxy_queue *q = &p->q[chan][dest];
	int64_t now = chan_now_ms();

	while (q->n && (force || q->items[q->head].not_before <= now)) {
		struct chan_msg *m = &q->items[q->head].msg;
		int rc;

		if (!q->items[q->head].fed)
			feed_monitor(p, chan, other((enum monitor_side)dest), m);
		rc = p->ch[chan][dest].fd >= 0 ? send_item(p, chan, dest, m) : CHAN_OK;

		chan_msg_release(m);
		q->head = (q->head + 1) % PROXY_QUEUE_MAX;
		q->n--;
		if (rc != CHAN_OK) {
			dest_broken(p, chan, dest, rc);
			return;
		}
	}
}

/* Queues a copy of m (taking its fds) for dest. */
static void enqueue(struct proxy *p, int chan, int dest, struct chan_msg *m,
		    int64_t not_before)
{
	struct proxy_queue *q = &p->q[chan][dest];
	struct proxy_item *it;

	if (q->n == PROXY_QUEUE_MAX) {
		/* The peer is that far behind: hand over the oldest now. */
		q->items[q->head].not_before = 0;
		flush_queue(p, chan, dest, false);
	}
	if (q->n == PROXY_QUEUE_MAX) {
		chan_msg_release(m);
		return;
	}
	it = &q->items[(q->head + q->n) % PROXY_QUEUE_MAX];
	it->msg = *m;
	it->not_before = not_before;
	/* Due now and nothing ahead of it: the receiver sees it now. */
	it->fed = q->n == 0 && not_before <= chan_now_ms();
	if (it->fed)
		feed_monitor(p, chan, other((enum monitor_side)dest), m);
	q->n++;
	for (unsigned i = 0; i < PROTO_MAX_FDS; i++)
		m->fds[i] = -1; /* now owned by the queue */
}

/* A copy of m with its fds duplicated, for duplicate rules. */
static void enqueue_copy(struct proxy *p, int chan, int dest,
			 const struct chan_msg *m, int64_t not_before)
{
	struct chan_msg *copy = malloc(sizeof(*copy));

	if (!copy)
		return;
	*copy = *m;
	for (unsigned i = 0; i < m->nfds && i < PROTO_MAX_FDS; i++)
		copy->fds[i] = m->fds[i] >= 0 ? fcntl(m->fds[i], F_DUPFD_CLOEXEC, 0)
					      : -1;
	enqueue(p, chan, dest, copy, not_before);
	chan_msg_release(copy);
	free(copy);
}

/* ---- relaying ---- */

/* What the fault rules decided for one message. */
struct verdict {
	bool drop, dup;
	unsigned delay_ms;
	unsigned tflags;
};

static void corrupt(struct chan_msg *m, const struct faultrule *r)
{
	uint8_t buf[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	size_t len = PROTO_HDR_SIZE + m->payload_len;

	proto_hdr_encode(&m->hdr, buf, sizeof(buf));
	memcpy(buf + PROTO_HDR_SIZE, m->payload, m->payload_len);
	if (faultrule_corrupt(r, buf, len) < 0)
		return;
	proto_hdr_decode(buf, len, &m->hdr);
	memcpy(m->payload, buf + PROTO_HDR_SIZE, m->payload_len);
}

static void apply_rules(struct proxy *p, int chan, bool is_reply,
			struct chan_msg *m, struct verdict *v)
{
	for (unsigned i = 0; i < p->o.nrules; i++) {
		struct faultrule *r = &p->o.rules[i];

		if (!faultrule_match(r, (enum proto_chan)chan, m->hdr.request,
				     is_reply))
			continue;
		note(p, chan, "fault rule %s", r->spec);
		switch (r->kind) {
		case FAULTRULE_DROP: v->drop = true; v->tflags |= TRACEFILE_F_DROPPED; break;
		case FAULTRULE_DELAY:
			if (r->delay_ms > v->delay_ms)
				v->delay_ms = r->delay_ms;
			v->tflags |= TRACEFILE_F_DELAYED;
			break;
		case FAULTRULE_CORRUPT: corrupt(m, r); v->tflags |= TRACEFILE_F_CORRUPTED; break;
		case FAULTRULE_DUPLICATE: v->dup = true; break;
		case FAULTRULE_INJECT_MAP: break;
		}
	}
}

/* SET_BACKEND_REQ_FD: keep the front-end's end, give the back-end ours. */
static void intercept_backend_fd(struct proxy *p, struct chan_msg *m)
{
	int sv[2], fe_fd;

	if (chan_socketpair(sv) < 0) {
		note(p, PROTO_CHAN_MAIN, "socketpair failed: the back-end channel "
		     "is passed through unmonitored");
		return;
	}
	fe_fd = chan_msg_take_fd(m, 0);
	for (int s = 0; s < 2; s++) {
		queue_clear(&p->q[PROTO_CHAN_BACKEND][s]);
		chan_close(&p->ch[PROTO_CHAN_BACKEND][s]);
	}
	chan_init(&p->ch[PROTO_CHAN_BACKEND][MONITOR_FRONTEND], fe_fd, "backend",
		  PROTO_CHAN_BACKEND);
	chan_init(&p->ch[PROTO_CHAN_BACKEND][MONITOR_BACKEND], sv[0], "backend",
		  PROTO_CHAN_BACKEND);
	m->fds[0] = sv[1];
	p->backend_up_ms = chan_now_ms();
	note(p, PROTO_CHAN_BACKEND, "back-end channel relayed through the monitor");
}

static void relay(struct proxy *p, int chan, int from, struct chan_msg *m)
{
	bool is_reply = (chan == PROTO_CHAN_MAIN) == (from == MONITOR_BACKEND);
	struct verdict v = { 0 };
	int64_t when;

	p->last_msg_ms = chan_now_ms();
	apply_rules(p, chan, is_reply, m, &v);
	if (chan == PROTO_CHAN_BACKEND && from == MONITOR_FRONTEND && is_reply &&
	    p->swallow && !v.drop) {
		p->swallow--;
		v.drop = true;
		v.tflags |= TRACEFILE_F_SWALLOWED;
	}
	record(p, chan, from, m, v.tflags);
	if (v.tflags & TRACEFILE_F_SWALLOWED)
		feed_monitor(p, chan, from, m); /* the monitor was its receiver */
	if (v.drop) {
		p->dropped += !(v.tflags & TRACEFILE_F_SWALLOWED);
		chan_msg_release(m);
		return;
	}
	if (chan == PROTO_CHAN_MAIN && from == MONITOR_FRONTEND && !is_reply &&
	    m->hdr.request == PROTO_SET_BACKEND_REQ_FD && m->nfds == 1)
		intercept_backend_fd(p, m);
	when = p->last_msg_ms + v.delay_ms;
	if (v.dup) {
		record(p, chan, from, m, v.tflags | TRACEFILE_F_DUPLICATE);
		enqueue_copy(p, chan, other((enum monitor_side)from), m, when);
	}
	enqueue(p, chan, other((enum monitor_side)from), m, when);
}

/* The channel of one side ended (or broke) on receive. */
static void channel_ended(struct proxy *p, int chan, int side, int rc)
{
	int st = rc < 0 ? CHAN_ERROR : rc;
	int dest = other((enum monitor_side)side);

	note(p, chan, "%s channel from the %s: %s", chan_word(chan),
	     side_word(side), rc < 0 ? strerror(-rc)
				     : chan_status_name((enum chan_status)rc));
	monjudge_on_channel_status(&p->mon, (enum proto_chan)chan,
				   (enum monitor_side)side, st, chan_now_ms());
	chan_close(&p->ch[chan][side]);
	if (chan == PROTO_CHAN_MAIN) {
		finish(p, "the %s closed the main channel (%s)", side_word(side),
		       rc < 0 ? strerror(-rc) : chan_status_name((enum chan_status)rc));
		return;
	}
	/* The back-end channel ends on its own: pass the close on. */
	flush_queue(p, chan, dest, true);
	chan_close(&p->ch[chan][dest]);
}

static void receive(struct proxy *p, int chan, int side)
{
	int rc = chan_recv(&p->ch[chan][side], &p->rx,
			   chan_deadline(p->o.msg_timeout_ms));

	if (rc == CHAN_OK || rc == CHAN_TOO_MANY_FDS) {
		if (rc == CHAN_TOO_MANY_FDS)
			monjudge_on_channel_status(&p->mon, (enum proto_chan)chan,
						   (enum monitor_side)side, rc,
						   chan_now_ms());
		relay(p, chan, side, &p->rx);
		return;
	}
	if (rc == CHAN_TIMEOUT && !p->rx.hdr_valid && p->rx.payload_len == 0)
		return; /* woken, but nothing came after all */
	channel_ended(p, chan, side, rc);
}

/* ---- inject-map ---- */

static int inject_memfd(const struct proto_mmap *mm)
{
	uint64_t size = mm->fd_offset + mm->len;
	int fd = memfd_create("vhucheck-monitor-inject", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (size < INJECT_MIN_FD_SIZE)
		size = INJECT_MIN_FD_SIZE;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static bool inject_ready(struct proxy *p, const struct faultrule *r, int64_t now)
{
	return !r->done && r->kind == FAULTRULE_INJECT_MAP &&
	       p->ch[PROTO_CHAN_BACKEND][MONITOR_FRONTEND].fd >= 0 &&
	       now >= p->backend_up_ms + r->after_ms &&
	       !monitor_backend_busy(&p->mon) &&
	       p->q[PROTO_CHAN_BACKEND][MONITOR_FRONTEND].n == 0;
}

static void inject_map(struct proxy *p, struct faultrule *r)
{
	bool need = r->need_reply >= 0 ? r->need_reply
				       : monitor_pfeat(&p->mon, PROTO_PF_REPLY_ACK);
	struct chan_msg *m = &p->rx;
	int fd = inject_memfd(&r->mm);

	r->done = true;
	if (fd < 0) {
		note(p, PROTO_CHAN_BACKEND, "inject-map: memfd: %s", strerror(-fd));
		return;
	}
	chan_msg_init(m);
	m->hdr.request = PROTO_BE_SHMEM_MAP;
	m->hdr.flags = PROTO_VERSION | (need ? PROTO_F_NEED_REPLY : 0);
	m->hdr.size = PROTO_MMAP_SIZE;
	proto_mmap_encode(&r->mm, m->payload, sizeof(m->payload));
	m->payload_len = PROTO_MMAP_SIZE;
	m->fds[0] = fd;
	m->nfds = 1;
	m->hdr_valid = true;
	m->t_ms = chan_now_ms();
	note(p, PROTO_CHAN_BACKEND, "fault rule %s", r->spec);
	record(p, PROTO_CHAN_BACKEND, TRACEFILE_FROM_MONITOR, m, TRACEFILE_F_INJECTED);
	p->swallow += need;
	p->injected++;
	enqueue(p, PROTO_CHAN_BACKEND, MONITOR_FRONTEND, m, 0);
}

static void inject_due(struct proxy *p, int64_t now)
{
	for (unsigned i = 0; i < p->o.nrules; i++)
		if (inject_ready(p, &p->o.rules[i], now))
			inject_map(p, &p->o.rules[i]);
}

/* ---- the control script ---- */

static const struct ctlscript_step *cur_step(const struct proxy *p)
{
	return p->script_over ? NULL : &p->o.script->steps[p->step];
}

static void step_next(struct proxy *p)
{
	p->step_started = p->awaiting_answer = false;
	if (++p->step >= p->o.script->n)
		p->script_over = true;
}

__attribute__((format(printf, 2, 3)))
static void script_abort(struct proxy *p, const char *fmt, ...)
{
	char text[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->script_errors++;
	p->script_over = true;
	note(p, PROTO_CHAN_MAIN, "control script stopped: %s", text);
	if (p->o.live)
		fprintf(p->o.live, "vhucheck-monitor: control script stopped: %s\n",
			text);
}

static void script_send(struct proxy *p, const struct ctlscript_step *st)
{
	char line[CTLSCRIPT_LINE_MAX + 2];
	int fd = p->ctl[st->side].fd;
	size_t n = (size_t)snprintf(line, sizeof(line), "%s\n", st->line);

	if (fd < 0) {
		script_abort(p, "line %u: the %s has no control channel", st->lineno,
			     side_word(st->side));
		return;
	}
	if (send(fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n) {
		script_abort(p, "line %u: sending to the %s's control channel: %s",
			     st->lineno, side_word(st->side), strerror(errno));
		return;
	}
	p->awaiting_answer = true;
}

/* Whether a wait step's condition holds. */
static bool step_met(struct proxy *p, const struct ctlscript_step *st,
		     int64_t now)
{
	switch (st->kind) {
	case CTLSCRIPT_SLEEP:
		return now - p->step_start_ms >= st->ms;
	case CTLSCRIPT_WAIT_BACKEND_CHANNEL:
		return p->ch[PROTO_CHAN_BACKEND][MONITOR_FRONTEND].fd >= 0 &&
		       p->ch[PROTO_CHAN_BACKEND][MONITOR_BACKEND].fd >= 0;
	case CTLSCRIPT_WAIT_QUIET:
		return now - p->last_msg_ms >= st->ms &&
		       now - p->step_start_ms >= st->ms &&
		       monjudge_next_deadline(&p->mon) == INT64_MAX;
	default:
		return false;
	}
}

static void script_step(struct proxy *p, int64_t now)
{
	const struct ctlscript_step *st;

	while ((st = cur_step(p)) && !p->done) {
		if (!p->step_started) {
			p->step_started = true;
			p->step_start_ms = now;
			if (st->kind == CTLSCRIPT_SEND) {
				script_send(p, st);
				return;
			}
		}
		if (st->kind == CTLSCRIPT_SEND)
			return; /* the answer moves us on */
		if (!step_met(p, st, now)) {
			if (st->kind != CTLSCRIPT_SLEEP &&
			    now - p->step_start_ms > p->o.control_timeout_ms)
				script_abort(p, "line %u: wait timed out after %d ms",
					     st->lineno, p->o.control_timeout_ms);
			return;
		}
		step_next(p);
	}
}

static void control_answer(struct proxy *p, int side, const char *answer)
{
	const struct ctlscript_step *st = cur_step(p);

	if (!st || !p->awaiting_answer || st->side != side) {
		note(p, PROTO_CHAN_MAIN, "control %s said: %s", side_word(side), answer);
		return;
	}
	note(p, PROTO_CHAN_MAIN, "control %s: %s -> %s", side_word(side), st->line,
	     answer);
	if (strncmp(answer, "ok", 2) != 0) {
		p->script_errors++;
		if (p->o.live)
			fprintf(p->o.live, "vhucheck-monitor: control %s: '%s' -> %s\n",
				side_word(side), st->line, answer);
	}
	step_next(p);
	script_step(p, chan_now_ms());
}

static void control_readable(struct proxy *p, int side)
{
	struct proxy_ctl *c = &p->ctl[side];
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		close(c->fd);
		c->fd = -1;
		if (p->awaiting_answer && cur_step(p)->side == side)
			script_abort(p, "the %s closed its control channel",
				     side_word(side));
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = strchr(c->buf, '\n'))) {
		*nl = '\0';
		control_answer(p, side, c->buf);
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len + 1);
	}
	if (c->len == sizeof(c->buf) - 1)
		c->len = 0; /* an absurd line: drop it */
}

/* ---- the loop ---- */

enum { SLOT_CH = 0, SLOT_CTL = 4, SLOT_TGT = 6, SLOT_SIG = 8, SLOT_MAX = 9 };

static void poll_set(struct proxy *p, struct pollfd *pf)
{
	for (int i = 0; i < SLOT_MAX; i++)
		pf[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++)
			pf[SLOT_CH + c * 2 + s].fd = p->ch[c][s].fd;
	for (int s = 0; s < 2; s++) {
		pf[SLOT_CTL + s].fd = p->ctl[s].fd;
		if (p->tgt[s] && !p->tgt_seen_end[s])
			pf[SLOT_TGT + s].fd = target_pollfd(p->tgt[s]);
	}
	pf[SLOT_SIG].fd = p->sig_fd;
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* When the loop must wake up next, at the latest one tick from now. */
static int64_t wake_time(struct proxy *p, int64_t now)
{
	int64_t t = earliest(now + PROXY_TICK_MS, monjudge_next_deadline(&p->mon));
	const struct ctlscript_step *st = cur_step(p);

	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++)
			if (p->q[c][s].n)
				t = earliest(t, p->q[c][s].items[p->q[c][s].head].not_before);
	if (st && st->kind == CTLSCRIPT_SLEEP)
		t = earliest(t, p->step_start_ms + st->ms);
	if (st && st->kind == CTLSCRIPT_WAIT_QUIET) {
		int64_t q = p->last_msg_ms > p->step_start_ms ? p->last_msg_ms
							      : p->step_start_ms;

		t = earliest(t, q + st->ms);
	}
	for (unsigned i = 0; i < p->o.nrules; i++)
		if (p->o.rules[i].kind == FAULTRULE_INJECT_MAP && !p->o.rules[i].done &&
		    p->backend_up_ms)
			t = earliest(t, p->backend_up_ms + p->o.rules[i].after_ms);
	if (p->o.duration_ms > 0)
		t = earliest(t, p->t0_ms + p->o.duration_ms);
	return t;
}

static void target_event(struct proxy *p, int side)
{
	struct target *t = p->tgt[side];

	if (target_poll(t) != 1)
		return;
	p->tgt_seen_end[side] = true;
	note(p, PROTO_CHAN_MAIN, "the %s process ended (%s %d)", side_word(side),
	     t->signal ? "signal" : "exit", t->signal ? t->signal : t->exit_code);
	monjudge_on_process_end(&p->mon, (enum monitor_side)side, t->signal,
				t->exit_code, chan_now_ms());
}

static void signal_event(struct proxy *p)
{
	struct signalfd_siginfo si;

	if (read(p->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		finish(p, "stopped by signal %u", si.ssi_signo);
	else
		finish(p, "stopped by a signal");
}

static void dispatch(struct proxy *p, const struct pollfd *pf)
{
	const short in = POLLIN | POLLHUP | POLLERR;

	if (pf[SLOT_SIG].revents & in)
		signal_event(p);
	/* Control answers first: an answer precedes what it caused, and the
	 * trace keeps that order for replays. */
	for (int s = 0; s < 2; s++)
		if ((pf[SLOT_CTL + s].revents & in) && p->ctl[s].fd >= 0)
			control_readable(p, s);
	for (int c = 0; c < 2 && !p->done; c++)
		for (int s = 0; s < 2 && !p->done; s++)
			if ((pf[SLOT_CH + c * 2 + s].revents & in) && p->ch[c][s].fd >= 0 &&
			    p->ch[c][s].fd == pf[SLOT_CH + c * 2 + s].fd)
				receive(p, c, s);
	for (int s = 0; s < 2; s++)
		if ((pf[SLOT_TGT + s].revents & in) && p->tgt[s])
			target_event(p, s);
}

static void housekeeping(struct proxy *p)
{
	int64_t now = chan_now_ms();

	for (int c = 0; c < 2 && !p->done; c++)
		for (int s = 0; s < 2 && !p->done; s++)
			flush_queue(p, c, s, false);
	monjudge_tick(&p->mon, now);
	inject_due(p, now);
	script_step(p, now);
	if (p->o.duration_ms > 0 && now - p->t0_ms >= p->o.duration_ms)
		finish(p, "the duration (%" PRId64 " ms) is over", p->o.duration_ms);
}

static void wind_down(struct proxy *p)
{
	/* What was already accepted from one side still reaches the other. */
	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++)
			flush_queue(p, c, s, true);
	for (int c = 0; c < 2; c++)
		for (int s = 0; s < 2; s++)
			chan_close(&p->ch[c][s]);
	monjudge_finish(&p->mon, chan_now_ms());
}

void proxy_run(struct proxy *p)
{
	struct pollfd pf[SLOT_MAX];

	note(p, PROTO_CHAN_MAIN, "monitor relaying, shmem bit %u", p->o.shmem_bit);
	script_step(p, chan_now_ms());
	while (!p->done) {
		int64_t now = chan_now_ms(), wake = wake_time(p, now);
		int n;

		poll_set(p, pf);
		n = poll(pf, SLOT_MAX, wake > now ? (int)(wake - now) : 0);
		if (n < 0 && errno != EINTR) {
			finish(p, "poll: %s", strerror(errno));
			break;
		}
		if (n > 0)
			dispatch(p, pf);
		housekeeping(p);
	}
	wind_down(p);
}
