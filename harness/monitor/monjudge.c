/* SPDX-License-Identifier: MIT */
/*
 * monjudge: each relayed message judged as the monitor sees it, in the
 * order the proxy relays them: requests, the replies matched to them,
 * channel ends, process ends, reply deadlines. See monjudge.h.
 *
 * The direction of a message decides what it is: on the main channel the
 * front-end sends requests and the back-end replies; on the back-end
 * channel the reverse. Replies are matched first-in first-out against the
 * requests of their channel that expect one.
 */
#include "monjudge.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "monledger.h"
#include "protoname.h"

/* ---- requests ---- */

static void set_protocol_features(struct monitor *m, const struct monitor_msg *msg,
				  const struct monitor_where *w)
{
	uint64_t v, extra;

	if (!monitor_get_u64(msg, &v))
		return;
	if (m->have_pfeat_offered && (extra = v & ~m->pfeat_offered))
		MONITOR_FIND(m, MONITOR_C_PFEAT_NOT_OFFERED, w,
			     "acknowledged protocol features 0x%" PRIx64
			     " of which 0x%" PRIx64 " were not offered (offer 0x%" PRIx64 ")",
			     v, extra, m->pfeat_offered);
	m->have_pfeat_acked = true;
	m->pfeat_acked = v;
}

static void check_protocol_features_offered(struct monitor *m,
					    const struct monitor_where *w)
{
	if (m->have_features_offered &&
	    !(m->features_offered & (1ull << PROTO_F_PROTOCOL_FEATURES)))
		MONITOR_FIND(m, MONITOR_C_PROTOCOL_FEATURES_NOT_OFFERED, w,
			     "%s although GET_FEATURES offered 0x%" PRIx64
			     " without bit 30", w->msg, m->features_offered);
}

static bool is_memtable_update(uint32_t req)
{
	return req == PROTO_SET_MEM_TABLE || req == PROTO_ADD_MEM_REG ||
	       req == PROTO_REM_MEM_REG;
}

/* A back-end MAP/UNMAP waiting for its reply, or NULL. */
static const struct monitor_pending *waiting_mmap(const struct monitor *m)
{
	for (unsigned i = 0; i < m->npending[PROTO_CHAN_BACKEND]; i++) {
		const struct monitor_pending *p = &m->pending[PROTO_CHAN_BACKEND][i];

		if (p->required && (p->request == PROTO_BE_SHMEM_MAP ||
				    p->request == PROTO_BE_SHMEM_UNMAP))
			return p;
	}
	return NULL;
}

/* SET_STATUS: 0 is a reset (digest 10); DRIVER_OK starts the device. */
static void set_status(struct monitor *m, const struct monitor_msg *msg)
{
	uint64_t v;

	if (!monitor_get_u64(msg, &v))
		return;
	m->status = v;
	if (v == 0)
		monledger_reset(m);
	else
		m->started = v & PROTO_STATUS_DRIVER_OK;
}

static void memtable_update(struct monitor *m, const struct monitor_where *w)
{
	const struct monitor_pending *p = waiting_mmap(m);

	if (p)
		MONITOR_FIND(m, MONITOR_C_MEMTABLE_BEFORE_REPLY, w,
			     "%s sent while the back-end's %s #%u still waits for its "
			     "reply: both sides can block for ever",
			     w->msg, p->request == PROTO_BE_SHMEM_MAP ? "SHMEM_MAP"
								    : "SHMEM_UNMAP",
			     p->index);
}

static void main_request(struct monitor *m, const struct monitor_msg *msg,
			 const struct monitor_where *w)
{
	uint64_t v;

	switch (msg->hdr.request) {
	case PROTO_SET_FEATURES:
		if (monitor_get_u64(msg, &v)) {
			m->have_features_acked = true;
			m->features_acked = v;
		}
		break;
	case PROTO_GET_PROTOCOL_FEATURES:
		check_protocol_features_offered(m, w);
		break;
	case PROTO_SET_PROTOCOL_FEATURES:
		check_protocol_features_offered(m, w);
		set_protocol_features(m, msg, w);
		break;
	case PROTO_GET_SHMEM_CONFIG:
		if (!monitor_shmem(m))
			MONITOR_FIND(m, MONITOR_C_SHMEM_NOT_NEGOTIATED, w,
				     "GET_SHMEM_CONFIG sent without SHMEM (bit %u) negotiated",
				     m->cfg.shmem_bit);
		break;
	case PROTO_SET_BACKEND_REQ_FD:
		if (!monitor_pfeat(m, PROTO_PF_BACKEND_REQ))
			MONITOR_FIND(m, MONITOR_C_BACKEND_REQ_NOT_NEGOTIATED, w,
				     "SET_BACKEND_REQ_FD sent without BACKEND_REQ negotiated");
		m->backend_chan = true;
		break;
	case PROTO_RESET_DEVICE:
	case PROTO_RESET_OWNER:
		monledger_reset(m);
		break;
	case PROTO_SET_STATUS:
		set_status(m, msg);
		break;
	default:
		break;
	}
	if (is_memtable_update(msg->hdr.request))
		memtable_update(m, w);
}

