/* SPDX-License-Identifier: MIT */
/*
 * monjudge: the monitor fed, message by message, in the order the proxy
 * relays them: each request and reply judged (replies matched to
 * requests, ordering, gating, the ledger, the front-end's verdicts,
 * config, lifecycle), channel and process ends, reply deadlines. What it
 * finds is recorded on the struct monitor (monitor.h).
 */
#ifndef VHU_MONJUDGE_H
#define VHU_MONJUDGE_H

#include <stdint.h>

#include "monitor.h"

/* Every relayed message, in order. */
void monjudge_on_msg(struct monitor *m, const struct monitor_msg *msg);

/* A receive on a side's channel did not give a whole message (status:
 * enum chan_status, or -errno): CHAN_EOF (an orderly close, no finding),
 * truncation, an oversized header, too many fds, a broken socket. */
void monjudge_on_channel_status(struct monitor *m, enum proto_chan chan,
				enum monitor_side side, int status,
				int64_t now_ms);
/* A launched side's process ended by signal sig (0: exited with code). */
void monjudge_on_process_end(struct monitor *m, enum monitor_side side,
			     int sig, int code, int64_t now_ms);

/* Deadline findings for replies later than reply_timeout_ms. */
void monjudge_tick(struct monitor *m, int64_t now_ms);
/* The next time monjudge_tick has something to check, or INT64_MAX. */
int64_t monjudge_next_deadline(const struct monitor *m);
/* End of the session: what is still unanswered. */
void monjudge_finish(struct monitor *m, int64_t now_ms);

#endif
