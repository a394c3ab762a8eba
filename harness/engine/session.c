/* SPDX-License-Identifier: MIT */
/*
 * session: one live connection while a case runs. See session.h.
 */
#include "session.h"
#include "protoname.h"
#include "sendwide.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEND_WINDOW_MS 1000
/* Without a pidfd, how often to look for the target's end. */
#define REAP_POLL_MS 10
#define EOF_GRACE_MS 5
/* The least time a started message gets to arrive whole. */
#define RECV_MIN_MS 100

static const char *const chan_names[2] = { "main", "backend" };

/* ---- trace ---- */

static void trace_hook(void *opaque, const char *chan_name, enum chan_dir dir,
		       const struct chan_msg *m, enum chan_status st)
{
	struct session *s = opaque;

	sesstrace_msg(&s->tr, s->t0, chan_name, dir, m, st);
}

void sess_note(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sesstrace_vnote(&s->tr, s->t0, fmt, ap);
	va_end(ap);
}

void sess_tail(const struct session *s, unsigned n, char *out, size_t cap)
{
	sesstrace_tail(&s->tr, n, out, cap);
}

/* ---- set-up ---- */

void sess_set_chan(struct session *s, enum script_chan c, int fd)
{
	if (s->ch[c].fd >= 0)
		chan_close(&s->ch[c]);
	chan_init(&s->ch[c], fd, chan_names[c],
		  c == SCRIPT_BACKEND ? PROTO_CHAN_BACKEND : PROTO_CHAN_MAIN);
	s->ch[c].trace = trace_hook;
	s->ch[c].trace_opaque = s;
	s->eof[c] = false;
	/* What the old channel left unread belongs to it, not to this one. */
	s->cursor[c] = s->nlog;
}

void sess_init(struct session *s, enum script_role role, int main_fd,
	       int ctl_fd, int listen_fd, int cancel_fd, struct target *tgt,
	       FILE *trace)
{
	memset(s, 0, sizeof(*s));
	s->role = role;
	s->shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	s->t0 = chan_now_ms();
	s->case_deadline = INT64_MAX;
	s->ch[0].fd = s->ch[1].fd = -1;
	sess_set_chan(s, SCRIPT_MAIN, main_fd);
	s->ctl_fd = ctl_fd;
	s->listen_fd = listen_fd;
	s->cancel_fd = cancel_fd;
	s->tgt = tgt;
	sesstrace_init(&s->tr, trace);
	rbe_init(&s->be);
	rfe_init(&s->fe);
	s->last_rx_ms = s->t0;
}

void sess_close_channels(struct session *s)
{
	for (int c = 0; c < 2; c++) {
		if (s->ch[c].fd >= 0)
			chan_close(&s->ch[c]);
		s->ch[c].fd = -1;
	}
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	s->ctl_fd = -1;
}

void sess_free(struct session *s)
{
	sess_close_channels(s);
	for (unsigned i = 0; i < s->nlog; i++)
		free(s->log[i].payload);
	free(s->log);
	s->log = NULL;
	s->nlog = 0;
	sesstrace_close(&s->tr);
}

/* ---- the log ---- */

static struct sess_rec *log_add(struct session *s, enum script_chan c)
{
	struct sess_rec *r;

	if (s->nlog == SESS_MAX_LOG) {
		snprintf(s->fault, sizeof(s->fault), "the target sent more than %u "
			 "messages", SESS_MAX_LOG);
		return NULL;
	}
	if (s->nlog == s->caplog) {
		unsigned ncap = s->caplog ? s->caplog * 2 : 64;
		struct sess_rec *nl = realloc(s->log, ncap * sizeof(*nl));

		if (!nl) {
			snprintf(s->fault, sizeof(s->fault), "out of memory");
			return NULL;
		}
		s->log = nl;
		s->caplog = ncap;
	}
	r = &s->log[s->nlog++];
	memset(r, 0, sizeof(*r));
	r->chan = c;
	r->t_ms = chan_now_ms();
	r->round = s->round;
	return r;
}

