/* SPDX-License-Identifier: MIT */
/*
 * lvu: the parts of vhu-lvu-backend (a back-end on QEMU's libvhost-user)
 * that its two files share: the device state, the library call behind
 * `map` / `unmap` and its outcome, and the worker thread of
 * --dispatch=worker. What the program does: vhu-lvu-backend.c.
 */
#ifndef VHU_LVU_H
#define VHU_LVU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "libvhost-user.h"
#include "proto.h"

#define LVU_MAX_WATCH 64
#define LVU_MAX_MAPS 256
#define LVU_MAX_JOBS 64
#define LVU_CTL_TIMEOUT_MS 1000

/* How the device calls vu_shmem_map / vu_shmem_unmap (docs/targets.md). */
enum lvu_dispatch {
	LVU_DISPATCH_SINGLE,    /* from the one dispatch loop, as QEMU's contrib devices */
	LVU_DISPATCH_WORKER,    /* from a worker thread; the loop keeps serving */
};

struct lvu_watch {
	int fd;
	vu_watch_cb cb;
	void *data;
};

struct lvu_map {
	uint8_t shmid;
	uint64_t shm_offset, len;
};

struct lvu_opts {
	int fd;                     /* --fd, or -1 */
	const char *socket_path;    /* --socket-path, or NULL */
	int control_fd;
	unsigned shmem_bit;
	unsigned nregions;          /* entries used in regions[] */
	uint64_t regions[PROTO_SHMEM_MAX_REGIONS];
	int reply_timeout_ms;
	int accept_timeout_ms;
	bool sigpipe_ignore;        /* --sigpipe=ignore */
	enum lvu_dispatch dispatch;
};

/* One vu_shmem_map / vu_shmem_unmap call, or (is_answer) an answer
 * that must follow the answers of the calls queued before it. */
struct lvu_job {
	bool is_answer, answer_ok;
	char text[CTL_LINE_MAX - 8];  /* the answer's text, "" for none */
	bool is_map;
	int fd;                     /* the memfd for a MAP, else -1 */
	uint8_t shmid;
	uint64_t shm_offset, len, fd_offset, flags;
	bool answer;                /* control protocol 2: answer with the outcome */
};

struct lvu_worker {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;       /* guards everything below and the ledger */
	pthread_cond_t cond;
	bool stop;
	unsigned head, count;
	struct lvu_job jobs[LVU_MAX_JOBS];
	int64_t busy_since_ms;      /* 0: idle */
};

struct lvu {
	VuDev dev;                  /* first: callbacks get &dev */
	const struct lvu_opts *o;
	bool connected;
	atomic_bool broken;         /* libvhost-user called panic (any thread) */
	bool quit;
	bool ctl_v2;                /* the harness said `version 2` */
	int listen_fd;
	struct ctl_reader ctl;
	pthread_mutex_t ctl_lock;   /* control answers come from two threads */
	pthread_mutex_t panic_lock; /* guards the two below */
	unsigned panics;
	char last_panic[160];
	unsigned config_calls;
	unsigned nwatch;
	struct lvu_watch watch[LVU_MAX_WATCH];
	unsigned nmaps;
	struct lvu_map maps[LVU_MAX_MAPS];
	unsigned memfd_seq;
	struct lvu_worker worker;
};

void lvu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One control answer (`ok TEXT` or `err TEXT`), from any thread. */
void lvu_answer(struct lvu *l, bool ok, const char *text);
/* The same, in command order: behind the answers of queued calls. */
void lvu_answer_ordered(struct lvu *l, bool ok, const char *text);
/* Records a libvhost-user panic (any thread). */
void lvu_note_panic(struct lvu *l, const char *err);

/* The library call of one job: closes its fd, updates the ledger, and
 * (j->answer) answers with the outcome as the library reported it. */
void lvu_call(struct lvu *l, const struct lvu_job *j);

int lvu_worker_start(struct lvu *l);
void lvu_worker_stop(struct lvu *l);
/* false when the queue is full. */
bool lvu_worker_push(struct lvu *l, const struct lvu_job *j);
/* true while a library call or a queued job is pending. */
bool lvu_worker_busy(struct lvu *l);
/* Ends the process when a call outlived --reply-timeout. */
void lvu_worker_check_deadline(struct lvu *l);
/* Waits (bounded) until the worker is idle. */
void lvu_worker_wait_idle(struct lvu *l, int max_ms);

#endif
