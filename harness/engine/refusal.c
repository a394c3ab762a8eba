/* SPDX-License-Identifier: MIT */
#include "refusal.h"

#include <stdio.h>
#include <string.h>

#include "chan.h"

/* How long a target that broke off the handshake gets to show how it
 * ended: the exit that follows its EOF, or the signal that killed it. */
#define SETTLE_MS 200
/* The end of the target's stderr read for its last line. */
#define STDERR_TAIL 4096

static bool launched(const struct session *s)
{
	return s->tgt && s->tgt->pid > 0;
}

/* The target left: it closed the main channel, or it ended. */
static bool left(struct session *s, void *arg)
{
	(void)arg;
	return s->eof[SCRIPT_MAIN] || (launched(s) && s->tgt->ended);
}

/* Lets the target finish leaving. A death by a signal found here stops
 * the case as the CRASH it is (run_wait_ok). */
static void settle(struct run *x)
{
	int64_t until = chan_now_ms() + run_scaled(x, SETTLE_MS);

	if (!run_wait_ok(x, sess_pump(&x->s, until, left, NULL)))
		return;
	/* A process closes its fds as it exits: wait for the exit itself,
	 * so that the reason says which it was. */
	if (x->s.eof[SCRIPT_MAIN] && launched(&x->s) && !x->s.tgt->ended)
		target_wait(x->s.tgt, until);
	run_drain(x);
}

/* The last non-blank line of the target's stderr (a refusing program
 * says why there), or "". */
static void last_stderr_line(const char *path, char *out, size_t cap)
{
	char buf[STDERR_TAIL + 1], *end, *start;
	FILE *f = path[0] ? fopen(path, "re") : NULL;
	size_t n;

	out[0] = '\0';
	if (!f)
		return;
	if (fseek(f, -(long)STDERR_TAIL, SEEK_END) < 0)
		rewind(f);
	n = fread(buf, 1, STDERR_TAIL, f);
	fclose(f);
	buf[n] = '\0';
	end = buf + strlen(buf);
	while (end > buf && strchr(" \t\r\n", end[-1]))
		end--;
	*end = '\0';
	start = strrchr(buf, '\n');
	run_copy_cut(out, cap, start ? start + 1 : buf);
}

/* "exit 1 before the device started: <why>" or the closed connection. */
static void describe(struct run *x, char *out, size_t cap)
{
	char line[300];

	if (!launched(&x->s) || !x->s.tgt->ended) {
		snprintf(out, cap, "closed the connection before the device "
			 "started");
		return;
	}
	last_stderr_line(x->stderr_path, line, sizeof(line));
	snprintf(out, cap, "exit %d before the device started%s%s",
		 x->s.tgt->exit_code, line[0] ? ": " : "", line);
}

/* The handshake could not complete because the target refused: what that
 * step recorded is no failure of the target's. Kept in the trace. */
static void forgive(struct run *x, unsigned nfail)
{
	struct result *r = x->r;

	for (unsigned i = nfail; i < r->nfailures; i++)
		sess_note(&x->s, "line %u: not judged (a refusal the case allows): "
			  "%.200s: %.200s", r->failures[i].line,
			  r->failures[i].expected, r->failures[i].observed);
	if (r->nfailures > nfail)
		r->nfailures = nfail;
}

static enum result_verdict refusal_verdict(enum script_refusal g)
{
	switch (g) {
	case SCRIPT_REFUSAL_NON_STRICT: return RESULT_NON_STRICT;
	case SCRIPT_REFUSAL_INFO: return RESULT_INFO;
	default: return RESULT_PASS;
	}
}

void refusal_judge(struct run *x, unsigned nfail)
{
	char how[400];

	if (x->c->refusal == SCRIPT_REFUSAL_NONE || x->aborted || !run_drain(x))
		return;
	/* The handshake completed and the target is still with us: it took
	 * the configuration. (A lost control channel is a sign it did not:
	 * the channel's owner went with the device.) */
	if (!x->stop && !left(&x->s, NULL) &&
	    !(x->speaks_control && x->s.ctl_fd < 0))
		return;
	settle(x);
	if (x->aborted || !left(&x->s, NULL))
		return;
	describe(x, how, sizeof(how));
	forgive(x, nfail);
	sess_note(&x->s, "the target refused the configuration: %s", how);
	run_abort(x, refusal_verdict(x->c->refusal), "refused the configuration: "
		  "%s", how);
}
