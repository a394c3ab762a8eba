/* SPDX-License-Identifier: MIT */
/*
 * emitfe: see emitfe.h. The model is fed exactly what the case sends, so
 * the expectations are those of the case, not of the rig: a step the
 * case cannot say (a GET_SHMEM_CONFIG reply or a renegotiation in the
 * middle of a sequence, a closed fd) is left out, and the model with it.
 */
#include "emitfe.h"

#include <stdio.h>
#include <string.h>

#include "emitaim.h"
#include "fuzzpool.h"
#include "seqop.h"
#include "shadow.h"

#define FE_MAX_FDS 30u        /* the harness's fd pool holds 32 */
#define FE_PAGE UINT64_C(0x1000)
/* A /proc check re-reads until it holds: the suite's default window
 * (100 ms) once the front-end answered the request (or a control
 * command, whose answer comes when it is done); this one when nothing
 * says the front-end has even read the message yet. */
#define FE_UNSYNCED " within=1000"
/* Larger regions may be more address space than the machine gives: a
 * front-end may refuse them (digest 8), so the model cannot say. */
#define FE_HUGE_REGION (UINT64_C(1) << 40)

/* fuzz_shmem_map's input (fuzz_shmem_map.c documents it). */
#define MAP_STATE_STOPPED 0x01u
#define MAP_STATE_PREMAP 0x02u
#define MAP_STATE_NO_REPLY_ACK 0x04u
#define MAP_STATE_NO_SHMEM 0x08u
#define MAP_STATE_RAW_PAD 0x10u

struct fe_live {
	uint8_t shmid;
	bool rw;
	uint64_t off, len, fd_offset;
	unsigned fd;            /* 1-based fd number, 0: none to check */
};

struct fe_fd {
	unsigned choice;
	bool shared;            /* reused: /proc checks cannot tell its maps */
	bool synced;            /* its message was answered or seen mapped */
	bool sent;              /* sent since the last reset */
};

struct fe {
	struct etext *t;
	struct shadow model;
	bool taint[PROTO_SHMEM_MAX_REGIONS];
	bool taint_all;
	/* The same for the whole case: a config the front-end may refuse or
	 * read otherwise, a region it may not be able to reserve. */
	bool doubt[PROTO_SHMEM_MAX_REGIONS];
	bool doubt_all;
	bool control, pid;
	const char *win;        /* the window of this step's /proc checks */
	bool ordered;           /* the order of reply and memory table judged */
	bool stalled;           /* a message is incomplete: the front-end may
				   wait for the rest as long as it likes */
	struct fe_fd fds[FE_MAX_FDS + 1];
	unsigned nfds;
	unsigned last_of_choice[FUZZPOOL_CHOICE_MAX];
	struct fe_live live[SHADOW_MAX_MAPPINGS];
	unsigned nlive;
};

/* ---- grades ---- */

/* A len-0 MAP refused by choice: taken or not, it covers no range, so
 * the model still knows what is live (the suite's
 * shmem_map_len_zero_then_same_offset: no phantom range, MUST). */
static bool len_zero(const struct shadow_verdict *v)
{
	return !v->accepted && strncmp(v->why, "6: len 0", 8) == 0;
}

static bool tainted(const struct fe *f, unsigned shmid)
{
	shmid %= PROTO_SHMEM_MAX_REGIONS;
	return f->taint_all || f->taint[shmid] || f->doubt_all || f->doubt[shmid];
}

/* A step went a way the digest leaves open: a conforming front-end may
 * now hold what the model does not (or not hold what it does). */
static void taint(struct fe *f, const uint8_t *payload, size_t len)
{
	if (len == 0)
		f->taint_all = true;
	else
		f->taint[payload[0]] = true;
}

/* ---- fds ---- */

static void fd_kind(unsigned choice, char *out, size_t cap)
{
	static const char *const kinds[FUZZPOOL_CHOICE_MAX] = {
		"", "memfd size=4k", "memfd size=64k", "memfd size=1m",
		"memfd-sealed size=64k", "memfd-empty", "rdonly-file size=64k",
		"pipe", "socket", "closed", "memfd size=64k",
	};

	snprintf(out, cap, "%s", kinds[choice % FUZZPOOL_CHOICE_MAX]);
}

/* One fd of a choice: a fresh one while the pool has room, else the
 * last of that kind (then shared). 0 when neither. */
