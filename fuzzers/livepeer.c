/* SPDX-License-Identifier: MIT */
/* livepeer: see livepeer.h. */
#include "livepeer.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LP_CONNECT_MS 20000     /* QEMU's own start, on a loaded machine */

static uint64_t offer_pfeatures(unsigned bit)
{
	return 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
	       1ull << PROTO_PF_BACKEND_SEND_FD |
	       1ull << PROTO_PF_CONFIGURE_MEM_SLOTS | 1ull << PROTO_PF_STATUS |
	       1ull << PROTO_PF_RESET_DEVICE | 1ull << bit;
}

/* ---- the main channel ---- */

static void apply(struct livepeer *p, struct chan_msg *m)
{
	uint64_t v = 0;

	if (m->payload_len >= 8)
		proto_u64_decode(m->payload, m->payload_len, &v);
	switch (m->hdr.request) {
	case PROTO_SET_PROTOCOL_FEATURES:
		p->negotiated = v;
		p->pf_set = true;
		break;
	case PROTO_SET_STATUS: p->status = v; break;
	case PROTO_RESET_DEVICE: case PROTO_RESET_OWNER: p->status = 0; break;
	case PROTO_SET_MEM_TABLE: case PROTO_ADD_MEM_REG: case PROTO_REM_MEM_REG:
		p->mt_msgs++;
		break;
	case PROTO_SET_BACKEND_REQ_FD:
		if (m->nfds >= 1) {
			if (p->have_be)
				chan_close(&p->be);
			chan_init(&p->be, chan_msg_take_fd(m, 0), "backend",
				  PROTO_CHAN_BACKEND);
			p->have_be = true;
		}
		break;
	default:
		break;
	}
}

/* The body of the answer to m: as role_backend answers (the engine's). */
static size_t answer_body(const struct livepeer *p, const struct chan_msg *m,
			  uint8_t *out, size_t cap)
{
	uint64_t v = 0;
	int n;

	switch (m->hdr.request) {
	case PROTO_GET_FEATURES:
		v = 1ull << PROTO_F_PROTOCOL_FEATURES | 1ull << 32;
		break;
	case PROTO_GET_PROTOCOL_FEATURES: v = p->pfeatures; break;
	case PROTO_GET_MAX_MEM_SLOTS: v = 509; break;
	case PROTO_GET_QUEUE_NUM: v = 1; break;
	case PROTO_GET_STATUS: v = p->status; break;
	case PROTO_GET_SHMEM_CONFIG:
		n = proto_shmem_config_encode(&p->cfg, out, cap);
		return n > 0 ? (size_t)n : 0;
	case PROTO_GET_VRING_BASE: {
		struct proto_vring_state vs = { 0, 0 };

		if (m->payload_len >= 4)
			memcpy(&vs.index, m->payload, 4);
		n = proto_vring_state_encode(&vs, out, cap);
		return n > 0 ? (size_t)n : 0;
	}
	case PROTO_GET_CONFIG:
		if (m->payload_len <= cap) {
			memcpy(out, m->payload, m->payload_len);
			if (m->payload_len > PROTO_CONFIG_HDR_SIZE)
				memset(out + PROTO_CONFIG_HDR_SIZE, 0,
				       m->payload_len - PROTO_CONFIG_HDR_SIZE);
			return m->payload_len;
		}
		break;
	default:
		break;
	}
	n = proto_u64_encode(v, out, cap);
	return n > 0 ? (size_t)n : 0;
}

/* One main-channel message: applied, answered when it asks. */
static int serve_main(struct livepeer *p, int64_t deadline)
{
	struct chan_msg m;
	int rc = chan_recv(&p->main, &m, deadline);

	if (rc == CHAN_TIMEOUT) {
		chan_msg_release(&m);
		return LIVEPEER_NONE;
	}
	if (rc != CHAN_OK) {
		chan_msg_release(&m);
		return LIVEPEER_GONE;
	}
	p->main_msgs++;
	apply(p, &m);
	if (!(m.hdr.flags & PROTO_F_REPLY) &&
	    (proto_has_reply_body(PROTO_CHAN_MAIN, m.hdr.request) ||
	     (m.hdr.flags & PROTO_F_NEED_REPLY))) {
		uint8_t out[PROTO_MAX_PAYLOAD];
		struct proto_hdr h = { m.hdr.request, PROTO_VERSION | PROTO_F_REPLY,
				       0 };

		h.size = (uint32_t)answer_body(p, &m, out, sizeof(out));
		if (m.hdr.request == PROTO_GET_SHMEM_CONFIG) {
			h.flags = p->cfg_flags;
			if (h.size > p->cfg_size)
				h.size = p->cfg_size;
		}
		rc = chan_send(&p->main, &h, out, h.size, NULL, 0,
			       chan_deadline(p->timeout_ms));
	}
	chan_msg_release(&m);
	return rc == CHAN_OK ? LIVEPEER_OK : LIVEPEER_GONE;
}

