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
/* What GET_SHMEM_CONFIG answers now (faults included); counts a call. */
void refbe_shmem_config(struct refbe *be, struct proto_shmem_config *out);

/* Handles one main-channel request and sends what it calls for. fds in m
 * are not taken (dup'ed when kept). 0, or -errno when a reply could not
 * be sent (the main channel is then closed). */
int refbe_handle_main_msg(struct refbe *be, const struct chan_msg *m);
/* Receives and handles one main-channel request. 0, 1 when the channel is
 * gone, -ETIMEDOUT. Not to be called while refbe_waiting(): a back-end
 * blocked on a reply answers nothing else. */
int refbe_service_main(struct refbe *be, int64_t deadline);
/* The back-end channel is readable: takes the awaited reply (and sends
 * the next queued request), or drains a message nobody waits for. 0, or
 * 1 when the channel is gone. */
int refbe_service_backend(struct refbe *be, int64_t deadline);

/* `map shmid= shm_offset= len= fd_offset= flags=rw|ro|N need_reply=0|1
 * fd_size=` / `unmap shmid= shm_offset= len= need_reply=`. 0 or -EINVAL
 * with a message. */
int refbe_parse_map_cmd(const struct ctl_cmd *cmd, struct refbe_map_req *req,
			char *err, size_t errcap);
int refbe_parse_unmap_cmd(const struct ctl_cmd *cmd,
			  struct refbe_map_req *req, char *err, size_t errcap);

/* What the back-end refuses before anything is sent (control `err`):
 * no back-end channel, SHMEM or BACKEND_SEND_FD not negotiated, len 0,
 * outside the advertised sizes, overlapping its own mappings (pending
 * ones too), unmapping what it does not hold live, a full queue. 0 or
 * -errno with a message. */
int refbe_check_map(const struct refbe *be, const struct refbe_map_req *req,
		    char *err, size_t errcap);
int refbe_check_unmap(const struct refbe *be, const struct refbe_map_req *req,
		      char *err, size_t errcap);

enum refbe_outcome {
	REFBE_DONE = 0,        /* reply 0, or no reply asked for */
	REFBE_REFUSED,         /* reply non-zero */
	REFBE_NO_REPLY,        /* deadline passed */
	REFBE_BAD_REPLY,       /* malformed reply (size, flags, id) */
	REFBE_EOF,             /* the back-end channel closed */
	REFBE_SEND_FAILED,     /* the request could not be sent */
};
const char *refbe_outcome_name(enum refbe_outcome o);

/* Queues a checked request (the ledger takes it at once) and sends what
 * can be sent: everything up to the first request that waits for a
 * reply. 0 or -errno. */
int refbe_submit(struct refbe *be, const struct refbe_map_req *req, bool map);
/* How long a half-arrived message on the back-end channel is left to
 * complete before it is read: limit_ms, or 0 under the faults that read
 * whatever arrived (be_split_header_lost, be_partial_reply_as_success). */
int refbe_partial_patience(const struct refbe *be, int limit_ms);
/* True while a reply is awaited; *deadline (may be NULL) when it is due. */
bool refbe_waiting(const struct refbe *be, int64_t *deadline);
/* Gives up on an awaited reply once its deadline has passed
 * (REFBE_NO_REPLY) and sends what was queued behind it. */
void refbe_check_timeout(struct refbe *be);
/* Serves the back-end channel until nothing is awaited or the deadline.
 * Returns be->last_outcome, -ETIMEDOUT or -ECANCELED. */
int refbe_wait_idle(struct refbe *be, int64_t deadline);
/* submit + wait_idle: the outcome of one request (tests, fuzzers). */
int refbe_send_map(struct refbe *be, const struct refbe_map_req *req);
int refbe_send_unmap(struct refbe *be, const struct refbe_map_req *req);

/* One-line JSON like reffe_dump(). */
int refbe_dump(const struct refbe *be, char *out, size_t cap);
/* One-line JSON of the current region sizes. */
int refbe_dump_config(const struct refbe *be, char *out, size_t cap);

#endif
