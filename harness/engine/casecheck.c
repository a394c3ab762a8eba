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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define PAGE 0x1000u
#define NSHM PROTO_SHMEM_MAX_REGIONS
#define MAX_WORLDS 32u
#define MAX_LIVE 256u
#define MAX_PEND 16u
#define MAX_CHOICES 3u
#define WHY_MAX 128u
/* A region above this cannot be reserved in a 47-bit address space
 * alongside anything else: success there is resources, not the spec. */
#define SANE_REGION (1ull << 44)
#define STEP_BUDGET 4000000ul
#define ull(v) ((unsigned long long)(v))

/* Per shmid: what the model does not know. */
enum {
	SHM_SIZE_UNKNOWN = 1, /* the config is read differently by readers */
	SHM_SIZE_SHAKY = 2,   /* known, but not one a back-end may send */
	SHM_LIVE_UNKNOWN = 4, /* its live mappings are not known */
};

/* Outcome of one request in one world (pend flags). */
enum { P_KNOWN = 1, P_OK = 2, P_FORCED = 4 };

enum outcome { OUT_OK, OUT_FAIL, OUT_OPEN, OUT_LOSE, OUT_SKIP };

struct live { uint64_t off, len; unsigned line; uint8_t shmid; };
struct pend { uint8_t flags; char why[WHY_MAX]; /* why it is forced */ };
struct choice { unsigned line; bool accepted, map; char why[72]; };

struct world {
	unsigned nlive, npend, nchoice, more_choices;
	struct pend pend[MAX_PEND];
	struct choice choice[MAX_CHOICES];
	struct live live[MAX_LIVE];
};

/* A request sent that awaits its reply, in order. */
struct sent {
	bool judge;             /* a MAP/UNMAP the model follows */
	char what[96];
};

/* One MAP or UNMAP as the model sees it. */
struct req {
	bool map;
	uint8_t shmid;
	uint64_t off, len;
	unsigned line;
	char open[72];          /* why the spec leaves it open; "" if not */
	char lose[72];          /* why success would not be known; "" if not */
};

struct cc {
	const struct script_case *c;
	struct casecheck_report *r;
	struct world *w, *tmp;
	unsigned nw;
	uint64_t size[NSHM];
	uint8_t shm[NSHM];
	bool stop, have_hs, reconnecting, started, replies, send_fd, pair_lost;
	unsigned nfifo;
	struct sent fifo[MAX_PEND];
	uint64_t *loops;
	uint8_t *seen;          /* per step: 1 judged, 2 left open */
	unsigned long budget;
	unsigned idx;           /* the step being followed */
};

__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, cap, f, ap);
	va_end(ap);
}

static void give_up(struct cc *k, const char *why)
{
	if (k->stop)
		return;
	k->stop = true;
	k->r->stop_line = k->c->steps[k->idx].line;
	fmt(k->r->stop_why, sizeof(k->r->stop_why), "%s", why);
}

/* "[0x2000, 0x3001)"; a wrapping end is written as +len. */
static void range_text(char *buf, size_t cap, uint64_t off, uint64_t len)
{
	if (off + len < off)
		fmt(buf, cap, "[0x%llx, +0x%llx)", ull(off), ull(len));
	else
		fmt(buf, cap, "[0x%llx, 0x%llx)", ull(off), ull(off + len));
}

/* ---- worlds ---- */

static void world_copy(struct world *dst, const struct world *src)
{
	dst->nlive = src->nlive;
	dst->npend = src->npend;
	dst->nchoice = src->nchoice;
	dst->more_choices = src->more_choices;
	memcpy(dst->pend, src->pend, src->npend * sizeof(src->pend[0]));
	memcpy(dst->choice, src->choice, src->nchoice * sizeof(src->choice[0]));
	memcpy(dst->live, src->live, src->nlive * sizeof(src->live[0]));
}

