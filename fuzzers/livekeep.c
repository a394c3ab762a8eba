/* SPDX-License-Identifier: MIT */
/*
 * livekeep: keeping a live stream going on one target (fuzzlive.h): the
 * points where a new slice may start (a cut), what stands in for a reset
 * --avoid keeps off, and how a region the model lost is won back without
 * one. A target whose reset is a known crash (the SHMEM QEMU's) would
 * otherwise cost a new process each time the model stops knowing what it
 * holds.
 */
#include <string.h>

#include "fuzzlive.h"
#include "seqop.h"

/* A state the emitted case starts from too (handshake, started, empty). */
static bool clean(const struct live *L)
{
	if (L->model.nmaps || !L->model.started || L->taint_all || L->doubt ||
	    L->held)
		return false;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (L->taint[i])
			return false;
	return true;
}

/* A known-good point without a reset: the next slice starts here, so
 * what a reset will find of the fds sent before it is no verdict of
 * that slice's (the case could not show it). */
static void cut(struct live *L)
{
	memset(L->blind, 0, sizeof(L->blind));
	for (unsigned i = 0; i < L->chk.pool.count; i++)
		L->chk.fds[i].synced = false;
	/* Nothing is live: the fds sent so far are no later check's, and
	 * without a reset (a target whose reset crashes) the pool would
	 * fill, and every operation with an fd would stop being played. */
	if (L->chk.pool.count > FDPOOL_MAX / 2) {
		livecheck_reset(&L->chk);
		memset(L->fd_shmid, 0xff, sizeof(L->fd_shmid));
	}
	livegen_clean(&L->gen);
}

void live_lost(struct live *L, unsigned shmid, uint64_t off, uint64_t len)
{
	struct live_scrub *s = &L->scrub[shmid % PROTO_SHMEM_MAX_REGIONS];

	L->taint[shmid % PROTO_SHMEM_MAX_REGIONS] = true;
	if (s->n == LIVE_SCRUB_MAX) {
		s->overflow = true;
		return;
	}
	s->off[s->n] = off;
	s->len[s->n++] = len;
}

void live_forget_scrubs(struct live *L)
{
	memset(L->scrub, 0, sizeof(L->scrub));
}

/* Region t won back: nothing of it is live in the model either. */
static void regained(struct live *L, unsigned t)
{
	unsigned k = 0;

	for (unsigned i = 0; i < L->model.nmaps; i++)
		if (L->model.maps[i].shmid != t)
			L->model.maps[k++] = L->model.maps[i];
	L->model.nmaps = k;
	k = 0;
	for (unsigned i = 0; i < L->nmaps; i++)
		if (L->maps[i].shmid != t)
			L->maps[k++] = L->maps[i];
	L->nmaps = k;
	memset(&L->scrub[t], 0, sizeof(L->scrub[t]));
	L->taint[t] = false;
	L->blind[t] = true;     /* the case's shmid stays tainted: no MUST */
	L->scrubbed++;
}

/* A region the model lost (an open choice it could not follow), won
 * back without a reset: the UNMAP (NEED_REPLY) of every range sent there
 * since it was lost and of every mapping the model had there, then
 * /proc: once none of the fds sent there is mapped, the region is empty
 * as far as the target's address space shows. What /proc cannot show (a
 * len-0 entry a front-end keeps) a later violation may trip on; its case
 * then does not reproduce it, and the campaign counts it unconfirmed,
 * never as a finding. Returns true with the next UNMAP in *op; false
 * when nothing is left to win back, or when it cannot be. */
