/* SPDX-License-Identifier: MIT */
/*
 * refbe: the reference vhost-user BACK-END, as a library.
 *
 * It answers the front-end's main-channel requests (features, memory
 * table, vrings, status, GET_SHMEM_CONFIG with configurable region sizes)
 * and, on command, sends SHMEM_MAP / SHMEM_UNMAP on the back-end channel,
 * waits for the reply with a deadline and checks it strictly. It keeps a
 * ledger of its live mappings and refuses requests that would break the
 * rules a back-end must keep (inside its regions, no overlap with itself,
 * unmap only what it holds). With no fault it is strictly conforming.
 *
 * No main here; nothing prints (messages go to cfg.log).
 */
#ifndef VHU_REFBE_H
#define VHU_REFBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "ctl.h"
#include "fault.h"
#include "proto.h"

#define REFBE_MAX_MAPPINGS 128u
#define REFBE_MAX_MEM 32u
#define REFBE_MAX_MEM_SLOTS 32u

typedef void (*refbe_log_fn)(void *opaque, const char *msg);

struct refbe_config {
	unsigned shmem_bit;
	uint64_t pfeat_offer;      /* protocol features it offers */
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS]; /* GET_SHMEM_CONFIG */
	int reply_timeout_ms;      /* wait for a MAP/UNMAP reply */
	int cancel_fd;             /* -1, or an fd (the program's signalfd)
				      whose readability ends every wait
				      (refwait.h) */
	struct fault_set faults;
	refbe_log_fn log;
	void *log_opaque;
	chan_trace_fn trace;
	void *trace_opaque;
	/* A MAP/UNMAP is done: outcome (enum refbe_outcome) as the back-end
	 * concluded it; sent_only when no reply was asked for. May be NULL.
	 * The program answers its control command here (docs/control.md). */
	void (*on_done)(void *opaque, bool map, int outcome, bool sent_only);
	void *done_opaque;
};

/* shmem_bit 22, every feature it knows, one region of 1 MiB, 1000 ms,
 * no cancel fd. Once cfg.cancel_fd is readable the waits below end at
 * once (refbe_wait_idle: -ECANCELED); what could not be sent then counts
 * as not sent. */
void refbe_config_default(struct refbe_config *cfg);
uint64_t refbe_supported_pfeatures(unsigned shmem_bit);
/* --regions=1M,64k,...: sizes[i] for shmid i, the rest 0. 0 or -EINVAL. */
int refbe_parse_regions(struct refbe_config *cfg, const char *list);

enum refbe_map_state {
	REFBE_MAP_PENDING = 0,     /* MAP queued or sent, not confirmed */
	REFBE_MAP_LIVE,            /* confirmed (reply 0, or no reply asked) */
	REFBE_MAP_UNMAPPING,       /* UNMAP queued or sent */
};

/* A mapping the back-end holds (its ledger). */
struct refbe_mapping {
	unsigned seq;              /* identifies it across queue and replies */
	enum refbe_map_state state;
	uint8_t shmid;
	bool rw;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	int fd;                    /* the memfd it created and keeps, or -1
				      before the MAP is sent */
};

/* A region of the front-end's memory table, mapped here. */
struct refbe_memreg {
	struct proto_mem_region r;
	void *addr;
	size_t map_len;
};

/* A MAP or UNMAP the control channel asked for. */
struct refbe_map_req {
	uint8_t shmid;
	bool rw;
	int need_reply;            /* -1: when REPLY_ACK is negotiated */
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	uint64_t fd_size;          /* memfd size; 0: fd_offset + len */
};

#define REFBE_MAX_QUEUE 64u

struct refbe_op {
	bool map;
	unsigned seq;              /* the ledger entry it is about */
	struct refbe_map_req req;
};

struct refbe {
	struct refbe_config cfg;
	struct chan main;
	struct chan backend;
	uint64_t features;         /* as set by SET_FEATURES */
	uint64_t pfeatures;        /* as set by SET_PROTOCOL_FEATURES */
	bool owner;
	uint8_t status;
	unsigned config_calls;     /* GET_SHMEM_CONFIG answered so far */
	struct proto_shmem_config advertised; /* the last answer given */
	struct refbe_memreg mem[REFBE_MAX_MEM];
	unsigned nmem;
	struct refbe_mapping maps[REFBE_MAX_MAPPINGS];
	unsigned nmaps;
	unsigned next_seq;
	/* Requests wait here while a reply is awaited: a back-end sends
	 * nothing more on the back-end channel until then (digest 9). */
	struct refbe_op queue[REFBE_MAX_QUEUE];
	unsigned nqueue;
	bool waiting;
	struct refbe_op inflight;
	int64_t reply_deadline;
	int last_outcome;          /* of the last request completed */
	bool backend_deaf;         /* be_eof_as_success: stopped reading */
	int vring_fds[3];          /* kick, call, err of queue 0 */
	struct proto_vring_state vring_num;
	struct proto_vring_state vring_base;
	struct proto_vring_addr vring_addr;
	bool vring_enabled;
	unsigned memfd_seq;        /* for vhu-refbe-<n> */
};

void refbe_init(struct refbe *be, const struct refbe_config *cfg);
void refbe_free(struct refbe *be);
void refbe_attach_main(struct refbe *be, int fd);
/* Closes both channels and forgets the connection state (ledger, memory
 * table, vrings, negotiation). */
void refbe_disconnect(struct refbe *be);
/* Device reset as the back-end sees it: the ledger is emptied (the
 * front-end removes the mappings, digest 10). */
void refbe_reset(struct refbe *be);

bool refbe_shmem_negotiated(const struct refbe *be);
bool refbe_started(const struct refbe *be);


/* One-line JSON like reffe_dump(). */
int refbe_dump(const struct refbe *be, char *out, size_t cap);
/* One-line JSON of the current region sizes. */
int refbe_dump_config(const struct refbe *be, char *out, size_t cap);

/* ---- for the reference back-end's own modules (refbemain, refbemap,
 *      refbesend): not for programs ---- */

void refbe_log(const struct refbe *be, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool refbe_fault(const struct refbe *be, enum fault_id f);
bool refbe_pfeat(const struct refbe *be, unsigned bit);
/* A chan_status or -errno as text. */
const char *refbe_status_text(int st);
/* The ledger: remove entry i; the entry of a request (by its seq); the
 * live mapping a request names exactly. -1 when none. */
void refbe_ledger_remove(struct refbe *be, unsigned i);
int refbe_ledger_by_seq(const struct refbe *be, unsigned seq);
int refbe_ledger_find_live(const struct refbe *be,
			   const struct refbe_map_req *req);
/* The memory table: a region mapped here (0 or -errno), one removed,
 * all removed. */
int refbe_mem_add(struct refbe *be, const struct proto_mem_region *g,
		  int fd);
void refbe_mem_remove(struct refbe *be, unsigned i);
void refbe_mem_clear(struct refbe *be);

#endif
