/* SPDX-License-Identifier: MIT */
/*
 * ccmodel: the model casecheck follows a case with: its worlds (each one
 * live set of mappings a conforming front-end can hold), what the spec
 * says of one MAP or UNMAP in a world, and that request applied to every
 * world (split in two where the spec leaves it open). See ccmodel.h.
 */
#include "ccmodel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

void ccm_fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, cap, f, ap);
	va_end(ap);
}

void ccm_give_up(struct ccm *k, const char *why)
{
	if (k->stop)
		return;
	k->stop = true;
	k->stop_line = k->c->steps[k->idx].line;
	ccm_fmt(k->stop_why, sizeof(k->stop_why), "%s", why);
}

/* "[0x2000, 0x3001)"; a wrapping end is written as +len. */
void ccm_range_text(char *buf, size_t cap, uint64_t off, uint64_t len)
{
	if (off + len < off)
		ccm_fmt(buf, cap, "[0x%llx, +0x%llx)", CCM_ULL(off), CCM_ULL(len));
	else
		ccm_fmt(buf, cap, "[0x%llx, 0x%llx)", CCM_ULL(off), CCM_ULL(off + len));
}

/* ---- worlds ---- */

void ccm_world_copy(struct ccm_world *dst, const struct ccm_world *src)
{
	dst->nlive = src->nlive;
	dst->npend = src->npend;
	dst->nchoice = src->nchoice;
	dst->more_choices = src->more_choices;
	memcpy(dst->pend, src->pend, src->npend * sizeof(src->pend[0]));
	memcpy(dst->choice, src->choice, src->nchoice * sizeof(src->choice[0]));
	memcpy(dst->live, src->live, src->nlive * sizeof(src->live[0]));
}

static int live_cmp(const struct ccm_live *a, const struct ccm_live *b)
{
	if (a->shmid != b->shmid)
		return a->shmid < b->shmid ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/* Same live set and same pending outcomes: one world is enough. */
static bool world_same(const struct ccm_world *a, const struct ccm_world *b)
{
	if (a->nlive != b->nlive || a->npend != b->npend)
		return false;
	for (unsigned i = 0; i < a->npend; i++)
		if (a->pend[i].flags != b->pend[i].flags)
			return false;
	for (unsigned i = 0; i < a->nlive; i++)
		if (live_cmp(&a->live[i], &b->live[i]) != 0)
			return false;
	return true;
}

/* Kept sorted, so that equal sets compare equal. false when full. */
static bool live_add(struct ccm_world *wd, const struct ccm_req *q)
{
	struct ccm_live e = { q->off, q->len, q->line, q->shmid };
	unsigned i = 0;

	if (wd->nlive == CCM_MAX_LIVE)
		return false;
	while (i < wd->nlive && live_cmp(&wd->live[i], &e) < 0)
		i++;
	memmove(&wd->live[i + 1], &wd->live[i], (wd->nlive - i) * sizeof(e));
	wd->live[i] = e;
	wd->nlive++;
	return true;
}

static void live_del(struct ccm_world *wd, unsigned i)
{
	memmove(&wd->live[i], &wd->live[i + 1],
		(wd->nlive - i - 1) * sizeof(wd->live[0]));
	wd->nlive--;
}

/* Half-open ranges, so an empty one overlaps nothing; written so that
 * nothing wraps. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (alen == 0 || blen == 0)
		return false;
	return (a >= b && a - b < blen) || (b >= a && b - a < alen);
}

/* The live mapping equal to q's range (exact), or overlapping it. */
static int live_find(const struct ccm_world *wd, const struct ccm_req *q, bool exact)
{
	for (unsigned i = 0; i < wd->nlive; i++) {
		const struct ccm_live *e = &wd->live[i];

		if (e->shmid == q->shmid &&
		    (exact ? e->off == q->off && e->len == q->len
			   : overlaps(e->off, e->len, q->off, q->len)))
			return (int)i;
	}
	return -1;
}

/* Worlds that became equal are one (the first keeps its choices, for
 * messages). */
void ccm_dedupe(struct ccm *k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k->nw; i++) {
		bool dup = false;

		for (unsigned j = 0; j < n && !dup; j++)
			dup = world_same(&k->w[j], &k->w[i]);
		if (!dup && n != i)
			ccm_world_copy(&k->w[n], &k->w[i]);
		n += !dup;
	}
	k->nw = n;
}

/* Drops the live mappings of shmid from every world and stops
 * following them. */
static void forget_shmid(struct ccm *k, unsigned shmid)
{
	k->shm[shmid] |= CCM_SHM_LIVE_UNKNOWN;
	for (unsigned w = 0; w < k->nw; w++)
		for (unsigned i = k->w[w].nlive; i-- > 0;)
			if (k->w[w].live[i].shmid == shmid)
				live_del(&k->w[w], i);
}

