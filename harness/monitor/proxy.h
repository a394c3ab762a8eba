/* SPDX-License-Identifier: MIT */
/*
 * proxy: vhucheck-monitor's relay. One poll loop between a front-end and
 * a back-end: the main channel both ways, the back-end channel both ways
 * (SET_BACKEND_REQ_FD is intercepted: the back-end gets one end of the
 * monitor's own socketpair, the front-end's socket stays with us), fds
 * passed through as received. Every message is recorded in the trace as
 * it arrives, subject to the fault rules, and fed to the monitor when it
 * is handed to its receiver (so a delayed reply counts as late, and a
 * dropped message as never sent); the control script runs alongside.
 * Every wait is bounded.
 */
#ifndef VHU_PROXY_H
#define VHU_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chan.h"
#include "ctlscript.h"
#include "faultrule.h"
#include "monitor.h"
#include "target.h"
#include "tracefile.h"

#define PROXY_QUEUE_MAX 64u

struct proxy_opts {
	unsigned shmem_bit;
	int reply_timeout_ms;       /* monitor's reply deadline (2000) */
	int msg_timeout_ms;         /* to finish a message once begun, and to
				       hand one to a peer (1000) */
	int control_timeout_ms;     /* a control-script wait (5000) */
	int64_t duration_ms;        /* 0: until a side closes the main channel */
	unsigned nrules;
	struct faultrule rules[FAULTRULE_MAX];
	const struct ctlscript *script; /* NULL: none */
	struct tracefile_writer *trace; /* NULL: no recording */
	FILE *live;                 /* finding lines as they happen; NULL: quiet */
};

/* A message waiting to go out (delay rules keep it a while). */
struct proxy_item {
	struct chan_msg msg;        /* owns its fds */
	int64_t not_before;
	bool fed;                   /* the monitor has seen it */
};

struct proxy_queue {
	unsigned head, n;
	struct proxy_item *items;   /* PROXY_QUEUE_MAX */
};

struct proxy_ctl {
	int fd;
	size_t len;
	char buf[1024];
};

struct proxy {
	struct proxy_opts o;
	struct chan ch[2][2];       /* [proto_chan][monitor_side]: our socket
				       facing that side; fd -1 when none */
	struct proxy_queue q[2][2]; /* [proto_chan][destination side] */
	struct proxy_ctl ctl[2];    /* control channels by side */
	struct target *tgt[2];      /* launched processes, or NULL */
	bool tgt_seen_end[2];
	int sig_fd;
	struct monitor mon;
	int64_t t0_ms, last_msg_ms, backend_up_ms;
	unsigned swallow;           /* replies to injected requests to eat */
	unsigned step;              /* control script position */
	int64_t step_start_ms;
	bool step_started, awaiting_answer, script_over;
	bool done;
	char end_reason[200];
	unsigned relayed, dropped, injected, script_errors;
	struct chan_msg rx;         /* receive scratch */
	struct tracefile_rec rec;   /* trace scratch */
};

/*
 * Takes ownership of the connected main-channel sockets and the control
 * fds (-1 when none). tgt entries may be NULL. sig_fd: readable means
 * stop (a signalfd), or -1. 0 or -ENOMEM.
 */
int proxy_init(struct proxy *p, const struct proxy_opts *o, int fe_main,
	       int be_main, const int ctl_fd[2], struct target *tgt[2],
	       int sig_fd);
/* Relays until a side closes the main channel, a signal, or the
 * duration; then closes every channel and finishes the monitor. */
void proxy_run(struct proxy *p);
void proxy_free(struct proxy *p);

#endif
