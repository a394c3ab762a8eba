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

/* Every relayed message, in order. */
void monitor_on_msg(struct monitor *m, const struct monitor_msg *msg);

/* A receive on a side's channel did not give a whole message (status:
 * enum chan_status, or -errno): CHAN_EOF (an orderly close, no finding),
 * truncation, an oversized header, too many fds, a broken socket. */
void monitor_on_channel_status(struct monitor *m, enum proto_chan chan,
			       enum monitor_side side, int status,
			       int64_t now_ms);
/* A launched side's process ended by signal sig (0: exited with code). */
void monitor_on_process_end(struct monitor *m, enum monitor_side side,
			    int sig, int code, int64_t now_ms);

/* Deadline findings for replies later than reply_timeout_ms. */
void monitor_tick(struct monitor *m, int64_t now_ms);
/* The next time monitor_tick has something to check, or INT64_MAX. */
int64_t monitor_next_deadline(const struct monitor *m);
/* End of the session: what is still unanswered. */
void monitor_finish(struct monitor *m, int64_t now_ms);

/* Negotiated state, for reports and the proxy's fault rules. */
bool monitor_pfeat(const struct monitor *m, unsigned bit);
bool monitor_shmem(const struct monitor *m);
/* True while a required back-end-channel reply is outstanding. */
bool monitor_backend_busy(const struct monitor *m);

#endif