/* Every shmid with a live mapping in some world. */
void ccm_forget_live(struct ccm *k)
{
	for (unsigned w = 0; w < k->nw; w++)
		while (k->w[w].nlive)
			forget_shmid(k, k->w[w].live[0].shmid);
	ccm_dedupe(k);
}

/* ---- what the spec says about one request ---- */

static const struct script_fd *fd_decl(const struct script_case *c,
				       const char *name)
{
	for (unsigned i = 0; i < c->nsteps; i++)
		if (c->steps[i].op == SCRIPT_FD &&
		    strcmp(c->steps[i].u.fd.name, name) == 0)
			return &c->steps[i].u.fd;
	return NULL;
}

/* Digest 6 "silent": the fd a MAP carries. */
static void fd_open(const struct script_case *c, const struct script_send *s,
		    char *why, size_t cap)
{
	const struct script_fd *fd = fd_decl(c, s->fds[0]);
	uint64_t end = s->fd_offset + s->len;

	if (!fd)
		ccm_fmt(why, cap, "fd '%s' is not declared", s->fds[0]);
	else if (fd->kind != FDPOOL_MEMFD)
		ccm_fmt(why, cap, "a %s fd", fdpool_kind_name(fd->kind));
	else if (end < s->fd_offset)
		ccm_fmt(why, cap, "fd_offset+len wraps");
	else if (end > fd->size)
		ccm_fmt(why, cap, "fd_offset+len past the end of the 0x%llx-byte file",
			CCM_ULL(fd->size));
}

/* Why the spec leaves the outcome of an otherwise valid request open
 * (digest 6 "silent"; 7: an UNMAP's fd_offset and flags "do not matter"
 * and it carries no fd, yet a strict refusal is not forbidden; 10:
 * before start). */
void ccm_req_open(const struct ccm *k, const struct script_send *s, bool map,
		     char *why, size_t cap)
{
	static const uint8_t zero[7];

	why[0] = '\0';
	if (s->len == 0)
		ccm_fmt(why, cap, "len 0");
	else if (map && (s->shm_offset & (CCM_PAGE - 1)))
		ccm_fmt(why, cap, "shm_offset 0x%llx not page-aligned", CCM_ULL(s->shm_offset));
	else if (map && (s->fd_offset & (CCM_PAGE - 1)))
		ccm_fmt(why, cap, "fd_offset 0x%llx not page-aligned", CCM_ULL(s->fd_offset));
	else if (map && (s->len & (CCM_PAGE - 1)))
		ccm_fmt(why, cap, "len 0x%llx not page-aligned", CCM_ULL(s->len));
	else if (map && (s->flags & ~(uint64_t)PROTO_MMAP_F_KNOWN))
		ccm_fmt(why, cap, "unknown flag bits");
	else if (memcmp(s->padding, zero, sizeof(zero)) != 0)
		ccm_fmt(why, cap, "non-zero padding");
	else if (s->has_hdr_flags)
		ccm_fmt(why, cap, "header flags 0x%x", s->hdr_flags);
	else if (!map && (s->nfds || s->fd_offset || s->flags))
		ccm_fmt(why, cap, s->nfds ? "an fd attached" : "non-zero fd_offset/flags");
	else if (map && s->nfds != 1)
		ccm_fmt(why, cap, "%u fds, not one", s->nfds);
	else if (map)
		fd_open(k->c, s, why, cap);
	if (!why[0] && !k->started)
		ccm_fmt(why, cap, "the device is not started");
}

/* MAP rules that hold in every world: region, bounds, wrap. */
enum ccm_outcome ccm_map_static(const struct ccm *k, const struct ccm_req *q,
				char *why, size_t cap)
{
	uint64_t size = k->size[q->shmid];
	char rt[64];

	if (k->shm[q->shmid] & CCM_SHM_SIZE_UNKNOWN)
		return CCM_OUT_SKIP;
	ccm_range_text(rt, sizeof(rt), q->off, q->len);
	if (size == 0) {
		ccm_fmt(why, cap, "shmid %u has no region", q->shmid);
		return CCM_OUT_FAIL;
	}
	if (q->len && q->off + q->len < q->off) {
		ccm_fmt(why, cap, "shm_offset+len wraps");
		return CCM_OUT_FAIL;
	}
	if (q->len && q->off + q->len > size) {
		ccm_fmt(why, cap, "%s is outside the region of 0x%llx bytes", rt,
			CCM_ULL(size));
		return CCM_OUT_FAIL;
	}
	return k->shm[q->shmid] & CCM_SHM_LIVE_UNKNOWN ? CCM_OUT_SKIP : CCM_OUT_OK;
}

