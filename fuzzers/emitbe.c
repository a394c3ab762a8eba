/* SPDX-License-Identifier: MIT */
/*
 * emitbe: see emitbe.h. The input format is fuzz_backend_replies.c's
 * (16-byte records); the reply kinds are berig.h's. The model is what a
 * conforming back-end must conclude from each reply (berig.c's
 * answer()), and which requests it must refuse before sending anything:
 * outside its advertised regions, over its own live mappings, without
 * SHMEM (12H, 6).
 */
#include "emitbe.h"

#include <stdio.h>
#include <string.h>

#define BE_RECORD EMITBE_RECORD
#define BE_MAX_STEPS 64u
#define BE_PAGE UINT64_C(0x1000)
#define BE_MAX_LIVE 128u
/* Longer than any back-end's own wait for a reply (the reference's is
 * 1000 ms): `not-ok` then means it did not take silence as success. */
#define BE_OUTCOME_MS 3000

enum be_op { BE_MAP, BE_UNMAP, BE_CONFIG, BE_RESET, BE_NEGOTIATE,
	     BE_RECONNECT, BE_STRAY, BE_OP_MAX };

/* berig.h's enum berig_reply, in the same order. */
enum be_reply { R_OK, R_ERR, R_NONE, R_WRONG_ID, R_WRONG_FLAGS, R_SHORT,
		R_LONG, R_TRUNC, R_FDS, R_EOF, R_DOUBLE, R_MAX };

struct be_rec {
	uint8_t op, reply, fd, shmid, bits, value;
	uint16_t fd_pages;
	uint32_t off_pages, len_pages;
};

struct be_range {
	uint8_t shmid;
	uint64_t off, len;
};

struct be {
	struct etext *t;
	uint64_t sizes[PROTO_SHMEM_MAX_REGIONS];
	bool shmem, reply_ack;
	bool ended;             /* the back-end's state is no longer known */
	bool pid, control;
	struct be_range live[BE_MAX_LIVE];
	unsigned nlive;
};

static uint32_t get_le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void rec_read(const uint8_t *p, struct be_rec *r)
{
	r->op = p[0];
	r->reply = p[1];
	r->fd = p[2];
	r->shmid = p[3];
	r->bits = p[4];
	r->value = p[5];
	r->fd_pages = (uint16_t)get_le(p + 6, 2);
	r->off_pages = get_le(p + 8, 4);
	r->len_pages = get_le(p + 12, 4);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t lo = a > b ? a : b;
	uint64_t ae = a + alen, bend = b + blen;

	return lo < (ae < bend ? ae : bend);
}

/* Why a conforming back-end refuses this MAP before sending it, or NULL. */
static const char *map_refusal(const struct be *b, const struct be_range *r)
{
	uint64_t size = b->sizes[r->shmid];

	if (!b->shmem)
		return "6: SHMEM_MAP only when SHMEM is negotiated";
	if (size == 0 || r->off > size || r->len > size - r->off)
		return "12H: ranges inside the advertised region sizes";
	for (unsigned i = 0; i < b->nlive; i++)
		if (b->live[i].shmid == r->shmid &&
		    overlap(r->off, r->len, b->live[i].off, b->live[i].len))
			return "12H: not overlapping its own live mappings";
	return NULL;
}

static uint32_t wrong_flags(uint8_t value)
{
	static const uint32_t f[5] = { 0x1, 0xd, 0x6, 0x25, 0x4 };

	return f[value % 5];
}

/* The reply of a kind, sent to request req; the outcome it calls for
 * ("ok", "fail", "not-ok"), and whether the back-end's state stays
 * known after it. */
