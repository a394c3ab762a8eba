/* SPDX-License-Identifier: MIT */
#include "expect.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"

/* A held main-channel request that itself waits for an answer. */
static const struct sess_rec *held_waiting_request(const struct session *s,
						   unsigned *idx)
{
	for (unsigned i = 0; i < s->be.nqueue; i++) {
		const struct sess_rec *q = &s->log[s->be.queue[i]];

		if (proto_has_reply_body(PROTO_CHAN_MAIN, q->hdr.request) ||
		    (q->hdr.flags & PROTO_F_NEED_REPLY)) {
			*idx = s->be.queue[i];
			return q;
		}
	}
	return NULL;
}

/* The harness as back-end stops waiting for its reply. */
static void end_blocking(struct run *x, enum script_chan c)
{
	if (x->c->role == SCRIPT_ROLE_BACKEND && c == SCRIPT_BACKEND)
		sess_unblock(&x->s);
}

/* The reply never came while the target waits on a held request. */
static bool detect_deadlock(struct run *x, enum script_chan c)
{
	char name[32], qname[32];
	const char *n, *qn;
	const struct sess_rec *q;
	unsigned qi;

	if (x->c->role != SCRIPT_ROLE_BACKEND || c != SCRIPT_BACKEND ||
	    !x->s.be.blocked || !(q = held_waiting_request(&x->s, &qi)))
		return false;
	n = run_req_name(SCRIPT_BACKEND, x->last_req[c], name, sizeof(name));
	qn = run_req_name(SCRIPT_MAIN, q->hdr.request, qname, sizeof(qname));

	if (qi < x->last_send_seq)
		/* It was pending before our request went out: the front-end
		 * does not serve the back-end channel while it waits. */
		run_abort(x, RESULT_DEADLOCK, "line %u: no reply to %s: the "
			  "front-end waits for the answer to its own %s (held "
			  "unanswered) and does not serve the back-end channel "
			  "meanwhile, so a single-threaded back-end with a request "
			  "in flight waits forever", x->st->line, n, qn);
	else
		run_abort(x, RESULT_DEADLOCK, "line %u: no reply to %s: the "
			  "front-end sent %s first and waits for its answer (held, "
			  "as a back-end blocked on its reply would) instead of "
			  "replying first (digest 9)", x->st->line, n, qn);
	snprintf(x->r->observed, sizeof(x->r->observed),
		 "main: %s\nbackend: %s", x->s.tr.last_line[SCRIPT_MAIN],
		 x->s.tr.last_line[SCRIPT_BACKEND]);
	return true;
}

/* Harness as front-end: the target's back-end request matched by `expect
 * msg` that we have not answered yet (NEED_REPLY set, channel open). */
static const struct sess_rec *unanswered_be_request(const struct run *x)
{
	const struct sess_rec *r;

	if (x->c->role != SCRIPT_ROLE_FRONTEND || x->reply_to < 0 ||
	    x->s.ch[SCRIPT_BACKEND].fd < 0)
		return NULL;
	r = &x->s.log[x->reply_to];
	return r->hdr.flags & PROTO_F_NEED_REPLY ? r : NULL;
}

/* After the verdict, the deadlock is broken as a front-end that replies at
 * last would: reply 0, then wait one more window for the late answer
 * (the trace shows it came only after our reply). Closing the channels
 * then meets an idle target, so the teardown does not decide the verdict
 * (a device that dies writing to a closed channel is other cases' CRASH). */
static void break_starvation(struct run *x, const struct sess_rec *be)
{
	struct proto_hdr h = { be->hdr.request, PROTO_VERSION | PROTO_F_REPLY, 8 };
	enum script_chan c = SCRIPT_MAIN;
	uint8_t zero[8] = { 0 };
	int64_t sent = chan_now_ms();

	x->reply_to = -1;
	if (sess_send(&x->s, SCRIPT_BACKEND, &h, zero, sizeof(zero), NULL, 0) != 0)
		return;
	if (sess_pump(&x->s, run_deadline(x), run_has_record, &c) == SESS_MET)
		sess_note(&x->s, "the main channel answered %lld ms after our "
			  "reply to the back-end's request",
			  (long long)(chan_now_ms() - sent));
	else
		sess_note(&x->s, "the main channel stays unanswered after our "
			  "reply to the back-end's request");
}

/* Harness as front-end: no answer on the main channel while the target's
 * own back-end request, there before our request went out (so the order
 * is not a race), still waits for our reply. A back-end that served the
 * main channel meanwhile would have answered; one that blocks in its call
 * starves it, and a front-end that blocks on its own request (rather than
 * replying first, digest 9) would deadlock with it. */
