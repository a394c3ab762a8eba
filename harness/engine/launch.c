/* SPDX-License-Identifier: MIT */
/* launch: a case's target launched or attached to, and connected (launch.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "runenv.h"
#include "handshake.h"
#include "launch.h"

/* Where the target's stderr goes: kept beside the trace, or a temp file. */
static void set_stderr_path(struct run *x)
{
	const struct runenv *e = x->env;

	x->keep_stderr = e->trace_dir != NULL;
	if (e->trace_dir)
		snprintf(x->stderr_path, sizeof(x->stderr_path), "%s/%s.stderr",
			 e->trace_dir, x->c->id);
	else
		snprintf(x->stderr_path, sizeof(x->stderr_path), "%s/case-%u.stderr",
			 e->tmpdir, x->seq);
}

static FILE *open_trace(struct run *x)
{
	const struct runenv *e = x->env;
	FILE *f;

	set_stderr_path(x);
	if (!e->trace_dir)
		return NULL;
	snprintf(x->r->trace, sizeof(x->r->trace), "%s/%s.trace", e->trace_dir,
		 x->c->id);
	f = fopen(x->r->trace, "we");
	if (!f)
		x->r->trace[0] = '\0';
	return f;
}

/* {socket}: waits for the connection, watching the target meanwhile. */
static int await_connection(struct run *x, bool we_listen, int64_t deadline)
{
	for (;;) {
		int64_t slice = chan_now_ms() + 20;
		int fd;

		if (slice > deadline)
			slice = deadline;
		fd = we_listen ? chan_accept(x->sock_listen_fd, slice)
			       : chan_connect(x->sock_path, slice);
		if (fd >= 0 || fd != -ETIMEDOUT)
			return fd;
		if (x->tgt.pid > 0 && target_poll(&x->tgt) == 1)
			return -ECHILD;
		if (chan_now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

static bool harness_listens(const struct run *x)
{
	if (x->env->listener == RUNENV_LISTENER_DEFAULT)
		return x->c->role == SCRIPT_ROLE_BACKEND;
	return x->env->listener == RUNENV_LISTENER_HARNESS;
}

struct launch_fds {
	int main[2];
	int ctl[2];
	char fd_s[16], ctl_s[16], bit_s[16];
};

static int make_launch_fds(struct run *x, struct launch_fds *l, bool has_fd,
			   bool has_sock, char *err, size_t errcap)
{
	int rc = 0;

	if (has_fd && (rc = chan_socketpair(l->main)) < 0)
		goto fail;
	if (x->speaks_control && (rc = chan_socketpair(l->ctl)) < 0)
		goto fail;
	if (has_sock) {
		snprintf(x->sock_path, sizeof(x->sock_path), "%s/s%u.sock",
			 x->env->tmpdir, x->seq);
		if (harness_listens(x) &&
		    (rc = x->sock_listen_fd = chan_listen(x->sock_path)) < 0)
			goto fail;
	}
	snprintf(l->fd_s, sizeof(l->fd_s), "%d", l->main[1]);
	snprintf(l->ctl_s, sizeof(l->ctl_s), "%d", l->ctl[1]);
	snprintf(l->bit_s, sizeof(l->bit_s), "%u", handshake_case_bit(x));
	return 0;
fail:
	snprintf(err, errcap, "setting up the target's sockets: %s", strerror(-rc));
	return rc;
}

/* No connection on {socket}: the target's fault (a TIMEOUT, a CRASH, or
 * a failure of the case's level when it exited), or the harness's. */
static void connect_failed(struct run *x, int rc, bool we_listen)
{
	char sig[16];

	if (rc == -ECHILD && x->tgt.signal) {
		run_abort(x, RESULT_CRASH, "the target was killed by %s before it "
			  "connected", target_signal_name(x->tgt.signal, sig, sizeof(sig)));
	} else if (rc == -ECHILD) {
		run_fail(x, we_listen ? "the target connects on {socket}"
			 : "the target listens on {socket}", "the target exited "
			 "with code %d first", x->tgt.exit_code);
	} else if (rc == -ETIMEDOUT) {
		run_abort(x, RESULT_TIMEOUT, "the target did not %s %s within the "
			  "case deadline (%lld ms)", we_listen ? "connect on"
			  : "listen on", x->sock_path,
			  (long long)run_scaled(x, (int64_t)x->c->timeout_ms));
	} else {
		run_abort(x, RESULT_ERROR, "no connection on %s: %s", x->sock_path,
			  strerror(-rc));
	}
	x->stop = true;
}

/* The target's sockets made and the target spawned; *main_fd / *ctl_fd
 * get the harness's ends (or -1). 0, or -errno with err. */
static int spawn_target(struct run *x, int *main_fd, int *ctl_fd, char *err,
			size_t errcap)
{
	const char *cmd = x->env->target_cmd;
	bool has_fd = target_cmd_has(cmd, "{fd}");
	bool has_sock = target_cmd_has(cmd, "{socket}");
	struct launch_fds l = { { -1, -1 }, { -1, -1 }, "", "", "" };
	struct target_subst sub = { 0 };
	struct target_argv *argv = malloc(sizeof(*argv));
	int keep[2], nkeep = 0, rc = -ENOMEM;

	snprintf(err, errcap, "out of memory");
	if (argv && (rc = make_launch_fds(x, &l, has_fd, has_sock, err, errcap)) == 0) {
		sub.fd = has_fd ? l.fd_s : NULL;
		sub.socket = has_sock ? x->sock_path : NULL;
		sub.control = x->speaks_control ? l.ctl_s : NULL;
		sub.shmem_bit = l.bit_s;
		if (l.main[1] >= 0)
			keep[nkeep++] = l.main[1];
		if (l.ctl[1] >= 0)
			keep[nkeep++] = l.ctl[1];
		rc = target_split(cmd, &sub, argv, err, errcap);
		if (rc == 0)
			rc = target_spawn(&x->tgt, argv->argv, keep, (unsigned)nkeep,
					  x->stderr_path, err, errcap);
	}
	free(argv);
	if (l.main[1] >= 0)
		close(l.main[1]);
	if (l.ctl[1] >= 0)
		close(l.ctl[1]);
	*main_fd = l.main[0];
	*ctl_fd = l.ctl[0];
	return rc;
}

/* Launches the target (or takes the one launched ahead); *main_fd /
 * *ctl_fd get the harness's ends. */
static bool launch(struct run *x, int *main_fd, int *ctl_fd, int64_t deadline)
{
	char err[300];
	int rc;

	if (x->tgt.pid > 0) {
		*main_fd = x->ahead_main_fd;
		*ctl_fd = x->ahead_ctl_fd;
		x->ahead_main_fd = x->ahead_ctl_fd = -1;
	} else if (spawn_target(x, main_fd, ctl_fd, err, sizeof(err)) < 0) {
		run_abort(x, RESULT_ERROR, "%s", err);
		return false;
	}
	x->pid = x->tgt.pid;
	if (target_cmd_has(x->env->target_cmd, "{fd}"))
		return true;
	rc = await_connection(x, harness_listens(x), deadline);
	if (rc < 0) {
		connect_failed(x, rc, harness_listens(x));
		return false;
	}
	*main_fd = rc;
	return true;
}

/* What precheck() would refuse before any launch (engine.c). */
static bool launchable(const struct runenv *e, const struct script_case *c)
{
	bool control = target_cmd_has(e->target_cmd, "{control}");

	return c->role == e->role && (!c->requires_control || control) &&
	       (!c->requires_socket || target_cmd_has(e->target_cmd, "{socket}"));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void launch_ahead_drop(struct runenv *e)
{
	struct run *x = e->ahead;

	e->ahead = NULL;
	if (!x)
		return;
	/* hung up first: a target blocked on its first message then ends
	 * by itself instead of waiting out the stop's grace */
	close_fd(&x->sock_listen_fd);
	close_fd(&x->ahead_main_fd);
	close_fd(&x->ahead_ctl_fd);
	target_stop(&x->tgt);
	run_cleanup(x);
	free(x);
}

void launch_ahead_start(struct runenv *e, const struct script_case *c)
{
	struct run *x;
	char err[300];

	launch_ahead_drop(e);
	if (!e->target_cmd || !launchable(e, c) || !(x = calloc(1, sizeof(*x))))
		return;
	run_init(x, e, c, e->seq + 1);
	set_stderr_path(x);
	x->ahead_at = chan_now_ms();
	if (spawn_target(x, &x->ahead_main_fd, &x->ahead_ctl_fd, err, sizeof(err)) < 0) {
		x->tgt.pid = 0;         /* nothing to adopt: the case launches its own */
		target_stop(&x->tgt);
		run_cleanup(x);
		free(x);
		return;
	}
	e->ahead = x;
	e->drop_ahead = launch_ahead_drop;
}

struct run *launch_ahead_take(struct runenv *e, const struct script_case *c)
{
	struct run *x = e->ahead;
	int64_t max = (int64_t)(LAUNCH_AHEAD_MAX_MS * e->timeout_mult);

	if (!x)
		return NULL;
	if (x->c != c || chan_now_ms() - x->ahead_at > max) {
		launch_ahead_drop(e);
		return NULL;
	}
	e->ahead = NULL;
	return x;
}

/* --connect / --listen: a target that is already running. */
static bool attach(struct run *x, int *main_fd, int64_t deadline)
{
	const struct runenv *e = x->env;
	int fd = e->connect_path ? chan_connect(e->connect_path, deadline)
				 : chan_accept(e->listen_fd, deadline);

	x->pid = e->target_pid;
	if (fd < 0) {
		run_abort(x, RESULT_ERROR, "no connection %s %s: %s",
			  e->connect_path ? "to" : "on",
			  e->connect_path ? e->connect_path : e->listen_path,
			  strerror(-fd));
		return false;
	}
	*main_fd = fd;
	return true;
}

bool launch_setup(struct run *x, int64_t t0)
{
	const struct runenv *e = x->env;
	int64_t deadline = t0 + run_scaled(x, (int64_t)x->c->timeout_ms);
	int main_fd = -1, ctl_fd = -1;
	FILE *trace = open_trace(x);
	char tag[24];
	bool ok;

	snprintf(tag, sizeof(tag), "%ld-%u", (long)getpid(), x->seq);
	fdpool_init(&x->pool, tag);
	x->pool_ready = true;
	ok = e->target_cmd ? launch(x, &main_fd, &ctl_fd, deadline)
			   : attach(x, &main_fd, deadline);
	sess_init(&x->s, x->c->role, main_fd, ctl_fd,
		  x->sock_listen_fd >= 0 ? x->sock_listen_fd : e->listen_fd,
		  e->cancel_fd, e->target_cmd ? &x->tgt : NULL, trace);
	x->s.t0 = t0;
	x->s.case_deadline = deadline;
	x->s.be.single_thread = x->c->single_thread;
	x->s.shmem_bit = handshake_case_bit(x);
	if (x->c->role == SCRIPT_ROLE_BACKEND)
		handshake_first_offer(x);
	if (ok)
		sess_note(&x->s, "case %s, target pid %ld", x->c->id, (long)x->pid);
	if (ok && x->ahead_at)
		sess_note(&x->s, "target launched ahead, %lld ms before its case",
			  (long long)(t0 - x->ahead_at));
	return ok;
}
