/* SPDX-License-Identifier: MIT */
/*
 * run: one case being run, as the engine's parts share it (engine,
 * handshake, expect, check). Not for use outside the engine.
 *
 * The outcome helpers record what the case found: run_fail() a failed
 * expectation of the current step, graded by it; run_abort() a verdict no
 * expectation decides (CRASH, TIMEOUT, DEADLOCK, ERROR, UNSUPPORTED).
 */
#ifndef VHU_RUN_H
#define VHU_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctlanswer.h"
#include "fdpool.h"
#include "proto.h"
#include "result.h"
#include "runenv.h"
#include "script.h"
#include "session.h"
#include "target.h"

#define RUN_MAX_OPTIONAL 16



/* One case being run. */
struct run {
	struct runenv *env;
	const struct script_case *c;
	struct result *r;
	struct session s;
	struct target tgt;
	struct fdpool pool;
	bool pool_ready;
	bool speaks_control;
	struct ctlanswer_state ctl; /* control protocol version, pending answer */
	pid_t pid;                  /* for /proc oracles, 0 unknown */
	int sock_listen_fd;         /* {socket} we listen on, or -1 */
	char sock_path[300];
	char stderr_path[512];
	bool keep_stderr;
	/* launched ahead (launch.h): the harness's ends of its channels,
	 * and when; -1 / 0 otherwise */
	int ahead_main_fd, ahead_ctl_fd;
	int64_t ahead_at;
	unsigned seq;               /* the case's number in this harness */

	const struct script_step *st;
	bool handshaken;            /* a handshake step ran (refusal.h) */
	uint64_t *loops;
	bool stop;
	bool aborted;               /* verdict decided by run_abort() */
	enum result_verdict abort_verdict;
	bool interrupted;

	struct tx_stream {          /* where raw bytes left the stream */
		uint8_t hdr[PROTO_HDR_SIZE];
		unsigned have;          /* header bytes seen */
		uint64_t skip;          /* payload bytes still to come */
	} txs[2];
	uint32_t last_req[2];       /* last request id sent per channel */
	bool has_last_req[2];
	unsigned last_send_seq;     /* s.nlog at the last send */
	/* Requests sent without NEED_REPLY and without a reply body, oldest
	 * first: a target may answer them anyway (digest 7), before the
	 * reply to a later request. */
	uint32_t optional[2][RUN_MAX_OPTIONAL];
	unsigned noptional[2];
	int reply_to;               /* frontend: log index `reply` answers */

	/* harness as back-end: MAPs (less UNMAPs) the front-end acked 0,
	 * and its memory table when the first MAP went out */
	int64_t maps_acked;
	bool memtable_based;
	int64_t memtable_base;

	bool marked;
	unsigned mark_fds;
	int mark_maps;

	/* harness as front-end */
	uint64_t fe_negotiated;
	bool hs_cfg_valid;
	struct proto_shmem_config hs_cfg;
	int mem_fd;
	void *mem;
	size_t mem_len;
	int vring_fds[2];
};

/* A run of case c, nothing set up yet (engine.c). */
void run_init(struct run *x, struct runenv *e, const struct script_case *c,
	      unsigned seq);
/* Frees what a run holds, the target's stderr and socket files too. */
void run_cleanup(struct run *x);

/* Copies as much of src as fits. */
void run_copy_cut(char *dst, size_t cap, const char *src);
/* ms times --timeout-multiplier. */
int64_t run_scaled(const struct run *x, int64_t ms);
/* The end of the current step's window (within=, scaled). */
int64_t run_deadline(const struct run *x);

void run_abort(struct run *x, enum result_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void run_fail(struct run *x, const char *expected, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* After a wait: false when the case must stop (the reason is kept). */
bool run_wait_ok(struct run *x, enum sess_wait w);
/* Takes in what already arrived, without waiting. */
bool run_drain(struct run *x);

/* Texts for expected/observed. */
void run_target_state(struct run *x, char *out, size_t cap);
const char *run_req_name(enum script_chan c, uint32_t req, char *buf,
			 size_t cap);
void run_nothing_seen(struct run *x, enum sess_wait w, char *out, size_t cap);
void run_describe_rec(const struct sess_rec *rec, char *out, size_t cap);

/* sess_pump condition: a record on the channel *(enum script_chan *)arg. */
bool run_has_record(struct session *s, void *arg);

/* fd names to numbers; closed ones cannot travel and are left out. */
unsigned run_resolve_fds(struct run *x, const char (*names)[FDPOOL_NAME_MAX],
			 unsigned n, int *fds);
/* A request went out on channel c. */
void run_note_sent(struct run *x, enum script_chan c, uint32_t req,
		   uint32_t flags);
/* rec, the next record of channel c, is a reply to an earlier request
 * sent without NEED_REPLY rather than to want: it is noted (trace and an
 * UNSOLICITED_REPLY finding), consumed, and true returned. */
bool run_skip_unsolicited(struct run *x, enum script_chan c,
			  const struct sess_rec *rec, uint32_t want);
/* A reply came on c: earlier optional replies can no longer come. */
void run_replied(struct run *x, enum script_chan c);
/* The channel exists (else ERROR). */
bool run_chan_present(struct run *x, enum script_chan c);

#endif