static bool detect_starved(struct run *x, enum script_chan c,
			   enum sess_wait w)
{
	const struct sess_rec *be = unanswered_be_request(x);
	char name[32], bname[32];

	if (c != SCRIPT_MAIN || w != SESS_DEADLINE || !be ||
	    !x->has_last_req[c] || (unsigned)x->reply_to >= x->last_send_seq)
		return false;
	run_abort(x, RESULT_DEADLOCK, "line %u: no answer to %s on the main "
		  "channel: the back-end's %s (NEED_REPLY) waits for our reply "
		  "and it does not serve the main channel meanwhile (a "
		  "front-end that blocks on its own request would deadlock "
		  "with it)", x->st->line,
		  run_req_name(c, x->last_req[c], name, sizeof(name)),
		  run_req_name(SCRIPT_BACKEND, be->hdr.request, bname,
			       sizeof(bname)));
	snprintf(x->r->observed, sizeof(x->r->observed),
		 "main: %s\nbackend: %s", x->s.tr.last_line[SCRIPT_MAIN],
		 x->s.tr.last_line[SCRIPT_BACKEND]);
	break_starvation(x, be);
	return true;
}

static void describe_expect_reply(struct run *x, char *out, size_t cap)
{
	const struct script_expect_reply *er = &x->st->u.er;
	enum script_chan c = x->st->on;
	char name[32];
	size_t len;

	len = (size_t)snprintf(out, cap, "a reply to %s on the %s channel",
			       x->has_last_req[c]
				       ? run_req_name(c, x->last_req[c], name, sizeof(name))
				       : "(nothing sent)",
			       script_chan_name(c));
	if (er->value_kind == SCRIPT_VALUE_NONZERO && len < cap)
		len += (size_t)snprintf(out + len, cap - len, ", value non-zero");
	else if (er->value_kind == SCRIPT_VALUE_EQ && len < cap)
		len += (size_t)snprintf(out + len, cap - len, ", value %llu",
					(unsigned long long)er->value);
	if (er->has_flags && len < cap)
		len += (size_t)snprintf(out + len, cap - len, ", flags 0x%x", er->flags);
	if (er->has_size && len < cap)
		len += (size_t)snprintf(out + len, cap - len, ", size %u", er->size);
	if (len < cap)
		snprintf(out + len, cap - len, ", within %lld ms",
			 (long long)run_scaled(x, x->st->within_ms));
}

/* What is wrong with rec as the reply wanted, "" when nothing. */
static void judge_reply(struct run *x, const struct sess_rec *rec, char *why,
			size_t cap)
{
	const struct script_expect_reply *er = &x->st->u.er;
	enum script_chan c = x->st->on;
	uint64_t v = 0;
	bool has_v = rec->payload_len >= 8 && rec->hdr.size >= 8;

	why[0] = '\0';
	if (has_v)
		proto_u64_decode(rec->payload, 8, &v);
	if (!(rec->hdr.flags & PROTO_F_REPLY))
		snprintf(why, cap, "not a reply (no REPLY flag)");
	else if (x->has_last_req[c] && rec->hdr.request != x->last_req[c])
		snprintf(why, cap, "a reply to request %u", rec->hdr.request);
	else if (er->has_flags && rec->hdr.flags != er->flags)
		snprintf(why, cap, "flags 0x%x", rec->hdr.flags);
	else if (er->has_size && rec->hdr.size != er->size)
		snprintf(why, cap, "size %u", rec->hdr.size);
	else if (er->value_kind != SCRIPT_VALUE_ANY && !has_v)
		snprintf(why, cap, "no u64 value (%zu payload bytes)",
			 rec->payload_len);
	else if (er->value_kind == SCRIPT_VALUE_NONZERO && v == 0)
		snprintf(why, cap, "value 0");
	else if (er->value_kind == SCRIPT_VALUE_EQ && v != er->value)
		snprintf(why, cap, "value %llu", (unsigned long long)v);
}

/* A MAP (or UNMAP) the front-end acked 0 is a mapping it holds. */
static void count_ack(struct run *x, const struct sess_rec *rec)
{
	uint64_t v;

	if (x->c->role != SCRIPT_ROLE_BACKEND || rec->chan != SCRIPT_BACKEND ||
	    !(rec->hdr.flags & PROTO_F_REPLY) || rec->payload_len < 8 ||
	    proto_u64_decode(rec->payload, 8, &v) != PROTO_OK || v != 0)
		return;
	if (rec->hdr.request == PROTO_BE_SHMEM_MAP)
		x->maps_acked++;
	else if (rec->hdr.request == PROTO_BE_SHMEM_UNMAP && x->maps_acked > 0)
		x->maps_acked--;
}

