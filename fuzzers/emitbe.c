/* SPDX-License-Identifier: MIT */
/*
 * emitbe: see emitbe.h. The input format is fuzz_backend_replies.c's
 * (16-byte records); the model, what a conforming back-end must refuse
 * and conclude from each reply, is bejudge.h's, which the live back-end
 * stream (belive.c) judges by too. This file writes it as case lines.
 */
#include "emitbe.h"

#include <stdio.h>
#include <string.h>

#include "bejudge.h"

#define BE_MAX_STEPS 64u

struct be {
	struct etext *t;
	struct bejudge m;       /* the model (bejudge.h) */
	bool ended;             /* the back-end's state is no longer known */
	bool pid, control;
};

/* The reply of a kind, sent to request req, as case lines. */
static void send_reply(struct be *b, enum bejudge_reply kind, uint32_t req,
		       uint8_t value)
{
	switch (kind) {
	case BEJUDGE_R_OK: etext_line(b->t, "reply value=0"); break;
	case BEJUDGE_R_ERR: etext_line(b->t, "reply value=%u", value | 1u); break;
	case BEJUDGE_R_NONE: break;
	case BEJUDGE_R_WRONG_ID:
		etext_line(b->t, "send raw %02x%02x0000050000000800000000000000"
			   "00000000 on=backend", (req + 1) & 0xff, (req + 1) >> 8);
		break;
	case BEJUDGE_R_WRONG_FLAGS:
		etext_line(b->t, "reply value=0 flags=%#x",
			   bejudge_wrong_flags(value));
		break;
	case BEJUDGE_R_SHORT: etext_line(b->t, "reply size=4 payload=00000000"); break;
	case BEJUDGE_R_LONG: etext_line(b->t, "reply size=16 payload=%032d", 0); break;
	case BEJUDGE_R_TRUNC: etext_line(b->t, "reply size=8 payload=000000"); break;
	case BEJUDGE_R_FDS: etext_line(b->t, "reply value=0 fd=x"); break;
	case BEJUDGE_R_EOF: etext_line(b->t, "close backend"); break;
	default:
		etext_line(b->t, "reply value=0");
		etext_line(b->t, "send raw %02x%02x00000500000008000000000000"
			   "0000000000 on=backend", req & 0xff, req >> 8);
		break;
	}
}

/* After the request went out: its answer and what the back-end must
 * conclude (bejudge_outcome), into o. */
static void judge(struct be *b, const struct bejudge_rec *r, bool need,
		  uint32_t req, const char *kind, struct bejudge_outcome *o)
{
	enum bejudge_reply k = (enum bejudge_reply)(r->reply % BEJUDGE_R_MAX);

	bejudge_outcome(k, need, o);
	if (!need) {
		etext_graded(b->t, kind, o->must, o->rule, "expect result sent");
		return;
	}
	if (r->bits & BEJUDGE_B_MAIN) {
		/* The main channel while the request waits (9). */
		etext_line(b->t, "send GET_FEATURES");
		etext_line(b->t, "expect reply within=500");
	}
	send_reply(b, k, req, r->value);
	if (k == BEJUDGE_R_FDS) {
		etext_graded(b->t, kind, o->must, o->rule, "expect result ok");
		b->pid = true;
		etext_graded(b->t, kind, false, "12H: fds it did not ask for are "
			     "closed", "check fds x count=0 within=1000");
		return;
	}
	if (o->known) {
		etext_graded(b->t, kind, o->must, o->rule, "expect result %s",
			     o->want);
		return;
	}
	etext_graded(b->t, kind, o->must, o->rule, "expect result %s within=%d",
		     o->want, BEJUDGE_OUTCOME_MS);
	b->ended = true;
	etext_line(b->t, "# what it does next depends on its own reply "
		   "timeout: the case ends its requests here");
}

static void need_arg(const struct bejudge_rec *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s", (r->bits & BEJUDGE_B_NEED) ? " need_reply=1"
				 : (r->bits & BEJUDGE_B_NO_NEED) ? " need_reply=0"
				 : "");
}

static void be_map(struct be *b, const struct bejudge_rec *r)
{
	struct bejudge_range g;
	struct bejudge_outcome o;
	uint64_t fdo;
	const char *why;
	char need[24], fdsize[40] = "", line[320];
	bool nr = bejudge_need(&b->m, r);

	bejudge_map_range(r, &g, &fdo);
	if (g.len == 0 || (nr && !b->m.reply_ack)) {
		etext_line(b->t, "# map step left out: %s", g.len == 0
			   ? "len 0 (a back-end may refuse it or not)"
			   : "need_reply=1 without REPLY_ACK (the digest says "
			     "nothing)");
		return;
	}
	need_arg(r, need, sizeof(need));
	if (r->bits & BEJUDGE_B_FD_SIZE)
		snprintf(fdsize, sizeof(fdsize), " fd_size=%#llx",
			 (unsigned long long)(fdo + g.len + BEJUDGE_PAGE));
	snprintf(line, sizeof(line), "control map shmid=%u shm_offset=%#llx "
		 "len=%#llx fd_offset=%#llx flags=%s%s%s", g.shmid,
		 (unsigned long long)g.off, (unsigned long long)g.len,
		 (unsigned long long)fdo, (r->bits & BEJUDGE_B_RW) ? "rw" : "ro",
		 need, fdsize);
	b->control = true;
	why = bejudge_map_refusal(&b->m, &g);
	if (why) {
		/* A failed control step fails the case at its level. */
		etext_graded(b->t, "map-refusal", true, why, "%s expect=err", line);
		return;
	}
	etext_step(b->t, "map", "12H: the back-end sends a MAP it may send "
		   "(control map)", "%s", line);
	etext_graded(b->t, "map", true, "6: SHMEM_MAP carries exactly one fd",
		     "expect msg SHMEM_MAP on=backend fds=1 size=40");
	judge(b, r, nr, PROTO_BE_SHMEM_MAP, "map", &o);
	bejudge_mapped(&b->m, &g, &o);
}

