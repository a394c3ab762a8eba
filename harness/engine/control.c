/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

/* `version 2` once per case (docs/control.md, "Version"). */
static bool negotiate(struct run *x, int64_t deadline)
{
	enum sess_wait w = sess_control(&x->s, "version 2", deadline);
	int v;

	if (!run_wait_ok(x, w))
		return false;
	if (!x->s.ctl_has_answer) {
		char obs[256];

		run_nothing_seen(x, w, obs, sizeof(obs));
		run_fail(x, "an answer to 'version 2' (docs/control.md)", "%s",
			 x->s.ctl_fd < 0 ? "the control channel closed" : obs);
		return false;
	}
	v = ctlanswer_version(x->s.ctl_answer);
	if (v > CONTROL_VERSION_MAX) {
		run_abort(x, RESULT_ERROR, "control protocol version %d; this "
			  "harness speaks 1 and 2", v);
		return false;
	}
	if (v < 0) {
		run_fail(x, "'ok version=N' or 'err ...' to 'version 2'",
			 "%.400s", x->s.ctl_answer);
		return false;
	}
	x->ctl.version = v;
	sess_note(&x->s, "control protocol version %d", v);
	return true;
}

/* The first kept answer still to come, or NULL. */
static struct ctlanswer *awaited(struct run *x)
{
	for (unsigned i = 0; i < x->ctl.n; i++)
		if (!x->ctl.a[i].came)
			return &x->ctl.a[i];
	return NULL;
}

/* Answers that came go to the commands waiting for them, in order. */
static void take_answers(struct run *x)
{
	struct ctlanswer *a;

	while (x->s.ctl_has_answer && (a = awaited(x)) != NULL) {
		run_copy_cut(a->text, sizeof(a->text), x->s.ctl_answer);
		a->came = true;
		sess_ctl_next(&x->s);
	}
	if (!awaited(x) && x->s.ctl_queue) {
		x->s.ctl_queue = false;
		if (!x->s.ctl_has_answer)
			sess_ctl_next(&x->s);
	}
}

static bool all_came(struct session *s, void *arg)
{
	struct run *x = arg;

	take_answers(x);
	return !awaited(x) || s->ctl_fd < 0;
}

/* Waits for every pending answer until deadline; false (with the reason
 * recorded) when one did not come. */
static bool settle(struct run *x, int64_t deadline, const char *why)
{
	enum sess_wait w = SESS_MET;
	char expected[400], obs[256];
	const struct ctlanswer *a;

	if (all_came(&x->s, x))
		return true;
	w = sess_pump(&x->s, deadline, all_came, x);
	a = awaited(x);
	if (!a)
		return true;
	if (!run_wait_ok(x, w))
		return false;
	snprintf(expected, sizeof(expected), "the answer to '%.300s' %s",
		 a->cmd, why);
	run_nothing_seen(x, w, obs, sizeof(obs));
	run_fail(x, expected, "%s", x->s.ctl_fd < 0
		 ? "the control channel closed" : obs);
	return false;
}

static bool is_map_cmd(const char *line)
{
	return ctlanswer_is(line, "map") || ctlanswer_is(line, "unmap");
}

/* A version 2 map/unmap wanting ok goes out behind pending ones: the
 * target queues it (a back-end sends nothing while a reply is due). */
static bool queues(const struct run *x, const char *line, bool want_ok)
{
	return x->ctl.version >= 2 && want_ok && is_map_cmd(line);
}

bool control_prepare(struct run *x, const char *line, bool want_ok,
		     int64_t deadline)
{
	if (x->ctl.version == 0 && !negotiate(x, deadline))
		return false;
	take_answers(x);
	if (queues(x, line, want_ok))
		return true;
	return settle(x, deadline, "before the next control command");
}

/* Keeps room for one more answer: the oldest judged-never ones go. */
static struct ctlanswer *new_answer(struct run *x, const char *line)
{
	struct ctlanswer *a;

	if (x->ctl.n == CTLANSWER_MAX) {
		memmove(&x->ctl.a[0], &x->ctl.a[1],
			--x->ctl.n * sizeof(x->ctl.a[0]));
	}
	a = &x->ctl.a[x->ctl.n++];
	memset(a, 0, sizeof(*a));
	run_copy_cut(a->cmd, sizeof(a->cmd), line);
	return a;
}