static void exp_reply(struct run *x)
{
	enum script_chan c = x->st->on;
	int64_t deadline = run_deadline(x);
	const struct sess_rec *rec;
	char expected[256], why[96], d[400];
	enum sess_wait w;

	/* A reply to an earlier request without NEED_REPLY is not this one:
	 * it is noted and the wait goes on. */
	do {
		w = sess_pump(&x->s, deadline, run_has_record, &c);
		rec = sess_peek(&x->s, c);
	} while (x->has_last_req[c] &&
		 run_skip_unsolicited(x, c, rec, x->last_req[c]));

	if ((w == SESS_DEADLINE || w == SESS_CASE_DEADLINE || w == SESS_GONE) &&
	    !rec && detect_deadlock(x, c))
		return;
	if (!run_wait_ok(x, w) || (!rec && detect_starved(x, c, w)))
		return;
	describe_expect_reply(x, expected, sizeof(expected));
	if (!rec) {
		run_nothing_seen(x, w, d, sizeof(d));
		run_fail(x, expected, "%s", d);
	} else if (rec->eof) {
		run_describe_rec(rec, d, sizeof(d));
		run_fail(x, expected, "%s", d);
	} else {
		judge_reply(x, rec, why, sizeof(why));
		run_describe_rec(rec, d, sizeof(d));
		count_ack(x, rec);
		if (why[0])
			run_fail(x, expected, "%s: %s", why, d);
		sess_consume(&x->s, c);
		run_replied(x, c);
	}
	end_blocking(x, c);
}

/* The first unconsumed message of that request on channel c, or NULL;
 * *ended when the channel's end comes first. */
static int find_msg(const struct session *s, enum script_chan c,
		    const uint32_t *req, unsigned nreq, bool *ended)
{
	*ended = false;
	for (unsigned i = s->cursor[c]; i < s->nlog; i++) {
		const struct sess_rec *r = &s->log[i];

		if (r->chan != c)
			continue;
		if (r->eof) {
			*ended = true;
			return -1;
		}
		for (unsigned k = 0; k < nreq; k++)
			if (r->hdr.request == req[k])
				return (int)i;
	}
	return -1;
}

struct msg_want {
	enum script_chan chan;
	const uint32_t *req;
	unsigned nreq;
};

static bool msg_arrived(struct session *s, void *arg)
{
	const struct msg_want *mw = arg;
	bool ended;

	return find_msg(s, mw->chan, mw->req, mw->nreq, &ended) >= 0 || ended;
}

/* expect no-reply / no-msg: nothing (of that request) unconsumed or
 * arriving in the window; the channel's end is not a message. */
static void exp_quiet(struct run *x)
{
	const struct script_expect_msg *em = &x->st->u.em;
	bool named = x->st->op == SCRIPT_EXPECT_NO_MSG && em->has_request;
	struct msg_want mw = { x->st->on, em->req, em->nreq };
	enum sess_wait w = sess_pump(&x->s, run_deadline(x),
				     named ? msg_arrived : run_has_record,
				     named ? (void *)&mw : (void *)&mw.chan);
	char expected[160], name[32], d[200];
	bool ended;
	int i;

	if (!run_wait_ok(x, w))
		return;
	if (named) {
		i = find_msg(&x->s, mw.chan, mw.req, mw.nreq, &ended);
	} else {
		const struct sess_rec *rec = sess_peek(&x->s, mw.chan);

		i = rec && !rec->eof ? (int)(rec - x->s.log) : -1;
	}
	if (i >= 0) {
		snprintf(expected, sizeof(expected), "no %s on the %s channel "
			 "for %lld ms", named ? run_req_name(mw.chan, x->s.log[i].hdr.request,
							     name, sizeof(name))
				 : "message",
			 script_chan_name(mw.chan),
			 (long long)run_scaled(x, x->st->within_ms));
		run_describe_rec(&x->s.log[i], d, sizeof(d));
		run_fail(x, expected, "%s", d);
		x->s.cursor[mw.chan] = (unsigned)i + 1;
	}
	end_blocking(x, mw.chan);
}

