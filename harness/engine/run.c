/* SPDX-License-Identifier: MIT */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "protoname.h"
#include "protoval.h"
#include "runenv.h"

void run_copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int64_t run_scaled(const struct run *x, int64_t ms)
{
	double v = (double)ms * x->env->timeout_mult;

	return v > 3.6e9 ? (int64_t)3.6e9 : (int64_t)v;
}

int64_t run_deadline(const struct run *x)
{
	return chan_now_ms() + run_scaled(x, x->st->within_ms);
}

/* Stops the case with a verdict that no expectation decides (CRASH,
 * TIMEOUT, DEADLOCK, ERROR, UNSUPPORTED). */
void run_abort(struct run *x, enum result_verdict v, const char *fmt,
	       ...)
{
	va_list ap;

	x->stop = true;
	if (x->aborted && result_verdict_max(x->abort_verdict, v) ==
	    x->abort_verdict)
		return;
	x->aborted = true;
	x->abort_verdict = v;
	va_start(ap, fmt);
	vsnprintf(x->r->reason, sizeof(x->r->reason), fmt, ap);
	va_end(ap);
}

/* A `require` step failed: the event the rule needs did not happen.
 * Nothing judged so far failed: the rule was not exercised
 * (UNSUPPORTED); else what failed stands. Either way the case stops. */
static void not_exercised(struct run *x, const char *expected,
			  const char *observed)
{
	x->stop = true;
	if (x->r->nfailures > 0)
		return;
	run_abort(x, RESULT_UNSUPPORTED, "not exercised: line %u: %s did not "
		  "happen (%s)", x->st->line, expected, observed);
}

/* A failed expectation of the current step, graded by it; before the
 * first step (at launch), by the case's level, and the case stops. */
void run_fail(struct run *x, const char *expected, const char *fmt, ...)
{
	struct result *r = x->r;
	struct result_failure *f;
	va_list ap;

	if (x->st && x->st->is_require) {
		char obs[300];

		va_start(ap, fmt);
		vsnprintf(obs, sizeof(obs), fmt, ap);
		va_end(ap);
		not_exercised(x, expected, obs);
		return;
	}
	if (!x->st || x->st->is_assert)
		x->stop = true;
	if (r->nfailures == RESULT_MAX_FAILURES) {
		r->failures_dropped++;
		return;
	}
	f = &r->failures[r->nfailures++];
	f->line = x->st ? x->st->line : 0;
	snprintf(f->grade, sizeof(f->grade), "%s",
		 script_grade_name(x->st ? x->st->grade : x->c->level));
	run_copy_cut(f->expected, sizeof(f->expected), expected);
	va_start(ap, fmt);
	vsnprintf(f->observed, sizeof(f->observed), fmt, ap);
	va_end(ap);
}

/* What the target process is doing, for "observed" texts. */
void run_target_state(struct run *x, char *out, size_t cap)
{
	char sig[16];

	if (x->tgt.ended && x->tgt.signal)
		snprintf(out, cap, "; the target was killed by %s",
			 target_signal_name(x->tgt.signal, sig, sizeof(sig)));
	else if (x->tgt.ended)
		snprintf(out, cap, "; the target exited with code %d",
			 x->tgt.exit_code);
	else
		out[0] = '\0';
}

/* After a wait: false when the case must stop (the reason is kept). */
bool run_wait_ok(struct run *x, enum sess_wait w)
{
	char sig[16];

	switch (w) {
	case SESS_MET:
	case SESS_DEADLINE:
	case SESS_GONE:
		return true;
	case SESS_CASE_DEADLINE:
		run_abort(x, RESULT_TIMEOUT, "the case deadline (%llu ms) passed "
			  "at line %u", (unsigned long long)run_scaled(x, (int64_t)x->c->timeout_ms),
			  x->st->line);
		return false;
	case SESS_CRASH:
		run_abort(x, RESULT_CRASH, "the target was killed by %s at line %u",
			  target_signal_name(x->tgt.signal, sig, sizeof(sig)),
			  x->st->line);
		return false;
	case SESS_CANCEL:
		x->interrupted = true;
		run_abort(x, RESULT_ERROR, "interrupted");
		return false;
	case SESS_FAULT:
		run_abort(x, RESULT_ERROR, "line %u: %s", x->st->line, x->s.fault);
		return false;
	}
	return false;
}

