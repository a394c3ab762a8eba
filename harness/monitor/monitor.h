/* SPDX-License-Identifier: MIT */
/*
 * monitor: the stateful judge of a live vhost-user session seen from the
 * middle (vhucheck-monitor). It is fed every message either side sends,
 * in the order the proxy relays them, and reports findings:
 *
 *   framing    proto_validate on every message (digest 1, 4, 6-8)
 *   replies    replies matched to requests: a request that must be
 *              answered (a GET_*, or NEED_REPLY with REPLY_ACK) is
 *              answered once, in order, within the reply deadline
 *              (digest 9)
 *   ordering   no memory-table update from the front-end while a
 *              back-end MAP/UNMAP waits for its reply; a back-end waits
 *              for its reply before its next request (digest 9, 12H)
 *   gating     SHMEM, BACKEND_REQ, BACKEND_SEND_FD, REPLY_ACK actually
 *              negotiated for what is used (digest 2, 5-8)
 *   ledger     the back-end's MAP/UNMAP against the GET_SHMEM_CONFIG
 *              reply and its own live mappings (digest 6, 7, 12H)
 *   verdicts   the front-end's answers: a MAP/UNMAP that MUST fail is
 *              refused (digest 6, 7); a refused MAP is not live
 *   config     GET_SHMEM_CONFIG answers never change (digest 8)
 *   lifecycle  reset (RESET_DEVICE, RESET_OWNER, SET_STATUS 0) clears
 *              the mappings; a front-end that keeps one is caught when
 *              the back-end maps or unmaps that range again (digest 10)
 *   session    truncated messages, oversized ones, too many fds,
 *              a process that died
 *
 * Pure: no I/O. Findings go to a callback (the live stderr line and the
 * trace note) and are kept, up to MONITOR_MAX_FINDINGS, for the report.
 */
#ifndef VHU_MONITOR_H
#define VHU_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "proto.h"
#include "protoval.h"

enum monitor_side {
	MONITOR_FRONTEND = 0,
	MONITOR_BACKEND = 1,
};

enum monitor_check {
	MONITOR_CHECK_FRAMING = 0,
	MONITOR_CHECK_REPLIES,
	MONITOR_CHECK_ORDERING,
	MONITOR_CHECK_GATING,
	MONITOR_CHECK_LEDGER,
	MONITOR_CHECK_VERDICTS,
	MONITOR_CHECK_CONFIG,
	MONITOR_CHECK_LIFECYCLE,
	MONITOR_CHECK_SESSION,
	MONITOR_CHECK_MAX,
};

struct monitor_finding {
	char code[40];          /* "MMAP_PADDING", "MAP_ACCEPTED_INVALID", ... */
	enum proto_severity severity;
	enum monitor_side side; /* who is at fault */
	enum monitor_check check;
	enum proto_chan chan;
	char msg[48];           /* "SHMEM_MAP", "SHMEM_MAP reply", "" */
	unsigned index;         /* the message's number in the session, 0: none */
	int64_t t_ms;           /* since the session started */
	char rule[128];         /* "6: MUST fail: mapping over ..." (digest) */
	char text[256];
};

typedef void (*monitor_emit_fn)(void *opaque, const struct monitor_finding *f);

struct monitor_cfg {
	unsigned shmem_bit;     /* PROTO_SHMEM_BIT_DEFAULT unless told */
	unsigned page_size;     /* 0: 4096 */
	int reply_timeout_ms;   /* a required reply later than this: finding */
	monitor_emit_fn emit;   /* may be NULL */
	void *opaque;
};

/* A request waiting for its reply. */
struct monitor_pending {
	uint32_t request;
	bool required;          /* must be answered */
	bool need_reply;
	bool late;              /* the deadline finding was made */
	unsigned index;
	int64_t t_ms;
	/* SHMEM_MAP / SHMEM_UNMAP */
	bool is_mmap;
	struct proto_mmap mm;
	bool must_fail;         /* a MUST-fail request (ledger said so) */
	bool soft_fail;         /* should fail, but the rst is silent (len 0) */
	bool changed_ledger;    /* the ledger took it as live / removed it */
	bool pre_reset;         /* its range was live before the last reset */
	bool stopped;           /* sent while the device was not started */
	char why[256];          /* why it must fail */
};

#define MONITOR_MAX_PENDING 32u
#define MONITOR_MAX_FINDINGS 256u

/* One message as the proxy relays it. */
struct monitor_msg {
	enum proto_chan chan;
	enum monitor_side from;
	struct proto_hdr hdr;
	const uint8_t *payload;
	size_t payload_len;     /* bytes that came (== hdr.size when whole) */
	unsigned nfds;
	int64_t t_ms;           /* chan_now_ms() scale */
};

struct monitor {
	struct monitor_cfg cfg;
	int64_t t0_ms;
	unsigned nmsgs;                 /* messages seen, the findings' index */
	unsigned count[2][2];           /* [chan][from] */

	/* negotiation */
	bool have_features_offered, have_features_acked;
	uint64_t features_offered, features_acked;
	bool have_pfeat_offered, have_pfeat_acked;
	uint64_t pfeat_offered, pfeat_acked;
	bool backend_chan;              /* SET_BACKEND_REQ_FD relayed */
	uint64_t status;                /* the last SET_STATUS */
	bool started;                   /* DRIVER_OK, and no reset since */