static void backend_request(struct monitor *m, const struct monitor_msg *msg,
			    const struct monitor_where *w, struct monitor_pending *p)
{
	uint32_t req = msg->hdr.request;
	bool mm = req == PROTO_BE_SHMEM_MAP || req == PROTO_BE_SHMEM_UNMAP;

	if (monitor_has_required(m, PROTO_CHAN_BACKEND))
		MONITOR_FIND(m, MONITOR_C_BACKEND_NO_WAIT, w,
			     "%s sent while back-end request #%u still waits for its reply",
			     w->msg, m->pending[PROTO_CHAN_BACKEND][0].index);
	if (!mm)
		return;
	if (!monitor_shmem(m))
		MONITOR_FIND(m, MONITOR_C_SHMEM_NOT_NEGOTIATED, w,
			     "%s sent without SHMEM (bit %u) negotiated", w->msg,
			     m->cfg.shmem_bit);
	else if (req == PROTO_BE_SHMEM_MAP &&
		 !monitor_pfeat(m, PROTO_PF_BACKEND_SEND_FD))
		MONITOR_FIND(m, MONITOR_C_NO_BACKEND_SEND_FD, w,
			     "SHMEM_MAP carries an fd but BACKEND_SEND_FD is not negotiated");
	monledger_request(m, msg, w, p);
}

/* Whether a request expects a reply: 2 must, 1 may, 0 no. */
static int reply_expected(const struct monitor *m, const struct monitor_msg *msg)
{
	bool need = msg->hdr.flags & PROTO_F_NEED_REPLY;

	if (proto_has_reply_body(msg->chan, msg->hdr.request))
		return 2;
	if (need)
		return monitor_reply_ack(m) ? 2 : 1;
	/* Digest 7: the rst says UNMAP is answered; implementations answer
	 * only NEED_REPLY. Either is accepted. */
	if (msg->chan == PROTO_CHAN_BACKEND &&
	    msg->hdr.request == PROTO_BE_SHMEM_UNMAP)
		return 1;
	return 0;
}

static void on_request(struct monitor *m, const struct monitor_msg *msg,
		       const struct monitor_where *w)
{
	struct monitor_pending p;
	int want;

	memset(&p, 0, sizeof(p));
	p.request = msg->hdr.request;
	p.need_reply = msg->hdr.flags & PROTO_F_NEED_REPLY;
	p.index = w->index;
	p.t_ms = msg->t_ms;
	/* Judged against the state before this message (SET_PROTOCOL_FEATURES
	 * acknowledging REPLY_ACK is not itself under REPLY_ACK). */
	want = reply_expected(m, msg);
	if (p.need_reply && !monitor_reply_ack(m) &&
	    !proto_has_reply_body(msg->chan, msg->hdr.request))
		MONITOR_FIND(m, MONITOR_C_NEED_REPLY_NO_ACK, w,
			     "%s has NEED_REPLY but REPLY_ACK is not negotiated", w->msg);
	if (msg->chan == PROTO_CHAN_MAIN)
		main_request(m, msg, w);
	else
		backend_request(m, msg, w, &p);
	if (!want)
		return;
	p.required = want == 2;
	if (m->npending[msg->chan] == MONITOR_MAX_PENDING) {
		/* The oldest is long overdue; make room. */
		memmove(&m->pending[msg->chan][0], &m->pending[msg->chan][1],
			sizeof(p) * (MONITOR_MAX_PENDING - 1));
		m->npending[msg->chan]--;
	}
	m->pending[msg->chan][m->npending[msg->chan]++] = p;
}

/* ---- replies ---- */