static int live_cmp(const struct live *a, const struct live *b)
{
	if (a->shmid != b->shmid)
		return a->shmid < b->shmid ? -1 : 1;
	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/* Same live set and same pending outcomes: one world is enough. */
static bool world_same(const struct world *a, const struct world *b)
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
static bool live_add(struct world *wd, const struct req *q)
{
	struct live e = { q->off, q->len, q->line, q->shmid };
	unsigned i = 0;

	if (wd->nlive == MAX_LIVE)
		return false;
	while (i < wd->nlive && live_cmp(&wd->live[i], &e) < 0)
		i++;
	memmove(&wd->live[i + 1], &wd->live[i], (wd->nlive - i) * sizeof(e));
	wd->live[i] = e;
	wd->nlive++;
	return true;
}

static void live_del(struct world *wd, unsigned i)
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
static int live_find(const struct world *wd, const struct req *q, bool exact)
{
	for (unsigned i = 0; i < wd->nlive; i++) {
		const struct live *e = &wd->live[i];

		if (e->shmid == q->shmid &&
		    (exact ? e->off == q->off && e->len == q->len
			   : overlaps(e->off, e->len, q->off, q->len)))
			return (int)i;
	}
	return -1;
}

/* Worlds that became equal are one (the first keeps its choices, for
 * messages). */
static void dedupe(struct cc *k)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k->nw; i++) {
		bool dup = false;

		for (unsigned j = 0; j < n && !dup; j++)
			dup = world_same(&k->w[j], &k->w[i]);
		if (!dup && n != i)
			world_copy(&k->w[n], &k->w[i]);
		n += !dup;
	}
	k->nw = n;
}

/* Drops the live mappings of shmid from every world and stops
 * following them. */
static void forget_shmid(struct cc *k, unsigned shmid)
{
	k->shm[shmid] |= SHM_LIVE_UNKNOWN;
	for (unsigned w = 0; w < k->nw; w++)
		for (unsigned i = k->w[w].nlive; i-- > 0;)
			if (k->w[w].live[i].shmid == shmid)
				live_del(&k->w[w], i);
}

/* Every shmid with a live mapping in some world. */
static void forget_live(struct cc *k)
{
	for (unsigned w = 0; w < k->nw; w++)
		while (k->w[w].nlive)
			forget_shmid(k, k->w[w].live[0].shmid);
	dedupe(k);
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
		fmt(why, cap, "fd '%s' is not declared", s->fds[0]);
	else if (fd->kind != FDPOOL_MEMFD)
		fmt(why, cap, "a %s fd", fdpool_kind_name(fd->kind));
	else if (end < s->fd_offset)
		fmt(why, cap, "fd_offset+len wraps");
	else if (end > fd->size)
		fmt(why, cap, "fd_offset+len past the end of the 0x%llx-byte file",
		    ull(fd->size));
}

/* Why the spec leaves the outcome of an otherwise valid request open
 * (digest 6 "silent"; 7: an UNMAP's fd_offset and flags "do not matter"
 * and it carries no fd, yet a strict refusal is not forbidden; 10:
 * before start). */
static void req_open(const struct cc *k, const struct script_send *s, bool map,
		     char *why, size_t cap)
{
	static const uint8_t zero[7];

	why[0] = '\0';
	if (s->len == 0)
		fmt(why, cap, "len 0");
	else if (map && (s->shm_offset & (PAGE - 1)))
		fmt(why, cap, "shm_offset 0x%llx not page-aligned", ull(s->shm_offset));
	else if (map && (s->fd_offset & (PAGE - 1)))
		fmt(why, cap, "fd_offset 0x%llx not page-aligned", ull(s->fd_offset));
	else if (map && (s->len & (PAGE - 1)))
		fmt(why, cap, "len 0x%llx not page-aligned", ull(s->len));
	else if (map && (s->flags & ~(uint64_t)PROTO_MMAP_F_KNOWN))
		fmt(why, cap, "unknown flag bits");
	else if (memcmp(s->padding, zero, sizeof(zero)) != 0)
		fmt(why, cap, "non-zero padding");
	else if (s->has_hdr_flags)
		fmt(why, cap, "header flags 0x%x", s->hdr_flags);
	else if (!map && (s->nfds || s->fd_offset || s->flags))
		fmt(why, cap, s->nfds ? "an fd attached" : "non-zero fd_offset/flags");
	else if (map && s->nfds != 1)
		fmt(why, cap, "%u fds, not one", s->nfds);
	else if (map)
		fd_open(k->c, s, why, cap);
	if (!why[0] && !k->started)
		fmt(why, cap, "the device is not started");
}