static unsigned fd_for(struct fe *f, unsigned choice)
{
	char kind[48];
	unsigned n;

	if (f->nfds >= FE_MAX_FDS) {
		n = f->last_of_choice[choice];
		if (n)
			f->fds[n].shared = true;
		return n;
	}
	n = ++f->nfds;
	f->fds[n] = (struct fe_fd){ .choice = choice };
	f->last_of_choice[choice] = n;
	fd_kind(choice, kind, sizeof(kind));
	etext_line(f->t, "fd f%u %s", n, kind);
	return n;
}

/* The fds of a pool choice into fds[2]; how many, or -1 when the pool
 * is full. The TWO choice is a 64k and a 4k memfd, as in fuzzpool. */
static int fds_for(struct fe *f, unsigned choice, unsigned fds[2])
{
	choice %= FUZZPOOL_CHOICE_MAX;
	if (choice == FUZZPOOL_NONE)
		return 0;
	if (choice == FUZZPOOL_TWO) {
		fds[0] = fd_for(f, FUZZPOOL_TWO);
		fds[1] = fds[0] ? fd_for(f, FUZZPOOL_MEMFD_4K) : 0;
		return fds[1] ? 2 : -1;
	}
	fds[0] = fd_for(f, choice);
	return fds[0] ? 1 : -1;
}

static void fd_list(const unsigned *fds, int n, char *out, size_t cap)
{
	size_t at = 0;

	out[0] = '\0';
	for (int i = 0; i < n && at < cap; i++)
		at += (size_t)snprintf(out + at, cap - at, "%sf%u",
				       i ? "," : " fd=", fds[i]);
}

/* ---- /proc checks ---- */

static void check_mapped(struct fe *f, const struct fe_live *l, bool must,
			 const char *kind, const char *rule)
{
	if (!l->fd || f->fds[l->fd].shared)
		return;
	f->pid = true;
	f->fds[l->fd].synced = true;
	etext_graded(f->t, kind, must, rule,
		     "check mapped f%u count=1 prot=%s offset=%#llx len=%#llx%s",
		     l->fd, l->rw ? "rw-s" : "r--s",
		     (unsigned long long)l->fd_offset, (unsigned long long)l->len,
		     f->win);
}

static void check_gone(struct fe *f, unsigned fd, bool must, bool fds_must,
		       const char *kind, const char *rule)
{
	if (!fd || f->fds[fd].shared)
		return;
	f->pid = true;
	etext_graded(f->t, kind, must, rule, "check unmapped f%u%s", fd, f->win);
	etext_graded(f->t, kind, fds_must,
		     "12G: no fd leak: the front-end keeps no copy of an fd "
		     "it does not map", "check fds f%u count=0%s", fd, f->win);
}

/* ---- one back-end channel message ---- */

struct fe_msg {
	struct proto_hdr h;
	uint8_t payload[PROTO_MAX_PAYLOAD + 16u];
	size_t len;             /* payload bytes sent */
	unsigned choice;        /* fd menu choice */
	bool structured;        /* `send map|unmap` (else `send raw`) */
	struct proto_mmap m;    /* the fields, when structured */
	const char *kind;       /* for the step table */
};

/* A MAP/UNMAP whose payload stops before len (byte 24): taken or not,
 * the only range it could name is one borrowed from an earlier message
 * (the suite's shmem_map_payload_8_no_stale_fields: MUST not). */
static bool no_len(const struct fe_msg *x, const struct shadow_verdict *v)
{
	return !v->accepted && x->h.size <= 24 &&
	       strncmp(v->why, "4: payload is not", 17) == 0;
}

/* A request the model takes that the digest still lets a front-end
 * refuse (6: non-zero padding, an fd other than a plain memfd (write
 * seals, O_RDONLY file); 7: an UNMAP's fd_offset and flags, which
 * senders zero) — the choices casecheck follows both ways. */
static bool open_accept(const struct fe_msg *x)
{
	static const uint8_t zero[7];
	unsigned c = x->choice % FUZZPOOL_CHOICE_MAX;

	if (memcmp(x->m.padding, zero, sizeof(zero)) != 0)
		return true;
	if (x->h.request == PROTO_BE_SHMEM_UNMAP)
		return x->m.fd_offset != 0 || x->m.flags != 0;
	return c != FUZZPOOL_MEMFD_4K && c != FUZZPOOL_MEMFD_64K &&
	       c != FUZZPOOL_MEMFD_1M;
}

