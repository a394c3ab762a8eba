/* SPDX-License-Identifier: MIT */
/*
 * fuzz_backend_replies: what a front-end sends a back-end, against the
 * reference back-end (targets/ref/refbe): REPLY_ACK replies to its MAP
 * and UNMAP (good, refusing, absent, malformed, with fds, EOF, twice),
 * GET_SHMEM_CONFIG, device resets, renegotiation, new back-end channels
 * and stray messages. Every request it sends and every outcome it
 * records is checked (berig.h).
 *
 * Input: 16-byte records, little-endian:
 *   0 op      % 7: map, unmap, get-config, reset, negotiate, reconnect,
 *             stray
 *   1 reply   enum berig_reply (mod BERIG_REPLY_MAX)
 *   2 fd      fd menu choice for replies with fds and strays
 *   3 shmid
 *   4 bits    0x01 rw, 0x02 need_reply=1, 0x04 need_reply=0 (neither:
 *             as REPLY_ACK says), 0x08 raw page counts, 0x10 a memfd one
 *             page larger than needed
 *   5 value   error value, flag variant, stray kind, negotiate bits
 *             (0x1 SHMEM off, 0x2 REPLY_ACK off)
 *   6 u16     fd_offset in pages (mod 16 unless raw)
 *   8 u32     shm_offset in pages (mod 512 unless raw); unmap: which
 *             live mapping
 *   12 u32    len in pages (mod 33 unless raw)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berig.h"
#include "cursor.h"
#include "driver.h"

#define BR_RECORD 16u
#define BR_MAX_STEPS 64u

enum br_op {
	BR_MAP, BR_UNMAP, BR_CONFIG, BR_RESET, BR_NEGOTIATE, BR_RECONNECT,
	BR_STRAY, BR_OP_MAX,
};

struct br_rec {
	uint8_t op, reply, fd, shmid, bits, value;
	uint16_t fd_pages;
	uint32_t off_pages, len_pages;
};

void *fuzz_init(char *err, size_t errcap)
{
	struct berig *b = malloc(sizeof(*b));

	if (!b) {
		strncpy(err, "out of memory", errcap - 1);
		return NULL;
	}
	if (berig_init(b) != 0) {
		strncpy(err, b->err, errcap - 1);
		free(b);
		return NULL;
	}
	return b;
}

void fuzz_fini(void *state)
{
	berig_free(state);
	free(state);
}

static void rec_read(struct cursor *c, struct br_rec *r)
{
	r->op = cursor_u8(c);
	r->reply = cursor_u8(c);
	r->fd = cursor_u8(c);
	r->shmid = cursor_u8(c);
	r->bits = cursor_u8(c);
	r->value = cursor_u8(c);
	r->fd_pages = cursor_u16(c);
	r->off_pages = cursor_u32(c);
	r->len_pages = cursor_u32(c);
}

static int rec_need_reply(const struct br_rec *r)
{
	return (r->bits & 0x02) ? 1 : (r->bits & 0x04) ? 0 : -1;
}

static void step_map(struct berig *b, const struct br_rec *r)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	bool raw = (r->bits & 0x08) != 0;
	struct refbe_map_req req = {
		.shmid = r->shmid,
		.rw = (r->bits & 0x01) != 0,
		.need_reply = rec_need_reply(r),
		.shm_offset = (raw ? r->off_pages : r->off_pages % 512) * page,
		.len = (raw ? r->len_pages : r->len_pages % 33) * page,
		.fd_offset = (raw ? r->fd_pages : r->fd_pages % 16) * page,
	};

	if (r->bits & 0x10)
		req.fd_size = req.fd_offset + req.len + page;
	berig_map(b, &req, (enum berig_reply)(r->reply % BERIG_REPLY_MAX),
		  r->value, r->fd);
}

static void step(struct berig *b, const struct br_rec *r)
{
	switch ((enum br_op)(r->op % BR_OP_MAX)) {
	case BR_MAP: step_map(b, r); break;
	case BR_UNMAP:
		berig_unmap(b, r->off_pages, rec_need_reply(r),
			    (enum berig_reply)(r->reply % BERIG_REPLY_MAX),
			    r->value, r->fd);
		break;
	case BR_CONFIG: berig_get_config(b); break;
	case BR_RESET: berig_device_reset(b); break;
	case BR_NEGOTIATE:
		berig_negotiate(b, !(r->value & 1), !(r->value & 2));
		break;
	case BR_RECONNECT: berig_reconnect(b); break;
	default: berig_stray(b, r->value, r->fd); break;
	}
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	struct berig *b = state;
	struct cursor c;
	unsigned n = 0;

	if (size < BR_RECORD || size > BR_RECORD * BR_MAX_STEPS)
		return FUZZ_REJECT;
	cursor_init(&c, data, size);
	for (; n < size / BR_RECORD; n++) {
		struct br_rec r;

		rec_read(&c, &r);
		step(b, &r);
	}
	/* Undone here, so that undoing belongs to this input (stability). */
	berig_reset_input(b);
	return FUZZ_KEEP;
}
