/* SPDX-License-Identifier: MIT */
/*
 * A case being run (harness/engine/run.h) on real sockets, without a
 * target process, for the unit tests of the engine's parts (session,
 * splitsend, expect, checks, refusal, ...): the test plays the target on
 * the other end of the main channel (and of the back-end and control
 * channels when it opens them).
 */
#ifndef VHURUN_H
#define VHURUN_H

#include "engine.h"
#include "run.h"

struct vt_run {
	struct runenv env;
	struct script_case c;
	struct script_step st;      /* the current step: x.st points here */
	struct result r;
	struct run x;
	struct chan peer_main;      /* the target's end of the main channel */
	struct chan peer_backend;   /* fd -1 until vt_run_backend() */
	int peer_ctl;               /* -1 until vt_run_control() */
	bool parsed;                /* c came from vt_run_case() */
};

/* A run in ROLE with its main channel connected to t->peer_main; the
 * step is a plain one at line 1 with a 1000 ms window. Free with
 * vt_run_free(). */
struct vt_run *vt_run_new(enum script_role role);
/* The same for the case TEXT (a whole .vhu file, id t; it must parse):
 * its role, level and steps; x.st is its first step. vt_run_at() makes
 * step i the current one. */
struct vt_run *vt_run_case(const char *text);
void vt_run_at(struct vt_run *t, unsigned i);
/* Connects the back-end channel: the run's end in the session, the
 * target's in t->peer_backend. */
void vt_run_backend(struct vt_run *t);
/* Connects the control line: the target's end in t->peer_ctl. */
void vt_run_control(struct vt_run *t);
void vt_run_free(struct vt_run *t);

#endif
