/* SPDX-License-Identifier: MIT */
/*
 * casecheck: the model behind `vhucheck-harness --check-cases`.
 *
 * The state is a small set of "worlds": each is one live set of
 * mappings a conforming front-end can hold at this point of the case.
 * A MAP or UNMAP whose outcome the spec fixes is applied to every world
 * alike; one the spec leaves open splits each world in two (accepted,
 * refused), so that a later expectation is judged against every
 * conforming front-end at once and never against an assumption. An
 * expectation is a finding when some world fixes the outcome the other
 * way; the message names the open choices that world made.
 */
#include "casecheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccmodel.h"
#include "proto.h"

/* ---- replies and expectations ---- */

/* Only after reply_expected(), which keeps a place free. */
static void push_sent(struct ccm *k, bool judge, const char *what)
{
	struct ccm_sent *s = &k->fifo[k->nfifo++];

	s->judge = judge;
	ccm_fmt(s->what, sizeof(s->what), "%s", what);
}

/* Whether a reply to this send is certain to come, and to come in
 * order; what makes it uncertain loses the pairing for good. */
static bool reply_expected(struct ccm *k, const struct script_send *s)
{
	if (!k->replies || k->pair_lost)
		return false;
	if (s->has_hdr_flags || (s->need_reply && k->nfifo == CCM_MAX_PEND)) {
		k->pair_lost = true;
		return false;
	}
	return s->need_reply;
}

static void world_choices(const struct ccm_world *wd, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < wd->nchoice && len < cap; i++) {
		const struct ccm_choice *ch = &wd->choice[i];

		len += (size_t)snprintf(buf + len, cap - len,
					"%s%s the %s of line %u (%s)",
					i ? " and " : "; in a front-end that ",
					ch->accepted ? "accepted" : "refused",
					ch->map ? "MAP" : "UNMAP", ch->line, ch->why);
	}
	if (wd->nchoice && len < cap)
		snprintf(buf + len, cap - len, "%s, as the spec allows",
			 wd->more_choices ? " and more" : "");
}

static void add_finding(struct ccm *k, const struct script_step *st,
			const struct ccm_sent *s, const struct ccm_world *wd)
{
	struct casecheck_report *r = k->r;
	const struct ccm_pend *p = &wd->pend[0];
	const struct script_expect_reply *er = &st->u.er;
	char val[32], ch[256];
	struct casecheck_finding *f;

	for (unsigned i = 0; i < r->nfindings; i++)
		if (r->f[i].line == st->line)
			return;
	if (r->nfindings == CASECHECK_MAX_FINDINGS) {
		r->dropped++;
		return;
	}
	if (er->value_kind == SCRIPT_VALUE_NONZERO)
		ccm_fmt(val, sizeof(val), "nonzero");
	else
		ccm_fmt(val, sizeof(val), "%llu", CCM_ULL(er->value));
	world_choices(wd, ch, sizeof(ch));
	f = &r->f[r->nfindings++];
	f->line = st->line;
	ccm_fmt(f->msg, sizeof(f->msg), "expects value=%s, but the %s must %s: %s%s",
		val, s->what, p->flags & CCM_P_OK ? "succeed" : "fail", p->why, ch);
}

/* The world that contradicts the expectation, preferring one without
 * open choices (then every front-end does). */
static const struct ccm_world *contradiction(const struct ccm *k, bool want_ok,
					     bool *forced)
{
	const struct ccm_world *best = NULL;

	*forced = false;
	for (unsigned w = 0; w < k->nw; w++) {
		const struct ccm_world *wd = &k->w[w];
		uint8_t f = wd->pend[0].flags;

		*forced |= (f & CCM_P_FORCED) != 0;
		if (!(f & CCM_P_FORCED) || ((f & CCM_P_OK) != 0) == want_ok)
			continue;
		if (!best || wd->nchoice < best->nchoice)
			best = wd;
	}
	return best;
}

/* assert/require: the case goes on only where the outcome was the one
 * wanted. */
