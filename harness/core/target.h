/* SPDX-License-Identifier: MIT */
/*
 * target: launching and supervising the program under test.
 *
 * A target runs in its own process group with PR_SET_PDEATHSIG(SIGKILL),
 * inherits only the fds it is given, writes stdout and stderr to a log
 * file, and is ended with SIGTERM to the group and to the process
 * itself (it may have left its group), up to 200 ms of grace, then
 * SIGKILL to both. The harness is a child subreaper (target_setup), so
 * grandchildren left in the group are reaped too.
 */
#ifndef VHU_TARGET_H
#define VHU_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TARGET_MAX_ARGS 64
#define TARGET_STOP_GRACE_MS 200

/* Values for the placeholders of a command template; NULL leaves the
 * placeholder as written. */
struct target_subst {
	const char *fd;         /* {fd} */
	const char *socket;     /* {socket} */
	const char *control;    /* {control} */
	const char *shmem_bit;  /* {shmem_bit} */
};

struct target_argv {
	unsigned argc;
	char *argv[TARGET_MAX_ARGS + 1]; /* NULL-terminated, into buf */
	char buf[8192];
};

/*
 * Splits a command template into words: blanks separate words, '...'
 * keeps everything literally, "..." keeps blanks (\" and \\ escape), a
 * backslash outside quotes escapes the next character. Placeholders are
 * replaced inside words. 0, or -EINVAL / -E2BIG with a message.
 */
int target_split(const char *tmpl, const struct target_subst *s,
		 struct target_argv *out, char *err, size_t errcap);
/* Whether the template names the placeholder, e.g. "{control}". */
bool target_cmd_has(const char *tmpl, const char *placeholder);

struct target {
	pid_t pid;              /* 0: nothing launched */
	int pidfd;              /* readable once it ended; -1 if unavailable */
	bool ended;             /* reaped */
	bool stopped;           /* target_stop() done */
	bool exited;            /* ended by exit(): exit_code is valid */
	int exit_code;
	int signal;             /* ended by this signal, else 0 */
	bool sent_term;         /* target_stop() sent SIGTERM while it ran */
	bool sent_kill;         /* ... and SIGKILL */
};

/* Makes this process a child subreaper. Call once, early. 0 or -errno. */
int target_setup(void);
void target_init(struct target *t);

/*
 * Launches argv with the fds in keep inherited (same numbers), stdin
 * from /dev/null, stdout and stderr appended to log_path (or /dev/null
 * when NULL). Returns 0 once the program is executing, or -errno with a
 * message (e.g. the program does not exist).
 */
int target_spawn(struct target *t, char *const argv[], const int *keep,
		 unsigned nkeep, const char *log_path, char *err,
		 size_t errcap);

/* Reaps the target if it ended. 1 ended, 0 running (or none), -errno. */
int target_poll(struct target *t);
/* Waits until the target ends or the deadline (chan_now_ms scale).
 * 1 ended, 0 deadline. */
int target_wait(struct target *t, int64_t deadline);
/* An fd that polls readable when the target ends, or -1. */
int target_pollfd(const struct target *t);
/* Ends the process and its group (see above) and reaps them, within
 * TARGET_STOP_GRACE_MS plus what SIGKILL takes. Idempotent. */
void target_stop(struct target *t);
/* Whether the target ended by a signal target_stop() sent: the
 * harness's doing, not the target's. */
bool target_killed_by_us(const struct target *t);

/* "SIGSEGV", or "SIG<n>" for signals without a name here. */
const char *target_signal_name(int sig, char *buf, size_t cap);

#endif