/* MAP rules that hold in every world: region, bounds, wrap. */
static enum outcome map_static(const struct cc *k, const struct req *q,
			       char *why, size_t cap)
{
	uint64_t size = k->size[q->shmid];
	char rt[64];

	if (k->shm[q->shmid] & SHM_SIZE_UNKNOWN)
		return OUT_SKIP;
	range_text(rt, sizeof(rt), q->off, q->len);
	if (size == 0) {
		fmt(why, cap, "shmid %u has no region", q->shmid);
		return OUT_FAIL;
	}
	if (q->len && q->off + q->len < q->off) {
		fmt(why, cap, "shm_offset+len wraps");
		return OUT_FAIL;
	}
	if (q->len && q->off + q->len > size) {
		fmt(why, cap, "%s is outside the region of 0x%llx bytes", rt,
		    ull(size));
		return OUT_FAIL;
	}
	return k->shm[q->shmid] & SHM_LIVE_UNKNOWN ? OUT_SKIP : OUT_OK;
}

static enum outcome map_in(const struct world *wd, const struct req *q,
			   char *why, size_t cap)
{
	int i = q->len ? live_find(wd, q, false) : -1;
	char rt[64];

	if (i >= 0) {
		range_text(rt, sizeof(rt), wd->live[i].off, wd->live[i].len);
		fmt(why, cap, "it overlaps the live mapping %s of line %u", rt,
		    wd->live[i].line);
		return OUT_FAIL;
	}
	fmt(why, cap, "it is inside the region and overlaps no live mapping");
	if (q->open[0])
		return OUT_OPEN;
	return q->lose[0] ? OUT_LOSE : OUT_OK;
}

static enum outcome unmap_in(const struct world *wd, const struct req *q,
			     char *why, size_t cap)
{
	int x = live_find(wd, q, true), i = x >= 0 ? x : live_find(wd, q, false);
	char rt[64];

	if (i < 0) {
		fmt(why, cap, "no live mapping of shmid %u is there", q->shmid);
		return OUT_FAIL;
	}
	range_text(rt, sizeof(rt), wd->live[i].off, wd->live[i].len);
	if (x < 0) {
		fmt(why, cap, "it is not exactly the live mapping %s of line %u",
		    rt, wd->live[i].line);
		return OUT_FAIL;
	}
	fmt(why, cap, "it is exactly the live mapping %s of line %u", rt,
	    wd->live[i].line);
	return q->open[0] ? OUT_OPEN : OUT_OK;
}

/* ---- applying one request to every world ---- */

static void pend_push(struct world *wd, uint8_t flags, const char *why)
{
	struct pend *p = &wd->pend[wd->npend++];

	p->flags = flags;
	fmt(p->why, sizeof(p->why), "%s", why);
}

/* Remembered for the message of a finding in this world. */
static void choose(struct world *wd, const struct req *q, bool accepted)
{
	struct choice *ch = &wd->choice[wd->nchoice];

	if (wd->nchoice == MAX_CHOICES) {
		wd->more_choices++;
		return;
	}
	wd->nchoice++;
	*ch = (struct choice){ q->line, accepted, q->map, "" };
	fmt(ch->why, sizeof(ch->why), "%s", q->open);
}

/* The request succeeded in wd. false when the live set is full. */
static bool succeed(struct world *wd, const struct req *q)
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
static bool apply_one(struct cc *k, const struct world *wd, const struct req *q,
		      enum outcome o, const char *why, bool push, unsigned *n)
{
	struct world *a = &k->tmp[(*n)++];
	static const uint8_t flags[] = {
		[OUT_OK] = P_KNOWN | P_OK | P_FORCED, [OUT_FAIL] = P_KNOWN | P_FORCED,
		[OUT_OPEN] = P_KNOWN | P_OK, [OUT_LOSE] = 0, [OUT_SKIP] = 0,
	};

	world_copy(a, wd);
	if (push)
		pend_push(a, flags[o], why);
	if (o != OUT_OPEN)
		return o != OUT_OK || succeed(a, q);
	choose(a, q, true);
	if (!succeed(a, q))
		return false;
	a = &k->tmp[(*n)++];
	world_copy(a, wd);
	if (push)
		pend_push(a, P_KNOWN, why);
	choose(a, q, false);
	return true;
}

