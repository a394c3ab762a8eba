/* SPDX-License-Identifier: MIT */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "checks.h"
#include "control.h"
#include "expect.h"
#include "handshake.h"
#include "launch.h"
#include "ledger.h"
#include "refusal.h"
#include "run.h"
#include "splitsend.h"

/* How long after closing its channels the harness waits for the target
 * to end by itself before it stops it. */
#define DEATH_GRACE_MS 50
/* Trace lines appended to `observed`. */
#define TAIL_LINES 6u

/* ---- steps, both roles ---- */

static void step_fd(struct run *x)
{
	const struct script_fd *f = &x->st->u.fd;
	int rc = fdpool_add(&x->pool, f->name, f->kind, f->size);

	if (rc < 0)
		run_abort(x, RESULT_ERROR, "line %u: fd %s (%s): %s", x->st->line,
			  f->name, fdpool_kind_name(f->kind), strerror(-rc));
}

static void step_sleep(struct run *x)
{
	run_wait_ok(x, sess_pump(&x->s, chan_now_ms() + run_scaled(x, (int64_t)x->st->count),
				 NULL, NULL));
}

static bool command_is(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);

	return strncmp(line, cmd, n) == 0 && (!line[n] || line[n] == ' ');
}

/* A front-end answers start/stop/reset/reconnect before it acts; `dump`
 * is answered only once it is done, with every request served. */
