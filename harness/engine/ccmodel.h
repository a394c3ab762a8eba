/* SPDX-License-Identifier: MIT */
/*
 * ccmodel: the model casecheck follows a case with (internal to
 * casecheck). The state is a small set of "worlds": each is one live set
 * of mappings a conforming front-end can hold at this point of the case.
 * A MAP or UNMAP whose outcome the spec fixes is applied to every world
 * alike; one the spec leaves open splits each world in two (accepted,
 * refused).
 */
#ifndef VHU_CCMODEL_H
#define VHU_CCMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "script.h"

/* casecheck's; the model only carries it. */
struct casecheck_report;

#define CCM_PAGE 0x1000u
#define CCM_NSHM PROTO_SHMEM_MAX_REGIONS
#define CCM_MAX_WORLDS 32u
#define CCM_MAX_LIVE 256u
#define CCM_MAX_PEND 16u
#define CCM_MAX_CHOICES 3u
#define CCM_WHY_MAX 128u
/* A region above this cannot be reserved in a 47-bit address space
 * alongside anything else: success there is resources, not the spec. */
#define CCM_SANE_REGION (1ull << 44)
#define CCM_STEP_BUDGET 4000000ul
#define CCM_ULL(v) ((unsigned long long)(v))

/* Per shmid: what the model does not know. */
enum {
	CCM_SHM_SIZE_UNKNOWN = 1, /* the config is read differently by readers */
	CCM_SHM_SIZE_SHAKY = 2,   /* known, but not one a back-end may send */
	CCM_SHM_LIVE_UNKNOWN = 4, /* its live mappings are not known */
};

/* Outcome of one request in one world (pend flags). */
enum { CCM_P_KNOWN = 1, CCM_P_OK = 2, CCM_P_FORCED = 4 };

enum ccm_outcome { CCM_OUT_OK, CCM_OUT_FAIL, CCM_OUT_OPEN, CCM_OUT_LOSE, CCM_OUT_SKIP };

struct ccm_live { uint64_t off, len; unsigned line; uint8_t shmid; };
struct ccm_pend { uint8_t flags; char why[CCM_WHY_MAX]; /* why it is forced */ };
struct ccm_choice { unsigned line; bool accepted, map; char why[72]; };

struct ccm_world {
	unsigned nlive, npend, nchoice, more_choices;
	struct ccm_pend pend[CCM_MAX_PEND];
	struct ccm_choice choice[CCM_MAX_CHOICES];
	struct ccm_live live[CCM_MAX_LIVE];
};

/* A request sent that awaits its reply, in order. */
struct ccm_sent {
	bool judge;             /* a MAP/UNMAP the model follows */
	char what[96];
};

/* One MAP or UNMAP as the model sees it. */
struct ccm_req {
	bool map;
	uint8_t shmid;
	uint64_t off, len;
	unsigned line;
	char open[72];          /* why the spec leaves it open; "" if not */
	char lose[72];          /* why success would not be known; "" if not */
};

/* The checker's state while it follows one case. */
struct ccm {
	const struct script_case *c;
	struct casecheck_report *r;
	struct ccm_world *w, *tmp;
	unsigned nw;
	uint64_t size[CCM_NSHM];
	uint8_t shm[CCM_NSHM];
	unsigned stop_line;     /* where ccm_give_up() stopped, and why */
	char stop_why[160];
	bool stop, have_hs, reconnecting, started, replies, send_fd, pair_lost;
	unsigned nfifo;
	struct ccm_sent fifo[CCM_MAX_PEND];
	uint64_t *loops;
	uint8_t *seen;          /* per step: 1 judged, 2 left open */
	unsigned long budget;
	unsigned idx;           /* the step being followed */
};

/* snprintf into buf, truncating. */
void ccm_fmt(char *buf, size_t cap, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
/* Stops following the case at the current step, saying why (once):
 * stop_line, stop_why. */
void ccm_give_up(struct ccm *k, const char *why);
/* "[0x2000, 0x3001)"; a wrapping end is written as +len. */
void ccm_range_text(char *buf, size_t cap, uint64_t off, uint64_t len);

/* ---- worlds ---- */
void ccm_world_copy(struct ccm_world *dst, const struct ccm_world *src);
/* Worlds that became equal are one (the first keeps its choices, for
 * messages). */
void ccm_dedupe(struct ccm *k);
/* Every shmid with a live mapping in some world becomes unknown. */
void ccm_forget_live(struct ccm *k);

/* ---- what the spec says about one request ---- */
/* Why the spec leaves the outcome of an otherwise valid request open
 * ("" when it does not). */
void ccm_req_open(const struct ccm *k, const struct script_send *s, bool map,
		  char *why, size_t cap);
/* MAP rules that hold in every world: region, bounds, wrap. */
enum ccm_outcome ccm_map_static(const struct ccm *k, const struct ccm_req *q,
				char *why, size_t cap);

/* ---- applying one request to every world ---- */
/* Queues a pending reply outcome (CCM_P_* flags) in wd. */
void ccm_pend_push(struct ccm_world *wd, uint8_t flags, const char *why);
/* The request succeeded in wd. false when the live set is full. */
bool ccm_succeed(struct ccm_world *wd, const struct ccm_req *q);
/* q applied to every world with the outcome stat (CCM_OUT_OPEN splits
 * each world); push queues the outcome for the reply expectation. */
void ccm_apply(struct ccm *k, const struct ccm_req *q, enum ccm_outcome stat,
	       const char *swhy, bool push);

#endif
