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
 *                        REPLY_ACK, 0x08 no SHMEM negotiated
 *   u32 request, u32 flags, u32 size      the header, sent as is
 *   ... payload           sent as is (size may disagree with it)
 * Regions: shmid 0 1 MiB, 1 64 KiB, 2 none, 3 2 MiB.
 *
 * The reply and the handler's state are checked against the shadow
 * model (shadow.h) and the invariants of ferig.h after the message.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "driver.h"
#include "ferig.h"

#define MAP_STATE_STOPPED 0x01u
#define MAP_STATE_PREMAP 0x02u
#define MAP_STATE_NO_REPLY_ACK 0x04u
#define MAP_STATE_NO_SHMEM 0x08u

void *fuzz_init(char *err, size_t errcap)
{
	return ferig_new(false, err, errcap);
}

void fuzz_fini(void *state)
{
	ferig_delete(state);
}

/* A live mapping to collide with: overlap, touching and UNMAP cases. */
static void premap(struct ferig *r)
{
	struct proto_mmap m = { .shmid = 0, .shm_offset = 0x10000,
				.len = 0x10000, .flags = PROTO_MMAP_F_RW };
	struct proto_hdr h = { PROTO_BE_SHMEM_MAP,
			       PROTO_VERSION | PROTO_F_NEED_REPLY,
			       PROTO_MMAP_SIZE };
	uint8_t p[PROTO_MMAP_SIZE];

	proto_mmap_encode(&m, p, sizeof(p));
	ferig_backend_msg(r, &h, p, sizeof(p), FUZZPOOL_MEMFD_1M);
}

int fuzz_one(void *state, const uint8_t *data, size_t size)
{
	struct ferig *r = state;
	struct cursor c;
	struct proto_hdr h;
	unsigned fd_choice, st;
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
	if (st & MAP_STATE_PREMAP)
		premap(r);
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