/* Waits until fd is readable, serving the main channel meanwhile.
 * fd -1: only serve until the deadline. */
static int wait_for(struct livepeer *p, int fd, int64_t deadline)
{
	for (;;) {
		struct pollfd pf[3] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = p->have_main ? p->main.fd : -1, .events = POLLIN },
			{ .fd = target_pollfd(&p->t), .events = POLLIN },
		};
		int64_t left = deadline - chan_now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(pf, 3, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR)
			return LIVEPEER_GONE;
		/* fd first: what is ready in the same round cannot be
		 * ordered, so main-channel traffic counts as earlier only
		 * when it came in a round of its own (the reply's order). */
		if (n > 0 && pf[0].revents)
			return LIVEPEER_OK;
		if (n > 0 && pf[1].revents) {
			int rc = serve_main(p, chan_deadline(p->timeout_ms));

			if (rc != LIVEPEER_OK)
				return LIVEPEER_GONE;
			continue;
		}
		if ((n > 0 && pf[2].revents) || target_poll(&p->t) == 1)
			return LIVEPEER_GONE;
		if (chan_now_ms() >= deadline)
			return LIVEPEER_NONE;
	}
}

/* ---- the control channel ---- */

static int read_line(struct livepeer *p, char *out, size_t cap,
		     int64_t deadline)
{
	for (;;) {
		char *nl = memchr(p->line, '\n', p->linelen);
		ssize_t n;
		int rc;

		if (nl) {
			size_t k = (size_t)(nl - p->line);

			snprintf(out, cap, "%.*s", (int)k, p->line);
			memmove(p->line, nl + 1, p->linelen - k - 1);
			p->linelen -= k + 1;
			return LIVEPEER_OK;
		}
		if (p->linelen == sizeof(p->line))
			return LIVEPEER_GONE;
		rc = wait_for(p, p->ctl, deadline);
		if (rc != LIVEPEER_OK)
			return rc;
		n = read(p->ctl, p->line + p->linelen, sizeof(p->line) - p->linelen);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			return LIVEPEER_GONE;
		if (n > 0)
			p->linelen += (size_t)n;
	}
}

static int control_line(struct livepeer *p, const char *cmd, char *ans,
			size_t cap)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s\n", cmd);

	if (write(p->ctl, buf, (size_t)n) != n)
		return LIVEPEER_GONE;
	return read_line(p, ans, cap, chan_deadline(2 * p->timeout_ms));
}

int livepeer_control(struct livepeer *p, const char *cmd, char *ans,
		     size_t anscap)
{
	char dump[4096];
	int rc = control_line(p, cmd, ans, anscap);

	if (rc != LIVEPEER_OK || strncmp(ans, "ok", 2) != 0)
		return rc;
	if (strcmp(cmd, "start") && strcmp(cmd, "stop") && strcmp(cmd, "reset"))
		return rc;
	return control_line(p, "dump", dump, sizeof(dump));
}

/* ---- start and stop ---- */

/* Serves the main channel until the protocol features are set and the
 * back-end channel is in (when negotiated). */
static int handshake(struct livepeer *p, int64_t deadline)
{
	while (!(p->pf_set && (p->have_be || !(p->negotiated &
						(1ull << PROTO_PF_BACKEND_REQ))))) {
		int rc = serve_main(p, deadline);

		if (rc != LIVEPEER_OK)
			return rc;
	}
	return LIVEPEER_OK;
}

void livepeer_offer(struct livepeer *p, bool shmem, bool reply_ack)
{
	p->pfeatures = offer_pfeatures(p->shmem_bit);
	if (!shmem)
		p->pfeatures &= ~(1ull << p->shmem_bit);
	if (!reply_ack)
		p->pfeatures &= ~(1ull << PROTO_PF_REPLY_ACK);
}