static void apply(struct cc *k, const struct req *q, enum outcome stat,
		  const char *swhy, bool push)
{
	struct world *t;
	bool lose = false;
	unsigned n = 0;
	char why[WHY_MAX];

	for (unsigned w = 0; w < k->nw && !k->stop; w++) {
		enum outcome o = stat;

		fmt(why, sizeof(why), "%s", swhy);
		if (o == OUT_OK)
			o = q->map ? map_in(&k->w[w], q, why, sizeof(why))
				   : unmap_in(&k->w[w], q, why, sizeof(why));
		lose |= o == OUT_LOSE;
		if (!apply_one(k, &k->w[w], q, o, why, push, &n))
			give_up(k, "more live mappings than the model follows");
	}
	t = k->w;
	k->w = k->tmp;
	k->tmp = t;
	k->nw = n;
	if (lose || stat == OUT_SKIP)
		forget_shmid(k, q->shmid);
	dedupe(k);
	if (k->nw > MAX_WORLDS)
		give_up(k, "too many open outcomes to follow");
}

/* ---- replies and expectations ---- */

/* Only after reply_expected(), which keeps a place free. */
static void push_sent(struct cc *k, bool judge, const char *what)
{
	struct sent *s = &k->fifo[k->nfifo++];

	s->judge = judge;
	fmt(s->what, sizeof(s->what), "%s", what);
}

/* Whether a reply to this send is certain to come, and to come in
 * order; what makes it uncertain loses the pairing for good. */
static bool reply_expected(struct cc *k, const struct script_send *s)
{
	if (!k->replies || k->pair_lost)
		return false;
	if (s->has_hdr_flags || (s->need_reply && k->nfifo == MAX_PEND)) {
		k->pair_lost = true;
		return false;
	}
	return s->need_reply;
}

