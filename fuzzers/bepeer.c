/* SPDX-License-Identifier: MIT */
/* bepeer: see bepeer.h. */
#include "bepeer.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t wanted_pfeatures(unsigned bit)
{
	return 1ull << PROTO_PF_REPLY_ACK | 1ull << PROTO_PF_BACKEND_REQ |
	       1ull << PROTO_PF_BACKEND_SEND_FD | 1ull << PROTO_PF_STATUS |
	       1ull << bit;
}

/* ---- the main channel ---- */

int bepeer_call(struct bepeer *p, uint32_t req, const void *payload,
		size_t len, bool want, struct chan_msg *reply)
{
	struct proto_hdr h = { req, PROTO_VERSION, (uint32_t)len };
	int64_t deadline = chan_deadline(p->timeout_ms);
	int rc;

	chan_msg_init(reply);
	rc = chan_send(&p->main, &h, payload, len, NULL, 0, deadline);
	if (rc != CHAN_OK)
		return BEPEER_GONE;
	if (!want)
		return BEPEER_OK;
	rc = chan_recv(&p->main, reply, deadline);
	if (rc == CHAN_TIMEOUT)
		return BEPEER_NONE;
	if (rc != CHAN_OK || reply->hdr.request != req ||
	    !(reply->hdr.flags & PROTO_F_REPLY))
		return BEPEER_GONE;
	return BEPEER_OK;
}

static int call_u64(struct bepeer *p, uint32_t req, uint64_t v, bool send_v,
		    uint64_t *out)
{
	uint8_t b[8];
	struct chan_msg m;
	int rc;

	proto_u64_encode(v, b, sizeof(b));
	rc = bepeer_call(p, req, b, send_v ? 8 : 0, out != NULL, &m);
	if (rc == BEPEER_OK && out) {
		*out = 0;
		if (m.payload_len >= 8)
			proto_u64_decode(m.payload, 8, out);
	}
	chan_msg_release(&m);
	return rc;
}

/* GET_FEATURES always has a reply: everything sent before it on the
 * main channel was read, before the control channel asks anything. */
static int sync_main(struct bepeer *p)
{
	return call_u64(p, PROTO_GET_FEATURES, 0, false, &(uint64_t){ 0 });
}

int bepeer_negotiate(struct bepeer *p, bool shmem, bool reply_ack)
{
	uint64_t pf = wanted_pfeatures(p->shmem_bit) & p->offered;

	if (!shmem)
		pf &= ~(1ull << p->shmem_bit);
	if (!reply_ack)
		pf &= ~(1ull << PROTO_PF_REPLY_ACK);
	p->negotiated = pf;
	if (call_u64(p, PROTO_SET_PROTOCOL_FEATURES, pf, true, NULL))
		return BEPEER_GONE;
	return sync_main(p);
}

int bepeer_new_backend(struct bepeer *p)
{
	struct proto_hdr h = { PROTO_SET_BACKEND_REQ_FD, PROTO_VERSION, 0 };
	int sv[2], rc;

	if (chan_socketpair(sv) < 0)
		return BEPEER_GONE;
	if (p->have_be)
		chan_close(&p->be);
	chan_init(&p->be, sv[0], "backend", PROTO_CHAN_BACKEND);
	p->have_be = true;
	rc = chan_send(&p->main, &h, NULL, 0, &sv[1], 1,
		       chan_deadline(p->timeout_ms));
	close(sv[1]);
	return rc == CHAN_OK ? sync_main(p) : BEPEER_GONE;
}

static int get_config(struct bepeer *p)
{
	struct chan_msg m;
	int rc = bepeer_call(p, PROTO_GET_SHMEM_CONFIG, NULL, 0, true, &m);

	if (rc == BEPEER_OK &&
	    proto_shmem_config_decode(m.payload, m.payload_len, &p->cfg) != 0)
		rc = BEPEER_GONE;
	chan_msg_release(&m);
	return rc;
}

/* ---- the control channel ---- */

