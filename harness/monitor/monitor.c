/* SPDX-License-Identifier: MIT */
/*
 * monitor: the stateful checks of vhucheck-monitor (see monitor.h).
 *
 * The direction of a message decides what it is: on the main channel the
 * front-end sends requests and the back-end replies; on the back-end
 * channel the reverse. Replies are matched first-in first-out against the
 * requests of their channel that expect one.
 */
#include "monitor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "result.h"
#include "protoname.h"

/* ---- finding definitions ---- */

enum mcode {
	C_NO_REPLY,
	C_REPLY_MISMATCH,
	C_UNSOLICITED_REPLY,
	C_NEED_REPLY_NO_ACK,
	C_MEMTABLE_BEFORE_REPLY,
	C_BACKEND_NO_WAIT,
	C_SHMEM_NOT_NEGOTIATED,
	C_NO_BACKEND_SEND_FD,
	C_BACKEND_REQ_NOT_NEGOTIATED,
	C_PFEAT_NOT_OFFERED,
	C_PROTOCOL_FEATURES_NOT_OFFERED,
	C_LEDGER,
	C_LEDGER_AFTER_RESET,
	C_MAP_ACCEPTED_INVALID,
	C_MAP_ACCEPTED_LEN_ZERO,
	C_UNMAP_ACCEPTED_INVALID,
	C_MAP_REFUSED_VALID,
	C_UNMAP_REFUSED_VALID,
	C_RESET_KEPT_MAPPING,
	C_BOUNDS_UNKNOWN,
	C_CONFIG_CHANGED,
	C_TRUNCATED,
	C_TOOBIG,
	C_TOO_MANY_FDS,
	C_CHANNEL_ERROR,
	C_UNANSWERED_AT_END,
	C_PROCESS_CRASH,
	C_PROCESS_KILLED,
	C_PROCESS_EXIT,
	C_COUNT,
};

struct mdef {
	const char *code;
	enum monitor_check check;
	enum proto_severity sev;
	const char *rule;
};