static enum ccm_outcome map_in(const struct ccm_world *wd, const struct ccm_req *q,
			       char *why, size_t cap)
{
	int i = q->len ? live_find(wd, q, false) : -1;
	char rt[64];

	if (i >= 0) {
		ccm_range_text(rt, sizeof(rt), wd->live[i].off, wd->live[i].len);
		ccm_fmt(why, cap, "it overlaps the live mapping %s of line %u", rt,
			wd->live[i].line);
		return CCM_OUT_FAIL;
	}
	ccm_fmt(why, cap, "it is inside the region and overlaps no live mapping");
	if (q->open[0])
		return CCM_OUT_OPEN;
	return q->lose[0] ? CCM_OUT_LOSE : CCM_OUT_OK;
}

static enum ccm_outcome unmap_in(const struct ccm_world *wd, const struct ccm_req *q,
				 char *why, size_t cap)
{
	int x = live_find(wd, q, true), i = x >= 0 ? x : live_find(wd, q, false);
	char rt[64];

	if (i < 0) {
		ccm_fmt(why, cap, "no live mapping of shmid %u is there", q->shmid);
		return CCM_OUT_FAIL;
	}
	ccm_range_text(rt, sizeof(rt), wd->live[i].off, wd->live[i].len);
	if (x < 0) {
		ccm_fmt(why, cap, "it is not exactly the live mapping %s of line %u",
			rt, wd->live[i].line);
		return CCM_OUT_FAIL;
	}
	ccm_fmt(why, cap, "it is exactly the live mapping %s of line %u", rt,
		wd->live[i].line);
	return q->open[0] ? CCM_OUT_OPEN : CCM_OUT_OK;
}

/* ---- applying one request to every world ---- */

void ccm_pend_push(struct ccm_world *wd, uint8_t flags, const char *why)
{
	struct ccm_pend *p = &wd->pend[wd->npend++];

	p->flags = flags;
	ccm_fmt(p->why, sizeof(p->why), "%s", why);
}

/* Remembered for the message of a finding in this world. */
static void choose(struct ccm_world *wd, const struct ccm_req *q, bool accepted)
{
	struct ccm_choice *ch = &wd->choice[wd->nchoice];

	if (wd->nchoice == CCM_MAX_CHOICES) {
		wd->more_choices++;
		return;
	}
	wd->nchoice++;
	*ch = (struct ccm_choice){ q->line, accepted, q->map, "" };
	ccm_fmt(ch->why, sizeof(ch->why), "%s", q->open);
}

/* The request succeeded in wd. false when the live set is full. */
bool ccm_succeed(struct ccm_world *wd, const struct ccm_req *q)
{
	int i;

	if (q->map)
		return live_add(wd, q);
	i = live_find(wd, q, true);
	if (i >= 0)
		live_del(wd, (unsigned)i);
	return true;
}

/* One world's outcome into k->tmp (two worlds when open). */
static bool apply_one(struct ccm *k, const struct ccm_world *wd, const struct ccm_req *q,
		      enum ccm_outcome o, const char *why, bool push, unsigned *n)
{
	struct ccm_world *a = &k->tmp[(*n)++];
	static const uint8_t flags[] = {
		[CCM_OUT_OK] = CCM_P_KNOWN | CCM_P_OK | CCM_P_FORCED, [CCM_OUT_FAIL] = CCM_P_KNOWN | CCM_P_FORCED,
		[CCM_OUT_OPEN] = CCM_P_KNOWN | CCM_P_OK, [CCM_OUT_LOSE] = 0, [CCM_OUT_SKIP] = 0,
	};

	ccm_world_copy(a, wd);
	if (push)
		ccm_pend_push(a, flags[o], why);
	if (o != CCM_OUT_OPEN)
		return o != CCM_OUT_OK || ccm_succeed(a, q);
	choose(a, q, true);
	if (!ccm_succeed(a, q))
		return false;
	a = &k->tmp[(*n)++];
	ccm_world_copy(a, wd);
	if (push)
		ccm_pend_push(a, CCM_P_KNOWN, why);
	choose(a, q, false);
	return true;
}

void ccm_apply(struct ccm *k, const struct ccm_req *q, enum ccm_outcome stat,
		  const char *swhy, bool push)
{
	struct ccm_world *t;
	bool lose = false;
	unsigned n = 0;
	char why[CCM_WHY_MAX];

	for (unsigned w = 0; w < k->nw && !k->stop; w++) {
		enum ccm_outcome o = stat;

		ccm_fmt(why, sizeof(why), "%s", swhy);
		if (o == CCM_OUT_OK)
			o = q->map ? map_in(&k->w[w], q, why, sizeof(why))
				   : unmap_in(&k->w[w], q, why, sizeof(why));
		lose |= o == CCM_OUT_LOSE;
		if (!apply_one(k, &k->w[w], q, o, why, push, &n))
			ccm_give_up(k, "more live mappings than the model follows");
	}
	t = k->w;
	k->w = k->tmp;
	k->tmp = t;
	k->nw = n;
	if (lose || stat == CCM_OUT_SKIP)
		forget_shmid(k, q->shmid);
	ccm_dedupe(k);
	if (k->nw > CCM_MAX_WORLDS)
		ccm_give_up(k, "too many open outcomes to follow");
}