const struct sess_rec *sess_peek(const struct session *s, enum script_chan c)
{
	for (unsigned i = s->cursor[c]; i < s->nlog; i++)
		if (s->log[i].chan == c)
			return &s->log[i];
	return NULL;
}

void sess_consume(struct session *s, enum script_chan c)
{
	const struct sess_rec *r = sess_peek(s, c);

	if (r)
		s->cursor[c] = (unsigned)(r - s->log) + 1;
}

bool sess_chan_live(const struct session *s, enum script_chan c)
{
	return s->ch[c].fd >= 0 && !s->eof[c];
}

void sess_describe(const struct sess_rec *r, char *out, size_t cap)
{
	const char *name;

	if (r->eof) {
		snprintf(out, cap, "%s channel closed (%s)", chan_names[r->chan],
			 r->st < 0 ? strerror(-r->st) : chan_status_name(r->st));
		return;
	}
	name = proto_req_name((enum proto_chan)r->chan, r->hdr.request);
	if (name)
		snprintf(out, cap, "%s %s flags=0x%x size=%u fds=%u", name,
			 r->hdr.flags & PROTO_F_REPLY ? "reply" : "request",
			 r->hdr.flags, r->hdr.size, r->nfds);
	else
		snprintf(out, cap, "request %u %s flags=0x%x size=%u fds=%u",
			 r->hdr.request,
			 r->hdr.flags & PROTO_F_REPLY ? "reply" : "request",
			 r->hdr.flags, r->hdr.size, r->nfds);
}

/* ---- validation ---- */

static bool expects_reply_on(const struct session *s, enum script_chan c)
{
	/* The target replies on the channel the harness sends requests on. */
	return (s->role == SCRIPT_ROLE_BACKEND) == (c == SCRIPT_BACKEND);
}

static void add_finding(struct session *s, const struct proto_finding *f,
			const struct sess_rec *r, bool is_reply)
{
	struct sess_finding *sf;
	const char *name = proto_req_name((enum proto_chan)r->chan,
					  r->hdr.request);

	if (s->nfindings == SESS_MAX_FINDINGS) {
		s->findings_dropped++;
		return;
	}
	sf = &s->findings[s->nfindings++];
	sf->f = *f;
	if (name)
		snprintf(sf->msg, sizeof(sf->msg), "%s%s", name,
			 is_reply ? " reply" : "");
	else
		snprintf(sf->msg, sizeof(sf->msg), "request %u%s", r->hdr.request,
			 is_reply ? " reply" : "");
}

void sess_observe(struct session *s, const struct sess_rec *r, int code,
		  enum proto_severity sev, const char *text)
{
	struct proto_finding f = { .code = (enum proto_finding_code)code,
				   .severity = sev };

	snprintf(f.text, sizeof(f.text), "%s", text);
	add_finding(s, &f, r, (r->hdr.flags & PROTO_F_REPLY) != 0);
}

static void validate(struct session *s, const struct sess_rec *r)
{
	static const uint8_t empty[1];
	struct proto_findings out = { 0 };
	struct proto_vctx ctx = {
		.chan = (enum proto_chan)r->chan,
		.is_reply = expects_reply_on(s, r->chan),
		.nfds = r->nfds,
		.payload_len = r->payload_len,
	};

	proto_validate(&ctx, &r->hdr, r->payload ? r->payload : empty, &out);
	for (unsigned i = 0; i < out.count; i++)
		add_finding(s, &out.items[i], r, ctx.is_reply);
	s->findings_dropped += out.dropped;
}

/* ---- harness as back-end: answering the front-end target ---- */

/* Answers request r on the main channel, as role_backend builds it. */
static void answer(struct session *s, const struct sess_rec *r)
{
	uint8_t body[PROTO_SHMEM_CONFIG_SIZE];
	struct proto_hdr h;
	size_t len = rbe_answer(&s->be, &r->hdr, r->payload, r->payload_len, &h,
				body, sizeof(body));

	if (sess_chan_live(s, SCRIPT_MAIN))
		sess_send(s, SCRIPT_MAIN, &h, body, len, NULL, 0);
}

