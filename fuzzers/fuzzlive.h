/* SPDX-License-Identifier: MIT */
/*
 * fuzzlive: the state of one vhu-fuzzlive run (fuzzlive.c), shared with
 * its report (livereport.c). Internal to the program.
 */
#ifndef VHU_FUZZ_FUZZLIVE_H
#define VHU_FUZZ_FUZZLIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "edgemap.h"
#include "livecheck.h"
#include "livegen.h"
#include "liveopts.h"
#include "livepeer.h"
#include "livespare.h"
#include "shadow.h"

#define LIVE_PAGE UINT64_C(0x1000)    /* as the emitted cases' model */
#define LIVE_PROBE_REQUEST 2u         /* CONFIG_CHANGE_MSG: settles an
					 unanswered open step (liveplay.c) */

struct live_map {
	unsigned shmid;
	bool rw;
	uint64_t off, len, fd_offset;
	int fdi;                /* index into fds, -1 none */
	bool rough;             /* taken as the target chose, not page
				   aligned: /proc shows it rounded */
};

#define LIVE_SCRUB_MAX 8u

/* What was sent to a region since the model lost it (livekeep.c). */
struct live_scrub {
	uint64_t off[LIVE_SCRUB_MAX], len[LIVE_SCRUB_MAX];
	unsigned n, next;       /* ranges; the next one to UNMAP */
	bool started, overflow;
};

struct live {
	struct livepeer peer;
	struct livegen gen;
	struct shadow model;
	struct livecheck chk;   /* the fds sent since the last reset, /proc */
	struct live_map maps[SHADOW_MAX_MAPPINGS];
	unsigned nmaps;
	bool taint[PROTO_SHMEM_MAX_REGIONS], taint_all; /* the model does
				   not know what the target holds there */
	bool blind[PROTO_SHMEM_MAX_REGIONS];  /* it knows (the target's open
				   choice taken or settled), but the emitted
				   case would not: no MUST there until a cut */
	struct live_scrub scrub[PROTO_SHMEM_MAX_REGIONS];
	bool scrubbing;         /* the operation being played is a scrub's:
				   played whatever --avoid says */
	int fd_shmid[FDPOOL_MAX];   /* the shmid each pool fd was sent to
				       with a MAP, -1 none */
	bool doubt;             /* a bent config: no MUST until the next one */
	bool held;              /* the target answered an open step otherwise:
				   it may hold what the model does not (a
				   len-0 MAP taken), so no cut before a reset */
	bool ordered;           /* the reply's order was judged since reset */
	unsigned unanswered;    /* messages whose reply may still come (not
				   asked for, or not in time): stray later */
	const char *verdict;    /* the model's on the operation being played */
	bool recycle;           /* a reset was due but is avoided: end here */
	const struct liveopts *opts;   /* --avoid, --known-rule (FAILs gone past) */
	bool absorbing;         /* a known FAIL just now: its region is lost */
	/* counts */
	unsigned long ops, msgs, controls, open_choices, strays, avoided,
		new_states, adopted, settled, spared, scrubbed, absorbed;
	struct livespare spare; /* operations that cost the target's state */
	bool answered;          /* the last message's reply came */
	bool no_settle;         /* the target left a probe unanswered */
	struct edgemap edges;   /* trace NULL without --edges */
	int64_t seg_start_ms;
	/* the violation */
	bool violated;
	char vclass[16], vkind[16], vrule[160], vobs[1024];
};

struct live_args {
	struct livepeer_opts peer;
	struct liveopts o;      /* as given (liveopts.h) */
	bool configs;           /* no --regions: reconnects with other configs */
};

/* The next operation (livegen) played and judged (livekeep.c, over
 * liveplay.c): L->ops, the counts, L->violated or L->recycle as it went. */
void live_step(struct live *L);
/* One operation played and judged (liveplay.c). */
void live_play(struct live *L, const struct seqop *op);
/* Whether --avoid names this operation's kind and model verdict. */
bool live_avoided(const struct live *L, const char *kind, const char *why);
/* The target went: its crash, or a closed channel, is the violation. */
void live_gone(struct live *L, const char *kind);
/* The model lost what the target holds in region shmid, after a message
 * for [off, off+len) there: tainted, and that range to scrub (livekeep.c). */
void live_lost(struct live *L, unsigned shmid, uint64_t off, uint64_t len);
/* A reset or a new config: nothing is left to scrub. */
void live_forget_scrubs(struct live *L);
/* The ceiling: one MAP and its UNMAP over and over, nothing judged,
 * until end (chan_now_ms) or max_ops (0: none). */
void live_pingpong(struct live *L, int64_t end, unsigned long max_ops);

/* The violation's slice (DIR/slice-PID-OP.input) and the JSON lines:
 * {"event":"violation",...} when there is one, {"event":"end",...}. */
void live_report(const struct live *L, const struct live_args *a, int64_t t0);

#endif
