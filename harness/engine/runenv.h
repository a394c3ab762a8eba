/* SPDX-License-Identifier: MIT */
/*
 * runenv: what stays the same for every case of a harness run (the
 * target command or address, the SHMEM bit, the timeout multiplier,
 * the trace dir, the private temp dir), checked once before any case.
 *
 * Its own module, below engine, so that the engine's parts (run, launch,
 * handshake) read the settings without including the engine that
 * includes them.
 */
#ifndef VHU_RUNENV_H
#define VHU_RUNENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "scriptcase.h"

struct run;

/* Who listens on {socket}. */
enum runenv_listener {
	RUNENV_LISTENER_DEFAULT = 0, /* the back-end, as vhost-user daemons do */
	RUNENV_LISTENER_HARNESS,
	RUNENV_LISTENER_TARGET,
};

/* What stays the same for every case of a run. */
struct runenv {
	enum script_role role;
	const char *target_cmd;     /* NULL with connect_path / listen_path */
	const char *connect_path;   /* --connect: the target listens there */
	const char *listen_path;    /* --listen: the target connects there */
	pid_t target_pid;           /* --target-pid, 0 when not given */
	unsigned shmem_bit;
	double timeout_mult;
	const char *trace_dir;      /* NULL: no trace files */
	enum runenv_listener listener;
	int cancel_fd;              /* readable: stop now (a signalfd), or -1 */
	/* --launch-ahead: while a case runs, the next case's target is
	 * launched (a fresh process of its own), so that its start overlaps
	 * the current case; launch.h. next: the case to launch ahead for. */
	bool launch_ahead;
	const struct script_case *next;
	struct run *ahead;          /* launch.h's: the target launched ahead */
	/* Set with ahead by launch.h: stops it (runenv_close calls it). */
	void (*drop_ahead)(struct runenv *e);

	/* runenv_open() fills these. */
	char tmpdir[256];           /* private: sockets, stderr without traces */
	int listen_fd;              /* for --listen */
	unsigned seq;               /* cases run so far */
};

/* Checks the settings, makes the private temp dir and, for --listen, the
 * listening socket. 0 or -errno with a message. */
int runenv_open(struct runenv *e, char *err, size_t errcap);
void runenv_close(struct runenv *e);

#endif