static void judge_msg(struct run *x, const struct sess_rec *rec,
		      const char *expected)
{
	const struct script_expect_msg *em = &x->st->u.em;
	char d[200];

	run_describe_rec(rec, d, sizeof(d));
	if (em->has_fds && rec->nfds != em->fds)
		run_fail(x, expected, "%u fds: %s", rec->nfds, d);
	else if (em->has_size && rec->hdr.size != em->size)
		run_fail(x, expected, "size %u: %s", rec->hdr.size, d);
	else if (em->has_flags && rec->hdr.flags != em->flags)
		run_fail(x, expected, "flags 0x%x: %s", rec->hdr.flags, d);
}

/* "SET_MEM_TABLE|ADD_MEM_REG" */
static void names_text(enum script_chan c, const struct script_expect_msg *em,
		       char *out, size_t cap)
{
	size_t len = 0;
	char name[32];

	out[0] = '\0';
	for (unsigned k = 0; k < em->nreq && len < cap; k++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", k ? "|" : "",
					run_req_name(c, em->req[k], name, sizeof(name)));
}

static void exp_msg(struct run *x)
{
	const struct script_expect_msg *em = &x->st->u.em;
	struct msg_want mw = { x->st->on, em->req, em->nreq };
	enum sess_wait w = sess_pump(&x->s, run_deadline(x), msg_arrived, &mw);
	char expected[200], name[128], d[200];
	const struct sess_rec *other;
	bool ended;
	int i;

	if (!run_wait_ok(x, w))
		return;
	names_text(mw.chan, em, name, sizeof(name));
	snprintf(expected, sizeof(expected), "%s on the %s channel", name,
		 script_chan_name(mw.chan));
	if (em->has_fds)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 " with %u fds", em->fds);
	if (em->has_size)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 ", size %u", em->size);
	if (em->has_flags)
		snprintf(expected + strlen(expected), sizeof(expected) - strlen(expected),
			 ", flags 0x%x", em->flags);
	i = find_msg(&x->s, mw.chan, mw.req, mw.nreq, &ended);
	if (i < 0) {
		other = sess_peek(&x->s, mw.chan);
		if (other)
			run_describe_rec(other, d, sizeof(d));
		else
			run_nothing_seen(x, w, d, sizeof(d));
		run_fail(x, expected, "%s%s", other && !other->eof ? "only " : "", d);
		return;
	}
	x->s.cursor[mw.chan] = (unsigned)i + 1;
	x->reply_to = i;
	judge_msg(x, &x->s.log[i], expected);
}

static bool chan_ended(struct session *s, void *arg)
{
	enum script_chan c = *(enum script_chan *)arg;

	for (unsigned i = s->cursor[c]; i < s->nlog; i++)
		if (s->log[i].chan == c && s->log[i].eof)
			return true;
	return s->ch[c].fd < 0;
}

static void exp_eof(struct run *x)
{
	enum script_chan c = x->st->on;
	enum sess_wait w = sess_pump(&x->s, run_deadline(x), chan_ended, &c);
	char expected[96], d[200];

	if (!run_wait_ok(x, w))
		return;
	snprintf(expected, sizeof(expected), "the target closes the %s channel "
		 "within %lld ms", script_chan_name(c),
		 (long long)run_scaled(x, x->st->within_ms));
	for (unsigned i = x->s.cursor[c]; i < x->s.nlog; i++) {
		if (x->s.log[i].chan == c && x->s.log[i].eof) {
			x->s.cursor[c] = i + 1;
			return;
		}
	}
	if (x->s.ch[c].fd < 0 && !x->s.eof[c]) {
		run_fail(x, expected, "the harness has no %s channel",
			 script_chan_name(c));
		return;
	}
	run_nothing_seen(x, w, d, sizeof(d));
	run_fail(x, expected, "still open: %s", d);
}

static bool order_match(const struct script_order_item *it,
			const struct sess_rec *r)
{
	if (r->eof || r->chan != it->chan)
		return false;
	if (it->reply)
		return (r->hdr.flags & PROTO_F_REPLY) != 0;
	for (unsigned k = 0; k < it->nreq; k++)
		if (r->hdr.request == it->req[k])
			return true;
	return false;
}

static int order_first(const struct run *x, const struct script_order_item *it)
{
	for (unsigned i = x->last_send_seq; i < x->s.nlog; i++)
		if (order_match(it, &x->s.log[i]))
			return (int)i;
	return -1;
}

/* Messages read in the same poll round were ready at once: the harness
 * cannot order them, so such a pair is in order either way. */