static void world_choices(const struct world *wd, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < wd->nchoice && len < cap; i++) {
		const struct choice *ch = &wd->choice[i];

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

static void add_finding(struct cc *k, const struct script_step *st,
			const struct sent *s, const struct world *wd)
{
	struct casecheck_report *r = k->r;
	const struct pend *p = &wd->pend[0];
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
		fmt(val, sizeof(val), "nonzero");
	else
		fmt(val, sizeof(val), "%llu", ull(er->value));
	world_choices(wd, ch, sizeof(ch));
	f = &r->f[r->nfindings++];
	f->line = st->line;
	fmt(f->msg, sizeof(f->msg), "expects value=%s, but the %s must %s: %s%s",
	    val, s->what, p->flags & P_OK ? "succeed" : "fail", p->why, ch);
}

/* The world that contradicts the expectation, preferring one without
 * open choices (then every front-end does). */
static const struct world *contradiction(const struct cc *k, bool want_ok,
					 bool *forced)
{
	const struct world *best = NULL;

	*forced = false;
	for (unsigned w = 0; w < k->nw; w++) {
		const struct world *wd = &k->w[w];
		uint8_t f = wd->pend[0].flags;

		*forced |= (f & P_FORCED) != 0;
		if (!(f & P_FORCED) || ((f & P_OK) != 0) == want_ok)
			continue;
		if (!best || wd->nchoice < best->nchoice)
			best = wd;
	}
	return best;
}

/* assert/require: the case goes on only where the outcome was the one
 * wanted. */
static void prune(struct cc *k, bool want_ok)
{
	unsigned n = 0;

	for (unsigned w = 0; w < k->nw; w++) {
		uint8_t f = k->w[w].pend[0].flags;

		if ((f & P_KNOWN) && ((f & P_OK) != 0) != want_ok)
			continue;
		if (n != w)
			world_copy(&k->w[n], &k->w[w]);
		n++;
	}
	k->nw = n;
	if (n == 0)
		give_up(k, "the assert stops the case in every front-end");
}

static void pop_pending(struct cc *k)
{
	memmove(&k->fifo[0], &k->fifo[1], --k->nfifo * sizeof(k->fifo[0]));
	for (struct world *wd = k->w; wd < k->w + k->nw; wd++)
		memmove(&wd->pend[0], &wd->pend[1], --wd->npend * sizeof(wd->pend[0]));
}

static void on_expect_reply(struct cc *k, const struct script_step *st)
{
	const struct script_expect_reply *er = &st->u.er;
	bool literal = er->value_kind != SCRIPT_VALUE_ANY;
	bool want_ok = er->value_kind == SCRIPT_VALUE_EQ && er->value == 0;
	const struct world *bad;
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

static void map_unmap(struct cc *k, const struct script_step *st)
{
	const struct script_send *s = &st->u.send;
	struct req q = { s->kind == SCRIPT_SEND_MAP, s->shmid, s->shm_offset,
			 s->len, st->line, "", "" };
	enum outcome stat = OUT_OK;
	char why[WHY_MAX] = "", rt[64], what[96];
	bool push;

	if (s->has_size || s->has_truncate || s->has_payload ||
	    s->request != (q.map ? PROTO_BE_SHMEM_MAP : PROTO_BE_SHMEM_UNMAP)) {
		give_up(k, "a MAP/UNMAP whose bytes are not its fields "
			"(size=, truncate=, payload= or request=)");
		return;
	}
	req_open(k, s, q.map, q.open, sizeof(q.open));
	if (q.map) {
		if (!k->send_fd)
			fmt(q.lose, sizeof(q.lose), "BACKEND_SEND_FD may not be negotiated");
		if (k->shm[q.shmid] & SHM_SIZE_SHAKY)
			fmt(q.lose, sizeof(q.lose), "a region size no back-end may send");
		stat = map_static(k, &q, why, sizeof(why));
	} else {
		stat = k->shm[q.shmid] & SHM_LIVE_UNKNOWN ? OUT_SKIP : OUT_OK;
	}
	range_text(rt, sizeof(rt), q.off, q.len);
	fmt(what, sizeof(what), "%s of line %u (shmid %u %s)",
	    q.map ? "MAP" : "UNMAP", st->line, q.shmid, rt);
	push = reply_expected(k, s);
	if (push)
		push_sent(k, stat != OUT_SKIP, what);
	apply(k, &q, stat, why, push);
}

static void on_send(struct cc *k, const struct script_step *st)
{
	const struct script_send *s = &st->u.send;

	if (st->on != SCRIPT_BACKEND) {
		give_up(k, "a request on the main channel");
	} else if (!k->have_hs) {
		give_up(k, "a request before the handshake");
	} else if (s->kind == SCRIPT_SEND_RAW) {
		give_up(k, "raw bytes on the back-end channel");
	} else if (s->kind == SCRIPT_SEND_NAMED &&
		   (s->request == PROTO_BE_SHMEM_MAP ||
		    s->request == PROTO_BE_SHMEM_UNMAP)) {
		give_up(k, "a MAP/UNMAP sent by name, not by its fields");
	} else if (s->kind == SCRIPT_SEND_NAMED) {
		/* Another request changes no mapping; its reply takes a
		 * place in line. */
		if (reply_expected(k, s)) {
			push_sent(k, false, "request");
			for (unsigned w = 0; w < k->nw; w++)
				pend_push(&k->w[w], 0, "");
		}
	} else {
		map_unmap(k, st);
	}
}

/* Sizes by shmid as both readings of nregions agree on (digest 8: the
 * first nregions entries, or every non-zero one); with the config bent,
 * none. After a reconnect a size that changed is unknown too: a
 * front-end may keep the layout it set up first. */
static void set_layout(struct cc *k, const struct script_step *st)
{
	const struct script_handshake *hs = &st->u.hs;
	uint64_t nreg = hs->has_nregions ? hs->nregions : hs->nsizes;
	bool bent = hs->has_config_size || hs->has_config_request ||
		    hs->has_config_flags || hs->has_config_padding || nreg > NSHM;

	for (unsigned i = 0; i < NSHM; i++) {
		uint64_t a = i < hs->nsizes ? st->list[i] : 0;
		bool known = !bent && (i < nreg || a == 0);
		uint8_t keep = k->shm[i] & SHM_LIVE_UNKNOWN;

		if (k->have_hs && ((k->shm[i] & SHM_SIZE_UNKNOWN) || k->size[i] != a))
			known = false;
		k->size[i] = a;
		k->shm[i] = keep | (known ? 0 : SHM_SIZE_UNKNOWN);
		if (known && (a % PAGE || a > SANE_REGION))
			k->shm[i] |= SHM_SIZE_SHAKY;
	}
}

static void on_handshake(struct cc *k, const struct script_step *st)
{
	const struct script_handshake *hs = &st->u.hs;
	uint64_t need_fd = 1ull << PROTO_PF_BACKEND_SEND_FD;

	if (k->have_hs && !k->reconnecting) {
		give_up(k, "a second handshake without control reconnect");
		return;
	}
	if (hs->shmem != SCRIPT_SHMEM_ON) {
		give_up(k, "SHMEM not negotiated: the spec does not fix MAP/UNMAP");
		return;
	}
	if (hs->pf_off & (1ull << PROTO_PF_BACKEND_REQ)) {
		give_up(k, "no back-end channel");
		return;
	}
	k->replies = !(hs->pf_off & (1ull << PROTO_PF_REPLY_ACK));
	k->send_fd = !(hs->pf_off & need_fd) && (k->c->requires_pf & need_fd);
	set_layout(k, st);
	k->started = hs->start;
	k->have_hs = true;
	k->reconnecting = false;
}

static void reset_live(struct cc *k)
{
	for (unsigned w = 0; w < k->nw; w++)
		k->w[w].nlive = 0;
	for (unsigned i = 0; i < NSHM; i++)
		k->shm[i] &= (uint8_t)~SHM_LIVE_UNKNOWN;
	dedupe(k);
}

/* Digest 10: a reset removes every mapping; what a stop or a reconnect
 * leaves is not said, so those live sets are no longer followed. */
static void on_control(struct cc *k, const struct script_step *st)
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
		forget_live(k);
	} else if (strcmp(cmd, "reset") == 0) {
		k->started = false;
		reset_live(k);
	} else if (strcmp(cmd, "reconnect") == 0) {
		k->started = false;
		k->reconnecting = true;
		forget_live(k);
		k->nfifo = 0;   /* replies on the old channel never come */
		for (unsigned w = 0; w < k->nw; w++)
			k->w[w].npend = 0;
		dedupe(k);
	} else if (strcmp(cmd, "dump") != 0) {
		give_up(k, "a control command the model does not follow");
	}
}

