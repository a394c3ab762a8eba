/* SPDX-License-Identifier: MIT */
/*
 * session: one live connection to a target while a case runs.
 *
 * It owns the main and back-end channels, the control line, the trace,
 * the log of every message the target sent (validated with
 * proto_validate, findings kept) and, when the harness is the back-end,
 * the compliant answers to the target's main-channel requests. Every
 * wait goes through sess_pump(), one poll() over all of them plus the
 * target's exit and the cancel fd, bounded by the step's deadline and
 * the case deadline.
 */
#ifndef VHU_SESSION_H
#define VHU_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "chan.h"
#include "proto.h"
#include "protoval.h"
#include "role_backend.h"
#include "role_frontend.h"
#include "script.h"
#include "sesstrace.h"
#include "target.h"

/* One thing the target did: a message, or the end of a channel. */
struct sess_rec {
	enum script_chan chan;
	bool eof;               /* the channel ended here; st says how */
	int st;                 /* chan status (or -errno) */
	bool hdr_valid;
	struct proto_hdr hdr;
	unsigned nfds;
	size_t payload_len;
	uint8_t *payload;       /* owned copy; NULL when empty */
	int64_t t_ms;
	unsigned round;         /* the poll round that read it (see sess_pump) */
};

#define SESS_MAX_FINDINGS 32u
#define SESS_CTL_BUF 4096u
/* A flooding target ends the case (ERROR) instead of the harness. */
#define SESS_MAX_LOG 200000u

struct sess_finding {
	struct proto_finding f;
	char msg[48];
};

struct session {
	enum script_role role;
	unsigned shmem_bit;
	int64_t t0;
	int64_t case_deadline;
	struct chan ch[2];      /* fd -1 when we have none */
	bool eof[2];            /* the target closed (or broke) it */
	int listen_fd;          /* back-end role, {socket}: reconnections */
	int ctl_fd;
	size_t ctl_len;
	char ctl_buf[SESS_CTL_BUF];
	bool ctl_has_answer;
	char ctl_answer[SESS_CTL_BUF];
	/* Answers to queued commands (control.h): a line after an answer not
	 * yet taken waits in ctl_buf for sess_ctl_next(). */
	bool ctl_queue;
	struct target *tgt;     /* NULL: not launched by us */
	int cancel_fd;
	bool cancelled;
	bool crashed;           /* died by a signal */
	bool death_noted;
	char fault[256];        /* harness-side failure */

	struct sesstrace tr;     /* the trace file and its last lines */

	struct sess_rec *log;
	unsigned nlog, caplog;
	unsigned cursor[2];     /* first record not yet consumed, per channel */
	unsigned round;         /* poll rounds that reported something */
	int64_t last_rx_ms;

	/* The harness's role (role_backend.h, role_frontend.h): what it
	 * offers, remembers and decides; the session sends for it. */
	struct role_be be;       /* harness as back-end */
	struct role_fe fe;       /* harness as front-end */

	unsigned nfindings, findings_dropped;
	struct sess_finding findings[SESS_MAX_FINDINGS];
};

enum sess_wait {
	SESS_MET = 0,           /* the condition holds */
	SESS_DEADLINE,          /* the step's deadline passed */
	SESS_GONE,              /* the target ended, its channels are closed */
	SESS_CASE_DEADLINE,     /* the case's deadline passed */
	SESS_CRASH,             /* the target died by a signal */
	SESS_CANCEL,            /* SIGINT/SIGTERM came */
	SESS_FAULT,             /* the harness failed: see fault */
};

typedef bool (*sess_cond_fn)(struct session *s, void *arg);

/* main_fd/ctl_fd/listen_fd/cancel_fd may be -1; trace may be NULL. The
 * session takes ownership of main_fd, ctl_fd and trace. */
void sess_init(struct session *s, enum script_role role, int main_fd,
	       int ctl_fd, int listen_fd, int cancel_fd, struct target *tgt,
	       FILE *trace);
void sess_free(struct session *s);
/* Closes the channels and the control line (the log stays). */
void sess_close_channels(struct session *s);

/* Installs a channel (replacing and closing the old one). */
void sess_set_chan(struct session *s, enum script_chan c, int fd);

/* Waits until cond(s, arg) holds (cond NULL: until the deadline); looks
 * at least once at what already arrived, even past the deadline. One
 * poll round reads at most one message per channel, the back-end
 * channel's first: what both channels had ready at once gets the same
 * round number, and the harness cannot tell which came first. */
enum sess_wait sess_pump(struct session *s, int64_t deadline,
			 sess_cond_fn cond, void *arg);

/* The first unconsumed record of channel c (a message or its end), or
 * NULL; sess_consume() moves past it. */
const struct sess_rec *sess_peek(const struct session *s, enum script_chan c);
void sess_consume(struct session *s, enum script_chan c);
/* Whether channel c can still deliver something. */
bool sess_chan_live(const struct session *s, enum script_chan c);

/* Sends a message; 0, a positive chan status, or -errno. Traced. */
int sess_send(struct session *s, enum script_chan c, const struct proto_hdr *h,
	      const void *payload, size_t len, const int *fds, unsigned nfds);
/* Raw bytes (also with more than PROTO_MAX_FDS fds). */
int sess_send_raw(struct session *s, enum script_chan c, const void *buf,
		  size_t len, const int *fds, unsigned nfds);

/* One line on the control channel and its answer in s->ctl_answer. */
enum sess_wait sess_control(struct session *s, const char *line,
			    int64_t deadline);
/* The answer in ctl_answer was taken: the next line read (or already
 * waiting, see ctl_queue) becomes the answer. */
void sess_ctl_next(struct session *s);
/* Only sends the line (SESS_MET when it went out); the answer is read
 * by sess_pump() into s->ctl_answer. */
enum sess_wait sess_control_send(struct session *s, const char *line,
				 int64_t deadline);

/* Back-end role: the back-end request's wait ended; answers the main
 * requests queued for it (those a `hold` names stay held). */
void sess_unblock(struct session *s);
/* Back-end role: `hold main NAMES` (n names) and `release main`. */
void sess_hold(struct session *s, const uint32_t *req, unsigned n);
void sess_release(struct session *s);
/* Whether request r's answer is held by a `hold`. */
bool sess_held(const struct session *s, const struct sess_rec *r);

/* A finding of the harness's own (code SCRIPT_FIND_*) about record r,
 * kept with the validator's. */
void sess_observe(struct session *s, const struct sess_rec *r, int code,
		  enum proto_severity sev, const char *text);

/* A one-line description of a record, for reports. */
void sess_describe(const struct sess_rec *r, char *out, size_t cap);
/* The last n trace lines joined by newlines. */
void sess_tail(const struct session *s, unsigned n, char *out, size_t cap);
/* Records a line of the harness's own in the trace ("# ..."). */
void sess_note(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