static void exp_order(struct run *x)
{
	const struct script_order_item *a = &x->st->u.order.a, *b = &x->st->u.order.b;
	char expected[256];
	int ia, ib;

	if (!run_drain(x))
		return;
	ia = order_first(x, a);
	ib = order_first(x, b);
	snprintf(expected, sizeof(expected), "%s before %s (since the last send)",
		 a->text, b->text);
	if (ia < 0 && ib >= 0) {
		run_fail(x, expected, "no %s, but %s came", a->text, b->text);
	} else if (ia < 0) {
		run_fail(x, expected, "no %s", a->text);
	} else if (ib >= 0 && x->s.log[ib].round < x->s.log[ia].round) {
		run_fail(x, expected, "%s came %lld ms before %s", b->text,
			 (long long)(x->s.log[ia].t_ms - x->s.log[ib].t_ms), a->text);
	} else if (ib >= 0 && ib < ia) {
		sess_note(&x->s, "line %u: %s and %s were ready at once: taken as "
			  "in order", x->st->line, a->text, b->text);
	}
}

/* What is wrong with a ShMemConfig reply, "" when nothing. */
static void judge_shmem_config(struct run *x, const struct proto_shmem_config *cfg,
			       char *why, size_t cap)
{
	const struct script_shmem_cfg *sc = &x->st->u.sc;
	long page = sysconf(_SC_PAGESIZE);
	unsigned nonzero = 0;

	why[0] = '\0';
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++) {
		uint64_t want = sc->has_regions && i < sc->nsizes ? x->st->list[i] : 0;

		nonzero += cfg->memory_sizes[i] != 0;
		if (sc->has_regions && cfg->memory_sizes[i] != want && !why[0])
			snprintf(why, cap, "shmid %u has size 0x%llx, not 0x%llx", i,
				 (unsigned long long)cfg->memory_sizes[i],
				 (unsigned long long)want);
		if (sc->page_multiple && page > 0 &&
		    cfg->memory_sizes[i] % (uint64_t)page && !why[0])
			snprintf(why, cap, "shmid %u size 0x%llx is not a multiple of "
				 "the page size 0x%lx", i,
				 (unsigned long long)cfg->memory_sizes[i], page);
	}
	if (why[0])
		return;
	if (sc->nregions_match && cfg->nregions != nonzero)
		snprintf(why, cap, "nregions %u but %u non-zero sizes",
			 cfg->nregions, nonzero);
	else if (sc->stable && !x->hs_cfg_valid)
		snprintf(why, cap, "the handshake got no config to compare with");
	else if (sc->stable && memcmp(cfg, &x->hs_cfg, sizeof(*cfg)) != 0)
		snprintf(why, cap, "differs from the handshake's (nregions %u, "
			 "was %u)", cfg->nregions, x->hs_cfg.nregions);
}

static void exp_shmem_config(struct run *x)
{
	enum script_chan c = x->st->on;
	enum sess_wait w = sess_pump(&x->s, run_deadline(x), run_has_record, &c);
	const struct sess_rec *rec = sess_peek(&x->s, c);
	const char *expected = "a GET_SHMEM_CONFIG reply of 2056 bytes as asked";
	struct proto_shmem_config cfg;
	char why[160], d[200];

	if (!run_wait_ok(x, w))
		return;
	if (!rec) {
		run_nothing_seen(x, w, d, sizeof(d));
		run_fail(x, expected, "%s", d);
		return;
	}
	run_describe_rec(rec, d, sizeof(d));
	if (!rec->eof)
		sess_consume(&x->s, c);
	if (rec->eof || rec->hdr.request != PROTO_GET_SHMEM_CONFIG ||
	    !(rec->hdr.flags & PROTO_F_REPLY)) {
		run_fail(x, expected, "%s", d);
		return;
	}
	if (rec->hdr.size != PROTO_SHMEM_CONFIG_SIZE ||
	    proto_shmem_config_decode(rec->payload, rec->payload_len, &cfg) != PROTO_OK) {
		run_fail(x, expected, "it does not decode: %s", d);
		return;
	}
	judge_shmem_config(x, &cfg, why, sizeof(why));
	if (why[0])
		run_fail(x, expected, "%s", why);
}

void expect_run(struct run *x)
{
	switch (x->st->op) {
	case SCRIPT_EXPECT_REPLY: exp_reply(x); break;
	case SCRIPT_EXPECT_NO_REPLY:
	case SCRIPT_EXPECT_NO_MSG: exp_quiet(x); break;
	case SCRIPT_EXPECT_MSG: exp_msg(x); break;
	case SCRIPT_EXPECT_EOF: exp_eof(x); break;
	case SCRIPT_EXPECT_ORDER: exp_order(x); break;
	case SCRIPT_EXPECT_SHMEM_CONFIG: exp_shmem_config(x); break;
	default: break;
	}
}