static const char *send_reply(struct be *b, enum be_reply kind,
			      uint32_t req, uint8_t value, bool *known)
{
	*known = true;
	switch (kind) {
	case R_OK: etext_line(b->t, "reply value=0"); return "ok";
	case R_ERR:
		etext_line(b->t, "reply value=%u", value | 1u);
		return "fail";
	case R_NONE: break;
	case R_WRONG_ID:
		etext_line(b->t, "send raw %02x%02x0000050000000800000000000000"
			   "00000000 on=backend", (req + 1) & 0xff, (req + 1) >> 8);
		break;
	case R_WRONG_FLAGS:
		etext_line(b->t, "reply value=0 flags=%#x", wrong_flags(value));
		break;
	case R_SHORT: etext_line(b->t, "reply size=4 payload=00000000"); break;
	case R_LONG: etext_line(b->t, "reply size=16 payload=%032d", 0); break;
	case R_TRUNC: etext_line(b->t, "reply size=8 payload=000000"); break;
	case R_FDS:
		etext_line(b->t, "reply value=0 fd=x");
		return "ok";
	case R_EOF: etext_line(b->t, "close backend"); break;
	default:
		etext_line(b->t, "reply value=0");
		etext_line(b->t, "send raw %02x%02x00000500000008000000000000"
			   "0000000000 on=backend", req & 0xff, req >> 8);
		return "ok";
	}
	*known = false;
	return "not-ok";
}

static const char *outcome_rule(const char *want)
{
	if (strcmp(want, "ok") == 0)
		return "9: the reply 0 is success";
	if (strcmp(want, "fail") == 0)
		return "9: a non-zero reply is failure";
	return "9/12H: no reply, EOF or a malformed reply is no success";
}

/* After the request went out: its answer and what the back-end must
 * conclude. Returns whether it is then known to hold the range. */
static bool judge(struct be *b, const struct be_rec *r, bool need,
		  uint32_t req, const char *kind)
{
	enum be_reply k = (enum be_reply)(r->reply % R_MAX);
	const char *want;
	bool known;

	if (!need) {
		etext_graded(b->t, kind, true, "9: need_reply=0: sent, no reply "
			     "awaited", "expect result sent");
		return true;
	}
	want = send_reply(b, k, req, r->value, &known);
	if (k == R_FDS) {
		/* Whether a reply with fds is a good reply, the digest does
		 * not say; closing fds it did not ask for is 12H's. */
		etext_graded(b->t, kind, false, "12H: a good reply carrying fds",
			     "expect result ok");
		b->pid = true;
		etext_graded(b->t, kind, false, "12H: fds it did not ask for are "
			     "closed", "check fds x count=0 within=1000");
		return true;
	}
	if (known)
		etext_graded(b->t, kind, true, outcome_rule(want),
			     "expect result %s", want);
	else
		etext_graded(b->t, kind, true, outcome_rule(want),
			     "expect result %s within=%d", want, BE_OUTCOME_MS);
	if (!known) {
		b->ended = true;
		etext_line(b->t, "# what it does next depends on its own reply "
			   "timeout: the case ends its requests here");
	}
	return known && strcmp(want, "ok") == 0;
}

static int rec_need(const struct be *b, const struct be_rec *r)
{
	int need = (r->bits & 0x02) ? 1 : (r->bits & 0x04) ? 0 : -1;

	if (need < 0)
		need = b->reply_ack;
	return need;
}

static void need_arg(const struct be_rec *r, char *out, size_t cap)
{
	snprintf(out, cap, "%s", (r->bits & 0x02) ? " need_reply=1"
				 : (r->bits & 0x04) ? " need_reply=0" : "");
}

static void be_map(struct be *b, const struct be_rec *r)
{
	bool raw = (r->bits & 0x08) != 0;
	struct be_range g = { .shmid = r->shmid };
	uint64_t fdo = (raw ? r->fd_pages : r->fd_pages % 16u) * BE_PAGE;
	const char *why;
	char need[24], fdsize[40] = "", line[320];
	int nr = rec_need(b, r);

	g.off = (raw ? r->off_pages : r->off_pages % 512u) * BE_PAGE;
	g.len = (raw ? r->len_pages : r->len_pages % 33u) * BE_PAGE;
	if (g.len == 0 || (nr && !b->reply_ack)) {
		etext_line(b->t, "# map step left out: %s", g.len == 0
			   ? "len 0 (a back-end may refuse it or not)"
			   : "need_reply=1 without REPLY_ACK (the digest says "
			     "nothing)");
		return;
	}
	need_arg(r, need, sizeof(need));
	if (r->bits & 0x10)
		snprintf(fdsize, sizeof(fdsize), " fd_size=%#llx",
			 (unsigned long long)(fdo + g.len + BE_PAGE));
	snprintf(line, sizeof(line), "control map shmid=%u shm_offset=%#llx "
		 "len=%#llx fd_offset=%#llx flags=%s%s%s", g.shmid,
		 (unsigned long long)g.off, (unsigned long long)g.len,
		 (unsigned long long)fdo, (r->bits & 0x01) ? "rw" : "ro", need,
		 fdsize);
	b->control = true;
	why = map_refusal(b, &g);
	if (why) {
		/* A failed control step fails the case at its level. */
		etext_graded(b->t, "map-refusal", true, why, "%s expect=err", line);
		return;
	}
	etext_step(b->t, "map", "12H: the back-end sends a MAP it may send "
		   "(control map)", "%s", line);
	etext_graded(b->t, "map", true, "6: SHMEM_MAP carries exactly one fd",
		     "expect msg SHMEM_MAP on=backend fds=1 size=40");
	if (judge(b, r, nr != 0, PROTO_BE_SHMEM_MAP, "map") &&
	    b->nlive < BE_MAX_LIVE)
		b->live[b->nlive++] = g;
}

