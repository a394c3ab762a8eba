/* SPDX-License-Identifier: MIT */
/*
 * engine: runs one parsed case against a fresh target and judges it
 * (docs/architecture.md, docs/writing-cases.md).
 *
 * Per case: launch the target (or connect to a running one), run the
 * steps with the case deadline over everything, grade each expectation,
 * stop the target, and fill a struct result with the verdict.
 */
#ifndef VHU_ENGINE_H
#define VHU_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "result.h"
#include "script.h"

/* Who listens on {socket}. */
enum engine_listener {
	ENGINE_LISTENER_DEFAULT = 0, /* the back-end, as vhost-user daemons do */
	ENGINE_LISTENER_HARNESS,
	ENGINE_LISTENER_TARGET,
};

/* What stays the same for every case of a run. */
struct engine_env {
	enum script_role role;
	const char *target_cmd;     /* NULL with connect_path / listen_path */
	const char *connect_path;   /* --connect: the target listens there */
	const char *listen_path;    /* --listen: the target connects there */
	pid_t target_pid;           /* --target-pid, 0 when not given */
	unsigned shmem_bit;
	double timeout_mult;
	const char *trace_dir;      /* NULL: no trace files */
	enum engine_listener listener;
	int cancel_fd;              /* readable: stop now (a signalfd), or -1 */
	/* --launch-ahead: while a case runs, the next case's target is
	 * launched (a fresh process of its own), so that its start overlaps
	 * the current case; launch.h. next: the case to launch ahead for. */
	bool launch_ahead;
	const struct script_case *next;
	struct run *ahead;          /* engine's own: the target launched ahead */

	/* engine_env_open() fills these. */
	char tmpdir[256];           /* private: sockets, stderr without traces */
	int listen_fd;              /* for --listen */
	unsigned seq;               /* cases run so far */
};

/* Checks the settings, makes the private temp dir and, for --listen, the
 * listening socket. 0 or -errno with a message. */
int engine_env_open(struct engine_env *e, char *err, size_t errcap);
void engine_env_close(struct engine_env *e);

enum engine_rc {
	ENGINE_DONE = 0,        /* r holds the case's result */
	ENGINE_INTERRUPTED = 1, /* cancel_fd fired: r is an ERROR "interrupted" */
};

/* Runs case c. Returns an enum engine_rc; r is always filled. */
int engine_run(struct engine_env *e, const struct script_case *c,
	       struct result *r);

struct run;
/* Called with the live case after its steps, when they did not stop it. */
typedef void (*engine_then_fn)(struct run *x, void *arg);
/* engine_run(), and then(x, arg) before the target is stopped: a check
 * that launches and handshakes as a case does (ctlcheck.h). */
int engine_run_then(struct engine_env *e, const struct script_case *c,
		    struct result *r, engine_then_fn then, void *arg);

#endif