/* SET_BACKEND_REQ_FD installs the back-end channel: the session's
 * business; the rest of a request's effect is the role's. */
static void take_backend_chan(struct session *s, const struct sess_rec *r,
			      struct chan_msg *m)
{
	int fd;

	if (r->hdr.request != PROTO_SET_BACKEND_REQ_FD || m->nfds < 1)
		return;
	fd = chan_msg_take_fd(m, 0);
	if (fd >= 0) {
		sess_set_chan(s, SCRIPT_BACKEND, fd);
		sess_note(s, "back-end channel established");
	}
}

bool sess_held(const struct session *s, const struct sess_rec *r)
{
	return rbe_held(&s->be, r->hdr.request);
}

static void serve_request(struct session *s, unsigned idx, struct chan_msg *m)
{
	const struct sess_rec *r = &s->log[idx];
	const char *name;

	if (r->hdr.flags & PROTO_F_REPLY)
		return; /* not a request: the validator has said so */
	rbe_apply(&s->be, &r->hdr, r->payload, r->payload_len);
	take_backend_chan(s, r, m);
	if (!rbe_needs_answer(&r->hdr))
		return;
	if (!rbe_must_wait(&s->be, r->hdr.request)) {
		answer(s, r);
	} else if (rbe_enqueue(&s->be, idx, r->hdr.request)) {
		name = proto_req_name(PROTO_CHAN_MAIN, r->hdr.request);
		sess_note(s, "holding the answer to %s: %s", name ? name : "a request",
			  sess_held(s, r) ? "held by the case until 'release main'"
					  : "a single-threaded back-end awaiting its reply");
	}
}

/* Answers what no longer has to wait, in arrival order. */
static void flush_queue(struct session *s)
{
	unsigned ready[RBE_MAX_QUEUE];
	unsigned n = rbe_take_ready(&s->be, ready);

	for (unsigned i = 0; i < n; i++)
		answer(s, &s->log[ready[i]]);
}

void sess_unblock(struct session *s)
{
	rbe_unblock(&s->be);
	flush_queue(s);
}

void sess_hold(struct session *s, const uint32_t *req, unsigned n)
{
	rbe_hold(&s->be, req, n);
}

void sess_release(struct session *s)
{
	rbe_release(&s->be);
	flush_queue(s);
}

/* ---- receiving ---- */

static void check_target(struct session *s);

static void end_chan(struct session *s, enum script_chan c, int st)
{
	struct sess_rec *r = log_add(s, c);

	s->eof[c] = true;
	if (r) {
		r->eof = true;
		r->st = st;
	}
}

/* Copies a received message into the log. */
static struct sess_rec *log_msg(struct session *s, enum script_chan c,
				const struct chan_msg *m, int st)
{
	struct sess_rec *r = log_add(s, c);

	if (!r)
		return NULL;
	r->st = st;
	r->hdr_valid = true;
	r->hdr = m->hdr;
	r->nfds = m->nfds;
	r->payload_len = m->payload_len;
	r->t_ms = m->t_ms;
	if (m->payload_len) {
		r->payload = malloc(m->payload_len);
		if (!r->payload) {
			r->payload_len = 0;
			snprintf(s->fault, sizeof(s->fault), "out of memory");
		} else {
			memcpy(r->payload, m->payload, m->payload_len);
		}
	}
	return r;
}

static void dispatch(struct session *s, enum script_chan c,
		     struct sess_rec *r, struct chan_msg *m)
{
	struct proto_mmap mm;

	if (s->role == SCRIPT_ROLE_BACKEND) {
		if (c == SCRIPT_MAIN)
			serve_request(s, (unsigned)(r - s->log), m);
		return;
	}
	if (c != SCRIPT_BACKEND || (r->hdr.flags & PROTO_F_REPLY))
		return;
	s->fe.last_be_req = (int)(r - s->log);
	if (proto_mmap_decode(r->payload, r->payload_len, &mm) != PROTO_OK)
		return;
	if (r->hdr.request == PROTO_BE_SHMEM_MAP)
		ledger_on_map(&s->fe.ledger, &mm);
	else if (r->hdr.request == PROTO_BE_SHMEM_UNMAP)
		ledger_on_unmap(&s->fe.ledger, &mm);
}