int bepeer_control_send(struct bepeer *p, const char *cmd)
{
	char buf[1100];
	int n = snprintf(buf, sizeof(buf), "%s\n", cmd);

	return write(p->ctl, buf, (size_t)n) == n ? BEPEER_OK : BEPEER_GONE;
}

/* A whole line already read, into out. */
static bool take_line(struct bepeer *p, char *out, size_t cap)
{
	char *nl = memchr(p->line, '\n', p->linelen);
	size_t k;

	if (!nl)
		return false;
	k = (size_t)(nl - p->line);
	snprintf(out, cap, "%.*s", (int)(k && p->line[k - 1] == '\r' ? k - 1 : k),
		 p->line);
	memmove(p->line, nl + 1, p->linelen - k - 1);
	p->linelen -= k + 1;
	return true;
}

static int read_more(struct bepeer *p)
{
	ssize_t n;

	if (p->linelen == sizeof(p->line))
		return BEPEER_GONE;
	n = read(p->ctl, p->line + p->linelen, sizeof(p->line) - p->linelen);
	if (n < 0 && errno == EINTR)
		return BEPEER_OK;
	if (n <= 0)
		return BEPEER_GONE;
	p->linelen += (size_t)n;
	return BEPEER_OK;
}

int bepeer_await(struct bepeer *p, struct chan_msg *m, char *ans, size_t cap,
		 unsigned ms)
{
	int64_t deadline = chan_deadline(ms);

	chan_msg_init(m);
	ans[0] = '\0';
	for (;;) {
		struct pollfd pf[3] = {
			{ .fd = p->have_be ? p->be.fd : -1, .events = POLLIN },
			{ .fd = p->ctl, .events = POLLIN },
			{ .fd = target_pollfd(&p->t), .events = POLLIN },
		};
		int64_t left = deadline - chan_now_ms();
		int n;

		if (take_line(p, ans, cap))
			return 2;
		if (left < 0)
			left = 0;
		n = poll(pf, 3, (int)(left > 200 ? 200 : left));
		if (n < 0 && errno != EINTR)
			return -BEPEER_GONE;
		if (n > 0 && pf[0].revents) {
			int rc = chan_recv(&p->be, m, chan_deadline(p->timeout_ms));

			if (rc == CHAN_OK)
				return 1;
			chan_msg_release(m);
			chan_msg_init(m);
			return -BEPEER_GONE;
		}
		if (n > 0 && pf[1].revents && read_more(p) != BEPEER_OK)
			return -BEPEER_GONE;
		if ((n > 0 && pf[2].revents) || target_poll(&p->t) == 1)
			return -BEPEER_GONE;
		if (chan_now_ms() >= deadline && !memchr(p->line, '\n', p->linelen))
			return -BEPEER_NONE;
	}
}

int bepeer_control_read(struct bepeer *p, char *ans, size_t cap, unsigned ms)
{
	int64_t deadline = chan_deadline(ms);

	ans[0] = '\0';
	while (!take_line(p, ans, cap)) {
		int r = chan_wait_readable(p->ctl, deadline);

		if (r == 0)
			return BEPEER_NONE;
		if (r < 0 || read_more(p) != BEPEER_OK)
			return BEPEER_GONE;
	}
	return BEPEER_OK;
}

int bepeer_be_send(struct bepeer *p, const void *buf, size_t len,
		   const int *fds, unsigned nfds)
{
	if (!p->have_be)
		return BEPEER_GONE;
	return chan_send_raw(&p->be, buf, len, fds, nfds,
			     chan_deadline(p->timeout_ms)) == CHAN_OK
	       ? BEPEER_OK : BEPEER_GONE;
}

/* ---- start and stop ---- */