struct went_out {
	unsigned from;          /* log records before the command */
};

/* The answer came, or the request went out: something new arrived on
 * the back-end channel. */
static bool answered_or_sent(struct session *s, void *arg)
{
	const struct went_out *g = arg;

	if (s->ctl_has_answer || s->ctl_fd < 0)
		return true;
	for (unsigned i = g->from; i < s->nlog; i++)
		if (s->log[i].chan == SCRIPT_BACKEND)
			return true;
	return false;
}

enum sess_wait control_exchange(struct run *x, const char *line,
				int64_t deadline)
{
	struct went_out g = { x->s.nlog };
	bool behind = awaited(x) != NULL;
	enum sess_wait w;

	if (x->ctl.version < 2 || !is_map_cmd(line))
		return sess_control(&x->s, line, deadline);
	w = sess_control_send(&x->s, line, deadline);
	if (w != SESS_MET)
		return w;
	new_answer(x, line);
	x->s.ctl_queue = true;
	if (behind) {
		sess_note(&x->s, "control: '%s' queued behind a pending answer",
			  line);
		return SESS_MET;
	}
	w = sess_pump(&x->s, deadline, answered_or_sent, &g);
	if (x->s.ctl_has_answer || !answered_or_sent(&x->s, &g)) {
		/* Answered before anything went out (or nothing at all):
		 * judged by the step as in version 1. */
		x->ctl.n--;
		x->s.ctl_queue = false;
		return w;
	}
	sess_note(&x->s, "control: '%s' went out; its answer is pending",
		  line);
	return w;
}

bool control_is_pending(const struct run *x)
{
	return x->ctl.n > 0 && !x->ctl.a[x->ctl.n - 1].came &&
	       !x->s.ctl_has_answer;
}

void control_keep_result(struct run *x, const char *line)
{
	struct ctlanswer *a;

	if (x->ctl.version < 2 || !is_map_cmd(line))
		return;
	a = new_answer(x, line);
	run_copy_cut(a->text, sizeof(a->text), x->s.ctl_answer);
	a->came = true;
}

static const char *const want_text[] = {
	[SCRIPT_RESULT_OK] = "ok result=0",
	[SCRIPT_RESULT_FAIL] = "ok result=fail",
	[SCRIPT_RESULT_SENT] = "ok result=sent",
	[SCRIPT_RESULT_ANY] = "ok result=0|fail|sent",
	[SCRIPT_RESULT_NOT_OK] = "no ok result=0 (fail, or no outcome yet)",
};

static bool outcome_wanted(enum script_result want, enum ctlanswer_outcome o)
{
	switch (want) {
	case SCRIPT_RESULT_OK: return o == CTLANSWER_OK;
	case SCRIPT_RESULT_FAIL: return o == CTLANSWER_FAIL;
	case SCRIPT_RESULT_SENT: return o == CTLANSWER_SENT;
	case SCRIPT_RESULT_ANY: return o != CTLANSWER_BAD;
	case SCRIPT_RESULT_NOT_OK: return o == CTLANSWER_FAIL;
	}
	return false;
}

/* Answers judged before they came leave once they came. */
static void drop_judged(struct run *x)
{
	while (x->ctl.n > 0 && x->ctl.a[0].judged && x->ctl.a[0].came)
		memmove(&x->ctl.a[0], &x->ctl.a[1],
			--x->ctl.n * sizeof(x->ctl.a[0]));
}

/* The oldest kept answer, waited for; NULL when the case stops, the
 * step failed, or (not-ok) no outcome came in the window. */
static int first_open(const struct run *x)
{
	for (unsigned i = 0; i < x->ctl.n; i++)
		if (!x->ctl.a[i].judged)
			return (int)i;
	return -1;
}