static void pop_head(struct monitor *m, enum proto_chan chan)
{
	memmove(&m->pending[chan][0], &m->pending[chan][1],
		sizeof(m->pending[chan][0]) * (m->npending[chan] - 1));
	m->npending[chan]--;
}

/* The request this reply answers (removed from the queue), or false for
 * an unsolicited reply. Optional entries the reply skips are dropped. */
static bool take_pending(struct monitor *m, const struct monitor_msg *msg,
			 const struct monitor_where *w, struct monitor_pending *out)
{
	enum proto_chan chan = msg->chan;
	char b1[24], b2[24];

	while (m->npending[chan] > 0) {
		struct monitor_pending *head = &m->pending[chan][0];

		if (head->request == msg->hdr.request) {
			*out = *head;
			pop_head(m, chan);
			return true;
		}
		if (!head->required) {
			pop_head(m, chan);
			continue;
		}
		MONITOR_FIND(m, MONITOR_C_REPLY_MISMATCH, w,
			     "reply carries request id %s while %s #%u waits for its reply",
			     monitor_req_name(chan, msg->hdr.request, b1, sizeof(b1)),
			     monitor_req_name(chan, head->request, b2, sizeof(b2)), head->index);
		*out = *head;
		pop_head(m, chan);
		return true;
	}
	MONITOR_FIND(m, MONITOR_C_UNSOLICITED_REPLY, w,
		     "a reply (%s) with no request waiting for one",
		     monitor_req_name(chan, msg->hdr.request, b1, sizeof(b1)));
	return false;
}

static void map_accepted(struct monitor *m, const struct monitor_pending *p,
			 const struct monitor_where *w)
{
	if (p->must_fail && p->pre_reset)
		MONITOR_FIND(m, MONITOR_C_RESET_KEPT_MAPPING, w,
			     "accepted SHMEM_MAP #%u over a range mapped before reset %u: "
			     "%s", p->index, m->resets, p->why);
	else if (p->must_fail)
		MONITOR_FIND(m, MONITOR_C_MAP_ACCEPTED_INVALID, w,
			     "accepted SHMEM_MAP #%u that MUST fail: %s", p->index, p->why);
	else if (p->soft_fail)
		MONITOR_FIND(m, MONITOR_C_MAP_ACCEPTED_LEN_ZERO, w,
			     "accepted SHMEM_MAP #%u with len 0", p->index);
}

static void map_refused(struct monitor *m, const struct monitor_pending *p,
			const struct monitor_where *w, uint64_t v)
{
	monledger_undo(m, p);
	if (p->must_fail || p->soft_fail)
		return;
	if (p->pre_reset && !p->stopped)
		MONITOR_FIND(m, MONITOR_C_RESET_KEPT_MAPPING, w,
			     "refused (0x%" PRIx64 ") SHMEM_MAP #%u of shmid %u [0x%" PRIx64
			     ", +0x%" PRIx64 ") which only overlaps mappings that reset %u "
			     "removed", v, p->index, p->mm.shmid, p->mm.shm_offset,
			     p->mm.len, m->resets);
	else
		MONITOR_FIND(m, MONITOR_C_MAP_REFUSED_VALID, w,
			     "refused (0x%" PRIx64 ") a valid SHMEM_MAP #%u of shmid %u "
			     "[0x%" PRIx64 ", +0x%" PRIx64 ")%s", v, p->index, p->mm.shmid,
			     p->mm.shm_offset, p->mm.len,
			     p->stopped ? " while the device is not started (digest 10 "
					  "allows that)" : "");
}

static void unmap_answered(struct monitor *m, const struct monitor_pending *p,
			   const struct monitor_where *w, uint64_t v)
{
	if (v == 0 && p->must_fail && p->pre_reset)
		MONITOR_FIND(m, MONITOR_C_RESET_KEPT_MAPPING, w,
			     "accepted SHMEM_UNMAP #%u of a mapping that reset %u removed",
			     p->index, m->resets);
	else if (v == 0 && p->must_fail)
		MONITOR_FIND(m, MONITOR_C_UNMAP_ACCEPTED_INVALID, w,
			     "accepted SHMEM_UNMAP #%u that MUST fail: %s", p->index, p->why);
	else if (v != 0 && !p->must_fail) {
		monledger_undo(m, p);
		monitor_find(m, MONITOR_C_UNMAP_REFUSED_VALID,
			     p->stopped ? PROTO_SEV_INFO
					: monitor_code_severity(MONITOR_C_UNMAP_REFUSED_VALID),
			     w,
			     "refused (0x%" PRIx64 ") SHMEM_UNMAP #%u of exactly one live "
			     "mapping%s", v, p->index,
			     p->stopped ? " while the device is not started (digest 10 "
					  "allows that)" : "");
	}
}

