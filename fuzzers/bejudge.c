/* SPDX-License-Identifier: MIT */
/* bejudge: see bejudge.h. */
#include "bejudge.h"

#include <string.h>

static uint32_t get_le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void put_le(uint8_t *p, uint32_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void bejudge_rec_read(const uint8_t *p, struct bejudge_rec *r)
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

void bejudge_rec_write(const struct bejudge_rec *r, uint8_t *p)
{
	p[0] = r->op;
	p[1] = r->reply;
	p[2] = r->fd;
	p[3] = r->shmid;
	p[4] = r->bits;
	p[5] = r->value;
	put_le(p + 6, r->fd_pages, 2);
	put_le(p + 8, r->off_pages, 4);
	put_le(p + 12, r->len_pages, 4);
}

const char *bejudge_reply_name(enum bejudge_reply k)
{
	static const char *const n[BEJUDGE_R_MAX] = {
		"ok", "error", "none", "wrong id", "wrong flags", "short",
		"long", "truncated", "fds", "eof", "double",
	};

	return k < BEJUDGE_R_MAX ? n[k] : "?";
}

bool bejudge_need(const struct bejudge *b, const struct bejudge_rec *r)
{
	if (r->bits & BEJUDGE_B_NEED)
		return true;
	if (r->bits & BEJUDGE_B_NO_NEED)
		return false;
	return b->reply_ack;
}

void bejudge_map_range(const struct bejudge_rec *r, struct bejudge_range *g,
		       uint64_t *fd_offset)
{
	bool raw = (r->bits & BEJUDGE_B_RAW) != 0;

	g->shmid = r->shmid;
	g->off = (raw ? r->off_pages : r->off_pages % 512u) * BEJUDGE_PAGE;
	g->len = (raw ? r->len_pages : r->len_pages % 33u) * BEJUDGE_PAGE;
	*fd_offset = (raw ? r->fd_pages : r->fd_pages % 16u) * BEJUDGE_PAGE;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t lo = a > b ? a : b;
	uint64_t ae = a + alen, bend = b + blen;

	return lo < (ae < bend ? ae : bend);
}

const char *bejudge_map_refusal(const struct bejudge *b,
				const struct bejudge_range *g)
{
	uint64_t size = b->sizes[g->shmid];

	if (!b->shmem)
		return "6: SHMEM_MAP only when SHMEM is negotiated";
	if (size == 0 || g->off > size || g->len > size - g->off)
		return "12H: ranges inside the advertised region sizes";
	for (unsigned i = 0; i < b->nlive; i++)
		if (b->live[i].shmid == g->shmid &&
		    overlap(g->off, g->len, b->live[i].off, b->live[i].len))
			return "12H: not overlapping its own live mappings";
	return NULL;
}

int bejudge_unmap_index(const struct bejudge *b, const struct bejudge_rec *r)
{
	return b->nlive ? (int)(r->off_pages % b->nlive) : -1;
}

void bejudge_outcome(enum bejudge_reply k, bool need, struct bejudge_outcome *o)
{
	o->must = o->known = true;
	if (!need) {
		o->want = "sent";
		o->rule = "9: need_reply=0: sent, no reply awaited";
		return;
	}
	switch (k) {
	case BEJUDGE_R_OK: case BEJUDGE_R_DOUBLE:
		o->want = "ok";
		o->rule = "9: the reply 0 is success";
		return;
	case BEJUDGE_R_ERR:
		o->want = "fail";
		o->rule = "9: a non-zero reply is failure";
		return;
	case BEJUDGE_R_FDS:
		/* Whether a reply with fds is a good reply, the digest does
		 * not say; closing fds it did not ask for is 12H's. */
		o->want = "ok";
		o->rule = "12H: a good reply carrying fds";
		o->must = false;
		return;
	default:
		o->want = "not-ok";
		o->rule = "9/12H: no reply, EOF or a malformed reply is no success";
		o->known = false;
		return;
	}
}

bool bejudge_answer_holds(const char *want, const char *a)
{
	bool ok = strncmp(a, "ok result=0", 11) == 0 &&
		  (a[11] == '\0' || a[11] == ' ');
	bool fail = strncmp(a, "ok result=fail", 14) == 0;

	if (strcmp(want, "ok") == 0)
		return ok;
	if (strcmp(want, "fail") == 0)
		return fail;
	if (strcmp(want, "sent") == 0)
		return strncmp(a, "ok result=sent", 14) == 0;
	return !ok && (fail || a[0] == '\0');  /* not-ok */
}

void bejudge_mapped(struct bejudge *b, const struct bejudge_range *g,
		    const struct bejudge_outcome *o)
{
	bool holds = o->known && (strcmp(o->want, "ok") == 0 ||
				  strcmp(o->want, "sent") == 0);

	if (holds && b->nlive < BEJUDGE_MAX_LIVE)
		b->live[b->nlive++] = *g;
}

void bejudge_unmapped(struct bejudge *b, int idx,
		      const struct bejudge_outcome *o)
{
	bool gone = o->known && (strcmp(o->want, "ok") == 0 ||
				 strcmp(o->want, "sent") == 0);

	if (gone && idx >= 0 && (unsigned)idx < b->nlive)
		b->live[idx] = b->live[--b->nlive];
}

uint32_t bejudge_wrong_flags(uint8_t value)
{
	static const uint32_t f[5] = { 0x1, 0xd, 0x6, 0x25, 0x4 };

	return f[value % 5];
}