static const struct mdef mdefs[C_COUNT] = {
	[C_NO_REPLY] = { "NO_REPLY", MONITOR_CHECK_REPLIES, PROTO_SEV_ERROR,
		"9: NEED_REPLY (with REPLY_ACK) MUST be answered; GET_* always are" },
	[C_REPLY_MISMATCH] = { "REPLY_MISMATCH", MONITOR_CHECK_REPLIES, PROTO_SEV_ERROR,
		"1: a reply carries the id of the request it answers" },
	[C_UNSOLICITED_REPLY] = { "UNSOLICITED_REPLY", MONITOR_CHECK_REPLIES,
		PROTO_SEV_ERROR,
		"6, 9: a reply only where NEED_REPLY asks for one or the request has a reply body" },
	[C_NEED_REPLY_NO_ACK] = { "NEED_REPLY_NO_ACK", MONITOR_CHECK_REPLIES,
		PROTO_SEV_WARN, "9: NEED_REPLY is defined only with REPLY_ACK negotiated" },
	[C_MEMTABLE_BEFORE_REPLY] = { "MEMTABLE_BEFORE_REPLY", MONITOR_CHECK_ORDERING,
		PROTO_SEV_ERROR,
		"9: the MAP/UNMAP reply comes before any main-channel memory-table update (deadlock)" },
	[C_BACKEND_NO_WAIT] = { "BACKEND_NO_WAIT", MONITOR_CHECK_ORDERING, PROTO_SEV_WARN,
		"9, 12H: a back-end waits for its reply before its next back-end request" },
	[C_SHMEM_NOT_NEGOTIATED] = { "SHMEM_NOT_NEGOTIATED", MONITOR_CHECK_GATING,
		PROTO_SEV_ERROR,
		"6, 7, 8: SHMEM_MAP, SHMEM_UNMAP, GET_SHMEM_CONFIG only when SHMEM is negotiated" },
	[C_NO_BACKEND_SEND_FD] = { "NO_BACKEND_SEND_FD", MONITOR_CHECK_GATING,
		PROTO_SEV_WARN, "5: fds from the back-end need BACKEND_SEND_FD (implied, not stated)" },
	[C_BACKEND_REQ_NOT_NEGOTIATED] = { "BACKEND_REQ_NOT_NEGOTIATED",
		MONITOR_CHECK_GATING, PROTO_SEV_ERROR,
		"5: the back-end channel exists only if BACKEND_REQ was negotiated" },
	[C_PFEAT_NOT_OFFERED] = { "PFEAT_NOT_OFFERED", MONITOR_CHECK_GATING,
		PROTO_SEV_ERROR, "2: a front-end acknowledges only protocol features that were offered" },
	[C_PROTOCOL_FEATURES_NOT_OFFERED] = { "PROTOCOL_FEATURES_NOT_OFFERED",
		MONITOR_CHECK_GATING, PROTO_SEV_ERROR,
		"2: GET/SET_PROTOCOL_FEATURES need VHOST_USER_F_PROTOCOL_FEATURES (bit 30)" },
	[C_LEDGER] = { "BACKEND_LEDGER", MONITOR_CHECK_LEDGER, PROTO_SEV_ERROR,
		"6, 7, 12H: a back-end maps inside its regions, never over its own live mappings, and unmaps exact live ranges" },
	[C_LEDGER_AFTER_RESET] = { "BACKEND_LEDGER_RESET", MONITOR_CHECK_LEDGER,
		PROTO_SEV_WARN, "10: a reset removes every mapping; the back-end still used one" },
	[C_MAP_ACCEPTED_INVALID] = { "MAP_ACCEPTED_INVALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_ERROR,
		"6: MUST fail: a mapping over a live one, or outside the region, or without SHMEM" },
	[C_MAP_ACCEPTED_LEN_ZERO] = { "MAP_ACCEPTED_LEN_ZERO", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_WARN, "6: len 0 is silent in the rst (NON-STRICT)" },
	[C_UNMAP_ACCEPTED_INVALID] = { "UNMAP_ACCEPTED_INVALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_ERROR, "7: the range must be exactly one whole existing mapping" },
	[C_MAP_REFUSED_VALID] = { "MAP_REFUSED_VALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_INFO, "6: MAY fail: out of resources" },
	[C_UNMAP_REFUSED_VALID] = { "UNMAP_REFUSED_VALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_WARN, "7: UNMAP of exactly one live mapping succeeds" },
	[C_RESET_KEPT_MAPPING] = { "RESET_KEPT_MAPPING", MONITOR_CHECK_LIFECYCLE,
		PROTO_SEV_ERROR, "10: reset MUST remove every mapping" },
	[C_BOUNDS_UNKNOWN] = { "BOUNDS_UNKNOWN", MONITOR_CHECK_LEDGER, PROTO_SEV_INFO,
		"8: region sizes come from GET_SHMEM_CONFIG" },
	[C_CONFIG_CHANGED] = { "CONFIG_CHANGED", MONITOR_CHECK_CONFIG, PROTO_SEV_ERROR,
		"8: the GET_SHMEM_CONFIG answer never changes during a connection" },
	[C_TRUNCATED] = { "TRUNCATED", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: a message is sent whole" },
	[C_TOOBIG] = { "SIZE_TOO_BIG", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: size above any defined payload; the stream is lost" },
	[C_TOO_MANY_FDS] = { "TOO_MANY_FDS", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: at most 8 fds per message" },
	[C_CHANNEL_ERROR] = { "CHANNEL_ERROR", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
		"1: the connection broke instead of closing" },
	[C_UNANSWERED_AT_END] = { "UNANSWERED_AT_END", MONITOR_CHECK_REPLIES,
		PROTO_SEV_INFO, "9: a request was still waiting for its reply when the session ended" },
	[C_PROCESS_CRASH] = { "PROCESS_CRASH", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"11: a program ends by exiting, never by a crash" },
	[C_PROCESS_KILLED] = { "PROCESS_KILLED", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
		"11: a program ends by exiting" },
	[C_PROCESS_EXIT] = { "PROCESS_EXIT", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
		"11: exit != 0 only when initialisation fails" },
};

/* Digest sections for the validator's codes. */
static const char *validator_rule(enum proto_finding_code c)
{
	switch (c) {
	case PROTO_FIND_VERSION: return "1: version bits MUST be 1";
	case PROTO_FIND_REPLY_ON_REQUEST: return "1: REPLY is set on replies only";
	case PROTO_FIND_NO_REPLY_FLAG: return "1: REPLY is set on every reply";
	case PROTO_FIND_NEED_REPLY_ON_REPLY: return "1: NEED_REPLY belongs to requests";
	case PROTO_FIND_UNKNOWN_FLAGS: return "1: no other flag bits are defined";
	case PROTO_FIND_UNKNOWN_REQUEST: return "3: request ids";
	case PROTO_FIND_SIZE_MISMATCH: return "4: payload sizes";
	case PROTO_FIND_SIZE_TOO_BIG: return "1: framing";
	case PROTO_FIND_TRUNCATED: return "1: a message is sent whole";
	case PROTO_FIND_MMAP_PADDING: return "6: padding (silent in the rst)";
	case PROTO_FIND_MMAP_FLAGS: return "6: MMap flags: bit 0 only";
	case PROTO_FIND_MMAP_LEN_ZERO: return "6: len 0 (silent in the rst)";
	case PROTO_FIND_MMAP_WRAP: return "6: shm_offset + len MUST not wrap";
	case PROTO_FIND_UNMAP_FIELDS: return "7: senders zero fd_offset and flags";
	case PROTO_FIND_FD_COUNT: return "1, 6, 7: fds per message";
	case PROTO_FIND_SHMEM_NREGIONS: return "8: nregions at most 256";
	case PROTO_FIND_SHMEM_NREGIONS_MISMATCH: return "8: nregions vs non-zero sizes (ambiguous)";
	case PROTO_FIND_SHMEM_PAGE: return "8: sizes are page multiples";
	case PROTO_FIND_SHMEM_PADDING: return "8: ShMemConfig padding";
	case PROTO_FIND_MEM_NREGIONS: return "4: a memory table has 1 to 8 regions";
	case PROTO_FIND_REPLY_VALUE: return "9: a REPLY_ACK reply is a u64";
	case PROTO_FIND_PADDING: return "4: padding";
	default: return "1";
	}
}

static enum monitor_check validator_check(enum proto_finding_code c)
{
	return c == PROTO_FIND_REPLY_VALUE ? MONITOR_CHECK_REPLIES
					   : MONITOR_CHECK_FRAMING;
}

/* ---- names and lines ---- */

const char *monitor_check_name(enum monitor_check c)
{
	static const char *const names[MONITOR_CHECK_MAX] = {
		"framing", "replies", "ordering", "gating", "ledger",
		"verdicts", "config", "lifecycle", "session",
	};

	return (unsigned)c < MONITOR_CHECK_MAX ? names[c] : "unknown";
}

const char *monitor_side_name(enum monitor_side s)
{
	return s == MONITOR_FRONTEND ? "frontend" : "backend";
}

const char *monitor_severity_name(enum proto_severity s)
{
	switch (s) {
	case PROTO_SEV_ERROR: return "error";
	case PROTO_SEV_WARN: return "warn";
	default: return "info";
	}
}

static const char *chan_word(enum proto_chan c)
{
	return c == PROTO_CHAN_BACKEND ? "backend" : "main";
}

int monitor_finding_line(const struct monitor_finding *f, char *out, size_t cap)
{
	char idx[16] = "";

	if (f->index)
		snprintf(idx, sizeof(idx), " #%u", f->index);
	return snprintf(out, cap, "[%s] %s %s%s %s%s%s: %s (digest %s)",
			monitor_severity_name(f->severity), monitor_side_name(f->side),
			f->code, idx, chan_word(f->chan), f->msg[0] ? " " : "",
			f->msg, f->text, f->rule);
}

static size_t esc(const char *s, char *buf, size_t cap)
{
	return result_json_escape(s, strlen(s), buf, cap);
}

int monitor_finding_json(const struct monitor_finding *f, char *out, size_t cap)
{
	char text[600], rule[300], msg[120];

	esc(f->text, text, sizeof(text));
	esc(f->rule, rule, sizeof(rule));
	esc(f->msg, msg, sizeof(msg));
	return snprintf(out, cap,
			"{\"code\":\"%s\",\"severity\":\"%s\",\"side\":\"%s\","
			"\"check\":\"%s\",\"chan\":\"%s\",\"msg\":\"%s\","
			"\"index\":%u,\"t_ms\":%" PRId64 ",\"rule\":\"%s\","
			"\"text\":\"%s\"}",
			f->code, monitor_severity_name(f->severity),
			monitor_side_name(f->side), monitor_check_name(f->check),
			chan_word(f->chan), msg, f->index, f->t_ms, rule, text);
}

/* ---- recording findings ---- */

/* Where a finding was made. */
struct where {
	enum proto_chan chan;
	enum monitor_side side;   /* at fault */
	const char *msg;
	unsigned index;
	int64_t t_ms;
};

static void keep(struct monitor *m, const struct monitor_finding *f)
{
	unsigned sev = f->severity <= PROTO_SEV_INFO ? f->severity : PROTO_SEV_INFO;

	m->by_severity[sev]++;
	m->by_check[f->check][sev]++;
	if (m->cfg.emit)
		m->cfg.emit(m->cfg.opaque, f);
	if (m->nfindings < MONITOR_MAX_FINDINGS)
		m->findings[m->nfindings++] = *f;
	else
		m->findings_dropped++;
}

static void fill_where(struct monitor *m, struct monitor_finding *f,
		       const struct where *w)
{
	f->side = w->side;
	f->chan = w->chan;
	snprintf(f->msg, sizeof(f->msg), "%s", w->msg ? w->msg : "");
	f->index = w->index;
	f->t_ms = w->t_ms > m->t0_ms ? w->t_ms - m->t0_ms : 0;
}

__attribute__((format(printf, 5, 6)))
static void finding(struct monitor *m, enum mcode c, enum proto_severity sev,
		    const struct where *w, const char *fmt, ...)
{
	struct monitor_finding f;
	va_list ap;

	memset(&f, 0, sizeof(f));
	snprintf(f.code, sizeof(f.code), "%s", mdefs[c].code);
	f.severity = sev;
	f.check = mdefs[c].check;
	snprintf(f.rule, sizeof(f.rule), "%s", mdefs[c].rule);
	fill_where(m, &f, w);
	va_start(ap, fmt);
	vsnprintf(f.text, sizeof(f.text), fmt, ap);
	va_end(ap);
	keep(m, &f);
}

#define FIND(m, c, w, ...) finding((m), (c), mdefs[c].sev, (w), __VA_ARGS__)

/* ---- set-up and negotiated state ---- */

void monitor_init(struct monitor *m, const struct monitor_cfg *cfg,
		  int64_t t0_ms)
{
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	if (m->cfg.shmem_bit == 0 || m->cfg.shmem_bit > 63)
		m->cfg.shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	if (m->cfg.reply_timeout_ms <= 0)
		m->cfg.reply_timeout_ms = 2000;
	m->t0_ms = t0_ms;
	ledger_init(&m->ledger, NULL);
}

/* Negotiated: acknowledged by the front-end (and offered, when we saw
 * the offer; an ack of an unoffered bit is its own finding). */
bool monitor_pfeat(const struct monitor *m, unsigned bit)
{
	uint64_t b = 1ull << bit;

	if (!m->have_pfeat_acked || !(m->pfeat_acked & b))
		return false;
	return !m->have_pfeat_offered || (m->pfeat_offered & b);
}

bool monitor_shmem(const struct monitor *m)
{
	return monitor_pfeat(m, m->cfg.shmem_bit);
}

static bool reply_ack(const struct monitor *m)
{
	return monitor_pfeat(m, PROTO_PF_REPLY_ACK);
}

static bool has_required(const struct monitor *m, enum proto_chan chan)
{
	for (unsigned i = 0; i < m->npending[chan]; i++)
		if (m->pending[chan][i].required)
			return true;
	return false;
}

bool monitor_backend_busy(const struct monitor *m)
{
	return has_required(m, PROTO_CHAN_BACKEND);
}

static bool get_u64(const struct monitor_msg *msg, uint64_t *v)
{
	return msg->hdr.size == 8 &&
	       proto_u64_decode(msg->payload, msg->payload_len, v) == PROTO_OK;
}

static const char *req_name(enum proto_chan chan, uint32_t req, char *buf,
			    size_t cap)
{
	const char *n = proto_req_name(chan, req);

	if (n)
		return n;
	snprintf(buf, cap, "request_%" PRIu32, req);
	return buf;
}

/* ---- validation ---- */

static void validate(struct monitor *m, const struct monitor_msg *msg,
		     const struct where *w, bool is_reply)
{
	struct proto_vctx ctx = {
		.chan = msg->chan, .is_reply = is_reply, .nfds = msg->nfds,
		.payload_len = msg->payload_len, .page_size = m->cfg.page_size,
	};
	struct proto_findings out = { 0 };

	proto_validate(&ctx, &msg->hdr, msg->payload, &out);
	for (unsigned i = 0; i < out.count; i++) {
		struct monitor_finding f;

		memset(&f, 0, sizeof(f));
		snprintf(f.code, sizeof(f.code), "%s",
			 proto_finding_name(out.items[i].code));
		f.severity = out.items[i].severity;
		f.check = validator_check(out.items[i].code);
		snprintf(f.rule, sizeof(f.rule), "%s",
			 validator_rule(out.items[i].code));
		fill_where(m, &f, w);
		snprintf(f.text, sizeof(f.text), "%s", out.items[i].text);
		keep(m, &f);
	}
}

/* ---- the ledger of live mappings ---- */

static bool range_overlaps(const struct ledger_map *a, const struct proto_mmap *b)
{
	return a->shmid == b->shmid && a->offset < b->shm_offset + b->len &&
	       b->shm_offset < a->offset + a->len;
}

static bool range_exact(const struct ledger_map *a, const struct proto_mmap *b)
{
	return a->shmid == b->shmid && a->offset == b->shm_offset &&
	       a->len == b->len;
}

/* Whether mm touches a mapping that the last reset should have removed
 * (overlap for MAP, exact range for UNMAP). */
static bool was_live_before_reset(const struct monitor *m,
				  const struct proto_mmap *mm, bool map)
{
	for (unsigned i = 0; i < m->npre_reset; i++)
		if (map ? range_overlaps(&m->pre_reset[i], mm)
			: range_exact(&m->pre_reset[i], mm))
			return true;
	return false;
}

/* SHMEM negotiated: the ledger needs region sizes; until the front-end
 * asked for them, every region is taken as unbounded (overlaps and exact
 * unmaps are still checked). */
static void ledger_ensure_config(struct monitor *m, const struct where *w)
{
	if (m->ledger.have_config)
		return;
	m->ledger.have_config = true;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		m->ledger.sizes[i] = UINT64_MAX;
	if (!m->bounds_noted) {
		m->bounds_noted = true;
		FIND(m, C_BOUNDS_UNKNOWN, w,
		     "no GET_SHMEM_CONFIG answer seen before this request: region "
		     "bounds are not checked until one is");
	}
}

/* Runs one MAP/UNMAP through the ledger. The ledger keeps only its first
 * violation's text; zeroing the count makes it write this one's, then
 * the count and the first text are put back. */
static bool ledger_feed(struct ledger *l, const struct proto_mmap *mm, bool map,
			char *why, size_t cap)
{
	unsigned before = l->violations;
	char first[sizeof(l->first)];
	bool bad;

	memcpy(first, l->first, sizeof(first));
	l->violations = 0;
	if (map)
		ledger_on_map(l, mm);
	else
		ledger_on_unmap(l, mm);
	bad = l->violations > 0;
	if (bad)
		snprintf(why, cap, "%s", l->first);
	l->violations += before;
	if (before)
		memcpy(l->first, first, sizeof(first));
	return bad;
}

static void mmap_request(struct monitor *m, const struct monitor_msg *msg,
			 const struct where *w, struct monitor_pending *p)
{
	bool map = msg->hdr.request == PROTO_BE_SHMEM_MAP;

	if (msg->payload_len < PROTO_MMAP_SIZE ||
	    proto_mmap_decode(msg->payload, PROTO_MMAP_SIZE, &p->mm) != PROTO_OK)
		return; /* the validator said why */
	p->is_mmap = true;
	p->pre_reset = was_live_before_reset(m, &p->mm, map);
	/* Digest 10: before DRIVER_OK (and after a reset) refusing is fine.
	 * Without STATUS the device's state is not on the wire. */
	p->stopped = !m->started && monitor_pfeat(m, PROTO_PF_STATUS);
	if (!monitor_shmem(m)) {
		p->must_fail = true;
		snprintf(p->why, sizeof(p->why), "SHMEM (bit %u) is not negotiated",
			 m->cfg.shmem_bit);
		return;
	}
	ledger_ensure_config(m, w);
	if (map && m->ledger.nlive == LEDGER_MAX_LIVE)
		return; /* beyond what we track: no judgement */
	if (!ledger_feed(&m->ledger, &p->mm, map, p->why, sizeof(p->why))) {
		p->changed_ledger = m->ledger.last_changed;
		return;
	}
	if (map && p->mm.len == 0) {
		p->soft_fail = true; /* the validator's MMAP_LEN_ZERO said it */
		return;
	}
	p->must_fail = true;
	if (p->pre_reset)
		FIND(m, C_LEDGER_AFTER_RESET, w,
		     "%s (the range was live before reset %u)", p->why, m->resets);
	else
		FIND(m, C_LEDGER, w, "%s", p->why);
}

/* The front-end refused a MAP/UNMAP the ledger had applied: undo it. */
static void ledger_undo(struct monitor *m, const struct monitor_pending *p)
{
	struct ledger *l = &m->ledger;
	struct ledger_map lm = { p->mm.shmid, p->mm.shm_offset, p->mm.len };

	if (!p->changed_ledger)
		return;
	if (l->last_changed && l->last_map.shmid == lm.shmid &&
	    l->last_map.offset == lm.offset && l->last_map.len == lm.len) {
		ledger_refuse_last(l);
		return;
	}
	/* Not the ledger's last request (the back-end did not wait). */
	if (p->request == PROTO_BE_SHMEM_MAP) {
		for (unsigned i = 0; i < l->nlive; i++)
			if (range_exact(&l->live[i], &p->mm)) {
				l->live[i] = l->live[--l->nlive];
				return;
			}
	} else if (l->nlive < LEDGER_MAX_LIVE) {
		l->live[l->nlive++] = lm;
	}
}

/* Reset: every mapping goes; they are kept aside to catch a front-end
 * that did not drop them. */
static void reset_mappings(struct monitor *m)
{
	m->resets++;
	m->started = false;
	m->npre_reset = m->ledger.nlive;
	for (unsigned i = 0; i < m->ledger.nlive; i++)
		m->pre_reset[i] = m->ledger.live[i];
	m->ledger.nlive = 0;
	m->ledger.last = LEDGER_LAST_NONE;
	m->ledger.last_changed = false;
}

/* ---- requests ---- */

static void set_protocol_features(struct monitor *m, const struct monitor_msg *msg,
				  const struct where *w)
{
	uint64_t v, extra;

	if (!get_u64(msg, &v))
		return;
	if (m->have_pfeat_offered && (extra = v & ~m->pfeat_offered))
		FIND(m, C_PFEAT_NOT_OFFERED, w,
		     "acknowledged protocol features 0x%" PRIx64
		     " of which 0x%" PRIx64 " were not offered (offer 0x%" PRIx64 ")",
		     v, extra, m->pfeat_offered);
	m->have_pfeat_acked = true;
	m->pfeat_acked = v;
}

static void check_protocol_features_offered(struct monitor *m,
					    const struct where *w)
{
	if (m->have_features_offered &&
	    !(m->features_offered & (1ull << PROTO_F_PROTOCOL_FEATURES)))
		FIND(m, C_PROTOCOL_FEATURES_NOT_OFFERED, w,
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

	if (!get_u64(msg, &v))
		return;
	m->status = v;
	if (v == 0)
		reset_mappings(m);
	else
		m->started = v & PROTO_STATUS_DRIVER_OK;
}

static void memtable_update(struct monitor *m, const struct where *w)
{
	const struct monitor_pending *p = waiting_mmap(m);

	if (p)
		FIND(m, C_MEMTABLE_BEFORE_REPLY, w,
		     "%s sent while the back-end's %s #%u still waits for its "
		     "reply: both sides can block for ever",
		     w->msg, p->request == PROTO_BE_SHMEM_MAP ? "SHMEM_MAP"
							    : "SHMEM_UNMAP",
		     p->index);
}

static void main_request(struct monitor *m, const struct monitor_msg *msg,
			 const struct where *w)
{
	uint64_t v;

	switch (msg->hdr.request) {
	case PROTO_SET_FEATURES:
		if (get_u64(msg, &v)) {
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
			FIND(m, C_SHMEM_NOT_NEGOTIATED, w,
			     "GET_SHMEM_CONFIG sent without SHMEM (bit %u) negotiated",
			     m->cfg.shmem_bit);
		break;
	case PROTO_SET_BACKEND_REQ_FD:
		if (!monitor_pfeat(m, PROTO_PF_BACKEND_REQ))
			FIND(m, C_BACKEND_REQ_NOT_NEGOTIATED, w,
			     "SET_BACKEND_REQ_FD sent without BACKEND_REQ negotiated");
		m->backend_chan = true;
		break;
	case PROTO_RESET_DEVICE:
	case PROTO_RESET_OWNER:
		reset_mappings(m);
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
			    const struct where *w, struct monitor_pending *p)
{
	uint32_t req = msg->hdr.request;
	bool mm = req == PROTO_BE_SHMEM_MAP || req == PROTO_BE_SHMEM_UNMAP;

	if (has_required(m, PROTO_CHAN_BACKEND))
		FIND(m, C_BACKEND_NO_WAIT, w,
		     "%s sent while back-end request #%u still waits for its reply",
		     w->msg, m->pending[PROTO_CHAN_BACKEND][0].index);
	if (!mm)
		return;
	if (!monitor_shmem(m))
		FIND(m, C_SHMEM_NOT_NEGOTIATED, w,
		     "%s sent without SHMEM (bit %u) negotiated", w->msg,
		     m->cfg.shmem_bit);
	else if (req == PROTO_BE_SHMEM_MAP &&
		 !monitor_pfeat(m, PROTO_PF_BACKEND_SEND_FD))
		FIND(m, C_NO_BACKEND_SEND_FD, w,
		     "SHMEM_MAP carries an fd but BACKEND_SEND_FD is not negotiated");
	mmap_request(m, msg, w, p);
}

/* Whether a request expects a reply: 2 must, 1 may, 0 no. */
static int reply_expected(const struct monitor *m, const struct monitor_msg *msg)
{
	bool need = msg->hdr.flags & PROTO_F_NEED_REPLY;

	if (proto_has_reply_body(msg->chan, msg->hdr.request))
		return 2;
	if (need)
		return reply_ack(m) ? 2 : 1;
	/* Digest 7: the rst says UNMAP is answered; implementations answer
	 * only NEED_REPLY. Either is accepted. */
	if (msg->chan == PROTO_CHAN_BACKEND &&
	    msg->hdr.request == PROTO_BE_SHMEM_UNMAP)
		return 1;
	return 0;
}

static void on_request(struct monitor *m, const struct monitor_msg *msg,
		       const struct where *w)
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
	if (p.need_reply && !reply_ack(m) &&
	    !proto_has_reply_body(msg->chan, msg->hdr.request))
		FIND(m, C_NEED_REPLY_NO_ACK, w,
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
			 const struct where *w, struct monitor_pending *out)
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
		FIND(m, C_REPLY_MISMATCH, w,
		     "reply carries request id %s while %s #%u waits for its reply",
		     req_name(chan, msg->hdr.request, b1, sizeof(b1)),
		     req_name(chan, head->request, b2, sizeof(b2)), head->index);
		*out = *head;
		pop_head(m, chan);
		return true;
	}
	FIND(m, C_UNSOLICITED_REPLY, w,
	     "a reply (%s) with no request waiting for one",
	     req_name(chan, msg->hdr.request, b1, sizeof(b1)));
	return false;
}

static void map_accepted(struct monitor *m, const struct monitor_pending *p,
			 const struct where *w)
{
	if (p->must_fail && p->pre_reset)
		FIND(m, C_RESET_KEPT_MAPPING, w,
		     "accepted SHMEM_MAP #%u over a range mapped before reset %u: "
		     "%s", p->index, m->resets, p->why);
	else if (p->must_fail)
		FIND(m, C_MAP_ACCEPTED_INVALID, w,
		     "accepted SHMEM_MAP #%u that MUST fail: %s", p->index, p->why);
	else if (p->soft_fail)
		FIND(m, C_MAP_ACCEPTED_LEN_ZERO, w,
		     "accepted SHMEM_MAP #%u with len 0", p->index);
}

static void map_refused(struct monitor *m, const struct monitor_pending *p,
			const struct where *w, uint64_t v)
{
	ledger_undo(m, p);
	if (p->must_fail || p->soft_fail)
		return;
	if (p->pre_reset && !p->stopped)
		FIND(m, C_RESET_KEPT_MAPPING, w,
		     "refused (0x%" PRIx64 ") SHMEM_MAP #%u of shmid %u [0x%" PRIx64
		     ", +0x%" PRIx64 ") which only overlaps mappings that reset %u "
		     "removed", v, p->index, p->mm.shmid, p->mm.shm_offset,
		     p->mm.len, m->resets);
	else
		FIND(m, C_MAP_REFUSED_VALID, w,
		     "refused (0x%" PRIx64 ") a valid SHMEM_MAP #%u of shmid %u "
		     "[0x%" PRIx64 ", +0x%" PRIx64 ")%s", v, p->index, p->mm.shmid,
		     p->mm.shm_offset, p->mm.len,
		     p->stopped ? " while the device is not started (digest 10 "
				  "allows that)" : "");
}

static void unmap_answered(struct monitor *m, const struct monitor_pending *p,
			   const struct where *w, uint64_t v)
{
	if (v == 0 && p->must_fail && p->pre_reset)
		FIND(m, C_RESET_KEPT_MAPPING, w,
		     "accepted SHMEM_UNMAP #%u of a mapping that reset %u removed",
		     p->index, m->resets);
	else if (v == 0 && p->must_fail)
		FIND(m, C_UNMAP_ACCEPTED_INVALID, w,
		     "accepted SHMEM_UNMAP #%u that MUST fail: %s", p->index, p->why);
	else if (v != 0 && !p->must_fail) {
		ledger_undo(m, p);
		finding(m, C_UNMAP_REFUSED_VALID,
			p->stopped ? PROTO_SEV_INFO : mdefs[C_UNMAP_REFUSED_VALID].sev, w,
			"refused (0x%" PRIx64 ") SHMEM_UNMAP #%u of exactly one live "
			"mapping%s", v, p->index,
			p->stopped ? " while the device is not started (digest 10 "
				     "allows that)" : "");
	}
}

static void mmap_reply(struct monitor *m, const struct monitor_pending *p,
		       const struct monitor_msg *msg, const struct where *w)
{
	uint64_t v;

	if (!p->is_mmap || !get_u64(msg, &v) ||
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
			 const struct where *w)
{
	struct proto_shmem_config c;

	if (msg->payload_len < PROTO_SHMEM_CONFIG_SIZE ||
	    proto_shmem_config_decode(msg->payload, PROTO_SHMEM_CONFIG_SIZE,
				      &c) != PROTO_OK)
		return;
	if (m->have_config) {
		for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
			if (c.memory_sizes[i] != m->config.memory_sizes[i]) {
				FIND(m, C_CONFIG_CHANGED, w,
				     "memory_sizes[%u] is now 0x%" PRIx64
				     ", was 0x%" PRIx64, i, c.memory_sizes[i],
				     m->config.memory_sizes[i]);
				return;
			}
		if (c.nregions != m->config.nregions)
			FIND(m, C_CONFIG_CHANGED, w,
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
		       const struct monitor_msg *msg, const struct where *w)
{
	uint64_t v;

	if (msg->hdr.request != p->request)
		return;
	switch (p->request) {
	case PROTO_GET_FEATURES:
		if (get_u64(msg, &v)) {
			m->have_features_offered = true;
			m->features_offered = v;
		}
		break;
	case PROTO_GET_PROTOCOL_FEATURES:
		if (get_u64(msg, &v)) {
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
		     const struct where *w)
{
	struct monitor_pending p;

	if (!take_pending(m, msg, w, &p))
		return;
	if (msg->chan == PROTO_CHAN_MAIN)
		main_reply(m, &p, msg, w);
	else
		mmap_reply(m, &p, msg, w);
}

void monitor_on_msg(struct monitor *m, const struct monitor_msg *msg)
{
	bool is_reply = (msg->chan == PROTO_CHAN_MAIN) == (msg->from == MONITOR_BACKEND);
	char name[64], buf[24];
	struct where w = {
		.chan = msg->chan, .side = msg->from, .msg = name,
		.index = ++m->nmsgs, .t_ms = msg->t_ms,
	};

	m->count[msg->chan & 1][msg->from & 1]++;
	snprintf(name, sizeof(name), "%s%s",
		 req_name(msg->chan, msg->hdr.request, buf, sizeof(buf)),
		 is_reply ? " reply" : "");
	validate(m, msg, &w, is_reply);
	if (is_reply)
		on_reply(m, msg, &w);
	else
		on_request(m, msg, &w);
}

/* ---- ends, deadlines ---- */

void monitor_on_channel_status(struct monitor *m, enum proto_chan chan,
			       enum monitor_side side, int status,
			       int64_t now_ms)
{
	struct where w = { .chan = chan, .side = side, .t_ms = now_ms };

	switch (status) {
	case CHAN_EOF:
		return;
	case CHAN_TRUNC_HEADER:
	case CHAN_TRUNC_PAYLOAD:
		FIND(m, C_TRUNCATED, &w, "the channel ended inside a message (%s)",
		     chan_status_name((enum chan_status)status));
		return;
	case CHAN_TOOBIG:
		FIND(m, C_TOOBIG, &w, "a header's size is above %u bytes",
		     PROTO_MAX_PAYLOAD);
		return;
	case CHAN_TOO_MANY_FDS:
		FIND(m, C_TOO_MANY_FDS, &w, "a message came with more than 8 fds; "
		     "they were closed and the message relayed without them");
		return;
	case CHAN_TIMEOUT:
		FIND(m, C_TRUNCATED, &w, "a message stopped half-way and was not "
		     "completed in time");
		return;
	default:
		FIND(m, C_CHANNEL_ERROR, &w, "%s",
		     status < 0 ? "receive error"
				: chan_status_name((enum chan_status)status));
	}
}

void monitor_on_process_end(struct monitor *m, enum monitor_side side, int sig,
			    int code, int64_t now_ms)
{
	struct where w = { .chan = PROTO_CHAN_MAIN, .side = side, .t_ms = now_ms };

	if (sig == 0 && code != 0)
		FIND(m, C_PROCESS_EXIT, &w, "the %s exited with code %d",
		     monitor_side_name(side), code);
	if (sig == 0)
		return;
	if (sig == 15 || sig == 9 || sig == 1 || sig == 2)
		FIND(m, C_PROCESS_KILLED, &w, "the %s was killed by signal %d",
		     monitor_side_name(side), sig);
	else
		FIND(m, C_PROCESS_CRASH, &w, "the %s died by signal %d",
		     monitor_side_name(side), sig);
}

/* The side that owes the replies of a channel. */
static enum monitor_side replier(enum proto_chan chan)
{
	return chan == PROTO_CHAN_MAIN ? MONITOR_BACKEND : MONITOR_FRONTEND;
}

void monitor_tick(struct monitor *m, int64_t now_ms)
{
	char b[24];

	for (unsigned c = 0; c < 2; c++)
		for (unsigned i = 0; i < m->npending[c]; i++) {
			struct monitor_pending *p = &m->pending[c][i];
			struct where w = { .chan = c, .side = replier(c),
					   .msg = req_name(c, p->request, b, sizeof(b)),
					   .index = p->index, .t_ms = now_ms };

			if (!p->required || p->late ||
			    now_ms - p->t_ms < m->cfg.reply_timeout_ms)
				continue;
			p->late = true;
			FIND(m, C_NO_REPLY, &w, "no reply to %s #%u within %d ms",
			     w.msg, p->index, m->cfg.reply_timeout_ms);
		}
}

int64_t monitor_next_deadline(const struct monitor *m)
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

void monitor_finish(struct monitor *m, int64_t now_ms)
{
	char b[24];

	monitor_tick(m, now_ms);
	for (unsigned c = 0; c < 2; c++) {
		for (unsigned i = 0; i < m->npending[c]; i++) {
			const struct monitor_pending *p = &m->pending[c][i];
			struct where w = { .chan = c, .side = replier(c),
					   .msg = req_name(c, p->request, b, sizeof(b)),
					   .index = p->index, .t_ms = now_ms };

			if (p->required && !p->late)
				FIND(m, C_UNANSWERED_AT_END, &w,
				     "%s #%u had no reply yet when the session ended",
				     w.msg, p->index);
		}
		m->npending[c] = 0;
	}
}