static void send_structured(struct fe *f, const struct fe_msg *x,
			    const char *fdl)
{
	const struct proto_mmap *m = &x->m;
	uint32_t fl = x->h.flags;
	bool unmap = x->h.request == PROTO_BE_SHMEM_UNMAP;
	char pad[16], req[24] = "", hdr[24] = "", sz[40] = "";
	static const uint8_t zero[7];

	etext_hex(m->padding, 7, pad);
	if (x->h.request != PROTO_BE_SHMEM_MAP && !unmap)
		snprintf(req, sizeof(req), " request=%u", x->h.request);
	if (fl != PROTO_VERSION && fl != (PROTO_VERSION | PROTO_F_NEED_REPLY))
		snprintf(hdr, sizeof(hdr), " hdr_flags=%#x", fl);
	if (x->h.size != PROTO_MMAP_SIZE)
		snprintf(sz, sizeof(sz), " size=%u truncate=%u", x->h.size,
			 x->h.size);
	etext_line(f->t, "send %s%s shmid=%u shm_offset=%#llx fd_offset=%#llx "
		   "len=%#llx flags=%#llx%s%s%s%s%s%s",
		   unmap ? "unmap" : "map", req, m->shmid,
		   (unsigned long long)m->shm_offset,
		   (unsigned long long)m->fd_offset, (unsigned long long)m->len,
		   (unsigned long long)m->flags,
		   memcmp(m->padding, zero, 7) ? " padding=" : "",
		   memcmp(m->padding, zero, 7) ? pad : "", hdr, sz, fdl,
		   fl == (PROTO_VERSION | PROTO_F_NEED_REPLY) ? " need_reply" : "");
}

static void send_raw(struct fe *f, const struct fe_msg *x, const char *fdl)
{
	uint8_t buf[PROTO_HDR_SIZE + sizeof(x->payload)];
	char hex[2 * sizeof(buf) + 1];

	proto_hdr_encode(&x->h, buf, sizeof(buf));
	memcpy(buf + PROTO_HDR_SIZE, x->payload, x->len);
	etext_hex(buf, PROTO_HDR_SIZE + x->len, hex);
	etext_line(f->t, "send raw %s%s", hex, fdl);
}

static struct fe_live *find_live(struct fe *f, const struct shadow_map *m)
{
	for (unsigned i = 0; i < f->nlive; i++)
		if (f->live[i].shmid == m->shmid && f->live[i].off == m->shm_offset &&
		    f->live[i].len == m->len)
			return &f->live[i];
	return NULL;
}

static void judge_reply(struct fe *f, const struct fe_msg *x,
			const struct shadow_verdict *v, bool must)
{
	/* A request flagged as a reply, asking for one: the model ignores
	 * it, but the rst is silent (QEMU answers it). A reply to it is
	 * taken here, graded SHOULD, so that it is never read as a later
	 * request's reply (with the same request id, the engine could not
	 * tell the two apart). */
	if (v->dropped && f->model.reply_ack && (x->h.flags & PROTO_F_NEED_REPLY)) {
		etext_graded(f->t, x->kind, false, "1: a request flagged as a "
			     "reply is ignored (the rst is silent)",
			     "expect no-reply within=100");
		return;
	}
	if (!v->reply)
		return;
	etext_graded(f->t, x->kind, must,
		     v->accepted ? "6/9: the model accepts it: reply 0" : v->why,
		     "expect reply value=%s flags=5 size=8",
		     v->accepted ? "0" : "nonzero");
	/* Digest 9: the reply before any memory-table update the mapping
	 * causes. Only while no earlier message can have changed the
	 * mappings (f->ordered): its late update could land in this window. */
	if (!v->accepted || f->ordered)
		return;
	etext_graded(f->t, x->kind, must, "9: the reply before any memory-table "
		     "traffic it causes", "expect order backend:reply "
		     "main:SET_MEM_TABLE|ADD_MEM_REG|REM_MEM_REG");
}