static void be_unmap(struct be *b, const struct bejudge_rec *r)
{
	struct bejudge_range g;
	struct bejudge_outcome o;
	char need[24];
	bool nr = bejudge_need(&b->m, r);
	int i = bejudge_unmap_index(&b->m, r);

	if (i < 0 || (nr && !b->m.reply_ack))
		return;
	g = b->m.live[i];
	need_arg(r, need, sizeof(need));
	b->control = true;
	etext_step(b->t, "unmap", "12H: the back-end unmaps what it holds "
		   "(control unmap)",
		   "control unmap shmid=%u shm_offset=%#llx len=%#llx%s", g.shmid,
		   (unsigned long long)g.off, (unsigned long long)g.len, need);
	etext_graded(b->t, "unmap", true, "7: SHMEM_UNMAP carries no fd",
		     "expect msg SHMEM_UNMAP on=backend fds=0 size=40");
	judge(b, r, nr, PROTO_BE_SHMEM_UNMAP, "unmap", &o);
	bejudge_unmapped(&b->m, i, &o);
}

static void be_step(struct be *b, const struct bejudge_rec *r)
{
	static const char *const names[BEJUDGE_OP_MAX] = {
		"map", "unmap", "config", "reset", "negotiate", "reconnect",
		"stray",
	};
	enum bejudge_op op = (enum bejudge_op)(r->op % BEJUDGE_OP_MAX);

	if (op == BEJUDGE_MAP) {
		be_map(b, r);
	} else if (op == BEJUDGE_UNMAP) {
		be_unmap(b, r);
	} else if (op == BEJUDGE_CONFIG && b->m.shmem) {
		etext_line(b->t, "send GET_SHMEM_CONFIG");
		etext_graded(b->t, "config", true, "8: sizes are page multiples "
			     "and never change during a connection",
			     "expect shmem-config page-multiple stable");
	} else if (op == BEJUDGE_RESET) {
		etext_line(b->t, "send SET_STATUS u64=0");
		etext_step(b->t, "reset", "12H: the back-end forgets its mappings "
			   "(control reset)", "control reset");
		b->control = true;
		b->m.nlive = 0;
	} else {
		etext_line(b->t, "# step %s: no case statement says it mid-case",
			   names[op]);
	}
}

int emitbe_body(const struct emitcase_opts *opts, const uint8_t *data,
		size_t size, struct etext *t, struct emit_header *eh,
		char *err, size_t errcap)
{
	struct be b;
	struct bejudge_rec r;
	size_t i = 0;
	unsigned n = 0;

	if (size < BEJUDGE_RECORD) {
		snprintf(err, errcap, "no record: %zu bytes", size);
		return 0;
	}
	memset(&b, 0, sizeof(b));
	b.t = t;
	b.m.shmem = b.m.reply_ack = true;
	if (opts->have_sizes)
		memcpy(b.m.sizes, opts->sizes, sizeof(b.m.sizes));
	else
		b.m.sizes[0] = UINT64_C(1) << 20;   /* the reference's default */
	/* Leading NEGOTIATE records shape the handshake. */
	for (; i + BEJUDGE_RECORD <= size; i += BEJUDGE_RECORD) {
		bejudge_rec_read(data + i, &r);
		if (r.op % BEJUDGE_OP_MAX != BEJUDGE_NEGOTIATE)
			break;
		b.m.shmem = !(r.value & 1);
		b.m.reply_ack = !(r.value & 2);
	}
	etext_line(t, "handshake%s%s", b.m.shmem ? "" : " shmem=off",
		   b.m.reply_ack ? "" : " reply-ack=off");
	etext_line(t, "fd x memfd size=64k");
	for (; i + BEJUDGE_RECORD <= size && n < BE_MAX_STEPS && !b.ended;
	     i += BEJUDGE_RECORD, n++) {
		bejudge_rec_read(data + i, &r);
		be_step(&b, &r);
	}
	if (!b.control) {
		snprintf(err, errcap, "no request the back-end is asked for");
		return 0;
	}
	if (!b.ended)
		etext_graded(t, "ledger", true, "12H: inside the regions, no "
			     "overlap, UNMAPs of exact live ranges",
			     "check ledger");
	/* As backend_map_message_shape: a sender zeroes the padding and
	 * sets known flags only (4), so warnings count too. */
	etext_graded(t, "messages", true, "4, 6, 7, 12H: what the back-end "
		     "sends passes the validator (padding zero, known flags)",
		     "check findings none severity=warn");
	etext_line(t, "check alive");
	snprintf(eh->requires, sizeof(eh->requires),
		 "BACKEND_REQ BACKEND_SEND_FD%s%s control%s",
		 b.m.shmem ? " SHMEM" : "", b.m.reply_ack ? " REPLY_ACK" : "",
		 b.pid ? " pid" : "");
	return 1;
}