int livepeer_reconnect(struct livepeer *p, const struct proto_shmem_config *cfg,
		       uint32_t flags, uint32_t size, bool *refused, char *ans,
		       size_t anscap)
{
	struct proto_shmem_config old = p->cfg;
	uint32_t oflags = p->cfg_flags, osize = p->cfg_size;
	int64_t deadline;
	int fd = -1, rc;

	*refused = false;
	p->cfg = *cfg;
	p->cfg_flags = flags;
	p->cfg_size = size;
	rc = control_line(p, "reconnect", ans, anscap);
	if (rc != LIVEPEER_OK || strncmp(ans, "ok", 2) != 0) {
		*refused = rc == LIVEPEER_OK;
		p->cfg = old;
		p->cfg_flags = oflags;
		p->cfg_size = osize;
		return rc;
	}
	chan_close(&p->main);
	if (p->have_be)
		chan_close(&p->be);
	p->have_main = p->have_be = p->pf_set = false;
	deadline = chan_deadline(5 * p->timeout_ms);
	while (fd < 0 && p->lfd >= 0 && chan_now_ms() < deadline && livepeer_alive(p))
		fd = chan_accept(p->lfd, chan_deadline(50));
	if (fd < 0)
		return livepeer_alive(p) ? LIVEPEER_NONE : LIVEPEER_GONE;
	chan_init(&p->main, fd, "main", PROTO_CHAN_MAIN);
	p->have_main = true;
	rc = handshake(p, deadline);
	if (rc != LIVEPEER_OK)
		return rc;
	return control_line(p, "dump", ans, anscap);
}

static int spawn(struct livepeer *p, const struct livepeer_opts *o, int *mainfd,
		 char *err, size_t errcap)
{
	int csv[2] = { -1, -1 }, msv[2] = { -1, -1 };
	char cfd[16] = "", mfd[16] = "", bit[16];
	struct target_subst s = { NULL, NULL, NULL, NULL };
	struct target_argv av;
	int keep[2], nkeep = 0, rc;

	snprintf(bit, sizeof(bit), "%u", o->shmem_bit);
	s.shmem_bit = bit;
	s.socket = p->sock;
	if (target_cmd_has(o->cmd, "{control}")) {
		if (chan_socketpair(csv) < 0) {
			snprintf(err, errcap, "socketpair: %s", strerror(errno));
			return -1;
		}
		snprintf(cfd, sizeof(cfd), "%d", csv[1]);
		s.control = cfd;
		keep[nkeep++] = csv[1];
		p->ctl = csv[0];
	}
	if (target_cmd_has(o->cmd, "{fd}")) {
		if (chan_socketpair(msv) < 0) {
			snprintf(err, errcap, "socketpair: %s", strerror(errno));
			return -1;
		}
		snprintf(mfd, sizeof(mfd), "%d", msv[1]);
		s.fd = mfd;
		keep[nkeep++] = msv[1];
		*mainfd = msv[0];
	}
	if (target_split(o->cmd, &s, &av, err, errcap) != 0)
		return -1;
	rc = target_spawn(&p->t, av.argv, keep, (unsigned)nkeep, o->log_path,
			  err, errcap);
	for (int i = 0; i < nkeep; i++)
		close(keep[i]);
	return rc == 0 ? 0 : -1;
}

int livepeer_start(struct livepeer *p, const struct livepeer_opts *o,
		   char *err, size_t errcap)
{
	int mainfd = -1, rc;
	int64_t deadline;
	char ans[4096];

	memset(p, 0, sizeof(*p));
	target_init(&p->t);
	p->lfd = p->ctl = -1;
	p->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
	p->pfeatures = offer_pfeatures(o->shmem_bit);
	p->shmem_bit = o->shmem_bit;
	p->cfg.nregions = o->nsizes;
	p->cfg_flags = PROTO_VERSION | PROTO_F_REPLY;
	p->cfg_size = PROTO_SHMEM_CONFIG_SIZE;
	memcpy(p->cfg.memory_sizes, o->sizes, sizeof(p->cfg.memory_sizes));
	snprintf(p->dir, sizeof(p->dir), "/tmp/vhu-live-XXXXXX");
	if (!mkdtemp(p->dir)) {
		snprintf(err, errcap, "mkdtemp: %s", strerror(errno));
		p->dir[0] = '\0';
		return -1;
	}
	snprintf(p->sock, sizeof(p->sock), "%s/vu.sock", p->dir);
	if (!target_cmd_has(o->cmd, "{fd}")) {
		p->lfd = chan_listen(p->sock);
		if (p->lfd < 0) {
			snprintf(err, errcap, "listen %s: %s", p->sock,
				 strerror(-p->lfd));
			return -1;
		}
	}
	if (spawn(p, o, &mainfd, err, errcap) != 0)
		return -1;
	deadline = chan_deadline(LP_CONNECT_MS);
	/* In slices, so that a target that ended is told at once. */
	while (mainfd < 0 && chan_now_ms() < deadline && livepeer_alive(p))
		mainfd = chan_accept(p->lfd, chan_deadline(100));
	if (mainfd < 0) {
		snprintf(err, errcap, "the target %s %s (its output: %s)",
			 livepeer_alive(p) ? "did not connect to" : "ended before "
			 "connecting to", p->sock, o->log_path ? o->log_path : "none");
		return -1;
	}
	chan_init(&p->main, mainfd, "main", PROTO_CHAN_MAIN);
	p->have_main = true;
	if (handshake(p, deadline) != LIVEPEER_OK) {
		snprintf(err, errcap, "handshake: the target %s before "
			 "SET_PROTOCOL_FEATURES and the back-end channel",
			 livepeer_alive(p) ? "went quiet" : "ended");
		return -1;
	}
	if (!p->have_be) {
		snprintf(err, errcap, "the target negotiated no back-end channel "
			 "(protocol features %#llx)",
			 (unsigned long long)p->negotiated);
		return -1;
	}
	if (!(p->negotiated & (1ull << o->shmem_bit))) {
		snprintf(err, errcap, "the target did not negotiate SHMEM (bit %u; "
			 "protocol features %#llx)", o->shmem_bit,
			 (unsigned long long)p->negotiated);
		return -1;
	}
	if (p->ctl < 0) {
		snprintf(err, errcap, "the target has no control channel "
			 "({control}): a live stream needs start/stop/reset");
		return -1;
	}
	rc = control_line(p, "version 2", ans, sizeof(ans));
	if (rc == LIVEPEER_OK)
		rc = livepeer_control(p, "start", ans, sizeof(ans));
	if (rc != LIVEPEER_OK || strncmp(ans, "ok", 2) != 0) {
		snprintf(err, errcap, "control start: %s", rc == LIVEPEER_OK ? ans
			 : rc == LIVEPEER_NONE ? "no answer" : "the target ended");
		return -1;
	}
	return 0;
}