static void recv_one(struct session *s, enum script_chan c, int64_t deadline)
{
	struct chan_msg *m = malloc(sizeof(*m));
	struct sess_rec *r;
	int st;

	if (!m) {
		snprintf(s->fault, sizeof(s->fault), "out of memory");
		return;
	}
	chan_msg_init(m);
	/* Readable means a message is on its way: give its rest a moment
	 * even when the caller's deadline is now, or a drain would cut a
	 * message in two and lose the stream. */
	if (deadline < chan_now_ms() + RECV_MIN_MS)
		deadline = chan_now_ms() + RECV_MIN_MS;
	st = chan_recv(&s->ch[c], m, deadline);
	s->last_rx_ms = chan_now_ms();
	if ((st == CHAN_OK || st == CHAN_TOO_MANY_FDS || st == CHAN_TOOBIG ||
	     st == CHAN_TRUNC_PAYLOAD) && m->hdr_valid) {
		r = log_msg(s, c, m, st);
		if (r) {
			validate(s, r);
			if (st == CHAN_OK || st == CHAN_TOO_MANY_FDS)
				dispatch(s, c, r, m);
		}
	}
	if (st != CHAN_OK && st != CHAN_TOO_MANY_FDS) {
		end_chan(s, c, st); /* EOF, reset, or a stream we cannot follow */
		/* A dying process closes its fds just before it can be reaped:
		 * wait a moment so that a crash is seen as one, at this step. */
		if (s->tgt && s->tgt->pid > 0 && !s->tgt->ended)
			target_wait(s->tgt, chan_deadline(EOF_GRACE_MS));
		check_target(s);
	}
	chan_msg_release(m);
	free(m);
}

/* ---- the control line ---- */

static void ctl_close(struct session *s)
{
	if (s->ctl_fd >= 0)
		close(s->ctl_fd);
	s->ctl_fd = -1;
}

static void ctl_take_lines(struct session *s)
{
	char *nl;

	while (!(s->ctl_queue && s->ctl_has_answer) &&
	       (nl = memchr(s->ctl_buf, '\n', s->ctl_len)) != NULL) {
		size_t n = (size_t)(nl - s->ctl_buf);

		*nl = '\0';
		if (n > 0 && s->ctl_buf[n - 1] == '\r')
			s->ctl_buf[n - 1] = '\0';
		sess_note(s, "control <- %s", s->ctl_buf);
		if (!s->ctl_has_answer) {
			snprintf(s->ctl_answer, sizeof(s->ctl_answer), "%s",
				 s->ctl_buf);
			s->ctl_has_answer = true;
		}
		memmove(s->ctl_buf, nl + 1, s->ctl_len - n - 1);
		s->ctl_len -= n + 1;
	}
	if (s->ctl_len == sizeof(s->ctl_buf)) {
		sess_note(s, "control: a line longer than %zu bytes", sizeof(s->ctl_buf));
		s->ctl_len = 0;
	}
}

void sess_ctl_next(struct session *s)
{
	s->ctl_has_answer = false;
	ctl_take_lines(s);
}

static void ctl_read(struct session *s)
{
	ssize_t n = recv(s->ctl_fd, s->ctl_buf + s->ctl_len,
			 sizeof(s->ctl_buf) - s->ctl_len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		sess_note(s, "control channel closed");
		ctl_close(s);
		return;
	}
	s->ctl_len += (size_t)n;
	ctl_take_lines(s);
}

static bool ctl_answered(struct session *s, void *arg)
{
	(void)arg;
	return s->ctl_has_answer || s->ctl_fd < 0;
}

enum sess_wait sess_control(struct session *s, const char *line,
			    int64_t deadline)
{
	enum sess_wait w = sess_control_send(s, line, deadline);

	return w != SESS_MET ? w : sess_pump(s, deadline, ctl_answered, NULL);
}