static void judge_map(struct fe *f, const struct fe_msg *x,
		      const struct shadow_verdict *v, const unsigned *fds,
		      int nfds, bool tnt)
{
	if (v->accepted) {
		struct fe_live *l = &f->live[f->nlive++];
		const struct shadow_map *m = &f->model.maps[f->model.nmaps - 1];

		*l = (struct fe_live){ .shmid = m->shmid, .rw = m->rw,
				       .off = m->shm_offset, .len = m->len,
				       .fd_offset = m->fd_offset,
				       .fd = nfds == 1 ? fds[0] : 0 };
		check_mapped(f, l, !tnt, x->kind,
			     "6: the model accepts it: mapped as asked "
			     "(offset, length, r--s for read-only)");
		return;
	}
	for (int i = 0; i < nfds; i++)
		check_gone(f, fds[i], !tnt && shadow_rule_must(v->why),
			   !tnt && shadow_rule_must(v->why), x->kind, v->why);
}

static void judge_unmap(struct fe *f, const struct fe_msg *x,
			const struct shadow_verdict *v, bool tnt)
{
	if (v->accepted) {
		struct fe_live *l = find_live(f, &v->removed);

		if (!l)
			return;
		check_gone(f, l->fd, !tnt, false, x->kind,
			   "7: the model removes the mapping");
		*l = f->live[--f->nlive];
		return;
	}
	if (!shadow_rule_must(v->why))
		return;
	for (unsigned i = 0; i < f->nlive; i++) {
		const struct fe_live *l = &f->live[i];

		if (l->shmid == x->m.shmid &&
		    (shadow_overlap(l->off, l->len, x->m.shm_offset, x->m.len) ||
		     x->m.shm_offset + x->m.len < x->m.shm_offset))
			check_mapped(f, l, !tnt, x->kind,
				     "7: MUST fail: not exactly one whole live "
				     "mapping: the mapping stays");
	}
}

/* Sends one message and writes what the model expects of it. */
static void fe_message(struct fe *f, struct fe_msg *x)
{
	struct fuzzpool_traits tr = fuzzpool_traits(x->choice);
	struct shadow_verdict v;
	unsigned fds[2] = { 0, 0 };
	char fdl[32];
	int nfds;
	bool complete = x->h.size <= PROTO_MAX_PAYLOAD && x->h.size <= x->len;
	bool tnt, must;

	if (!tr.sendable) {
		etext_line(f->t, "# a message with a closed fd: the kernel refuses "
			   "to send it, so nothing is sent");
		return;
	}
	nfds = fds_for(f, x->choice, fds);
	if (nfds < 0) {
		etext_line(f->t, "# a message left out: the fd pool is full");
		return;
	}
	fd_list(fds, nfds, fdl, sizeof(fdl));
	if (complete && !x->structured) {
		x->len = x->h.size;   /* bytes past it would be another message */
		if (x->len >= PROTO_MMAP_SIZE)
			(void)proto_mmap_decode(x->payload, PROTO_MMAP_SIZE, &x->m);
	}
	if (x->structured)
		send_structured(f, x, fdl);
	else
		send_raw(f, x, fdl);
	for (int i = 0; i < nfds; i++)
		f->fds[fds[i]].sent = true;
	if (!complete) {
		f->taint_all = f->stalled = f->ordered = true;
		return;
	}
	/* An UNMAP of len 0: a front-end that took a len-0 MAP (digest 6:
	 * silent) may hold exactly that. */
	tnt = tainted(f, x->payload[0]) ||
	      (x->h.request == PROTO_BE_SHMEM_UNMAP && x->m.len == 0);
	shadow_backend_msg(&f->model, &x->h, x->payload, x->h.size, &tr, &v);
	f->win = v.reply ? "" : FE_UNSYNCED;
	if (v.accepted && open_accept(x)) {
		tnt = true;     /* a conforming front-end may have refused it */
		taint(f, x->payload, x->h.size);
	}
	must = !tnt && (v.accepted || shadow_rule_must(v.why));
	judge_reply(f, x, &v, must);
	if (v.accepted || !shadow_rule_must(v.why))
		f->ordered = true;
	if (v.reply)
		for (int i = 0; i < nfds; i++)
			f->fds[fds[i]].synced = true;
	/* A request other than MAP/UNMAP maps nothing, served or not. */
	if (!v.accepted && !shadow_rule_must(v.why) && !len_zero(&v) &&
	    !no_len(x, &v) && (x->h.request == PROTO_BE_SHMEM_MAP ||
			       x->h.request == PROTO_BE_SHMEM_UNMAP))
		taint(f, x->payload, x->h.size);
	if (v.dropped || (x->h.request != PROTO_BE_SHMEM_MAP &&
			  x->h.request != PROTO_BE_SHMEM_UNMAP))
		return;
	if (x->h.request == PROTO_BE_SHMEM_MAP)
		judge_map(f, x, &v, fds, nfds, tnt);
	else if (x->h.size >= PROTO_MMAP_SIZE)
		judge_unmap(f, x, &v, tnt);
}

