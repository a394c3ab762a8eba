/* SPDX-License-Identifier: MIT */
#include "ctlcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "control.h"
#include "ctlanswer.h"
#include "run.h"
#include "protoname.h"

/* Each answer's window (scaled by --timeout-multiplier): far above what
 * a target needs to answer a line, short enough that a hang shows soon. */
#define ITEM_MS 2000
/* The harmless valid map: the first page of region 0. */
#define MAP_ARGS "shmid=0 shm_offset=0 len=0x1000"

/* The check is a case: launched, handshaken and ended as cases are. */
static const char case_fmt[] =
	"id control_check\n"
	"title the target's control channel (targets --check)\n"
	"target %s\n"
	"rule docs/control.md\n"
	"level MUST\n"
	"requires control\n"
	"timeout 60000\n"
	"\n"
	"handshake\n";

struct cc {
	struct run *x;
	struct ctlcheck_report *rep;
	bool ran;               /* the handshake went through */
	bool over;              /* the target ended or hung: the rest waits */
	/* back-end channel requests the target sent during the item */
	unsigned be_seen;
	uint32_t be_req;
	bool be_need_reply;
};

static bool starts_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 && (s[n] == '\0' || s[n] == ' ');
}

static void add(struct cc *k, const char *name, enum ctlcheck_status st,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add(struct cc *k, const char *name, enum ctlcheck_status st,
		const char *fmt, ...)
{
	struct ctlcheck_item *it;
	va_list ap;

	if (k->rep->n == CTLCHECK_MAX_ITEMS)
		return;
	it = &k->rep->it[k->rep->n++];
	run_copy_cut(it->name, sizeof(it->name), name);
	it->status = st;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

/* ---- waiting, both channels served ---- */

/* Harness as front-end: the target's back-end requests get reply 0 when
 * they ask for one, as a compliant front-end's. */
static void serve_backend(struct cc *k)
{
	struct session *s = &k->x->s;
	const struct sess_rec *r;

	while ((r = sess_peek(s, SCRIPT_BACKEND)) != NULL) {
		if (!r->eof && r->hdr_valid && !(r->hdr.flags & PROTO_F_REPLY)) {
			struct proto_hdr h = { r->hdr.request,
					       PROTO_VERSION | PROTO_F_REPLY, 8 };
			uint8_t v[8];

			k->be_seen++;
			k->be_req = r->hdr.request;
			k->be_need_reply = r->hdr.flags & PROTO_F_NEED_REPLY;
			if (k->be_need_reply &&
			    proto_u64_encode(0, v, sizeof(v)) == (int)sizeof(v))
				sess_send(s, SCRIPT_BACKEND, &h, v, sizeof(v), NULL, 0);
		}
		sess_consume(s, SCRIPT_BACKEND);
	}
}

static bool answer_or_backend(struct session *s, void *arg)
{
	(void)arg;
	return s->ctl_has_answer || s->ctl_fd < 0 ||
	       sess_peek(s, SCRIPT_BACKEND) != NULL;
}

static bool backend_request(struct session *s, void *arg)
{
	struct cc *k = arg;

	serve_backend(k);
	return k->be_seen > 0 || !sess_chan_live(s, SCRIPT_BACKEND);
}

static bool target_ended(struct session *s, void *arg)
{
	struct cc *k = arg;

	(void)s;
	return k->x->tgt.ended || target_poll(&k->x->tgt) == 1;
}

/* Why nothing came: the target's end, the channel's, or its silence. */
static void why_nothing(struct cc *k, enum sess_wait w, char *out, size_t cap)
{
	struct target *t = &k->x->tgt;
	char sig[16];

	if (!t->ended)
		target_poll(t);
	if (t->ended && t->signal)
		snprintf(out, cap, "the target was killed by %s",
			 target_signal_name(t->signal, sig, sizeof(sig)));
	else if (t->ended)
		snprintf(out, cap, "the target exited with code %d", t->exit_code);
	else if (k->x->s.ctl_fd < 0)
		snprintf(out, cap, "the target closed the control channel");
	else if (w == SESS_CANCEL)
		snprintf(out, cap, "interrupted");
	else if (w == SESS_FAULT)
		snprintf(out, cap, "harness fault: %s", k->x->s.fault);
	else
		snprintf(out, cap, "no answer within %lld ms (the target hangs "
			 "or ignores the line)", (long long)run_scaled(k->x, ITEM_MS));
}

/* Sends line and waits for its answer (in x->s.ctl_answer). false when
 * none came: the item is wrong and the check ends there. */
static bool exchange(struct cc *k, const char *name, const char *line)
{
	struct session *s = &k->x->s;
	int64_t deadline = chan_now_ms() + run_scaled(k->x, ITEM_MS);
	enum sess_wait w = sess_control_send(s, line, deadline);
	char why[300];

	k->be_seen = 0;
	while (w == SESS_MET && !s->ctl_has_answer && s->ctl_fd >= 0) {
		w = sess_pump(s, deadline, answer_or_backend, NULL);
		serve_backend(k);
	}
	if (s->ctl_has_answer)
		return true;
	why_nothing(k, w, why, sizeof(why));
	add(k, name, CTLCHECK_WRONG, "'%s': %s", line, why);
	k->over = true;
	return false;
}

/* ---- judging answers ---- */

/* WHY of `err unsupported: WHY`, or NULL (docs/control.md, "Answers"). */
static const char *unsupported_why(const char *a)
{
	static const char head[] = "err unsupported";
	const char *p = a + sizeof(head) - 1;

	if (strncmp(a, head, sizeof(head) - 1) != 0 || (*p && *p != ':'))
		return NULL;
	p += *p == ':';
	p += strspn(p, " ");
	return *p ? p : "(no reason given)";
}

/* An answer to a command that should be carried out: ok, missing,
 * unsupported, or wrong. */
static enum ctlcheck_status judge(const char *a, bool json, char *out,
				  size_t cap)
{
	const char *why = unsupported_why(a);

	snprintf(out, cap, "%.300s", a);
	if (starts_word(a, "err") && strncmp(a, "err unknown command", 19) == 0)
		return CTLCHECK_MISSING;
	if (why) {
		snprintf(out, cap, "%.300s", why);
		return CTLCHECK_UNSUPPORTED;
	}
	if (starts_word(a, "err")) {
		snprintf(out, cap, "refused: %.300s", a);
		return CTLCHECK_WRONG;
	}
	if (!starts_word(a, "ok")) {
		snprintf(out, cap, "neither ok nor err: '%.300s'", a);
		return CTLCHECK_WRONG;
	}
	if (json && a[2] != ' ') {
		snprintf(out, cap, "'ok' without the JSON object");
		return CTLCHECK_WRONG;
	}
	if (json && a[3] != '{') {
		snprintf(out, cap, "not 'ok {JSON}': '%.300s'", a);
		return CTLCHECK_WRONG;
	}
	/* What followed ok; a JSON object is not shown whole. */
	snprintf(out, cap, "%.300s", json ? "{...}" : a[2] ? a + 3 : "");
	return CTLCHECK_OK;
}

/* A command with no effect to watch: its answer decides. */
static enum ctlcheck_status simple(struct cc *k, const char *line, bool json)
{
	char d[400];
	enum ctlcheck_status st;

	if (k->over) {
		add(k, line, CTLCHECK_SKIPPED, "not checked: the check ended");
		return CTLCHECK_SKIPPED;
	}
	if (!exchange(k, line, line))
		return CTLCHECK_WRONG;
	st = judge(k->x->s.ctl_answer, json, d, sizeof(d));
	add(k, line, st, "%s", d);
	return st;
}

static void check_version(struct cc *k)
{
	const char *a;
	int v;

	if (!exchange(k, "version", "version 2"))
		return;
	a = k->x->s.ctl_answer;
	v = ctlanswer_version(a);
	k->rep->version = v;
	if (v == 2)
		add(k, "version", CTLCHECK_OK, "protocol 2");
	else if (v == 1)
		add(k, "version", CTLCHECK_OK, "protocol 1 ('%.200s'): map and "
		    "unmap report no outcome; cases with 'expect result' are "
		    "UNSUPPORTED", a);
	else if (v > CONTROL_VERSION_MAX)
		add(k, "version", CTLCHECK_WRONG, "control protocol version %d; "
		    "this harness speaks 1 and 2", v);
	else
		add(k, "version", CTLCHECK_WRONG, "neither 'ok version=N' nor "
		    "'err ...': '%.300s'", a);
}

/* Bad arguments and unknown commands must be refused with err. */
static void check_refused(struct cc *k, const char *line, bool unknown)
{
	const char *a;

	if (k->over) {
		add(k, line, CTLCHECK_SKIPPED, "not checked: the check ended");
		return;
	}
	if (!exchange(k, line, line))
		return;
	a = k->x->s.ctl_answer;
	if (!starts_word(a, "err"))
		add(k, line, CTLCHECK_WRONG, "must be 'err ...', got '%.300s'", a);
	else if (unknown && strncmp(a, "err unknown command", 19) != 0)
		add(k, line, CTLCHECK_WRONG, "'%.200s', not 'err unknown command "
		    "...': targets --check cannot tell a missing command", a);
	else if (!unknown && strncmp(a, "err unknown command", 19) == 0)
		add(k, line, CTLCHECK_WRONG, "'%.200s': a bad argument is not an "
		    "unknown command", a);
	else
		add(k, line, CTLCHECK_OK, "%.300s", a);
}

/* `quit`: ok, then the target exits 0. */
static void check_quit(struct cc *k)
{
	const struct target *t = &k->x->tgt;
	int64_t ms = run_scaled(k->x, ITEM_MS);
	char sig[16];

	if (simple(k, "quit", false) != CTLCHECK_OK)
		return;
	sess_pump(&k->x->s, chan_now_ms() + ms, target_ended, k);
	k->over = true;
	k->rep->n--;            /* judged again with what followed */
	if (!t->ended)
		add(k, "quit", CTLCHECK_WRONG, "answered ok but still runs after "
		    "%lld ms", (long long)ms);
	else if (t->signal)
		add(k, "quit", CTLCHECK_WRONG, "answered ok, then was killed by %s",
		    target_signal_name(t->signal, sig, sizeof(sig)));
	else if (t->exit_code)
		add(k, "quit", CTLCHECK_WRONG, "answered ok, then exited with "
		    "code %d", t->exit_code);
	else
		add(k, "quit", CTLCHECK_OK, "exited 0");
}

/* ---- a back-end target: map and unmap ---- */

/* Why a back-end must refuse map/unmap here, or NULL. */
static const char *cannot_send(const struct run *x)
{
	uint64_t pf = x->fe_negotiated;

	if (!(pf & (1ull << x->s.shmem_bit)))
		return "SHMEM not negotiated";
	if (!(pf & (1ull << PROTO_PF_BACKEND_REQ)))
		return "BACKEND_REQ not negotiated";
	if (!(pf & (1ull << PROTO_PF_BACKEND_SEND_FD)))
		return "BACKEND_SEND_FD not negotiated";
	return NULL;
}

/* After an ok to map/unmap: the message went out and (version 2) the
 * result is what our reply 0 means. */
static enum ctlcheck_status judge_sent(struct cc *k, uint32_t req,
				       char *out, size_t cap)
{
	const char *want = proto_req_name(PROTO_CHAN_BACKEND, req), *reason;
	char a[512];
	enum ctlanswer_outcome o;

	run_copy_cut(a, sizeof(a), k->x->s.ctl_answer);
	if (k->be_seen == 0)
		sess_pump(&k->x->s, chan_now_ms() + run_scaled(k->x, ITEM_MS),
			  backend_request, k);
	if (k->be_seen == 0) {
		snprintf(out, cap, "answered '%.200s' but sent no %s on the "
			 "back-end channel", a, want);
		return CTLCHECK_WRONG;
	}
	if (k->be_req != req) {
		snprintf(out, cap, "answered '%.200s' but sent %s, not %s", a,
			 proto_req_name(PROTO_CHAN_BACKEND, k->be_req), want);
		return CTLCHECK_WRONG;
	}
	if (k->rep->version < 2) {
		snprintf(out, cap, "%s sent (protocol 1: no outcome)", want);
		return CTLCHECK_OK;
	}
	o = ctlanswer_outcome(a, &reason);
	snprintf(out, cap, "%.300s", a);
	if (o == CTLANSWER_OK && k->be_need_reply)
		return CTLCHECK_OK;
	if (o == CTLANSWER_SENT && !k->be_need_reply)
		return CTLCHECK_OK;
	if (o == CTLANSWER_OK || o == CTLANSWER_SENT)
		snprintf(out, cap, "'%.200s', but the %s %s", a, want,
			 k->be_need_reply ? "asked for a reply (NEED_REPLY): "
			 "result=0 or fail" : "asked for none: result=sent");
	else if (o == CTLANSWER_FAIL)
		snprintf(out, cap, "result=fail although the front-end replied "
			 "0: %.300s", reason);
	else
		snprintf(out, cap, "a version 2 answer carries result=0|fail|"
			 "sent: '%.300s'", a);
	return CTLCHECK_WRONG;
}

static enum ctlcheck_status check_map(struct cc *k, const char *name,
				      uint32_t req, const char *skip_why)
{
	char line[64], d[400];
	const char *cant, *a = k->x->s.ctl_answer;
	enum ctlcheck_status st;

	snprintf(line, sizeof(line), "%s " MAP_ARGS, name);
	if (k->over || skip_why) {
		add(k, name, CTLCHECK_SKIPPED, "not checked: %s",
		    k->over ? "the check ended" : skip_why);
		return CTLCHECK_SKIPPED;
	}
	if (!exchange(k, name, line))
		return CTLCHECK_WRONG;
	st = judge(a, false, d, sizeof(d));
	cant = cannot_send(k->x);
	if (st == CTLCHECK_WRONG && starts_word(a, "err") && cant) {
		st = CTLCHECK_OK;
		snprintf(d, sizeof(d), "refused, as it must (%s): %.300s", cant, a);
	} else if (st == CTLCHECK_WRONG && starts_word(a, "err")) {
		snprintf(d, sizeof(d), "refused a valid %s (SHMEM, BACKEND_REQ and "
			 "BACKEND_SEND_FD negotiated): %.300s", name, a);
	} else if (st == CTLCHECK_OK) {
		st = judge_sent(k, req, d, sizeof(d));
	}
	add(k, name, st, "%s", d);
	return st;
}

static void backend_items(struct cc *k, bool has_version)
{
	enum ctlcheck_status map;

	simple(k, "get-config", true);
	simple(k, "dump", true);
	map = check_map(k, "map", PROTO_BE_SHMEM_MAP, NULL);
	check_map(k, "unmap", PROTO_BE_SHMEM_UNMAP, map == CTLCHECK_OK ? NULL
		  : "needs the map above");
	simple(k, "reset", false);
	if (map == CTLCHECK_MISSING)
		add(k, "map len=zz", CTLCHECK_SKIPPED, "not checked: map is missing");
	else
		check_refused(k, "map len=zz", false);
	if (has_version)
		check_refused(k, "version zz", false);
}

/* ---- a front-end target: the lifecycle ---- */

/* A front-end answers before it acts; its answer to `dump` comes once
 * it is done (docs/control.md): the next item starts from a settled
 * target. */
static void check_lifecycle(struct cc *k, const char *cmd)
{
	struct ctlcheck_item done;
	const char *a = k->x->s.ctl_answer;

	if (simple(k, cmd, false) != CTLCHECK_OK)
		return;
	done = k->rep->it[--k->rep->n];
	if (!exchange(k, cmd, "dump"))
		return;
	if (!starts_word(a, "ok"))
		add(k, cmd, CTLCHECK_WRONG, "the dump after it answered '%.300s'", a);
	else
		k->rep->it[k->rep->n++] = done;
}

static void frontend_items(struct cc *k, bool has_version)
{
	simple(k, "dump", true);
	check_lifecycle(k, "stop");
	check_lifecycle(k, "start");
	check_lifecycle(k, "reset");
	check_lifecycle(k, "reconnect");
	if (has_version)
		check_refused(k, "version zz", false);
}

/* ---- the check ---- */

/* After the case's handshake: the items, on the live target. */
static void body(struct run *x, void *arg)
{
	struct cc *k = arg;
	bool has_version;

	k->x = x;
	k->ran = true;
	add(k, "handshake", CTLCHECK_OK, "the device started, as in a case");
	check_version(k);
	has_version = !k->over && starts_word(x->s.ctl_answer, "ok");
	if (x->c->role == SCRIPT_ROLE_FRONTEND)
		backend_items(k, has_version);
	else
		frontend_items(k, has_version);
	check_refused(k, "bogus", true);
	check_quit(k);
}

/* What the case's own verdict adds: a handshake that failed, a crash
 * the items did not see (a sanitizer report, a death at the end). */
static void after_run(struct cc *k, const struct result *r)
{
	const char *v = result_verdict_name(r->verdict);

	if (!k->ran)
		add(k, "handshake", CTLCHECK_WRONG, "%s: %.300s (nothing else "
		    "checked: the check needs a started device)", v,
		    r->reason[0] ? r->reason : r->expected);
	else if (r->verdict != RESULT_PASS &&
		 !(k->over && r->verdict == RESULT_CRASH && r->signal[0]))
		add(k, "target", CTLCHECK_WRONG, "%s: %.300s", v, r->reason);
}

int ctlcheck_run(struct runenv *e, struct ctlcheck_report *rep,
		 char *err, size_t errcap)
{
	struct cc k = { .rep = rep };
	struct script_case c;
	char text[512], perr[1024] = "";
	struct result *r;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (!e->target_cmd || !target_cmd_has(e->target_cmd, "{control}")) {
		snprintf(err, errcap, "the target has no control channel: no "
			 "{control} in its command");
		return -EINVAL;
	}
	snprintf(text, sizeof(text), case_fmt, script_target_role_name(e->role));
	if (script_parse_text("ctlcheck/control_check.vhu", text, &c, perr,
			      sizeof(perr)) != 0) {
		snprintf(err, errcap, "the check's own case: %.400s", perr);
		return -EINVAL;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		script_free(&c);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	rc = engine_run_then(e, &c, r, body, &k);
	after_run(&k, r);
	rep->duration_ms = r->duration_ms;
	free(r);
	script_free(&c);
	if (rc == ENGINE_INTERRUPTED) {
		snprintf(err, errcap, "interrupted");
		return -EINTR;
	}
	return 0;
}

bool ctlcheck_passed(const struct ctlcheck_report *rep)
{
	for (unsigned i = 0; i < rep->n; i++)
		if (rep->it[i].status >= CTLCHECK_MISSING)
			return false;
	return rep->n > 0;
}

void ctlcheck_print(const struct ctlcheck_report *rep, FILE *f)
{
	static const char *const names[] = {
		[CTLCHECK_OK] = "ok", [CTLCHECK_UNSUPPORTED] = "unsupported",
		[CTLCHECK_SKIPPED] = "skipped", [CTLCHECK_MISSING] = "missing",
		[CTLCHECK_WRONG] = "wrong",
	};
	unsigned count[CTLCHECK_WRONG + 1] = { 0 };

	for (unsigned i = 0; i < rep->n; i++) {
		const struct ctlcheck_item *it = &rep->it[i];

		count[it->status]++;
		fprintf(f, "%-12s %s%s%s\n", it->name, names[it->status],
			it->detail[0] ? ": " : "", it->detail);
	}
	if (rep->version > 0)
		fprintf(f, "control protocol %d: ", rep->version);
	else
		fprintf(f, "control protocol unknown: ");
	fprintf(f, "%u ok, %u unsupported, %u skipped, %u missing, %u wrong "
		"in %.0f ms\n",
		count[CTLCHECK_OK], count[CTLCHECK_UNSUPPORTED],
		count[CTLCHECK_SKIPPED], count[CTLCHECK_MISSING],
		count[CTLCHECK_WRONG], rep->duration_ms);
}