const char *run_req_name(enum script_chan c, uint32_t req, char *buf,
			 size_t cap)
{
	const char *n = proto_req_name((enum proto_chan)c, req);

	if (n)
		return n;
	snprintf(buf, cap, "request %u", req);
	return buf;
}

/* "nothing within 500 ms" plus the target's state. */
void run_nothing_seen(struct run *x, enum sess_wait w, char *out, size_t cap)
{
	char ts[96];

	run_target_state(x, ts, sizeof(ts));
	if (w == SESS_GONE)
		snprintf(out, cap, "nothing: the channels are closed%s", ts);
	else
		snprintf(out, cap, "nothing within %lld ms%s",
			 (long long)run_scaled(x, x->st->within_ms), ts);
}


/* fd names to numbers; closed ones cannot travel and are left out. */
unsigned run_resolve_fds(struct run *x, const char (*names)[FDPOOL_NAME_MAX],
			 unsigned n, int *fds)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct fdpool_entry *e = fdpool_get(&x->pool, names[i]);

		if (!e) {
			run_abort(x, RESULT_ERROR, "line %u: fd %s was not created",
				  x->st->line, names[i]);
			return 0;
		}
		if (e->kind == FDPOOL_CLOSED) {
			sess_note(&x->s, "fd %s is closed: the kernel cannot pass it; "
				  "sent without it", names[i]);
			continue;
		}
		fds[k++] = e->fd;
	}
	return k;
}

/* A request that may get a reply nobody asked for. */
static void note_optional(struct run *x, enum script_chan c, uint32_t req,
			  uint32_t flags)
{
	unsigned *n = &x->noptional[c];

	/* A request flagged as a reply (a bent header) may be answered all
	 * the same, unasked: optional too, unless it asked for a reply. */
	if ((flags & PROTO_F_NEED_REPLY) ||
	    proto_has_reply_body((enum proto_chan)c, req))
		return;
	if (*n == RUN_MAX_OPTIONAL) {
		memmove(x->optional[c], x->optional[c] + 1,
			sizeof(x->optional[c][0]) * (RUN_MAX_OPTIONAL - 1));
		(*n)--;
	}
	x->optional[c][(*n)++] = req;
}

static bool take_optional(struct run *x, enum script_chan c, uint32_t req)
{
	unsigned n = x->noptional[c];

	for (unsigned i = 0; i < n; i++) {
		if (x->optional[c][i] != req)
			continue;
		memmove(x->optional[c] + i, x->optional[c] + i + 1,
			sizeof(x->optional[c][0]) * (n - i - 1));
		x->noptional[c]--;
		return true;
	}
	return false;
}

bool run_skip_unsolicited(struct run *x, enum script_chan c,
			  const struct sess_rec *rec, uint32_t want)
{
	char name[32], wname[32], text[200];

	if (!rec || rec->eof || !(rec->hdr.flags & PROTO_F_REPLY) ||
	    rec->hdr.request == want || !take_optional(x, c, rec->hdr.request))
		return false;
	snprintf(text, sizeof(text), "a reply to %s (sent without NEED_REPLY) "
		 "came while the harness waited for the reply to %s",
		 run_req_name(c, rec->hdr.request, name, sizeof(name)),
		 run_req_name(c, want, wname, sizeof(wname)));
	sess_note(&x->s, "%s: noted, still waiting", text);
	sess_observe(&x->s, rec, SCRIPT_FIND_UNSOLICITED_REPLY, PROTO_SEV_INFO,
		     text);
	sess_consume(&x->s, c);
	return true;
}