static void be_unmap(struct be *b, const struct be_rec *r)
{
	struct be_range g;
	unsigned i;
	char need[24];
	int nr = rec_need(b, r);

	if (b->nlive == 0 || (nr && !b->reply_ack))
		return;
	i = r->off_pages % b->nlive;
	g = b->live[i];
	need_arg(r, need, sizeof(need));
	b->control = true;
	etext_step(b->t, "unmap", "12H: the back-end unmaps what it holds "
		   "(control unmap)",
		   "control unmap shmid=%u shm_offset=%#llx len=%#llx%s", g.shmid, (unsigned long long)g.off, (unsigned long long)g.len,
		   need);
	etext_graded(b->t, "unmap", true, "7: SHMEM_UNMAP carries no fd",
		     "expect msg SHMEM_UNMAP on=backend fds=0 size=40");
	if (judge(b, r, nr != 0, PROTO_BE_SHMEM_UNMAP, "unmap"))
		b->live[i] = b->live[--b->nlive];
}

static void be_step(struct be *b, const struct be_rec *r)
{
	static const char *const names[BE_OP_MAX] = {
		"map", "unmap", "config", "reset", "negotiate", "reconnect",
		"stray",
	};
	enum be_op op = (enum be_op)(r->op % BE_OP_MAX);

	if (op == BE_MAP) {
		be_map(b, r);
	} else if (op == BE_UNMAP) {
		be_unmap(b, r);
	} else if (op == BE_CONFIG && b->shmem) {
		etext_line(b->t, "send GET_SHMEM_CONFIG");
		etext_graded(b->t, "config", true, "8: sizes are page multiples "
			     "and never change during a connection",
			     "expect shmem-config page-multiple stable");
	} else if (op == BE_RESET) {
		etext_line(b->t, "send SET_STATUS u64=0");
		etext_step(b->t, "reset", "12H: the back-end forgets its mappings "
			   "(control reset)", "control reset");
		b->control = true;
		b->nlive = 0;
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
	struct be_rec r;
	size_t i = 0;
	unsigned n = 0;

	if (size < BE_RECORD) {
		snprintf(err, errcap, "no record: %zu bytes", size);
		return 0;
	}
	memset(&b, 0, sizeof(b));
	b.t = t;
	b.shmem = b.reply_ack = true;
	if (opts->have_sizes)
		memcpy(b.sizes, opts->sizes, sizeof(b.sizes));
	else
		b.sizes[0] = UINT64_C(1) << 20;   /* the reference's default */
	/* Leading NEGOTIATE records shape the handshake. */
	for (; i + BE_RECORD <= size; i += BE_RECORD) {
		rec_read(data + i, &r);
		if (r.op % BE_OP_MAX != BE_NEGOTIATE)
			break;
		b.shmem = !(r.value & 1);
		b.reply_ack = !(r.value & 2);
	}
	etext_line(t, "handshake%s%s", b.shmem ? "" : " shmem=off",
		   b.reply_ack ? "" : " reply-ack=off");
	etext_line(t, "fd x memfd size=64k");
	for (; i + BE_RECORD <= size && n < BE_MAX_STEPS && !b.ended;
	     i += BE_RECORD, n++) {
		rec_read(data + i, &r);
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
		 b.shmem ? " SHMEM" : "", b.reply_ack ? " REPLY_ACK" : "",
		 b.pid ? " pid" : "");
	return 1;
}