static bool scrub(struct live *L, struct seqop *op, bool *lost_for_good)
{
	char obs[512];

	*lost_for_good = L->taint_all;
	/* Not while stopped: requests then are what crashes some targets,
	 * and what the model would not judge. */
	if (!L->model.started)
		return false;
	for (unsigned t = 0; t < PROTO_SHMEM_MAX_REGIONS && !L->taint_all; t++) {
		struct live_scrub *s = &L->scrub[t];
		bool mapped = false;

		if (!L->taint[t])
			continue;
		if (s->overflow || !L->model.reply_ack) {
			*lost_for_good = true;
			return false;
		}
		if (!s->started) {      /* the model's own mappings there too */
			s->started = true;
			for (unsigned i = 0; i < L->model.nmaps && s->n < LIVE_SCRUB_MAX; i++)
				if (L->model.maps[i].shmid == t) {
					s->off[s->n] = L->model.maps[i].shm_offset;
					s->len[s->n++] = L->model.maps[i].len;
				}
		}
		if (s->next < s->n) {
			*op = (struct seqop){ .op = SEQOP_UNMAP, .shmid = (uint8_t)t,
					      .bits = SEQOP_B_RAW | SEQOP_B_NEED_REPLY,
					      .a = s->off[s->next], .b = s->len[s->next] };
			s->next++;
			L->scrubbing = true;
			return true;
		}
		/* A front-end may unmap after its reply (QEMU's RCU): the
		 * check's window, as a case's check step waits. */
		for (unsigned i = 0; i < L->chk.pool.count && !mapped; i++)
			mapped = L->fd_shmid[i] == (int)t &&
				 !livecheck_holds(&L->chk, &L->peer, LIVECHECK_UNMAPPED,
						  (int)i, 0, 0, LIVECHECK_WINDOW_MS,
						  obs, sizeof(obs));
		if (mapped) {
			*lost_for_good = true;
			return false;
		}
		regained(L, t);
	}
	return false;
}

/* The UNMAP of the first live mapping, as a reset's stand-in. */
static void unmap_first(const struct live *L, struct seqop *op)
{
	*op = (struct seqop){ .op = SEQOP_UNMAP, .shmid = L->model.maps[0].shmid,
			      .bits = SEQOP_B_RAW | SEQOP_B_NEED_REPLY,
			      .a = L->model.maps[0].shm_offset,
			      .b = L->model.maps[0].len };
}

/* Without resets, a segment is cut only where nothing is live; near its
 * longest, the live mappings are unmapped so that it can be (else the
 * segment, too long for a case, would cost the target). */
static bool drain(struct live *L, struct seqop *op)
{
	if (!L->model.started || !L->model.nmaps || L->gen.cur.n + L->model.nmaps + 2 < LIVEGEN_SEG_MAX ||
	    !live_avoided(L, "reset", ""))
		return false;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (L->taint[i] && L->scrub[i].next < L->scrub[i].n)
			return false;   /* a scrub's turn first */
	unmap_first(L, op);
	L->scrubbing = true;
	return true;
}

/* A control command --avoid names is not played. A reset's stand-in is
 * the UNMAP of a live mapping (until a clean state ends the segment), or
 * the scrub of a lost region; false: nothing to play this time. */
static bool stand_in(struct live *L, struct seqop *op)
{
	const char *kind = seqop_kind_name(seqop_kind(op));
	enum seqop_kind k = seqop_kind(op);
	bool for_good = false;

	if ((k != SEQOP_RESET && k != SEQOP_STOP) || !live_avoided(L, kind, ""))
		return true;
	L->avoided++;
	if (k == SEQOP_STOP)
		return false;
	if (L->gen.cur.n < LIVEGEN_SEG_MAX && scrub(L, op, &for_good))
		return true;
	if (clean(L)) {
		cut(L);
		return false;
	}
	/* What the model no longer knows only a reset or a new process
	 * clears: the driver ends and the runner starts the target again. */
	if (for_good || !L->model.nmaps || L->gen.cur.n >= LIVEGEN_SEG_MAX) {
		L->recycle = true;
		return false;
	}
	unmap_first(L, op);
	return true;
}

void live_step(struct live *L)
{
	struct seqop op;

	if (!drain(L, &op)) {
		livegen_next(&L->gen, &L->model, &op);
		if (!stand_in(L, &op))
			return;
	}
	live_play(L, &op);
	L->scrubbing = false;
	if (L->absorbing) {     /* a known FAIL outside a MAP/UNMAP's region */
		L->absorbing = false;
		L->taint_all = true;
	}
	/* The target's own coverage (--edges): what this operation reached
	 * that no earlier one did keeps its segment, as a new state does. */
	if (L->edges.trace && edgemap_take(&L->edges))
		L->gen.cur_new = true;
	if (!L->violated && clean(L))
		cut(L);
	if (!L->violated && !livepeer_alive(&L->peer))
		live_gone(L, seqop_kind_name(seqop_kind(&op)));
}