static void mmap_reply(struct monitor *m, const struct monitor_pending *p,
		       const struct monitor_msg *msg, const struct monitor_where *w)
{
	uint64_t v;

	if (!p->is_mmap || !monitor_get_u64(msg, &v) ||
	    msg->hdr.request != p->request)
		return;
	if (p->request == PROTO_BE_SHMEM_UNMAP)
		unmap_answered(m, p, w, v);
	else if (v == 0)
		map_accepted(m, p, w);
	else
		map_refused(m, p, w, v);
}

static void config_reply(struct monitor *m, const struct monitor_msg *msg,
			 const struct monitor_where *w)
{
	struct proto_shmem_config c;

	if (msg->payload_len < PROTO_SHMEM_CONFIG_SIZE ||
	    proto_shmem_config_decode(msg->payload, PROTO_SHMEM_CONFIG_SIZE,
				      &c) != PROTO_OK)
		return;
	if (m->have_config) {
		for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
			if (c.memory_sizes[i] != m->config.memory_sizes[i]) {
				MONITOR_FIND(m, MONITOR_C_CONFIG_CHANGED, w,
					     "memory_sizes[%u] is now 0x%" PRIx64
					     ", was 0x%" PRIx64, i, c.memory_sizes[i],
					     m->config.memory_sizes[i]);
				return;
			}
		if (c.nregions != m->config.nregions)
			MONITOR_FIND(m, MONITOR_C_CONFIG_CHANGED, w,
				     "nregions is now %" PRIu32 ", was %" PRIu32,
				     c.nregions, m->config.nregions);
		return;
	}
	m->have_config = true;
	m->config = c;
	/* The first answer fixes the bounds; mappings already live stay. */
	m->ledger.have_config = true;
	memcpy(m->ledger.sizes, c.memory_sizes, sizeof(m->ledger.sizes));
}

static void main_reply(struct monitor *m, const struct monitor_pending *p,
		       const struct monitor_msg *msg, const struct monitor_where *w)
{
	uint64_t v;

	if (msg->hdr.request != p->request)
		return;
	switch (p->request) {
	case PROTO_GET_FEATURES:
		if (monitor_get_u64(msg, &v)) {
			m->have_features_offered = true;
			m->features_offered = v;
		}
		break;
	case PROTO_GET_PROTOCOL_FEATURES:
		if (monitor_get_u64(msg, &v)) {
			m->have_pfeat_offered = true;
			m->pfeat_offered = v;
		}
		break;
	case PROTO_GET_SHMEM_CONFIG:
		config_reply(m, msg, w);
		break;
	default:
		break;
	}
}

static void on_reply(struct monitor *m, const struct monitor_msg *msg,
		     const struct monitor_where *w)
{
	struct monitor_pending p;

	if (!take_pending(m, msg, w, &p))
		return;
	if (msg->chan == PROTO_CHAN_MAIN)
		main_reply(m, &p, msg, w);
	else
		mmap_reply(m, &p, msg, w);
}

void monjudge_on_msg(struct monitor *m, const struct monitor_msg *msg)
{
	bool is_reply = (msg->chan == PROTO_CHAN_MAIN) == (msg->from == MONITOR_BACKEND);
	char name[64], buf[24];
	struct monitor_where w = {
		.chan = msg->chan, .side = msg->from, .msg = name,
		.index = ++m->nmsgs, .t_ms = msg->t_ms,
	};

	m->count[msg->chan & 1][msg->from & 1]++;
	snprintf(name, sizeof(name), "%s%s",
		 monitor_req_name(msg->chan, msg->hdr.request, buf, sizeof(buf)),
		 is_reply ? " reply" : "");
	monitor_validate(m, msg, &w, is_reply);
	if (is_reply)
		on_reply(m, msg, &w);
	else
		on_request(m, msg, &w);
}

/* ---- ends, deadlines ---- */

