/* SPDX-License-Identifier: MIT */
/*
 * fuzz_shmem_map: one back-end channel message, header and payload as
 * the input says, with fds picked from the pool, sent over a real
 * socketpair to the reference front-end's handler (targets/ref/reffe).
 *
 * Input (little-endian; short inputs are zero-filled):
 *   u8  fd choice        index into the fd menu (fuzzpool.h), mod 11
 *   u8  state            0x01 device stopped, 0x02 a live mapping first
 *                        (shmid 0, 0x10000+0x10000, rw), 0x04 no
 *                        REPLY_ACK, 0x08 no SHMEM negotiated, 0x10 raw
 *                        padding (no aiming, below)
 *   u32 request, u32 flags, u32 size      the header, sent as is
 *   ... payload           sent as is (size may disagree with it), except
 *                        that a MAP or UNMAP is aimed
 * Regions: shmid 0 1 MiB, 1 64 KiB, 2 none, 3 2 MiB.
 *
 * Aiming (syzkaller-style): blind bytes almost never make a range that
 * touches, straddles or equals the live mapping, or wraps at 2^64, and
 * those are where the bounds and overlap rules break. In a MAP or UNMAP
 * payload of at least 32 bytes without 0x10, padding bytes 1 and 2 are
 * aim bytes (sent as zeros) that rewrite shm_offset (bytes 16..23) and
 * len (24..31) before sending: low 3 bits an anchor, high 5 bits a
 * delta of -16..15 pages added to it. shm_offset anchors: 0 the raw
 * field (no delta), 1 the live mapping's start, 2 its end, 3 the end of
 * the payload's shmid region, 4 2^64 (wrap), 5 zero, 6 the raw field,
 * 7 the live mapping's middle. len anchors, from that shm_offset: 0 raw
 * (no delta), 1 to the mapping's end, 2 to its start, 3 to the region
 * end, 4 to 2^64, 5 zero, 6 raw, 7 the mapping's length. An anchor on
 * the live mapping makes it (as 0x02 does). Zero aim bytes change
 * nothing, so every raw value stays expressible, and with 0x10 so do
 * the padding bytes themselves.
 *
 * The reply and the handler's state are checked against the shadow
 * model (shadow.h) and the invariants of ferig.h after the message.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "driver.h"
#include "emitaim.h"
#include "ferig.h"

#define MAP_STATE_STOPPED 0x01u
#define MAP_STATE_PREMAP 0x02u
#define MAP_STATE_NO_REPLY_ACK 0x04u
#define MAP_STATE_NO_SHMEM 0x08u
#define MAP_STATE_RAW_PAD 0x10u

/* The live mapping premap() makes, the anchor of aimed ranges. */
#define MAP_PREMAP_OFF EMITAIM_PREMAP_OFF
#define MAP_PREMAP_LEN EMITAIM_PREMAP_LEN
#define MAP_LEN_AT 24u /* len in struct VhostUserMMap */

/* Two rigs: inputs with a live mapping to collide with (0x02, or an aim
 * at it) go to one whose mapping is made once and kept while inputs
 * leave it alone (ferig_set_base); the others to one without. Same
 * state before every input as making the mapping per input would give,
 * without its MAP round trip and mmap pair. */
struct map_rigs {
	struct ferig *plain;
	struct ferig *premapped;
};

void *fuzz_init(char *err, size_t errcap)
{
	struct proto_mmap m = { .shmid = 0, .shm_offset = MAP_PREMAP_OFF,
				.len = MAP_PREMAP_LEN, .flags = PROTO_MMAP_F_RW };
	struct map_rigs *rigs = calloc(1, sizeof(*rigs));

	if (!rigs) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	rigs->plain = ferig_new(false, err, errcap);
	rigs->premapped = rigs->plain ? ferig_new(false, err, errcap) : NULL;
	if (!rigs->premapped) {
		fuzz_fini(rigs);
		return NULL;
	}
	ferig_set_base(rigs->premapped, &m, FUZZPOOL_MEMFD_1M);
	return rigs;
}

void fuzz_fini(void *state)
{
	struct map_rigs *rigs = state;

	if (!rigs)
		return;
	if (rigs->plain)
		ferig_delete(rigs->plain);
	if (rigs->premapped)
		ferig_delete(rigs->premapped);
	free(rigs);
}

/* A MAP or UNMAP payload, copied to buf and aimed (emitaim.h). Returns
 * true when the aim names the live mapping. */
static bool aim(const struct ferig *r, const struct proto_hdr *h,
		const uint8_t *payload, size_t len, uint8_t *buf)
{
	memcpy(buf, payload, len);
	return emitaim_apply(buf, len, h->request, r->model.sizes);
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	struct map_rigs *rigs = state;
	struct ferig *r = rigs->plain;
	struct cursor c;
	struct proto_hdr h;
	unsigned fd_choice, st;
	uint8_t buf[PROTO_MAX_PAYLOAD + 16u];
	const uint8_t *payload;
	size_t len;
	bool sent;

	cursor_init(&c, data, size);
	fd_choice = cursor_pick(&c, FUZZPOOL_CHOICE_MAX);
	st = cursor_u8(&c);
	h.request = cursor_u32(&c);
	h.flags = cursor_u32(&c);
	h.size = cursor_u32(&c);
	payload = cursor_rest(&c, &len);
	if (!(st & MAP_STATE_RAW_PAD) && len >= MAP_LEN_AT + 8) {
		len = len < sizeof(buf) ? len : sizeof(buf);
		if (aim(r, &h, payload, len, buf))
			st |= MAP_STATE_PREMAP;
		payload = buf;
	}
	if (st & MAP_STATE_PREMAP)
		r = rigs->premapped;
	ferig_negotiate(r, !(st & MAP_STATE_NO_SHMEM),
			!(st & MAP_STATE_NO_REPLY_ACK));
	if (st & MAP_STATE_STOPPED)
		ferig_stop(r);
	sent = ferig_backend_msg(r, &h, payload, len, fd_choice);
	/* Undone here, not before the next input, so that what undoing
	 * costs and covers belongs to this input (AFL++ stability). */
	ferig_reset_input(r);
	return sent ? FUZZ_KEEP : FUZZ_REJECT;
}
