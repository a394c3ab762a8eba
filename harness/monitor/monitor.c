/* SPDX-License-Identifier: MIT */
/*
 * monitor: what the monitor of a live session knows and finds (see
 * monitor.h): its findings (defined, recorded, printed) and the
 * negotiated state. monjudge feeds it, message by message.
 */
#include "monitor.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "protoname.h"

/* ---- finding definitions ---- */

struct mdef {
	const char *code;
	enum monitor_check check;
	enum proto_severity sev;
	const char *rule;
};

static const struct mdef mdefs[MONITOR_C_COUNT] = {
	[MONITOR_C_NO_REPLY] = { "NO_REPLY", MONITOR_CHECK_REPLIES, PROTO_SEV_ERROR,
		"9: NEED_REPLY (with REPLY_ACK) MUST be answered; GET_* always are" },
	[MONITOR_C_REPLY_MISMATCH] = { "REPLY_MISMATCH", MONITOR_CHECK_REPLIES, PROTO_SEV_ERROR,
		"1: a reply carries the id of the request it answers" },
	[MONITOR_C_UNSOLICITED_REPLY] = { "UNSOLICITED_REPLY", MONITOR_CHECK_REPLIES,
		PROTO_SEV_ERROR,
		"6, 9: a reply only where NEED_REPLY asks for one or the request has a reply body" },
	[MONITOR_C_NEED_REPLY_NO_ACK] = { "NEED_REPLY_NO_ACK", MONITOR_CHECK_REPLIES,
		PROTO_SEV_WARN, "9: NEED_REPLY is defined only with REPLY_ACK negotiated" },
	[MONITOR_C_MEMTABLE_BEFORE_REPLY] = { "MEMTABLE_BEFORE_REPLY", MONITOR_CHECK_ORDERING,
		PROTO_SEV_ERROR,
		"9: the MAP/UNMAP reply comes before any main-channel memory-table update (deadlock)" },
	[MONITOR_C_BACKEND_NO_WAIT] = { "BACKEND_NO_WAIT", MONITOR_CHECK_ORDERING, PROTO_SEV_WARN,
		"9, 12H: a back-end waits for its reply before its next back-end request" },
	[MONITOR_C_SHMEM_NOT_NEGOTIATED] = { "SHMEM_NOT_NEGOTIATED", MONITOR_CHECK_GATING,
		PROTO_SEV_ERROR,
		"6, 7, 8: SHMEM_MAP, SHMEM_UNMAP, GET_SHMEM_CONFIG only when SHMEM is negotiated" },
	[MONITOR_C_NO_BACKEND_SEND_FD] = { "NO_BACKEND_SEND_FD", MONITOR_CHECK_GATING,
		PROTO_SEV_WARN, "5: fds from the back-end need BACKEND_SEND_FD (implied, not stated)" },
	[MONITOR_C_BACKEND_REQ_NOT_NEGOTIATED] = { "BACKEND_REQ_NOT_NEGOTIATED",
		MONITOR_CHECK_GATING, PROTO_SEV_ERROR,
		"5: the back-end channel exists only if BACKEND_REQ was negotiated" },
	[MONITOR_C_PFEAT_NOT_OFFERED] = { "PFEAT_NOT_OFFERED", MONITOR_CHECK_GATING,
		PROTO_SEV_ERROR, "2: a front-end acknowledges only protocol features that were offered" },
	[MONITOR_C_PROTOCOL_FEATURES_NOT_OFFERED] = { "PROTOCOL_FEATURES_NOT_OFFERED",
		MONITOR_CHECK_GATING, PROTO_SEV_ERROR,
		"2: GET/SET_PROTOCOL_FEATURES need VHOST_USER_F_PROTOCOL_FEATURES (bit 30)" },
	[MONITOR_C_LEDGER] = { "BACKEND_LEDGER", MONITOR_CHECK_LEDGER, PROTO_SEV_ERROR,
		"6, 7, 12H: a back-end maps inside its regions, never over its own live mappings, and unmaps exact live ranges" },
	[MONITOR_C_LEDGER_AFTER_RESET] = { "BACKEND_LEDGER_RESET", MONITOR_CHECK_LEDGER,
		PROTO_SEV_WARN, "10: a reset removes every mapping; the back-end still used one" },
	[MONITOR_C_MAP_ACCEPTED_INVALID] = { "MAP_ACCEPTED_INVALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_ERROR,
		"6: MUST fail: a mapping over a live one, or outside the region, or without SHMEM" },
	[MONITOR_C_MAP_ACCEPTED_LEN_ZERO] = { "MAP_ACCEPTED_LEN_ZERO", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_WARN, "6: len 0 is silent in the rst (NON-STRICT)" },
	[MONITOR_C_UNMAP_ACCEPTED_INVALID] = { "UNMAP_ACCEPTED_INVALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_ERROR, "7: the range must be exactly one whole existing mapping" },
	[MONITOR_C_MAP_REFUSED_VALID] = { "MAP_REFUSED_VALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_INFO, "6: MAY fail: out of resources" },
	[MONITOR_C_UNMAP_REFUSED_VALID] = { "UNMAP_REFUSED_VALID", MONITOR_CHECK_VERDICTS,
		PROTO_SEV_WARN, "7: UNMAP of exactly one live mapping succeeds" },
	[MONITOR_C_RESET_KEPT_MAPPING] = { "RESET_KEPT_MAPPING", MONITOR_CHECK_LIFECYCLE,
		PROTO_SEV_ERROR, "10: reset MUST remove every mapping" },
	[MONITOR_C_BOUNDS_UNKNOWN] = { "BOUNDS_UNKNOWN", MONITOR_CHECK_LEDGER, PROTO_SEV_INFO,
		"8: region sizes come from GET_SHMEM_CONFIG" },
	[MONITOR_C_CONFIG_CHANGED] = { "CONFIG_CHANGED", MONITOR_CHECK_CONFIG, PROTO_SEV_ERROR,
		"8: the GET_SHMEM_CONFIG answer never changes during a connection" },
	[MONITOR_C_TRUNCATED] = { "TRUNCATED", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: a message is sent whole" },
	[MONITOR_C_TOOBIG] = { "SIZE_TOO_BIG", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: size above any defined payload; the stream is lost" },
	[MONITOR_C_TOO_MANY_FDS] = { "TOO_MANY_FDS", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"1: at most 8 fds per message" },
	[MONITOR_C_CHANNEL_ERROR] = { "CHANNEL_ERROR", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
		"1: the connection broke instead of closing" },
	[MONITOR_C_UNANSWERED_AT_END] = { "UNANSWERED_AT_END", MONITOR_CHECK_REPLIES,
		PROTO_SEV_INFO, "9: a request was still waiting for its reply when the session ended" },
	[MONITOR_C_PROCESS_CRASH] = { "PROCESS_CRASH", MONITOR_CHECK_SESSION, PROTO_SEV_ERROR,
		"11: a program ends by exiting, never by a crash" },
	[MONITOR_C_PROCESS_KILLED] = { "PROCESS_KILLED", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
		"11: a program ends by exiting" },
	[MONITOR_C_PROCESS_EXIT] = { "PROCESS_EXIT", MONITOR_CHECK_SESSION, PROTO_SEV_WARN,
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
		       const struct monitor_where *w)
{
	f->side = w->side;
	f->chan = w->chan;
	snprintf(f->msg, sizeof(f->msg), "%s", w->msg ? w->msg : "");
	f->index = w->index;
	f->t_ms = w->t_ms > m->t0_ms ? w->t_ms - m->t0_ms : 0;
}

void monitor_find(struct monitor *m, enum monitor_code c,
		  enum proto_severity sev, const struct monitor_where *w,
		  const char *fmt, ...)
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

enum proto_severity monitor_code_severity(enum monitor_code c)
{
	return mdefs[c].sev;
}

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

bool monitor_reply_ack(const struct monitor *m)
{
	return monitor_pfeat(m, PROTO_PF_REPLY_ACK);
}

bool monitor_has_required(const struct monitor *m, enum proto_chan chan)
{
	for (unsigned i = 0; i < m->npending[chan]; i++)
		if (m->pending[chan][i].required)
			return true;
	return false;
}

bool monitor_backend_busy(const struct monitor *m)
{
	return monitor_has_required(m, PROTO_CHAN_BACKEND);
}

bool monitor_get_u64(const struct monitor_msg *msg, uint64_t *v)
{
	return msg->hdr.size == 8 &&
	       proto_u64_decode(msg->payload, msg->payload_len, v) == PROTO_OK;
}

const char *monitor_req_name(enum proto_chan chan, uint32_t req, char *buf,
			     size_t cap)
{
	const char *n = proto_req_name(chan, req);

	if (n)
		return n;
	snprintf(buf, cap, "request_%" PRIu32, req);
	return buf;
}

/* ---- validation ---- */

void monitor_validate(struct monitor *m, const struct monitor_msg *msg,
		      const struct monitor_where *w, bool is_reply)
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