static int oldest_answer(struct run *x)
{
	int k;

	if (x->ctl.version == 1) {
		/* Our limit: an earlier failure stands (decided at the end). */
		run_abort(x, RESULT_UNSUPPORTED, "the target speaks control "
			  "protocol 1: it reports no outcome");
		return -1;
	}
	drop_judged(x);
	if ((k = first_open(x)) < 0) {
		run_abort(x, RESULT_ERROR, "line %u: 'expect result' without a "
			  "control map or unmap before it", x->st->line);
		return -1;
	}
	if (!x->ctl.a[k].came) {
		enum sess_wait w = sess_pump(&x->s, run_deadline(x), all_came, x);
		char obs[256];

		drop_judged(x);
		k = first_open(x);
		if (k < 0)
			return -1; /* cannot be: only judged answers go */
		if (!x->ctl.a[k].came) {
			if (!run_wait_ok(x, w))
				return -1;
			if (x->st->u.result == SCRIPT_RESULT_NOT_OK) {
				/* Still waiting is not success; its late
				 * answer is taken and dropped. */
				x->ctl.a[k].judged = true;
				sess_note(&x->s, "line %u: no outcome for '%.300s' "
					  "yet: not reported as success",
					  x->st->line, x->ctl.a[k].cmd);
				return -1;
			}
			run_nothing_seen(x, w, obs, sizeof(obs));
			run_fail(x, "an answer carrying the outcome (docs/control.md)",
				 "'%.300s': %s", x->ctl.a[k].cmd, x->s.ctl_fd < 0
				 ? "the control channel closed" : obs);
			return -1;
		}
	}
	return k;
}

void control_expect_result(struct run *x)
{
	enum script_result want = x->st->u.result;
	int k = oldest_answer(x);
	struct ctlanswer *a;
	char expected[400], text[512], cmd[256];
	enum ctlanswer_outcome o;

	if (k < 0)
		return;
	a = &x->ctl.a[k];
	run_copy_cut(cmd, sizeof(cmd), a->cmd);
	snprintf(expected, sizeof(expected), "'%.300s' answered %s", a->cmd,
		 want_text[want]);
	run_copy_cut(text, sizeof(text), a->text);
	memmove(&x->ctl.a[k], &x->ctl.a[k + 1],
		(--x->ctl.n - (unsigned)k) * sizeof(x->ctl.a[0]));
	o = ctlanswer_outcome(text, NULL);
	if (o == CTLANSWER_BAD && strncmp(text, "err unsupported", 15) == 0) {
		run_abort(x, RESULT_UNSUPPORTED, "control %.*s: unsupported by "
			  "the target: %.300s", (int)strcspn(cmd, " "), cmd, text);
		return;
	}
	if (!outcome_wanted(want, o))
		run_fail(x, expected, "%.400s", text);
	else
		sess_note(&x->s, "control: reported %s", text);
}

bool control_command(struct run *x, const char *line,
		     enum script_ctl_expect want, int64_t deadline)
{
	enum sess_wait w;
	char expected[320], obs[256];
	const char *why;

	if (!control_prepare(x, line, want == SCRIPT_CTL_OK, deadline))
		return false;
	w = control_exchange(x, line, deadline);
	if (!run_wait_ok(x, w))
		return false;
	snprintf(expected, sizeof(expected), "control '%s' answered %s", line,
		 want == SCRIPT_CTL_OK ? "ok" : "err");
	if (!x->s.ctl_has_answer && control_is_pending(x)) {
		/* Version 2: the request went out, its outcome comes later. */
		if (want == SCRIPT_CTL_OK)
			return true;
		run_fail(x, expected, "no refusal: the request went out on the "
			 "back-end channel");
		return false;
	}
	if (!x->s.ctl_has_answer) {
		run_nothing_seen(x, w, obs, sizeof(obs));
		run_fail(x, expected, "%s", x->s.ctl_fd < 0 ? "the control channel closed"
				 : obs);
		return false;
	}
	/* Our limit, not the target's failure: whatever expect= wanted. */
	why = ctlanswer_unsupported(x->s.ctl_answer);
	if (why) {
		run_abort(x, RESULT_UNSUPPORTED, "control %.*s: unsupported by the "
			  "target: %.300s", (int)strcspn(line, " "), line, why);
		return false;
	}
	if (!ctlanswer_is(x->s.ctl_answer, want == SCRIPT_CTL_OK ? "ok" : "err")) {
		run_fail(x, expected, "%.400s", x->s.ctl_answer);
		return false;
	}
	if (want == SCRIPT_CTL_OK)
		control_keep_result(x, line);
	return true;
}