	/* GET_SHMEM_CONFIG answers and the ledger of live mappings */
	bool have_config;
	struct proto_shmem_config config;
	bool bounds_noted;              /* "no config yet" INFO made */
	struct ledger ledger;
	unsigned npre_reset;
	struct ledger_map pre_reset[LEDGER_MAX_LIVE];
	unsigned resets;

	/* requests waiting for replies, FIFO per channel */
	unsigned npending[2];
	struct monitor_pending pending[2][MONITOR_MAX_PENDING];

	unsigned nfindings, findings_dropped;
	unsigned by_severity[3];
	unsigned by_check[MONITOR_CHECK_MAX][3]; /* [check][severity] */
	struct monitor_finding findings[MONITOR_MAX_FINDINGS];
};

void monitor_init(struct monitor *m, const struct monitor_cfg *cfg,
		  int64_t t0_ms);

/* Negotiated state, for reports and the proxy's fault rules. */
bool monitor_pfeat(const struct monitor *m, unsigned bit);
bool monitor_shmem(const struct monitor *m);
/* True while a required back-end-channel reply is outstanding. */
bool monitor_backend_busy(const struct monitor *m);

const char *monitor_check_name(enum monitor_check c);
const char *monitor_side_name(enum monitor_side s);
const char *monitor_severity_name(enum proto_severity s);

/* "[error] frontend MAP_ACCEPTED_INVALID #14 backend SHMEM_MAP reply:
 * text (digest 6: ...)"; snprintf-style. */
int monitor_finding_line(const struct monitor_finding *f, char *out, size_t cap);
/* The finding as one JSON object; snprintf-style. */
int monitor_finding_json(const struct monitor_finding *f, char *out, size_t cap);

/* ---- for the monitor's own modules (monledger, monjudge) ---- */

/* The monitor's own findings (the validator's keep their codes). */
enum monitor_code {
	MONITOR_C_NO_REPLY,
	MONITOR_C_REPLY_MISMATCH,
	MONITOR_C_UNSOLICITED_REPLY,
	MONITOR_C_NEED_REPLY_NO_ACK,
	MONITOR_C_MEMTABLE_BEFORE_REPLY,
	MONITOR_C_BACKEND_NO_WAIT,
	MONITOR_C_SHMEM_NOT_NEGOTIATED,
	MONITOR_C_NO_BACKEND_SEND_FD,
	MONITOR_C_BACKEND_REQ_NOT_NEGOTIATED,
	MONITOR_C_PFEAT_NOT_OFFERED,
	MONITOR_C_PROTOCOL_FEATURES_NOT_OFFERED,
	MONITOR_C_LEDGER,
	MONITOR_C_LEDGER_AFTER_RESET,
	MONITOR_C_MAP_ACCEPTED_INVALID,
	MONITOR_C_MAP_ACCEPTED_LEN_ZERO,
	MONITOR_C_UNMAP_ACCEPTED_INVALID,
	MONITOR_C_MAP_REFUSED_VALID,
	MONITOR_C_UNMAP_REFUSED_VALID,
	MONITOR_C_RESET_KEPT_MAPPING,
	MONITOR_C_BOUNDS_UNKNOWN,
	MONITOR_C_CONFIG_CHANGED,
	MONITOR_C_TRUNCATED,
	MONITOR_C_TOOBIG,
	MONITOR_C_TOO_MANY_FDS,
	MONITOR_C_CHANNEL_ERROR,
	MONITOR_C_UNANSWERED_AT_END,
	MONITOR_C_PROCESS_CRASH,
	MONITOR_C_PROCESS_KILLED,
	MONITOR_C_PROCESS_EXIT,
	MONITOR_C_COUNT,
};

/* Where a finding was made. */
struct monitor_where {
	enum proto_chan chan;
	enum monitor_side side;   /* at fault */
	const char *msg;
	unsigned index;
	int64_t t_ms;
};

/* The severity a code has unless the caller says otherwise. */
enum proto_severity monitor_code_severity(enum monitor_code c);
/* Records finding c (its code, check and rule from the table) at w. */
void monitor_find(struct monitor *m, enum monitor_code c,
		  enum proto_severity sev, const struct monitor_where *w,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* monitor_find with the code's own severity. */
#define MONITOR_FIND(m, c, w, ...) \
	monitor_find((m), (c), monitor_code_severity(c), (w), __VA_ARGS__)
/* proto_validate on msg; each finding recorded at w. */
void monitor_validate(struct monitor *m, const struct monitor_msg *msg,
		      const struct monitor_where *w, bool is_reply);
/* REPLY_ACK negotiated; whether a request on chan must be answered
 * (a GET_*, or NEED_REPLY with REPLY_ACK). */
bool monitor_reply_ack(const struct monitor *m);
bool monitor_has_required(const struct monitor *m, enum proto_chan chan);
/* The u64 payload of msg; false when it is not one. */
bool monitor_get_u64(const struct monitor_msg *msg, uint64_t *v);
/* The request's name, or "request N" in buf. */
const char *monitor_req_name(enum proto_chan chan, uint32_t req, char *buf,
			     size_t cap);

#endif