void monjudge_on_channel_status(struct monitor *m, enum proto_chan chan,
				enum monitor_side side, int status,
				int64_t now_ms)
{
	struct monitor_where w = { .chan = chan, .side = side, .t_ms = now_ms };

	switch (status) {
	case CHAN_EOF:
		return;
	case CHAN_TRUNC_HEADER:
	case CHAN_TRUNC_PAYLOAD:
		MONITOR_FIND(m, MONITOR_C_TRUNCATED, &w, "the channel ended inside a message (%s)",
			     chan_status_name((enum chan_status)status));
		return;
	case CHAN_TOOBIG:
		MONITOR_FIND(m, MONITOR_C_TOOBIG, &w, "a header's size is above %u bytes",
			     PROTO_MAX_PAYLOAD);
		return;
	case CHAN_TOO_MANY_FDS:
		MONITOR_FIND(m, MONITOR_C_TOO_MANY_FDS, &w, "a message came with more than 8 fds; "
			     "they were closed and the message relayed without them");
		return;
	case CHAN_TIMEOUT:
		MONITOR_FIND(m, MONITOR_C_TRUNCATED, &w, "a message stopped half-way and was not "
			     "completed in time");
		return;
	default:
		MONITOR_FIND(m, MONITOR_C_CHANNEL_ERROR, &w, "%s",
			     status < 0 ? "receive error"
					: chan_status_name((enum chan_status)status));
	}
}

void monjudge_on_process_end(struct monitor *m, enum monitor_side side, int sig,
			     int code, int64_t now_ms)
{
	struct monitor_where w = { .chan = PROTO_CHAN_MAIN, .side = side, .t_ms = now_ms };

	if (sig == 0 && code != 0)
		MONITOR_FIND(m, MONITOR_C_PROCESS_EXIT, &w, "the %s exited with code %d",
			     monitor_side_name(side), code);
	if (sig == 0)
		return;
	if (sig == 15 || sig == 9 || sig == 1 || sig == 2)
		MONITOR_FIND(m, MONITOR_C_PROCESS_KILLED, &w, "the %s was killed by signal %d",
			     monitor_side_name(side), sig);
	else
		MONITOR_FIND(m, MONITOR_C_PROCESS_CRASH, &w, "the %s died by signal %d",
			     monitor_side_name(side), sig);
}

/* The side that owes the replies of a channel. */
static enum monitor_side replier(enum proto_chan chan)
{
	return chan == PROTO_CHAN_MAIN ? MONITOR_BACKEND : MONITOR_FRONTEND;
}

void monjudge_tick(struct monitor *m, int64_t now_ms)
{
	char b[24];

	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < m->npending[c]; i++) {
			struct monitor_pending *p = &m->pending[c][i];
			struct monitor_where w = { .chan = c, .side = replier(c),
					   .msg = monitor_req_name(c, p->request, b, sizeof(b)),
					   .index = p->index, .t_ms = now_ms };

			if (!p->required || p->late ||
			    now_ms - p->t_ms < m->cfg.reply_timeout_ms)
				continue;
			p->late = true;
			MONITOR_FIND(m, MONITOR_C_NO_REPLY, &w, "no reply to %s #%u within %d ms",
				     w.msg, p->index, m->cfg.reply_timeout_ms);
		}
}

int64_t monjudge_next_deadline(const struct monitor *m)
{
	int64_t next = INT64_MAX;

	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < m->npending[c]; i++) {
			const struct monitor_pending *p = &m->pending[c][i];
			int64_t t = p->t_ms + m->cfg.reply_timeout_ms;

			if (p->required && !p->late && t < next)
				next = t;
		}
	return next;
}

void monjudge_finish(struct monitor *m, int64_t now_ms)
{
	char b[24];

	monjudge_tick(m, now_ms);
	for (unsigned c = 0; c < 2; c++) {
		for (unsigned i = 0; i < m->npending[c]; i++) {
			const struct monitor_pending *p = &m->pending[c][i];
			struct monitor_where w = { .chan = c, .side = replier(c),
					   .msg = monitor_req_name(c, p->request, b, sizeof(b)),
					   .index = p->index, .t_ms = now_ms };

			if (p->required && !p->late)
				MONITOR_FIND(m, MONITOR_C_UNANSWERED_AT_END, &w,
					     "%s #%u had no reply yet when the session ended",
					     w.msg, p->index);
		}
		m->npending[c] = 0;
	}
}