/* ---- lifecycle steps ---- */

/* A device reset empties everything (digest 10), faults or not: every
 * fd sent since the last reset is unmapped and closed. Graded MUST where
 * its message is known to have been handled before the reset (answered,
 * or seen mapped): a message with no answer may be read after it. */
static void fe_reset(struct fe *f, const char *kind)
{
	if (f->stalled) {
		etext_line(f->t, "# no reset: the front-end may still wait for the "
			   "rest of the incomplete message (its own time limit)");
		return;
	}
	f->control = true;
	etext_step(f->t, kind, "10: the front-end carries out a device reset "
		   "(control reset)", "control reset");
	for (unsigned n = 1; n <= f->nfds; n++) {
		struct fe_fd *d = &f->fds[n];

		if (!d->sent)
			continue;
		f->pid = true;
		etext_graded(f->t, kind, d->synced,
			     "10: reset removes every mapping", "check unmapped f%u",
			     n);
		etext_graded(f->t, kind, d->synced,
			     "10: reset closes the front-end's copies of the fds",
			     "check fds f%u count=0", n);
		d->sent = d->synced = false;
	}
	shadow_reset(&f->model);
	memset(f->taint, 0, sizeof(f->taint));
	f->taint_all = false;
	f->nlive = 0;
}

/* A stop with live mappings: the digest does not say whether they stay. */
static void fe_stop(struct fe *f)
{
	f->control = true;
	etext_step(f->t, "stop", "10: the front-end stops the device "
		   "(control stop)", "control stop");
	for (unsigned i = 0; i < f->nlive; i++)
		f->taint[f->live[i].shmid] = true;
	f->model.started = false;
}

static void fe_start(struct fe *f)
{
	f->control = true;
	etext_step(f->t, "start", "10: the front-end starts the device "
		   "(control start)", "control start");
	f->model.started = true;
}

/* ---- the handshake ---- */

struct fe_hs {
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	bool have_nregions;
	uint32_t nregions;
	bool bad_flags, short_reply;
	bool shmem, reply_ack, start;
};

static unsigned listed(const uint64_t *sizes)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (sizes[i])
			n = i + 1;
	return n;
}

/* Whether the config is one a front-end may refuse or read two ways
 * (digest 8): bent reply, nregions disagreeing with the sizes listed,
 * sizes that are not page multiples. */
static bool hs_bent(const struct fe_hs *hs)
{
	bool odd = false;

	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		odd = odd || (hs->sizes[i] & (FE_PAGE - 1));
	return odd || hs->bad_flags || hs->short_reply ||
	       (hs->have_nregions && hs->nregions != listed(hs->sizes));
}

static void fe_handshake(struct fe *f, const struct fe_hs *hs,
			 struct emit_header *eh)
{
	char line[4096];
	size_t at = (size_t)snprintf(line, sizeof(line), "handshake regions=");
	unsigned n = listed(hs->sizes);
	bool usable[PROTO_SHMEM_MAX_REGIONS];

	for (unsigned i = 0; i < (n ? n : 1) && at < sizeof(line) - 64; i++)
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%#llx",
				       i ? "," : "",
				       (unsigned long long)hs->sizes[i]);
	if (hs->have_nregions)
		at += (size_t)snprintf(line + at, sizeof(line) - at, " nregions=%u",
				       hs->nregions);
	snprintf(line + at, sizeof(line) - at, "%s%s%s%s%s",
		 hs->bad_flags ? " config-flags=0x1" : "",
		 hs->short_reply ? " config-size=2048" : "",
		 hs->reply_ack ? "" : " reply-ack=off",
		 hs->shmem ? "" : " shmem=off", hs->start ? "" : " start=no");
	etext_line(f->t, "%s", line);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		usable[i] = hs->sizes[i] != 0;
	shadow_config(&f->model, hs->sizes, usable);
	f->model.shmem = hs->shmem;
	f->model.reply_ack = hs->reply_ack;
	f->model.started = hs->start;
	eh->refusal = hs_bent(hs);
	f->doubt_all = eh->refusal;
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		if (hs->sizes[i] > FE_HUGE_REGION)
			eh->refusal = f->doubt[i] = true;
}