static void exec_step(struct cc *k, const struct script_step *st)
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
		give_up(k, "the connection ends");
		break;
	default:
		/* Waits and checks change no mapping, but one that stops the
		 * case may do so in some worlds only: which, the model does
		 * not know. */
		if ((st->is_assert || st->is_require) && k->nw > 1)
			give_up(k, "an assert or require the model cannot evaluate");
		break;
	}
}

/* The index of the step after step i, with repeat counting (as the
 * engine does). */
static unsigned next_step(struct cc *k, unsigned i)
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

static void run_steps(struct cc *k)
{
	unsigned i = 0;

	while (i < k->c->nsteps && !k->stop) {
		k->idx = i;
		if (k->budget-- == 0) {
			give_up(k, "too many steps to follow");
			break;
		}
		exec_step(k, &k->c->steps[i]);
		i = next_step(k, i);
	}
}

static void tally(struct cc *k)
{
	for (unsigned i = 0; i < k->c->nsteps; i++) {
		k->r->judged += (k->seen[i] & 1) != 0;
		k->r->open += k->seen[i] == 2;
	}
}

int casecheck_case(const struct script_case *c, struct casecheck_report *r,
		   char *err, size_t errcap)
{
	struct cc k = { .c = c, .r = r, .nw = 1, .budget = STEP_BUDGET };
	size_t n = c->nsteps ? c->nsteps : 1;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (c->role != SCRIPT_ROLE_BACKEND)
		return 0;
	/* A split doubles the worlds before they are merged again. */
	k.w = calloc(2 * MAX_WORLDS, sizeof(*k.w));
	k.tmp = calloc(2 * MAX_WORLDS, sizeof(*k.tmp));
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
		fmt(err, errcap, "%s: out of memory", c->file);
		return -ENOMEM;
	}
	return 0;
}