static int spawn(struct bepeer *p, const struct bepeer_opts *o, int *mainfd,
		 char *err, size_t errcap)
{
	int csv[2], msv[2];
	char cfd[16], mfd[16], bit[16];
	struct target_subst s = { NULL, NULL, NULL, NULL };
	struct target_argv av;
	int keep[2], rc;

	if (!target_cmd_has(o->cmd, "{fd}") || !target_cmd_has(o->cmd, "{control}")) {
		snprintf(err, errcap, "a live back-end needs {fd} and {control} "
			 "in its command");
		return -1;
	}
	if (chan_socketpair(csv) < 0 || chan_socketpair(msv) < 0) {
		snprintf(err, errcap, "socketpair: %s", strerror(errno));
		return -1;
	}
	snprintf(bit, sizeof(bit), "%u", o->shmem_bit);
	snprintf(cfd, sizeof(cfd), "%d", csv[1]);
	snprintf(mfd, sizeof(mfd), "%d", msv[1]);
	s.shmem_bit = bit;
	s.control = cfd;
	s.fd = mfd;
	keep[0] = csv[1];
	keep[1] = msv[1];
	p->ctl = csv[0];
	*mainfd = msv[0];
	if (target_split(o->cmd, &s, &av, err, errcap) != 0)
		return -1;
	rc = target_spawn(&p->t, av.argv, keep, 2, o->log_path, err, errcap);
	close(keep[0]);
	close(keep[1]);
	return rc == 0 ? 0 : -1;
}

static int handshake(struct bepeer *p, char *err, size_t errcap)
{
	uint64_t features = 0;
	char ans[256];

	if (call_u64(p, PROTO_GET_FEATURES, 0, false, &features) ||
	    call_u64(p, PROTO_SET_FEATURES, features & (1ull << 30 | 1ull << 32),
		     true, NULL) ||
	    call_u64(p, PROTO_GET_PROTOCOL_FEATURES, 0, false, &p->offered)) {
		snprintf(err, errcap, "handshake: no answer to the features");
		return -1;
	}
	if ((p->offered & wanted_pfeatures(p->shmem_bit)) !=
	    wanted_pfeatures(p->shmem_bit)) {
		snprintf(err, errcap, "handshake: the target offers %#llx, not "
			 "SHMEM (bit %u), REPLY_ACK, BACKEND_REQ, BACKEND_SEND_FD "
			 "and STATUS", (unsigned long long)p->offered, p->shmem_bit);
		return -1;
	}
	if (bepeer_negotiate(p, true, true) ||
	    call_u64(p, PROTO_SET_OWNER, 0, false, NULL) ||
	    bepeer_new_backend(p) || get_config(p)) {
		snprintf(err, errcap, "handshake: SET_PROTOCOL_FEATURES to "
			 "GET_SHMEM_CONFIG failed");
		return -1;
	}
	p->first_cfg = p->cfg;
	if (bepeer_control_send(p, "version 2") ||
	    bepeer_control_read(p, ans, sizeof(ans), 2 * p->timeout_ms) ||
	    strncmp(ans, "ok version=2", 12) != 0) {
		snprintf(err, errcap, "control: `version 2` answered '%s': live "
			 "mode needs the outcome of each request", ans);
		return -1;
	}
	return 0;
}

int bepeer_start(struct bepeer *p, const struct bepeer_opts *o, char *err,
		 size_t errcap)
{
	int mainfd = -1;

	memset(p, 0, sizeof(*p));
	target_init(&p->t);
	p->ctl = p->main.fd = -1;   /* nothing to close yet */
	p->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
	p->shmem_bit = o->shmem_bit;
	if (spawn(p, o, &mainfd, err, errcap) != 0)
		return -1;
	chan_init(&p->main, mainfd, "main", PROTO_CHAN_MAIN);
	return handshake(p, err, errcap);
}

bool bepeer_alive(struct bepeer *p)
{
	return p->t.pid > 0 && target_poll(&p->t) == 0;
}

void bepeer_stop(struct bepeer *p)
{
	if (p->have_be)
		chan_close(&p->be);
	p->have_be = false;
	if (p->main.fd >= 0)
		chan_close(&p->main);
	if (p->ctl >= 0)
		close(p->ctl);
	p->ctl = -1;
	if (p->t.pid > 0)
		target_stop(&p->t);
}