static void fe_requires(const struct fe *f, const struct fe_hs *hs,
			struct emit_header *eh)
{
	snprintf(eh->requires, sizeof(eh->requires),
		 "BACKEND_REQ BACKEND_SEND_FD%s%s%s%s",
		 hs->shmem ? " SHMEM" : "", hs->reply_ack ? " REPLY_ACK" : "",
		 f->control ? " control" : "", f->pid ? " pid" : "");
}

static void hs_defaults(struct fe_hs *hs, const struct emitcase_opts *opts)
{
	memset(hs, 0, sizeof(*hs));
	hs->shmem = hs->reply_ack = hs->start = true;
	if (opts->have_sizes) {
		memcpy(hs->sizes, opts->sizes, sizeof(hs->sizes));
		return;
	}
	hs->sizes[0] = UINT64_C(1) << 20;  /* the rigs' (ferig_default_sizes) */
	hs->sizes[1] = UINT64_C(1) << 16;
	hs->sizes[3] = UINT64_C(2) << 20;
}

/* ---- fuzz_shmem_sequence ---- */

static void seq_msg(struct fe *f, const struct seqop *op, uint32_t request,
		    const char *kind)
{
	struct fe_msg x = { .choice = op->fd, .structured = true, .kind = kind };

	seqop_message(op, request, FE_PAGE, &x.h, &x.m);
	proto_mmap_encode(&x.m, x.payload, sizeof(x.payload));
	x.len = x.h.size;
	fe_message(f, &x);
}

/* A CONFIG record before any other step: the handshake's answer. */
static void seq_config(struct fe_hs *hs, const struct seqop *op)
{
	bool raw = (op->bits & SEQOP_B_RAW) != 0;
	unsigned n = 0;

	memset(hs->sizes, 0, sizeof(hs->sizes));
	hs->sizes[0] = seqop_region_size(op->a, raw, FE_PAGE);
	hs->sizes[1] = seqop_region_size(op->b, raw, FE_PAGE);
	hs->sizes[op->shmid] = seqop_region_size(op->c, raw, FE_PAGE);
	for (unsigned i = 0; i < PROTO_SHMEM_MAX_REGIONS; i++)
		n += hs->sizes[i] != 0;
	hs->have_nregions = true;
	hs->nregions = raw ? op->aux : n;
	hs->bad_flags = (op->bits & SEQOP_B_HDR) != 0;
	hs->short_reply = (op->bits & SEQOP_B_SHORT) != 0;
}

static void seq_step(struct fe *f, const struct seqop *op)
{
	static const char *const what[] = { "config", "negotiate" };

	switch (seqop_kind(op)) {
	case SEQOP_MAP: seq_msg(f, op, PROTO_BE_SHMEM_MAP, "map"); break;
	case SEQOP_UNMAP: seq_msg(f, op, PROTO_BE_SHMEM_UNMAP, "unmap"); break;
	case SEQOP_RESET: fe_reset(f, "reset"); break;
	case SEQOP_STOP: fe_stop(f); break;
	case SEQOP_START: fe_start(f); break;
	case SEQOP_CONFIG:
	case SEQOP_NEGOTIATE:
		etext_line(f->t, "# step %s (aux %u): no case statement says it "
			   "mid-case; left out", what[seqop_kind(op) - SEQOP_CONFIG],
			   op->aux);
		break;
	default: seq_msg(f, op, op->aux, "other"); break;
	}
}

static void fe_final_reset(struct fe *f, const struct emitcase_opts *opts)
{
	if (opts->no_final_reset)
		etext_line(f->t, "# no final reset: the target's reset is a known "
			   "finding (--no-final-reset)");
	else
		fe_reset(f, "final-reset");
}

