/* SPDX-License-Identifier: MIT */
/*
 * refmain: what vhu-ref-frontend and vhu-ref-backend share at the top
 * level: signals, the stderr log and trace hooks, option values common to
 * both, and the control-channel plumbing.
 */
#ifndef VHU_REFMAIN_H
#define VHU_REFMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "ctl.h"
#include "fault.h"

/* Options both programs take. */
struct refmain_opts {
	const char *prog;          /* for log lines */
	int fd;                    /* --fd, or -1 */
	const char *socket_path;   /* --socket-path, or NULL */
	int control_fd;            /* --control-fd, or -1 */
	unsigned shmem_bit;
	bool no_shmem;
	bool no_reply_ack;
	unsigned ndisable;
	const char *disable[16];   /* --disable=FEATURE */
	int reply_timeout_ms;
	bool verbose;
	struct fault_set faults;
};

/* The getopt_long entries both programs share; refmain_common_opt()
 * handles them (flag 0, so the caller dispatches by name). */
#define REFMAIN_COMMON_OPTIONS \
	{ "fd", required_argument, NULL, 0 }, \
	{ "socket-path", required_argument, NULL, 0 }, \
	{ "control-fd", required_argument, NULL, 0 }, \
	{ "fault", required_argument, NULL, 0 }, \
	{ "shmem-bit", required_argument, NULL, 0 }, \
	{ "disable", required_argument, NULL, 0 }, \
	{ "reply-timeout", required_argument, NULL, 0 }, \
	{ "no-shmem", no_argument, NULL, 0 }, \
	{ "no-reply-ack", no_argument, NULL, 0 }, \
	{ "verbose", no_argument, NULL, 0 }

void refmain_opts_init(struct refmain_opts *o, const char *prog);
/* Handles one of the common long options (by name, with its argument).
 * Returns 1 if it was one, 0 if not, -1 on a bad value (message printed). */
int refmain_common_opt(struct refmain_opts *o, const char *name,
		       const char *arg, enum fault_role role);
/* The protocol features left after --no-shmem, --no-reply-ack and
 * --disable. -1 (message printed) for an unknown --disable name. */
int refmain_pfeatures(const struct refmain_opts *o, uint64_t supported,
		      uint64_t *out);
/* Common lines of --help. */
void refmain_usage_common(enum fault_role role);

/* SIGTERM, SIGINT and SIGHUP to a signalfd (returned), SIGPIPE ignored.
 * -errno on failure. */
int refmain_signalfd(void);
/* True when a signal asking us to end is pending on sfd. */
bool refmain_signalled(int sfd);
/* An inherited fd number: must be open. 0 or -1 (message printed). */
int refmain_check_fd(const char *what, int fd);
/* After option parsing: no stray arguments, exactly one of --fd and
 * --socket-path, and the fds given are open. 0 or -1 (message printed:
 * main's option parsing is the top level here). */
int refmain_check_connection(const struct refmain_opts *o, int optind_,
			     int argc);

/* log hook: "prog[pid]: msg" on stderr. opaque: the refmain_opts. */
void refmain_log(void *opaque, const char *msg);
/* chan trace hook: one line per message on stderr (--verbose). */
void refmain_trace(void *opaque, const char *chan_name, enum chan_dir dir,
		   const struct chan_msg *m, enum chan_status st);

/* One control command, parsed; the program's dispatcher. Returns false
 * to end the program (quit). */
typedef bool (*refmain_ctl_fn)(void *opaque, const struct ctl_cmd *cmd,
			       int ctl_fd);

/* The control fd is readable: reads what is there and dispatches every
 * whole line (parse errors and over-long lines answered `err` here).
 * Returns 1 to go on, 0 when the program should end (quit, or the
 * controller closed the channel), -errno on a read error. */
int refmain_serve_control(struct ctl_reader *r, refmain_ctl_fn fn,
			  void *opaque);

/* The control protocol version these programs speak (docs/control.md). */
#define REFMAIN_CTL_VERSION 2u
/* `version N`: answers `ok version=V`, V the lower of N and
 * REFMAIN_CTL_VERSION, and returns V; a bad N is answered `err` (-1). */
int refmain_on_version(const struct ctl_cmd *cmd, int ctl_fd);

/* Answers with the control deadline all programs use. */
void refmain_ok(int ctl_fd, const char *text);
void refmain_err(int ctl_fd, const char *text);
/* A command this program cannot carry out in the mode it runs in. */
void refmain_unsupported(int ctl_fd, const char *why);

#endif