enum sess_wait sess_control_send(struct session *s, const char *line,
				 int64_t deadline)
{
	char buf[SESS_CTL_BUF];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%s\n", line), off = 0;

	s->ctl_has_answer = false;
	if (s->ctl_fd < 0)
		return SESS_GONE;
	sess_note(s, "control -> %s", line);
	while (off < len) {
		ssize_t n = send(s->ctl_fd, buf + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* The target is not reading: keep serving it a while. */
			enum sess_wait w = sess_pump(s, chan_now_ms() + 1, NULL, NULL);

			if (w != SESS_DEADLINE)
				return w;
			if (chan_now_ms() >= deadline)
				return SESS_DEADLINE;
		} else {
			ctl_close(s);
			return SESS_GONE;
		}
	}
	return SESS_MET;
}

/* ---- the pump ---- */

enum pump_slot { PS_MAIN, PS_BACKEND, PS_CTL, PS_PID, PS_CANCEL, PS_LISTEN,
		 PS_MAX };

/* A new connection on the listening socket: the front-end target
 * reconnected, so the protocol starts over. */
static void accept_reconnect(struct session *s)
{
	int fd = chan_accept(s->listen_fd, chan_now_ms());

	if (fd < 0)
		return;
	sess_note(s, "front-end reconnected");
	sess_set_chan(s, SCRIPT_MAIN, fd);
	if (s->ch[SCRIPT_BACKEND].fd >= 0)
		chan_close(&s->ch[SCRIPT_BACKEND]);
	s->ch[SCRIPT_BACKEND].fd = -1;
	s->eof[SCRIPT_BACKEND] = false;
	s->be.pf_set = false;
	s->be.negotiated = 0;
	s->be.driver_ok = false;
	s->be.status = 0;
}

static bool target_gone(struct session *s)
{
	if (s->tgt && s->tgt->pid > 0 && !s->tgt->ended)
		return false;
	return !sess_chan_live(s, SCRIPT_MAIN) && !sess_chan_live(s, SCRIPT_BACKEND);
}

static void check_target(struct session *s)
{
	char buf[16];

	if (!s->tgt || s->tgt->pid <= 0 || s->death_noted)
		return;
	if (!s->tgt->ended && target_poll(s->tgt) != 1)
		return;
	s->death_noted = true;
	if (s->tgt->signal) {
		s->crashed = true;
		sess_note(s, "target killed by %s",
			  target_signal_name(s->tgt->signal, buf, sizeof(buf)));
	} else {
		sess_note(s, "target exited with code %d", s->tgt->exit_code);
	}
}

static unsigned fill_pollfds(struct session *s, struct pollfd *pfd, int *slot)
{
	unsigned n = 0;
	/* A reply to our request that is ready along with a main-channel
	 * message cannot have been caused by it: log the reply first. */
	static const int order[PS_MAX] = { PS_BACKEND, PS_MAIN, PS_CTL, PS_PID,
					   PS_CANCEL, PS_LISTEN };
	int fds[PS_MAX] = {
		[PS_MAIN] = sess_chan_live(s, SCRIPT_MAIN) ? s->ch[0].fd : -1,
		[PS_BACKEND] = sess_chan_live(s, SCRIPT_BACKEND) ? s->ch[1].fd : -1,
		[PS_CTL] = s->ctl_fd,
		[PS_PID] = s->tgt ? target_pollfd(s->tgt) : -1,
		[PS_CANCEL] = s->cancel_fd,
		[PS_LISTEN] = s->listen_fd,
	};

	for (int k = 0; k < PS_MAX; k++) {
		int i = order[k];

		if (fds[i] < 0)
			continue;
		pfd[n].fd = fds[i];
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		slot[n++] = i;
	}
	return n;
}

/* Handles what poll() reported; false when the pump must return. The
 * pollfds are in fill_pollfds' order: the back-end channel before the
 * main one. */