static void seq_body(struct fe *f, const struct emitcase_opts *opts,
		     const uint8_t *data, size_t size, struct emit_header *eh)
{
	struct fe_hs hs;
	size_t i = 0;
	struct seqop op;

	hs_defaults(&hs, opts);
	/* Leading CONFIG and NEGOTIATE records shape the handshake. */
	for (; i + SEQOP_SIZE <= size; i += SEQOP_SIZE) {
		seqop_decode(data + i, &op);
		if (seqop_kind(&op) == SEQOP_CONFIG && !opts->have_sizes) {
			seq_config(&hs, &op);
		} else if (seqop_kind(&op) == SEQOP_NEGOTIATE) {
			hs.shmem = !(op.aux & 1);
			hs.reply_ack = !(op.aux & 2);
		} else if (seqop_kind(&op) != SEQOP_CONFIG) {
			break;
		}
	}
	fe_handshake(f, &hs, eh);
	for (unsigned n = 0; i + SEQOP_SIZE <= size && n < SEQOP_MAX_STEPS;
	     i += SEQOP_SIZE, n++) {
		seqop_decode(data + i, &op);
		seq_step(f, &op);
	}
	fe_final_reset(f, opts);
	etext_line(f->t, "check alive");
	fe_requires(f, &hs, eh);
}

/* ---- fuzz_shmem_map ---- */

static void premap(struct fe *f, bool reply_ack)
{
	struct fe_msg x = { .h = { PROTO_BE_SHMEM_MAP, PROTO_VERSION,
				   PROTO_MMAP_SIZE },
			    .choice = FUZZPOOL_MEMFD_1M, .structured = true,
			    .kind = "premap" };

	x.m = (struct proto_mmap){ .shmid = 0, .shm_offset = EMITAIM_PREMAP_OFF,
				   .len = EMITAIM_PREMAP_LEN,
				   .flags = PROTO_MMAP_F_RW };
	if (reply_ack)
		x.h.flags |= PROTO_F_NEED_REPLY;
	proto_mmap_encode(&x.m, x.payload, sizeof(x.payload));
	x.len = PROTO_MMAP_SIZE;
	fe_message(f, &x);
}

static void map_body(struct fe *f, const struct emitcase_opts *opts,
		     const uint8_t *data, size_t size, struct emit_header *eh)
{
	uint8_t in[2 + 12 + sizeof(((struct fe_msg *)0)->payload)] = { 0 };
	struct fe_msg x = { .kind = "message" };
	struct fe_hs hs;
	unsigned st;
	size_t n = size < sizeof(in) ? size : sizeof(in);

	memcpy(in, data, n);
	x.choice = in[0] % FUZZPOOL_CHOICE_MAX;
	st = in[1];
	x.h.request = emitaim_u32(in + 2);
	x.h.flags = emitaim_u32(in + 6);
	x.h.size = emitaim_u32(in + 10);
	x.len = n > 14 ? n - 14 : 0;
	memcpy(x.payload, in + 14, x.len);
	hs_defaults(&hs, opts);
	if (!(st & MAP_STATE_RAW_PAD) &&
	    emitaim_apply(x.payload, x.len, x.h.request, hs.sizes))
		st |= MAP_STATE_PREMAP;
	hs.reply_ack = !(st & MAP_STATE_NO_REPLY_ACK);
	hs.shmem = !(st & MAP_STATE_NO_SHMEM);
	hs.start = !((st & MAP_STATE_STOPPED) && !(st & MAP_STATE_PREMAP));
	fe_handshake(f, &hs, eh);
	if ((st & MAP_STATE_PREMAP) && !hs.shmem)
		etext_line(f->t, "# the rig's live mapping was made before SHMEM "
			   "was renegotiated away, which a case cannot do; left out");
	else if (st & MAP_STATE_PREMAP)
		premap(f, hs.reply_ack);
	if ((st & MAP_STATE_PREMAP) && (st & MAP_STATE_STOPPED) && hs.shmem)
		fe_stop(f);
	fe_message(f, &x);
	fe_final_reset(f, opts);
	etext_line(f->t, "check alive");
	fe_requires(f, &hs, eh);
}

int emitfe_body(const struct emitcase_opts *opts, const uint8_t *data,
		size_t size, struct etext *t, struct emit_header *eh,
		char *err, size_t errcap)
{
	struct fe f;

	if (opts->fuzzer == EMITCASE_SEQUENCE ? size < SEQOP_SIZE : size < 2) {
		snprintf(err, errcap, "no message: %zu bytes", size);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.t = t;
	shadow_init(&f.model);
	f.model.page = FE_PAGE;
	if (opts->fuzzer == EMITCASE_SEQUENCE)
		seq_body(&f, opts, data, size, eh);
	else
		map_body(&f, opts, data, size, eh);
	return 1;
}