int livepeer_request(struct livepeer *p, const struct proto_hdr *h,
		     const uint8_t *payload, size_t len, const int *fds,
		     unsigned nfds, bool want_reply, struct chan_msg *reply)
{
	int64_t deadline = chan_deadline(p->timeout_ms);
	uint8_t buf[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	int rc;

	chan_msg_init(reply);
	proto_hdr_encode(h, buf, sizeof(buf));
	memcpy(buf + PROTO_HDR_SIZE, payload, len);
	rc = chan_send_raw(&p->be, buf, PROTO_HDR_SIZE + len, fds, nfds, deadline);
	if (rc != CHAN_OK)
		return LIVEPEER_GONE;
	if (!want_reply)
		return LIVEPEER_OK;
	return livepeer_await(p, reply);
}

int livepeer_await(struct livepeer *p, struct chan_msg *reply)
{
	int64_t deadline = chan_deadline(p->reply_ms ? p->reply_ms : p->timeout_ms);
	int rc = wait_for(p, p->be.fd, deadline);

	chan_msg_init(reply);
	if (rc != LIVEPEER_OK)
		return rc;
	rc = chan_recv(&p->be, reply, deadline);
	return rc == CHAN_OK ? LIVEPEER_OK : rc == CHAN_TIMEOUT ? LIVEPEER_NONE
								 : LIVEPEER_GONE;
}

int livepeer_drain(struct livepeer *p, unsigned *stray)
{
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = p->main.fd, .events = POLLIN },
			{ .fd = p->be.fd, .events = POLLIN },
		};
		struct chan_msg m;
		int n = poll(pf, 2, 0);

		if (n <= 0)
			return n < 0 && errno != EINTR ? LIVEPEER_GONE : LIVEPEER_OK;
		if (pf[0].revents && serve_main(p, chan_deadline(p->timeout_ms)) !=
					     LIVEPEER_OK)
			return LIVEPEER_GONE;
		if (!pf[1].revents)
			continue;
		if (chan_recv(&p->be, &m, chan_deadline(p->timeout_ms)) != CHAN_OK) {
			chan_msg_release(&m);
			return LIVEPEER_GONE;
		}
		(*stray)++;
		chan_msg_release(&m);
	}
}

int livepeer_serve_for(struct livepeer *p, unsigned ms)
{
	return wait_for(p, -1, chan_deadline(ms));
}

bool livepeer_alive(struct livepeer *p)
{
	return p->t.pid > 0 && target_poll(&p->t) == 0;
}

void livepeer_stop(struct livepeer *p)
{
	if (p->have_be)
		chan_close(&p->be);
	if (p->have_main)
		chan_close(&p->main);
	p->have_be = p->have_main = false;
	if (p->ctl >= 0)
		close(p->ctl);
	p->ctl = -1;
	if (p->t.pid > 0)
		target_stop(&p->t);
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
	if (p->dir[0]) {
		unlink(p->sock);
		rmdir(p->dir);
		p->dir[0] = '\0';
	}
}