void run_replied(struct run *x, enum script_chan c)
{
	x->noptional[c] = 0;
}

/* The harness as back-end waits for its reply from now on. */
void run_note_sent(struct run *x, enum script_chan c, uint32_t req,
		   uint32_t flags)
{
	note_optional(x, c, req, flags);
	x->last_req[c] = req;
	x->has_last_req[c] = true;
	x->last_send_seq = x->s.nlog;
	if (x->c->role == SCRIPT_ROLE_BACKEND && c == SCRIPT_BACKEND &&
	    (flags & PROTO_F_NEED_REPLY))
		x->s.be.blocked = true;
	if (x->c->role == SCRIPT_ROLE_BACKEND && req == PROTO_BE_SHMEM_MAP &&
	    !x->memtable_based) {
		x->memtable_based = true;
		x->memtable_base = x->s.be.memtable_regions;
	}
}

bool run_chan_present(struct run *x, enum script_chan c)
{
	if (x->s.ch[c].fd >= 0)
		return true;
	run_abort(x, RESULT_ERROR, "line %u: there is no %s channel%s",
		  x->st->line, script_chan_name(c),
		  c == SCRIPT_BACKEND ? " (no SET_BACKEND_REQ_FD came; "
		  "add 'requires BACKEND_REQ')" : "");
	return false;
}

bool run_has_record(struct session *s, void *arg)
{
	return sess_peek(s, *(enum script_chan *)arg) != NULL;
}

void run_describe_rec(const struct sess_rec *rec, char *out, size_t cap)
{
	char d[160];
	uint64_t v;

	sess_describe(rec, d, sizeof(d));
	if (!rec->eof && rec->payload_len == 8 &&
	    proto_u64_decode(rec->payload, 8, &v) == PROTO_OK)
		snprintf(out, cap, "%s value=%llu", d, (unsigned long long)v);
	else
		snprintf(out, cap, "%s", d);
}

/* Takes in what already arrived, without waiting. */
bool run_drain(struct run *x)
{
	return run_wait_ok(x, sess_pump(&x->s, chan_now_ms(), NULL, NULL));
}

void run_cleanup(struct run *x)
{
	sess_free(&x->s);
	if (x->pool_ready)
		fdpool_free(&x->pool);
	if (x->mem)
		munmap(x->mem, x->mem_len);
	if (x->mem_fd >= 0)
		close(x->mem_fd);
	for (int i = 0; i < 2; i++)
		if (x->vring_fds[i] >= 0)
			close(x->vring_fds[i]);
	if (x->sock_listen_fd >= 0)
		close(x->sock_listen_fd);
	if (x->ahead_main_fd >= 0)
		close(x->ahead_main_fd);
	if (x->ahead_ctl_fd >= 0)
		close(x->ahead_ctl_fd);
	if (x->sock_path[0])
		unlink(x->sock_path);
	if (!x->r || (!x->keep_stderr && x->stderr_path[0]))
		unlink(x->stderr_path);
	else if (x->keep_stderr && x->tgt.pid > 0)
		run_copy_cut(x->r->stderr_path, sizeof(x->r->stderr_path), x->stderr_path);
}

void run_init(struct run *x, struct runenv *e, const struct script_case *c,
	      unsigned seq)
{
	x->env = e;
	x->c = c;
	x->seq = seq;
	x->mem_fd = x->vring_fds[0] = x->vring_fds[1] = -1;
	x->sock_listen_fd = -1;
	x->ahead_main_fd = x->ahead_ctl_fd = -1;
	x->reply_to = -1;
	x->speaks_control = e->target_cmd && target_cmd_has(e->target_cmd,
							    "{control}");
	target_init(&x->tgt);
	sess_init(&x->s, c->role, -1, -1, -1, -1, NULL, NULL);
}
