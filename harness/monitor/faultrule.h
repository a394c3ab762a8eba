/* SPDX-License-Identifier: MIT */
/*
 * faultrule: the monitor's optional fault injection (--fault-rule).
 *
 *   drop:MSG              do not forward it
 *   delay:MSG:MS          forward it MS ms late (later messages of that
 *                         direction wait behind it: order is kept)
 *   corrupt:MSG[:OFF[:XOR]]  XOR byte OFF of the message (header
 *                         included; default the first payload byte, or
 *                         the flags byte when there is no payload) with
 *                         XOR (default 0xff)
 *   duplicate:MSG         forward it twice (fds dup'ed)
 *   inject-map:K=V,...    the monitor sends its own SHMEM_MAP to the
 *                         front-end with a fresh memfd and swallows the
 *                         reply. Keys: shmid, shm_offset, fd_offset, len
 *                         (default 0x1000), flags (rw|ro|N, default rw),
 *                         need_reply (0|1, default: when REPLY_ACK is
 *                         negotiated), after (ms after the back-end
 *                         channel is up, default 200)
 *
 * MSG is a request name (SHMEM_MAP, VHOST_USER_SET_MEM_TABLE, ...) or
 * number, optionally prefixed `main/` or `backend/` to pick the channel
 * and suffixed `.reply` to act on the reply to it and `@N` to act on the
 * N-th match only.
 */
#ifndef VHU_FAULTRULE_H
#define VHU_FAULTRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

enum faultrule_kind {
	FAULTRULE_DROP = 0,
	FAULTRULE_DELAY,
	FAULTRULE_CORRUPT,
	FAULTRULE_DUPLICATE,
	FAULTRULE_INJECT_MAP,
};

#define FAULTRULE_MAX 16u

struct faultrule {
	enum faultrule_kind kind;
	char spec[128];         /* as given, for notes */
	int req[2];             /* id per channel, -1: not on that channel */
	bool reply;             /* acts on replies, not requests */
	unsigned nth;           /* 0: every match */
	unsigned seen;          /* matches so far */
	unsigned delay_ms;
	unsigned offset;        /* corrupt: byte offset, UINT32_MAX default */
	uint8_t xor_mask;
	/* inject-map */
	struct proto_mmap mm;
	int need_reply;         /* -1: as REPLY_ACK says */
	unsigned after_ms;
	bool done;
};

/* Parses one --fault-rule. 0, or -EINVAL with a message. */
int faultrule_parse(const char *spec, struct faultrule *r, char *err,
		    size_t errcap);

/* Whether r acts on this message; counts the match (for @N). */
bool faultrule_match(struct faultrule *r, enum proto_chan chan,
		     uint32_t request, bool is_reply);

/* Applies a corrupt rule to a whole message (header + payload, len
 * bytes). Returns the offset changed, or -1 when len is too short. */
long faultrule_corrupt(const struct faultrule *r, uint8_t *msg, size_t len);

const char *faultrule_kind_name(enum faultrule_kind k);

#endif
