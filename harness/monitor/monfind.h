/* SPDX-License-Identifier: MIT */
/*
 * monfind: the monitor's findings: what each one is (code, check,
 * severity, the digest rule it stands for), how one is recorded on a
 * struct monitor (counted, kept, emitted), the validator's findings
 * turned into the monitor's, and a finding as a line or as JSON.
 */
#ifndef VHU_MONFIND_H
#define VHU_MONFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor.h"

/* The monitor's own findings (the validator's keep their codes). */
enum monfind_code {
	MONFIND_NO_REPLY,
	MONFIND_REPLY_MISMATCH,
	MONFIND_UNSOLICITED_REPLY,
	MONFIND_NEED_REPLY_NO_ACK,
	MONFIND_MEMTABLE_BEFORE_REPLY,
	MONFIND_BACKEND_NO_WAIT,
	MONFIND_SHMEM_NOT_NEGOTIATED,
	MONFIND_NO_BACKEND_SEND_FD,
	MONFIND_BACKEND_REQ_NOT_NEGOTIATED,
	MONFIND_PFEAT_NOT_OFFERED,
	MONFIND_PROTOCOL_FEATURES_NOT_OFFERED,
	MONFIND_LEDGER,
	MONFIND_LEDGER_AFTER_RESET,
	MONFIND_MAP_ACCEPTED_INVALID,
	MONFIND_MAP_ACCEPTED_LEN_ZERO,
	MONFIND_UNMAP_ACCEPTED_INVALID,
	MONFIND_MAP_REFUSED_VALID,
	MONFIND_UNMAP_REFUSED_VALID,
	MONFIND_RESET_KEPT_MAPPING,
	MONFIND_BOUNDS_UNKNOWN,
	MONFIND_CONFIG_CHANGED,
	MONFIND_TRUNCATED,
	MONFIND_TOOBIG,
	MONFIND_TOO_MANY_FDS,
	MONFIND_CHANNEL_ERROR,
	MONFIND_UNANSWERED_AT_END,
	MONFIND_PROCESS_CRASH,
	MONFIND_PROCESS_KILLED,
	MONFIND_PROCESS_EXIT,
	MONFIND_COUNT,
};

/* Where a finding was made. */
struct monfind_where {
	enum proto_chan chan;
	enum monitor_side side;   /* at fault */
	const char *msg;
	unsigned index;
	int64_t t_ms;
};

/* The severity a code has unless the caller says otherwise. */
enum proto_severity monfind_severity(enum monfind_code c);
/* Records finding c (its code, check and rule from the table) at w. */
void monfind_add(struct monitor *m, enum monfind_code c,
		 enum proto_severity sev, const struct monfind_where *w,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* monfind_add with the code's own severity. */
#define MONFIND(m, c, w, ...) \
	monfind_add((m), (c), monfind_severity(c), (w), __VA_ARGS__)
/* proto_validate on msg; each finding recorded at w. */
void monfind_validate(struct monitor *m, const struct monitor_msg *msg,
		      const struct monfind_where *w, bool is_reply);

const char *monitor_check_name(enum monitor_check c);
const char *monitor_side_name(enum monitor_side s);
const char *monitor_severity_name(enum proto_severity s);

/* "[error] frontend MAP_ACCEPTED_INVALID #14 backend SHMEM_MAP reply:
 * text (digest 6: ...)"; snprintf-style. */
int monitor_finding_line(const struct monitor_finding *f, char *out, size_t cap);
/* The finding as one JSON object; snprintf-style. */
int monitor_finding_json(const struct monitor_finding *f, char *out, size_t cap);

#endif