static void prune(struct ccm *k, bool want_ok)
{
	unsigned n = 0;

	for (unsigned w = 0; w < k->nw; w++) {
		uint8_t f = k->w[w].pend[0].flags;

		if ((f & CCM_P_KNOWN) && ((f & CCM_P_OK) != 0) != want_ok)
			continue;
		if (n != w)
			ccm_world_copy(&k->w[n], &k->w[w]);
		n++;
	}
	k->nw = n;
	if (n == 0)
		ccm_give_up(k, "the assert stops the case in every front-end");
}

static void pop_pending(struct ccm *k)
{
	memmove(&k->fifo[0], &k->fifo[1], --k->nfifo * sizeof(k->fifo[0]));
	for (struct ccm_world *wd = k->w; wd < k->w + k->nw; wd++)
		memmove(&wd->pend[0], &wd->pend[1], --wd->npend * sizeof(wd->pend[0]));
}

static void on_expect_reply(struct ccm *k, const struct script_step *st)
{
	const struct script_expect_reply *er = &st->u.er;
	bool literal = er->value_kind != SCRIPT_VALUE_ANY;
	bool want_ok = er->value_kind == SCRIPT_VALUE_EQ && er->value == 0;
	const struct ccm_world *bad;
	bool forced = false;

	if (st->on != SCRIPT_BACKEND)
		return;
	if (k->pair_lost || k->nfifo == 0) {
		k->seen[k->idx] |= literal ? 2 : 0;
		return;
	}
	if (literal && k->fifo[0].judge) {
		bad = contradiction(k, want_ok, &forced);
		k->seen[k->idx] |= forced ? 1 : 2;
		if (bad)
			add_finding(k, st, &k->fifo[0], bad);
		if (st->is_assert || st->is_require)
			prune(k, want_ok);
	} else if (literal) {
		k->seen[k->idx] |= 2;
	}
	pop_pending(k);
}

/* ---- steps ---- */

static void map_unmap(struct ccm *k, const struct script_step *st)
{
	const struct script_send *s = &st->u.send;
	struct ccm_req q = { s->kind == SCRIPT_SEND_MAP, s->shmid, s->shm_offset,
			 s->len, st->line, "", "" };
	enum ccm_outcome stat = CCM_OUT_OK;
	char why[CCM_WHY_MAX] = "", rt[64], what[96];
	bool push;

	if (s->has_size || s->has_truncate || s->has_payload ||
	    s->request != (q.map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP)) {
		ccm_give_up(k, "a MAP/UNMAP whose bytes are not its fields "
			    "(size=, truncate=, payload= or request=)");
		return;
	}
	ccm_req_open(k, s, q.map, q.open, sizeof(q.open));
	if (q.map) {
		if (!k->send_fd)
			ccm_fmt(q.lose, sizeof(q.lose), "BACKEND_SEND_FD may not be negotiated");
		if (k->shm[q.shmid] & CCM_SHM_SIZE_SHAKY)
			ccm_fmt(q.lose, sizeof(q.lose), "a region size no back-end may send");
		stat = ccm_map_static(k, &q, why, sizeof(why));
	} else {
		stat = k->shm[q.shmid] & CCM_SHM_LIVE_UNKNOWN ? CCM_OUT_SKIP : CCM_OUT_OK;
	}
	ccm_range_text(rt, sizeof(rt), q.off, q.len);
	ccm_fmt(what, sizeof(what), "%s of line %u (shmid %u %s)",
		q.map ? "MAP" : "UNMAP", st->line, q.shmid, rt);
	push = reply_expected(k, s);
	if (push)
		push_sent(k, stat != CCM_OUT_SKIP, what);
	ccm_apply(k, &q, stat, why, push);
}