static bool handle_events(struct session *s, struct pollfd *pfd, int *slot,
			  unsigned n, int64_t deadline)
{
	s->round++;
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		switch (slot[i]) {
		case PS_MAIN:
		case PS_BACKEND:
			if (s->ch[slot[i]].fd == pfd[i].fd)
				recv_one(s, (enum script_chan)slot[i], deadline);
			break;
		case PS_CTL:
			ctl_read(s);
			break;
		case PS_PID:
			check_target(s);
			break;
		case PS_CANCEL:
			s->cancelled = true;
			sess_note(s, "interrupted");
			return false;
		case PS_LISTEN:
			accept_reconnect(s);
			break;
		}
	}
	return true;
}

enum sess_wait sess_pump(struct session *s, int64_t deadline,
			 sess_cond_fn cond, void *arg)
{
	struct pollfd pfd[PS_MAX];
	int slot[PS_MAX];
	bool polled = false, drained = false;

	for (;;) {
		int64_t now, until;
		unsigned n;
		int rc;

		check_target(s);
		if (s->fault[0])
			return SESS_FAULT;
		if (s->cancelled)
			return SESS_CANCEL;
		if (s->crashed)
			return SESS_CRASH;
		if (cond && cond(s, arg))
			return SESS_MET;
		now = chan_now_ms();
		if (polled && now >= s->case_deadline)
			return SESS_CASE_DEADLINE;
		if (polled && now >= deadline)
			return SESS_DEADLINE;
		until = deadline < s->case_deadline ? deadline : s->case_deadline;
		if (until < now)
			until = now;
		/* Gone: what it wrote before it went (a control answer, say)
		 * is read in one last poll that does not wait, so that it
		 * counts whichever the kernel reported first. */
		if (target_gone(s)) {
			if (drained)
				return SESS_GONE;
			drained = true;
			until = now;
		}
		n = fill_pollfds(s, pfd, slot);
		if (s->tgt && s->tgt->pid > 0 && !s->tgt->ended &&
		    target_pollfd(s->tgt) < 0 && until > now + REAP_POLL_MS)
			until = now + REAP_POLL_MS;
		rc = poll(pfd, n, (int)(until - now));
		polled = true;
		if (rc < 0 && errno != EINTR) {
			snprintf(s->fault, sizeof(s->fault), "poll: %s",
				 strerror(errno));
			return SESS_FAULT;
		}
		if (rc > 0 && !handle_events(s, pfd, slot, n, until))
			return SESS_CANCEL;
	}
}

/* ---- sending ---- */

/* A target that does not read gets a second, never past the case. */
static int64_t send_deadline(const struct session *s)
{
	int64_t d = chan_deadline(SEND_WINDOW_MS);

	return d < s->case_deadline ? d : s->case_deadline;
}

int sess_send(struct session *s, enum script_chan c, const struct proto_hdr *h,
	      const void *payload, size_t len, const int *fds, unsigned nfds)
{
	uint8_t *buf;
	int rc;

	if (s->ch[c].fd < 0)
		return -ENOTCONN;
	if (nfds <= PROTO_MAX_FDS)
		return chan_send(&s->ch[c], h, payload, len, fds, nfds,
				 send_deadline(s));
	buf = malloc(PROTO_HDR_SIZE + len);
	if (!buf)
		return -ENOMEM;
	proto_hdr_encode(h, buf, PROTO_HDR_SIZE);
	if (len)
		memcpy(buf + PROTO_HDR_SIZE, payload, len);
	rc = sess_send_raw(s, c, buf, PROTO_HDR_SIZE + len, fds, nfds);
	free(buf);
	return rc;
}

int sess_send_raw(struct session *s, enum script_chan c, const void *buf,
		  size_t len, const int *fds, unsigned nfds)
{
	int rc;

	if (s->ch[c].fd < 0)
		return -ENOTCONN;
	if (nfds <= PROTO_MAX_FDS)
		return chan_send_raw(&s->ch[c], buf, len, fds, nfds,
				     send_deadline(s));
	rc = sendwide_send(s->ch[c].fd, buf, len, fds, nfds, send_deadline(s));
	sesstrace_wide(&s->tr, s->t0, chan_names[c], buf, len, fds, nfds,
		       rc);
	return rc;
}