static bool lifecycle_command(const char *line)
{
	static const char *const cmds[] = { "start", "stop", "reset", "reconnect" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (command_is(line, cmds[i]))
			return true;
	return false;
}

static void step_control(struct run *x)
{
	const struct script_control *ctl = &x->st->u.control;
	int64_t deadline = run_deadline(x);

	if (x->c->role == SCRIPT_ROLE_BACKEND && ctl->expect == SCRIPT_CTL_OK &&
	    command_is(ctl->line, "reconnect"))
		handshake_next_offer(x);
	/* Later steps rely on what the command did: stop when it failed. */
	if (!control_command(x, ctl->line, ctl->expect, deadline)) {
		x->stop = true;
		return;
	}
	if (x->c->role == SCRIPT_ROLE_BACKEND && ctl->expect == SCRIPT_CTL_OK &&
	    lifecycle_command(ctl->line) &&
	    run_wait_ok(x, sess_control(&x->s, "dump", deadline)) &&
	    !x->s.ctl_has_answer)
		sess_note(&x->s, "no answer to dump after '%s'", ctl->line);
}

/* The payload of send map/unmap. */
static size_t mmap_payload(const struct script_send *sd, uint8_t *out, size_t cap)
{
	struct proto_mmap m = {
		.shmid = sd->shmid,
		.fd_offset = sd->fd_offset,
		.shm_offset = sd->shm_offset,
		.len = sd->len,
		.flags = sd->flags,
	};
	int n;

	memcpy(m.padding, sd->padding, sizeof(m.padding));
	n = proto_mmap_encode(&m, out, cap);
	return n > 0 ? (size_t)n : 0;
}

static size_t send_payload(const struct run *x, uint8_t *out, size_t cap)
{
	const struct script_send *sd = &x->st->u.send;
	int n;

	if (sd->has_payload) {
		size_t len = x->st->data_len < cap ? x->st->data_len : cap;

		memcpy(out, x->st->data, len);
		return len;
	}
	if (sd->kind == SCRIPT_SEND_MAP || sd->kind == SCRIPT_SEND_UNMAP)
		return mmap_payload(sd, out, cap);
	if (sd->has_u64) {
		n = proto_u64_encode(sd->u64, out, cap);
		return n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* Raw bytes are a stream: a header may span sends, or several messages
 * share one. Every header completed counts as a request sent. */
static void track_raw(struct run *x, enum script_chan c, const uint8_t *b,
		      size_t n)
{
	struct tx_stream *t = &x->txs[c];
	struct proto_hdr h;

	while (n > 0) {
		if (t->skip > 0) {
			size_t k = t->skip < n ? (size_t)t->skip : n;

			t->skip -= k;
			b += k;
			n -= k;
			continue;
		}
		t->hdr[t->have++] = *b++;
		n--;
		if (t->have < PROTO_HDR_SIZE)
			continue;
		proto_hdr_decode(t->hdr, PROTO_HDR_SIZE, &h);
		run_note_sent(x, c, h.request, h.flags);
		t->have = 0;
		t->skip = h.size;
	}
}

static void step_send_raw(struct run *x, const int *fds, unsigned nfds)
{
	const struct script_step *st = x->st;
	int rc;

	rc = sess_send_raw(&x->s, st->on, st->data, st->data_len, fds, nfds);
	track_raw(x, st->on, st->data, st->data_len);
	if (rc != CHAN_OK)
		sess_note(&x->s, "send: %s", rc < 0 ? strerror(-rc)
				  : chan_status_name(rc));
}

/* Harness as front-end: a device reset drops the target's mappings. */
static void note_reset(struct run *x, const struct proto_hdr *h,
		       const uint8_t *payload, size_t len)
{
	uint64_t v = 1;

	if (x->c->role != SCRIPT_ROLE_FRONTEND || x->st->on != SCRIPT_MAIN)
		return;
	if (h->request == PROTO_SET_STATUS)
		proto_u64_decode(payload, len, &v);
	if (h->request == PROTO_RESET_DEVICE || h->request == PROTO_RESET_OWNER ||
	    (h->request == PROTO_SET_STATUS && v == 0))
		ledger_clear(&x->s.fe.ledger);
}

static void step_send(struct run *x)
{
	const struct script_send *sd = &x->st->u.send;
	uint8_t payload[8192 + 64];
	int fds[SCRIPT_MAX_SEND_FDS];
	struct proto_hdr h;
	size_t len, sent;
	unsigned nfds;
	int rc;

	if (!run_chan_present(x, x->st->on))
		return;
	nfds = run_resolve_fds(x, sd->fds, sd->nfds, fds);
	if (x->stop)
		return;
	if (sd->kind == SCRIPT_SEND_RAW) {
		step_send_raw(x, fds, nfds);
		return;
	}
	len = send_payload(x, payload, sizeof(payload));
	h.request = sd->request;
	h.flags = sd->has_hdr_flags ? sd->hdr_flags : PROTO_VERSION;
	if (sd->need_reply)
		h.flags |= PROTO_F_NEED_REPLY;
	h.size = sd->has_size ? sd->size : (uint32_t)len;
	sent = sd->has_truncate && sd->truncate < len ? sd->truncate : len;
	rc = sess_send(&x->s, x->st->on, &h, payload, sent, fds, nfds);
	memset(&x->txs[x->st->on], 0, sizeof(x->txs[0]));
	run_note_sent(x, x->st->on, h.request, h.flags);
	note_reset(x, &h, payload, len);
	if (rc != CHAN_OK)
		sess_note(&x->s, "send: %s", rc < 0 ? strerror(-rc)
				  : chan_status_name(rc));
}

static void step_close_backend(struct run *x)
{
	if (x->s.ch[SCRIPT_BACKEND].fd >= 0) {
		chan_close(&x->s.ch[SCRIPT_BACKEND]);
		x->s.ch[SCRIPT_BACKEND].fd = -1;
	}
	sess_note(&x->s, "closed our end of the back-end channel");
}

static void step_reply(struct run *x)
{
	const struct script_reply *rp = &x->st->u.reply;
	int i = x->reply_to >= 0 ? x->reply_to : x->s.fe.last_be_req;
	uint8_t payload[8192];
	struct proto_hdr h;
	const struct sess_rec *req;
	size_t len;
	int fd = -1;

	if (i < 0) {
		sess_note(&x->s, "line %u: no request to reply to", x->st->line);
		return;
	}
	if (!run_chan_present(x, x->st->on))
		return;
	req = &x->s.log[i];
	if (rp->has_payload) {
		len = x->st->data_len;
		memcpy(payload, x->st->data, len);
	} else {
		len = (size_t)proto_u64_encode(rp->value, payload, sizeof(payload));
	}
	if (rp->has_fd && run_resolve_fds(x, &rp->fd, 1, &fd) == 0)
		fd = -1;
	h.request = req->hdr.request;
	h.flags = rp->has_flags ? rp->flags : PROTO_VERSION | PROTO_F_REPLY;
	h.size = rp->has_size ? rp->size : (uint32_t)len;
	if (rp->has_split)
		splitsend_msg(x, x->st->on, &h, payload, len, fd >= 0 ? &fd : NULL,
			      fd >= 0 ? 1 : 0, rp->split, rp->pause_ms);
	else
		sess_send(&x->s, x->st->on, &h, payload, len,
			  fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
	if ((req->hdr.request == PROTO_BE_SHMEM_MAP ||
	     req->hdr.request == PROTO_BE_SHMEM_UNMAP) && !rp->has_payload &&
	    rp->value != 0)
		ledger_refuse_last(&x->s.fe.ledger);
	x->reply_to = -1;
}

/* The first handshake is where the target meets the case's
 * configuration: a case marked `refusal` accepts a clean refusal there. */
static void step_handshake(struct run *x)
{
	unsigned nfail = x->r->nfailures;
	bool first = !x->handshaken;

	x->handshaken = true;
	if (x->c->role == SCRIPT_ROLE_BACKEND)
		handshake_backend(x);
	else
		handshake_frontend(x);
	if (first)
		refusal_judge(x, nfail);
}

/* ---- running the steps ---- */

static void exec_step(struct run *x)
{
	switch (x->st->op) {
	case SCRIPT_FD: step_fd(x); break;
	case SCRIPT_SLEEP: step_sleep(x); break;
	case SCRIPT_CONTROL: step_control(x); break;
	case SCRIPT_HANDSHAKE: step_handshake(x); break;
	case SCRIPT_SEND: step_send(x); break;
	case SCRIPT_REPLY: step_reply(x); break;
	case SCRIPT_CLOSE_BACKEND: step_close_backend(x); break;
	case SCRIPT_MARK: checks_mark(x); break;
	case SCRIPT_HOLD:
		sess_hold(&x->s, x->st->u.hold.req, x->st->u.hold.nreq);
		sess_note(&x->s, "line %u: holding the answers to %s until "
			  "'release main'", x->st->line, x->st->u.hold.text);
		break;
	case SCRIPT_RELEASE: sess_release(&x->s); break;
	case SCRIPT_REPEAT:
	case SCRIPT_END: break;
	case SCRIPT_EXPECT_RESULT: control_expect_result(x); break;
	default:
		if (x->st->op >= SCRIPT_CHECK_ALIVE)
			checks_run(x);
		else
			expect_run(x);
		break;
	}
}

static bool cancel_pending(const struct run *x)
{
	return x->env->cancel_fd >= 0 &&
	       chan_wait_readable(x->env->cancel_fd, chan_now_ms()) == 1;
}

/* The index of the step after step i, with repeat counting. */
static unsigned next_step(struct run *x, unsigned i)
{
	const struct script_step *st = &x->c->steps[i];

	if (st->op == SCRIPT_REPEAT) {
		x->loops[i] = st->count;
		return st->count ? i + 1 : st->jump + 1;
	}
	if (st->op == SCRIPT_END)
		return --x->loops[st->jump] > 0 ? st->jump + 1 : i + 1;
	return i + 1;
}

static void exec_steps(struct run *x)
{
	unsigned i = 0;

	x->loops = calloc(x->c->nsteps ? x->c->nsteps : 1, sizeof(*x->loops));
	if (!x->loops) {
		run_abort(x, RESULT_ERROR, "out of memory");
		return;
	}
	while (i < x->c->nsteps && !x->stop) {
		x->st = &x->c->steps[i];
		/* Steps that do not wait (a long repeat of sends) still end
		 * at the case deadline or on a signal. */
		if (cancel_pending(x)) {
			run_wait_ok(x, SESS_CANCEL);
			break;
		}
		if (chan_now_ms() >= x->s.case_deadline) {
			run_wait_ok(x, SESS_CASE_DEADLINE);
			break;
		}
		exec_step(x);
		i = next_step(x, i);
	}
	free(x->loops);
	x->loops = NULL;
}

/* ---- set-up ---- */

static void fill_header(struct result *r, const struct script_case *c)
{
	result_init(r);
	result_set(r->id, sizeof(r->id), c->id);
	result_set(r->file, sizeof(r->file), c->file);
	result_set(r->title, sizeof(r->title), c->title);
	result_set(r->area, sizeof(r->area), c->area);
	result_set(r->role, sizeof(r->role), script_target_role_name(c->role));
	result_set(r->level, sizeof(r->level), script_grade_name(c->level));
	result_set(r->rule, sizeof(r->rule), c->rule);
}

/* Requirements known before anything runs. */
static bool precheck(struct run *x)
{
	const struct runenv *e = x->env;

	if (x->c->role != e->role) {
		run_abort(x, RESULT_ERROR, "the case is for a %s target, the "
			  "target is a %s", script_target_role_name(x->c->role),
			  script_target_role_name(e->role));
		return false;
	}
	if (x->c->requires_control && !x->speaks_control) {
		run_abort(x, RESULT_UNSUPPORTED, "the target has no control channel "
			  "(no {control} in its command)");
		return false;
	}
	if (x->c->requires_socket &&
	    (!e->target_cmd || !target_cmd_has(e->target_cmd, "{socket}"))) {
		run_abort(x, RESULT_UNSUPPORTED, "the target is not launched with "
			  "{socket}, so it cannot reconnect");
		return false;
	}
	if (x->c->requires_pid && !e->target_cmd && e->target_pid <= 0) {
		run_abort(x, RESULT_UNSUPPORTED, "the target is not a local process "
			  "of known pid (use --target-pid)");
		return false;
	}
	return true;
}

/* ---- the end of a case ---- */

/* A target built with a sanitizer reports a memory error and exits
 * (code 1 by default) instead of dying by a signal: still a CRASH. When
 * our stop cut the report short (it symbolizes slowly), only its fatal
 * kinds count: a recoverable "runtime error:" let the target go on. */
static bool sanitizer_report(struct run *x, bool cut_short, const char *how)
{
	static const char *const marks[] = { "ERROR: AddressSanitizer",
		"ERROR: LeakSanitizer", "ERROR: MemorySanitizer",
		"WARNING: ThreadSanitizer", "runtime error: " };
	size_t nmarks = cut_short ? 3 : sizeof(marks) / sizeof(marks[0]);
	char buf[8192], *line;
	FILE *f = fopen(x->stderr_path, "re");
	size_t n;

	if (!f)
		return false;
	/* The report is at the end of what the target wrote. */
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) < 0)
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < nmarks; i++) {
		line = strstr(buf, marks[i]);
		if (!line)
			continue;
		line[strcspn(line, "\n")] = '\0';
		run_abort(x, RESULT_CRASH, "the target %s: %.200s", how, line);
		return true;
	}
	return false;
}

/* When the target ended, as seen from the end of the case. */
enum end_phase {
	END_DURING_CASE,        /* before the harness closed its channels */
	END_AT_CLOSE,           /* by itself, once they were closed */
	END_AT_STOP,            /* while target_stop() ended it */
};

/* A death by a signal we did not send is a CRASH whenever it happens;
 * an exit is the target's only when it came before the case ended, or
 * after a sanitizer report. */
static void judge_end(struct run *x, enum end_phase when)
{
	static const char *const whens[] = {
		[END_DURING_CASE] = "",
		[END_AT_CLOSE] = " when the harness closed its channels",
		[END_AT_STOP] = " while the harness stopped it",
	};
	const struct target *t = &x->tgt;
	unsigned line = x->st ? x->st->line : 0;
	char sig[16], at[96], how[160];

	if (t->pid <= 0 || !t->ended)
		return;
	snprintf(at, sizeof(at), "after line %u%s", line, whens[when]);
	if (target_killed_by_us(t)) {
		snprintf(how, sizeof(how), "was in a sanitizer report when the "
			 "harness stopped it (%s)", at);
		if (!x->interrupted)
			sanitizer_report(x, true, how);
		return;
	}
	if (t->signal) {
		const char *name = target_signal_name(t->signal, sig, sizeof(sig));

		snprintf(x->r->signal, sizeof(x->r->signal), "%s", name);
		if (!x->interrupted)
			run_abort(x, RESULT_CRASH, "the target was killed by %s %s",
				  name, at);
		return;
	}
	snprintf(how, sizeof(how), "made a sanitizer report and exited with "
		 "code %d %s", t->exit_code, at);
	if ((!x->interrupted && t->exit_code != 0 &&
	     sanitizer_report(x, false, how)) || when == END_DURING_CASE) {
		x->r->exited = true;
		x->r->exit_code = t->exit_code;
	}
}

/* Notices a death the steps did not see, then ends the target. The
 * target gets a moment to end by itself once its channels are closed: a
 * crash on disconnect is a crash, and it must not be hidden by our
 * SIGTERM. */
static void finish_target(struct run *x)
{
	enum end_phase when = END_DURING_CASE;

	if (!x->interrupted && x->tgt.pid > 0) {
		sess_pump(&x->s, chan_now_ms(), NULL, NULL);
		target_poll(&x->tgt);
	}
	/* EOF first: a target blocked on a read ends at once, not after the
	 * SIGTERM grace. */
	sess_close_channels(&x->s);
	if (x->tgt.pid > 0 && !x->tgt.ended) {
		when = END_AT_CLOSE;
		if (!x->interrupted)
			target_wait(&x->tgt, chan_deadline(DEATH_GRACE_MS));
		if (!x->tgt.ended)
			when = END_AT_STOP;
	}
	target_stop(&x->tgt);
	if (x->tgt.pid > 0 && !x->tgt.ended)
		sess_note(&x->s, "the target (pid %ld) could not be reaped",
			  (long)x->tgt.pid);
	judge_end(x, when);
}

static enum result_verdict grade_verdict(const char *grade)
{
	if (strcmp(grade, "MUST") == 0)
		return RESULT_FAIL;
	if (strcmp(grade, "SHOULD") == 0)
		return RESULT_NON_STRICT;
	return RESULT_INFO;
}

/* UNSUPPORTED is normally decided before anything is judged. Found
 * later (a control command the target cannot carry out, a requirement of
 * a later handshake) it stops the case but does not hide what already
 * failed: the target broke a rule before we reached our limit. Its reason
 * then goes to the trace, and the failures decide as usual. */
static bool unsupported_yields(struct run *x, enum result_verdict judged)
{
	if (!x->aborted || x->abort_verdict != RESULT_UNSUPPORTED ||
	    judged == RESULT_PASS)
		return false;
	sess_note(&x->s, "%s: the case stopped here; what failed before stands",
		  x->r->reason);
	x->r->reason[0] = '\0';
	return true;
}

/* Precedence: an abort's verdict, else the worst failure's grade. */
static void decide(struct run *x)
{
	struct result *r = x->r;
	const struct result_failure *top = NULL;
	enum result_verdict v = RESULT_PASS;
	char tail[1200];
	size_t len;

	for (unsigned i = 0; i < r->nfailures; i++) {
		enum result_verdict g = grade_verdict(r->failures[i].grade);

		if (g > v) {
			v = g;
			top = &r->failures[i];
		}
	}
	if (x->aborted && !unsupported_yields(x, v))
		v = result_verdict_max(v, x->abort_verdict);
	r->verdict = v;
	if (v == RESULT_UNSUPPORTED || v == RESULT_PASS)
		return;
	if (top && (v == RESULT_FAIL || v == RESULT_NON_STRICT || v == RESULT_INFO)) {
		run_copy_cut(r->expected, sizeof(r->expected), top->expected);
		run_copy_cut(r->observed, sizeof(r->observed), top->observed);
		if (!r->reason[0] && v != RESULT_FAIL)
			run_copy_cut(r->reason, sizeof(r->reason), x->c->reason);
	}
	sess_tail(&x->s, TAIL_LINES, tail, sizeof(tail));
	len = strlen(r->observed);
	if (tail[0] && len + 2 < sizeof(r->observed))
		snprintf(r->observed + len, sizeof(r->observed) - len, "%s%s",
			 len ? "\n" : "", tail);
}

static void copy_findings(struct run *x)
{
	static const char *const sev[] = { "error", "warn", "info" };
	const struct session *s = &x->s;
	struct result *r = x->r;

	for (unsigned i = 0; i < s->nfindings && i < RESULT_MAX_FINDINGS; i++) {
		const struct sess_finding *f = &s->findings[i];
		struct result_finding *o = &r->findings[r->nfindings++];

		run_copy_cut(o->code, sizeof(o->code),
			     script_finding_name((int)f->f.code));
		run_copy_cut(o->severity, sizeof(o->severity),
			     (unsigned)f->f.severity < 3 ? sev[f->f.severity] : "info");
		run_copy_cut(o->msg, sizeof(o->msg), f->msg);
		run_copy_cut(o->text, sizeof(o->text), f->f.text);
	}
	r->findings_dropped = s->findings_dropped +
			      (s->nfindings > RESULT_MAX_FINDINGS
				       ? s->nfindings - RESULT_MAX_FINDINGS : 0);
}

static double now_exact_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int engine_run(struct runenv *e, const struct script_case *c,
	       struct result *r)
{
	return engine_run_then(e, c, r, NULL, NULL);
}

int engine_run_then(struct runenv *e, const struct script_case *c,
		    struct result *r, engine_then_fn then, void *arg)
{
	struct run *x = launch_ahead_take(e, c);
	double t_start = now_exact_ms();
	int rc;

	fill_header(r, c);
	e->seq++;
	if (!x && (x = calloc(1, sizeof(*x))) != NULL)
		run_init(x, e, c, e->seq);
	if (!x) {
		result_set(r->reason, sizeof(r->reason), "out of memory");
		r->verdict = RESULT_ERROR;
		return ENGINE_DONE;
	}
	x->r = r;
	if (precheck(x) && launch_setup(x, chan_now_ms())) {
		/* this case's target is up: the next one's start overlaps it */
		if (e->launch_ahead && e->next)
			launch_ahead_start(e, e->next);
		exec_steps(x);
		if (then && !x->stop)
			then(x, arg);
	}
	finish_target(x);
	decide(x);
	copy_findings(x);
	r->pid = x->pid;
	run_cleanup(x);
	r->duration_ms = now_exact_ms() - t_start;
	rc = x->interrupted ? ENGINE_INTERRUPTED : ENGINE_DONE;
	free(x);
	return rc;
}