static void on_send(struct ccm *k, const struct script_step *st)
{
	const struct script_send *s = &st->u.send;

	if (st->on != SCRIPT_BACKEND) {
		ccm_give_up(k, "a request on the main channel");
	} else if (!k->have_hs) {
		ccm_give_up(k, "a request before the handshake");
	} else if (s->kind == SCRIPT_SEND_RAW) {
		ccm_give_up(k, "raw bytes on the back-end channel");
	} else if (s->kind == SCRIPT_SEND_NAMED &&
		   (s->request == PROTO_BE_SHMEM_MAP ||
		    s->request == PROTO_BE_SHMEM_UNMAP)) {
		ccm_give_up(k, "a MAP/UNMAP sent by name, not by its fields");
	} else if (s->kind == SCRIPT_SEND_NAMED) {
		/* Another request changes no mapping; its reply takes a
		 * place in line. */
		if (reply_expected(k, s)) {
			push_sent(k, false, "request");
			for (unsigned w = 0; w < k->nw; w++)
				ccm_pend_push(&k->w[w], 0, "");
		}
	} else {
		map_unmap(k, st);
	}
}

/* Sizes by shmid as both readings of nregions agree on (digest 8: the
 * first nregions entries, or every non-zero one); with the config bent,
 * none. After a reconnect a size that changed is unknown too: a
 * front-end may keep the layout it set up first. */
static void set_layout(struct ccm *k, const struct script_step *st)
{
	const struct script_handshake *hs = &st->u.hs;
	uint64_t nreg = hs->has_nregions ? hs->nregions : hs->nsizes;
	bool bent = hs->has_config_size || hs->has_config_request ||
		    hs->has_config_flags || hs->has_config_padding || nreg > CCM_NSHM;

	for (unsigned i = 0; i < CCM_NSHM; i++) {
		uint64_t a = i < hs->nsizes ? st->list[i] : 0;
		bool known = !bent && (i < nreg || a == 0);
		uint8_t keep = k->shm[i] & CCM_SHM_LIVE_UNKNOWN;

		if (k->have_hs && ((k->shm[i] & CCM_SHM_SIZE_UNKNOWN) || k->size[i] != a))
			known = false;
		k->size[i] = a;
		k->shm[i] = keep | (known ? 0 : CCM_SHM_SIZE_UNKNOWN);
		if (known && (a % CCM_PAGE || a > CCM_SANE_REGION))
			k->shm[i] |= CCM_SHM_SIZE_SHAKY;
	}
}

static void on_handshake(struct ccm *k, const struct script_step *st)
{
	const struct script_handshake *hs = &st->u.hs;
	uint64_t need_fd = 1ull << PROTO_PF_BACKEND_SEND_FD;

	if (k->have_hs && !k->reconnecting) {
		ccm_give_up(k, "a second handshake without control reconnect");
		return;
	}
	if (hs->shmem != SCRIPT_SHMEM_ON) {
		ccm_give_up(k, "SHMEM not negotiated: the spec does not fix MAP/UNMAP");
		return;
	}
	if (hs->pf_off & (1ull << PROTO_PF_BACKEND_REQ)) {
		ccm_give_up(k, "no back-end channel");
		return;
	}
	k->replies = !(hs->pf_off & (1ull << PROTO_PF_REPLY_ACK));
	k->send_fd = !(hs->pf_off & need_fd) && (k->c->requires_pf & need_fd);
	set_layout(k, st);
	k->started = hs->start;
	k->have_hs = true;
	k->reconnecting = false;
}

static void reset_live(struct ccm *k)
{
	for (unsigned w = 0; w < k->nw; w++)
		k->w[w].nlive = 0;
	for (unsigned i = 0; i < CCM_NSHM; i++)
		k->shm[i] &= (uint8_t)~CCM_SHM_LIVE_UNKNOWN;
	ccm_dedupe(k);
}

/* Digest 10: a reset removes every mapping; what a stop or a reconnect
 * leaves is not said, so those live sets are no longer followed. */
static void on_control(struct ccm *k, const struct script_step *st)
{
	const struct script_control *ctl = &st->u.control;
	char cmd[32];

	if (ctl->expect == SCRIPT_CTL_ERR)
		return;         /* refused: nothing happened, or the case stops */
	if (sscanf(ctl->line, "%31s", cmd) != 1)
		return;
	if (strcmp(cmd, "start") == 0) {
		k->started = true;
	} else if (strcmp(cmd, "stop") == 0) {
		k->started = false;
		ccm_forget_live(k);
	} else if (strcmp(cmd, "reset") == 0) {
		k->started = false;
		reset_live(k);
	} else if (strcmp(cmd, "reconnect") == 0) {
		k->started = false;
		k->reconnecting = true;
		ccm_forget_live(k);
		k->nfifo = 0;   /* replies on the old channel never come */
		for (unsigned w = 0; w < k->nw; w++)
			k->w[w].npend = 0;
		ccm_dedupe(k);
	} else if (strcmp(cmd, "dump") != 0) {
		ccm_give_up(k, "a control command the model does not follow");
	}
}

static void exec_step(struct ccm *k, const struct script_step *st)
{
	switch (st->op) {
	case SCRIPT_HANDSHAKE: on_handshake(k, st); break;
	case SCRIPT_SEND: on_send(k, st); break;
	case SCRIPT_EXPECT_REPLY: on_expect_reply(k, st); break;
	case SCRIPT_CONTROL: on_control(k, st); break;
	case SCRIPT_EXPECT_NO_REPLY:
		/* The case takes a reply in line for absent: lost. */
		k->pair_lost |= st->on == SCRIPT_BACKEND && k->nfifo;
		break;
	case SCRIPT_CLOSE_BACKEND:
	case SCRIPT_EXPECT_EOF:
		ccm_give_up(k, "the connection ends");
		break;
	default:
		/* Waits and checks change no mapping, but one that stops the
		 * case may do so in some worlds only: which, the model does
		 * not know. */
		if ((st->is_assert || st->is_require) && k->nw > 1)
			ccm_give_up(k, "an assert or require the model cannot evaluate");
		break;
	}
}

/* The index of the step after step i, with repeat counting (as the
 * engine does). */
static unsigned next_step(struct ccm *k, unsigned i)
{
	const struct script_step *st = &k->c->steps[i];

	if (st->op == SCRIPT_REPEAT) {
		k->loops[i] = st->count;
		return st->count ? i + 1 : st->jump + 1;
	}
	if (st->op == SCRIPT_END)
		return --k->loops[st->jump] > 0 ? st->jump + 1 : i + 1;
	return i + 1;
}

static void run_steps(struct ccm *k)
{
	unsigned i = 0;

	while (i < k->c->nsteps && !k->stop) {
		k->idx = i;
		if (k->budget-- == 0) {
			ccm_give_up(k, "too many steps to follow");
			break;
		}
		exec_step(k, &k->c->steps[i]);
		i = next_step(k, i);
	}
}

static void tally(struct ccm *k)
{
	k->r->stop_line = k->stop_line;
	ccm_fmt(k->r->stop_why, sizeof(k->r->stop_why), "%s", k->stop_why);
	for (unsigned i = 0; i < k->c->nsteps; i++) {
		k->r->judged += (k->seen[i] & 1) != 0;
		k->r->open += k->seen[i] == 2;
	}
}

int casecheck_case(const struct script_case *c, struct casecheck_report *r,
		   char *err, size_t errcap)
{
	struct ccm k = { .c = c, .r = r, .nw = 1, .budget = CCM_STEP_BUDGET };
	size_t n = c->nsteps ? c->nsteps : 1;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (c->role != SCRIPT_ROLE_BACKEND)
		return 0;
	/* A split doubles the worlds before they are merged again. */
	k.w = calloc(2 * CCM_MAX_WORLDS, sizeof(*k.w));
	k.tmp = calloc(2 * CCM_MAX_WORLDS, sizeof(*k.tmp));
	k.loops = calloc(n, sizeof(*k.loops));
	k.seen = calloc(n, 1);
	ok = k.w && k.tmp && k.loops && k.seen;
	if (ok) {
		run_steps(&k);
		tally(&k);
	}
	free(k.w);
	free(k.tmp);
	free(k.loops);
	free(k.seen);
	if (!ok) {
		ccm_fmt(err, errcap, "%s: out of memory", c->file);
		return -ENOMEM;
	}
	return 0;
}
